"""Diagnostics: activation shift and gradient flow, layer by layer.

Put a `GradientProbe` on every tensor you want to watch (typically the
preactivation of each hidden layer, before its activation), then call
`signal_statistics(model, x, y, loss)`. It returns, per probe:

- `forward_second_moment`: E[z^2] of the probed tensor z on the batch;
- `activation_shift`: the root mean square over units of each unit's batch
  mean, over the root mean square of the units' batch standard deviations.
  Near 0 when every unit is centred; large when units sit on offsets of their
  own, as in deep sigmoid networks without LCW (Kutsuna, arXiv:2403.13833);
- `backward_second_moment`: E[(dL/dz)^2], the gradient of the loss (mean
  over the batch) with respect to z.

A shrinking `backward_second_moment` from the last layer to the first is a
vanishing gradient; a spread of forward or backward moments over many orders
of magnitude is what normalized activations (`keras_lcw.ANAct`) remove.

Gradients are read without backend-specific code: an active probe adds a
zero variable to its input, and one SGD step with learning rate 1 moves that
variable by minus the gradient. The model's weights and state are restored
afterwards and its compiled state is left alone.

Example:

>>> probes = []
>>> inputs = keras.Input((64,))
>>> h = inputs
>>> for _ in range(20):
...     h = keras.layers.Dense(100)(h)
...     probes.append(keras_lcw.diagnostics.GradientProbe(batch_size=256))
...     h = keras.layers.Activation("sigmoid")(probes[-1](h))
>>> model = keras.Model(inputs, keras.layers.Dense(10)(h))
>>> x = np.random.default_rng(0).normal(size=(256, 64)).astype("float32")
>>> y = np.random.default_rng(1).integers(0, 10, size=256)
>>> stats = keras_lcw.diagnostics.signal_statistics(
...     model, x[:256], y[:256], "sparse_categorical_crossentropy")
"""

import keras
import numpy as np
from keras import ops

from keras_lcw import cloning
from keras_lcw import validation


@keras.saving.register_keras_serializable(package="keras_lcw")
class GradientProbe(keras.layers.Layer):
    """An identity layer that `signal_statistics` can read gradients through.

    Holds a zero variable of shape `(batch_size, *features)`; it is added to
    the input only while `signal_statistics` measures, so the probe changes
    nothing in normal training or inference, and accepts any batch size then.
    The layer is not trainable outside measurements (the variable is created
    trainable because TensorFlow differentiates only such variables).

    Args:
        batch_size: the batch size `signal_statistics` will be called with.
    """

    def __init__(self, batch_size, **kwargs):
        kwargs.pop("trainable", None)
        super().__init__(trainable=False, **kwargs)
        self.batch_size = validation.positive_int("batch_size", batch_size)
        self.active = False

    def build(self, input_shape):
        features = tuple(input_shape[1:])
        if any(d is None for d in features):
            raise ValueError(
                f"GradientProbe '{self.name}' needs a fully known input shape "
                f"besides the batch axis; received input_shape={input_shape}."
            )
        self.zero = self.add_weight(
            name="zero",
            shape=(self.batch_size,) + features,
            initializer="zeros",
        )

    def call(self, inputs):
        # A Python flag, read when the step is traced: the measuring model is
        # traced with it set, the user's own model without.
        if self.active:
            return inputs + ops.cast(self.zero, inputs.dtype)
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "batch_size": self.batch_size}


def _probes(model):
    found = [
        layer for layer in cloning.leaf_layers(model)
        if isinstance(layer, GradientProbe)
    ]
    if not found:
        raise ValueError(
            f"Model '{model.name}' has no GradientProbe: put one on each "
            "tensor to watch (see keras_lcw.diagnostics)."
        )
    return found


def _check_probes_are_in_the_model_graph(model, probes):
    """Refuses probes inside nested models, whose outputs belong to the
    nested model's graph and cannot be read from `model`'s inputs."""
    own = {id(layer) for layer in model.layers}
    for probe in probes:
        if id(probe) in own:
            continue
        inner = next(
            layer for layer in model.layers
            if isinstance(layer, keras.Model)
            and any(leaf is probe for leaf in cloning.leaf_layers(layer))
        )
        raise ValueError(
            f"GradientProbe '{probe.name}' is inside the nested model "
            f"'{inner.name}'; signal_statistics() reads only the probes of "
            f"model '{model.name}' itself. Put the probe in '{model.name}' "
            f"(build the nested part's layers into it), or call "
            f"signal_statistics() on '{inner.name}'."
        )


