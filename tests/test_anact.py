import functools

import keras
import numpy as np
import pytest
from keras import ops
from scipy import integrate
from scipy import special

import keras_lcw
from keras_lcw import backend_utils
from keras_lcw.activations import anact
from keras_lcw.numerics import derivatives
from tests.harness import LayerContract
from tests.harness import LayerSpec
from tests.harness import to_numpy


class DenseThenLayerSpec(LayerSpec):
    """A Dense layer in front, so that a fit step has weights to train."""

    def model(self, **overrides):
        return keras.Sequential(
            [
                keras.Input(self.input_shape),
                keras.layers.Dense(self.input_shape[-1]),
                self.make(**overrides),
            ]
        )


@keras.saving.register_keras_serializable(package="keras_lcw_tests")
class MaskFrom(keras.layers.Layer):
    """`[x, mask] -> x`, with `mask` as x's Keras mask: padding whose values
    are anything, not only what `Masking` or `Embedding` would leave."""

    def call(self, inputs):
        return inputs[0]

    def compute_mask(self, inputs, mask=None):
        return ops.cast(inputs[1], "bool")

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]


def masked_model(layer, steps, features):
    """`[x, mask]` -> layer(x with mask), a functional model."""
    x = keras.Input((steps, features))
    mask = keras.Input((steps,), dtype="bool")
    return keras.Model([x, mask], layer(MaskFrom()([x, mask])))


# The configuration of the releases before presets (the default until then):
# the tests below check that it is unchanged. tests/test_anact_configurations.py
# tests the others and the default.
GEOMETRIC = dict(anact.LEGACY_ARGUMENTS, momentum=0.99)
geometric_anact = functools.partial(keras_lcw.ANAct.from_preset, "geometric")


class TestANActContract(LayerContract):
    SPECS = [
        DenseThenLayerSpec(keras_lcw.ANAct, dict(GEOMETRIC, activation="tanh", momentum=0.9), (5,), trainable=0, non_trainable=2),
        DenseThenLayerSpec(keras_lcw.ANAct, dict(GEOMETRIC, activation="gelu", axis=-1, epsilon=1e-4), (3, 4), trainable=0, non_trainable=2, id="ANAct-per-channel"),
        DenseThenLayerSpec(keras_lcw.ANAct, dict(GEOMETRIC, activation="relu", axis=[1, 2], momentum=0.5), (3, 4), trainable=0, non_trainable=2, id="ANAct-two-axes"),
        DenseThenLayerSpec(keras_lcw.ANAct, dict(GEOMETRIC, activation="mish", adaptive=False), (5,), trainable=0, non_trainable=0, id="ANAct-static"),
    ]


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_phi = lambda z: np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)  # noqa: E731
_cdf = lambda z: 0.5 * (1 + special.erf(z / np.sqrt(2)))  # noqa: E731
_sig = special.expit
_inside = lambda z, lo, hi: ((z > lo) & (z < hi)) * 1.0  # noqa: E731
_softplus = lambda z: np.logaddexp(0.0, z)  # noqa: E731

