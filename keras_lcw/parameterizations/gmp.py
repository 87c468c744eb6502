"""GmP: each unit as a radius, a direction in hyperspherical coordinates and
the signed distance of its activation boundary from the origin.

    y = r * act(u(theta) . x + lambda)

(W. Chen and H. Ge, "Neural Characteristic Activation Analysis and Geometric
Parameterization for ReLU Networks", NeurIPS 2024, arXiv:2305.15912). For
r >= 0 and an activation with `act(a z) = a act(z)` for a >= 0 (linear, relu,
leaky_relu) this is `act(w . x + b)` with `w = r u`, `b = r lambda`: the
inverse gives `u = w / |w|` (its angles, `keras_lcw.numerics.hyperspherical`),
`r = |w|` and `lambda = b / r`.
"""

import keras
import numpy as np
from keras import ops

from keras_lcw.numerics import hyperspherical
from keras_lcw.parameterizations import base

# A radius of exactly 0 is moved to this in the folded output of a
# convolution (`Geometric.conv_output`): the output moves by less than 1e-20 times
# act(z), and the gradient with respect to r stays act(z) there.
_TINY_RADIUS = 1e-20

# Activations f with f(a z) = a f(z) for every a >= 0: for them
# r * f(z) = f(r z) when r >= 0, so a GmP layer folds into its parent.
POSITIVELY_HOMOGENEOUS = (
    keras.activations.linear,
    keras.activations.relu,
    keras.activations.leaky_relu,
)


def positively_homogeneous(activation):
    """Whether `act(a z) = a act(z)` for a >= 0 (an activation of
    `POSITIVELY_HOMOGENEOUS`; None is linear)."""
    return (activation or keras.activations.linear) in POSITIVELY_HOMOGENEOUS