def _batch_size(name, value):
    """The number of examples of `value` (an array, or a list of arrays for
    a model of several inputs or outputs)."""
    first = value[0] if isinstance(value, (list, tuple)) and value else value
    shape = getattr(first, "shape", None)
    if shape is None or len(shape) == 0:
        raise ValueError(
            f"`{name}` must be an array with a batch axis (or a list of "
            f"them); received {type(value).__name__}."
        )
    return int(shape[0])


def signal_statistics(model, x, y, loss):
    """Measures activation shift and gradient flow at every GradientProbe.

    Args:
        model: a built Functional or Sequential model containing
            `GradientProbe` layers in its own graph (a probe inside a
            nested model is refused: measure the nested model itself).
        x, y: one batch of inputs and targets; its size must equal every
            probe's `batch_size`. Layers with batch statistics run in
            training mode.
        loss: a Keras loss (name, function or object).

    Returns:
        A dict of NumPy arrays, one entry per probe in model order:
        `names`, `forward_second_moment`, `activation_shift`,
        `backward_second_moment` (see the module docstring).
    """
    if not isinstance(model, keras.Model):
        raise TypeError(
            "signal_statistics() takes a keras.Model; received an object of "
            f"type {type(model).__name__}."
        )
    probes = _probes(model)
    _check_probes_are_in_the_model_graph(model, probes)
    try:
        if isinstance(model, keras.Sequential):
            # Sequential models have no `input` of their own.
            inputs, model_outputs = model.inputs[0], model.outputs[0]
        else:
            inputs, model_outputs = model.input, model.output
    except (AttributeError, ValueError, TypeError, IndexError):
        inputs = model_outputs = None
    if inputs is None:
        raise ValueError(
            f"Model '{model.name}' has no symbolic inputs: give it a "
            "keras.Input (a Sequential model's first entry), call it on a "
            "batch once, or build it as a Functional model."
        )
    batch, targets = _batch_size("x", x), _batch_size("y", y)
    if targets != batch:
        raise ValueError(
            f"`x` and `y` must hold the same number of examples; received "
            f"{batch} and {targets}."
        )
    for probe in probes:
        if probe.batch_size != batch:
            raise ValueError(
                f"GradientProbe '{probe.name}' has batch_size="
                f"{probe.batch_size}, but the batch has {batch} examples."
            )
        if len(probe._inbound_nodes) != 1:
            raise ValueError(
                f"GradientProbe '{probe.name}' is called "
                f"{len(probe._inbound_nodes)} times in the model; use one "
                "probe per tensor to watch."
            )
    saved = [ops.convert_to_numpy(v) for v in model.variables]
    tapped = keras.Model(inputs, [p.output for p in probes])
    outputs = tapped(x, training=True)
    if not isinstance(outputs, (list, tuple)):
        # A model of one output returns the tensor itself.
        outputs = [outputs]
    forward, shift = [], []
    for z in outputs:
        z = np.asarray(ops.convert_to_numpy(z), dtype="float64")
        z = z.reshape(batch, -1)
        forward.append(np.mean(z**2))
        unit_means, unit_stds = z.mean(axis=0), z.std(axis=0)
        shift.append(
            np.sqrt(np.mean(unit_means**2))
            / max(np.sqrt(np.mean(unit_stds**2)), 1e-12)
        )
    try:
        for probe in probes:
            probe.active = True
            probe.trainable = True
        measuring = keras.Model(inputs, model_outputs)
        measuring.compile(keras.optimizers.SGD(1.0), loss=loss)
        measuring.train_on_batch(x, y)
        backward = [
            np.mean(np.asarray(ops.convert_to_numpy(p.zero), "float64") ** 2)
            for p in probes
        ]
    finally:
        for probe in probes:
            probe.active = False
            probe.trainable = False
        for variable, value in zip(model.variables, saved):
            variable.assign(value)
    return {
        "names": np.array([p.name for p in probes]),
        "forward_second_moment": np.array(forward),
        "activation_shift": np.array(shift),
        "backward_second_moment": np.array(backward),
    }
