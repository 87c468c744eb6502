"""keras-tuner search spaces over keras_lcw's choices.

Each helper declares its choices on a `keras_tuner.HyperParameters` object
(`hp.Choice` holds strings only) and returns the ready object. Sub-parameters
that exist for one choice only are declared under `hp.conditional_scope`, so
the tuner samples them only when that choice is active.

keras-tuner is an optional dependency (`pip install "keras-lcw[tuner]"`):
this module never imports it, the helpers only call the `hp` they are given.
"""

import keras

from keras_lcw import constraints
from keras_lcw.activations import registry as activation_registry
from keras_lcw.layers import registry


# Sub-parameters of the constraints that have them, by constraint class
# (so that every name of a class, "max_norm" or "MaxNorm", gets them): a
# function `(hp, prefix) -> constructor kwargs`. Constraints without an entry
# take their default arguments.
_CONSTRAINT_ARGUMENTS = {
    keras.constraints.MaxNorm: lambda hp, prefix: {
        "max_value": hp.Float(
            f"{prefix}/max_value", 0.5, 8.0, sampling="log", default=2.0
        )
    },
    keras.constraints.MinMaxNorm: lambda hp, prefix: {
        "min_value": hp.Float(f"{prefix}/min_value", 0.0, 1.0, default=0.0),
        "max_value": hp.Float(
            f"{prefix}/max_value", 1.0, 8.0, sampling="log", default=1.0
        ),
    },
}


def _check_names(argument, values, lookup):
    if isinstance(values, str):
        raise ValueError(
            f"`{argument}` must be a sequence of names, such as ({values!r},); "
            f"received the string {argument}={values!r}."
        )
    try:
        values = tuple(values)
    except TypeError:
        values = None
    if not values or not all(isinstance(v, str) for v in values):
        raise ValueError(
            f"`{argument}` must be a non-empty sequence of names; received "
            f"{values!r}."
        )
    for value in values:
        lookup(value)  # Raises for an unknown name, listing the allowed ones.
    return values


def _choice(hp, name, values):
    """`hp.Choice(name, values)`, refused where `name` is declared already
    with other values (keras-tuner would return the first declaration's
    value, out of the new values)."""
    for declared in getattr(hp, "space", ()):
        if declared.name == name and list(declared.values) != list(values):
            raise ValueError(
                f"The hyperparameter {name!r} is declared already, with the "
                f"choices {list(declared.values)}; received {list(values)}. "
                "Give this layer another prefix, or the same choices."
            )
    return hp.Choice(name, list(values))


def _refuse_activation(function, kwargs):
    if "activation" in kwargs:
        raise ValueError(
            f"{function}() declares the activation as a choice: pass "
            f"`activations=({kwargs['activation']!r},)` instead of "
            f"activation={kwargs['activation']!r}."
        )


def _declare_dense_choices(hp, prefix, parameterizations, activations):
    """Checks the names; declares and returns the parameterization and
    activation choices under `prefix`."""
    parameterizations = _check_names(
        "parameterizations",
        parameterizations,
        lambda value: registry.builder(value, "dense"),
    )
    activations = _check_names("activations", activations, keras.activations.get)
    return (
        _choice(hp, f"{prefix}/parameterization", parameterizations),
        _choice(hp, f"{prefix}/activation", activations),
    )


def kernel_constraint(
    hp,
    name="kernel_constraint",
    values=("none", "lcw", "max_norm", "unit_norm", "non_neg"),
):
    """Declares a choice of kernel constraint and returns the constraint.

    Declares `hp.Choice(name, values)`, and for "max_norm" (`max_value`)
    and "min_max_norm" (`min_value`, `max_value`), by any of their names
    ("MaxNorm", ...), their arguments as
    `{name}/{argument}` under a conditional scope.

    Args:
        hp: a `keras_tuner.HyperParameters`.
        name: the hyperparameter name.
        values: names accepted by `keras_lcw.constraints.get`, "none" for no
            constraint.

    Returns:
        A constraint object, or None for "none".

    Example:

    >>> def build(hp):
    ...     return keras.Sequential([
    ...         keras.Input((64,)),
    ...         keras.layers.Dense(
    ...             32, kernel_constraint=keras_lcw.tuning.kernel_constraint(hp)),
    ...         keras.layers.Dense(10, activation="softmax")])
    >>> import keras_tuner
    >>> model = build(keras_tuner.HyperParameters())
    """
    values = _check_names("values", values, constraints.get)
    choice = _choice(hp, name, values)
    arguments = {}
    for value in values:
        declare = _CONSTRAINT_ARGUMENTS.get(type(constraints.get(value)))
        if declare is not None:
            with hp.conditional_scope(name, [value]):
                arguments[value] = declare(hp, f"{name}/{value}")
    constraint = constraints.get(choice)
    if choice in arguments:
        constraint = type(constraint)(**arguments[choice])
    return constraint


