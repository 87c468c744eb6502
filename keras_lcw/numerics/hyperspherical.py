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

The products of sines are formed by a pairwise prefix product built from
multiplications only. A library cumulative product's gradient divides by its
inputs on some backends and is then infinite, NaN or silently zero where a
sine is exactly 0 (angles 0 and pi); multiplications differentiate exactly
there. The pairwise scheme takes n + n/2 + n/4 + ... multiplications.

Used by geometric parameterization (W. Chen and H. Ge, "Neural Characteristic
Activation Analysis and Geometric Parameterization for ReLU Networks",
NeurIPS 2024, arXiv:2305.15912). Both functions act along axis 0 and broadcast
over the remaining axes, one column per output unit. They are pure
`keras.ops` and accept NumPy arrays.
"""

from keras import ops

from keras_lcw.numerics.checks import check_axis_length


def _prefix_product(x):
    """Inclusive products x_1, x_1 x_2, ... along axis 0 of a 2-D tensor.

    Pairs up neighbours, recurses on the pair products, then fills in the
    products that end inside a pair.
    """
    length = x.shape[0]
    if length == 1:
        return x
    if length % 2:
        x = ops.concatenate([x, ops.ones_like(x[:1])], axis=0)
    pairs = ops.reshape(x, (x.shape[0] // 2, 2, -1))
    first, second = pairs[:, 0], pairs[:, 1]
    through_pair = _prefix_product(first * second)
    before_pair = ops.concatenate(
        [ops.ones_like(through_pair[:1]), through_pair[:-1]], axis=0
    )
    interleaved = ops.stack([before_pair * first, through_pair], axis=1)
    return ops.reshape(interleaved, (x.shape[0], -1))[:length]


def to_cartesian(angles):
    """Maps angles of shape `(n - 1, ...)` to unit vectors of shape `(n, ...)`.

    Every slice `result[:, i, ...]` has norm 1 (to float rounding), whatever
    the angles. Gradients are exact for all angles, including 0 and pi.
    """
    angles = ops.convert_to_tensor(angles)
    check_axis_length("angles", angles.shape[0], 1)
    trailing = tuple(angles.shape[1:])
    flat = ops.reshape(angles, (angles.shape[0], -1))
    ones = ops.ones_like(flat[:1])
    sine_products = ops.concatenate(
        [ones, _prefix_product(ops.sin(flat))], axis=0
    )
    cosines = ops.concatenate([ops.cos(flat), ones], axis=0)
    return ops.reshape(
        sine_products * cosines, (angles.shape[0] + 1,) + trailing
    )


def to_hyperspherical(vectors):
    """Maps vectors of shape `(n, ...)` to `(angles, radius)`.

    `angles` has shape `(n - 1, ...)` and `radius`, the norm along axis 0,
    shape `(...)`, so that `radius * to_cartesian(angles)` is `vectors`: the
    sign of every coordinate is kept, the last one's included. A zero vector
    gets the angles of the first basis vector and radius 0.
    """
    vectors = ops.convert_to_tensor(vectors)
    check_axis_length("vectors", vectors.shape[0], 2)
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
