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

The products of sines are a blocked prefix product (`_scan`: blocks of
eight rows, then the blocks' totals, about three passes over the angles).
The gradient is written out rather than left to automatic differentiation:
with tail_j = sum_(k>j) g_k u_k for the gradient g with respect to u,

    dL/dt_j = cos t_j tail_j / sin t_j - g_j sin t_1 ... sin t_j,

and tail_j carries the factor sin t_j in every term, so the division only
removes it again. A sine below 1e-20 in magnitude (exactly 0 at t = 0) is
moved to between 1e-20 and 3e-20, in the forward pass and in the gradient
alike: coordinates move by less than 3e-20, and the gradient is the exact one
at angles that close, where a library cumulative product's gradient divides
by its inputs on some backends and is infinite, NaN or silently zero. Written
out, the gradient reuses the forward pass's sines, cosines and products and
runs one blocked suffix sum, about half the work of differentiating the
forward pass. On JAX the sines and cosines come from one fused polynomial
(`keras_lcw.numerics.trigonometry.fast_sin_cos`).

This `keras.ops` code is the reference, and it is what runs on JAX (compiled
with XLA). TensorFlow and PyTorch run fused implementations of the same
formulas by default (`keras_lcw.backend_utils.fused_unit_vectors`: the same
code compiled with XLA on TensorFlow, a `torch.autograd.Function` with
in-place scans on PyTorch), tested equal to this code to float32 rounding,
and JAX compiles this code as one program where it is called eagerly;
`keras_lcw.backend_utils.set_fused(False)` (or the environment variable
`KERAS_LCW_FUSED=0`) runs this code everywhere. On PyTorch, this code is
differentiated by autograd (`keras_lcw.backend_utils.custom_gradient`), and
it is what a graph traced for export holds.

Used by geometric parameterization (W. Chen and H. Ge, "Neural Characteristic
Activation Analysis and Geometric Parameterization for ReLU Networks",
NeurIPS 2024, arXiv:2305.15912). Both functions act along axis 0 and broadcast
over the remaining axes, one column per output unit, and accept NumPy
arrays.
"""

import keras
from keras import ops

from keras_lcw import backend_utils
from keras_lcw.numerics import trigonometry
from keras_lcw.numerics.checks import check_axis_length


# Sines below this are moved up to it: far below float32 resolution of the
# unit vectors, far above the smallest normal float32.
_TINY_SINE = 1e-20

# Rows per block of the blocked scans.
_BLOCK = 8


def _scan(x, combine, identity, reverse=False):
    """Inclusive scan along axis 0 of a 2-D tensor for an associative
    `combine` (*): x_1, x_1 * x_2, ... (or, with `reverse`, the suffixes
    x_j * ... * x_n). `identity(t)` is a tensor of identities shaped like t.

    Cuts the rows into blocks of `_BLOCK`, scans the blocks' totals (the same
    way, recursively), then runs through each block from the total of the
    blocks before it: about three passes over x, each one a loop that a
    compiler fuses, and log_8(n) levels.
    """
    length = backend_utils.static_length(x, 0)
    if length <= _BLOCK:
        return ops.stack(_chain(x, range(length), combine, None, reverse), axis=0)
    blocks = -(-length // _BLOCK)
    padding = blocks * _BLOCK - length
    if padding:
        x = ops.concatenate([x, identity(x[:padding])], axis=0)
    grouped = ops.reshape(x, (blocks, _BLOCK, -1))
    columns = [grouped[:, i] for i in range(_BLOCK)]
    # The blocks' totals by `combine` itself: `keras.ops.prod` computes
    # float64 in float32 on PyTorch.
    totals = columns[0]
    for column in columns[1:]:
        totals = combine(totals, column)
    through = _scan(totals, combine, identity, reverse)
    if reverse:
        before = ops.concatenate([through[1:], identity(through[:1])], axis=0)
    else:
        before = ops.concatenate([identity(through[:1]), through[:-1]], axis=0)
    scanned = _chain(columns, range(_BLOCK), combine, before, reverse)
    return ops.reshape(ops.stack(scanned, axis=1), (blocks * _BLOCK, -1))[:length]


def _chain(rows, indices, combine, start, reverse):
    """The running combination of `rows[i]` for i in `indices` (backwards
    with `reverse`), from `start` (None: from the first row), in index
    order."""
    results = [None] * len(indices)
    running = start
    for i in reversed(indices) if reverse else indices:
        running = rows[i] if running is None else combine(running, rows[i])
        results[i] = running
    return results


def _prefix_products(x):
    """x_1, x_1 x_2, ..., x_1 ... x_n along axis 0."""
    return _scan(x, ops.multiply, ops.ones_like)


def _suffix_sums(x):
    """x_j + x_(j+1) + ... + x_n for every j, along axis 0."""
    return _scan(x, ops.add, ops.zeros_like, reverse=True)


def _forward(angles, compiled=False):
    """The unit vectors of a 2-D float32 or float64 tensor of angles, and
    what `_backward` needs: `(vectors, (vectors, sines, cosines,
    sine_products))`. `compiled`: the caller compiles this with XLA (as JAX
    always does), which chooses the sine and cosine polynomial."""
    sines, cosines = trigonometry.fast_sin_cos(angles, compiled=compiled)
    tiny = ops.cast(ops.abs(sines) < _TINY_SINE, sines.dtype)
    sines = sines + tiny * (2 * _TINY_SINE)
    ones = ops.ones_like(angles[:1])
    sine_products = ops.concatenate([ones, _prefix_products(sines)], axis=0)
    vectors = sine_products * ops.concatenate([cosines, ones], axis=0)
    return vectors, (vectors, sines, cosines, sine_products)


def _backward(saved, upstream):
    """The gradient with respect to the angles, from `_forward`'s saved
    tensors and the gradient `upstream` with respect to the vectors:
    cos t_j tail_j / sin t_j - g_j sin t_1 ... sin t_j."""
    vectors, sines, cosines, sine_products = saved
    tails = _suffix_sums((upstream * vectors)[1:])
    return cosines * tails / sines - upstream[:-1] * sine_products[1:]


def _forward_compiled(angles):
    return _forward(angles, compiled=True)


def _unit_vectors_and_gradient(angles):
    """to_cartesian on a 2-D float32 or float64 tensor, and its gradient."""
    vectors, saved = _forward(angles)

    def gradient(*args, upstream=None):
        if upstream is None:
            (upstream,) = args
        return _backward(saved, upstream)

    return vectors, gradient


_portable_unit_vectors = backend_utils.custom_gradient(_unit_vectors_and_gradient)


def _unit_vectors(angles):
    """The backend's fused map where it has one and it is enabled
    (`keras_lcw.backend_utils.set_fused`), else the portable one."""
    fused = backend_utils.fused_unit_vectors(
        angles, _TINY_SINE, _forward_compiled, _backward
    )
    return _portable_unit_vectors(angles) if fused is None else fused


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
    tail_squares = ops.flip(backend_utils.cumsum(ops.flip(scaled**2, 0), 0), 0)
    tail_norms = ops.sqrt(tail_squares)
    leading = backend_utils.arctan2(tail_norms[1:-1], scaled[:-2])
    last = backend_utils.arctan2(scaled[-1:], scaled[-2:-1])
    angles = ops.concatenate([leading, last], axis=0)
    radius = scale[0] * tail_norms[0]
    return (
        ops.reshape(angles, (vectors.shape[0] - 1,) + trailing),
        ops.reshape(radius, trailing),
    )
