"""bake(): turn reparameterized layers into plain Keras layers."""

import keras

from keras_lcw import cloning
from keras_lcw import plain


def _bakes(layer):
    """Whether `layer` turns itself into a plain Keras layer (`bake()`)."""
    return callable(getattr(layer, "bake", None)) and not isinstance(
        layer, keras.Model
    )


def _check_no_hidden_layers(layer):
    """Raises if a layer that bake() copies whole holds keras_lcw layers."""
    hidden = cloning.hidden_layers([layer], _bakes)
    if hidden:
        raise ValueError(
            f"bake() cannot reach the keras_lcw layers {hidden} inside "
            f"'{layer.name}' ({type(layer).__name__}): it rewrites Sequential "
            "and Functional models only, and copies other layers whole. "
            "Rebuild that part as a Functional model, or bake its layers one "
            "by one with layer.bake()."
        )


def bake(model):
    """Returns an equivalent model built of plain Keras layers only.

    Every keras_lcw layer that computes its weights (LCWDense, LCWConv2D, ...)
    is replaced by its Keras parent carrying the effective weights, and every
    other layer is cloned with its weights. `LCWConstraint` and
    `LCWInitializer` in a plain layer's config are dropped (the initializer
    is replaced by its base): they shape training only, and the weights
    already satisfy them. The result computes the same
    outputs, and saves and loads in a program that never imports keras_lcw:
    use it for deployment, quantization, LoRA or export.

    A layer takes part by implementing `bake()`, which returns an unbuilt
    plain Keras layer and its weights by name that make it compute exactly
    what the layer computes: every reparameterized layer through its
    parameterization's forward map (`keras_lcw.parameterizations`), and
    `InputMeanNormalization` as a `keras.layers.Normalization`. A layer that
    cannot be folded exactly raises a ValueError naming itself. A subclassed
    model or layer inside the model that holds keras_lcw layers raises too:
    bake() cannot rewrite it.

    Args:
        model: a built Sequential or Functional model. Nested Sequential and
            Functional models are baked recursively.

    Returns:
        A new model; the original is left unchanged.

    Example:

    >>> model = keras.Sequential([
    ...     keras.Input((16,)),
    ...     keras_lcw.LCWDense(32, activation="sigmoid"),
    ...     keras_lcw.GmPDense(32),
    ...     keras.layers.Dense(10)])
    >>> plain = keras_lcw.bake(model)
    >>> [type(layer).__name__ for layer in plain.layers]
    ['Dense', 'Dense', 'Dense']
    >>> plain.save("deploy.keras")  # loads without keras_lcw
    """
    cloning.check_model(model, "bake")

    def replace(layer):
        if _bakes(layer):
            return layer.bake()
        _check_no_hidden_layers(layer)
        return cloning.copy_layer(layer, plain.plain_config(layer))

    return cloning.rebuild(model, replace)
