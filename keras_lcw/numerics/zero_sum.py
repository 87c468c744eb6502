"""An orthonormal basis of the zero-sum subspace, applied in O(m).

Let W = {w in R^m : sum(w) = 0}. The m x (m - 1) matrix B with columns

    B[:, k] = e_k - c * (1, ..., 1, 0) - (0, ..., 0, 1) / sqrt(m),
    c = 1 / (m + sqrt(m)),

has orthonormal columns that each sum to zero, so B spans W and
B B^T = I - 1 1^T / m (the orthogonal projection onto W). Applied to a vector
v in R^(m-1) with s = sum(v):

    (B v)_j = v_j - c * s   for j < m,        (B v)_m = -s / sqrt(m),

and its transpose, applied to any w in R^m with t = sum(w_1..w_{m-1}):

    (B^T w)_k = w_k - c * t - w_m / sqrt(m).

Neither ever builds B. Because B is orthonormal, |B v| = |v| and gradient
steps on v are gradient steps on w restricted to W: the optimizer's geometry
is unchanged (Kutsuna, "Linearly Constrained Weights", ECML PKDD 2019,
arXiv:2403.13833).

Both functions act along axis 0 and broadcast over the remaining axes, one
column per output unit. They are `keras.ops` (with a PyTorch fast path,
`backend_utils.fused_row_shifts`) and accept NumPy arrays.
"""

import math

import keras
import numpy as np
from keras import ops

from keras_lcw import backend_utils
from keras_lcw.numerics.checks import check_axis_length


def basis_constants(m):
    """Returns `(c, 1 / sqrt(m))` for the basis of the zero-sum subspace of R^m."""
    root = math.sqrt(m)
    return 1.0 / (m + root), 1.0 / root


def coordinates_to_zero_sum(coordinates):
    """Maps coordinates `v` of shape `(m - 1, ...)` to `B v` of shape `(m, ...)`.

    Every slice `result[:, i, ...]` sums to zero (to float rounding).
    """
    coordinates = ops.convert_to_tensor(coordinates)
    length = backend_utils.static_length(coordinates, 0)
    check_axis_length("coordinates", length, 1)
    c, inv_root = basis_constants(length + 1)
    total = ops.sum(coordinates, axis=0, keepdims=True)
    return ops.concatenate(
        [coordinates - c * total, -inv_root * total], axis=0
    )


def zero_sum_to_coordinates(weights, axis=0):
    """Maps `w` of shape `(m, ...)` to `B^T w` of shape `(m - 1, ...)`.

    For a zero-sum `w` this inverts `coordinates_to_zero_sum`; for any other
    `w` it gives the coordinates of its projection onto the zero-sum subspace
    (the mean along `axis` is discarded). With `axis=-1` it maps rows
    `x` of shape `(..., m)` to `x B` of shape `(..., m - 1)`, so that
    `x @ (B v) == (x B) @ v`.
    """
    weights = ops.convert_to_tensor(weights)
    if axis not in (0, -1):
        raise ValueError(f"`axis` must be 0 or -1; received axis={axis!r}.")
    length = backend_utils.static_length(weights, axis)
    check_axis_length("weights", length, 2, axis)
    c, inv_root = basis_constants(length)
    if axis == -1:
        if not keras.backend.is_float_dtype(weights.dtype):
            weights = ops.cast(weights, "float32")
        return weights[..., :-1] - _row_shifts(weights, length, c, inv_root)
    head_total = ops.sum(weights[:-1], axis=0, keepdims=True)
    return weights[:-1] - (c * head_total + inv_root * weights[-1:])


def _row_shifts(rows, length, c, inv_root):
    """`c * sum(rows[..., :-1]) + inv_root * rows[..., -1:]`, as the product
    of the rows with the constant vector `(c, ..., c, inv_root)`: fewer
    operations, forward and backward, than the sum and its broadcasts,
    which in a deep model of small layers is most of what the map costs
    (benchmarks/bench_lcw.py, the 50-layer row)."""
    fused = backend_utils.fused_row_shifts(rows, c, inv_root)
    if fused is not None:
        return fused
    vector = np.full((length, 1), c)
    vector[-1] = inv_root
    return ops.matmul(rows, ops.convert_to_tensor(vector, dtype=rows.dtype))
