"""Validation of the constructor arguments that keras_lcw layers share.

Every layer checks its arguments in `__init__` with these functions, so an
argument means the same thing, and is refused with the same message, in
every layer. Each function takes the argument's name and the received value,
and returns the value in its canonical form (a Python `int`, `float`, `bool`
or list), which is what the layer stores and what its config holds.

Every refusal is a `ValueError` that names the argument, shows the received
value with `repr` and says what is allowed, e.g.

    `momentum` must be a number in [0, 1); received momentum='0.9'.

`ValueError` also for values of the wrong type (a string where a number is
expected), as Keras's own layers do. Booleans are refused wherever a number
or an axis is expected, although Python counts them as integers: `axis=True`
is a mistake, not axis 1. NumPy integers and floats are accepted where
Python's are.

At build time, `input_axes` checks axes against the input's rank; in
`call`, `real_inputs` refuses complex inputs.
"""

import math
import numbers

import keras
import numpy as np

__all__ = [
    "axes",
    "axis",
    "boolean",
    "choice",
    "input_axes",
    "momentum",
    "non_negative_float",
    "optional_float_at_least",
    "positive_float",
    "positive_int",
    "real_inputs",
]


def _refuse(name, value, allowed):
    raise ValueError(f"`{name}` must be {allowed}; received {name}={value!r}.")


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_finite_real(value):
    return _is_real(value) and math.isfinite(float(value))


