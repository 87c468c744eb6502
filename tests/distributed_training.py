"""Trains a model of keras_lcw layers distributed and on one device; compares.

Run as `python -m tests.distributed_training SETUP [SETUP ...]` from the
repository root, in a fresh process: the fake devices (XLA_FLAGS for JAX,
logical CPU devices for TensorFlow) must be configured before the backend
starts, so this module configures them before it imports keras. The setups
of one process share a backend and a single-device reference run. Prints a
line per setup that passes; exits non-zero (an assertion) at the first
distributed run that differs.

A new layer is one line in `LAYERS`.
"""

import dataclasses
import functools
import itertools
import os
import sys

SETUPS = {
    "jax_data_parallel": "jax",
    "jax_model_parallel": "jax",
    "tf_mirrored_parameterized": "tensorflow",
    "tf_mirrored_synchronized": "tensorflow",
    "tf_mirrored_batch_mean": "tensorflow",
}
JAX_DEVICES = 4
TF_REPLICAS = 2


def xla_flags_with_devices(flags, devices):
    """`flags` (XLA_FLAGS, possibly None) with `devices` host devices added
    after them: the flags a process was given (the suite's among them)
    stay."""
    return " ".join(filter(None, [
        flags, f"--xla_force_host_platform_device_count={devices}"
    ]))


def _configure_devices(backend):
    os.environ["KERAS_BACKEND"] = backend
    if backend == "jax":
        os.environ["XLA_FLAGS"] = xla_flags_with_devices(
            os.environ.get("XLA_FLAGS"), JAX_DEVICES
        )
    else:
        import tensorflow as tf

        (cpu,) = tf.config.list_physical_devices("CPU")
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * TF_REPLICAS
        )


if __name__ == "__main__":
    (_backend,) = {SETUPS[setup] for setup in sys.argv[1:]}
    _configure_devices(_backend)

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_lcw  # noqa: E402


@dataclasses.dataclass
class Entry:
    """A layer of the test model; `batch_statistics` layers get `synchronized`."""

    make: callable
    batch_statistics: bool = False


def _lcw_constraint_dense(units, **kwargs):
    return keras.layers.Dense(
        units,
        kernel_constraint=keras_lcw.LCWConstraint(),
        kernel_initializer=keras_lcw.LCWInitializer(),
        **kwargs,
    )


# Every keras_lcw layer, stacked in this order on inputs of shape (6, 3).
# Unit and filter counts are even so the model axis of the mesh divides them.
LAYERS = [
    Entry(lambda **kw: keras_lcw.InputMeanNormalization(**kw), batch_statistics=True),
    Entry(lambda: keras_lcw.LCWConv1D(4, 2, activation="tanh")),
    Entry(lambda: keras_lcw.GmPConv1D(4, 2, activation="relu")),
    Entry(lambda: keras_lcw.WeightNormConv1D(4, 2, activation="tanh")),
    Entry(lambda: keras.layers.Flatten()),
    Entry(lambda **kw: keras_lcw.InputMeanNormalization(momentum=0.9, **kw), batch_statistics=True),
    # Linear, so both halves of the linked PReLU see negative inputs.
    Entry(lambda: keras_lcw.LCWDense(8)),
    Entry(lambda: keras_lcw.LinkedPReLU()),
    Entry(lambda **kw: keras_lcw.ANAct("tanh", momentum=0.9, **kw), batch_statistics=True),
    Entry(lambda: _lcw_constraint_dense(8, activation="tanh", name="lcw_constraint_dense")),
    Entry(lambda: keras_lcw.GmPDense(8, activation="relu")),
    Entry(lambda: keras_lcw.CenteredWeightNormDense(8, activation="tanh")),
]
INPUT_SHAPE = (6, 3)
OUTPUTS = 2
SAMPLES, BATCH, EPOCHS = 64, 16, 2  # 8 steps


def make_model(batch_statistics, synchronized=False):
    """The model of every entry (or of those without batch statistics)."""
    layers = [keras.Input(INPUT_SHAPE)]
    for entry in LAYERS:
        if entry.batch_statistics:
            if batch_statistics:
                layers.append(entry.make(synchronized=synchronized))
        else:
            layers.append(entry.make())
    layers.append(keras.layers.Dense(OUTPUTS))
    return keras.Sequential(layers)


