"""GmP layers: Dense and convolutions in geometric parameterization."""

import keras
import numpy as np
from keras import ops

from keras_lcw import cloning
from keras_lcw.layers import reparameterized
from keras_lcw.numerics import hyperspherical

# Activations f with f(a z) = a f(z) for every a >= 0: for them
# r * f(z) = f(r z) when r >= 0, so a GmP layer folds into its parent.
_POSITIVELY_HOMOGENEOUS = (
    keras.activations.linear,
    keras.activations.relu,
    keras.activations.leaky_relu,
)


class _InitialDecomposition:
    """Draws one kernel and bias and splits them into GmP variables.

    Each variable's initializer asks for its part; the draw happens once, on
    the first request, where Keras initializes variables.
    """

    def __init__(self, layer, kernel_shape):
        self.layer = layer
        self.kernel_shape = kernel_shape
        self._parts = None

    def part(self, name):
        def initializer(shape, dtype=None):
            if self._parts is None:
                self._parts = self._draw(dtype)
            return self._parts[name]

        return initializer

    def _draw(self, dtype):
        layer, units = self.layer, self.kernel_shape[-1]
        kernel = layer.kernel_initializer(self.kernel_shape, dtype=dtype)
        kernel = ops.reshape(kernel, (-1, units))
        if kernel.shape[0] == 1:
            radius = ops.abs(kernel[0])
            sign = ops.where(kernel[0] < 0, -1.0, 1.0)
            parts = {"direction": ops.cast(sign, dtype)}
        else:
            angles, radius = hyperspherical.to_hyperspherical(kernel)
            parts = {"angles": angles}
        parts["radius"] = ops.cast(radius, dtype)
        if layer.use_bias:
            # The offset is the drawn bias over the radius, so that the
            # effective bias r * lambda is the drawn bias.
            bias = layer.bias_initializer((units,), dtype=dtype)
            safe_radius = ops.where(radius > 0, radius, ops.ones_like(radius))
            parts["offset"] = ops.cast(bias / safe_radius, dtype)
        return parts


