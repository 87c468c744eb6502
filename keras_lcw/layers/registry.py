"""Dense and convolution layers by parameterization name.

keras-tuner's `hp.Choice` holds strings, and `keras_lcw.convert` maps a plain
layer to its counterpart: both look layers up here. A parameterization is a
name and one builder per layer kind: `"dense"`, or the convolution rank 1, 2
or 3. A builder is called like the Keras layer it stands for; the builders of
every name but "plain" also offer `from_plain(layer) -> (layer, weights)`,
which `convert` uses, and may offer `converts_exactly(layer) -> bool` when
their map is exact for some plain layers only (GmP: linear and positively
homogeneous activations). A new parameterization is one more entry in
`PARAMETERIZATIONS`.
"""

import keras
from keras import ops

from keras_lcw import cloning
from keras_lcw.constraints import LCWConstraint
from keras_lcw.initializers import LCWInitializer
from keras_lcw.layers import gmp
from keras_lcw.layers import lcw

# The Keras layers every parameterization has a counterpart of.
PLAIN_CLASSES = {
    "dense": keras.layers.Dense,
    1: keras.layers.Conv1D,
    2: keras.layers.Conv2D,
    3: keras.layers.Conv3D,
}


class ZeroSumConstrained:
    """Builds a plain Keras layer whose kernel is kept zero-sum by projection.

    The layer gets `kernel_constraint=LCWConstraint()` and
    `kernel_initializer=LCWInitializer(kernel_initializer)`, so the kernel
    sums to zero per output unit from step 0 and after every optimizer step.

    Args:
        plain_class: the Keras layer class (Dense, Conv1D, Conv2D, Conv3D).
    """

    def __init__(self, plain_class):
        self.plain_class = plain_class

    def __call__(
        self, *args, kernel_initializer="glorot_uniform", **kwargs
    ):
        if kwargs.get("kernel_constraint") is not None:
            raise ValueError(
                "The 'lcw_constraint' parameterization sets the kernel "
                "constraint itself; received kernel_constraint="
                f"{kwargs['kernel_constraint']!r}."
            )
        kwargs["kernel_constraint"] = LCWConstraint()
        return self.plain_class(
            *args,
            kernel_initializer=LCWInitializer(kernel_initializer),
            **kwargs,
        )

    def from_plain(self, layer):
        """Returns `(layer, weights)`: a copy of the plain `layer` with the
        LCW constraint and initializer, and its weights with the kernel
        projected onto the zero-sum set."""
        cloning.check_convertible(
            layer, self.plain_class, "ZeroSumConstrained.from_plain()"
        )
        config = cloning.plain_config(layer)
        if config.get("kernel_constraint") is not None:
            raise ValueError(
                f"Layer '{layer.name}' has kernel_constraint="
                f"{config['kernel_constraint']!r}, which the 'lcw_constraint' "
                "parameterization would replace. Leave the layer out of the "
                "conversion."
            )
        config["kernel_constraint"] = keras.saving.serialize_keras_object(
            LCWConstraint()
        )
        config["kernel_initializer"] = keras.saving.serialize_keras_object(
            LCWInitializer(config["kernel_initializer"])
        )
        kernel, *bias = layer.get_weights()
        kernel = ops.convert_to_numpy(LCWConstraint()(kernel))
        return self.plain_class.from_config(config), [kernel] + bias


PARAMETERIZATIONS = {
    "plain": PLAIN_CLASSES,
    "lcw": {
        "dense": lcw.LCWDense,
        1: lcw.LCWConv1D,
        2: lcw.LCWConv2D,
        3: lcw.LCWConv3D,
    },
    "lcw_constraint": {
        kind: ZeroSumConstrained(plain_class)
        for kind, plain_class in PLAIN_CLASSES.items()
    },
    "gmp": {
        "dense": gmp.GmPDense,
        1: gmp.GmPConv1D,
        2: gmp.GmPConv2D,
        3: gmp.GmPConv3D,
    },
}


def builder(parameterization, kind):
    """The builder of `parameterization` for `kind` ("dense", 1, 2 or 3)."""
    if parameterization not in PARAMETERIZATIONS:
        raise ValueError(
            f"Unknown parameterization {parameterization!r}; allowed: "
            f"{', '.join(repr(name) for name in PARAMETERIZATIONS)}."
        )
    return PARAMETERIZATIONS[parameterization][kind]


def get_dense(parameterization, units, **kwargs):
    """Returns a Dense layer of the named parameterization.

    Args:
        parameterization: "plain" (`keras.layers.Dense`), "lcw"
            (`keras_lcw.LCWDense`), "lcw_constraint" (`keras.layers.Dense`
            with `LCWConstraint` and `LCWInitializer`) or "gmp"
            (`keras_lcw.GmPDense`, whose activation defaults to relu).
        units: the number of output units.
        **kwargs: the other arguments of the layer.

    Example:

    >>> for name in ("plain", "lcw", "lcw_constraint", "gmp"):
    ...     layer = keras_lcw.layers.get_dense(name, 32, activation="relu")
    """
    return builder(parameterization, "dense")(units, **kwargs)


def get_conv(parameterization, rank, filters, kernel_size, **kwargs):
    """Returns a convolution of the named parameterization.

    Args:
        parameterization: "plain" (`keras.layers.Conv{rank}D`), "lcw"
            (`keras_lcw.LCWConv{rank}D`), "lcw_constraint" (the Keras
            convolution with `LCWConstraint` and `LCWInitializer`) or "gmp"
            (`keras_lcw.GmPConv{rank}D`, whose activation defaults to relu).
        rank: 1, 2 or 3.
        filters, kernel_size, **kwargs: the arguments of the layer.

    Example:

    >>> layer = keras_lcw.layers.get_conv("lcw", 2, 16, 3, padding="same")
    """
    if rank not in (1, 2, 3):
        raise ValueError(
            f"`rank` must be 1, 2 or 3; received rank={rank!r}."
        )
    return builder(parameterization, rank)(filters, kernel_size, **kwargs)
