"""Weight normalization and centered weight normalization.

Each output unit's weight vector is a direction and a norm:

- "weight_norm" (`WeightNorm`): `w = g v / |v|`, with `kernel_direction` v
  in the kernel's shape and `kernel_norm` g of shape `(units,)`
  (T. Salimans and D. P. Kingma, "Weight Normalization: A Simple
  Reparameterization to Accelerate Training of Deep Neural Networks",
  NeurIPS 2016, arXiv:1602.07868).
- "centered_weight_norm" (`CenteredWeightNorm`): `w = g B c / |c|`, with
  `kernel_coordinates` c of shape `(fan_in - 1, units)` in the orthonormal
  zero-sum basis B that LCW uses (`keras_lcw.numerics.zero_sum`), so each
  unit's kernel sums to zero and has norm |g| by construction (L. Huang, X.
  Liu, Y. Liu, B. Lang and D. Tao, "Centered Weight Normalization in
  Accelerating Training of Deep Neural Networks", ICCV 2017). As B is
  orthonormal, |B c| = |c|.

v / |v| is computed as `v * rsqrt(s)` with `s = sum(v^2)` replaced by 1
where it is 0 (`keras_lcw.numerics.norms`): a unit whose direction is
exactly zero gets a zero kernel and finite gradients (no NaN), instead of
0 / 0.

The inverse of a plain kernel w is `v = w` (for "centered_weight_norm" the
coordinates `B^T w` of its zero-sum projection `w - mean(w)`, as "lcw"
does) and `g = |v|`: exact for every kernel (after the projection). A unit
whose kernel is zero (after the projection) gets the first basis vector as
its direction and `g = 0`, which computes the same zero kernel and still
trains, since the gradient of g is then not zero.

The bias is stored as it is, in the variable "bias", and carries the
layer's bias regularizer and constraint.

With `data_init=True` (the layers' argument; the registered objects have
it off) the parameterization also declares the state of the paper's
data-dependent initialization: `kernel_norm_offset` and `bias_offset`,
added to g and the bias, and the flag `data_initialized`. The layers set
them once, from the first training batch (`data_initialized_values`); they
are non-trainable because a train step on JAX keeps only the optimizer's
updates of trainable variables, so g and the bias themselves cannot be
assigned in a forward pass.
"""

from keras import ops

from keras_lcw import backend_utils
from keras_lcw import initializers
from keras_lcw.numerics import norms
from keras_lcw.numerics import zero_sum
from keras_lcw.parameterizations import base
from keras_lcw.parameterizations import lcw


# The data-dependent initialization takes a unit's preactivation for
# constant over a batch where its standard deviation is at most this times
# its mean: what float32 rounding leaves of a constant input, whose
# positions a convolution may sum in different orders.
CONSTANT_RELATIVE_STD = 1e-5


def _columns(direction):
    """A direction variable as a `(rows, units)` tensor (one column per
    unit)."""
    if len(direction.shape) == 2:
        return direction
    return ops.reshape(direction, (-1, direction.shape[-1]))