class GeometricKernel(reparameterized.ReparameterizedKernel):
    """The GmP reparameterization, shared by GmPDense and GmPConvND.

    Variables: `angles` of shape `(fan_in - 1, units)` (for a fan-in of 1 the
    direction is only a sign: a non-trainable `direction` of shape
    `(units,)`, fixed at initialization), `offset` lambda and `radius` r of
    shape `(units,)`. Subclasses compute the preactivation `u . x` with the
    unit kernel and pass it to `_gmp_output`.
    """

    unsupported_arguments = {
        **reparameterized.ReparameterizedKernel.unsupported_arguments,
        "bias_constraint": "the bias r * lambda is computed from the offset "
        "and the radius",
    }

    def _build_gmp(self, kernel_shape):
        self._kernel_shape = tuple(kernel_shape)
        fan_in = reparameterized.fan_in_of(kernel_shape)
        units = kernel_shape[-1]
        initial = _InitialDecomposition(self, self._kernel_shape)
        if fan_in == 1:
            self.angles = None
            self.direction = self.add_weight(
                name="direction",
                shape=(units,),
                initializer=initial.part("direction"),
                trainable=False,
                dtype=self.dtype,
                autocast=False,
            )
        else:
            # Read in full precision under mixed precision: the unit
            # vectors are computed in float32 and cast once.
            self.angles = self.add_weight(
                name="angles",
                shape=(fan_in - 1, units),
                initializer=initial.part("angles"),
                dtype=self.dtype,
                autocast=False,
            )
        if self.use_bias:
            self.offset = self.add_weight(
                name="offset",
                shape=(units,),
                initializer=initial.part("offset"),
                regularizer=reparameterized.effective_regularizer(
                    self.bias_regularizer, self.effective_bias
                ),
                dtype=self.dtype,
                autocast=False,
            )
        else:
            self.offset = None
        self.radius = self.add_weight(
            name="radius",
            shape=(units,),
            initializer=initial.part("radius"),
            regularizer=reparameterized.effective_regularizer(
                self.kernel_regularizer, self.effective_kernel
            ),
            dtype=self.dtype,
            autocast=False,
        )
        self.built = True

    def unit_kernel(self):
        """The unit-norm directions u, in the kernel's shape and the
        variables' dtype."""
        if self.angles is None:
            directions = self.direction
        else:
            directions = hyperspherical.to_cartesian(self.angles)
        return ops.reshape(directions, self._kernel_shape)

    def effective_kernel(self):
        return self.unit_kernel() * self.radius

    def effective_bias(self):
        """The bias r * lambda, in the variables' dtype; None without bias."""
        if self.offset is None:
            return None
        return self.radius * self.offset

    @property
    def bias(self):
        effective = self.effective_bias()
        if effective is None:
            return None
        return ops.cast(effective, self.compute_dtype)

    def _channel_shape(self):
        if getattr(self, "data_format", None) == "channels_first":
            return (1, -1) + (1,) * self.rank
        return (-1,)

    def _per_unit(self, variable):
        return ops.reshape(
            ops.cast(variable, self.compute_dtype), self._channel_shape()
        )

    def _gmp_output(self, preactivation):
        """r * act(u . x + lambda), from the preactivation u . x."""
        if self.offset is not None:
            preactivation = preactivation + self._per_unit(self.offset)
        outputs = preactivation
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs * self._per_unit(self.radius)

    def _check_bakeable(self):
        """Raises unless `r * f(z) = f(r z)`: for a linear activation, and for
        a positively homogeneous one (relu, leaky_relu) when every r >= 0."""
        activation = self.activation or keras.activations.linear
        if activation is keras.activations.linear:
            return
        name = getattr(activation, "__name__", repr(activation))
        if not self.converts_exactly(self):
            raise ValueError(
                f"{type(self).__name__} '{self.name}' cannot be baked "
                f"into a plain {self.plain_class.__name__}: its "
                f"activation {name!r} is not positively homogeneous, so "
                "r * act(u . x + lambda) is not act(w . x + b) for any "
                "w, b. Only linear, relu and leaky_relu layers bake."
            )
        radius = ops.convert_to_numpy(self.radius)
        negative = int(np.sum(radius < 0))
        if negative:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' cannot be baked "
                f"into a plain {self.plain_class.__name__}: {negative} "
                f"of its {radius.size} units have a negative radius r, "
                f"and r * {name}(z) equals {name}(r z) only for r >= 0."
            )

    @classmethod
    def converts_exactly(cls, layer):
        """Whether a GmP layer can compute what the plain `layer` computes:
        r * f(u . x + lambda) = f(w . x + b) with r = |w| >= 0 needs a
        linear or positively homogeneous activation f."""
        activation = layer.activation or keras.activations.linear
        return activation in _POSITIVELY_HOMOGENEOUS

    @classmethod
    def from_plain(cls, layer):
        """Returns `(layer, weights)`: the GmP counterpart of the plain
        `layer` and the weights that make it compute exactly what `layer`
        computes (to float rounding); `bake()` inverts it.

        Raises for an activation other than linear, relu and leaky_relu
        (`converts_exactly`), a bias constraint, a kernel constraint or LoRA.
        """
        cloning.check_convertible(
            layer, cls.plain_class, f"{cls.__name__}.from_plain()"
        )
        if not cls.converts_exactly(layer):
            name = getattr(layer.activation, "__name__", repr(layer.activation))
            raise ValueError(
                f"Layer '{layer.name}' has the activation {name!r}, which is "
                "not positively homogeneous: no radius r, direction u and "
                f"offset lambda make r * {name}(u . x + lambda) equal "
                f"{name}(w . x + b), so {cls.__name__} would compute something "
                "else. Only linear, relu and leaky_relu layers convert; leave "
                "this one out of the conversion."
            )
        return super().from_plain(layer)

    @classmethod
    def weights_from_plain(cls, weights):
        """Hyperspherical coordinates of each unit's kernel w and bias b:
        the angles of w / |w| (for a fan-in of 1, its sign), r = |w| and
        lambda = b / r, in `set_weights` order.

        A unit with w = 0 gets r = 0, the angles of the first basis vector
        and lambda = 0: exact when b = 0 (both layers output 0), refused
        otherwise, as r * f(.) = 0 cannot be the constant f(b).
        """
        kernel, *bias = weights
        units = kernel.shape[-1]
        kernel = kernel.reshape(-1, units)
        radius = np.linalg.norm(kernel.astype("float64"), axis=0)
        zero = radius == 0
        if bias and np.any(bias[0][zero] != 0):
            raise ValueError(
                f"{int(np.sum(zero & (bias[0] != 0)))} of the {units} units "
                "have a zero kernel and a non-zero bias b: their output is "
                "the constant f(b), which a GmP unit r * f(u . x + lambda) "
                "with r = |w| = 0 cannot give. Leave the layer out of the "
                "conversion, or give those units a non-zero kernel."
            )
        radius = radius.astype(kernel.dtype)
        offset = [
            (b / np.where(zero, 1.0, radius)).astype(b.dtype) for b in bias
        ]
        if kernel.shape[0] == 1:
            # The sign of a zero kernel is +1, as at initialization; the
            # non-trainable direction comes after the trainable weights.
            sign = np.where(kernel[0] < 0, -1.0, 1.0).astype(kernel.dtype)
            return offset + [radius, sign]
        angles, _ = hyperspherical.to_hyperspherical(kernel)
        return [ops.convert_to_numpy(angles)] + offset + [radius]


