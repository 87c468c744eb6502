"""Weight-normalized layers: Dense and convolutions with w = g v / |v|, and
their centered variant with zero-sum kernels.

The math is `keras_lcw.parameterizations.weight_norm`; these classes declare
the layers, their arguments and the data-dependent initialization.
"""

import keras
from keras import ops

from keras_lcw import parameterizations
from keras_lcw import validation
from keras_lcw.layers import reparameterized
from keras_lcw.numerics import statistics
from keras_lcw.parameterizations import weight_norm


class _DataInit:
    """The `data_init` argument: sets g and the bias from the first training
    batch (`keras_lcw.parameterizations.weight_norm`)."""

    def _set_data_init(self, data_init):
        data_init = validation.boolean("data_init", data_init)
        self.data_init = data_init
        if data_init:
            if self.use_bias and self.bias_constraint is not None:
                raise ValueError(
                    f"{type(self).__name__} does not accept `bias_constraint` "
                    "with data_init=True: the data-dependent initialization "
                    "adds a stored offset to the bias, which the constraint "
                    "would not see."
                )
            object.__setattr__(
                self,
                "_parameterization",
                type(self._parameterization)(data_init=True),
            )

    def _output(self, preactivation, training=None):
        values = self._parameter_variables
        if self.data_init and training and self.trainable:
            rank = len(preactivation.shape)
            channel_axis = (
                1 if getattr(self, "data_format", None) == "channels_first" else rank - 1
            )
            axes = [axis for axis in range(rank) if axis != channel_axis]
            mean, variance = statistics.moments(
                ops.cast(preactivation, self.variable_dtype), axes
            )
            updates = self.parameterization.data_initialized_values(
                values, mean, variance
            )
            for name, value in updates.items():
                values[name].assign(value)
            values = {**values, **updates}
        return self._parameterized_output(preactivation, values)

    def get_config(self):
        config = super().get_config()
        config["data_init"] = self.data_init
        return config

    def plain_config(self):
        config = super().plain_config()
        config.pop("data_init", None)
        return config


_DOC = """{summary}

    {math}

    Both the direction and g are trainable: the gradient of the direction is
    orthogonal to it and scaled by `g / |direction|`, which decouples the
    length of each weight vector from its direction and conditions the
    optimization better (Salimans and Kingma; Huang et al.{centered_note}).
    `v / |v|` is computed as `v * rsqrt(sum(v^2))` with the sum replaced by
    1 where it is 0, so that a zero direction gives a zero kernel and finite
    gradients.

    Variables: `{direction}` {direction_shape}, `kernel_norm` g ({units},)
    and `bias` ({units},) when `use_bias`. With `data_init=True`, also the
    non-trainable `kernel_norm_offset` ({units},), `bias_offset` ({units},)
    when `use_bias`, and `data_initialized` (a scalar flag).

    The initializers draw a kernel w and a bias b, mapped to {inverse}: the
    layer starts as the plain layer with that kernel{start_note}.

    Data-dependent initialization (`data_init=True`, the paper's): in the
    first call with `training=True` (the first batch of `fit()`), g and the
    bias are set from the batch so that every unit's preactivation
    `g t / |direction| + b`, with `t = x . direction`, has zero mean and unit
    variance over the batch (the batch and, for a convolution, the spatial
    positions); that call's output already uses them. The values are kept
    as the non-trainable offsets of g and the bias (so the effective g is
    `kernel_norm + kernel_norm_offset`), set once and then fixed, and the
    flag `data_initialized` is set to 1: they are saved with the model, so a
    model that is loaded (from `.keras` or `.weights.h5`) after training
    never redoes it, while one saved before its first training batch does
    it on that batch. It is computed inside the compiled train step (no
    Python branching on values): the statistics are computed on every
    training call, and the flag selects whether they are used. No gradient
    flows through them. Under data-parallel training: on JAX
    (`keras.distribution`) one program runs over the global batch, so the
    statistics are the global batch's; under `tf.distribute` each replica
    uses the statistics of its own slice of the batch in that first step,
    and the stored offsets are the mean of the replicas' values. On PyTorch
    Keras trains on one device. Without a bias only g is set.
    `keras_lcw.bake` folds the offsets into the plain layer's kernel and
    bias; `keras_lcw.convert` gives layers without data initialization
    (their weights are already trained).

    `layer.kernel` and `layer.bias` are the effective kernel and bias (in
    the compute dtype); `effective_kernel()` and `effective_bias()` give
    them in the variables' dtype. `keras_lcw.bake(model)` turns the layer
    into a plain `{parent}` with them, exactly (to float rounding).

    Args:
        {size_args}
        activation: the activation, as for `keras.layers.{parent}`.
        use_bias: whether the layer has a bias.
        kernel_initializer: draws the kernel that is mapped to the
            direction and g. {initializer_note}
        data_init: whether g and the bias are set from the first training
            batch (see above). `bias_constraint` is refused with it.
        **kwargs: the other arguments of `keras.layers.{parent}`.
            `kernel_regularizer` applies to the effective kernel and
            `bias_regularizer` and `bias_constraint` to the bias;
            `kernel_constraint`, `lora_rank` and `lora_alpha` are refused,
            and so are `enable_lora()` and `quantize()`: bake the model
            first.

    Input shape:
        As for `keras.layers.{parent}`.

    Output shape:
        As for `keras.layers.{parent}`.

    Call arguments:
        inputs: the input tensor.
        training: with `data_init=True`, the first call with `training=True`
            sets g and the bias from the batch.

    Reference:
        {reference}

    Example:

    >>> model = keras.Sequential([
    ...     keras.Input({example_input}),
    ...     keras_lcw.{name}({example_args}),
    ... ])
    >>> y = model({example_call})
"""