def boolean(name, value):
    """Returns `value` if it is `True` or `False`.

    Truthy values (1, "yes", None) are refused: a flag is a bool.

    Args:
        name: the argument's name, for the message.
        value: the received value.

    Returns:
        `value`, a `bool`.

    Raises:
        ValueError: `value` is not a `bool` (NumPy's `bool_` included).
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    _refuse(name, value, "True or False")


def positive_int(name, value):
    """Returns `value` as an `int` if it is an integer greater than 0.

    For sizes: `units`, `filters`, `batch_size`.

    Args:
        name: the argument's name, for the message.
        value: the received value.

    Returns:
        `int(value)`.

    Raises:
        ValueError: `value` is not an integer (bools and floats such as
            `3.0` included) or is not positive.
    """
    if not _is_int(value) or value <= 0:
        _refuse(name, value, "a positive integer")
    return int(value)


def axis(name, value):
    """Returns `value` as an `int` if it is an integer (one axis).

    Its range is checked when the input's rank is known (`input_axes`).

    Args:
        name: the argument's name, for the message.
        value: the received value.

    Returns:
        `int(value)`.

    Raises:
        ValueError: `value` is not an integer (a bool included).
    """
    if not _is_int(value):
        _refuse(name, value, "an integer")
    return int(value)


def axes(name, value, allow_none=True):
    """Returns `value` as a list of distinct `int`s (or `None`).

    Accepts `None` (when `allow_none`), one integer, or a non-empty list or
    tuple of distinct integers. One integer `a` becomes `[a]`. Whether two
    different integers (1 and -1) name the same axis depends on the input's
    rank; `input_axes` checks that.

    Args:
        name: the argument's name, for the message.
        value: the received value.
        allow_none: whether `None` is accepted (and returned).

    Returns:
        `None` or a list of `int`.

    Raises:
        ValueError: `value` is none of the above (bools, floats, strings,
            empty or repeated lists).
    """
    if value is None and allow_none:
        return None
    if _is_int(value):
        return [int(value)]
    if (
        isinstance(value, (list, tuple))
        and value
        and all(_is_int(a) for a in value)
        and len(set(int(a) for a in value)) == len(value)
    ):
        return [int(a) for a in value]
    allowed = "an integer or a non-empty list of distinct integers"
    if allow_none:
        allowed = "None, " + allowed
    _refuse(name, value, allowed)


def momentum(name, value):
    """Returns `value` as a `float` if it is a real number in [0, 1).

    For the momentum of a moving average: 0 keeps only the last batch; 1
    would never move, and is refused.

    Args:
        name: the argument's name, for the message.
        value: the received value.

    Returns:
        `float(value)`.

    Raises:
        ValueError: `value` is not a real number (strings and bools
            included), or is outside [0, 1) (NaN included).
    """
    if not _is_real(value) or not 0.0 <= float(value) < 1.0:
        _refuse(name, value, "a number in [0, 1)")
    return float(value)


# The range of normal float32 numbers: the variables and statistics that
# these constants meet are float32, where a smaller epsilon rounds (or, with
# denormals flushed, as XLA does on CPU, goes) to 0 and a larger one to inf.
_FLOAT32_TINY = float(np.finfo(np.float32).tiny)
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_POSITIVE_FLOAT_RANGE = (
    f"a finite number greater than 0, from {_FLOAT32_TINY:.4g} to "
    f"{_FLOAT32_MAX:.4g} (float32's normal range)"
)
_NON_NEGATIVE_FLOAT_RANGE = (
    "a finite number greater than or equal to 0, at most "
    f"{_FLOAT32_MAX:.4g} (float32's largest)"
)


def positive_float(name, value):
    """Returns `value` as a `float` if it is a real number above 0 that is
    a normal float32 number.

    For `epsilon` and other small positive constants; `inf`, `nan` and
    numbers outside float32's normal range are refused (an infinite epsilon
    silently zeroes a layer's output, one that rounds to 0 gives NaN).

    Args:
        name: the argument's name, for the message.
        value: the received value.

    Returns:
        `float(value)`.

    Raises:
        ValueError: `value` is not a real number (strings and bools
            included), is not finite, or is not greater than 0.
    """
    if not _is_finite_real(value) or not _FLOAT32_TINY <= float(value) <= _FLOAT32_MAX:
        _refuse(
            name,
            value,
            _POSITIVE_FLOAT_RANGE,
        )
    return float(value)


def non_negative_float(name, value):
    """Returns `value` as a `float` if it is a finite real number >= 0 and
    at most float32's largest.

    For ranges and sizes where 0 means "none" (`ANAct(gain_range=0)`).

    Args:
        name: the argument's name, for the message.
        value: the received value.

    Returns:
        `float(value)`.

    Raises:
        ValueError: `value` is not a real number (strings and bools
            included), is not finite, or is negative.
    """
    if not _is_finite_real(value) or not 0.0 <= float(value) <= _FLOAT32_MAX:
        _refuse(
            name,
            value,
            _NON_NEGATIVE_FLOAT_RANGE,
        )
    return float(value)


def optional_float_at_least(name, value, minimum):
    """Returns `None`, or `value` as a `float` if it is a finite real number
    at least `minimum`.

    For optional bounds (`ANAct(max_scale=None)` is no bound).

    Args:
        name: the argument's name, for the message.
        value: the received value.
        minimum: the smallest value allowed.

    Returns:
        `None` or `float(value)`.

    Raises:
        ValueError: `value` is neither `None` nor a finite real number of at
            least `minimum` (strings and bools included).
    """
    if value is None:
        return None
    if not _is_finite_real(value) or not float(value) >= minimum:
        _refuse(name, value, f"None or a finite number of at least {minimum:g}")
    return float(value)


def choice(name, value, options):
    """Returns `value` if it is one of the strings `options`.

    Args:
        name: the argument's name, for the message.
        value: the received value.
        options: the allowed strings.

    Returns:
        `value`, a `str`.

    Raises:
        ValueError: `value` is not one of `options` (case matters).
    """
    if isinstance(value, str) and value in options:
        return value
    _refuse(name, value, "one of " + ", ".join(repr(o) for o in options))


def input_axes(layer, name, value, input_shape, known_sizes=True):
    """Checks axes against an input shape; returns them sorted, from 0.

    For use in `build`: every entry of `value` (a list from `axes`, or one
    integer from `axis`) must be a non-batch axis of an input of rank
    `len(input_shape)`, that is in [1, rank) or [-rank + 1, 0), and, once
    made non-negative, the entries must be distinct.

    Args:
        layer: the layer, named in the message.
        name: the argument's name, for the message.
        value: an integer or a list of integers.
        input_shape: the input shape, batch axis first.
        known_sizes: if True, the sizes of the axes must be known (not
            `None`).

    Returns:
        A sorted list of non-negative `int`.

    Raises:
        ValueError: an axis is out of range or is the batch axis; two
            entries name the same axis; a size is unknown.
    """
    rank = len(input_shape)
    entries = [value] if _is_int(value) else list(value)
    prefix = f"{type(layer).__name__} '{layer.name}'"
    resolved = []
    for a in entries:
        if not -rank <= a < rank or a % rank == 0:
            raise ValueError(
                f"{prefix}: every entry of `{name}` must be a non-batch axis "
                f"of the input, in 1 to {rank - 1} or {1 - rank} to -1 for "
                f"an input of rank {rank}; received {name}={value!r} for "
                f"input_shape={tuple(input_shape)}."
            )
        resolved.append(a % rank)
    if len(set(resolved)) != len(resolved):
        raise ValueError(
            f"{prefix}: `{name}` must name distinct axes; received "
            f"{name}={value!r} for input_shape={tuple(input_shape)}."
        )
    if known_sizes and any(input_shape[a] is None for a in resolved):
        raise ValueError(
            f"{prefix} needs known sizes along {name}={value!r}; received "
            f"input_shape={tuple(input_shape)}."
        )
    return sorted(resolved)


def real_inputs(layer, inputs):
    """Raises a `TypeError` where `inputs` are complex.

    The layers cast their inputs to a float dtype, which would keep the
    real part of complex ones without a word.
    """
    dtype = keras.backend.standardize_dtype(inputs.dtype)
    if dtype.startswith("complex"):
        raise TypeError(
            f"{type(layer).__name__} '{layer.name}' takes real inputs (float, "
            f"integer or bool); received inputs of dtype {dtype}."
        )
