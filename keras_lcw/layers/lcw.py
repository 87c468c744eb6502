"""LCW layers: Dense and convolutions whose kernels sum to zero per unit.

The math is `keras_lcw.parameterizations.lcw`; these classes declare the
layers and their arguments.
"""

import keras

from keras_lcw.layers import reparameterized

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
    activation shift that makes gradients vanish in deep sigmoid networks.
    As B is orthonormal, |w| = |v| and every optimizer keeps its geometry; the
    constraint holds at initialization and after any number of steps of any
    optimizer, including weight decay. The map is the "lcw" parameterization
    (`keras_lcw.parameterizations.lcw`).

    `layer.kernel` is the effective kernel (in the compute dtype);
    `layer.effective_kernel()` gives it in the variables' dtype.{call_note}

    Args:
        {size_args}
        kernel_initializer: draws a kernel of the full shape, which is
            projected onto the zero-sum set and mapped to v. None (the
            default) picks fan-in variance scaling with scale
            `1 / E[f'(z)^2]`, z ~ N(0, 1), for the layer's activation f
            (`keras_lcw.initializers.activation_gain`: 1 for linear, 2 for
            relu, 22.3 for sigmoid), which keeps the signal of a deep
            zero-sum stack; Glorot does not train a 50-layer sigmoid net.
        kernel_regularizer: applies to the effective kernel.
        **kwargs: the other arguments of `keras.layers.{parent}`.
            `kernel_constraint`, `lora_rank` and `lora_alpha` are refused,
            and so are `enable_lora()` and `quantize()`:
            `keras_lcw.bake(model)` turns the layer into a plain `{parent}`
            with the effective kernel, which supports them all.

    Input shape:
        As for `keras.layers.{parent}`, with a fan-in of at least 2.

    Output shape:
        As for `keras.layers.{parent}`.

    Reference:
        T. Kutsuna, "Linearly Constrained Weights: Reducing Activation Shift
        for Faster Training of Neural Networks", ECML PKDD 2019,
        arXiv:2403.13833.

    Example:

    >>> model = keras.Sequential([keras.Input({example_input})])
    >>> for _ in range(20):
    ...     model.add(keras_lcw.{name}({example_args}))
"""


@keras.saving.register_keras_serializable(package="keras_lcw")
class LCWDense(reparameterized.ReparameterizedDense):
    __doc__ = _LCW_DOC.format(
        summary="A Dense layer whose kernel columns sum to zero.",
        fan_in="input_dim",
        units="units",
        parent="Dense",
        name="LCWDense",
        example_input="(64,)",
        example_args='100, activation="sigmoid"',
        size_args="units: the number of output units.\n        activation: as for `keras.layers.Dense` (default None).",
        call_note="""
    In float32, `call` never forms the kernel: it computes `(x B) v`, which
    costs O(rows * input_dim) instead of O(input_dim * units) and keeps the
    train step as fast as Dense's. Under mixed precision it forms the kernel
    in float32 and casts it once.""",
    )

    parameterization_name = "lcw"

    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer=None,
        **kwargs,
    ):
        super().__init__(
            units,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            **kwargs,
        )


class _LCWConv(reparameterized.ReparameterizedConv):
    parameterization_name = "lcw"

    def __init__(self, filters, kernel_size, *args, kernel_initializer=None, **kwargs):
        super().__init__(
            filters, kernel_size, *args, kernel_initializer=kernel_initializer, **kwargs
        )


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
        size_args="filters, kernel_size, strides, padding, data_format, dilation_rate,\n            groups, activation: as for `keras.layers.Conv{rank}D`.".replace("{rank}", str(rank)),
        call_note="",
    )


@keras.saving.register_keras_serializable(package="keras_lcw")
class LCWConv1D(_LCWConv, keras.layers.Conv1D):
    __doc__ = _conv_doc(1)
    _plain_class = keras.layers.Conv1D


@keras.saving.register_keras_serializable(package="keras_lcw")
class LCWConv2D(_LCWConv, keras.layers.Conv2D):
    __doc__ = _conv_doc(2)
    _plain_class = keras.layers.Conv2D


@keras.saving.register_keras_serializable(package="keras_lcw")
class LCWConv3D(_LCWConv, keras.layers.Conv3D):
    __doc__ = _conv_doc(3)
    _plain_class = keras.layers.Conv3D
