"""Dense and convolution layers whose kernel and bias a parameterization
computes.

The layers store the variables of a `keras_lcw.parameterizations`
object and go through it for everything: initialization (a plain kernel and
bias drawn with the layer's initializers, mapped by the inverse), the output,
`bake` (the forward map) and `from_plain` (the inverse). Keras's Dense and
convolution layers assume a stored kernel in a few places; the mixin
overrides each of them:

- `kernel` and `bias` are read-only properties: the effective weights in the
  variables' dtype (float32 under mixed precision), cast to the compute
  dtype. Where the bias is a stored variable, `bias` is that variable.
- Variables are saved and loaded by name. Dense's own saving writes the
  `kernel` property and would load it back into the wrong variable without
  error; files written before saving by name hold the variables by index, in
  the order the parameterization declares them (trainable ones first), and
  still load.
- LoRA, quantization and kernel constraints are refused with a clear error:
  `keras_lcw.bake` first gives a plain layer for which all of them work.
"""

import keras
from keras import ops

from keras_lcw import backend_utils
from keras_lcw import parameterizations
from keras_lcw import plain
from keras_lcw import validation


class EffectiveWeightRegularizer(keras.regularizers.Regularizer):
    """Applies a regularizer to a weight computed from the layer's variables.

    Attached to one stored variable (Keras regularizes variables), it ignores
    that variable's value and regularizes `weight_fn()`, which reads the
    current values of every variable it needs. Never serialized: the layer's
    config keeps the user's regularizer.
    """

    def __init__(self, regularizer, weight_fn):
        self.regularizer = regularizer
        self.weight_fn = weight_fn

    def __call__(self, variable):
        return self.regularizer(self.weight_fn())


class _InitialDraw:
    """Draws one kernel and bias with the layer's initializers and maps them
    to the parameterization's variables by its inverse.

    Each variable's initializer asks for its part; the draw happens once, on
    the first request, where Keras initializes variables. A draw made while a
    graph is traced is not kept: Keras reads an uninitialized variable's
    initializer as a placeholder there (a layer built inside a subclassed
    model's symbolic call), and its tensors belong to that graph.
    """

    def __init__(self, layer, kernel_shape):
        self.layer = layer
        self.kernel_shape = kernel_shape
        self._values = None

    def part(self, name):
        def initializer(shape, dtype=None):
            values = self._values
            if values is None:
                values = self._draw(dtype)
                if all(map(backend_utils.is_concrete, values.values())):
                    self._values = values
            return ops.cast(values[name], dtype)

        return initializer

    def _draw(self, dtype):
        layer = self.layer
        kernel = layer.resolved_kernel_initializer()(self.kernel_shape, dtype=dtype)
        bias = None
        if layer.use_bias:
            bias = layer.bias_initializer((self.kernel_shape[-1],), dtype=dtype)
        return layer.parameterization.inverse(kernel, bias)


def conv_kernel_shape(layer, input_shape):
    """Validates a convolution's input shape and returns its kernel shape.

    Sets `layer.input_spec` as `keras.layers.Conv2D.build` does.
    """
    channel_axis = -1 if layer.data_format == "channels_last" else 1
    input_channel = input_shape[channel_axis]
    if input_channel is None:
        raise ValueError(
            f"{type(layer).__name__} needs a known number of input channels "
            f"(axis {channel_axis}); received input_shape={input_shape}."
        )
    if input_channel % layer.groups != 0:
        raise ValueError(
            f"The number of input channels ({input_channel}) must be evenly "
            f"divisible by groups={layer.groups} (input_shape={input_shape})."
        )
    layer.input_spec = keras.layers.InputSpec(
        min_ndim=layer.rank + 2, axes={channel_axis: input_channel}
    )
    # Validates the spatial dimensions as Keras's convolutions do.
    layer.compute_output_shape(input_shape)
    return tuple(layer.kernel_size) + (
        input_channel // layer.groups,
        layer.filters,
    )


