"""Dense and convolution layers by parameterization name.

keras-tuner's `hp.Choice` holds strings, and `keras_lcw.convert` maps a plain
layer to its counterpart: both look layers up here. Every name of
`keras_lcw.parameterizations` has a builder per layer kind ("dense", or the
convolution rank 1, 2 or 3): its own layer class where it has one
(`LCWDense`, `GmPConv2D`, ...), else `ReparameterizedDense` /
`ReparameterizedConvND` with `parameterization=name`. Beside them, "plain"
is Keras's layer and "lcw_constraint" Keras's layer kept zero-sum by
projection. A builder is called like the Keras layer it stands for; those of
every name but "plain" also offer `from_plain(layer) -> (layer, weights)`
and `conversion_error(layer)`, which `convert` uses, and
`default_kernel_initializer(activation)`, which `keras_lcw.tuning` uses.
"""

import numbers

import keras
from keras import ops

from keras_lcw import parameterizations
from keras_lcw import plain
from keras_lcw.constraints import LCWConstraint
from keras_lcw.initializers import LCWInitializer
from keras_lcw.layers import gmp
from keras_lcw.layers import lcw
from keras_lcw.layers import reparameterized
from keras_lcw.layers import weight_norm

# The Keras layers every parameterization has a counterpart of.
PLAIN_CLASSES = {
    "dense": keras.layers.Dense,
    1: keras.layers.Conv1D,
    2: keras.layers.Conv2D,
    3: keras.layers.Conv3D,
}

_GENERIC_CLASSES = {
    "dense": reparameterized.ReparameterizedDense,
    1: reparameterized.ReparameterizedConv1D,
    2: reparameterized.ReparameterizedConv2D,
    3: reparameterized.ReparameterizedConv3D,
}

# Parameterizations with layer classes of their own.
_NAMED_CLASSES = {
    "lcw": {
        "dense": lcw.LCWDense,
        1: lcw.LCWConv1D,
        2: lcw.LCWConv2D,
        3: lcw.LCWConv3D,
    },
    "gmp": {
        "dense": gmp.GmPDense,
        1: gmp.GmPConv1D,
        2: gmp.GmPConv2D,
        3: gmp.GmPConv3D,
    },
    "weight_norm": {
        "dense": weight_norm.WeightNormDense,
        1: weight_norm.WeightNormConv1D,
        2: weight_norm.WeightNormConv2D,
        3: weight_norm.WeightNormConv3D,
    },
    "centered_weight_norm": {
        "dense": weight_norm.CenteredWeightNormDense,
        1: weight_norm.CenteredWeightNormConv1D,
        2: weight_norm.CenteredWeightNormConv2D,
        3: weight_norm.CenteredWeightNormConv3D,
    },
}


class Reparameterized:
    """Builds the generic layer of a parameterization without a class of its
    own: `ReparameterizedDense(..., parameterization=name)`."""

    def __init__(self, layer_class, name):
        self.layer_class = layer_class
        self.name = name

    def __call__(self, *args, **kwargs):
        return self.layer_class(*args, parameterization=self.name, **kwargs)

    def from_plain(self, layer):
        return self.layer_class.from_plain(layer, parameterization=self.name)

    def conversion_error(self, layer):
        return self.layer_class.conversion_error(layer, parameterization=self.name)

    def default_kernel_initializer(self, activation):
        return parameterizations.get(self.name).default_kernel_initializer(
            activation
        )


