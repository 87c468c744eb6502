"""LCW: each unit's weight vector sums to zero, by construction.

The trainable variable `kernel_coordinates` holds v of shape
`(fan_in - 1, units)`; the kernel is `reshape(B v, kernel_shape)` with the
O(fan_in) orthonormal basis B of the zero-sum subspace
(`keras_lcw.numerics.zero_sum`). Its inverse, `v = B^T w`, is the coordinates
of the kernel's orthogonal projection onto the zero-sum set: exact for a
zero-sum kernel (T. Kutsuna, "Linearly Constrained Weights: Reducing
Activation Shift for Faster Training of Neural Networks", ECML PKDD 2019,
arXiv:2403.13833).
"""

from keras import ops

from keras_lcw import backend_utils
from keras_lcw import initializers
from keras_lcw.numerics import zero_sum
from keras_lcw.parameterizations import base


def fan_in_error(kernel_shape):
    """Why a kernel of this shape has no zero-sum parameterization (a fan-in
    below 2), or None."""
    if base.fan_in_of(kernel_shape) < 2:
        return (
            "it needs a fan-in of at least 2 (the only zero-sum kernel with "
            "one input is 0)"
        )
    return None


def coordinates_preactivation(inputs, coordinates):
    """`inputs @ (B coordinates)` as `(inputs B) @ coordinates`: mapping the
    inputs costs O(rows * fan_in), not O(fan_in * units), and keeps the train
    step within a few percent of Dense's (benchmarks/bench_lcw.py). `inputs`
    is a float tensor of the coordinates' dtype (a layer's inputs, cast)."""
    fused = backend_utils.fused_zero_sum_product(
        inputs, coordinates, *zero_sum.basis_constants(coordinates.shape[0] + 1)
    )
    if fused is not None:
        return fused
    return ops.matmul(zero_sum.zero_sum_to_coordinates(inputs, axis=-1), coordinates)


class ZeroSum(base.Parameterization):
    """w = B v, the bias stored as it is."""

    name = "lcw"

    def variables(self, kernel_shape, use_bias):
        units = kernel_shape[-1]
        variables = [
            base.Variable(
                "kernel_coordinates",
                (base.fan_in_of(kernel_shape) - 1, units),
                regularizer="kernel",
            )
        ]
        if use_bias:
            variables.append(
                base.Variable(
                    "bias", (units,), regularizer="bias", constraint="bias"
                )
            )
        return variables

    def kernel_shape_error(self, kernel_shape):
        return fan_in_error(kernel_shape)

    def forward(self, values, kernel_shape):
        kernel = zero_sum.coordinates_to_zero_sum(values["kernel_coordinates"])
        return ops.reshape(kernel, kernel_shape), values.get("bias")

    def inverse(self, kernel, bias):
        kernel = ops.convert_to_tensor(kernel)
        flat = ops.reshape(kernel, (-1, kernel.shape[-1]))
        values = {"kernel_coordinates": zero_sum.zero_sum_to_coordinates(flat)}
        if bias is not None:
            values["bias"] = ops.convert_to_tensor(bias)
        return values

    def dense_preactivation(self, inputs, values, kernel_shape):
        return coordinates_preactivation(inputs, values["kernel_coordinates"])

    def default_kernel_initializer(self, activation):
        return initializers.scaled_initializer(activation)
