"""Linked activations: every preactivation feeds g(x) and g(-x)."""

import keras
from keras import ops

from keras_lcw import validation
from keras_lcw.numerics import derivatives


class _LinkedBase(keras.layers.Layer):
    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = validation.axis("axis", axis)
        self.supports_masking = True

    def _check_axis(self, input_shape):
        (axis,) = validation.input_axes(
            self, "axis", self.axis, input_shape, known_sizes=False
        )
        return axis

    def build(self, input_shape):
        self._check_axis(input_shape)
        self.built = True

    def _halves(self, inputs):
        raise NotImplementedError

    def call(self, inputs):
        validation.real_inputs(self, inputs)
        # Integer and bool inputs too: the activations take floats only.
        inputs = ops.cast(inputs, self.compute_dtype)
        return ops.concatenate(self._halves(inputs), axis=self.axis)

    def compute_output_shape(self, input_shape):
        axis = self._check_axis(input_shape)
        shape = list(input_shape)
        if shape[axis] is not None:
            shape[axis] *= 2
        return tuple(shape)

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        axis = self.axis % len(inputs.shape)
        if axis < len(mask.shape):
            return ops.concatenate([mask, mask], axis=axis)
        return mask

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


@keras.saving.register_keras_serializable(package="keras_lcw")
class Linked(_LinkedBase):
    """Linked activation: `[g(x), g(-x)]` for an elementwise g.

    The output concatenates `g(x)` and `g(-x)` along `axis` (all positive
    halves first, then all negative halves, as `tf.nn.crelu` does), so that
    axis doubles: the next layer sees twice the channels, and its kernel has
    twice the fan-in (a Dense layer of `units` after `n` linked channels has
    `2 n units` weights instead of `n units`). For channels_first data use
    `axis=1`.

    For any g that is zero on one side of 0 (ReLU) at least one of the two
    linked units has a non-zero gradient at every input, so no unit can die
    and deep networks train without normalization.

    `LinkedReLU`, `LinkedSELU`, `LinkedSwish` and `LinkedGELU` are this
    layer with a fixed g; `LinkedPReLU` has trainable slopes.

    Args:
        activation: an elementwise `keras.activations` name or function, or
            a registered elementwise callable. Defaults to "relu".
        axis: the channel axis to concatenate on, an integer. Defaults to
            -1.
        **kwargs: arguments of `keras.layers.Layer`.

    Call arguments:
        inputs: a tensor of rank 2 or more.
        mask: passed on; a mask that covers `axis` is concatenated with
            itself.

    Input shape:
        Arbitrary.

    Output shape:
        The input's shape with the size of `axis` doubled.

    Reference:
        C. Riera, O. Pujol, "Solving internal covariate shift in deep
        learning with linked neurons", arXiv:1712.02609.

    Example:

    >>> model = keras.Sequential([keras.Input((64,))])
    >>> for _ in range(50):
    ...     model.add(keras.layers.Dense(8))
    ...     model.add(keras_lcw.Linked("selu"))
    """

    def __init__(self, activation="relu", axis=-1, **kwargs):
        super().__init__(axis=axis, **kwargs)
        self.activation = derivatives.get_elementwise(activation)

    def _halves(self, inputs):
        return [self.activation(inputs), self.activation(-inputs)]

    def get_config(self):
        config = super().get_config()
        config["activation"] = keras.activations.serialize(self.activation)
        return config