# Independent float64 references: (f, f') for every built-in name.
REFERENCE = {
    "linear": (lambda z: z, lambda z: np.ones_like(z)),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0) * 1.0),
    "leaky_relu": (lambda z: np.where(z > 0, z, 0.2 * z), lambda z: np.where(z > 0, 1.0, 0.2)),
    "relu6": (lambda z: np.clip(z, 0, 6), lambda z: _inside(z, 0, 6)),
    "elu": (lambda z: np.where(z > 0, z, np.expm1(z)), lambda z: np.where(z > 0, 1.0, np.exp(z))),
    "selu": (
        lambda z: SELU_SCALE * np.where(z > 0, z, SELU_ALPHA * np.expm1(z)),
        lambda z: SELU_SCALE * np.where(z > 0, 1.0, SELU_ALPHA * np.exp(z)),
    ),
    "celu": (lambda z: np.where(z > 0, z, np.expm1(z)), lambda z: np.where(z > 0, 1.0, np.exp(z))),
    "gelu": (lambda z: z * _cdf(z), lambda z: _cdf(z) + z * _phi(z)),
    "silu": (lambda z: z * _sig(z), lambda z: _sig(z) + z * _sig(z) * _sig(-z)),
    "swish": (lambda z: z * _sig(z), lambda z: _sig(z) + z * _sig(z) * _sig(-z)),
    "mish": (
        lambda z: z * np.tanh(_softplus(z)),
        lambda z: np.tanh(_softplus(z)) + z * _sig(z) / np.cosh(_softplus(z)) ** 2,
    ),
    "tanh": (np.tanh, lambda z: 1 / np.cosh(z) ** 2),
    "sigmoid": (_sig, lambda z: _sig(z) * _sig(-z)),
    "hard_sigmoid": (lambda z: np.clip(z / 6 + 0.5, 0, 1), lambda z: _inside(z, -3, 3) / 6),
    "hard_silu": (lambda z: z * np.clip(z / 6 + 0.5, 0, 1), lambda z: np.clip(z / 6 + 0.5, 0, 1) + z * _inside(z, -3, 3) / 6),
    "hard_swish": (lambda z: z * np.clip(z / 6 + 0.5, 0, 1), lambda z: np.clip(z / 6 + 0.5, 0, 1) + z * _inside(z, -3, 3) / 6),
    "softplus": (_softplus, _sig),
    "softsign": (lambda z: z / (1 + np.abs(z)), lambda z: 1 / (1 + np.abs(z)) ** 2),
    "log_sigmoid": (lambda z: -_softplus(-z), lambda z: _sig(-z)),
    "exponential": (np.exp, np.exp),
    "sparse_plus": (lambda z: np.where(z <= -1, 0, np.where(z < 1, (z + 1) ** 2 / 4, z)), lambda z: np.clip((z + 1) / 2, 0, 1)),
    "squareplus": (lambda z: (z + np.sqrt(z * z + 4)) / 2, lambda z: (1 + z / np.sqrt(z * z + 4)) / 2),
    "sparse_sigmoid": (lambda z: np.clip((z + 1) / 2, 0, 1), lambda z: _inside(z, -1, 1) / 2),
    "soft_shrink": (lambda z: np.sign(z) * np.maximum(np.abs(z) - 0.5, 0), lambda z: 1 - _inside(z, -0.5, 0.5)),
    "hard_shrink": (lambda z: np.where(np.abs(z) > 0.5, z, 0), lambda z: 1 - _inside(z, -0.5, 0.5)),
    "hard_tanh": (lambda z: np.clip(z, -1, 1), lambda z: _inside(z, -1, 1)),
    "tanh_shrink": (lambda z: z - np.tanh(z), lambda z: np.tanh(z) ** 2),
}

# Kinks of the piecewise activations, where quad is told to split.
_BREAKS = [-3, -1, -0.5, 0, 0.5, 1, 3, 6]


def _normal_expectation(fn):
    total = 0.0
    # Finite ends: exp(2z) phi(z) overflows in parts at infinity.
    edges = [-40.0] + _BREAKS + [40.0]
    for lo, hi in zip(edges[:-1], edges[1:]):
        total += integrate.quad(lambda z: fn(np.array(z)) * _phi(z), lo, hi, limit=200, epsabs=1e-12)[0]
    return total


