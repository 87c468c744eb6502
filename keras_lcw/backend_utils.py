"""The only backend-specific code in keras_lcw.

`keras.ops` has no gradient transform, so the derivative of an arbitrary
elementwise activation needs each backend's automatic differentiation; what
a batch is under distribution differs between backends; a custom
gradient does not survive PyTorch's ONNX export; `keras.ops.sin`, `cos`,
`arctan2` and `cumsum` lose float64 on JAX or PyTorch. It also holds the
fused implementations of the hyperspherical map (`fused_unit_vectors`), of
the column norms of weight normalization (`fused_inverse_norms`), of a
weight-normalized Dense layer's product (`fused_scaled_matmul`), of the
shifts of the zero-sum map of rows (`fused_row_shifts`) and of an LCW Dense
layer's product (`fused_zero_sum_product`), each tested equal
to the portable `keras.ops` one, which stays the reference and the
fallback. Nothing here imports the rest of keras_lcw: every other module
may import this one.
"""

import contextlib
import functools
import os

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
    tracer) and for a PyTorch tensor on the "meta" device (Keras builds a
    layer on it where it infers shapes, in `fit` for a model not built
    before), where `x` has a shape but no values."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return not tf.is_symbolic_tensor(x)
    if backend == "jax":
        import jax

        return not isinstance(x, jax.core.Tracer)
    return not getattr(x, "is_meta", False)


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


def first_replica_value(value, present):
    """`value` of the first `tf.distribute` replica where `present` holds,
    elementwise, on every replica (the first replica's where it holds on
    none): on TensorFlow inside a replica context of several replicas, by
    one all-reduce of every replica's values and flags. Elsewhere `value`
    itself: there is one replica, or (JAX with `keras.distribution`) one
    program over the global batch.

    Exact: each replica's values are summed with zeros only. No gradient
    flows through the result.
    """
    if keras.backend.backend() != "tensorflow":
        return value
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return value
    replicas = context.num_replicas_in_sync
    value = tf.stop_gradient(value)
    here = tf.equal(tf.range(replicas), context.replica_id_in_sync_group)
    here = tf.reshape(here, (replicas, 1) + (1,) * len(value.shape))
    own = tf.stack([value, tf.cast(present, value.dtype)])[None]
    gathered = context.all_reduce(
        tf.distribute.ReduceOp.SUM, tf.where(here, own, tf.zeros_like(own))
    )
    values, flags = gathered[:, 0], gathered[:, 1] > 0
    first = tf.one_hot(
        tf.argmax(tf.cast(flags, "int32"), axis=0), replicas, axis=0,
        on_value=True, off_value=False,
    )
    return tf.reduce_sum(tf.where(first, values, tf.zeros_like(values)), axis=0)


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


def arctan2(y, x):
    """`keras.ops.arctan2(y, x)` in the inputs' dtype.

    Keras computes float64 inputs in float32 on JAX and PyTorch (its result
    type of float64 and a Python float is float32 there).
    """
    backend = keras.backend.backend()
    if backend == "jax":
        import jax.numpy as jnp

        return jnp.arctan2(y, x)
    if backend == "torch":
        import torch

        return torch.atan2(y, x)
    return ops.arctan2(y, x)


def cumsum(x, axis):
    """`keras.ops.cumsum(x, axis)` in `x`'s dtype: Keras's gives float32
    for float64 on PyTorch."""
    if keras.backend.backend() == "torch":
        import torch

        return torch.cumsum(x, dim=axis)
    return ops.cumsum(x, axis=axis)


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


# Fused implementations: on unless KERAS_LCW_FUSED is "0" (or "false", "no",
# "off") when keras_lcw is imported; `set_fused` changes it.
_fused = os.environ.get("KERAS_LCW_FUSED", "1").strip().lower() not in (
    "0",
    "false",
    "no",
    "off",
)


