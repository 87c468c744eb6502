"""LCW layers: Dense and convolutions whose kernels sum to zero per unit."""

import keras
from keras import ops

from keras_lcw import initializers as lcw_initializers
from keras_lcw.layers import reparameterized
from keras_lcw.numerics import zero_sum


class _CoordinatesInitializer(keras.initializers.Initializer):
    """Draws a full kernel and returns its zero-sum basis coordinates.

    `B^T w` discards the mean of `w` over the fan-in, so this is the
    coordinates of the drawn kernel's projection onto the zero-sum set.
    """

    def __init__(self, kernel_initializer, kernel_shape):
        self.kernel_initializer = kernel_initializer
        self.kernel_shape = kernel_shape

    def __call__(self, shape, dtype=None):
        kernel = self.kernel_initializer(self.kernel_shape, dtype=dtype)
        kernel = ops.reshape(kernel, (-1, self.kernel_shape[-1]))
        return zero_sum.zero_sum_to_coordinates(kernel)


class ZeroSumKernel(reparameterized.ReparameterizedKernel):
    """The LCW reparameterization, shared by LCWDense and LCWConvND.

    The trainable variable `kernel_coordinates` holds v of shape
    `(fan_in - 1, units)`; the kernel is `reshape(B v, kernel_shape)` with the
    O(fan_in) orthonormal basis B of `keras_lcw.numerics.zero_sum`.
    """

    plain_class = None

    def _resolved_kernel_initializer(self):
        if self.kernel_initializer is None:
            return lcw_initializers.scaled_initializer(self.activation)
        return self.kernel_initializer

    def _build_lcw(self, kernel_shape):
        fan_in = reparameterized.fan_in_of(kernel_shape)
        if fan_in < 2:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' needs a fan-in of at "
                "least 2 (the only zero-sum kernel with one input is 0); its "
                f"kernel would have shape {kernel_shape}."
            )
        self._kernel_shape = tuple(kernel_shape)
        regularizer = reparameterized.effective_regularizer(
            self.kernel_regularizer, self.effective_kernel
        )
        self.kernel_coordinates = self.add_weight(
            name="kernel_coordinates",
            shape=(fan_in - 1, kernel_shape[-1]),
            initializer=_CoordinatesInitializer(
                self._resolved_kernel_initializer(), self._kernel_shape
            ),
            regularizer=regularizer,
            dtype=self.dtype,
            # Read in full precision under mixed precision: the kernel is
            # computed in float32 and cast once.
            autocast=False,
        )
        self._add_bias(kernel_shape[-1])
        self.built = True

    def effective_kernel(self):
        return ops.reshape(
            zero_sum.coordinates_to_zero_sum(self.kernel_coordinates),
            self._kernel_shape,
        )

    @classmethod
    def weights_from_plain(cls, weights):
        """`[B^T w, bias]`: the coordinates of the kernel's projection onto
        the zero-sum set (exact for a zero-sum kernel)."""
        kernel, *bias = weights
        coordinates = zero_sum.zero_sum_to_coordinates(
            kernel.reshape(-1, kernel.shape[-1])
        )
        return [ops.convert_to_numpy(coordinates)] + bias


_LCW_DOC = """{summary}

    Linearly constrained weights (LCW): each output unit's weight vector sums
    to zero over its fan-in (`{fan_in}`), by construction. The trainable
    variable is `kernel_coordinates`, v of shape `(fan_in - 1, {units})`, and
    the kernel is `w = B v` with an orthonormal basis B of the zero-sum
    subspace, applied in O(fan_in) without building B
    (`keras_lcw.numerics.zero_sum`):

        s = sum(v),  c = 1 / (m + sqrt(m)),
        w_j = v_j - c s  (j < m),   w_m = -s / sqrt(m),   m = fan_in.

    A zero-sum unit has no preactivation offset `w . mu` when its inputs share
    a mean `mu` (as the outputs of a sigmoid layer do), which removes the
    activation shift that makes gradients vanish in deep sigmoid networks
    (T. Kutsuna, "Linearly Constrained Weights: Reducing Activation Shift for
    Faster Training of Neural Networks", ECML PKDD 2019, arXiv:2403.13833).
    As B is orthonormal, |w| = |v| and every optimizer keeps its geometry; the
    constraint holds at initialization and after any number of steps of any
    optimizer, including weight decay.

    Takes the arguments of `keras.layers.{parent}` with these differences:

    - `kernel_initializer` (default None): a kernel of the full shape is drawn
      with it, projected onto the zero-sum set and mapped to v. None picks
      fan-in variance scaling with scale `1 / E[f'(z)^2]`, z ~ N(0, 1), for
      the layer's activation f (`keras_lcw.initializers.activation_gain`: 1
      for linear, 2 for relu, 22.3 for sigmoid), which keeps the signal of a
      deep zero-sum stack; Glorot does not train a 50-layer sigmoid net.
    - `kernel_regularizer` applies to the effective kernel.
    - `kernel_constraint`, `lora_rank` and `lora_alpha` are refused, and so
      are `enable_lora()` and `quantize()`: `keras_lcw.bake(model)` turns the
      layer into a plain `{parent}` with the effective kernel, which supports
      them all.

    `layer.kernel` is the effective kernel (in the compute dtype);
    `layer.effective_kernel()` gives it in the variables' dtype.{call_note}

    Example:

    >>> model = keras.Sequential([keras.Input({example_input})])
    >>> for _ in range(20):
    ...     model.add(keras_lcw.{name}({example_args}))
"""