class _Normalized(base.Parameterization):
    """A direction variable, the norm g and the bias; subclasses set the
    direction's variable and its map to the kernel."""

    # The name of the direction variable.
    direction_name = None

    def __init__(self, data_init=False):
        self.data_init = bool(data_init)

    # What a subclass declares.

    def direction_shape(self, kernel_shape):
        raise NotImplementedError

    def direction_kernel(self, direction, kernel_shape):
        """The unnormalized direction in the kernel's shape."""
        raise NotImplementedError

    def to_direction_space(self, flat_kernel):
        """A `(fan_in, units)` kernel in the direction variable's space, as
        a `(rows, units)` tensor."""
        raise NotImplementedError

    # The parameterization.

    def variables(self, kernel_shape, use_bias):
        units = kernel_shape[-1]
        variables = [
            base.Variable(
                self.direction_name,
                self.direction_shape(kernel_shape),
                regularizer="kernel",
            ),
            base.Variable("kernel_norm", (units,)),
        ]
        if use_bias:
            variables.append(
                base.Variable(
                    "bias", (units,), regularizer="bias", constraint="bias"
                )
            )
        if self.data_init:
            state = dict(trainable=False, aggregation="mean")
            variables.append(base.Variable("kernel_norm_offset", (units,), **state))
            if use_bias:
                variables.append(base.Variable("bias_offset", (units,), **state))
            variables.append(base.Variable("data_initialized", (), **state))
        return variables

    def norm(self, values):
        """The effective norm g of each unit."""
        if "kernel_norm_offset" in values:
            return values["kernel_norm"] + values["kernel_norm_offset"]
        return values["kernel_norm"]

    def scale(self, values):
        """`g / |direction|` per unit: what the unnormalized direction is
        multiplied by."""
        return self.norm(values) * norms.inverse_column_norms(
            _columns(values[self.direction_name])
        )

    def call_kernel(self, values, kernel_shape):
        """The unnormalized direction; `output` multiplies the
        preactivation by `g / |direction|`."""
        return self.direction_kernel(values[self.direction_name], kernel_shape)

    def forward(self, values, kernel_shape):
        kernel = self.call_kernel(values, kernel_shape) * self.scale(values)
        return kernel, self.forward_bias(values)

    def forward_bias(self, values):
        if "bias" not in values:
            return None
        if "bias_offset" in values:
            return values["bias"] + values["bias_offset"]
        return values["bias"]

    def dense_rows(self, inputs):
        """What the direction's columns multiply in a Dense layer: the
        inputs."""
        return inputs

    def dense_preactivation(self, inputs, values, kernel_shape):
        return ops.matmul(self.dense_rows(inputs), values[self.direction_name])

    def fused_dense_output(self, inputs, values, kernel_shape, activation, per_unit):
        if self.data_init:
            # The data-dependent initialization reads the unscaled product.
            return None
        product = backend_utils.fused_scaled_matmul(
            self.dense_rows(inputs), values[self.direction_name], self.norm(values)
        )
        if product is None:
            return None
        # Scaled already: bias and activation only.
        return base.Parameterization.output(
            self, product, values, activation, per_unit
        )

    def output(self, preactivation, values, activation, per_unit):
        # The inputs met the unnormalized direction: scale, then as usual.
        return super().output(
            preactivation * per_unit(self.scale(values)),
            values,
            activation,
            per_unit,
        )

    def conv_call_kernel(self, values, kernel_shape, activation):
        """The kernel `g v / |v|` itself: a convolution's output (batch x
        positions x units) is larger than its kernel (fan-in x units), so
        the scale costs less on the kernel. With `data_init` the
        unnormalized direction, as for Dense: the data-dependent
        initialization reads the preactivation `x . direction`."""
        if self.data_init:
            return self.call_kernel(values, kernel_shape)
        return self.forward(values, kernel_shape)[0]

    def conv_output(self, preactivation, values, activation, per_unit):
        if self.data_init:
            return self.output(preactivation, values, activation, per_unit)
        # The kernel was scaled already: bias and activation only.
        return base.Parameterization.output(
            self, preactivation, values, activation, per_unit
        )

    def inverse(self, kernel, bias):
        """The direction of w (of its zero-sum projection for the centered
        one) and g = its norm; a zero unit gets the first basis vector and
        g = 0. With `data_init`, zero offsets and the flag 0: the data-
        dependent initialization is still to do."""
        kernel = ops.convert_to_tensor(kernel)
        units = kernel.shape[-1]
        direction = self.to_direction_space(ops.reshape(kernel, (-1, units)))
        squared = ops.sum(ops.square(direction), axis=0)
        first = ops.cast(ops.arange(direction.shape[0]) == 0, direction.dtype)
        direction = ops.where(
            squared > 0, direction, ops.expand_dims(first, -1)
        )
        values = {
            self.direction_name: ops.reshape(
                direction, self.direction_shape(kernel.shape)
            ),
            "kernel_norm": ops.sqrt(squared),
        }
        if bias is not None:
            values["bias"] = ops.cast(ops.convert_to_tensor(bias), kernel.dtype)
        if self.data_init:
            # Separate arrays: JAX refuses one buffer for two variables.
            values["kernel_norm_offset"] = ops.zeros((units,), kernel.dtype)
            if bias is not None:
                values["bias_offset"] = ops.zeros((units,), kernel.dtype)
            values["data_initialized"] = ops.zeros((), kernel.dtype)
        return values

    def data_initialized_values(self, values, mean, variance):
        """The data-dependent initialization's state after a training batch.

        `mean` and `variance` are the batch moments, per unit, of the
        preactivation `t = x . direction` (before `output` scales it). Where
        the flag is 0, the effective g becomes `|direction| / std(t)` and
        the bias `-mean(t) / std(t)`, so that `g t / |direction| + b` has
        zero mean and unit variance over the batch; the flag becomes 1. A
        unit whose `t` is constant over the batch (its standard deviation
        at most `CONSTANT_RELATIVE_STD` times its mean: the rounding of the
        moments) keeps its g, and its bias becomes `-mean(t)` times its
        scale. Where the flag is 1 the state is returned unchanged, and so
        it is after a batch whose moments are not all finite (a NaN or
        infinite input, or an empty batch): the initialization waits for a
        usable batch. No gradient flows through the result.
        """
        values = {name: ops.convert_to_tensor(value) for name, value in values.items()}
        usable = ops.logical_and(
            ops.all(ops.isfinite(mean)), ops.all(ops.isfinite(variance))
        )
        done = values["data_initialized"] > 0.5
        keep = ops.logical_or(done, ops.logical_not(usable))
        inverse_norms = norms.inverse_column_norms(
            _columns(values[self.direction_name])
        )
        positive = ops.logical_and(
            variance > 0, variance > ops.square(CONSTANT_RELATIVE_STD * mean)
        )
        target_scale = ops.where(
            positive,
            ops.rsqrt(ops.where(positive, variance, ops.ones_like(variance))),
            self.norm(values) * inverse_norms,
        )
        target_offset = target_scale / inverse_norms - values["kernel_norm"]
        updates = {
            "kernel_norm_offset": ops.where(
                keep, values["kernel_norm_offset"], target_offset
            ),
            "data_initialized": ops.where(
                usable,
                ops.ones_like(values["data_initialized"]),
                values["data_initialized"],
            ),
        }
        if "bias" in values:
            updates["bias_offset"] = ops.where(
                keep,
                values["bias_offset"],
                -mean * target_scale - values["bias"],
            )
        return {name: ops.stop_gradient(value) for name, value in updates.items()}

    def __repr__(self):
        data_init = ", data_init=True" if self.data_init else ""
        return f"{type(self).__name__}(name={self.name!r}{data_init})"