def test_reference_table_covers_every_built_in_name():
    assert set(REFERENCE) == set(derivatives.BUILT_IN_NAMES)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_gaussian_ratios_and_scale_match_integration(name):
    f, df = REFERENCE[name]
    forward = _normal_expectation(lambda z: f(z) ** 2)
    backward = _normal_expectation(lambda z: df(z) ** 2)
    layer = geometric_anact(name)
    layer.build((None, 3))
    got_forward, got_backward = layer.gaussian_ratios
    assert got_forward == pytest.approx(forward, rel=1e-4)
    assert got_backward == pytest.approx(backward, rel=1e-4)
    np.testing.assert_allclose(to_numpy(layer.forward_ratio), forward, rtol=1e-4)
    np.testing.assert_allclose(to_numpy(layer.backward_ratio), backward, rtol=1e-4)
    expected_scale = (forward * backward) ** -0.25
    scale = float(to_numpy(layer.scale(layer.forward_ratio, layer.backward_ratio)))
    assert scale == pytest.approx(expected_scale, rel=1e-4)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_exact_derivative_matches_reference(name):
    z = np.random.default_rng(0).uniform(-7, 7, size=500)
    # Keep off the kinks, where derivatives are conventions.
    z = z[np.min(np.abs(z[:, None] - np.array(_BREAKS)), axis=1) > 1e-3].astype("float32")
    fn = keras.activations.get(name)
    # Written out, not the backend's automatic differentiation.
    assert derivatives.exact_derivative(fn) is not None
    value, derivative = derivatives.value_and_derivative(fn, ops.convert_to_tensor(z))
    f, df = REFERENCE[name]
    np.testing.assert_allclose(to_numpy(value), f(z.astype("float64")), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(to_numpy(derivative), df(z.astype("float64")), rtol=1e-4, atol=1e-5)


def _numpy_anact(x, name, ratios, axis, epsilon=1e-6):
    """Reference: returns (training output, batch ratios) for the layer."""
    f, df = REFERENCE[name]
    x = x.astype("float64")
    reduce = tuple(a for a in range(x.ndim) if a not in axis)
    forward = (f(x) ** 2).mean(axis=reduce, keepdims=True) / (x**2).mean(axis=reduce, keepdims=True)
    backward = (df(x) ** 2).mean(axis=reduce, keepdims=True)
    scale = (forward * backward + epsilon) ** -0.25
    return scale * f(x), forward, backward


@pytest.mark.parametrize(
    "name, axis, shape",
    [("swish", None, (16, 6)), ("tanh", -1, (8, 3, 5)), ("elu", [1, 2], (8, 3, 4))],
)
def test_matches_numpy_reference_in_training_and_inference(name, axis, shape):
    rng = np.random.default_rng(1)
    x = (2.0 * rng.normal(size=shape) + 0.3).astype("float32")
    layer = geometric_anact(name, axis=axis, momentum=0.8)
    layer.build(x.shape)
    kept = [] if axis is None else [a % x.ndim for a in ([axis] if isinstance(axis, int) else axis)]
    initial = [to_numpy(layer.forward_ratio), to_numpy(layer.backward_ratio)]
    y = to_numpy(layer(x, training=True))
    expected, forward, backward = _numpy_anact(x, name, initial, kept)
    np.testing.assert_allclose(y, expected, rtol=2e-5, atol=2e-5)
    moved_forward = 0.8 * initial[0] + 0.2 * forward.squeeze(axis=tuple(a for a in range(x.ndim) if a not in kept))
    moved_backward = 0.8 * initial[1] + 0.2 * backward.squeeze(axis=tuple(a for a in range(x.ndim) if a not in kept))
    np.testing.assert_allclose(to_numpy(layer.forward_ratio), moved_forward, rtol=1e-5)
    np.testing.assert_allclose(to_numpy(layer.backward_ratio), moved_backward, rtol=1e-5)
    # Inference: the moving ratios, broadcast over the reduction axes.
    f = REFERENCE[name][0]
    inference_scale = (moved_forward * moved_backward + 1e-6) ** -0.25
    broadcast = [x.shape[a] if a in kept else 1 for a in range(x.ndim)]
    expected = f(x.astype("float64")) * inference_scale.reshape(broadcast)
    np.testing.assert_allclose(to_numpy(layer(x, training=False)), expected, rtol=2e-5, atol=2e-5)


def test_moving_ratios_approach_batch_ratios_in_training_and_stay_at_inference():
    x = (3.0 * np.random.default_rng(2).normal(size=(64, 8)) + 1.0).astype("float32")
    _, forward, backward = _numpy_anact(x, "tanh", None, [])
    target = np.array([forward.item(), backward.item()])
    layer = geometric_anact("tanh", momentum=0.5)
    model = keras.Sequential([keras.Input((8,)), layer])
    model.compile("sgd", "mse", jit_compile="auto")

    def state():
        return np.array([float(to_numpy(layer.forward_ratio)), float(to_numpy(layer.backward_ratio))])

    distances = [np.abs(state() - target)]
    for _ in range(4):
        model.fit(x, x, batch_size=64, epochs=1, verbose=0)
        distances.append(np.abs(state() - target))
    distances = np.array(distances)
    assert np.all(np.diff(distances, axis=0) < 0), distances
    np.testing.assert_allclose(distances[-1], distances[0] / 16, rtol=1e-3)
    before = state()
    model.predict(x, verbose=0)
    model.evaluate(x, x, verbose=0)
    layer(x, training=False)
    np.testing.assert_array_equal(state(), before)
    # A frozen layer uses and keeps its moving ratios, as BatchNormalization.
    layer.trainable = False
    layer(x, training=True)
    np.testing.assert_array_equal(state(), before)


def test_no_gradient_flows_through_the_statistics():
    x = np.random.default_rng(3).normal(size=(32, 4)).astype("float32")
    layer = geometric_anact("swish")
    layer.build(x.shape)
    f, df = REFERENCE["swish"]
    expected_output, forward, backward = _numpy_anact(x, "swish", None, [])
    scale = (forward * backward + 1e-6) ** -0.25
    with keras.StatelessScope():
        _, gradient = backend_utils.value_and_elementwise_derivative(
            lambda t: layer(t, training=True), ops.convert_to_tensor(x)
        )
    np.testing.assert_allclose(to_numpy(gradient), scale * df(x.astype("float64")), rtol=1e-4, atol=1e-5)


def test_static_mode_is_batch_independent_and_fixed():
    layer = geometric_anact("gelu", adaptive=False)
    x = np.random.default_rng(4).normal(size=(16, 5)).astype("float32")
    y_train = to_numpy(layer(5 * x, training=True))
    assert layer.weights == []
    f, df = REFERENCE["gelu"]
    s0 = (_normal_expectation(lambda z: f(z) ** 2) * _normal_expectation(lambda z: df(z) ** 2)) ** -0.25
    np.testing.assert_allclose(y_train, s0 * f(5 * x.astype("float64")), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(to_numpy(layer(5 * x, training=False)), y_train)


@keras.saving.register_keras_serializable(package="keras_lcw_tests")
def bent_identity(x):
    return x + 0.25 * ops.sqrt(x * x + 1.0)


def test_custom_callable_uses_autodiff_and_round_trips(tmp_path):
    x = np.random.default_rng(5).normal(size=(32, 3)).astype("float32")
    layer = geometric_anact(bent_identity, momentum=0.0)
    model = keras.Sequential([keras.Input((3,)), layer])
    y = to_numpy(layer(x, training=True))
    f = lambda z: z + 0.25 * np.sqrt(z * z + 1)  # noqa: E731
    df = lambda z: 1 + 0.25 * z / np.sqrt(z * z + 1)  # noqa: E731
    x64 = x.astype("float64")
    forward = (f(x64) ** 2).mean() / ((x64**2).mean() + 1e-6)
    backward = (df(x64) ** 2).mean()
    np.testing.assert_allclose(y, (forward * backward + 1e-6) ** -0.25 * f(x64), rtol=1e-5)
    assert layer.gaussian_ratios[1] == pytest.approx(_normal_expectation(lambda z: df(z) ** 2), rel=1e-5)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(to_numpy(loaded(x)), to_numpy(model(x)))


def test_mixed_precision_statistics_in_float32():
    layer = geometric_anact("swish", dtype="mixed_float16")
    # E[x^2] of about 9e4 overflows float16 (largest value 65504): the
    # statistics must be computed in float32.
    x = 300.0 * np.random.default_rng(6).normal(size=(16, 4)).astype("float32")
    y = layer(x, training=True)
    assert keras.backend.standardize_dtype(y.dtype) == "float16"
    expected, _, _ = _numpy_anact(x.astype("float16").astype("float32"), "swish", None, [])
    np.testing.assert_allclose(to_numpy(y).astype("float64"), expected, rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(activation="softmax"), "elementwise"),
        (dict(activation="glu"), "elementwise"),
        (dict(activation="no_such_activation"), "no_such_activation"),
        (dict(momentum=1.0), "momentum"),
        (dict(momentum=-0.1), "momentum"),
        (dict(epsilon=0.0), "epsilon"),
        (dict(adaptive="yes"), "adaptive"),
        (dict(axis="channels"), "axis"),
        (dict(axis=[]), "axis"),
    ],
)
def test_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        keras_lcw.ANAct(**kwargs)


