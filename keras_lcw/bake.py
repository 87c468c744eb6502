"""bake(): turn reparameterized layers into plain Keras layers."""

import keras

from keras_lcw import cloning


def _is_bakeable(layer):
    return callable(getattr(layer, "bake", None)) and not isinstance(
        layer, keras.Model
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
    plain Keras layer and the weights (in `set_weights` order) that make it
    compute exactly what the layer computes; a layer that cannot be folded
    exactly raises a ValueError from `bake()` naming itself.

    Args:
        model: a built Sequential or Functional model. Nested Sequential and
            Functional models are baked recursively.

    Returns:
        A new model; the original is left unchanged.

    Example:

    >>> plain = keras_lcw.bake(model)
    >>> plain.save("deploy.keras")  # loads without keras_lcw
    """
    cloning.check_model(model, "bake")

    def replace(layer):
        if _is_bakeable(layer):
            return layer.bake()
        return cloning.copy_layer(layer, cloning.plain_config(layer))

    return cloning.rebuild(model, replace)