class _LinkedNamed(Linked):
    """A Linked layer with a fixed activation, `_ACTIVATION`.

    Its config has no "activation" key: the class name says it.
    """

    _ACTIVATION = None

    def __init__(self, axis=-1, **kwargs):
        super().__init__(activation=self._ACTIVATION, axis=axis, **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["activation"]
        return config


@keras.saving.register_keras_serializable(package="keras_lcw")
class LinkedReLU(_LinkedNamed):
    """Linked ReLU: `[relu(x), relu(-x)]` (CReLU).

    Equal to `keras_lcw.Linked("relu", axis)` and, for `axis=-1`, to
    `tf.nn.crelu`.

    Args:
        axis: the channel axis to concatenate on, an integer. Defaults to
            -1.
        **kwargs: arguments of `keras.layers.Layer`.

    Input shape:
        Arbitrary.

    Output shape:
        The input's shape with the size of `axis` doubled (positive halves
        first).

    Reference:
        C. Riera, O. Pujol, "Solving internal covariate shift in deep
        learning with linked neurons", arXiv:1712.02609.

    Example:

    >>> model = keras.Sequential([keras.Input((64,))])
    >>> for _ in range(50):
    ...     model.add(keras.layers.Dense(8))
    ...     model.add(keras_lcw.LinkedReLU())
    """

    _ACTIVATION = "relu"


@keras.saving.register_keras_serializable(package="keras_lcw")
class LinkedSELU(_LinkedNamed):
    """Linked SELU: `[selu(x), selu(-x)]`.

    Equal to `keras_lcw.Linked("selu", axis)`.

    Args:
        axis: the channel axis to concatenate on, an integer. Defaults to
            -1.
        **kwargs: arguments of `keras.layers.Layer`.

    Input shape:
        Arbitrary.

    Output shape:
        The input's shape with the size of `axis` doubled (positive halves
        first).

    Reference:
        C. Riera, O. Pujol, "Solving internal covariate shift in deep
        learning with linked neurons", arXiv:1712.02609.

    Example:

    >>> model = keras.Sequential([keras.Input((64,))])
    >>> for _ in range(50):
    ...     model.add(keras.layers.Dense(8, kernel_initializer="lecun_normal"))
    ...     model.add(keras_lcw.LinkedSELU())
    """

    _ACTIVATION = "selu"


@keras.saving.register_keras_serializable(package="keras_lcw")
class LinkedSwish(_LinkedNamed):
    """Linked Swish: `[silu(x), silu(-x)]`, with `silu(x) = x sigmoid(x)`.

    Equal to `keras_lcw.Linked("silu", axis)`.

    Args:
        axis: the channel axis to concatenate on, an integer. Defaults to
            -1.
        **kwargs: arguments of `keras.layers.Layer`.

    Input shape:
        Arbitrary.

    Output shape:
        The input's shape with the size of `axis` doubled (positive halves
        first).

    Reference:
        C. Riera, O. Pujol, "Solving internal covariate shift in deep
        learning with linked neurons", arXiv:1712.02609.

    Example:

    >>> x = keras.Input((32, 32, 3))
    >>> h = keras.layers.Conv2D(16, 3)(x)
    >>> h = keras_lcw.LinkedSwish()(h)  # 32 channels
    """

    _ACTIVATION = "silu"


@keras.saving.register_keras_serializable(package="keras_lcw")
class LinkedGELU(_LinkedNamed):
    """Linked GELU: `[gelu(x), gelu(-x)]` (the exact, erf form of GELU).

    Equal to `keras_lcw.Linked("gelu", axis)`.

    Args:
        axis: the channel axis to concatenate on, an integer. Defaults to
            -1.
        **kwargs: arguments of `keras.layers.Layer`.

    Input shape:
        Arbitrary.

    Output shape:
        The input's shape with the size of `axis` doubled (positive halves
        first).

    Reference:
        C. Riera, O. Pujol, "Solving internal covariate shift in deep
        learning with linked neurons", arXiv:1712.02609.

    Example:

    >>> x = keras.Input((16, 8))
    >>> h = keras.layers.Dense(32)(x)
    >>> h = keras_lcw.LinkedGELU()(h)  # 64 features
    """

    _ACTIVATION = "gelu"


@keras.saving.register_keras_serializable(package="keras_lcw")
class LinkedPReLU(_LinkedBase):
    """Linked PReLU: `[prelu_a(x), prelu_b(-x)]` with two trainable slope
    sets, `positive_alpha` (a) and `negative_alpha` (b).

    `prelu_a(t) = max(t, 0) + a * min(t, 0)`, with one slope per entry of
    the input (but the batch axis) as in `keras.layers.PReLU`, shared along
    `shared_axes`. With the default zero slopes it starts as LinkedReLU;
    both slope sets are trained and saved.

    Args:
        axis: the channel axis to concatenate on, an integer. Defaults to
            -1.
        alpha_initializer: initializer of both slope sets. Defaults to
            "zeros".
        alpha_regularizer: optional regularizer of both slope sets.
        alpha_constraint: optional constraint of both slope sets.
        shared_axes: None, an integer or a list of distinct integers: the
            non-batch axes along which the slopes are shared, as in
            `keras.layers.PReLU` (e.g. `[1, 2]` for one slope per channel of
            a channels_last image).
        **kwargs: arguments of `keras.layers.Layer`.

    Call arguments:
        inputs: a tensor of rank 2 or more.
        mask: passed on; a mask that covers `axis` is concatenated with
            itself.

    Input shape:
        Arbitrary, with known sizes along the axes that are not shared.

    Output shape:
        The input's shape with the size of `axis` doubled.

    Reference:
        C. Riera, O. Pujol, "Solving internal covariate shift in deep
        learning with linked neurons", arXiv:1712.02609.

    Example:

    >>> x = keras.Input((32, 32, 3))
    >>> h = keras.layers.Conv2D(16, 3)(x)
    >>> h = keras_lcw.LinkedPReLU(shared_axes=[1, 2])(h)  # 32 channels
    """

    def __init__(
        self,
        axis=-1,
        alpha_initializer="zeros",
        alpha_regularizer=None,
        alpha_constraint=None,
        shared_axes=None,
        **kwargs,
    ):
        super().__init__(axis=axis, **kwargs)
        self.alpha_initializer = keras.initializers.get(alpha_initializer)
        self.alpha_regularizer = keras.regularizers.get(alpha_regularizer)
        self.alpha_constraint = keras.constraints.get(alpha_constraint)
        self.shared_axes = validation.axes("shared_axes", shared_axes)

    def build(self, input_shape):
        self._check_axis(input_shape)
        shape = list(input_shape[1:])
        shared = []
        if self.shared_axes is not None:
            shared = validation.input_axes(
                self,
                "shared_axes",
                self.shared_axes,
                input_shape,
                known_sizes=False,
            )
            for a in shared:
                shape[a - 1] = 1
        if None in shape:
            raise ValueError(
                f"LinkedPReLU '{self.name}' needs known sizes on the axes "
                f"that are not shared; received input_shape={input_shape} "
                f"with shared_axes={self.shared_axes}."
            )
        # Later inputs must fit the weights: Keras checks the spec.
        self.input_spec = keras.layers.InputSpec(
            ndim=len(input_shape),
            axes={
                a: input_shape[a]
                for a in range(1, len(input_shape))
                if a not in shared
            },
        )
        self.positive_alpha, self.negative_alpha = (
            self.add_weight(
                name=name,
                shape=tuple(shape),
                initializer=self.alpha_initializer,
                regularizer=self.alpha_regularizer,
                constraint=self.alpha_constraint,
            )
            for name in ("positive_alpha", "negative_alpha")
        )
        self.built = True

    def _halves(self, inputs):
        def prelu(t, alpha):
            return ops.relu(t) - alpha * ops.relu(-t)

        return [
            prelu(inputs, self.positive_alpha),
            prelu(-inputs, self.negative_alpha),
        ]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "alpha_initializer": keras.initializers.serialize(
                    self.alpha_initializer
                ),
                "alpha_regularizer": keras.regularizers.serialize(
                    self.alpha_regularizer
                ),
                "alpha_constraint": keras.constraints.serialize(
                    self.alpha_constraint
                ),
                "shared_axes": self.shared_axes,
            }
        )
        return config
