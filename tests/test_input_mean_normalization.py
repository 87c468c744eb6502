import keras
import numpy as np
import pytest

import keras_lcw
from tests.harness import LayerContract
from tests.harness import LayerSpec
from tests.harness import perturb_variables
from tests.harness import to_numpy
from tests.test_anact import masked_model

IMN_SPECS = [
    LayerSpec(keras_lcw.InputMeanNormalization, dict(momentum=0.9), (6,), trainable=0, non_trainable=1),
    LayerSpec(keras_lcw.InputMeanNormalization, dict(moving_mean_initializer="ones"), (3, 4, 5), trainable=0, non_trainable=1, id="InputMeanNormalization-conv"),
    LayerSpec(keras_lcw.InputMeanNormalization, dict(axis=1, momentum=0.5), (2, 3, 3), trainable=0, non_trainable=1, id="InputMeanNormalization-channels_first"),
    # Outside any distribution strategy, synchronized is the local mean.
    LayerSpec(keras_lcw.InputMeanNormalization, dict(momentum=0.8, synchronized=True), (2, 5), trainable=0, non_trainable=1, id="InputMeanNormalization-synchronized"),
]


def _reduction_axes(layer, ndim):
    return tuple(i for i in range(ndim) if i != layer.axis % ndim)


class TestInputMeanNormalization(LayerContract):
    SPECS = IMN_SPECS

    def test_jit_fit_step(self, spec):
        # The layer has no trainable variable: a fit step must run compiled
        # and move the moving mean, by the momentum formula.
        model = keras.Sequential([keras.Input(spec.input_shape), spec.make(), keras.layers.Dense(2)])
        x = spec.inputs() + 2.0
        model.compile(optimizer="sgd", loss="mse", jit_compile="auto")
        layer = model.layers[0]
        before = to_numpy(layer.moving_mean)
        history = model.fit(x, np.ones((spec.batch_size,) + tuple(model.output_shape[1:]), "float32"), batch_size=spec.batch_size, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])
        mean = x.mean(axis=_reduction_axes(layer, x.ndim))
        expected = layer.momentum * before + (1 - layer.momentum) * mean
        np.testing.assert_allclose(to_numpy(layer.moving_mean), expected, rtol=1e-5, atol=1e-6)

    def test_matches_numpy_reference(self, spec):
        layer = spec.make()
        x = spec.inputs() * 3.0 + 1.5
        layer.build(x.shape)
        perturb_variables(keras.Sequential([layer]))
        moving = to_numpy(layer.moving_mean)
        axes = _reduction_axes(layer, x.ndim)
        shape = [1] * x.ndim
        shape[layer.axis] = -1
        np.testing.assert_allclose(to_numpy(layer(x, training=False)), x - moving.reshape(shape), atol=1e-6)
        y = to_numpy(layer(x, training=True))
        np.testing.assert_allclose(y, x - x.mean(axis=axes, keepdims=True), atol=1e-5)
        # The invariant: a zero mean per feature over the batch (and space).
        np.testing.assert_allclose(y.mean(axis=axes), 0.0, atol=1e-5)
        np.testing.assert_allclose(
            to_numpy(layer.moving_mean), layer.momentum * moving + (1 - layer.momentum) * x.mean(axis=axes), rtol=1e-5, atol=1e-6
        )

    def test_bake_is_exact_plain_normalization(self, spec):
        model = spec.model()
        perturb_variables(model)
        x = spec.inputs() * 4.0
        baked = keras_lcw.bake(model)
        assert type(baked.layers[0]) is keras.layers.Normalization
        np.testing.assert_array_equal(to_numpy(baked(x)), to_numpy(model(x)))


def test_not_trainable_uses_the_moving_mean_in_training():
    layer = keras_lcw.InputMeanNormalization(moving_mean_initializer="ones")
    layer.trainable = False
    x = np.arange(12.0, dtype="float32").reshape(4, 3)
    np.testing.assert_array_equal(to_numpy(layer(x, training=True)), x - 1.0)
    np.testing.assert_array_equal(to_numpy(layer.moving_mean), np.ones(3))


def test_gmp_model_with_imn_bakes_and_loads_plain(tmp_path):
    model = keras.Sequential([
        keras.Input((6, 6, 2)),
        keras_lcw.InputMeanNormalization(),
        keras_lcw.GmPConv2D(3, 3),
        keras.layers.Flatten(),
        keras_lcw.InputMeanNormalization(),
        keras_lcw.GmPDense(4),
        keras.layers.Dense(2),
    ])
    perturb_variables(model)
    x = np.random.default_rng(0).normal(size=(3, 6, 6, 2)).astype("float32")
    baked = keras_lcw.bake(model)
    assert not any(type(layer).__module__.startswith("keras_lcw") for layer in baked.layers)
    np.testing.assert_allclose(to_numpy(baked(x)), to_numpy(model(x)), rtol=1e-5, atol=1e-6)
    path = str(tmp_path / "baked.keras")
    baked.save(path)
    np.testing.assert_allclose(to_numpy(keras.models.load_model(path)(x)), to_numpy(model(x)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_bake_is_exact_under_mixed_precision(policy):
    # A large offset: the mean rounded to 16 bits would be off by up to 0.25.
    x = (np.random.default_rng(0).normal(size=(16, 6)) * 3 + 100).astype("float32")
    model = keras.Sequential([
        keras.Input((6,)),
        keras_lcw.InputMeanNormalization(momentum=0.0, dtype=policy),
        keras.layers.Dense(3, dtype=policy),
    ])
    model(x, training=True)
    # The mean is subtracted in float32, before the rounding to 16 bits.
    mean = to_numpy(model.layers[0].moving_mean)
    rounded = keras.ops.cast(x - mean, model.layers[0].compute_dtype)
    np.testing.assert_array_equal(to_numpy(model.layers[0](x)), to_numpy(rounded))
    baked = keras_lcw.bake(model)
    np.testing.assert_array_equal(to_numpy(baked(x)), to_numpy(model(x)))
    assert baked.layers[0].compute_dtype == "float32"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(axis=(1, 2)), "`axis` must be an integer"),
        (dict(axis=True), "`axis` must be an integer"),
        (dict(momentum=1.0), r"`momentum` must be a number in \[0, 1\); received momentum=1.0\."),
        (dict(momentum=-0.1), "received momentum=-0.1"),
        (dict(synchronized="yes"), "`synchronized` must be True or False; received synchronized='yes'"),
        (dict(synchronized=1), "received synchronized=1"),
    ],
)
def test_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        keras_lcw.InputMeanNormalization(**kwargs)


