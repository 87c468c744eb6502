"""bake(): turn reparameterized layers into plain Keras layers."""

import keras

# Keras has no public name for the class of models that
# keras.Model(inputs, outputs) returns.
from keras.src.models.functional import Functional


# keras_lcw objects that only shape training, and what stands in their place
# in a plain layer's config: the kernel already holds their effect.
_TRAINING_ONLY = {
    "LCWConstraint": lambda config: None,
    "LCWInitializer": lambda config: config["config"]["base_initializer"],
}


def _without_training_only_objects(config):
    if isinstance(config, dict):
        if (
            str(config.get("module", "")).startswith("keras_lcw")
            and config.get("class_name") in _TRAINING_ONLY
        ):
            replaced = _TRAINING_ONLY[config["class_name"]](config)
            return _without_training_only_objects(replaced)
        return {k: _without_training_only_objects(v) for k, v in config.items()}
    if isinstance(config, list):
        return [_without_training_only_objects(v) for v in config]
    return config


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
    if not isinstance(model, keras.Model):
        raise TypeError(
            "bake() takes a keras.Model; received an object of type "
            f"{type(model).__name__}."
        )
    if not isinstance(model, (keras.Sequential, Functional)):
        raise ValueError(
            f"bake() supports Sequential and Functional models; received the "
            f"subclassed model '{model.name}' of type {type(model).__name__}. "
            "Rebuild it as a Functional model, or bake its layers one by one "
            "with layer.bake()."
        )
    if not model.built:
        raise ValueError(
            f"Model '{model.name}' must be built before it can be baked."
        )
    pending = []

    def clone_layer(layer):
        if _is_bakeable(layer):
            clone, weights = layer.bake()
        else:
            clone = layer.__class__.from_config(
                _without_training_only_objects(
                    keras.saving.serialize_keras_object(layer)["config"]
                )
            )
            weights = layer.get_weights()
        pending.append((clone, weights))
        return clone

    baked = keras.models.clone_model(
        model, clone_function=clone_layer, recursive=True
    )
    for clone, weights in pending:
        clone.set_weights(weights)
    return baked
