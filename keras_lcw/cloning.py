"""Model rewriting shared by `bake()` and `convert()`.

Both clone a Sequential or Functional model layer by layer, replacing some
layers by others and carrying every layer's weights over.
"""

import keras
from keras import ops

# Keras has no public name for the class of models that
# keras.Model(inputs, outputs) returns.
from keras.src.models.functional import Functional


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


def _variables_by_name(layer):
    """`layer`'s variables keyed by their path below the layer ("kernel",
    "bias", or "query/kernel" for a sublayer's)."""
    prefix = f"{layer.path}/"
    variables = {}
    for variable in layer.variables:
        key = variable.path.removeprefix(prefix)
        if key in variables:
            raise ValueError(
                f"Layer '{layer.name}' has two variables at {key!r}; "
                "bake() and convert() move weights by name."
            )
        variables[key] = variable
    return variables


def named_weights(layer):
    """`layer`'s weights as NumPy arrays, keyed by their path below the
    layer."""
    return {
        key: ops.convert_to_numpy(variable)
        for key, variable in _variables_by_name(layer).items()
    }


def assign_named_weights(layer, weights):
    """Assigns `weights` (as `named_weights` returns them) to `layer`'s
    variables by name; raises unless the names are the same."""
    variables = _variables_by_name(layer)
    if set(variables) != set(weights):
        raise ValueError(
            f"Layer '{layer.name}' has the variables {sorted(variables)}; "
            f"received weights for {sorted(weights)}."
        )
    for key, variable in variables.items():
        variable.assign(weights[key])


def copy_layer(layer, config=None):
    """Returns `(unbuilt_copy, weights)`: `layer` rebuilt from `config`
    (default: its own) and its current weights by name."""
    if config is None:
        config = keras.saving.serialize_keras_object(layer)["config"]
    return layer.__class__.from_config(config), named_weights(layer)


def rebuild(model, replace):
    """Clones `model`, with `replace(layer) -> (unbuilt_layer, weights)`
    deciding each leaf layer's clone and its weights by name.

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
        assign_named_weights(clone, weights)
    return rebuilt


def hidden_layers(layers, predicate):
    """The names of the layers inside `layers` (not the layers themselves)
    for which `predicate` holds: what `rebuild` copies whole and cannot
    reach."""
    return [
        inner.name
        for layer in layers
        for inner in layer._flatten_layers(include_self=False)
        if predicate(inner)
    ]


def leaf_layers(model):
    """Every layer of `model` that `rebuild` passes to `replace`, in order."""
    for layer in model.layers:
        if isinstance(layer, (keras.Sequential, Functional)):
            yield from leaf_layers(layer)
        else:
            yield layer
