"""Batch statistics: masked means in the input's precision, and moments.

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


def moments(x, axes):
    """The mean and variance of `x` over `axes`, shifted by the first entry.

    `keras.ops.moments` computes the variance as `E[x^2] - E[x]^2` on
    PyTorch, which is off by about float rounding times `E[x^2]` (and can be
    negative) where the variance is small against the mean. Here the first
    entry along `axes` is subtracted first and the variance is the mean of
    the squared deviations from the mean of the differences: exactly 0 for
    a constant, and off by about the rounding of the spread alone.
    """
    x = ops.convert_to_tensor(x)
    axes = [axis % len(x.shape) for axis in axes]
    first = tuple(
        slice(0, 1) if axis in axes else slice(None) for axis in range(len(x.shape))
    )
    # The mean of the one entry is that entry (NaN for an empty batch).
    shift = ops.mean(x[first], axis=axes, keepdims=True)
    difference = x - shift
    mean = ops.mean(difference, axis=axes, keepdims=True)
    variance = ops.mean(ops.square(difference - mean), axis=axes)
    return ops.squeeze(shift + mean, axis=axes), variance