def set_fused(enabled):
    """Turns the backend-specific fused implementations (`fused_unit_vectors`,
    `fused_inverse_norms`, `fused_scaled_matmul`, `fused_row_shifts`,
    `fused_zero_sum_product`) on or off for the whole process; off, every
    backend runs the portable `keras.ops` code. The default is on, or off
    where the environment variable `KERAS_LCW_FUSED` is "0" when keras_lcw
    is imported. It takes effect where a function is traced next: a model
    already compiled keeps the path it was traced with. Returns the
    previous setting."""
    global _fused
    previous, _fused = _fused, bool(enabled)
    return previous


def fused_enabled():
    """Whether the fused implementations are on (`set_fused`)."""
    return _fused


@contextlib.contextmanager
def portable():
    """Within the block, the portable `keras.ops` code runs on every
    backend, as with `set_fused(False)`."""
    previous = set_fused(False)
    try:
        yield
    finally:
        set_fused(previous)


def fused_unit_vectors(angles, tiny, forward, backward):
    """The hyperspherical map of a 2-D float32 or float64 tensor of angles
    (`keras_lcw.numerics.hyperspherical`), with its gradient, fused for the
    backend; None where the portable code is to run: inside a function JAX
    traces (which compiles the portable code with XLA already), while
    PyTorch traces a graph for export, or when `set_fused(False)`.

    `tiny` is the sine below which sines are moved up (`tiny` to `3 tiny`);
    `forward(angles)` returns `(vectors, saved)` and `backward(saved,
    upstream)` the gradient, in `keras.ops`, with sine and cosine as XLA
    compiles them best (`forward` is the portable one's, `compiled=True`).

    - TensorFlow: `forward` and `backward` compiled with XLA
      (`tf.function(jit_compile=True)`), joined by `tf.custom_gradient`, so
      that the map runs as a few fused loops even where Keras runs the model
      without XLA (on CPU); inside a model compiled with XLA they are part of
      its computation. Only while a gradient tape records: a forward pass
      alone (inference, export) runs the portable ops.
    - PyTorch: a `torch.autograd.Function` that runs the map in about a
      dozen passes over the angles (`_torch_unit_vectors`), where the
      portable code, op by op, takes about ninety.
    - JAX, on concrete arrays (a layer called eagerly, outside `jax.jit`):
      `forward` compiled as one program with `jax.jit`. Op by op, JAX
      compiles each of the map's ninety-odd operations for every new shape
      and dispatches each on every call. No gradient is recorded there:
      JAX differentiates only what it traces, and traced, the portable code
      is part of the traced program.
    """
    if not _fused:
        return None
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return _tf_compiled_in_train_step(forward, backward, angles)
    if backend == "torch":
        if _torch_traced():
            return None
        return _torch_unit_vectors().apply(angles, tiny)
    if backend == "jax" and is_concrete(angles):
        return _jax_compiled_map(forward)(angles)
    return None


def fused_inverse_norms(columns, forward, backward):
    """The inverse norm of each column of a 2-D tensor
    (`keras_lcw.numerics.norms`), with its gradient, fused for the backend;
    None where the portable code is to run: on JAX (which compiles it with
    XLA already), on PyTorch (where a fused function measured no faster),
    when `set_fused(False)`, and on TensorFlow outside a train step.

    `forward(columns)` returns `(inverse_norms, saved)` and
    `backward(saved, upstream)` the gradient, in `keras.ops`. TensorFlow
    compiles both with XLA and joins them with `tf.custom_gradient`, as for
    `fused_unit_vectors`: the norms of a Dense kernel then take one pass over
    it forward and one backward.
    """
    if not _fused or keras.backend.backend() != "tensorflow":
        return None
    return _tf_compiled_in_train_step(forward, backward, columns)