@pytest.mark.parametrize("axis", [0, 3, -4])
def test_bad_axis_for_the_input_is_refused(axis):
    with pytest.raises(ValueError, match=f"axis={axis}"):
        keras_lcw.InputMeanNormalization(axis=axis)(np.ones((2, 3, 4), "float32"))


def _padded_batch(seed, shape=(3, 6, 4)):
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=shape) + 0.5).astype("float32")
    mask = np.ones(shape[:2], bool)
    mask[0, 3:] = False
    mask[1, 5:] = False
    x[~mask] = (rng.normal(size=x[~mask].shape) * 30.0 + 40.0).astype("float32")
    return x, mask


def test_masked_entries_are_left_out_of_the_batch_mean():
    x, mask = _padded_batch(1)
    layer = keras_lcw.InputMeanNormalization(momentum=0.5, moving_mean_initializer="ones")
    y = to_numpy(layer(x, training=True, mask=mask))
    # Reference: the mean of the unmasked rows only.
    mean = x[mask].astype("float64").mean(axis=0)
    np.testing.assert_allclose(y, x - mean, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(to_numpy(layer.moving_mean), 0.5 + 0.5 * mean, rtol=1e-5)
    # The padding matters without the mask, so the test above can fail.
    assert np.max(np.abs(x.reshape(-1, 4).mean(axis=0) - mean)) > 1.0


def test_mask_is_used_in_a_compiled_fit_step_and_passed_on():
    x, mask = _padded_batch(2)
    layer = keras_lcw.InputMeanNormalization(momentum=0.0)
    model = masked_model(layer, *x.shape[1:])
    model.compile("sgd", "mse", jit_compile="auto")
    model.fit([x, mask], np.zeros_like(x), batch_size=len(x), epochs=1, verbose=0)
    np.testing.assert_allclose(to_numpy(layer.moving_mean), x[mask].mean(axis=0), rtol=1e-5, atol=1e-6)
    pooled = keras.Model(model.inputs, keras.layers.GlobalAveragePooling1D()(model.outputs[0]))
    y = to_numpy(model([x, mask]))
    weights = mask[..., None]
    np.testing.assert_allclose(to_numpy(pooled([x, mask])), (y * weights).sum(axis=1) / weights.sum(axis=1), rtol=1e-5, atol=1e-6)


def test_a_fully_masked_batch_changes_nothing():
    x, _ = _padded_batch(3)
    layer = keras_lcw.InputMeanNormalization(moving_mean_initializer="ones")
    y = to_numpy(layer(x, training=True, mask=np.zeros(x.shape[:2], bool)))
    np.testing.assert_array_equal(to_numpy(layer.moving_mean), np.ones(4))
    np.testing.assert_array_equal(y, x - 1.0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_batch_leaves_the_moving_mean_as_it_was(bad):
    x = np.random.default_rng(4).normal(size=(8, 3)).astype("float32")
    poisoned = x.copy()
    poisoned[2, 1] = bad
    layer = keras_lcw.InputMeanNormalization(momentum=0.5, moving_mean_initializer="ones")
    y = to_numpy(layer(poisoned, training=True))
    moving = to_numpy(layer.moving_mean)
    # Feature 1 keeps its moving mean and is centred on it; 0 and 2 move.
    assert moving[1] == 1.0
    np.testing.assert_allclose(moving[[0, 2]], 0.5 + 0.5 * x[:, [0, 2]].mean(axis=0), rtol=1e-6)
    rows = np.arange(8) != 2
    np.testing.assert_array_equal(y[rows, 1], x[rows, 1] - 1.0)
    np.testing.assert_allclose(y[:, [0, 2]], x[:, [0, 2]] - x[:, [0, 2]].mean(axis=0), atol=1e-6)


def test_a_nan_batch_in_a_compiled_fit_does_not_poison_the_state():
    x = np.random.default_rng(5).normal(size=(16, 3)).astype("float32") + 2.0
    poisoned = x.copy()
    poisoned[0, 0] = np.nan
    layer = keras_lcw.InputMeanNormalization(momentum=0.5)
    model = keras.Sequential([keras.Input((3,)), layer])
    model.compile("sgd", "mse", jit_compile="auto")
    model.fit(poisoned, np.zeros_like(x), batch_size=16, epochs=1, verbose=0)
    moving = to_numpy(layer.moving_mean)
    assert moving[0] == 0.0
    np.testing.assert_allclose(moving[1:], 0.5 * x[:, 1:].mean(axis=0), rtol=1e-6)
    assert np.all(np.isfinite(to_numpy(model.predict(x, verbose=0))))
