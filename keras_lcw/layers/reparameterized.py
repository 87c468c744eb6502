"""Machinery shared by Dense and convolution layers whose kernel is computed.

A reparameterized layer stores other variables than the kernel (LCW: the
kernel's coordinates in a zero-sum basis) and computes the effective kernel
from them on every call. Keras's Dense and convolution layers assume a stored
kernel in a few places; this mixin overrides each of them:

- `kernel` is a read-only property computed from the stored variables in the
  variables' dtype (float32 under mixed precision) and cast to the compute
  dtype, so the parent's `call` runs unchanged with the effective kernel.
- Saving and loading go through `keras.layers.Layer`'s by-index scheme:
  Dense's own writes the `kernel` property and would load it back into the
  wrong variable without error.
- LoRA, quantization and kernel constraints are refused with a clear error:
  `keras_lcw.bake` first gives a plain layer for which all of them work.
"""

import math

import keras
from keras import ops

from keras_lcw import cloning

_UNSUPPORTED_ARGUMENTS = {
    "kernel_constraint": "the kernel is computed from other variables",
    "lora_rank": "LoRA adapts a stored kernel",
    "lora_alpha": "LoRA adapts a stored kernel",
}


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


def effective_regularizer(regularizer, weight_fn):
    """`EffectiveWeightRegularizer(regularizer, weight_fn)`, or None."""
    if regularizer is None:
        return None
    return EffectiveWeightRegularizer(regularizer, weight_fn)


def check_unsupported_arguments(
    layer_name, kwargs, unsupported=_UNSUPPORTED_ARGUMENTS
):
    """Raises for keyword arguments a reparameterized layer cannot honour
    (`unsupported` maps each to the reason); returns the others."""
    for argument, reason in unsupported.items():
        if kwargs.get(argument) is not None:
            raise ValueError(
                f"{layer_name} does not accept `{argument}` "
                f"(received {argument}={kwargs[argument]!r}): {reason}. "
                "Build the model with it, then call keras_lcw.bake(model) to "
                "get plain Keras layers that support it."
            )
        kwargs.pop(argument, None)
    return kwargs


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


def fan_in_of(kernel_shape):
    """The number of inputs of one output unit: all kernel axes but the last."""
    return math.prod(kernel_shape[:-1])


class ReparameterizedKernel:
    """Mixin for subclasses of Dense and ConvND with a computed kernel.

    Subclasses set `plain_class` (the Keras parent), implement
    `effective_kernel`, `build` and `weights_from_plain`, and override
    `plain_config` if they add arguments the parent does not take.
    """

    plain_class = None
    # Arguments of the parent the layer refuses, with the reason.
    unsupported_arguments = _UNSUPPORTED_ARGUMENTS

    def _check_arguments(self, kwargs):
        """Validates the constructor's keyword arguments; returns them."""
        return check_unsupported_arguments(
            type(self).__name__, kwargs, self.unsupported_arguments
        )

    @property
    def kernel(self):
        if not self.built:
            raise AttributeError(
                f"Layer '{self.name}' must be built before reading `kernel`."
            )
        return ops.cast(self.effective_kernel(), self.compute_dtype)

    def effective_kernel(self):
        """The kernel the layer applies, in the variables' dtype."""
        raise NotImplementedError

    def _check_bakeable(self):
        """Raises a ValueError naming the layer where no plain layer computes
        exactly what it computes; LCW layers always bake."""

    def effective_bias(self):
        """The bias the layer applies, in the variables' dtype; None without
        bias."""
        return self.bias

    def _add_bias(self, units):
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(units,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
                dtype=self.dtype,
            )
        else:
            self.bias = None

    def save_own_variables(self, store):
        keras.layers.Layer.save_own_variables(self, store)

    def load_own_variables(self, store):
        keras.layers.Layer.load_own_variables(self, store)

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

    def plain_config(self):
        """The config of the equivalent plain Keras layer."""
        return self.get_config()

    def bake(self):
        """Returns `(plain_layer, weights)`: an unbuilt plain Keras layer and
        the weights (NumPy arrays, in `set_weights` order) that make it compute
        exactly what this layer computes."""
        if not self.built:
            raise ValueError(
                f"Layer '{self.name}' must be built before it can be baked."
            )
        self._check_bakeable()
        weights = [ops.convert_to_numpy(self.effective_kernel())]
        if self.use_bias:
            weights.append(ops.convert_to_numpy(self.effective_bias()))
        return self.plain_class.from_config(self.plain_config()), weights

    @classmethod
    def weights_from_plain(cls, weights):
        """Maps a plain layer's weights (`[kernel, bias]` or `[kernel]`) to
        this class's weights, in `set_weights` order."""
        raise NotImplementedError

    @classmethod
    def from_plain(cls, layer):
        """Returns `(layer, weights)`: an unbuilt layer of this class with the
        plain layer's arguments and the weights that carry its kernel over by
        the class's map; the inverse of `bake()` where the map is exact.

        keras_lcw objects that only shape training (`LCWConstraint`,
        `LCWInitializer`) are dropped from the plain config. A plain layer with
        an argument this class refuses (a kernel constraint, LoRA) raises.
        """
        cloning.check_convertible(
            layer, cls.plain_class, f"{cls.__name__}.from_plain()"
        )
        config = cloning.plain_config(layer)
        for argument, reason in cls.unsupported_arguments.items():
            if config.get(argument):
                raise ValueError(
                    f"Layer '{layer.name}' has {argument}="
                    f"{config[argument]!r}, which {cls.__name__} cannot keep: "
                    f"{reason}. Leave the layer out of the conversion."
                )
        return cls.from_config(config), cls.weights_from_plain(
            layer.get_weights()
        )