def fused_scaled_matmul(rows, columns, norm):
    """`(rows @ columns) * (norm / |columns|)`, the product of a
    weight-normalized Dense layer (`keras_lcw.parameterizations.weight_norm`),
    with `1 / |column|` taken as 1 on a zero column, on PyTorch as one
    `torch.autograd.Function` (`_torch_scaled_matmul`); None elsewhere,
    while PyTorch traces a graph for export, and when `set_fused(False)`:
    there the portable `keras.ops` code runs.

    `rows` is `(..., fan_in)`, `columns` `(fan_in, units)` and `norm`
    `(units,)`, tensors or Keras variables of one float dtype. Autograd
    computes the gradient of `columns` as two kernel-sized tensors, the
    product's and the norms', and adds them; written out, it is one product
    into which the norms' share `-columns * norm * a / |columns|^3` (with
    `a` the upstream gradient summed against the unscaled product) is
    accumulated in place: one kernel-sized tensor, as for a plain Dense
    layer.
    """
    if not _fused or keras.backend.backend() != "torch" or _torch_traced():
        return None
    return _torch_scaled_matmul().apply(
        *(_torch_tensor(x) for x in (rows, columns, norm))
    )


@functools.cache
def _torch_scaled_matmul():
    """`fused_scaled_matmul` as a `torch.autograd.Function` (created once)."""
    import torch

    class ScaledMatmul(torch.autograd.Function):
        @staticmethod
        def forward(ctx, rows, columns, norm):
            flat = rows.reshape(-1, rows.shape[-1])
            squared = torch.sum(torch.square(columns), 0)
            inverse = torch.rsqrt(
                torch.where(squared > 0, squared, torch.ones_like(squared))
            )
            product = torch.matmul(flat, columns)
            ctx.rows_shape = rows.shape
            ctx.save_for_backward(flat, columns, norm, inverse, product)
            return (product * (norm * inverse)).reshape(
                rows.shape[:-1] + columns.shape[-1:]
            )

        @staticmethod
        @torch.autograd.function.once_differentiable
        def backward(ctx, upstream):
            flat, columns, norm, inverse, product = ctx.saved_tensors
            upstream = upstream.reshape(product.shape)
            # The gradient of the per-unit scale norm / |column|.
            along = torch.sum(upstream * product, 0)
            scaled = upstream * (norm * inverse)
            rows_gradient = columns_gradient = norm_gradient = None
            if ctx.needs_input_grad[0]:
                rows_gradient = torch.matmul(scaled, columns.t()).reshape(
                    ctx.rows_shape
                )
            if ctx.needs_input_grad[1]:
                columns_gradient = torch.matmul(flat.t(), scaled)
                columns_gradient.addcmul_(
                    columns, (inverse * inverse * inverse) * norm * along, value=-1
                )
            if ctx.needs_input_grad[2]:
                norm_gradient = along * inverse
            return rows_gradient, columns_gradient, norm_gradient

    return ScaledMatmul


def fused_row_shifts(rows, c, inv_root):
    """`rows @ (c, ..., c, inv_root)^T` (the shifts of
    `keras_lcw.numerics.zero_sum.zero_sum_to_coordinates` along the last
    axis) on PyTorch, by `torch.matmul` with the vector made once per
    length, dtype and device; None elsewhere, while PyTorch traces a graph
    for export (whose fake tensors must not be cached), and when
    `set_fused(False)`: there the portable `keras.ops.matmul` with a
    constant runs.

    On PyTorch each `keras.ops` call costs microseconds of Python (dtype
    checks, conversions) around a product of a few thousand numbers, so
    that the portable map measured as slow as the sum it replaces.
    """
    if not _fused or keras.backend.backend() != "torch" or _torch_traced():
        return None
    import torch

    vector = _torch_row_shift_vector(
        rows.shape[-1], c, inv_root, rows.dtype, rows.device
    )
    return torch.matmul(rows, vector)