def _refuse_arguments(layer_name, kwargs, refused):
    """Raises for keyword arguments the layer cannot honour; returns the
    others."""
    for argument, reason in refused.items():
        if kwargs.get(argument) is not None:
            raise ValueError(
                f"{layer_name} does not accept `{argument}` "
                f"(received {argument}={kwargs[argument]!r}): {reason}. "
                "Build the model with it, then call keras_lcw.bake(model) to "
                "get plain Keras layers that support it."
            )
        kwargs.pop(argument, None)
    return kwargs


class ReparameterizedKernel:
    """Mixin for subclasses of Dense and ConvND with a parameterized kernel.

    A class sets `_plain_class` (the Keras parent) and either a fixed
    `parameterization_name` (LCWDense, ...) or takes a `parameterization`
    argument (ReparameterizedDense, ...).
    """

    _plain_class = None
    parameterization_name = None

    def _parameterized_kwargs(self, parameterization, kwargs):
        """Looks up the parameterization and refuses the arguments it cannot
        keep; returns the other keyword arguments. Call before the parent's
        `__init__`."""
        fixed = self.parameterization_name
        if fixed is not None and parameterization not in (None, fixed):
            raise ValueError(
                f"{type(self).__name__} is the {fixed!r} parameterization; "
                f"received parameterization={parameterization!r}. Use "
                "keras_lcw.layers.get_dense or get_conv for another one."
            )
        if "use_bias" in kwargs:
            kwargs["use_bias"] = validation.boolean("use_bias", kwargs["use_bias"])
        # Set before the parent's __init__, outside Keras's tracking.
        object.__setattr__(
            self, "_parameterization", parameterizations.get(parameterization or fixed)
        )
        return _refuse_arguments(
            type(self).__name__, kwargs, self._parameterization.refused_arguments
        )

    @property
    def parameterization(self):
        """The `keras_lcw.parameterizations` object of the layer."""
        return self._parameterization

    def resolved_kernel_initializer(self):
        """The kernel initializer, or the parameterization's default for the
        layer's activation where it is None (then glorot_uniform)."""
        if self.kernel_initializer is not None:
            return self.kernel_initializer
        default = self.parameterization.default_kernel_initializer(
            self.activation
        )
        return default or keras.initializers.GlorotUniform()

    def _build_parameterized(self, kernel_shape):
        parameterization = self.parameterization
        reason = parameterization.kernel_shape_error(kernel_shape)
        if reason is not None:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' cannot have the kernel "
                f"shape {tuple(kernel_shape)}, because {reason}."
            )
        self._kernel_shape = tuple(kernel_shape)
        draw = _InitialDraw(self, self._kernel_shape)
        effective = {"kernel": self.effective_kernel, "bias": self.effective_bias}
        regularizers = {
            "kernel": self.kernel_regularizer,
            "bias": self.bias_regularizer,
        }
        variables = {}
        for spec in parameterization.variables(self._kernel_shape, self.use_bias):
            regularizer = regularizers.get(spec.regularizer)
            variables[spec.name] = self.add_weight(
                name=spec.name,
                shape=spec.shape,
                initializer=draw.part(spec.name),
                regularizer=None
                if regularizer is None
                else EffectiveWeightRegularizer(
                    regularizer, effective[spec.regularizer]
                ),
                constraint=self.bias_constraint
                if spec.constraint == "bias"
                else None,
                trainable=spec.trainable,
                aggregation=spec.aggregation,
                dtype=self.dtype,
                # Read in full precision under mixed precision: the kernel
                # is computed in float32 and cast once.
                autocast=False,
            )
        # The dict is kept out of Keras's attribute tracking: add_weight
        # tracks the variables already, in the declared order that saved
        # files rely on.
        object.__setattr__(self, "_parameter_variables", variables)
        for name, variable in variables.items():
            if name != "bias":  # `bias` is a property.
                setattr(self, name, variable)
        self.built = True

    def parameter_values(self):
        """The layer's variables by name (a new dict)."""
        return dict(self._parameter_variables)

    def effective_kernel(self):
        """The kernel the layer applies, in the variables' dtype."""
        return self.parameterization.forward(
            self._parameter_variables, self._kernel_shape
        )[0]

    def effective_bias(self):
        """The bias the layer applies, in the variables' dtype; None without
        bias."""
        return self.parameterization.forward_bias(self._parameter_variables)

    @property
    def kernel(self):
        if not self.built:
            raise AttributeError(
                f"Layer '{self.name}' must be built before reading `kernel`."
            )
        return ops.cast(self.effective_kernel(), self.compute_dtype)

    @property
    def bias(self):
        if not self.built:
            raise AttributeError(
                f"Layer '{self.name}' must be built before reading `bias`."
            )
        effective = self.effective_bias()
        if effective is None or effective is self._parameter_variables.get("bias"):
            # A stored bias is the variable itself, as Dense's is.
            return effective
        return ops.cast(effective, self.compute_dtype)

    def _per_unit(self, value):
        """A `(units,)` value in the compute dtype, shaped to broadcast over
        the units' axis of the output."""
        value = ops.cast(value, self.compute_dtype)
        if getattr(self, "data_format", None) == "channels_first":
            return ops.reshape(value, (1, -1) + (1,) * self.rank)
        return value

    def _call_kernel(self):
        """The kernel the inputs meet, in the compute dtype."""
        return ops.cast(
            self.parameterization.call_kernel(
                self._parameter_variables, self._kernel_shape
            ),
            self.compute_dtype,
        )

    def _parameterized_output(self, preactivation, values):
        return self.parameterization.output(
            preactivation, values, self.activation, self._per_unit
        )

    def _output(self, preactivation, training=None):
        """The layer's output from the preactivation; `training` is the
        call's flag, for subclasses that update state in training."""
        return self._parameterized_output(
            preactivation, self._parameter_variables
        )

    def save_own_variables(self, store):
        for name, variable in self._parameter_variables.items():
            store[name] = variable

    def load_own_variables(self, store):
        keys = set(store.keys())
        variables = self._parameter_variables
        if keys != set(variables):
            # Written by index before variables were saved by name:
            # trainable variables first, each group in declared order.
            legacy = [v for v in variables.values() if v.trainable] + [
                v for v in variables.values() if not v.trainable
            ]
            if keys != {str(i) for i in range(len(legacy))}:
                raise ValueError(
                    f"Layer '{self.name}' expected the variables "
                    f"{sorted(variables)}; the file holds {sorted(keys)}."
                )
            variables = {str(i): v for i, v in enumerate(legacy)}
        for key, variable in variables.items():
            variable.assign(store[key])

    def enable_lora(self, *args, **kwargs):
        raise ValueError(
            f"{type(self).__name__} '{self.name}' does not support LoRA: its "
            "kernel is computed. Call keras_lcw.bake(model) first and enable "
            "LoRA on the plain layers."
        )

    def quantize(self, *args, **kwargs):
        raise ValueError(
            f"{type(self).__name__} '{self.name}' cannot be quantized: its "
            "kernel is computed. Call keras_lcw.bake(model) first and quantize "
            "the plain model."
        )

    def get_config(self):
        config = super().get_config()
        if self.parameterization_name is None:
            config["parameterization"] = self.parameterization.name
        return config

    def plain_config(self):
        """The config of the plain Keras layer that `bake` gives: without the
        parameterization, without keras_lcw objects, and with the kernel
        initializer the layer resolved."""
        config = plain.plain_config(self)
        config.pop("parameterization", None)
        if config.get("kernel_initializer") is None:
            config["kernel_initializer"] = keras.initializers.serialize(
                self.resolved_kernel_initializer()
            )
        return config

    def bake(self):
        """Returns `(plain_layer, weights)`: an unbuilt plain Keras layer and
        its weights by name (NumPy arrays) that make it compute exactly what
        this layer computes. Raises a ValueError naming the layer where no
        plain layer does."""
        if not self.built:
            raise ValueError(
                f"Layer '{self.name}' must be built before it can be baked."
            )
        reason = self.parameterization.bake_error(
            self._parameter_variables, self.activation
        )
        if reason is not None:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' cannot be baked into a "
                f"plain {self._plain_class.__name__}, because {reason}."
            )
        kernel, bias = self.parameterization.forward(
            self._parameter_variables, self._kernel_shape
        )
        weights = {"kernel": ops.convert_to_numpy(kernel)}
        if bias is not None:
            weights["bias"] = ops.convert_to_numpy(bias)
        return self._plain_class.from_config(self.plain_config()), weights

    @classmethod
    def default_kernel_initializer(cls, activation):
        """The kernel initializer of the class's parameterization for
        `activation` when none is given (None: Keras's default)."""
        return parameterizations.get(
            cls.parameterization_name
        ).default_kernel_initializer(activation)

    @classmethod
    def conversion_error(cls, layer, parameterization=None):
        """None where `from_plain(layer)` carries the plain layer over;
        else why not."""
        target = parameterizations.get(
            parameterization or cls.parameterization_name
        )
        quantized = plain.quantization_error(layer)
        if quantized is not None:
            return quantized
        kernel, bias = _kernel_and_bias(layer)
        return target.kernel_shape_error(kernel.shape) or target.inverse_error(
            kernel, bias, layer.activation
        )

    @classmethod
    def from_plain(cls, layer, parameterization=None):
        """Returns `(layer, weights)`: an unbuilt layer of this class with the
        plain layer's arguments, and its weights by name (the inverse map of
        the plain kernel and bias); `bake()` inverts it where the map is
        exact.

        keras_lcw objects that only shape training (`LCWConstraint`,
        `LCWInitializer`) are dropped from the plain config. A plain layer
        with an argument this class refuses (a kernel constraint, LoRA), or
        whose function the parameterization cannot compute, raises.
        """
        action = f"{cls.__name__}.from_plain()"
        plain.check_layer(layer, cls._plain_class, action)
        name = parameterization or cls.parameterization_name
        target = parameterizations.get(name)
        config = plain.plain_config(layer)
        for argument, reason in target.refused_arguments.items():
            if config.get(argument):
                raise ValueError(
                    f"Layer '{layer.name}' has {argument}="
                    f"{config[argument]!r}, which {cls.__name__} cannot keep: "
                    f"{reason}. Leave the layer out of the conversion."
                )
        reason = cls.conversion_error(layer, name)
        if reason is not None:
            raise ValueError(
                f"Layer '{layer.name}' cannot be converted to {name!r}, "
                f"because {reason}. Leave it out of the conversion."
            )
        if cls.parameterization_name is None:
            config["parameterization"] = name
        values = target.inverse(*_kernel_and_bias(layer))
        weights = {key: ops.convert_to_numpy(value) for key, value in values.items()}
        return cls.from_config(config), weights


