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


def masked_mean(x, axes, mask=None, synchronized=False, empty=float("nan")):
    """The mean of `x` over `axes`, of the entries where `mask` is True.

    Args:
        x: a float tensor.
        axes: the axes to reduce.
        mask: None (every entry counts) or a bool tensor of `x`'s shape
            (`broadcast_mask`). Masked entries are left out even when they
            are NaN or infinite.
        synchronized: all-reduce across `tf.distribute` replicas
            (`keras_lcw.backend_utils.batch_mean`).
        empty: the mean where no entry is left, NaN by default.
    """
    x = ops.convert_to_tensor(x)
    return masked_mean_function(axes, mask, synchronized, x.dtype, empty)(x)


def masked_mean_function(
    axes, mask=None, synchronized=False, dtype="float32", empty=float("nan")
):
    """`masked_mean` over `axes` with this `mask`, as a function of `x` (of
    `dtype`): the share of entries the mask keeps is computed once, for
    every `x`.
    """
    if mask is None:
        return lambda x: backend_utils.batch_mean(
            x, axes, synchronized=synchronized
        )
    share = backend_utils.batch_mean(
        ops.cast(mask, dtype), axes, synchronized=synchronized
    )
    kept = share > 0
    missing = ops.full_like(share, empty)

    def mean(x):
        x = ops.where(mask, x, ops.zeros_like(x))
        total = backend_utils.batch_mean(x, axes, synchronized=synchronized)
        return ops.where(kept, total / share, missing)

    return mean


def kept_entry(x, axes, mask=None):
    """One entry of `x` along `axes` that `mask` keeps, kept as axes of
    size 1: the first entry without a mask, the largest kept one with a
    mask, and 0 where no entry is kept.

    Deviations from it are exactly 0 for a constant `x`: subtracted before
    a variance is taken, it makes the variance of a constant exactly 0,
    where deviations from the mean alone are off by the mean's rounding.
    """
    axes = [axis % len(x.shape) for axis in axes]
    if mask is None:
        first = tuple(
            slice(0, 1) if axis in axes else slice(None)
            for axis in range(len(x.shape))
        )
        # A sum of one entry, which keeps a size-1 axis also for an empty
        # batch (and, unlike keras.ops.mean, float64 on every backend).
        return ops.sum(x[first], axis=axes, keepdims=True)
    lowest = ops.full_like(x, float("-inf"))
    entry = ops.max(ops.where(mask, x, lowest), axis=axes, keepdims=True)
    return ops.where(entry > float("-inf"), entry, ops.zeros_like(entry))


def common_kept_entry(x, axes, mask=None, synchronized=False):
    """`kept_entry`, with `synchronized=True` the same on every
    `tf.distribute` replica: that of the first replica that keeps an entry
    (`keras_lcw.backend_utils.first_replica_value`), so that deviations from
    it are exactly 0 for a batch that is constant across replicas too."""
    entry = kept_entry(x, axes, mask)
    if not synchronized:
        return entry
    kept = ops.ones_like(x, dtype="bool") if mask is None else mask
    # False where a replica's batch is empty or all masked.
    present = ops.any(kept, axis=axes, keepdims=True)
    return backend_utils.first_replica_value(entry, present)


def moments(x, axes):
    """The mean and variance of `x` over `axes`, shifted by the first entry.

    `keras.ops.moments` computes the variance as `E[x^2] - E[x]^2` on
    PyTorch, which is off by about float rounding times `E[x^2]` (and can be
    negative) where the variance is small against the mean. Here the first
    entry along `axes` is subtracted first (`kept_entry`) and the variance
    is the mean of the squared deviations from the mean of the differences:
    exactly 0 for a constant, and off by about the rounding of the spread
    alone.
    """
    x = ops.convert_to_tensor(x)
    axes = [axis % len(x.shape) for axis in axes]
    shift = kept_entry(x, axes)
    difference = x - shift
    mean = ops.mean(difference, axis=axes, keepdims=True)
    variance = ops.mean(ops.square(difference - mean), axis=axes)
    return ops.squeeze(shift + mean, axis=axes), variance