_WEIGHT_NORM = dict(
    math="""Weight normalization: each output unit's weight vector is

        w = g v / |v|,

    with v (`kernel_direction`, in the kernel's shape) and the scalar g
    (`kernel_norm`), so |w| = |g| whatever v is (T. Salimans and D. P.
    Kingma, "Weight Normalization: A Simple Reparameterization to Accelerate
    Training of Deep Neural Networks", NeurIPS 2016, arXiv:1602.07868).""",
    direction="kernel_direction",
    reference="T. Salimans and D. P. Kingma, \"Weight Normalization: A Simple\n"
    "        Reparameterization to Accelerate Training of Deep Neural\n"
    "        Networks\", NeurIPS 2016, arXiv:1602.07868.",
    centered_note="",
    inverse="v = w and g = |w| (a zero unit gets a unit direction and g = 0)",
    start_note="",
    initializer_note="Defaults to glorot_uniform, Keras's default.",
)

_CENTERED = dict(
    math="""Centered weight normalization: each output unit's weight vector is

        w = g B c / |c|,

    with c (`kernel_coordinates`) the coordinates of the direction in the
    orthonormal basis B of the zero-sum subspace that the LCW layers use
    (`keras_lcw.numerics.zero_sum`, applied in O(fan_in)), so w sums to zero
    and |w| = |g| by construction (L. Huang, X. Liu, Y. Liu, B. Lang and D.
    Tao, "Centered Weight Normalization in Accelerating Training of Deep
    Neural Networks", ICCV 2017). The fan-in must be at least 2.""",
    direction="kernel_coordinates",
    reference="L. Huang, X. Liu, Y. Liu, B. Lang and D. Tao, \"Centered Weight\n"
    "        Normalization in Accelerating Training of Deep Neural Networks\",\n"
    "        ICCV 2017.",
    centered_note="; a zero-sum unit also has no preactivation offset when "
    "its inputs share a mean, as with LCW",
    inverse="the coordinates c = B^T w of its zero-sum projection "
    "w - mean(w) and g = |c| (a zero projection gets a unit direction and "
    "g = 0)",
    start_note=" projected onto the zero-sum set",
    initializer_note="Defaults to None: fan-in variance scaling with the "
    "activation's gain, as for the LCW layers "
    "(`keras_lcw.initializers.activation_gain`).",
)


def _dense_doc(name, summary, kind):
    return _DOC.format(
        summary=summary,
        direction_shape="(input_dim, units)"
        if kind is _WEIGHT_NORM
        else "(input_dim - 1, units)",
        units="units",
        parent="Dense",
        size_args="units: the number of output units.",
        name=name,
        example_input="(8,)",
        example_args='16, activation="relu", data_init=True',
        example_call="np.ones((4, 8))",
        **kind,
    )


