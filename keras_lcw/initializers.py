"""Initializers of keras_lcw."""

import functools

import keras

from keras_lcw.numerics import derivatives
from keras_lcw.constraints import LCWConstraint
from keras_lcw.numerics import gaussian


def activation_gain(activation):
    """The fan-in variance scale that keeps a zero-sum layer's signal at depth.

    With zero-sum weights the preactivation of the next layer has no offset,
    and its variance is multiplied per layer by about
    `fan_in * Var(w) * E[f'(z)^2]` for z ~ N(0, 1). The gain

        gain = 1 / E[f'(z)^2]

    (quadrature over the activation's derivative, `keras_lcw.numerics.gaussian`,
    exact for Keras's built-in activations) makes that
    factor 1: 1 for a linear layer, 2 for ReLU (He initialization), 2.15 for
    tanh and 22.3 for sigmoid. A plain Dense layer with the same scale does
    not train deep sigmoid stacks, because its offsets `sum(w) * mu` grow with
    it; LCW removes them.

    Args:
        activation: None, a `keras.activations` name or an elementwise
            callable.

    Returns:
        The gain as a Python float.
    """
    activation = keras.activations.get(activation)
    try:
        return _cached_gain(activation)
    except TypeError:  # An unhashable callable.
        return _gain(activation)


def _gain(activation):
    if activation is keras.activations.linear:
        return 1.0
    derivative_moment = gaussian.derivative_second_moment(
        activation, derivatives.exact_derivative(activation)
    )
    if not derivative_moment > 0.0:
        raise ValueError(
            f"The activation {activation!r} has E[f'(z)^2] = "
            f"{derivative_moment} under a standard normal input, so no "
            "variance scale keeps the signal; pass a `kernel_initializer`."
        )
    return 1.0 / derivative_moment


# Layers ask for the gain of their activation on every build; the
# quadrature behind it is computed once per activation.
_cached_gain = functools.lru_cache(maxsize=None)(_gain)


def scaled_initializer(activation, seed=None):
    """VarianceScaling(fan_in, truncated normal) with `activation_gain(activation)`."""
    return keras.initializers.VarianceScaling(
        scale=activation_gain(activation),
        mode="fan_in",
        distribution="truncated_normal",
        seed=seed,
    )


@keras.saving.register_keras_serializable(package="keras_lcw")
class LCWInitializer(keras.initializers.Initializer):
    """Draws a kernel with a base initializer and projects it to zero sum.

    Keras applies constraints only after optimizer steps, so a layer with
    `kernel_constraint=LCWConstraint()` starts unconstrained. This initializer
    applies the same projection to the drawn kernel, so the constraint holds
    from step 0.

    Args:
        base_initializer: the initializer to draw from (name, config or
            object). Defaults to "glorot_uniform".
        axis: the fan-in axes, as for `keras_lcw.LCWConstraint`.

    Example:

    >>> layer = keras.layers.Conv2D(
    ...     32, 3, kernel_constraint=keras_lcw.LCWConstraint(),
    ...     kernel_initializer=keras_lcw.initializers.LCWInitializer("he_normal"))
    """

    def __init__(self, base_initializer="glorot_uniform", axis=None):
        self.base_initializer = keras.initializers.get(base_initializer)
        self._projection = LCWConstraint(axis=axis)
        self.axis = self._projection.axis

    def __call__(self, shape, dtype=None):
        return self._projection(self.base_initializer(shape, dtype=dtype))

    @classmethod
    def plain_replacement(cls, config):
        """The base initializer: in a plain layer whose kernel is already
        drawn, the projection changes nothing (`keras_lcw.bake`)."""
        return config["base_initializer"]

    def get_config(self):
        return {
            "base_initializer": keras.initializers.serialize(
                self.base_initializer
            ),
            "axis": self._projection.get_config()["axis"],
        }
