"""Training resumed from a .keras file continues as if never interrupted.

N steps, save (the .keras file holds the optimizer state), load in a fresh
process of the same backend, N more steps there, save again: the weights,
the optimizer's variables and the moving statistics (InputMeanNormalization,
adaptive ANAct) equal those of 2N uninterrupted steps in this process.

Every backend reproduces the run bit for bit on CPU (one batch, no
shuffling, the same compiled step in both processes), so the comparison is
exact.
"""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import keras_lcw
from tests.harness import to_numpy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N = 3

OPTIMIZERS = {
    "sgd_momentum": lambda: keras.optimizers.SGD(learning_rate=0.05, momentum=0.9, name="sgd"),
    "adam": lambda: keras.optimizers.Adam(learning_rate=0.01, name="adam"),
}


def _model():
    # Explicit names: the two models of a test must hold the same paths.
    inputs = keras.Input((6,))
    x = keras_lcw.InputMeanNormalization(momentum=0.5, name="mean")(inputs)
    x = keras_lcw.LCWDense(8, name="lcw")(x)
    x = keras_lcw.ANAct("tanh", momentum=0.5, name="anact")(x)
    x = keras_lcw.GmPDense(8, name="gmp")(x)
    x = keras_lcw.ANAct("swish", axis=-1, momentum=0.5, name="anact_channels")(x)
    x = keras_lcw.WeightNormDense(4, data_init=True, name="weight_norm")(x)
    x = keras_lcw.LinkedPReLU(name="prelu")(x)
    outputs = keras.layers.Dense(2, name="dense")(x)
    return keras.Model(inputs, outputs, name="resumed")


def _data():
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(16, 6)) + 0.5).astype("float32")
    y = rng.normal(size=(16, 2)).astype("float32")
    return x, y


def _fit(model, epochs):
    x, y = _data()
    model.fit(x, y, batch_size=len(x), epochs=epochs, shuffle=False, verbose=0)


RESUME = textwrap.dedent("""
    import sys
    import keras
    import keras_lcw  # noqa: F401  (registers the classes)
    from tests.test_resume import N, _fit

    for first, second in zip(sys.argv[1::2], sys.argv[2::2]):
        model = keras.models.load_model(first)
        assert int(model.optimizer.iterations) == N
        _fit(model, N)
        model.save(second)
    print("resumed")
""")


@pytest.fixture(scope="module")
def resumed_files(tmp_path_factory):
    """For each optimizer: the weights the models start from, and the file
    of N steps, then N more in one fresh process (one for all optimizers)."""
    directory = tmp_path_factory.mktemp("resume")
    keras.utils.set_random_seed(0)
    runs, arguments = {}, []
    for name, optimizer in sorted(OPTIMIZERS.items()):
        first, second = str(directory / f"{name}_first.keras"), str(directory / f"{name}.keras")
        model = _model()
        initial = model.get_weights()
        model.compile(optimizer=optimizer(), loss="mse")
        _fit(model, N)
        model.save(first)
        runs[name] = (initial, second)
        arguments += [first, second]
    env = dict(os.environ, KERAS_BACKEND=keras.backend.backend())
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
    result = subprocess.run(
        [sys.executable, "-c", RESUME, *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-4000:]
    assert "resumed" in result.stdout
    return runs


def _state(model):
    """The model's and its optimizer's variables, by path, as NumPy arrays."""
    state = {}
    for prefix, variables in (("model", model.variables), ("optimizer", model.optimizer.variables)):
        for variable in variables:
            key = f"{prefix}:{variable.path}"
            assert key not in state, key
            state[key] = to_numpy(variable)
    return state


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_resumed_training_equals_uninterrupted_training(optimizer, resumed_files):
    initial, second = resumed_files[optimizer]
    uninterrupted = _model()
    uninterrupted.set_weights(initial)
    uninterrupted.compile(optimizer=OPTIMIZERS[optimizer](), loss="mse")
    _fit(uninterrupted, 2 * N)

    resumed = keras.models.load_model(second)
    expected, got = _state(uninterrupted), _state(resumed)
    assert sorted(got) == sorted(expected)
    assert int(resumed.optimizer.iterations) == 2 * N
    # The statistics moved: the comparison is not of untouched initial
    # values.
    x, _ = _data()
    for layer in resumed.layers:
        if isinstance(layer, keras_lcw.ANAct):
            assert not np.allclose(to_numpy(layer.forward_ratio), layer.gaussian_ratios[0])
        if isinstance(layer, keras_lcw.InputMeanNormalization):
            np.testing.assert_allclose(to_numpy(layer.moving_mean), x.mean(0), rtol=0.1, atol=0.05)
    for key, value in expected.items():
        np.testing.assert_array_equal(got[key], value, err_msg=key)
