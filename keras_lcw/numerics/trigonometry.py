"""Sine and cosine of the same angles as one polynomial evaluation.

    k = round(x / (pi/2)),   r = x - k pi/2   in [-pi/4, pi/4],
    sin r = r - r^3/3! + r^5/5! - r^7/7! + r^9/9!,
    cos r = 1 - r^2/2! + r^4/4! - ... + r^10/10!,

and (sin x, cos x) is (sin r, cos r), (cos r, -sin r), (-sin r, -cos r) or
(-cos r, sin r) for k = 0, 1, 2, 3 (mod 4). The Taylor remainders on
[-pi/4, pi/4] are below 2e-9, under float32 rounding. k pi/2 is subtracted in
three parts (Cody and Waite), the first two with 12 significant bits, so that
k times each is exact in float32 for |x| < 6400; beyond that the error grows
in proportion to |x|.

It is all multiplications, additions and selects: a compiler fuses it into
one loop with what consumes it. XLA on CPU evaluates `sin` and `cos` about
ten times slower than that, and GmP needs both for about a million angles
per Dense layer on every training step (`fast_sin_cos`
chooses). Pure `keras.ops`; meant for float32 and narrower.
"""

import keras
import numpy as np
from keras import ops

from keras_lcw import backend_utils


def _half_pi_parts():
    """pi/2 as three float32 numbers, the first two with 12 significant
    bits; their sum is pi/2 to about 1e-16."""
    parts, rest = [], np.pi / 2
    for _ in range(2):
        mantissa, exponent = np.frexp(rest)
        head = float(np.ldexp(np.floor(mantissa * 2**12) / 2**12, exponent))
        parts.append(head)
        rest -= head
    parts.append(float(np.float32(rest)))
    return tuple(parts)


_HALF_PI_PARTS = _half_pi_parts()
_TWO_OVER_PI = 2 / np.pi


def sin_cos(x):
    """Returns `(sin x, cos x)` elementwise, in the dtype of `x`.

    Within 1e-7 of the exact values for |x| < 6400 in float32. Both are
    differentiable (the gradient of the polynomials), but a caller that
    needs derivatives can use cos x and -sin x, which it already has.
    """
    x = ops.convert_to_tensor(x)
    quarter_turns = ops.round(x * _TWO_OVER_PI)
    r = x
    for part in _HALF_PI_PARTS:
        r = r - quarter_turns * part
    r2 = r * r
    sin_r = r + r * r2 * (
        -1 / 6 + r2 * (1 / 120 + r2 * (-1 / 5040 + r2 * (1 / 362880)))
    )
    cos_r = 1 + r2 * (
        -1 / 2
        + r2 * (1 / 24 + r2 * (-1 / 720 + r2 * (1 / 40320 + r2 * (-1 / 3628800))))
    )
    quadrant = quarter_turns - 4 * ops.floor(quarter_turns / 4)
    odd = (quadrant == 1) | (quadrant == 3)
    sine = ops.where(odd, cos_r, sin_r)
    cosine = ops.where(odd, sin_r, cos_r)
    sine = ops.where(quadrant >= 2, -sine, sine)
    cosine = ops.where((quadrant == 1) | (quadrant == 2), -cosine, cosine)
    return sine, cosine


def fast_sin_cos(x, compiled=False):
    """Returns `(sin x, cos x)` elementwise, by the faster way for the backend.

    Where XLA compiles the computation, for float32 and narrower: `sin_cos`,
    one polynomial that XLA fuses into the loops around it, where on CPU its
    own `sin` and `cos` run about ten times slower. That is always so on
    JAX, and on TensorFlow where the caller compiles with XLA (`compiled`).
    Elsewhere `ops.sin` and `ops.cos`: PyTorch, and TensorFlow as Keras runs
    it on CPU (without XLA), run each op on its own, and there the dozen ops
    of the polynomial cost more than their vectorized `sin` and `cos`.
    Float64 gets the backend's own everywhere, in float64
    (`keras_lcw.backend_utils.sin_cos`).
    """
    x = ops.convert_to_tensor(x)
    if (
        compiled or keras.backend.backend() == "jax"
    ) and keras.backend.standardize_dtype(x.dtype) != "float64":
        return sin_cos(x)
    return backend_utils.sin_cos(x)
