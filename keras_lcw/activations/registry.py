"""Activation layers by normalization name, for string-only lookups.

keras-tuner's `hp.Choice` holds strings: `get_layer("anact", "swish")` turns
a pair of names into a layer. A new normalization is one more entry in
`NORMALIZATIONS`.
"""

import keras

from keras_lcw.activations.anact import ANAct
from keras_lcw.activations.linked import Linked

NORMALIZATIONS = {
    "none": lambda activation, **kwargs: keras.layers.Activation(
        activation, **kwargs
    ),
    "anact": lambda activation, **kwargs: ANAct(activation, **kwargs),
    "anact_static": lambda activation, **kwargs: ANAct.from_preset(
        "static", activation, **kwargs
    ),
    "linked": lambda activation, **kwargs: Linked(activation, **kwargs),
}


def get_layer(normalization, activation, **kwargs):
    """Returns an activation layer of the named normalization.

    Args:
        normalization: "none" (`keras.layers.Activation`), "anact"
            (`keras_lcw.ANAct`), "anact_static" (`ANAct(adaptive=False)`) or
            "linked" (`keras_lcw.Linked`: doubles the channels).
        activation: the base activation's name.
        **kwargs: other arguments of the layer (`name`, `axis`, ...).

    Example:

    >>> layer = keras_lcw.activations.get_layer("anact", "swish")
    """
    if not isinstance(normalization, str) or normalization not in NORMALIZATIONS:
        raise ValueError(
            f"Unknown activation normalization {normalization!r}; allowed: "
            f"{', '.join(repr(name) for name in NORMALIZATIONS)}."
        )
    return NORMALIZATIONS[normalization](activation, **kwargs)
