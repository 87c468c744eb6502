"""ANAct's configurations: the published reading, the bound on the factor,
the presets, and configs saved before these arguments existed."""

import json

import keras
import numpy as np
import pytest
from keras import ops

import keras_lcw
from keras_lcw.activations import anact
from tests.harness import LayerContract
from tests.harness import finite_difference
from tests.harness import to_numpy
from tests.harness import value_and_gradients
from tests.test_anact import REFERENCE
from tests.test_anact import DenseThenLayerSpec
from tests.test_anact import _normal_expectation

EPS = 1e-6


class TestANActConfigurationsContract(LayerContract):
    SPECS = [
        DenseThenLayerSpec(
            keras_lcw.ANAct, dict(activation="tanh", center=True, combination="arithmetic", forward_statistic="variance",
                                  gain_range=0.3, statistics_gradient=True, momentum=0.9),
            (5,), trainable=1, non_trainable=3, id="ANAct-published",
        ),
        DenseThenLayerSpec(
            keras_lcw.ANAct, dict(activation="gelu", axis=-1, center=True, gain_range=0.2, max_scale=1.5),
            (3, 4), trainable=1, non_trainable=3, id="ANAct-per-channel-centred-bounded",
        ),
        DenseThenLayerSpec(
            keras_lcw.ANAct, dict(activation="sigmoid", adaptive=False, center=True, gain_range=0.5, combination="arithmetic"),
            (5,), trainable=1, non_trainable=0, id="ANAct-static-centred-gain",
        ),
    ]


def _gaussian(name):
    f, df = REFERENCE[name]
    return (
        _normal_expectation(lambda z: f(z) ** 2),
        _normal_expectation(lambda z: df(z) ** 2),
        _normal_expectation(f),
    )


def _combine(forward, backward, combination):
    if combination == "geometric":
        return (forward * backward + EPS) ** -0.25
    return np.sqrt(0.5 / (forward + EPS) + 0.5 / (backward + EPS))


def _reference(x, name, combination="arithmetic", statistic="variance", center=True, gain=0.0,
               max_scale=None, stats=None):
    """float64 NumPy reference of one layer over all axes (axis=None).

    Returns `(y, (rho, rho', mean))`: with `stats` None, the batch's
    statistics (training); else those given (inference).
    """
    f, df = REFERENCE[name]
    x = x.astype("float64")
    fx = f(x)
    if stats is None:
        x_stat = x.var() if statistic == "variance" else (x**2).mean()
        stats = ((fx**2).mean() / x_stat, (df(x) ** 2).mean(), fx.mean())
    forward, backward, mean = stats
    scale = _combine(forward, backward, combination)
    if max_scale is not None:
        g_forward, g_backward, _ = _gaussian(name)
        scale = min(scale, max_scale * _combine(g_forward, g_backward, combination))
    return (scale + gain) * (fx - mean if center else fx), stats


PUBLISHED = dict(center=True, combination="arithmetic", forward_statistic="variance", gain_range=0.3,
                 statistics_gradient=True, momentum=0.9, max_scale=None)