@pytest.mark.parametrize(
    "axis, shape, match",
    [(3, (None, 4, 5), "rank 3"), (0, (None, 4), "non-batch"), ([1, -1], (None, 4), "distinct"), (1, (None, None, 3), "known sizes")],
)
def test_bad_axes_for_the_input_are_refused(axis, shape, match):
    with pytest.raises(ValueError, match=match):
        keras_lcw.ANAct("relu", axis=axis).build(shape)


@pytest.mark.parametrize("axis", [None, -1])
def test_called_on_another_shape_is_refused_by_its_input_spec(axis):
    layer = keras_lcw.ANAct("tanh", axis=axis)
    layer(np.ones((2, 4), "float32"), training=True)
    with pytest.raises(ValueError, match="expected ndim=2, found ndim=3"):
        layer(np.ones((2, 3, 4), "float32"), training=True)
    if axis is None:
        # Statistics over every axis: another width is fine.
        layer(np.ones((2, 5), "float32"), training=True)
    else:
        with pytest.raises(ValueError, match="expected axis 1 of input shape to have value 4"):
            layer(np.ones((2, 5), "float32"), training=True)


def test_exported_at_top_level_and_in_activations():
    assert keras_lcw.ANAct is keras_lcw.activations.ANAct


def _padded_batch(seed, shape=(3, 6, 4)):
    """x with wild values at the padded steps, and the (batch, steps) mask."""
    rng = np.random.default_rng(seed)
    x = (1.5 * rng.normal(size=shape) + 0.2).astype("float32")
    mask = np.ones(shape[:2], bool)
    mask[0, 4:] = False
    mask[2, 1:] = False
    x[~mask] = (rng.normal(size=x[~mask].shape) * 30.0 + 40.0).astype("float32")
    return x, mask


