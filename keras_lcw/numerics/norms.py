"""The inverse norm of each column of a matrix, with a guarded zero column.

For a `(rows, units)` tensor V with columns v_j, `inverse_column_norms(V)`
is `1 / |v_j|` per column, and 1 where a column is exactly zero, so that a
zero direction gives a zero kernel with finite gradients (weight
normalization, `keras_lcw.parameterizations.weight_norm`). With
`s_j = sum_i V_ij^2` and `n_j = 1 / sqrt(s_j)`, the gradient with respect to
V of an upstream gradient u (per column) is

    dV_ij = -V_ij n_j^3 u_j,

which is 0 on a zero column (V is 0 there), as the guarded `keras.ops`
code's gradient is.

This `keras.ops` code is the reference and runs on JAX (compiled with XLA)
and PyTorch. On TensorFlow, where Keras runs a model op by op on CPU, the
same forward and backward run compiled with XLA inside a train step
(`keras_lcw.backend_utils.fused_inverse_norms`): one pass over V forward and
one backward, instead of a square, a sum, and backward a broadcast and two
products over the whole kernel. `keras_lcw.backend_utils.set_fused(False)`
runs the reference everywhere.

Example:

>>> from keras_lcw.numerics import norms
>>> columns = np.array([[3.0, 0.0], [4.0, 0.0]], "float32")
>>> inverse = norms.inverse_column_norms(columns)
>>> [round(float(n), 6) for n in keras.ops.convert_to_numpy(inverse)]
[0.2, 1.0]
"""

from keras import ops

from keras_lcw import backend_utils


def _forward(columns):
    """The inverse norms and what `_backward` needs: `(inverse, (columns,
    inverse))`. Differentiable as it is: the portable path."""
    squared = ops.sum(ops.square(columns), axis=0)
    inverse = ops.rsqrt(ops.where(squared > 0, squared, ops.ones_like(squared)))
    return inverse, (columns, inverse)


def _backward(saved, upstream):
    """`-V n^3 u`: the gradient with respect to the columns."""
    columns, inverse = saved
    return columns * (-(inverse * inverse * inverse) * upstream)


def inverse_column_norms(columns):
    """`1 / |column|` of each column of a 2-D float tensor; 1 for a zero
    column. Differentiable, with finite gradients everywhere."""
    columns = ops.convert_to_tensor(columns)
    fused = backend_utils.fused_inverse_norms(columns, _forward, _backward)
    return _forward(columns)[0] if fused is None else fused