@pytest.mark.parametrize("name", ["tanh", "swish", "sigmoid"])
def test_published_configuration_matches_numpy_in_training_and_inference(name):
    rng = np.random.default_rng(20)
    x = (1.7 * rng.normal(size=(32, 6)) + 0.4).astype("float32")
    layer = keras_lcw.ANAct.from_preset("published", name)
    layer.build(x.shape)
    layer.alpha.assign(np.float32(0.7))
    gain = 0.3 * np.tanh(np.float32(0.7))
    g_forward, g_backward, g_mean = _gaussian(name)
    np.testing.assert_allclose(to_numpy(layer.activation_mean), g_mean, rtol=1e-5, atol=1e-7)
    expected, (forward, backward, mean) = _reference(x, name, gain=gain)
    np.testing.assert_allclose(to_numpy(layer(x, training=True)), expected, rtol=2e-5, atol=2e-5)
    moved = [0.9 * g + 0.1 * b for g, b in zip((g_forward, g_backward, g_mean), (forward, backward, mean))]
    got = [to_numpy(v) for v in (layer.forward_ratio, layer.backward_ratio, layer.activation_mean)]
    np.testing.assert_allclose(got, moved, rtol=1e-5, atol=1e-7)
    # Inference: the moving statistics, and the state stays.
    expected, _ = _reference(x, name, gain=gain, stats=moved)
    np.testing.assert_allclose(to_numpy(layer(x, training=False)), expected, rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose([to_numpy(v) for v in (layer.forward_ratio, layer.backward_ratio, layer.activation_mean)], moved, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(center=True),
        dict(combination="arithmetic"),
        dict(forward_statistic="variance"),
        dict(center=True, combination="arithmetic", forward_statistic="variance", max_scale=1.2),
    ],
    ids=["centred", "arithmetic", "variance", "all-bounded"],
)
def test_each_argument_alone_matches_numpy(kwargs):
    x = (2.0 * np.random.default_rng(21).normal(size=(24, 5)) + 0.5).astype("float32")
    layer = keras_lcw.ANAct.from_preset("geometric", "swish", **kwargs)
    expected, _ = _reference(
        x, "swish", kwargs.get("combination", "geometric"), kwargs.get("forward_statistic", "second_moment"),
        kwargs.get("center", False), max_scale=kwargs.get("max_scale"),
    )
    np.testing.assert_allclose(to_numpy(layer(x, training=True)), expected, rtol=2e-5, atol=2e-5)


def test_static_layer_centres_with_the_gaussian_mean_and_learns_its_gain():
    x = np.random.default_rng(22).normal(size=(16, 4)).astype("float32")
    layer = keras_lcw.ANAct.from_preset("geometric", "sigmoid", adaptive=False, center=True, gain_range=0.5)
    layer.build(x.shape)
    layer.alpha.assign(np.float32(-0.4))
    forward, backward, mean = _gaussian("sigmoid")
    scale = (forward * backward + EPS) ** -0.25 + 0.5 * np.tanh(-0.4)
    expected = scale * (REFERENCE["sigmoid"][0](x.astype("float64")) - mean)
    np.testing.assert_allclose(to_numpy(layer(x, training=True)), expected, rtol=1e-5, atol=1e-6)
    assert [w.name for w in layer.weights] == ["alpha"]


def _gradient(fn, x):
    """The gradient of the scalar fn(x) with the backend's autodiff."""
    return value_and_gradients(fn, [x])[1][0]


@pytest.mark.parametrize("name", ["tanh", "gelu"])
@pytest.mark.parametrize("through", [True, False], ids=["through-statistics", "statistics-constant"])
def test_gradient_through_the_statistics_matches_finite_differences(name, through):
    rng = np.random.default_rng(23)
    x = (1.5 * rng.normal(size=(12, 3)) + 0.3).astype("float32")
    weights = rng.normal(size=x.shape)
    layer = keras_lcw.ANAct(name, **dict(PUBLISHED, statistics_gradient=through))
    layer.build(x.shape)
    layer.alpha.assign(np.float32(0.5))
    gain = 0.3 * np.tanh(0.5)

    def loss(t):
        with keras.StatelessScope():
            return ops.sum(layer(t, training=True) * ops.convert_to_tensor(weights.astype("float32")))

    got = _gradient(loss, x)
    x64 = x.astype("float64")
    _, batch_stats = _reference(x64, name, gain=gain)
    if through:
        expected = finite_difference(lambda t: np.sum(_reference(t, name, gain=gain)[0] * weights), x64)
    else:
        expected = finite_difference(lambda t: np.sum(_reference(t, name, gain=gain, stats=batch_stats)[0] * weights), x64)
    np.testing.assert_allclose(got, expected, rtol=2e-3, atol=2e-4)
    # The two gradients differ, so each check can fail.
    other = finite_difference(
        lambda t: np.sum(_reference(t, name, gain=gain, stats=None if not through else batch_stats)[0] * weights), x64
    )
    assert np.max(np.abs(other - expected)) > 1e-2