def fused_zero_sum_product(rows, coordinates, c, inv_root):
    """`(rows B) @ coordinates`, the product of an `LCWDense` layer
    (`keras_lcw.parameterizations.lcw.coordinates_preactivation`; B the
    zero-sum basis with constants `c` and `inv_root`, coordinates
    `(m - 1, units)` for rows `(..., m)` of the same float dtype), on PyTorch
    in torch operations, autograd's to differentiate; None where
    `fused_row_shifts` is.

    Each `keras.ops` call costs microseconds of Python on PyTorch (dtype
    checks, conversions), as much as the arithmetic of a width-100 layer,
    and the portable map takes four of them more than a Dense layer's
    product: in a deep model of small layers, most of what LCW adds to a
    step. Where `rows x m x (m - 1)` is at most `_TORCH_BASIS_PRODUCT`
    multiply-adds, `rows B` is one product with B written out (made once
    per length, dtype and device), whose gradient is one more, where the
    row shifts' slice, difference and product take three autograd nodes and
    five operations backward; above it, B's product costs more than those
    operations and the shifts are taken (`fused_row_shifts`).
    """
    if not _fused or keras.backend.backend() != "torch" or _torch_traced():
        return None
    import torch

    coordinates = _torch_tensor(coordinates)
    length = rows.shape[-1]
    if rows.numel() * (length - 1) <= _TORCH_BASIS_PRODUCT:
        basis = _torch_basis(length, c, inv_root, rows.dtype, rows.device)
        return torch.matmul(torch.matmul(rows, basis), coordinates)
    vector = _torch_row_shift_vector(length, c, inv_root, rows.dtype, rows.device)
    return torch.matmul(rows[..., :-1] - torch.matmul(rows, vector), coordinates)


# Where `fused_zero_sum_product` multiplies by B written out: the products
# measured as fast as the shifts, forward and backward, at about 2.5 million
# multiply-adds (256 rows of 100, or 1024 of 64, on 2 CPU cores), and 20%
# faster at 64 rows of 100.
_TORCH_BASIS_PRODUCT = 2**21


@functools.cache
def _torch_basis(length, c, inv_root, dtype, device):
    """B, `(length, length - 1)`: `e_k - c` above its last row, and
    `-inv_root` in it."""
    import torch

    # Outside inference mode, as `_torch_row_shift_vector`.
    with torch.inference_mode(False):
        basis = torch.eye(length, length - 1, dtype=dtype, device=device) - c
        basis[-1] = -inv_root
    return basis


@functools.cache
def _torch_row_shift_vector(length, c, inv_root, dtype, device):
    import torch

    # Outside inference mode even when called in it: an inference tensor,
    # once cached, could not be saved for a later backward pass.
    with torch.inference_mode(False):
        vector = torch.full((length, 1), c, dtype=dtype, device=device)
        vector[-1] = inv_root
    return vector


@functools.cache
def _jax_compiled_map(forward):
    import jax

    return jax.jit(lambda x: forward(x)[0])


def _tf_compiled_in_train_step(forward, backward, x):
    """`forward(x)[0]` with the gradient `backward`, both compiled with XLA,
    while a gradient tape records; else None."""
    if not _tf_gradient_could_be_recorded():
        return None
    return _tf_xla_custom_gradient(forward, backward)(x)


def _tf_gradient_could_be_recorded():
    """Whether a `tf.GradientTape` is recording (a train step): only there
    does the TensorFlow map run compiled with XLA. Inference, and graphs
    traced for export (SavedModel, tf2onnx, which cannot convert an
    XLA-compiled function), get the portable ops. Where TensorFlow no
    longer tells, always."""
    try:
        from tensorflow.python.eager import record
    except ImportError:  # pragma: no cover - a TensorFlow without it
        return True
    could_possibly_record = getattr(record, "could_possibly_record", None)
    return could_possibly_record is None or bool(could_possibly_record())


@functools.cache
def _tf_xla_custom_gradient(forward, backward):
    """`x -> forward(x)[0]` with the gradient `backward(saved, upstream)`,
    both compiled with XLA; one per pair of functions, kept."""
    import tensorflow as tf

    forward_xla = tf.function(forward, jit_compile=True, autograph=False)
    backward_xla = tf.function(backward, jit_compile=True, autograph=False)

    @tf.custom_gradient
    def fn(x):
        result, saved = forward_xla(x)

        def gradient(upstream):
            return backward_xla(saved, upstream)

        return result, gradient

    return fn


def _torch_tensor(x):
    """The torch tensor of a Keras variable (its value in a stateless call
    too), or `x` itself: for the PyTorch paths above, without the Python of
    `keras.ops.convert_to_tensor` on every call."""
    return x.value if isinstance(x, keras.Variable) else x


