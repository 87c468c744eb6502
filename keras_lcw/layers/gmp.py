"""GmP layers: Dense and convolutions in geometric parameterization.

The math is `keras_lcw.parameterizations.gmp`; these classes declare the
layers and their arguments.
"""

import keras

from keras_lcw.layers import reparameterized


class _UnitKernel:
    def unit_kernel(self):
        """The unit-norm directions u, in the kernel's shape and the
        variables' dtype."""
        return self.parameterization.call_kernel(
            self._parameter_variables, self._kernel_shape
        )


_GMP_DOC = """{summary}

    Geometric parameterization (GmP): each output unit is

        y = r * act(u(theta) . x + lambda),

    with u(theta) a unit vector over the fan-in (`{fan_in}`) in
    hyperspherical coordinates (`keras_lcw.numerics.hyperspherical`):

        u_1 = cos t_1,  u_i = sin t_1 ... sin t_(i-1) cos t_i,
        u_n = sin t_1 ... sin t_(n-1),

    lambda the signed distance of the unit's activation boundary from the
    origin and r its radius: the same number of parameters as a kernel and a
    bias. A change eps of the angles turns the boundary by at most |eps|,
    whatever the scale of the weights, which is what keeps training stable at
    learning rates (the paper uses 10x) that derail the plain layer. Use it
    with `keras_lcw.InputMeanNormalization` on the layer's input, on ReLU
    hidden layers (the paper keeps a plain output layer).

    Variables: `angles` (fan_in - 1, {units}), `offset` lambda ({units},)
    when `use_bias`, `radius` r ({units},). With a fan-in of 1 the direction
    is a sign, which no gradient can change: it is drawn at initialization
    and kept in the non-trainable `direction` ({units},).

    `layer.kernel` and `layer.bias` are the effective kernel r * u and bias
    r * lambda (in the compute dtype); `effective_kernel()`, `effective_bias()`
    and `unit_kernel()` give them in the variables' dtype.
    `keras_lcw.bake(model)` turns the layer into a plain `{parent}` with
    them, exactly, for a linear activation, and for relu or leaky_relu when
    every r >= 0; it raises otherwise. The map is the "gmp"
    parameterization (`keras_lcw.parameterizations.gmp`).

    Args:
        {size_args}
        activation: as for `keras.layers.{parent}`, but defaults to "relu".
        kernel_initializer, bias_initializer: draw a kernel w and a bias b,
            which are mapped to angles (keeping the sign of every
            coordinate), r = |w| and lambda = b / r: the layer starts as the
            plain layer would.
        kernel_regularizer: applies to the effective kernel r * u.
        bias_regularizer: applies to the effective bias r * lambda.
        **kwargs: the other arguments of `keras.layers.{parent}`.
            `kernel_constraint`, `bias_constraint`, `lora_rank` and
            `lora_alpha` are refused, and so are `enable_lora()` and
            `quantize()`.

    Input shape:
        As for `keras.layers.{parent}`.

    Output shape:
        As for `keras.layers.{parent}`.

    Reference:
        W. Chen and H. Ge, "Neural Characteristic Activation Analysis and
        Geometric Parameterization for ReLU Networks", NeurIPS 2024,
        arXiv:2305.15912.

    Example:

    >>> model = keras.Sequential([
    ...     keras.Input({example_input}),
    ...     keras_lcw.InputMeanNormalization(),
    ...     keras_lcw.{name}({example_args}),
    ...     keras.layers.{head},
    ... ])
"""


@keras.saving.register_keras_serializable(package="keras_lcw")
class GmPDense(_UnitKernel, reparameterized.ReparameterizedDense):
    __doc__ = _GMP_DOC.format(
        summary="A Dense layer in geometric parameterization.",
        fan_in="input_dim",
        units="units",
        parent="Dense",
        name="GmPDense",
        example_input="(64,)",
        example_args="100",
        head="Dense(10, activation=\"softmax\")",
        size_args="units: the number of output units.",
    )

    parameterization_name = "gmp"

    def __init__(self, units, activation="relu", kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(
            units, activation=activation, kernel_initializer=kernel_initializer, **kwargs
        )


class _GmPConv(_UnitKernel, reparameterized.ReparameterizedConv):
    parameterization_name = "gmp"

    def __init__(
        self,
        filters,
        kernel_size,
        *args,
        activation="relu",
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(
            filters,
            kernel_size,
            *args,
            activation=activation,
            kernel_initializer=kernel_initializer,
            **kwargs,
        )


def _conv_doc(rank):
    spatial = ("k",) if rank == 1 else tuple(f"k{i}" for i in range(rank))
    return _GMP_DOC.format(
        summary=f"A {rank}-D convolution in geometric parameterization.",
        fan_in=" * ".join(spatial) + " * in_channels / groups",
        units="filters",
        parent=f"Conv{rank}D",
        name=f"GmPConv{rank}D",
        example_input=str((16,) * rank + (3,)),
        example_args='16, 3, padding="same"',
        head=f"GlobalAveragePooling{rank}D()",
        size_args="filters, kernel_size, strides, padding, data_format, dilation_rate,\n            groups: as for `keras.layers.Conv{rank}D`.".replace("{rank}", str(rank)),
    )


@keras.saving.register_keras_serializable(package="keras_lcw")
class GmPConv1D(_GmPConv, keras.layers.Conv1D):
    __doc__ = _conv_doc(1)
    _plain_class = keras.layers.Conv1D


@keras.saving.register_keras_serializable(package="keras_lcw")
class GmPConv2D(_GmPConv, keras.layers.Conv2D):
    __doc__ = _conv_doc(2)
    _plain_class = keras.layers.Conv2D


@keras.saving.register_keras_serializable(package="keras_lcw")
class GmPConv3D(_GmPConv, keras.layers.Conv3D):
    __doc__ = _conv_doc(3)
    _plain_class = keras.layers.Conv3D