@pytest.mark.parametrize("combination", ["geometric", "arithmetic"])
def test_a_dead_unit_leaves_the_gradient_through_the_statistics_finite(combination):
    # Statistics per unit; relu's unit 0 is negative on the whole batch, so
    # its rho' = E[f'(x)^2] = 0.
    rng = np.random.default_rng(5)
    x = rng.normal(size=(16, 3)).astype("float32")
    x[:, 0] = -np.abs(x[:, 0]) - 0.1
    layer = keras_lcw.ANAct("relu", combination=combination, statistics_gradient=True, axis=-1)
    layer.build(x.shape)

    def loss(t):
        with keras.StatelessScope():
            return ops.sum(ops.square(layer(t, training=True)))

    gradient = _gradient(loss, x)
    assert np.isfinite(gradient).all(), gradient
    # The dead unit's output is constant (zero) and so its gradient is too.
    np.testing.assert_array_equal(gradient[:, 0], 0.0)
    assert np.abs(gradient[:, 1:]).max() > 0


@keras.saving.register_keras_serializable(package="keras_lcw_tests")
def soft_cubic(x):
    return x / ops.sqrt(1.0 + x * x)


def test_gradient_through_the_statistics_of_a_custom_callable():
    rng = np.random.default_rng(24)
    x = (1.2 * rng.normal(size=(10, 3))).astype("float32")
    weights = rng.normal(size=x.shape)
    layer = keras_lcw.ANAct(soft_cubic, **dict(PUBLISHED, gain_range=0.0))
    layer.build(x.shape)

    def loss(t):
        with keras.StatelessScope():
            return ops.sum(layer(t, training=True) * ops.convert_to_tensor(weights.astype("float32")))

    f = lambda z: z / np.sqrt(1 + z * z)  # noqa: E731
    df = lambda z: (1 + z * z) ** -1.5  # noqa: E731

    def reference(t):
        forward = (f(t) ** 2).mean() / (t.var() + EPS)
        backward = (df(t) ** 2).mean()
        return np.sum(_combine(forward, backward, "arithmetic") * (f(t) - f(t).mean()) * weights)

    expected = finite_difference(reference, x.astype("float64"))
    np.testing.assert_allclose(_gradient(loss, x), expected, rtol=2e-3, atol=2e-4)


@pytest.mark.parametrize("preset", ["geometric", "published"])
@pytest.mark.parametrize("max_scale", [1.0, 2.0, 5.0])
def test_the_factor_never_exceeds_its_bound_on_saturated_inputs(preset, max_scale):
    # tanh of inputs of size 30 is +-1 with derivative ~0: unbounded, the
    # factor would be about epsilon ** -1/4 (geometric) or (2 eps) ** -1/2.
    x = (30.0 * np.sign(np.random.default_rng(25).normal(size=(64, 4)))).astype("float32")
    layer = keras_lcw.ANAct.from_preset(preset, "tanh", max_scale=max_scale, gain_range=0.0, momentum=0.0)
    layer.build(x.shape)
    forward, backward, _ = _gaussian("tanh")
    combination = layer.combination
    bound = max_scale * _combine(forward, backward, combination)
    for training in (True, False):
        y = to_numpy(layer(x, training=training))
        fx = np.tanh(x.astype("float64"))
        if layer.center:
            fx = fx - fx.mean()
        factor = np.max(np.abs(y)) / np.max(np.abs(fx))
        assert factor == pytest.approx(bound, rel=1e-4)
    unbounded = keras_lcw.ANAct.from_preset(preset, "tanh", gain_range=0.0)
    y = to_numpy(unbounded(x, training=True))
    assert np.max(np.abs(y)) > 3 * bound


