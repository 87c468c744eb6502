"""What a parameterization of a kernel and bias declares.

A parameterization stores other variables than a kernel and a bias and
computes them from those variables, after `torch.nn.utils.parametrize` but in
Keras terms. It is one object with:

- `variables(kernel_shape, use_bias)`: the variables it owns (name, shape,
  whether trainable, and which of the layer's regularizers and constraints
  each carries);
- `forward(values)`: the effective kernel and bias, in `keras.ops`;
- `inverse(kernel, bias)`: the variables for a plain kernel and bias, in
  `keras.ops` (NumPy arrays are accepted); `inverse_error` says where no
  variables compute what the plain layer computes;
- `bake_error(values, activation)`: where no plain layer computes what the
  variables compute;
- how a layer computes its output from the variables: `call_kernel`, the
  kernel it multiplies or convolves the inputs with, and `output`, what it
  does with that preactivation (by default `activation(z + bias)`);
  `dense_preactivation` may compute a Dense layer's product another way,
  `fused_dense_output` its whole output on a fused path, and
  `conv_call_kernel` / `conv_output` may split the work differently for a
  convolution.

Values are dictionaries from variable name to tensor. Layers, initialization,
`keras_lcw.bake`, `keras_lcw.convert`, the name lookups and tuning go through
these methods alone, and move weights by name.
"""

import dataclasses
import math

import keras
from keras import ops

# Arguments of Keras's Dense and convolutions that no parameterization keeps.
REFUSED_ARGUMENTS = {
    "kernel_constraint": "the kernel is computed from other variables",
    "lora_rank": "LoRA adapts a stored kernel",
    "lora_alpha": "LoRA adapts a stored kernel",
}


@dataclasses.dataclass(frozen=True)
class Variable:
    """A variable a parameterization owns.

    Attributes:
        name: the variable's name, the key of its value everywhere.
        shape: its shape.
        trainable: whether gradients update it.
        regularizer: None, "kernel" or "bias": the layer's regularizer of
            that effective weight is attached to this variable and applied
            to the effective weight.
        constraint: None or "bias": the layer's bias constraint applies to
            this variable (which then holds the bias itself).
        aggregation: how `tf.distribute` replicas combine their updates of
            a variable the layer assigns in `call` ("none" for variables
            only the optimizer updates; "mean" for state set from a batch,
            as `keras.layers.Layer.add_weight` takes it).
    """

    name: str
    shape: tuple
    trainable: bool = True
    regularizer: str = None
    constraint: str = None
    aggregation: str = "none"


def fan_in_of(kernel_shape):
    """The number of inputs of one output unit: all kernel axes but the last."""
    return math.prod(kernel_shape[:-1])


def activation_name(activation):
    activation = activation or keras.activations.linear
    return getattr(activation, "__name__", repr(activation))


class Parameterization:
    """The base of every parameterization; subclasses set `name` and
    implement `variables`, `forward` and `inverse`."""

    # The name in `keras_lcw.parameterizations.get` and `get_dense`.
    name = None
    # The layers' refused arguments, with the reason.
    refused_arguments = REFUSED_ARGUMENTS

    def variables(self, kernel_shape, use_bias):
        """The `Variable`s of a layer with this kernel shape, in creation
        order."""
        raise NotImplementedError

    def kernel_shape_error(self, kernel_shape):
        """None where a kernel of this shape can be parameterized; else why
        not, as a clause that follows "because". By default a unit needs at
        least one input."""
        if fan_in_of(kernel_shape) < 1:
            return "it needs at least one input per unit"
        return None

    def forward(self, values, kernel_shape):
        """`(kernel, bias)`: the effective weights, the kernel in
        `kernel_shape`, in the variables' dtype; bias is None without one."""
        raise NotImplementedError

    def inverse(self, kernel, bias):
        """The values of the variables whose `forward` is `(kernel, bias)`,
        as far as that is possible (`inverse_error` says where not); `bias`
        may be None."""
        raise NotImplementedError

    def inverse_error(self, kernel, bias, activation):
        """None where `keras_lcw.convert` can carry the plain layer with
        `(kernel, bias, activation)` over by `inverse` (exactly, or as the
        parameterization documents it: LCW projects the kernel onto the
        zero-sum set); else why not, as a clause that follows "because".
        The kernel's shape is checked before (`kernel_shape_error`). Reads
        values: call it eagerly."""
        return None

    def bake_error(self, values, activation):
        """None where the plain layer with `forward(values)` and `activation`
        computes what this layer computes; else why not, as a clause that
        follows "because". Reads values."""
        return None

    def call_kernel(self, values, kernel_shape):
        """The kernel the layer multiplies or convolves its inputs with."""
        return self.forward(values, kernel_shape)[0]

    def dense_preactivation(self, inputs, values, kernel_shape):
        """`inputs @ call_kernel(values)` for a Dense layer in full
        precision; a parameterization may compute it another way."""
        return ops.matmul(inputs, self.call_kernel(values, kernel_shape))

    def fused_dense_output(self, inputs, values, kernel_shape, activation, per_unit):
        """A Dense layer's whole output in full precision by a
        backend-specific fused path (`keras_lcw.backend_utils`), or None (the
        default, and wherever no such path runs): then the layer computes
        `dense_preactivation` and `output`."""
        return None

    def conv_call_kernel(self, values, kernel_shape, activation):
        """The kernel a convolution with `activation` convolves its inputs
        with: by default `call_kernel`. A convolution reuses each weight at
        every position, so its output is usually much larger than its
        kernel: a parameterization whose `output` scales the preactivation
        per unit may fold that scale into the kernel here instead (and then
        `conv_output` does not apply it)."""
        return self.call_kernel(values, kernel_shape)

    def conv_output(self, preactivation, values, activation, per_unit):
        """The convolution's output from `preactivation` (the inputs
        convolved with `conv_call_kernel`): by default `output`."""
        return self.output(preactivation, values, activation, per_unit)

    def output(self, preactivation, values, activation, per_unit):
        """The layer's output from `preactivation` (the inputs times
        `call_kernel`); `per_unit(value)` casts a `(units,)` value to the
        compute dtype and shapes it to broadcast over the units' axis."""
        bias = self.forward_bias(values)
        if bias is not None:
            # ops.add, not +: on TensorFlow it is a BiasAdd, as in Dense,
            # with a cheaper gradient than a broadcasting add's.
            preactivation = ops.add(preactivation, per_unit(bias))
        if activation is not None:
            preactivation = activation(preactivation)
        return preactivation

    def forward_bias(self, values):
        """The effective bias alone (None without one): by default the
        variable named "bias"."""
        return values.get("bias")

    def default_kernel_initializer(self, activation):
        """The kernel initializer a layer uses when it is given None; None
        keeps Keras's default."""
        return None

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"
