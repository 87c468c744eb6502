"""Constraints of keras_lcw."""

import keras
from keras import ops

from keras_lcw import validation


def fan_in_axes(ndim, axis=None):
    """The axes a kernel of rank `ndim` is centered over, as non-negative ints.

    `axis=None` means every axis but the last (the layout of Dense, EinsumDense
    with a last output axis and ConvND kernels).
    """
    if ndim < 2:
        raise ValueError(
            "A zero-sum constraint needs a kernel of rank 2 or more (fan-in "
            f"axes and an output axis); received a tensor of rank {ndim}."
        )
    if axis is None:
        return tuple(range(ndim - 1))
    resolved = []
    for a in axis:
        if not -ndim <= a < ndim:
            raise ValueError(
                f"`axis` entry {a} is out of range for a kernel of rank "
                f"{ndim}; allowed: {-ndim} to {ndim - 1}."
            )
        resolved.append(a % ndim)
    if len(set(resolved)) != len(resolved) or len(resolved) == ndim:
        raise ValueError(
            f"`axis`={tuple(axis)} must name distinct axes and leave at least "
            f"one output axis of a kernel of rank {ndim}."
        )
    return tuple(sorted(resolved))


@keras.saving.register_keras_serializable(package="keras_lcw")
class LCWConstraint(keras.constraints.Constraint):
    """Linearly constrained weights: every output unit's weights sum to zero.

    Projects a kernel orthogonally onto the set of kernels whose weights sum to
    zero over the fan-in axes:

        w <- w - mean(w over the fan-in axes)

    A unit with weights `w` summing to zero has no preactivation offset
    `w . mu` when its inputs share a common mean `mu`, which removes the
    "activation shift" that drives deep sigmoid networks into saturation
    (T. Kutsuna, "Linearly Constrained Weights: Reducing Activation Shift for
    Faster Training of Neural Networks", ECML PKDD 2019, arXiv:2403.13833).

    Keras applies constraints after each optimizer step only. To have the
    constraint hold from step 0, pair it with
    `keras_lcw.initializers.LCWInitializer`, or use the reparameterized layers
    (`keras_lcw.LCWDense`, `LCWConv2D`, ...), for which it holds by
    construction. Under plain SGD the projection follows exactly the same
    trajectory as the reparameterized layers; under Adam or weight decay it
    differs.

    Which axes to pass as `axis`, by layer (`None`, the default, is every axis
    but the last):

    | layer                         | kernel shape                  | `axis`    |
    |-------------------------------|-------------------------------|-----------|
    | Dense, ConvND, SeparableConv pointwise, EinsumDense "...,io" | (*fan_in, out) | default |
    | Conv{1,2,3}DTranspose         | (*k, out, in)                 | every axis but -2, e.g. (0, 1, 3) for 2-D |
    | DepthwiseConv{1,2}D           | (*k, in, multiplier)          | the spatial axes, e.g. (0, 1) for 2-D |

    For a transposed convolution the default centers each *input* channel's
    outgoing filters, not each output unit's weights; with `axis` set as in the
    table every output channel's full kernel sums to zero, which removes the
    shift exactly for `strides=1` (with larger strides each output pixel sees
    one stride phase of the kernel only).

    Args:
        axis: None, an integer or a list of integers: the fan-in axes to
            center over. Negative values count from the last axis.

    Example:

    >>> layer = keras.layers.Dense(
    ...     64, kernel_constraint=keras_lcw.LCWConstraint(),
    ...     kernel_initializer=keras_lcw.initializers.LCWInitializer())
    """

    def __init__(self, axis=None):
        axis = validation.axes("axis", axis)
        self.axis = None if axis is None else tuple(axis)

    @classmethod
    def plain_replacement(cls, config):
        """None: a kernel that holds the constraint needs no constraint in a
        plain layer (`keras_lcw.bake`)."""
        return None

    def __call__(self, w):
        w = ops.convert_to_tensor(w)
        axes = fan_in_axes(len(w.shape), self.axis)
        if all(w.shape[a] == 1 for a in axes):
            raise ValueError(
                "LCWConstraint needs a fan-in of at least 2: over the fan-in "
                f"axes {axes} the kernel of shape {tuple(w.shape)} has one "
                "input per unit, and the only zero-sum kernel with one input "
                "is 0 (the layer would be dead)."
            )
        return w - ops.mean(w, axis=axes, keepdims=True)

    def get_config(self):
        return {"axis": list(self.axis) if self.axis is not None else None}


# The names `get` accepts. Keras's built-in constraints are listed by their
# snake_case names; `keras.constraints.get` resolves them (and their class
# names). A new keras_lcw constraint is one more entry.
_NAMES = {
    "none": lambda: None,
    "lcw": LCWConstraint,
    "max_norm": lambda: keras.constraints.get("max_norm"),
    "min_max_norm": lambda: keras.constraints.get("min_max_norm"),
    "non_neg": lambda: keras.constraints.get("non_neg"),
    "unit_norm": lambda: keras.constraints.get("unit_norm"),
}


def get(identifier):
    """Returns a constraint from a name, a config, an object or None.

    `keras.constraints.get` finds Keras's built-in names only, and
    keras-tuner's `hp.Choice` holds strings only: this is the one lookup for
    every constraint name of keras_lcw and Keras, with default arguments.

    Args:
        identifier: one of
            - None or "none": no constraint (returns None);
            - "lcw": `LCWConstraint()`;
            - a Keras built-in name: "max_norm", "min_max_norm", "non_neg",
              "unit_norm" (or the class names, "MaxNorm", ...);
            - a serialized constraint config (dict), as
              `keras.constraints.serialize` returns;
            - a constraint object or class, or any callable, returned as
              `keras.constraints.get` returns it.

    Returns:
        A constraint object, or None.

    Example:

    >>> layer = keras.layers.Dense(8, kernel_constraint=keras_lcw.constraints.get("lcw"))
    """
    if isinstance(identifier, str):
        if identifier in _NAMES:
            return _NAMES[identifier]()
        try:
            return keras.constraints.get(identifier)
        except ValueError:
            raise ValueError(
                f"Unknown constraint name {identifier!r}; allowed: "
                f"{', '.join(repr(name) for name in _NAMES)} (or a Keras "
                "constraint class name, a config dict or a constraint "
                "object)."
            ) from None
    return keras.constraints.get(identifier)