_GMP_DOC = """{summary}

    Geometric parameterization (GmP; W. Chen and H. Ge, "Neural
    Characteristic Activation Analysis and Geometric Parameterization for
    ReLU Networks", NeurIPS 2024, arXiv:2305.15912). Each output unit is

        y = r * act(u(theta) . x + lambda),

    with u(theta) a unit vector over the fan-in (`{fan_in}`) in
    hyperspherical coordinates (`keras_lcw.numerics.hyperspherical`):

        u_1 = cos t_1,  u_i = sin t_1 ... sin t_(i-1) cos t_i,
        u_n = sin t_1 ... sin t_(n-1),

    lambda the signed distance of the unit's activation boundary from the
    origin and r its radius: the same number of parameters as a kernel and a
    bias. A change eps of the angles turns the boundary by at most |eps|,
    whatever the scale of the weights, which is what keeps training stable at
    learning rates (the paper uses 10x) that derail the plain layer. Use it
    with `keras_lcw.InputMeanNormalization` on the layer's input, on ReLU
    hidden layers (the paper keeps a plain output layer).

    Variables: `angles` (fan_in - 1, {units}), `offset` lambda ({units},)
    when `use_bias`, `radius` r ({units},). With a fan-in of 1 the direction
    is a sign, which no gradient can change: it is drawn at initialization
    and kept in the non-trainable `direction` ({units},).

    Takes the arguments of `keras.layers.{parent}` with these differences:

    - `activation` defaults to "relu".
    - `kernel_initializer` and `bias_initializer` draw a kernel w and a bias
      b, which are mapped to angles (keeping the sign of every coordinate),
      r = |w| and lambda = b / r: the layer starts as the plain layer would.
    - `kernel_regularizer` applies to the effective kernel r * u and
      `bias_regularizer` to the effective bias r * lambda.
    - `kernel_constraint`, `bias_constraint`, `lora_rank` and `lora_alpha`
      are refused, and so are `enable_lora()` and `quantize()`.

    `layer.kernel` and `layer.bias` are the effective kernel r * u and bias
    r * lambda (in the compute dtype); `effective_kernel()`, `effective_bias()`
    and `unit_kernel()` give them in the variables' dtype.
    `keras_lcw.bake(model)` turns the layer into a plain `{parent}` with
    them, exactly, for a linear activation, and for relu or leaky_relu when
    every r >= 0; it raises otherwise.

    Example:

    >>> model = keras.Sequential([
    ...     keras.Input({example_input}),
    ...     keras_lcw.InputMeanNormalization(),
    ...     keras_lcw.{name}({example_args}),
    ...     keras.layers.{head},
    ... ])
"""


@keras.saving.register_keras_serializable(package="keras_lcw")
class GmPDense(GeometricKernel, keras.layers.Dense):
    __doc__ = _GMP_DOC.format(
        summary="A Dense layer in geometric parameterization.",
        fan_in="input_dim",
        units="units",
        parent="Dense",
        name="GmPDense",
        example_input="(64,)",
        example_args="100",
        head="Dense(10, activation=\"softmax\")",
    )

    plain_class = keras.layers.Dense

    def __init__(self, units, activation="relu", **kwargs):
        super().__init__(units, activation=activation, **self._check_arguments(kwargs))

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"GmPDense '{self.name}' needs a known last input dimension; "
                f"received input_shape={input_shape}."
            )
        self._build_gmp((input_dim, self.units))
        self.input_spec = keras.layers.InputSpec(
            min_ndim=2, axes={-1: input_dim}
        )

    def call(self, inputs, training=None):
        unit_kernel = ops.cast(self.unit_kernel(), self.compute_dtype)
        return self._gmp_output(ops.matmul(inputs, unit_kernel))


class _GmPConv(GeometricKernel):
    def __init__(self, filters, kernel_size, *args, activation="relu", **kwargs):
        super().__init__(
            filters,
            kernel_size,
            *args,
            activation=activation,
            **self._check_arguments(kwargs),
        )

    def build(self, input_shape):
        self._build_gmp(reparameterized.conv_kernel_shape(self, input_shape))

    def call(self, inputs):
        padding = self.padding
        if padding == "causal":
            # As keras.layers.Conv1D does: pad on the left, then "valid".
            inputs = ops.pad(inputs, self._compute_causal_padding())
            padding = "valid"
        preactivation = ops.conv(
            inputs,
            ops.cast(self.unit_kernel(), self.compute_dtype),
            strides=list(self.strides),
            padding=padding,
            dilation_rate=self.dilation_rate,
            data_format=self.data_format,
        )
        return self._gmp_output(preactivation)


def _conv_doc(rank):
    spatial = ("k",) if rank == 1 else tuple(f"k{i}" for i in range(rank))
    return _GMP_DOC.format(
        summary=f"A {rank}-D convolution in geometric parameterization.",
        fan_in=" * ".join(spatial) + " * in_channels / groups",
        units="filters",
        parent=f"Conv{rank}D",
        name=f"GmPConv{rank}D",
        example_input=str((16,) * rank + (3,)),
        example_args='16, 3, padding="same"',
        head=f"GlobalAveragePooling{rank}D()",
    )


@keras.saving.register_keras_serializable(package="keras_lcw")
class GmPConv1D(_GmPConv, keras.layers.Conv1D):
    __doc__ = _conv_doc(1)
    plain_class = keras.layers.Conv1D


@keras.saving.register_keras_serializable(package="keras_lcw")
class GmPConv2D(_GmPConv, keras.layers.Conv2D):
    __doc__ = _conv_doc(2)
    plain_class = keras.layers.Conv2D


@keras.saving.register_keras_serializable(package="keras_lcw")
class GmPConv3D(_GmPConv, keras.layers.Conv3D):
    __doc__ = _conv_doc(3)
    plain_class = keras.layers.Conv3D