@keras.saving.register_keras_serializable(package="keras_lcw")
class LCWDense(ZeroSumKernel, keras.layers.Dense):
    __doc__ = _LCW_DOC.format(
        summary="A Dense layer whose kernel columns sum to zero.",
        fan_in="input_dim",
        units="units",
        parent="Dense",
        name="LCWDense",
        example_input="(64,)",
        example_args='100, activation="sigmoid"',
        call_note="""
    In float32, `call` never forms the kernel: it computes `(x B) v`, which
    costs O(rows * input_dim) instead of O(input_dim * units) and keeps the
    train step as fast as Dense's. Under mixed precision it forms the kernel
    in float32 and casts it once.""",
    )

    plain_class = keras.layers.Dense

    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer=None,
        **kwargs,
    ):
        # Older Keras releases accept units=0 and fail later.
        if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
            raise ValueError(
                "`units` must be a positive integer; received "
                f"units={units!r}."
            )
        super().__init__(
            units,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            **self._check_arguments(kwargs),
        )

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"LCWDense '{self.name}' needs a known last input dimension; "
                f"received input_shape={input_shape}."
            )
        self._build_lcw((input_dim, self.units))
        self.input_spec = keras.layers.InputSpec(
            min_ndim=2, axes={-1: input_dim}
        )

    def call(self, inputs, training=None):
        if self.compute_dtype != self.variable_dtype:
            # Mixed precision: form the kernel in float32, cast it once.
            return super().call(inputs, training=training)
        # x (B v) = (x B) v: mapping the inputs costs O(rows * fan_in), not
        # O(fan_in * units), and keeps the train step within a few percent of
        # Dense's (benchmarks/bench_lcw.py).
        x = ops.matmul(
            zero_sum.zero_sum_to_coordinates(inputs, axis=-1),
            self.kernel_coordinates,
        )
        if self.bias is not None:
            x = ops.add(x, self.bias)
        if self.activation is not None:
            x = self.activation(x)
        return x


class _LCWConv(ZeroSumKernel):
    def __init__(
        self, filters, kernel_size, *args, kernel_initializer=None, **kwargs
    ):
        super().__init__(
            filters,
            kernel_size,
            *args,
            kernel_initializer=kernel_initializer,
            **self._check_arguments(kwargs),
        )

    def build(self, input_shape):
        self._build_lcw(reparameterized.conv_kernel_shape(self, input_shape))


def _conv_doc(rank):
    spatial = ("k",) if rank == 1 else tuple(f"k{i}" for i in range(rank))
    return _LCW_DOC.format(
        summary=f"A {rank}-D convolution whose filters sum to zero.",
        fan_in=" * ".join(spatial) + " * in_channels / groups",
        units="filters",
        parent=f"Conv{rank}D",
        name=f"LCWConv{rank}D",
        example_input=str((16,) * rank + (3,)),
        example_args='16, 3, padding="same", activation="sigmoid"',
        call_note="",
    )


@keras.saving.register_keras_serializable(package="keras_lcw")
class LCWConv1D(_LCWConv, keras.layers.Conv1D):
    __doc__ = _conv_doc(1)
    plain_class = keras.layers.Conv1D


@keras.saving.register_keras_serializable(package="keras_lcw")
class LCWConv2D(_LCWConv, keras.layers.Conv2D):
    __doc__ = _conv_doc(2)
    plain_class = keras.layers.Conv2D


@keras.saving.register_keras_serializable(package="keras_lcw")
class LCWConv3D(_LCWConv, keras.layers.Conv3D):
    __doc__ = _conv_doc(3)
    plain_class = keras.layers.Conv3D