def _kernel_and_bias(layer):
    """A plain layer's kernel and bias (None without one), as NumPy arrays."""
    bias = layer.bias if layer.use_bias else None
    return (
        ops.convert_to_numpy(layer.kernel),
        None if bias is None else ops.convert_to_numpy(bias),
    )


_DOC = """A {parent} layer whose kernel and bias a parameterization computes.

    `keras_lcw.layers.get_{kind}(name, ...)` returns one for every
    parameterization without a layer class of its own; "lcw" and "gmp" have
    theirs (`keras_lcw.LCW{parent}`, `keras_lcw.GmP{parent}`), which take
    the same arguments but `parameterization` and save under their own names.

    Args:
        {size_args}
        parameterization: the name of a parameterization
            (`keras_lcw.parameterizations.PARAMETERIZATIONS`).
        kernel_initializer: draws the kernel that the parameterization's
            inverse maps to its variables; None (the default) takes the
            parameterization's default for the activation.
        **kwargs: the other arguments of `keras.layers.{parent}`;
            `kernel_constraint`, `lora_rank` and `lora_alpha` are refused, and
            so is anything else the parameterization cannot keep.

    Example:

    >>> layer = keras_lcw.layers.{name}({example}, parameterization="lcw")
"""


@keras.saving.register_keras_serializable(package="keras_lcw")
class ReparameterizedDense(ReparameterizedKernel, keras.layers.Dense):
    __doc__ = _DOC.format(
        parent="Dense",
        kind="dense",
        size_args="units: the number of output units.",
        name="ReparameterizedDense",
        example="32",
    )

    _plain_class = keras.layers.Dense

    def __init__(
        self, units, parameterization=None, kernel_initializer=None, **kwargs
    ):
        units = validation.positive_int("units", units)
        super().__init__(
            units,
            kernel_initializer=kernel_initializer,
            **self._parameterized_kwargs(parameterization, kwargs),
        )

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' needs a known last "
                f"input dimension; received input_shape={input_shape}."
            )
        self._build_parameterized((input_dim, self.units))
        self.input_spec = keras.layers.InputSpec(
            min_ndim=2, axes={-1: input_dim}
        )

    def call(self, inputs, training=None):
        validation.real_inputs(self, inputs)
        inputs = ops.cast(inputs, self.compute_dtype)
        if self.compute_dtype == self.variable_dtype:
            output = self.parameterization.fused_dense_output(
                inputs,
                self._parameter_variables,
                self._kernel_shape,
                self.activation,
                self._per_unit,
            )
            if output is not None:
                return output
            preactivation = self.parameterization.dense_preactivation(
                inputs, self._parameter_variables, self._kernel_shape
            )
        else:
            # Mixed precision: the kernel in float32, cast once.
            preactivation = ops.matmul(inputs, self._call_kernel())
        return self._output(preactivation, training=training)