def _conv_doc(name, summary, rank, kind):
    spatial = ("k",) if rank == 1 else tuple(f"k{i}" for i in range(rank))
    kernel = ", ".join(spatial) + ", in_channels / groups"
    fan_in = " * ".join(spatial) + " * in_channels / groups"
    return _DOC.format(
        summary=summary,
        direction_shape=f"({kernel}, filters)"
        if kind is _WEIGHT_NORM
        else f"({fan_in} - 1, filters)",
        units="filters",
        parent=f"Conv{rank}D",
        size_args="filters, kernel_size: as for the Keras convolution.",
        name=name,
        example_input=str((8,) * rank + (3,)),
        example_args='4, 3, padding="same"',
        example_call=f"np.ones((2,{' 8,' * rank} 3))",
        **kind,
    )


class _WeightNormDense(_DataInit, reparameterized.ReparameterizedDense):
    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer=None,
        data_init=False,
        **kwargs,
    ):
        super().__init__(
            units,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            **kwargs,
        )
        self._set_data_init(data_init)


class _WeightNormConv(_DataInit, reparameterized.ReparameterizedConv):
    def __init__(
        self,
        filters,
        kernel_size,
        *args,
        kernel_initializer=None,
        data_init=False,
        **kwargs,
    ):
        super().__init__(
            filters,
            kernel_size,
            *args,
            kernel_initializer=kernel_initializer,
            **kwargs,
        )
        self._set_data_init(data_init)