def _data():
    rng = np.random.default_rng(0)
    # Offset inputs: the batch means are far from the moving means.
    x = rng.normal(1.0, 2.0, size=(SAMPLES,) + INPUT_SHAPE).astype("float32")
    y = rng.normal(size=(SAMPLES, OUTPUTS)).astype("float32")
    return x, y


def train(model, initial_weights):
    """Sets the weights, fits a few SGD steps; returns (weights, predictions)."""
    model.set_weights(initial_weights)
    # SGD, not Adam: Adam's first step is about lr * sign(gradient), which
    # turns reduction-order noise in near-zero gradients into full steps.
    model.compile(
        optimizer=keras.optimizers.SGD(0.05, momentum=0.9), loss="mse"
    )
    x, y = _data()
    model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
    predictions = keras.ops.convert_to_numpy(model(x, training=False))
    weights = [keras.ops.convert_to_numpy(v) for v in model.get_weights()]
    return weights, predictions


def assert_same(initial, reference, distributed):
    """Asserts equal trained weights and predictions; returns the largest
    weight difference."""
    (ref_weights, ref_predictions), (weights, predictions) = reference, distributed
    assert len(ref_weights) == len(weights)
    # Equality means something only if training moved every weight.
    for i, (a, b) in enumerate(zip(initial, ref_weights)):
        assert np.max(np.abs(a - b)) > 1e-3, f"weight {i} did not train"
    for i, (a, b) in enumerate(zip(ref_weights, weights)):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5, err_msg=f"weight {i}")
    np.testing.assert_allclose(predictions, ref_predictions, rtol=1e-5, atol=1e-5)
    return max(float(np.max(np.abs(a - b))) for a, b in zip(ref_weights, weights))


@functools.cache
def _reference(batch_statistics, synchronized=False):
    keras.utils.set_random_seed(0)
    model = make_model(batch_statistics, synchronized)
    initial = model.get_weights()
    return initial, train(model, initial)


def layout_map(mesh):
    """Shards every reparameterized parameter along the output-unit axis.

    Every per-unit quantity (the zero-sum projection's sum, the
    hyperspherical product chain) reduces over the fan-in axis only, so
    each device forms its units' kernel columns without communication.
    """
    layouts = keras.distribution.LayoutMap(mesh)
    layouts[".*kernel_coordinates"] = (None, "model")  # LCW
    layouts[".*angles"] = (None, "model")  # GmP
    layouts[".*(radius|offset)"] = ("model",)  # GmP
    layouts[".*kernel_direction"] = (None, None, "model")  # weight norm (Conv1D)
    layouts[".*kernel_norm"] = ("model",)  # weight norm
    layouts[".*lcw_constraint_dense/kernel"] = (None, "model")
    layouts[".*bias"] = ("model",)
    return layouts


def run_jax(setup):
    devices = keras.distribution.list_devices()
    assert len(devices) == JAX_DEVICES, devices
    initial, reference = _reference(batch_statistics=True)
    if setup == "jax_data_parallel":
        distribution = keras.distribution.DataParallel(devices=devices)
    else:
        mesh = keras.distribution.DeviceMesh(
            (2, 2), ("batch", "model"), devices
        )
        distribution = keras.distribution.ModelParallel(
            layout_map=layout_map(mesh), batch_dim_name="batch"
        )
    with distribution.scope():
        model = make_model(batch_statistics=True)
        distributed = train(model, initial)
        if setup == "jax_model_parallel":
            sharded = [
                v.path
                for v in model.weights
                if "model" in tuple(v.value.sharding.spec)
            ]
            # Each LCW/GmP layer's parameters and the constrained kernel.
            expected = [v.path for v in model.weights if layout_map(mesh)[v.path] is not None]
            assert sharded == expected and len(sharded) >= 10, sharded
    return assert_same(initial, reference, distributed)


@functools.cache
def _mirrored_strategy():
    # One per process: separate strategies' collective ops collide.
    import tensorflow as tf

    return tf.distribute.MirroredStrategy(
        [f"/cpu:{i}" for i in range(TF_REPLICAS)]
    )


def run_tf_fit(setup):
    batch_statistics = setup == "tf_mirrored_synchronized"
    initial, reference = _reference(batch_statistics, synchronized=True)
    strategy = _mirrored_strategy()
    assert strategy.num_replicas_in_sync == TF_REPLICAS
    with strategy.scope():
        model = make_model(batch_statistics, synchronized=True)
        distributed = train(model, initial)
    return assert_same(initial, reference, distributed)


