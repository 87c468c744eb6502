import keras
import numpy as np
import pytest

import keras_lcw
from keras_lcw.diagnostics import GradientProbe
from keras_lcw.diagnostics import signal_statistics
from tests.harness import to_numpy

BATCH = 32


def _mlp(dense, depth=6, activation="sigmoid"):
    inputs = keras.Input((16,))
    h = inputs
    for _ in range(depth):
        h = dense()(h)
        h = GradientProbe(BATCH)(h)
        h = keras.layers.Activation(activation)(h)
    return keras.Model(inputs, keras.layers.Dense(3)(h))


def _batch(seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(size=(BATCH, 16)).astype("float32"), rng.integers(0, 3, size=BATCH)


def test_backward_moments_match_a_numpy_backward_pass():
    keras.utils.set_random_seed(1)
    model = _mlp(lambda: keras.layers.Dense(8), depth=2, activation="tanh")
    x, y = _batch()
    stats = signal_statistics(model, x, y, keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    dense = [l for l in model.layers if isinstance(l, keras.layers.Dense)]
    w = [(to_numpy(l.kernel).astype("float64"), to_numpy(l.bias).astype("float64")) for l in dense]
    z1 = x @ w[0][0] + w[0][1]
    z2 = np.tanh(z1) @ w[1][0] + w[1][1]
    logits = np.tanh(z2) @ w[2][0] + w[2][1]
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    g_logits = (p - np.eye(3)[y]) / BATCH
    g_z2 = (g_logits @ w[2][0].T) * (1 - np.tanh(z2) ** 2)
    g_z1 = (g_z2 @ w[1][0].T) * (1 - np.tanh(z1) ** 2)
    np.testing.assert_allclose(stats["backward_second_moment"], [np.mean(g_z1**2), np.mean(g_z2**2)], rtol=1e-4)
    np.testing.assert_allclose(stats["forward_second_moment"], [np.mean(z1**2), np.mean(z2**2)], rtol=1e-4)
    shift = np.sqrt(np.mean(z1.mean(0) ** 2)) / np.sqrt(np.mean(z1.std(0) ** 2))
    assert stats["activation_shift"][0] == pytest.approx(shift, rel=1e-4)


def test_model_is_left_untouched():
    model = _mlp(lambda: keras.layers.Dense(8), depth=2)
    model.compile("adam", "mse")
    before = [to_numpy(v) for v in model.variables]
    x, y = _batch()
    signal_statistics(model, x, y, "sparse_categorical_crossentropy")
    for b, v in zip(before, model.variables):
        np.testing.assert_array_equal(b, to_numpy(v))
    assert all(not p.trainable for p in model.layers if isinstance(p, GradientProbe))
    assert len(model.trainable_weights) == 6
    # An inactive probe is the identity for any batch size.
    model.predict(x[:5], verbose=0)


@pytest.mark.slow
def test_lcw_removes_the_activation_shift_of_deep_sigmoid_stacks():
    x, y = _batch()
    plain = signal_statistics(_mlp(lambda: keras.layers.Dense(32, kernel_initializer=keras_lcw.initializers.scaled_initializer("sigmoid"))), x, y, "sparse_categorical_crossentropy")
    lcw = signal_statistics(_mlp(lambda: keras_lcw.LCWDense(32)), x, y, "sparse_categorical_crossentropy")
    # Past the first layer the inputs share a mean of about 0.5.
    assert np.all(plain["activation_shift"][1:] > 1.0)
    assert np.all(lcw["activation_shift"][1:] < 0.5)


def test_errors_are_clear():
    with pytest.raises(ValueError, match="batch_size"):
        GradientProbe(0)
    assert GradientProbe(np.int64(4)).batch_size == 4
    model = _mlp(lambda: keras.layers.Dense(8), depth=1)
    x, y = _batch()
    with pytest.raises(ValueError, match="batch has 5"):
        signal_statistics(model, x[:5], y[:5], "sparse_categorical_crossentropy")
    plain = keras.Sequential([keras.Input((16,)), keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="no GradientProbe"):
        signal_statistics(plain, x, y, "sparse_categorical_crossentropy")


def test_one_probe_and_sequential_models_are_measured():
    x, y = _batch()
    sequential = keras.Sequential([keras.Input((16,)), keras.layers.Dense(8), GradientProbe(BATCH), keras.layers.Activation("tanh"), keras.layers.Dense(3)])
    functional = _mlp(lambda: keras.layers.Dense(8), depth=1, activation="tanh")
    functional.set_weights(sequential.get_weights())
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    got, expected = signal_statistics(sequential, x, y, loss), signal_statistics(functional, x, y, loss)
    for key in ("forward_second_moment", "activation_shift", "backward_second_moment"):
        assert got[key].shape == (1,)
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-6, err_msg=key)
    z = x @ to_numpy(sequential.layers[0].kernel) + to_numpy(sequential.layers[0].bias)
    np.testing.assert_allclose(got["forward_second_moment"], [np.mean(z.astype("float64") ** 2)], rtol=1e-4)


def test_bad_arguments_are_refused_clearly():
    x, y = _batch()
    loss = "sparse_categorical_crossentropy"
    model = _mlp(lambda: keras.layers.Dense(8), depth=2)
    with pytest.raises(TypeError, match="takes a keras.Model; received an object of type NoneType"):
        signal_statistics(None, x, y, loss)
    with pytest.raises(ValueError, match="`x` and `y` must hold the same number of examples; received 32 and 31"):
        signal_statistics(model, x, y[:31], loss)
    with pytest.raises(ValueError, match="`x` must be an array with a batch axis"):
        signal_statistics(model, np.float32(1.0), y, loss)
    unbuilt = keras.Sequential([keras.layers.Dense(8), GradientProbe(BATCH)])
    with pytest.raises(ValueError, match="has no symbolic inputs"):
        signal_statistics(unbuilt, x, y, loss)
    probe, dense = GradientProbe(BATCH), keras.layers.Dense(16)
    inputs = keras.Input((16,))
    shared = keras.Model(inputs, probe(dense(probe(dense(inputs)))))
    with pytest.raises(ValueError, match=f"GradientProbe '{probe.name}' is called 2 times"):
        signal_statistics(shared, x, x, "mse")


def test_probe_config_round_trip(tmp_path):
    model = _mlp(lambda: keras.layers.Dense(8), depth=1)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert [l.batch_size for l in loaded.layers if isinstance(l, GradientProbe)] == [BATCH]


def test_a_probe_inside_a_nested_model_is_refused_and_the_nested_model_measured():
    x, y = _batch()
    inner = keras.Sequential([keras.Input((16,)), keras.layers.Dense(8), GradientProbe(BATCH, name="inner_probe")], name="inner")
    outer = keras.Sequential([keras.Input((16,)), inner, keras.layers.Dense(3)], name="outer")
    message = "GradientProbe 'inner_probe' is inside the nested model 'inner'.*model 'outer' itself"
    with pytest.raises(ValueError, match=message):
        signal_statistics(outer, x, y, keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    statistics = signal_statistics(inner, x, np.zeros((BATCH, 8), "float32"), "mse")
    assert statistics["names"].tolist() == ["inner_probe"]