@keras.saving.register_keras_serializable(package="keras_lcw")
class WeightNormDense(_WeightNormDense):
    __doc__ = _dense_doc(
        "WeightNormDense", "A weight-normalized Dense layer.", _WEIGHT_NORM
    )
    parameterization_name = weight_norm.WeightNorm.name

    def __init__(self, units, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(units, kernel_initializer=kernel_initializer, **kwargs)


@keras.saving.register_keras_serializable(package="keras_lcw")
class CenteredWeightNormDense(_WeightNormDense):
    __doc__ = _dense_doc(
        "CenteredWeightNormDense",
        "A Dense layer with centered weight normalization.",
        _CENTERED,
    )
    parameterization_name = weight_norm.CenteredWeightNorm.name


class _WeightNormConvND(_WeightNormConv):
    parameterization_name = weight_norm.WeightNorm.name

    def __init__(
        self, filters, kernel_size, *args, kernel_initializer="glorot_uniform", **kwargs
    ):
        super().__init__(
            filters, kernel_size, *args, kernel_initializer=kernel_initializer, **kwargs
        )


class _CenteredWeightNormConvND(_WeightNormConv):
    parameterization_name = weight_norm.CenteredWeightNorm.name


def _weight_norm_conv_doc(rank):
    return _conv_doc(
        f"WeightNormConv{rank}D",
        f"A weight-normalized {rank}-D convolution.",
        rank,
        _WEIGHT_NORM,
    )


def _centered_conv_doc(rank):
    return _conv_doc(
        f"CenteredWeightNormConv{rank}D",
        f"A {rank}-D convolution with centered weight normalization.",
        rank,
        _CENTERED,
    )


@keras.saving.register_keras_serializable(package="keras_lcw")
class WeightNormConv1D(_WeightNormConvND, keras.layers.Conv1D):
    __doc__ = _weight_norm_conv_doc(1)
    _plain_class = keras.layers.Conv1D


@keras.saving.register_keras_serializable(package="keras_lcw")
class WeightNormConv2D(_WeightNormConvND, keras.layers.Conv2D):
    __doc__ = _weight_norm_conv_doc(2)
    _plain_class = keras.layers.Conv2D


@keras.saving.register_keras_serializable(package="keras_lcw")
class WeightNormConv3D(_WeightNormConvND, keras.layers.Conv3D):
    __doc__ = _weight_norm_conv_doc(3)
    _plain_class = keras.layers.Conv3D


@keras.saving.register_keras_serializable(package="keras_lcw")
class CenteredWeightNormConv1D(_CenteredWeightNormConvND, keras.layers.Conv1D):
    __doc__ = _centered_conv_doc(1)
    _plain_class = keras.layers.Conv1D


@keras.saving.register_keras_serializable(package="keras_lcw")
class CenteredWeightNormConv2D(_CenteredWeightNormConvND, keras.layers.Conv2D):
    __doc__ = _centered_conv_doc(2)
    _plain_class = keras.layers.Conv2D


@keras.saving.register_keras_serializable(package="keras_lcw")
class CenteredWeightNormConv3D(_CenteredWeightNormConvND, keras.layers.Conv3D):
    __doc__ = _centered_conv_doc(3)
    _plain_class = keras.layers.Conv3D


_BY_PLAIN_CLASS = {
    keras.layers.Dense: WeightNormDense,
    keras.layers.Conv1D: WeightNormConv1D,
    keras.layers.Conv2D: WeightNormConv2D,
    keras.layers.Conv3D: WeightNormConv3D,
}


def WeightNormalization(layer, data_init=False):
    """Returns the weight-normalized counterpart of an unbuilt Dense or
    ConvND layer: the migration path from tensorflow-addons.

    `tfa.layers.WeightNormalization` does not work with Keras 3. Where a
    model had

        tfa.layers.WeightNormalization(keras.layers.Conv2D(32, 3), data_init=True)

    write

        keras_lcw.WeightNormalization(keras.layers.Conv2D(32, 3), data_init=True)

    and get a `keras_lcw.WeightNormConv2D` with the Conv2D's arguments (its
    name included): w = g v / |v| per output unit, optionally with the
    data-dependent initialization (see `keras_lcw.WeightNormDense`). It is a
    function, not a wrapper layer; what differs from tensorflow-addons:

    - The result is the layer itself (`WeightNormDense`,
      `WeightNormConv1D/2D/3D`), saved under that name; there is no
      `.layer` attribute. Its variables are `kernel_direction` (v),
      `kernel_norm` (g) and `bias` rather than the wrapper's `v` and `g`
      beside the inner layer's kernel and bias, so weights saved by
      tensorflow-addons (a Keras 2 format) do not load into it.
    - `data_init` defaults to False (tensorflow-addons: True); pass
      `data_init=True` to keep that behaviour. The initialization runs
      inside the compiled train step, on every backend.
    - Only `keras.layers.Dense`, `Conv1D`, `Conv2D` and `Conv3D` (exactly
      those classes, unbuilt) are taken. A layer with a `kernel_constraint`
      or LoRA is refused, as the weight-normalized layers refuse them.
    - To carry a trained model's weights over (v = w, g = |w|), use
      `keras_lcw.convert(model, to="weight_norm")` instead; `keras_lcw.bake`
      turns the layers back into plain ones.

    Args:
        layer: an unbuilt `keras.layers.Dense`, `Conv1D`, `Conv2D` or
            `Conv3D`.
        data_init: whether g and the bias are set from the first training
            batch.

    Returns:
        An unbuilt `WeightNormDense` or `WeightNormConv{1,2,3}D`.

    Example:

    >>> model = keras.Sequential([
    ...     keras.Input((8, 8, 3)),
    ...     keras_lcw.WeightNormalization(
    ...         keras.layers.Conv2D(4, 3, activation="relu"), data_init=True),
    ...     keras.layers.Flatten(),
    ...     keras_lcw.WeightNormalization(keras.layers.Dense(2)),
    ... ])
    """
    cls = _BY_PLAIN_CLASS.get(type(layer))
    if cls is None:
        raise TypeError(
            "keras_lcw.WeightNormalization takes a keras.layers.Dense, "
            "Conv1D, Conv2D or Conv3D; received "
            f"{type(layer).__name__} '{getattr(layer, 'name', layer)}'."
        )
    if layer.built:
        raise ValueError(
            f"keras_lcw.WeightNormalization takes an unbuilt layer; layer "
            f"'{layer.name}' is built. To carry a trained layer's weights "
            "over, convert the model: keras_lcw.convert(model, "
            'to="weight_norm").'
        )
    refused = parameterizations.get(cls.parameterization_name).refused_arguments
    for argument, reason in refused.items():
        value = getattr(layer, argument, None)
        if value is not None:
            shown = value if isinstance(value, (int, float, str)) else type(value).__name__
            raise ValueError(
                f"keras_lcw.WeightNormalization cannot take layer "
                f"'{layer.name}' with {argument}={shown!r}: {reason}. Remove "
                "it from the layer, or weight-normalize after training: "
                'keras_lcw.convert(model, to="weight_norm").'
            )
    config = keras.saving.serialize_keras_object(layer)["config"]
    return cls(**config, data_init=data_init)
