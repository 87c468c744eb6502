"""Hyperspherical coordinates of unit vectors, in O(n) per vector.

A unit vector u in R^n is given by n - 1 angles t_1..t_{n-1}:

    u_1 = cos t_1,
    u_i = sin t_1 ... sin t_{i-1} cos t_i        (1 < i < n),
    u_n = sin t_1 ... sin t_{n-1},

with t_1..t_{n-2} in [0, pi] and t_{n-1} in (-pi, pi] (the last angle
carries the sign of u_n). Conversely, with the tail norms
rho_i = |(w_i, ..., w_n)| of any w in R^n,

    t_i = atan2(rho_{i+1}, w_i)      (i < n - 1),
    t_{n-1} = atan2(w_n, w_{n-1}),

and w = |w| u(t). atan2 of a norm and a coordinate stays accurate where
arccos of a ratio loses every digit (near t = 0 and t = pi), so the round trip
holds to float32 rounding for thousands of coordinates.

The products of sines are formed by a pairwise prefix product (n + n/2 +
n/4 + ... multiplications). The gradient is written out rather than left to
automatic differentiation: with tail_j = sum_(k>j) g_k u_k for the gradient
g with respect to u,

    dL/dt_j = cos t_j tail_j / sin t_j - sin t_j g_j sin t_1 ... sin t_(j-1),

and tail_j carries the factor sin t_j in every term, so the division only
removes it again. A sine below 1e-20 in magnitude (exactly 0 at t = 0) is
moved to between 1e-20 and 3e-20, in the forward pass and in the gradient
alike: coordinates move by less than 3e-20, and the gradient is the exact one
at angles that close, where a library cumulative product's gradient divides
by its inputs on some backends and is infinite, NaN or silently zero. Written
out, the gradient reuses the forward pass's sines, cosines and products and
runs one pairwise sum, about half the work of differentiating the forward
pass (on PyTorch autograd differentiates the same forward pass instead:
`keras_lcw.backend_utils.custom_gradient`). On JAX the sines and cosines come from one fused polynomial
(`keras_lcw.numerics.trigonometry.fast_sin_cos`).

Used by geometric parameterization (W. Chen and H. Ge, "Neural Characteristic
Activation Analysis and Geometric Parameterization for ReLU Networks",
NeurIPS 2024, arXiv:2305.15912). Both functions act along axis 0 and broadcast
over the remaining axes, one column per output unit. They are pure
`keras.ops` and accept NumPy arrays.
"""

import keras
from keras import ops

from keras_lcw import backend_utils
from keras_lcw.numerics import trigonometry
from keras_lcw.numerics.checks import check_axis_length


# Sines below this are moved up to it: far below float32 resolution of the
# unit vectors, far above the smallest normal float32.
_TINY_SINE = 1e-20


def _pairwise_scan(x, combine, identity):
    """Inclusive scan x_1, x_1 * x_2, ... along axis 0 for an associative
    `combine` (*) with `identity(t)`, a tensor of identities shaped like t.

    Combines neighbours in pairs, scans the pair results, then fills in the
    results that end inside a pair.
    """
    length = backend_utils.static_length(x, 0)
    if length == 1:
        return x
    if length % 2:
        x = ops.concatenate([x, identity(x[:1])], axis=0)
    pairs = ops.reshape(x, (x.shape[0] // 2, 2, -1))
    first, second = pairs[:, 0], pairs[:, 1]
    through_pair = _pairwise_scan(combine(first, second), combine, identity)
    before_pair = ops.concatenate(
        [identity(through_pair[:1]), through_pair[:-1]], axis=0
    )
    interleaved = ops.stack([combine(before_pair, first), through_pair], axis=1)
    return ops.reshape(interleaved, (x.shape[0], -1))[:length]


def _prefix_products(x):
    return _pairwise_scan(x, ops.multiply, ops.ones_like)


def _suffix_sums(x):
    """x_j + x_(j+1) + ... + x_n for every j, along axis 0."""
    return ops.flip(_pairwise_scan(ops.flip(x, 0), ops.add, ops.zeros_like), 0)


def _unit_vectors_and_gradient(angles):
    """to_cartesian on a 2-D float32 or float64 tensor, and its gradient."""
    sines, cosines = trigonometry.fast_sin_cos(angles)
    tiny = ops.cast(ops.abs(sines) < _TINY_SINE, sines.dtype)
    sines = sines + tiny * (2 * _TINY_SINE)
    ones = ops.ones_like(angles[:1])
    sine_products = ops.concatenate([ones, _prefix_products(sines)], axis=0)
    vectors = sine_products * ops.concatenate([cosines, ones], axis=0)

    def gradient(*args, upstream=None):
        if upstream is None:
            (upstream,) = args
        tails = _suffix_sums((upstream * vectors)[1:])
        return (
            cosines * tails / sines
            - sines * upstream[:-1] * sine_products[:-1]
        )

    return vectors, gradient


_unit_vectors = backend_utils.custom_gradient(_unit_vectors_and_gradient)


def to_cartesian(angles):
    """Maps angles of shape `(n - 1, ...)` to unit vectors of shape `(n, ...)`.

    Every slice `result[:, i, ...]` has norm 1 (to float rounding), whatever
    the angles. Gradients are exact for all angles, including 0 and pi.
    Half-precision angles are mapped in float32 and the result cast back.
    """
    angles = ops.convert_to_tensor(angles)
    check_axis_length("angles", backend_utils.static_length(angles, 0), 1)
    dtype = keras.backend.standardize_dtype(angles.dtype)
    compute_dtype = dtype if dtype in ("float32", "float64") else "float32"
    trailing = tuple(angles.shape[1:])
    flat = ops.reshape(ops.cast(angles, compute_dtype), (angles.shape[0], -1))
    vectors = ops.cast(_unit_vectors(flat), dtype)
    return ops.reshape(vectors, (angles.shape[0] + 1,) + trailing)


def to_hyperspherical(vectors):
    """Maps vectors of shape `(n, ...)` to `(angles, radius)`.

    `angles` has shape `(n - 1, ...)` and `radius`, the norm along axis 0,
    shape `(...)`, so that `radius * to_cartesian(angles)` is `vectors`: the
    sign of every coordinate is kept, the last one's included. A zero vector
    gets the angles of the first basis vector and radius 0.
    """
    vectors = ops.convert_to_tensor(vectors)
    check_axis_length("vectors", backend_utils.static_length(vectors, 0), 2)
    trailing = tuple(vectors.shape[1:])
    flat = ops.reshape(vectors, (vectors.shape[0], -1))
    # Dividing by the largest magnitude keeps the squares from overflowing
    # or underflowing; the angles do not depend on the scale.
    scale = ops.max(ops.abs(flat), axis=0, keepdims=True)
    scale = ops.where(scale > 0, scale, ops.ones_like(scale))
    scaled = flat / scale
    tail_squares = ops.flip(ops.cumsum(ops.flip(scaled**2, 0), axis=0), 0)
    tail_norms = ops.sqrt(tail_squares)
    leading = ops.arctan2(tail_norms[1:-1], scaled[:-2])
    last = ops.arctan2(scaled[-1:], scaled[-2:-1])
    angles = ops.concatenate([leading, last], axis=0)
    radius = scale[0] * tail_norms[0]
    return (
        ops.reshape(angles, (vectors.shape[0] - 1,) + trailing),
        ops.reshape(radius, trailing),
    )
