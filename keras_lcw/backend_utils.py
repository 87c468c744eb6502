"""The only backend-specific code in keras_lcw.

`keras.ops` has no gradient transform, so the derivative of an arbitrary
elementwise activation needs each backend's automatic differentiation; what
a batch is under distribution differs between backends; a custom
gradient does not survive PyTorch's ONNX export; and `keras.ops.sin` and
`cos` lose float64 on JAX. Nothing here imports the
rest of keras_lcw: every other module may import this one.
"""

import keras
from keras import ops


def value_and_elementwise_derivative(fn, x, differentiable=False):
    """Returns `(fn(x), fn'(x))` for an elementwise `fn` and a float tensor `x`.

    Because `fn` acts elementwise, the gradient of `sum(fn(x))` with respect to
    `x` is the derivative at every entry. No gradient flows back through the
    returned derivative, unless `differentiable` is True: then it is a
    differentiable function of `x` (a second derivative flows back through
    it, as `ANAct(statistics_gradient=True)` needs).
    """
    backend = keras.backend.backend()
    x = ops.convert_to_tensor(x)
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(x)
            y = fn(x)
        # Taken outside the inner tape's block, the gradient is recorded by
        # any enclosing tape, which can then differentiate it.
        derivative = tape.gradient(y, x)
        if not differentiable:
            derivative = tf.stop_gradient(derivative)
        return y, derivative
    if backend == "jax":
        import jax

        y, vjp = jax.vjp(fn, x)
        (derivative,) = vjp(jax.numpy.ones_like(y))
        if not differentiable:
            derivative = jax.lax.stop_gradient(derivative)
        return y, derivative
    if backend == "torch":
        import torch

        if differentiable and x.requires_grad:
            with torch.enable_grad():
                y = fn(x)
                (derivative,) = torch.autograd.grad(
                    y.sum(), x, create_graph=True
                )
            return y, derivative
        with torch.enable_grad():
            leaf = x.detach().requires_grad_(True)
            y = fn(leaf)
            (derivative,) = torch.autograd.grad(y.sum(), leaf)
        return fn(x), derivative.detach()
    raise NotImplementedError(
        f"keras_lcw supports the tensorflow, jax and torch backends; the "
        f"current backend is {backend!r}."
    )


def is_concrete(x):
    """Whether the values of the tensor `x` can be read now: False while a
    backend traces a graph (TensorFlow outside eager execution, a JAX
    tracer), where `x` is symbolic."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return not tf.is_symbolic_tensor(x)
    if backend == "jax":
        import jax

        return not isinstance(x, jax.core.Tracer)
    return True


def batch_mean(x, axes, synchronized=False):
    """The mean of `x` over `axes`: a batch statistic.

    With `synchronized=True` on the TensorFlow backend, inside a
    `tf.distribute` replica context, the sums are all-reduced across
    replicas (through `keras.ops.moments`, as
    `keras.layers.BatchNormalization(synchronized=True)` does), so every
    replica gets the mean of the global batch; outside one it is the local
    mean. On JAX, `keras.distribution` runs one program over the global
    (sharded) batch, so the mean is global whatever the flag; on PyTorch
    Keras has no multi-replica training. On both the flag changes nothing.

    Without it the mean is a sum divided by a count, not `keras.ops.mean`,
    which computes float64 inputs in float32 on PyTorch and JAX.
    """
    if synchronized and keras.backend.backend() == "tensorflow":
        mean, _ = ops.moments(x, axes, synchronized=True)
        return mean
    shape = ops.shape(x)
    count = 1
    for a in axes:
        count = count * shape[a]
    return ops.sum(x, axis=axes) / ops.cast(count, x.dtype)


def static_length(tensor, axis=0):
    """`tensor.shape[axis]` as a Python int, or None where it is dynamic.

    The numerics branch on lengths that are fixed when a layer is built (a
    kernel's fan-in, the feature axis of its input). The torch tracer behind
    `torch.onnx` export returns every size as a traced tensor, whose use as a
    Python number raises a `TracerWarning` and is recorded as a constant all
    the same; there the size is read with the tracer paused.
    """
    length = tensor.shape[axis]
    if length is None or isinstance(length, int):
        return length
    if keras.backend.backend() == "torch":
        import torch

        state = torch._C._get_tracing_state()
        if state is not None:
            torch._C._set_tracing_state(None)
            try:
                return int(tensor.shape[axis])
            finally:
                torch._C._set_tracing_state(state)
    return int(length)


def sin_cos(x):
    """`(sin x, cos x)` by the backend's own functions, in `x`'s dtype.

    `keras.ops.sin` and `cos` compute float64 inputs in float32 on JAX (with
    jax_enable_x64); `jax.numpy` keeps float64.
    """
    if keras.backend.backend() == "jax":
        import jax.numpy as jnp

        return jnp.sin(x), jnp.cos(x)
    return ops.sin(x), ops.cos(x)


def custom_gradient(fn):
    """`keras.ops.custom_gradient(fn)`, except on PyTorch, where it is `fn`'s
    forward pass alone, left to autograd; so `fn`'s forward pass must be
    differentiable, with the same gradient.

    Keras runs a custom gradient on PyTorch as a `torch.autograd.Function`,
    which the ONNX exporter cannot trace; and op by op, as PyTorch runs, a
    written-out gradient saves no measurable time.
    """
    if keras.backend.backend() == "torch":
        return lambda *args: fn(*args)[0]
    return ops.custom_gradient(fn)