class ZeroSumConstrained:
    """Builds a plain Keras layer whose kernel is kept zero-sum by projection.

    The layer gets `kernel_constraint=LCWConstraint()` and
    `kernel_initializer=LCWInitializer(kernel_initializer)`, so the kernel
    sums to zero per output unit from step 0 and after every optimizer step.

    Args:
        plain_class: the Keras layer class (Dense, Conv1D, Conv2D, Conv3D).
    """

    def __init__(self, plain_class):
        self._plain_class = plain_class

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
        return self._plain_class(
            *args,
            kernel_initializer=LCWInitializer(kernel_initializer),
            **kwargs,
        )

    def conversion_error(self, layer):
        return plain.quantization_error(layer) or parameterizations.get(
            "lcw"
        ).kernel_shape_error(tuple(layer.kernel.shape))

    def default_kernel_initializer(self, activation):
        return parameterizations.get("lcw").default_kernel_initializer(
            activation
        )

    def from_plain(self, layer):
        """Returns `(layer, weights)`: a copy of the plain `layer` with the
        LCW constraint and initializer, and its weights by name with the
        kernel projected onto the zero-sum set."""
        plain.check_layer(layer, self._plain_class, "ZeroSumConstrained.from_plain()")
        config = plain.plain_config(layer)
        if config.get("kernel_constraint") is not None:
            raise ValueError(
                f"Layer '{layer.name}' has kernel_constraint="
                f"{config['kernel_constraint']!r}, which the 'lcw_constraint' "
                "parameterization would replace. Leave the layer out of the "
                "conversion."
            )
        reason = self.conversion_error(layer)
        if reason is not None:
            raise ValueError(
                f"Layer '{layer.name}' cannot be converted to "
                f"'lcw_constraint', because {reason}. Leave it out of the "
                "conversion."
            )
        config["kernel_constraint"] = keras.saving.serialize_keras_object(
            LCWConstraint()
        )
        config["kernel_initializer"] = keras.saving.serialize_keras_object(
            LCWInitializer(config["kernel_initializer"])
        )
        weights = {"kernel": ops.convert_to_numpy(LCWConstraint()(layer.kernel))}
        if layer.use_bias:
            weights["bias"] = ops.convert_to_numpy(layer.bias)
        return self._plain_class.from_config(config), weights


def names():
    """Every parameterization name `get_dense` and `get_conv` take."""
    return ("plain",) + tuple(parameterizations.PARAMETERIZATIONS) + ("lcw_constraint",)


def builder(parameterization, kind):
    """The builder of `parameterization` for `kind` ("dense", 1, 2 or 3)."""
    if parameterization == "plain":
        return PLAIN_CLASSES[kind]
    if parameterization == "lcw_constraint":
        return ZeroSumConstrained(PLAIN_CLASSES[kind])
    if not isinstance(parameterization, str) or (
        parameterization not in parameterizations.PARAMETERIZATIONS
    ):
        raise ValueError(
            f"Unknown parameterization {parameterization!r}; allowed: "
            f"{', '.join(repr(name) for name in names())}."
        )
    named = _NAMED_CLASSES.get(parameterization)
    if named is not None:
        return named[kind]
    return Reparameterized(_GENERIC_CLASSES[kind], parameterization)


def get_dense(parameterization, units, **kwargs):
    """Returns a Dense layer of the named parameterization.

    Args:
        parameterization: "plain" (`keras.layers.Dense`), "lcw"
            (`keras_lcw.LCWDense`), "lcw_constraint" (`keras.layers.Dense`
            with `LCWConstraint` and `LCWInitializer`), "gmp"
            (`keras_lcw.GmPDense`, whose activation defaults to relu),
            "weight_norm" (`keras_lcw.WeightNormDense`),
            "centered_weight_norm" (`keras_lcw.CenteredWeightNormDense`), or
            any other name of `keras_lcw.parameterizations`
            (`keras_lcw.layers.ReparameterizedDense`).
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
            convolution with `LCWConstraint` and `LCWInitializer`), "gmp"
            (`keras_lcw.GmPConv{rank}D`, whose activation defaults to relu),
            "weight_norm" (`keras_lcw.WeightNormConv{rank}D`),
            "centered_weight_norm" (`keras_lcw.CenteredWeightNormConv{rank}D`),
            or any other name of `keras_lcw.parameterizations`
            (`keras_lcw.layers.ReparameterizedConv{rank}D`).
        rank: 1, 2 or 3.
        filters, kernel_size, **kwargs: the arguments of the layer.

    Example:

    >>> layer = keras_lcw.layers.get_conv("lcw", 2, 16, 3, padding="same")
    """
    if isinstance(rank, bool) or not isinstance(rank, numbers.Integral) or rank not in (1, 2, 3):
        raise ValueError(
            f"`rank` must be 1, 2 or 3; received rank={rank!r}."
        )
    return builder(parameterization, rank)(filters, kernel_size, **kwargs)
