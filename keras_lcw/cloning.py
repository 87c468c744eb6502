"""Model rewriting shared by `bake()` and `convert()`.

Both clone a Sequential or Functional model layer by layer, replacing some
layers by others and carrying every layer's weights over.
"""

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


def plain_config(layer):
    """`layer`'s config without the keras_lcw objects that only shape
    training (`LCWConstraint` is dropped, `LCWInitializer` gives way to its
    base): the weights already hold their effect."""
    return _without_training_only_objects(
        keras.saving.serialize_keras_object(layer)["config"]
    )


def check_model(model, action):
    """Raises unless `model` is a built Sequential or Functional model."""
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"{action}() takes a keras.Model; received an object of type "
            f"{type(model).__name__}."
        )
    if not isinstance(model, (keras.Sequential, Functional)):
        raise ValueError(
            f"{action}() supports Sequential and Functional models; received "
            f"the subclassed model '{model.name}' of type "
            f"{type(model).__name__}. Rebuild it as a Functional model, or "
            f"{action} its layers one by one."
        )
    if not model.built:
        raise ValueError(
            f"Model '{model.name}' must be built before {action}()."
        )


def check_convertible(layer, plain_class, target):
    """Raises unless `layer` is a built layer of exactly `plain_class`."""
    if type(layer) is not plain_class:
        raise TypeError(
            f"{target} converts a {plain_class.__name__}; received layer "
            f"'{layer.name}' of type {type(layer).__name__}."
        )
    if not layer.built:
        raise ValueError(
            f"Layer '{layer.name}' must be built before it is converted."
        )


def copy_layer(layer, config=None):
    """Returns `(unbuilt_copy, weights)`: `layer` rebuilt from `config`
    (default: its own) and its current weights."""
    if config is None:
        config = keras.saving.serialize_keras_object(layer)["config"]
    return layer.__class__.from_config(config), layer.get_weights()


def rebuild(model, replace):
    """Clones `model`, with `replace(layer) -> (unbuilt_layer, weights)`
    deciding each leaf layer's clone and the weights it gets.

    Nested Sequential and Functional models are rebuilt recursively.
    """
    pending = []

    def clone_layer(layer):
        clone, weights = replace(layer)
        pending.append((clone, weights))
        return clone

    rebuilt = keras.models.clone_model(
        model, clone_function=clone_layer, recursive=True
    )
    # The clones are built by clone_model's symbolic call: weights go in after.
    for clone, weights in pending:
        clone.set_weights(weights)
    return rebuilt


def leaf_layers(model):
    """Every layer of `model` that `rebuild` passes to `replace`, in order."""
    for layer in model.layers:
        if isinstance(layer, (keras.Sequential, Functional)):
            yield from leaf_layers(layer)
        else:
            yield layer