def _torch_traced():
    """Whether PyTorch is tracing a graph (torch.onnx's tracer, torch.export,
    torch.compile), where a custom autograd function is left out."""
    import torch

    if torch._C._get_tracing_state() is not None:
        return True
    compiler = getattr(torch, "compiler", None)
    if compiler is None:
        return False
    if compiler.is_compiling():
        return True
    is_exporting = getattr(compiler, "is_exporting", None)
    return bool(is_exporting is not None and is_exporting())


@functools.cache
def _torch_unit_vectors():
    """The hyperspherical map as a `torch.autograd.Function` (created once).

    Forward: sin, cos, the tiny sines moved up, a prefix product of the
    sines (`_torch_scan_`, in place) and one multiplication into the
    output. Backward: g * u, a suffix sum (in place), then
    `cos t_j tail_j / sin t_j - g_j sin t_1 ... sin t_j` in three in-place
    passes. The same formulas as the portable code, in the same dtype.
    """
    import torch

    class UnitVectors(torch.autograd.Function):
        @staticmethod
        def forward(ctx, angles, tiny):
            angles = angles.contiguous()
            sines = torch.sin(angles)
            cosines = torch.cos(angles)
            sines.add_(sines.abs().lt_(tiny), alpha=2 * tiny)
            products = sines.clone()
            _torch_scan_(products, torch.Tensor.mul_, reverse=False)
            vectors = angles.new_empty((angles.shape[0] + 1,) + angles.shape[1:])
            vectors[0] = cosines[0]
            torch.mul(products[:-1], cosines[1:], out=vectors[1:-1])
            vectors[-1] = products[-1]
            ctx.save_for_backward(vectors, sines, cosines, products)
            return vectors

        @staticmethod
        @torch.autograd.function.once_differentiable
        def backward(ctx, upstream):
            vectors, sines, cosines, products = ctx.saved_tensors
            upstream = upstream.contiguous()
            tails = upstream[1:] * vectors[1:]
            _torch_scan_(tails, torch.Tensor.add_, reverse=True)
            tails.mul_(cosines).div_(sines)
            tails.addcmul_(upstream[:-1], products, value=-1)
            return tails, None

    return UnitVectors


_TORCH_BLOCK = 8


def _torch_scan_(x, combine_, reverse):
    """Inclusive scan along axis 0 of the 2-D torch tensor `x`, in place:
    `combine_(a, b)` sets a to a * b for an associative *; forward (prefix)
    or, with `reverse`, backward (suffix).

    A scan along axis 0 by torch.cumprod or cumsum runs one strided loop
    per column, many times slower than a pass over the rows. Here the rows
    are cut into blocks of `_TORCH_BLOCK`: one in-place operation per row of
    a block runs through all blocks at once, the blocks' totals are scanned
    the same way (recursively, in place), and one broadcast operation brings
    in the total of the blocks before each block; the rows past the last
    whole block follow on.
    """
    length = x.shape[0]
    block = _TORCH_BLOCK
    if length <= block:
        for i in range(length - 2, -1, -1) if reverse else range(1, length):
            combine_(x[i], x[i + 1] if reverse else x[i - 1])
        return
    blocks, rest = divmod(length, block)
    if reverse:
        head, whole = x[:rest], x[rest:]
    else:
        whole, head = x[: blocks * block], x[blocks * block :]
    grouped = whole.view(blocks, block, -1)
    if reverse:
        for i in range(block - 2, -1, -1):
            combine_(grouped[:, i], grouped[:, i + 1])
        _torch_scan_(grouped[:, 0], combine_, reverse)
        if blocks > 1:
            combine_(grouped[:-1, 1:], grouped[1:, :1])
        following = whole[0]
        for i in range(rest - 1, -1, -1):
            combine_(head[i], following)
            following = head[i]
    else:
        for i in range(1, block):
            combine_(grouped[:, i], grouped[:, i - 1])
        _torch_scan_(grouped[:, -1], combine_, reverse)
        if blocks > 1:
            combine_(grouped[1:, :-1], grouped[:-1, -1:])
        preceding = whole[-1]
        for i in range(rest):
            combine_(head[i], preceding)
            preceding = head[i]