def test_the_bound_holds_through_training_on_saturating_inputs():
    rng = np.random.default_rng(26)
    x = (rng.normal(size=(64, 8)) * 40).astype("float32")
    layer = keras_lcw.ANAct.from_preset("geometric", "tanh", max_scale=2.0, momentum=0.5)
    model = keras.Sequential([keras.Input((8,)), layer])
    model.compile("sgd", "mse", jit_compile="auto")
    model.fit(x, np.zeros_like(x), batch_size=16, epochs=3, verbose=0)
    factor = float(to_numpy(layer.scale(layer.forward_ratio, layer.backward_ratio)))
    bound = 2.0 * layer._gaussian_scale
    assert factor == pytest.approx(bound, rel=1e-5)
    assert np.max(np.abs(to_numpy(model.predict(x, verbose=0)))) <= bound * (1 + 1e-5)


def test_presets_hold_their_arguments_and_take_overrides():
    assert set(keras_lcw.ANAct.PRESETS) == {"keras_lcw", "geometric", "published", "static"}
    layer = keras_lcw.ANAct.from_preset("published", "gelu", momentum=0.99, name="act")
    config = layer.get_config()
    for key, value in dict(PUBLISHED, momentum=0.99, max_scale=None).items():
        assert config[key] == value, key
    assert config["activation"] == "gelu" and config["name"] == "act"
    # The default: the public reading, bounded by the standard-normal factor.
    assert keras_lcw.ANAct.PRESETS["keras_lcw"] == dict(PUBLISHED, max_scale=1.0)
    assert keras_lcw.ANAct.from_preset("static", "relu").adaptive is False
    # "keras_lcw" is the default configuration.
    default, preset = keras_lcw.ANAct("tanh").get_config(), keras_lcw.ANAct.from_preset("keras_lcw", "tanh").get_config()
    default.pop("name"), preset.pop("name")
    assert default == preset
    with pytest.raises(TypeError):
        keras_lcw.ANAct.PRESETS["mine"] = {}


def test_geometric_preset_is_the_factor_of_earlier_versions():
    x = (2.0 * np.random.default_rng(27).normal(size=(16, 5)) + 0.3).astype("float32")
    layer = keras_lcw.ANAct.from_preset("geometric", "swish")
    expected, _ = _reference(x, "swish", "geometric", "second_moment", center=False)
    np.testing.assert_allclose(to_numpy(layer(x, training=True)), expected, rtol=2e-5, atol=2e-5)
    assert len(layer.weights) == 2


# The config of an ANAct saved before `center`, `combination`, ... existed.
OLD_CONFIG = {
    "name": "an_act", "trainable": True,
    "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None},
    "activation": "tanh", "adaptive": True, "axis": None, "momentum": 0.9, "epsilon": 1e-06, "synchronized": False,
}


def test_a_config_without_the_new_arguments_means_the_old_factor():
    layer = keras_lcw.ANAct.from_config(json.loads(json.dumps(OLD_CONFIG)))
    config = layer.get_config()
    for key, value in anact.LEGACY_ARGUMENTS.items():
        assert config[key] == value, key
    x = (2.0 * np.random.default_rng(28).normal(size=(16, 5)) + 0.3).astype("float32")
    expected, _ = _reference(x, "tanh", "geometric", "second_moment", center=False)
    np.testing.assert_allclose(to_numpy(layer(x, training=True)), expected, rtol=2e-5, atol=2e-5)
    # Through keras's deserialization too.
    restored = keras.saving.deserialize_keras_object(
        {"module": "keras_lcw.activations.anact", "class_name": "ANAct", "config": OLD_CONFIG,
         "registered_name": "keras_lcw>ANAct"}
    )
    assert restored.get_config() == dict(config, name=restored.name)
    # A config that names them keeps them.
    published = keras_lcw.ANAct.from_preset("published", "tanh").get_config()
    assert keras_lcw.ANAct.from_config(published).get_config() == published


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(center=1), "`center` must be True or False; received center=1."),
        (dict(combination="harmonic"), "`combination` must be one of 'geometric', 'arithmetic'; received combination='harmonic'."),
        (dict(forward_statistic="std"), "`forward_statistic` must be one of 'second_moment', 'variance'; received forward_statistic='std'."),
        (dict(gain_range=-0.1), "`gain_range` must be a finite number greater than or equal to 0, at most 3.403e+38 (float32's largest); received gain_range=-0.1."),
        (dict(gain_range=float("nan")), "`gain_range` must be a finite number greater than or equal to 0, at most 3.403e+38 (float32's largest); received gain_range=nan."),
        (dict(statistics_gradient="no"), "`statistics_gradient` must be True or False; received statistics_gradient='no'."),
        (dict(max_scale=0.5), "`max_scale` must be None or a finite number of at least 1; received max_scale=0.5."),
        (dict(max_scale=float("inf")), "`max_scale` must be None or a finite number of at least 1; received max_scale=inf."),
        (dict(max_scale=True), "`max_scale` must be None or a finite number of at least 1; received max_scale=True."),
    ],
)
def test_bad_new_arguments_are_refused_with_their_name_and_value(kwargs, message):
    with pytest.raises(ValueError) as info:
        keras_lcw.ANAct(**kwargs)
    assert str(info.value) == message


