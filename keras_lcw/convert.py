"""convert(): rewrite a model's Dense and convolution layers as keras_lcw ones."""

import re
import warnings

from keras_lcw import cloning
from keras_lcw.layers import registry


def _selector(layers, candidates):
    """Returns a predicate on the convertible layers `candidates`."""
    if isinstance(layers, (str, re.Pattern)):
        try:
            pattern = re.compile(layers)
        except re.error as error:
            raise ValueError(
                f"`layers` is not a valid regular expression ({error}); "
                f"received layers={layers!r}."
            ) from None
        return lambda layer: pattern.fullmatch(layer.name) is not None
    if callable(layers):
        return lambda layer: bool(layers(layer))
    if isinstance(layers, (list, tuple, set)) and all(
        isinstance(name, str) for name in layers
    ):
        available = {layer.name for layer in candidates}
        missing = sorted(set(layers) - available)
        if missing:
            raise ValueError(
                f"`layers` names {missing}, which are not convertible layers "
                "of the model (Dense, Conv1D, Conv2D, Conv3D); convertible: "
                f"{sorted(available)}."
            )
        names = set(layers)
        return lambda layer: layer.name in names
    raise ValueError(
        "`layers` must be None, a list of layer names, a regular expression "
        f"or a callable; received layers={layers!r}."
    )


def convert(model, to="lcw", layers=None):
    """Returns a copy of `model` with Dense and ConvND layers re-parameterized.

    Every selected `keras.layers.Dense`, `Conv1D`, `Conv2D` and `Conv3D` (of
    exactly that class) is replaced by its counterpart of the parameterization
    `to`, with its arguments and its weights carried over by the
    parameterization's map; every other layer is cloned with its weights.

    - "lcw": `keras_lcw.LCWDense` / `LCWConvND`. The kernel `w` becomes the
      coordinates `B^T w` of its orthogonal projection onto the zero-sum set
      (`keras_lcw.numerics.zero_sum`), i.e. `w - mean(w over the fan-in)`;
      the bias is kept. For a kernel that already sums to zero per output unit
      the map is exact and `keras_lcw.bake` inverts it: `bake(convert(m)[0])`
      computes what `m` computes.
    - "lcw_constraint": the same Keras layer with `LCWConstraint` and
      `LCWInitializer` (around the layer's own initializer), the kernel
      projected onto the zero-sum set.
    - "gmp": `keras_lcw.GmPDense` / `GmPConvND`. Each unit's kernel w and
      bias b become the angles of w / |w| (hyperspherical coordinates,
      `keras_lcw.numerics.hyperspherical`), the radius r = |w| and the
      offset lambda = b / r. As r >= 0, r * f(u . x + lambda) = f(w . x + b)
      for a linear, relu or leaky_relu activation f: the map is exact to
      float rounding and `keras_lcw.bake` inverts it.
    - any other name of `keras_lcw.parameterizations`:
      `keras_lcw.layers.ReparameterizedDense` / `ReparameterizedConvND`, the
      weights carried over by the parameterization's inverse.

    Where the parameterization says no weights of its own compute what a
    layer computes (`inverse_error`: for "gmp" another activation than
    linear, relu or leaky_relu, or a unit with a zero kernel and a non-zero
    bias; for "lcw" and "lcw_constraint" a fan-in of 1, whose only zero-sum
    kernel is 0), the layer is left unchanged with a warning when
    `layers=None`, and selecting it raises. A layer that already carries
    another kernel constraint, or LoRA, cannot be converted and raises: leave
    it out with `layers`. Dense and convolution layers inside subclassed
    models or layers are left unchanged with a warning.

    Args:
        model: a built Sequential or Functional model. Nested Sequential and
            Functional models are converted recursively.
        to: the name of the parameterization: "lcw_constraint" or a name of
            `keras_lcw.parameterizations` (for "plain", use `keras_lcw.bake`).
        layers: which convertible layers to convert: None (all those the
            parameterization can carry over), a list of
            layer names (each must name a convertible layer), a regular
            expression (string or compiled) that must match the whole layer
            name, or a callable `layer -> bool`.

    Returns:
        `(new_model, converted)`: the new model (the original is left
        unchanged) and the names of the layers that were converted, in model
        order.

    Example:

    >>> model = keras.Sequential([
    ...     keras.Input((16,)),
    ...     keras.layers.Dense(32, activation="sigmoid", name="hidden"),
    ...     keras.layers.Dense(10, name="head")])
    >>> lcw_model, converted = keras_lcw.convert(model, to="lcw")
    >>> converted
    ['hidden', 'head']
    >>> lcw_model.compile("adam", "mse")
    """
    cloning.check_model(model, "convert")
    if to == "plain":
        raise ValueError(
            "convert(to='plain') is what keras_lcw.bake(model) does: it "
            "returns plain Keras layers with the effective weights."
        )
    family = {
        kind: registry.builder(to, kind) for kind in registry.PLAIN_CLASSES
    }
    kinds = {cls: kind for kind, cls in registry.PLAIN_CLASSES.items()}
    candidates = [
        layer for layer in cloning.leaf_layers(model) if type(layer) in kinds
    ]
    hidden = cloning.hidden_layers(
        cloning.leaf_layers(model), lambda layer: type(layer) in kinds
    )
    if hidden:
        warnings.warn(
            f"convert() leaves {hidden} unchanged: they are inside subclassed "
            "models or layers, which convert() copies whole. Rebuild those "
            "parts as Functional models to convert them.",
            stacklevel=2,
        )
    if layers is None:
        # By identity: nested models may each hold a layer of the same name.
        inexact = [
            (layer, reason)
            for layer in candidates
            if (reason := family[kinds[type(layer)]].conversion_error(layer))
        ]
        if inexact:
            details = "; ".join(
                f"'{layer.name}', because {reason}" for layer, reason in inexact
            )
            warnings.warn(
                f"convert(to={to!r}) leaves "
                f"{[layer.name for layer, _ in inexact]} unchanged: "
                f"{details}.",
                stacklevel=2,
            )
        left_out = {id(layer) for layer, _ in inexact}

        def selected(layer):
            return id(layer) not in left_out

    else:
        selected = _selector(layers, candidates)
    converted = []

    def replace(layer):
        kind = kinds.get(type(layer))
        if kind is None or not selected(layer):
            return cloning.copy_layer(layer)
        converted.append(layer.name)
        return family[kind].from_plain(layer)

    return cloning.rebuild(model, replace), converted