def dense(
    hp,
    units,
    prefix="dense",
    parameterizations=("plain", "lcw", "lcw_constraint"),
    activations=("relu", "tanh", "sigmoid"),
    constraint_values=None,
    **kwargs,
):
    """Declares a Dense layer's parameterization and activation; returns it.

    Declares `{prefix}/parameterization` and `{prefix}/activation` choices.
    Layers that share a prefix share the choices. With `constraint_values`, a
    `{prefix}/kernel_constraint` choice is declared
    under the "plain" parameterization's conditional scope (the other
    parameterizations fix the kernel constraint themselves).

    Args:
        hp: a `keras_tuner.HyperParameters`.
        units: the number of output units.
        prefix: the prefix of the hyperparameter names.
        parameterizations: names accepted by `keras_lcw.layers.get_dense`.
        activations: Keras activation names.
        constraint_values: None, or the `values` of `kernel_constraint` for
            the "plain" parameterization.
        **kwargs: other arguments of the layer (`name`, `use_bias`, ...).

    Returns:
        An unbuilt layer.

    Example:

    >>> def build(hp):
    ...     model = keras.Sequential([keras.Input((64,))])
    ...     for i in range(hp.Int("depth", 1, 3)):
    ...         model.add(keras_lcw.tuning.dense(hp, 64, prefix=f"dense_{i}"))
    ...     model.add(keras.layers.Dense(10, activation="softmax"))
    ...     model.compile("adam", "sparse_categorical_crossentropy")
    ...     return model
    >>> import keras_tuner
    >>> model = build(keras_tuner.HyperParameters())
    """
    _refuse_activation("dense", kwargs)
    parameterization, activation = _declare_dense_choices(
        hp, prefix, parameterizations, activations
    )
    if constraint_values is not None and "plain" in parameterizations:
        with hp.conditional_scope(f"{prefix}/parameterization", ["plain"]):
            constraint = kernel_constraint(
                hp, f"{prefix}/kernel_constraint", constraint_values
            )
        if parameterization == "plain":
            kwargs["kernel_constraint"] = constraint
    return registry.get_dense(
        parameterization, units, activation=activation, **kwargs
    )


def block(
    hp,
    units,
    prefix="block",
    parameterizations=("plain", "lcw", "lcw_constraint"),
    activations=("relu", "tanh", "sigmoid"),
    normalizations=("none", "anact", "linked"),
    **kwargs,
):
    """Declares a linear Dense layer and an activation layer; returns both.

    Declares `{prefix}/parameterization`, `{prefix}/activation` and
    `{prefix}/normalization` choices: the search space of parameterization
    x activation normalization. The Dense layer is linear; its kernel
    initializer is the parameterization's default for the chosen activation
    where it has one (for "lcw" and "lcw_constraint": fan-in variance scaling
    with the activation's gain, as `LCWDense` picks for its own activation).

    Args:
        hp: a `keras_tuner.HyperParameters`.
        units: the number of output units of the Dense layer ("linked"
            doubles them at the activation).
        prefix: the prefix of the hyperparameter names.
        parameterizations: names accepted by `keras_lcw.layers.get_dense`.
        activations: Keras activation names.
        normalizations: names accepted by `keras_lcw.activations.get_layer`.
        **kwargs: other arguments of the Dense layer.

    Returns:
        A list `[dense_layer, activation_layer]`.

    Example:

    >>> def build(hp):
    ...     model = keras.Sequential([keras.Input((64,))])
    ...     for _ in range(3):
    ...         for layer in keras_lcw.tuning.block(hp, 64, prefix="hidden"):
    ...             model.add(layer)
    ...     model.add(keras.layers.Dense(10, activation="softmax"))
    ...     model.compile("adam", "sparse_categorical_crossentropy")
    ...     return model
    >>> import keras_tuner
    >>> model = build(keras_tuner.HyperParameters())
    """
    _refuse_activation("block", kwargs)
    normalizations = _check_names(
        "normalizations",
        normalizations,
        lambda value: activation_registry.get_layer(value, "linear"),
    )
    parameterization, activation = _declare_dense_choices(
        hp, prefix, parameterizations, activations
    )
    normalization = _choice(hp, f"{prefix}/normalization", normalizations)
    # A parameterization's default initializer depends on the activation
    # (LCW: the activation's gain, which keeps a zero-sum stack's signal at
    # depth); the Dense layer cannot see it when the activation is a layer
    # of its own.
    default = getattr(
        registry.builder(parameterization, "dense"),
        "default_kernel_initializer",
        None,
    )
    if default is not None and "kernel_initializer" not in kwargs:
        initializer = default(activation)
        if initializer is not None:
            kwargs["kernel_initializer"] = initializer
    return [
        # Explicitly linear: "gmp" would otherwise default to relu.
        registry.get_dense(parameterization, units, activation="linear", **kwargs),
        activation_registry.get_layer(normalization, activation),
    ]