@pytest.mark.parametrize("axis", [None, -1], ids=["one-pair", "per-channel"])
def test_masked_entries_are_left_out_of_the_statistics(axis):
    x, mask = _padded_batch(7)
    layer = geometric_anact("tanh", axis=axis, momentum=0.5)
    layer.build(x.shape)
    initial = [to_numpy(layer.forward_ratio), to_numpy(layer.backward_ratio)]
    y = to_numpy(layer(x, training=True, mask=mask))
    kept = [] if axis is None else [2]
    # Reference: the statistics of the unmasked rows only.
    _, forward, backward = _numpy_anact(x[mask], "tanh", None, [] if axis is None else [1])
    forward, backward = forward.reshape(-1), backward.reshape(-1)
    if axis is None:
        forward, backward = forward[0], backward[0]
    scale = (forward * backward + 1e-6) ** -0.25
    expected = REFERENCE["tanh"][0](x.astype("float64")) * (scale if axis is None else scale.reshape(1, 1, -1))
    np.testing.assert_allclose(y, expected, rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(to_numpy(layer.forward_ratio), 0.5 * initial[0] + 0.5 * forward, rtol=1e-5)
    np.testing.assert_allclose(to_numpy(layer.backward_ratio), 0.5 * initial[1] + 0.5 * backward, rtol=1e-5)
    # The padding matters without the mask, so the test above can fail.
    _, unmasked_forward, _ = _numpy_anact(x, "tanh", None, kept)
    assert np.max(np.abs(unmasked_forward.reshape(-1) - np.reshape(forward, -1))) > 0.05


def test_mask_is_used_in_a_compiled_fit_step_and_passed_on():
    x, mask = _padded_batch(8)
    layer = geometric_anact("swish", momentum=0.0)
    model = masked_model(layer, *x.shape[1:])
    model.compile("sgd", "mse", jit_compile="auto")
    model.fit([x, mask], np.zeros_like(x), batch_size=len(x), epochs=1, verbose=0)
    _, forward, backward = _numpy_anact(x[mask], "swish", None, [])
    np.testing.assert_allclose(to_numpy(layer.forward_ratio), forward.item(), rtol=1e-5)
    np.testing.assert_allclose(to_numpy(layer.backward_ratio), backward.item(), rtol=1e-5)
    # ANAct passes the mask on.
    pooled = keras.Model(model.inputs, keras.layers.GlobalAveragePooling1D()(model.outputs[0]))
    y = to_numpy(model([x, mask]))
    weights = mask[..., None]
    np.testing.assert_allclose(to_numpy(pooled([x, mask])), (y * weights).sum(axis=1) / weights.sum(axis=1), rtol=1e-5, atol=1e-6)


def test_a_fully_masked_batch_changes_nothing():
    x, _ = _padded_batch(9)
    layer = geometric_anact("gelu", momentum=0.5)
    layer.build(x.shape)
    before = [to_numpy(layer.forward_ratio), to_numpy(layer.backward_ratio)]
    y = to_numpy(layer(x, training=True, mask=np.zeros(x.shape[:2], bool)))
    assert np.all(np.isfinite(y))
    np.testing.assert_array_equal([to_numpy(layer.forward_ratio), to_numpy(layer.backward_ratio)], before)
    np.testing.assert_allclose(y, to_numpy(layer(x, training=False)), rtol=1e-6)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_batch_leaves_the_moving_ratios_as_they_were(bad):
    rng = np.random.default_rng(10)
    x = rng.normal(size=(16, 3)).astype("float32")
    poisoned = x.copy()
    poisoned[5, 0] = bad
    layer = geometric_anact("swish", axis=-1, momentum=0.5)
    layer.build(x.shape)
    before = [to_numpy(layer.forward_ratio), to_numpy(layer.backward_ratio)]
    y = to_numpy(layer(poisoned, training=True))
    after = [to_numpy(layer.forward_ratio), to_numpy(layer.backward_ratio)]
    # Channel 0 keeps its ratios and uses them; channels 1 and 2 move.
    for b, a in zip(before, after):
        assert np.all(np.isfinite(a))
        assert a[0] == b[0]
    _, forward, backward = _numpy_anact(x[:, 1:], "swish", None, [1])
    np.testing.assert_allclose(after[0][1:], 0.5 * before[0][1:] + 0.5 * forward.reshape(-1), rtol=1e-5)
    np.testing.assert_allclose(after[1][1:], 0.5 * before[1][1:] + 0.5 * backward.reshape(-1), rtol=1e-5)
    finite_rows = np.arange(16) != 5
    assert np.all(np.isfinite(y[finite_rows]))
    s0 = (before[0][0] * before[1][0] + 1e-6) ** -0.25
    np.testing.assert_allclose(y[finite_rows, 0], s0 * REFERENCE["swish"][0](x[finite_rows, 0].astype("float64")), rtol=1e-5, atol=1e-6)


def test_a_nan_batch_in_a_compiled_fit_does_not_poison_the_state():
    rng = np.random.default_rng(11)
    x = rng.normal(size=(32, 4)).astype("float32")
    poisoned = x.copy()
    poisoned[3, 2] = np.nan
    layer = geometric_anact("tanh", momentum=0.5)
    model = keras.Sequential([keras.Input((4,)), layer])
    model.compile("sgd", "mse", jit_compile="auto")
    before = [to_numpy(layer.forward_ratio), to_numpy(layer.backward_ratio)]
    model.fit(poisoned, np.zeros_like(x), batch_size=32, epochs=1, verbose=0)
    np.testing.assert_array_equal([to_numpy(layer.forward_ratio), to_numpy(layer.backward_ratio)], before)
    assert np.all(np.isfinite(to_numpy(model.predict(x, verbose=0))))
    # A clean batch afterwards moves the ratios as usual.
    model.fit(x, np.zeros_like(x), batch_size=32, epochs=1, verbose=0)
    _, forward, backward = _numpy_anact(x, "tanh", None, [])
    np.testing.assert_allclose(to_numpy(layer.forward_ratio), 0.5 * before[0] + 0.5 * forward.item(), rtol=1e-5)
    np.testing.assert_allclose(to_numpy(layer.backward_ratio), 0.5 * before[1] + 0.5 * backward.item(), rtol=1e-5)


@pytest.mark.parametrize("name", ["swish", "gelu", "relu", "leaky_relu"])
@pytest.mark.parametrize("magnitude", [1e20, 1e30, 1e38])
def test_huge_inputs_give_finite_exact_ratios(name, magnitude):
    # E[x^2] of these overflows float32; the ratios do not. (Bounded
    # activations such as tanh have ratios below the float32 range here.)
    x = (np.random.default_rng(12).uniform(-1.5, 1.5, size=(64, 8)) * magnitude).astype("float32")
    layer = geometric_anact(name, axis=-1, momentum=0.0)
    layer.build(x.shape)
    y = to_numpy(layer(x, training=True))
    assert np.all(np.isfinite(y))
    # The float64 reference, computed without overflow.
    f, df = REFERENCE[name]
    x64 = x.astype("float64") / magnitude
    with np.errstate(over="ignore", invalid="ignore"):
        fx = f(x.astype("float64")) / magnitude
        dfx = df(x.astype("float64"))
    forward = (fx**2).mean(axis=0) / (x64**2).mean(axis=0)
    backward = (dfx**2).mean(axis=0)
    np.testing.assert_allclose(to_numpy(layer.forward_ratio), forward, rtol=1e-5)
    np.testing.assert_allclose(to_numpy(layer.backward_ratio), backward, rtol=1e-5)
    np.testing.assert_allclose(y / magnitude, ((forward * backward + 1e-6) ** -0.25) * fx, rtol=2e-5, atol=1e-6)
