"""keras_lcw objects in plain Keras terms.

Some keras_lcw objects only shape training (`LCWConstraint`,
`LCWInitializer`): once a kernel holds their effect, a plain Keras layer can
do without them. Such a class says so itself with a class method
`plain_replacement(config)`, which returns what stands in its place in a
plain layer's config (None, or the config of a Keras object).
`plain_config(layer)` applies it to every object in a layer's config, so
that `keras_lcw.bake` and `keras_lcw.convert` give configs that load where
keras_lcw is not installed.
"""

import keras


def _training_only_class(config):
    if not isinstance(config, dict) or "class_name" not in config:
        return None
    registered = config.get("registered_name") or config["class_name"]
    if not str(config.get("module", "")).startswith("keras_lcw"):
        return None
    cls = keras.saving.get_registered_object(registered)
    if cls is None or not hasattr(cls, "plain_replacement"):
        return None
    return cls


def _without_training_only_objects(config):
    if isinstance(config, dict):
        cls = _training_only_class(config)
        if cls is not None:
            replaced = cls.plain_replacement(config.get("config") or {})
            return _without_training_only_objects(replaced)
        return {k: _without_training_only_objects(v) for k, v in config.items()}
    if isinstance(config, list):
        return [_without_training_only_objects(v) for v in config]
    return config


def plain_config(layer):
    """`layer`'s config without the keras_lcw objects that only shape
    training, each replaced by its `plain_replacement`."""
    return _without_training_only_objects(
        keras.saving.serialize_keras_object(layer)["config"]
    )


def check_layer(layer, plain_class, action):
    """Raises unless `layer` is a built layer of exactly `plain_class`."""
    if type(layer) is not plain_class:
        raise TypeError(
            f"{action} converts a {plain_class.__name__}; received layer "
            f"'{layer.name}' of type {type(layer).__name__}."
        )
    if not layer.built:
        raise ValueError(
            f"Layer '{layer.name}' must be built before it is converted."
        )


def quantization_error(layer):
    """Why a quantized plain layer cannot be converted, or None.

    A quantized layer's kernel holds integers (and a separate scale), not the
    float kernel that a parameterization's inverse map needs.
    """
    mode = getattr(layer, "quantization_mode", None)
    if mode is None:
        return None
    return (
        f"it is quantized (quantization_mode={mode!r}): its kernel is no "
        "longer a float kernel. Convert the float model, then quantize "
        "after keras_lcw.bake()"
    )