def run_tf_batch_mean():
    """Each replica's training output: its own slice's mean by default,
    the global batch's with `synchronized=True`."""
    import tensorflow as tf

    strategy = _mirrored_strategy()
    x, _ = _data()
    x = x[:BATCH]
    slices = np.split(x, TF_REPLICAS)
    for synchronized in (False, True):
        with strategy.scope():
            layer = keras_lcw.InputMeanNormalization(synchronized=synchronized)
            layer.build(x.shape)
        inputs = strategy.experimental_distribute_values_from_function(
            lambda context: tf.constant(slices[context.replica_id_in_sync_group])
        )
        outputs = strategy.run(
            tf.function(lambda z: layer(z, training=True)), args=(inputs,)
        )
        for part, out in zip(slices, strategy.experimental_local_results(outputs)):
            mean = x if synchronized else part
            np.testing.assert_allclose(
                out.numpy(), part - mean.mean(axis=(0, 1)), rtol=1e-5, atol=1e-5
            )
        # Replicas' updates are averaged: the global mean either way.
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(layer.moving_mean),
            (1 - layer.momentum) * x.mean(axis=(0, 1)),
            rtol=1e-5,
            atol=1e-6,
        )
    # ANAct's moving statistics, from replicas whose slices differ: averaged
    # too, so every replica holds the same values.
    scaled = strategy.experimental_distribute_values_from_function(
        lambda context: tf.constant(slices[context.replica_id_in_sync_group] * (1 + 2 * context.replica_id_in_sync_group))
    )
    with strategy.scope():
        anact = keras_lcw.ANAct("tanh", momentum=0.5)
        anact.build(x.shape)
    strategy.run(tf.function(lambda z: anact(z, training=True)), args=(scaled,))
    for variable in (anact.forward_ratio, anact.backward_ratio, anact.activation_mean):
        first, *others = [t.numpy() for t in variable.value.values]
        for other in others:
            np.testing.assert_array_equal(other, first, err_msg=variable.path)
    _check_constant_synchronized_batch(strategy)
    return 0.0


def _check_constant_synchronized_batch(strategy):
    """A batch that is constant across the replicas has a variance of
    exactly 0 with `synchronized=True` (each replica shifts by the first
    replica's entry), so ANAct keeps its moving statistics; also where the
    first replica's part is all padding."""
    import tensorflow as tf

    mask = np.ones((BATCH,) + INPUT_SHAPE[:1], bool)
    mask[: BATCH // TF_REPLICAS] = False

    def per_replica(array):
        parts = np.split(array, TF_REPLICAS)
        return strategy.experimental_distribute_values_from_function(
            lambda context: tf.constant(parts[context.replica_id_in_sync_group])
        )

    # Constants whose mean over the batch is not exact in float32: without
    # the shift, each of them moved the statistics.
    for constant, masked in itertools.product((13.496637, 0.8362165, 45.638653), (False, True)):
        x = np.full((BATCH,) + INPUT_SHAPE, constant, "float32")
        with strategy.scope():
            layer = keras_lcw.ANAct("tanh", momentum=0.5, synchronized=True)
            layer.build(x.shape)
        variables = (layer.forward_ratio, layer.backward_ratio, layer.activation_mean)
        before = [keras.ops.convert_to_numpy(v) for v in variables]
        if masked:
            strategy.run(
                tf.function(lambda z, m: layer(z, training=True, mask=m)),
                args=(per_replica(x), per_replica(mask)),
            )
        else:
            strategy.run(
                tf.function(lambda z: layer(z, training=True)),
                args=(per_replica(x),),
            )
        for variable, old in zip(variables, before):
            for value in variable.value.values:
                np.testing.assert_array_equal(
                    value.numpy(), old, err_msg=f"{variable.path}, {constant}, masked={masked}"
                )


def main(setups):
    for setup in setups:
        if setup.startswith("jax"):
            difference = run_jax(setup)
        elif setup == "tf_mirrored_batch_mean":
            difference = run_tf_batch_mean()
        else:
            difference = run_tf_fit(setup)
        print(f"{setup}: max weight difference {difference:.2e}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