class Geometric(base.Parameterization):
    """Angles (or, for a fan-in of 1, a fixed sign), offset and radius."""

    name = "gmp"
    refused_arguments = {
        **base.REFUSED_ARGUMENTS,
        "bias_constraint": "the bias r * lambda is computed from the offset "
        "and the radius",
    }

    def variables(self, kernel_shape, use_bias):
        units = kernel_shape[-1]
        fan_in = base.fan_in_of(kernel_shape)
        if fan_in == 1:
            # A direction in one dimension is a sign, which no gradient can
            # change: drawn at initialization and kept.
            variables = [base.Variable("direction", (units,), trainable=False)]
        else:
            variables = [base.Variable("angles", (fan_in - 1, units))]
        if use_bias:
            variables.append(base.Variable("offset", (units,), regularizer="bias"))
        variables.append(base.Variable("radius", (units,), regularizer="kernel"))
        return variables

    def call_kernel(self, values, kernel_shape):
        """The unit-norm directions u, in the kernel's shape."""
        if "angles" in values:
            directions = hyperspherical.to_cartesian(values["angles"])
        else:
            directions = values["direction"]
        return ops.reshape(directions, kernel_shape)

    def forward(self, values, kernel_shape):
        kernel = self.call_kernel(values, kernel_shape) * values["radius"]
        return kernel, self.forward_bias(values)

    def _folded_radius(self, values):
        """`(|r|, s)`: |r| written as s * r with the sign s (+1 at r = 0)
        held constant, and r = 0 moved to `_TINY_RADIUS`, so that the
        gradient with respect to r is r * act(z)'s there too."""
        radius = ops.convert_to_tensor(values["radius"])
        sign = ops.where(radius < 0, -ops.ones_like(radius), ops.ones_like(radius))
        nonzero = radius + ops.cast(ops.equal(radius, 0), radius.dtype) * _TINY_RADIUS
        return sign * nonzero, sign

    # A convolution applies each weight at every position, so its output is
    # far larger than its kernel: with a positively homogeneous activation
    # (relu, the default) the radius is folded into the kernel and the bias,
    # which spares a multiplication of the output and the sum over it for
    # the radius's gradient. Dense layers, whose kernel is as large as the
    # output of a batch of a thousand, keep r * act(u . x + lambda) as
    # written, as do other activations.

    def conv_call_kernel(self, values, kernel_shape, activation):
        """`|r| u` in the kernel's shape where the activation folds: the
        convolution then gives |r| (u . x) directly (see `conv_output`)."""
        kernel = self.call_kernel(values, kernel_shape)
        if not positively_homogeneous(activation):
            return kernel
        magnitude, _ = self._folded_radius(values)
        return kernel * magnitude

    def conv_output(self, preactivation, values, activation, per_unit):
        """Where the activation folds, the output from the inputs
        convolved with `|r| u`:

            r * act(u . x + lambda) = s * act(|r| (u . x) + |r| lambda),

        with s the sign of r, as act(a z) = a act(z) for a >= 0. The radius
        then scales the small kernel and the bias rather than every output,
        and its gradient comes from the kernel's and the bias's instead of a
        sum over the whole output."""
        if not positively_homogeneous(activation):
            return self.output(preactivation, values, activation, per_unit)
        magnitude, sign = self._folded_radius(values)
        if "offset" in values:
            preactivation = ops.add(
                preactivation, per_unit(magnitude * values["offset"])
            )
        if activation is not None:
            preactivation = activation(preactivation)
        return preactivation * per_unit(sign)

    def forward_bias(self, values):
        if "offset" not in values:
            return None
        return values["radius"] * values["offset"]

    def output(self, preactivation, values, activation, per_unit):
        if "offset" in values:
            preactivation = ops.add(preactivation, per_unit(values["offset"]))
        if activation is not None:
            preactivation = activation(preactivation)
        return preactivation * per_unit(values["radius"])

    def inverse(self, kernel, bias):
        """The angles of each unit's w / |w| (for a fan-in of 1, its sign),
        r = |w| and lambda = b / r. A unit with w = 0 gets r = 0, the angles
        of the first basis vector (or the sign +1) and lambda = b."""
        kernel = ops.convert_to_tensor(kernel)
        flat = ops.reshape(kernel, (-1, kernel.shape[-1]))
        if flat.shape[0] == 1:
            radius = ops.abs(flat[0])
            values = {"direction": ops.where(flat[0] < 0, -1.0, 1.0)}
        else:
            angles, radius = hyperspherical.to_hyperspherical(flat)
            values = {"angles": angles}
        if bias is not None:
            safe_radius = ops.where(radius > 0, radius, ops.ones_like(radius))
            values["offset"] = ops.convert_to_tensor(bias) / safe_radius
        values["radius"] = radius
        return {
            name: ops.cast(value, kernel.dtype) for name, value in values.items()
        }

    def inverse_error(self, kernel, bias, activation):
        name = base.activation_name(activation)
        if not positively_homogeneous(activation):
            return (
                f"its activation {name!r} is not positively homogeneous: no "
                "radius r, direction u and offset lambda make "
                f"r * {name}(u . x + lambda) equal {name}(w . x + b). Only "
                "linear, relu and leaky_relu layers convert"
            )
        kernel = np.asarray(kernel)
        zero = ~np.any(kernel.reshape(-1, kernel.shape[-1]) != 0, axis=0)
        if bias is not None and np.any(zero & (np.asarray(bias) != 0)):
            return (
                f"{int(np.sum(zero & (np.asarray(bias) != 0)))} of its "
                f"{zero.size} units have a zero kernel and a non-zero bias b: "
                "their output is the constant f(b), which a GmP unit "
                "r * f(u . x + lambda) with r = |w| = 0 cannot give"
            )
        return None

    def bake_error(self, values, activation):
        activation = activation or keras.activations.linear
        if activation is keras.activations.linear:
            return None
        name = base.activation_name(activation)
        if not positively_homogeneous(activation):
            return (
                f"its activation {name!r} is not positively homogeneous, so "
                "r * act(u . x + lambda) is not act(w . x + b) for any w, b. "
                "Only linear, relu and leaky_relu layers bake"
            )
        radius = ops.convert_to_numpy(values["radius"])
        negative = int(np.sum(radius < 0))
        if negative:
            return (
                f"{negative} of its {radius.size} units have a negative "
                f"radius r, and r * {name}(z) equals {name}(r z) only for "
                "r >= 0"
            )
        return None
