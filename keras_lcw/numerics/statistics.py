"""Batch statistics: masked means in the input's precision.

Layers that normalize with mini-batch statistics (`keras_lcw.ANAct`,
`keras_lcw.InputMeanNormalization`) compute them here: float64 inputs in
float64, narrower ones in float32, masked entries left out, and across
`tf.distribute` replicas where asked (`keras_lcw.backend_utils.batch_mean`).
"""

import keras
from keras import ops

from keras_lcw import backend_utils


def statistics_dtype(dtype):
    """The dtype that batch statistics of a `dtype` input are computed in:
    float64 for float64, float32 for every narrower float.

    Not `keras.backend.result_type(dtype, "float32")`, which is float32 for
    float64 on every backend but TensorFlow.
    """
    if keras.backend.standardize_dtype(dtype) == "float64":
        return "float64"
    return "float32"


def broadcast_mask(mask, x):
    """`mask` as a bool tensor of `x`'s shape.

    A mask of lower rank covers the leading axes of `x` (a `(batch, steps)`
    mask of `(batch, steps, features)` inputs) and is repeated along the
    others.
    """
    mask = ops.cast(mask, "bool")
    for _ in range(len(x.shape) - len(mask.shape)):
        mask = ops.expand_dims(mask, -1)
    return ops.broadcast_to(mask, ops.shape(x))


def masked_mean(x, axes, mask=None, synchronized=False):
    """The mean of `x` over `axes`, of the entries where `mask` is True.

    Args:
        x: a float tensor.
        axes: the axes to reduce.
        mask: None (every entry counts) or a bool tensor of `x`'s shape
            (`broadcast_mask`). Masked entries are left out even when they
            are NaN or infinite. Where no entry is left, the mean is NaN.
        synchronized: all-reduce across `tf.distribute` replicas
            (`keras_lcw.backend_utils.batch_mean`).
    """
    if mask is None:
        return backend_utils.batch_mean(x, axes, synchronized=synchronized)
    x = ops.where(mask, x, ops.zeros_like(x))
    weights = ops.cast(mask, x.dtype)
    return backend_utils.batch_mean(
        x, axes, synchronized=synchronized
    ) / backend_utils.batch_mean(weights, axes, synchronized=synchronized)
