"""Model rewriting shared by `bake()` and `convert()`.

Both clone a Sequential or Functional model layer by layer, replacing some
layers by others and carrying every layer's weights over.
"""

import inspect

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


def assign_named_weights(layer, weights):
    """Assigns `weights` (NumPy arrays by their path below the layer) to
    `layer`'s variables by name; raises unless the names are the same."""
    variables = _variables_by_name(layer)
    if set(variables) != set(weights):
        raise ValueError(
            f"Layer '{layer.name}' has the variables {sorted(variables)}; "
            f"received weights for {sorted(weights)}."
        )
    for key, variable in variables.items():
        variable.assign(weights[key])


class CopiedWeights:
    """The variables of a layer that is copied whole, for its copy.

    The copy has the original's class and config, so it creates the same
    variables in the same order, with the same names; but the paths of the
    variables of its parts carry names Keras generates ("seed_generator_1",
    "dense_2"), which differ between the two. So they are paired in order,
    and each pair must agree in name and shape.
    """

    def __init__(self, layer):
        self.names = [variable.name for variable in layer.variables]
        self.values = [ops.convert_to_numpy(v) for v in layer.variables]

    def assign_to(self, layer):
        variables = layer.variables
        found = [(v.name, tuple(v.shape)) for v in variables]
        expected = [(n, value.shape) for n, value in zip(self.names, self.values)]
        if found != expected:
            raise ValueError(
                f"The copy of layer '{layer.name}' has the variables "
                f"(name, shape) {found}; the original has {expected}."
            )
        for variable, value in zip(variables, self.values):
            variable.assign(value)


def copy_layer(layer, config=None):
    """Returns `(unbuilt_copy, weights)`: `layer` rebuilt from `config`
    (default: its own) and its current weights (`CopiedWeights`)."""
    if config is None:
        config = keras.saving.serialize_keras_object(layer)["config"]
    return layer.__class__.from_config(config), CopiedWeights(layer)


def _call_without_unknown_mask(layer, *args, **kwargs):
    """Calls a clone with the arguments the original's call received, less
    a `mask` that the clone's `call` does not take (Keras passes a mask
    only to a layer whose `call` takes one, and the replacing layer may
    differ from the original there)."""
    if "mask" in kwargs and "mask" not in inspect.signature(layer.call).parameters:
        kwargs.pop("mask")
    return layer(*args, **kwargs)


def rebuild(model, replace):
    """Clones `model`, with `replace(layer) -> (unbuilt_layer, weights)`
    deciding each leaf layer's clone and its weights: a dictionary by path
    below the layer, or `CopiedWeights`.

    Nested Sequential and Functional models are rebuilt recursively. Every
    layer and nested model is cloned once, however often and at whatever
    depth it is used, so that what the original shares, its clone shares.
    """
    return _rebuild(model, replace, clones={})


def _rebuild(model, replace, clones):
    """`rebuild`, with `clones` (by the original's id) kept across the
    nested models."""
    pending = []

    def clone_layer(layer):
        if not isinstance(layer, keras.layers.Layer):
            # An operation in a Functional graph (`keras.ops.add` on
            # symbolic tensors, a mask's `not_equal`): no weights.
            return layer.__class__.from_config(layer.get_config())
        if id(layer) in clones:
            return clones[id(layer)]
        if isinstance(layer, (keras.Sequential, Functional)):
            clone = _rebuild(layer, replace, clones)
        else:
            clone, weights = replace(layer)
            pending.append((clone, weights))
        clones[id(layer)] = clone
        return clone

    # Keras takes a call_function for Functional models only: a Sequential
    # model passes no call arguments on.
    call = (
        {"call_function": _call_without_unknown_mask}
        if isinstance(model, Functional)
        else {}
    )
    rebuilt = keras.models.clone_model(model, clone_function=clone_layer, **call)
    # The clones are built by clone_model's symbolic call: weights go in after.
    for clone, weights in pending:
        if isinstance(weights, CopiedWeights):
            weights.assign_to(clone)
        else:
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
    """Every layer of `model` that `rebuild` passes to `replace`, in order,
    each once (a layer may be shared by nested models)."""
    seen = set()
    for layer in _leaf_layers(model):
        if id(layer) not in seen:
            seen.add(id(layer))
            yield layer


def _leaf_layers(model):
    for layer in model.layers:
        if isinstance(layer, (keras.Sequential, Functional)):
            yield from _leaf_layers(layer)
        else:
            yield layer