def test_an_unknown_preset_is_refused():
    with pytest.raises(ValueError) as info:
        keras_lcw.ANAct.from_preset("paper")
    assert str(info.value) == (
        "`preset` must be one of 'keras_lcw', 'published', 'geometric', 'static'; "
        "received preset='paper'."
    )


def test_published_configuration_under_mixed_precision_computes_statistics_in_float32():
    x = (300.0 * np.random.default_rng(29).normal(size=(16, 4))).astype("float32")
    layer = keras_lcw.ANAct.from_preset("published", "swish", dtype="mixed_float16")
    y = layer(x, training=True)
    assert keras.backend.standardize_dtype(y.dtype) == "float16"
    assert all(v.dtype == "float32" for v in layer.variables)
    expected, _ = _reference(x.astype("float16").astype("float32"), "swish")
    np.testing.assert_allclose(to_numpy(y).astype("float64"), expected, rtol=3e-3, atol=3e-3 * np.abs(expected).max())


@pytest.mark.parametrize("name", ["anact", "anact_static"])
def test_files_saved_before_the_new_arguments_load_with_the_old_factor(name):
    from tests.test_saved_files import DIRECTORY
    from tests.test_saved_files import _saved_config

    saved = json.loads(_saved_config(name))
    layer_config = [layer for layer in saved["config"]["layers"] if layer["class_name"] == "ANAct"][0]["config"]
    assert not set(anact.LEGACY_ARGUMENTS) & set(layer_config)
    model = keras.models.load_model(f"{DIRECTORY}/{name}.keras")
    config = model.layers[-1].get_config()
    for key, value in anact.LEGACY_ARGUMENTS.items():
        assert config[key] == value, key


def test_the_default_leaves_masked_entries_out_of_every_statistic():
    from tests.test_anact import _padded_batch

    x, mask = _padded_batch(30)
    layer = keras_lcw.ANAct("tanh", momentum=0.0)
    layer.build(x.shape)
    y = to_numpy(layer(x, training=True, mask=mask))
    # The statistics of the unmasked rows alone, the factor bounded at s0.
    _, stats = _reference(x[mask], "tanh")
    expected, _ = _reference(x, "tanh", max_scale=1.0, stats=stats)
    np.testing.assert_allclose(y, expected, rtol=2e-5, atol=2e-5)
    got = [to_numpy(v) for v in (layer.forward_ratio, layer.backward_ratio, layer.activation_mean)]
    np.testing.assert_allclose(got, stats, rtol=1e-5, atol=1e-7)
    # The padding matters without the mask, so the test above can fail.
    _, unmasked = _reference(x, "tanh")
    assert max(abs(a - b) for a, b in zip(unmasked, stats)) > 0.05