class ReparameterizedConv(ReparameterizedKernel):
    """The convolution of a parameterization; comes before the Keras parent
    in a class's bases."""

    # A convolution's kernel and output go through the parameterization's
    # `conv_call_kernel` and `conv_output`.

    def _call_kernel(self):
        return ops.cast(
            self.parameterization.conv_call_kernel(
                self._parameter_variables, self._kernel_shape, self.activation
            ),
            self.compute_dtype,
        )

    def _parameterized_output(self, preactivation, values):
        return self.parameterization.conv_output(
            preactivation, values, self.activation, self._per_unit
        )

    def __init__(
        self,
        filters,
        kernel_size,
        *args,
        parameterization=None,
        kernel_initializer=None,
        **kwargs,
    ):
        filters = validation.positive_int("filters", filters)
        super().__init__(
            filters,
            kernel_size,
            *args,
            kernel_initializer=kernel_initializer,
            **self._parameterized_kwargs(parameterization, kwargs),
        )

    def build(self, input_shape):
        self._build_parameterized(conv_kernel_shape(self, input_shape))

    def call(self, inputs, training=None):
        validation.real_inputs(self, inputs)
        inputs = ops.cast(inputs, self.compute_dtype)
        padding = self.padding
        if padding == "causal":
            # As keras.layers.Conv1D does: pad on the left, then "valid".
            inputs = ops.pad(inputs, self._compute_causal_padding())
            padding = "valid"
        preactivation = ops.conv(
            inputs,
            self._call_kernel(),
            strides=list(self.strides),
            padding=padding,
            dilation_rate=self.dilation_rate,
            data_format=self.data_format,
        )
        return self._output(preactivation, training=training)


def _conv_doc(rank):
    return _DOC.format(
        parent=f"Conv{rank}D",
        kind="conv",
        size_args="filters, kernel_size: as for the Keras convolution.",
        name=f"ReparameterizedConv{rank}D",
        example="16, 3",
    )


@keras.saving.register_keras_serializable(package="keras_lcw")
class ReparameterizedConv1D(ReparameterizedConv, keras.layers.Conv1D):
    __doc__ = _conv_doc(1)
    _plain_class = keras.layers.Conv1D


@keras.saving.register_keras_serializable(package="keras_lcw")
class ReparameterizedConv2D(ReparameterizedConv, keras.layers.Conv2D):
    __doc__ = _conv_doc(2)
    _plain_class = keras.layers.Conv2D


@keras.saving.register_keras_serializable(package="keras_lcw")
class ReparameterizedConv3D(ReparameterizedConv, keras.layers.Conv3D):
    __doc__ = _conv_doc(3)
    _plain_class = keras.layers.Conv3D
