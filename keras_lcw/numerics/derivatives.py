"""Exact derivatives of Keras's elementwise activations, in `keras.ops`.

ANAct needs `f'(x)` on every training step. For the built-in activations the
derivative is written out here, so it costs one elementwise pass and is
exact (the value at a kink is a convention that has measure zero under any
continuous input). Keyword arguments are Keras's defaults: `leaky_relu` has
slope 0.2, `elu` and `celu` alpha 1, `gelu` is the exact (erf) form,
`squareplus` has b = 4, the shrink functions a threshold of 0.5.

Any other callable is taken to be elementwise and differentiated by the
backend (`keras_lcw.backend_utils.value_and_elementwise_derivative`).
"""

import math

import keras
from keras import ops

from keras_lcw import backend_utils

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _inside(x, low, high):
    """1 where low < x < high, else 0, in x's dtype."""
    return ops.cast(ops.logical_and(x > low, x < high), x.dtype)


def _positive(x):
    return ops.cast(x > 0, x.dtype)


def _sigmoid_derivative(x):
    s = ops.sigmoid(x)
    return s * (1.0 - s)


def _gelu_derivative(x):
    cdf = 0.5 * (1.0 + ops.erf(x / math.sqrt(2.0)))
    return cdf + x * ops.exp(-0.5 * ops.square(x)) / math.sqrt(2.0 * math.pi)


def _silu_derivative(x):
    s = ops.sigmoid(x)
    return s * (1.0 + x * (1.0 - s))


def _mish_derivative(x):
    t = ops.tanh(ops.softplus(x))
    return t + x * ops.sigmoid(x) * (1.0 - ops.square(t))


def _exp_left(x, slope_right, alpha):
    """Derivative of a function equal to x (scaled) right of 0 and
    alpha * (exp(x) - 1) left of it."""
    return ops.where(x > 0, slope_right, alpha * ops.exp(ops.minimum(x, 0.0)))


_DERIVATIVES_BY_NAME = {
    "linear": ops.ones_like,
    "relu": _positive,
    "leaky_relu": lambda x: ops.where(x > 0, 1.0, 0.2),
    "relu6": lambda x: _inside(x, 0.0, 6.0),
    "elu": lambda x: _exp_left(x, 1.0, 1.0),
    "selu": lambda x: _SELU_SCALE
    * _exp_left(x, 1.0, _SELU_ALPHA),
    "celu": lambda x: _exp_left(x, 1.0, 1.0),
    "gelu": _gelu_derivative,
    "silu": _silu_derivative,
    "mish": _mish_derivative,
    "tanh": lambda x: 1.0 - ops.square(ops.tanh(x)),
    "sigmoid": _sigmoid_derivative,
    "hard_sigmoid": lambda x: _inside(x, -3.0, 3.0) / 6.0,
    "hard_silu": lambda x: ops.where(
        x < -3.0, 0.0, ops.where(x > 3.0, 1.0, x / 3.0 + 0.5)
    ),
    "softplus": ops.sigmoid,
    "softsign": lambda x: 1.0 / ops.square(1.0 + ops.abs(x)),
    "log_sigmoid": lambda x: ops.sigmoid(-x),
    "exponential": ops.exp,
    "sparse_plus": lambda x: ops.clip(0.5 * (x + 1.0), 0.0, 1.0),
    "squareplus": lambda x: 0.5
    * (1.0 + x / ops.sqrt(ops.square(x) + 4.0)),
    "sparse_sigmoid": lambda x: 0.5 * _inside(x, -1.0, 1.0),
    "soft_shrink": lambda x: 1.0 - _inside(x, -0.5, 0.5),
    "hard_shrink": lambda x: 1.0 - _inside(x, -0.5, 0.5),
    "hard_tanh": lambda x: _inside(x, -1.0, 1.0),
    "tanh_shrink": lambda x: ops.square(ops.tanh(x)),
}

# Built-ins that mix entries along an axis or need arguments without
# defaults: a per-entry derivative does not describe them.
_NOT_ELEMENTWISE_NAMES = (
    "softmax", "log_softmax", "sparsemax", "glu", "threshold",
)

# Keyed by the installed Keras's functions; older releases lack some names.
_DERIVATIVES = {
    getattr(keras.activations, name): derivative
    for name, derivative in _DERIVATIVES_BY_NAME.items()
    if hasattr(keras.activations, name)
}
_NOT_ELEMENTWISE = tuple(
    getattr(keras.activations, name)
    for name in _NOT_ELEMENTWISE_NAMES
    if hasattr(keras.activations, name)
)

# Every name `keras.activations.get` resolves to an entry of the table.
BUILT_IN_NAMES = tuple(
    sorted(
        {fn.__name__ for fn in _DERIVATIVES}
        | {n for n in ("swish", "hard_swish") if hasattr(keras.activations, n)}
    )
)


def get_elementwise(activation, argument="activation"):
    """Resolves `activation` like `keras.activations.get`, refusing built-ins
    that are not elementwise (softmax, glu, ...)."""
    fn = keras.activations.get(activation)
    if fn in _NOT_ELEMENTWISE:
        raise ValueError(
            f"`{argument}` must act elementwise; received "
            f"{argument}={activation!r}, which mixes entries along an axis "
            "or has required arguments. Use an elementwise activation such "
            "as 'relu', 'tanh', 'gelu' or 'swish', or an elementwise callable."
        )
    return fn


def exact_derivative(fn):
    """The `keras.ops` derivative of a built-in activation, or None."""
    return _DERIVATIVES.get(fn)


def value_and_derivative(fn, x, differentiable=False):
    """Returns `(fn(x), fn'(x))`: exact for built-ins, else by autodiff.

    No gradient flows through the returned derivative, unless
    `differentiable` is True (then a second derivative flows back through
    it).
    """
    derivative = exact_derivative(fn)
    if derivative is None:
        return backend_utils.value_and_elementwise_derivative(
            fn, x, differentiable=differentiable
        )
    value = ops.cast(derivative(x), x.dtype)
    if not differentiable:
        value = ops.stop_gradient(value)
    # Keras computes some activations of float64 inputs in float32 (tanh on
    # JAX).
    return ops.cast(fn(x), x.dtype), value