class WeightNorm(_Normalized):
    """w = g v / |v| per unit, v in the kernel's shape."""

    name = "weight_norm"
    direction_name = "kernel_direction"

    def direction_shape(self, kernel_shape):
        return tuple(kernel_shape)

    def direction_kernel(self, direction, kernel_shape):
        return direction

    def to_direction_space(self, flat_kernel):
        return flat_kernel


class CenteredWeightNorm(_Normalized):
    """w = g B c / |c| per unit: zero-sum and of norm |g|."""

    name = "centered_weight_norm"
    direction_name = "kernel_coordinates"

    def direction_shape(self, kernel_shape):
        return (base.fan_in_of(kernel_shape) - 1, kernel_shape[-1])

    def direction_kernel(self, direction, kernel_shape):
        return ops.reshape(
            zero_sum.coordinates_to_zero_sum(direction), kernel_shape
        )

    def to_direction_space(self, flat_kernel):
        return zero_sum.zero_sum_to_coordinates(flat_kernel)

    def kernel_shape_error(self, kernel_shape):
        return lcw.fan_in_error(kernel_shape)

    def dense_rows(self, inputs):
        # x (B c) = (x B) c, as for "lcw" (`lcw.coordinates_preactivation`).
        return zero_sum.zero_sum_to_coordinates(inputs, axis=-1)

    def default_kernel_initializer(self, activation):
        return initializers.scaled_initializer(activation)
