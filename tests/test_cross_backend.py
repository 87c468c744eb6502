"""A .keras file saved on one backend loads on the other two, with the same
outputs.

One Functional model holds every public keras_lcw layer class (and a plain
Dense with `LCWConstraint` and `LCWInitializer`), in four branches: dense,
1-D, 2-D and 3-D (channels_last: TensorFlow's CPU kernels have no
channels_first convolutions). Every variable is set to a non-default value,
and the model is saved on each backend and loaded on the other two, each
file in a process other than the one that saved it.
"""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_lcw
from keras_lcw import layers as lcw_layers
from tests.harness import perturb_variables
from tests.harness import to_numpy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BACKENDS = ("tensorflow", "jax", "torch")


def _dense_branch(inputs):
    x = keras_lcw.InputMeanNormalization()(inputs)
    x = keras_lcw.LCWDense(6, activation="tanh")(x)
    x = keras_lcw.GmPDense(6)(x)
    x = keras_lcw.WeightNormDense(6, activation="sigmoid", data_init=True)(x)
    x = keras_lcw.CenteredWeightNormDense(6, activation="tanh")(x)
    x = lcw_layers.ReparameterizedDense(6, parameterization="weight_norm")(x)
    x = keras_lcw.WeightNormalization(keras.layers.Dense(5))(x)
    x = keras_lcw.ANAct("tanh", momentum=0.9)(x)
    x = keras_lcw.ANAct("gelu", axis=-1)(x)
    x = keras_lcw.ANAct("swish", adaptive=False)(x)
    x = keras_lcw.Linked("selu")(x)
    x = keras_lcw.LinkedReLU()(x)
    x = keras.layers.Dense(
        4,
        kernel_constraint=keras_lcw.LCWConstraint(),
        kernel_initializer=keras_lcw.LCWInitializer("he_normal"),
    )(x)
    return x


def _conv_branch(inputs, rank):
    n = {1: "1D", 2: "2D", 3: "3D"}[rank]
    conv = lambda name: getattr(keras_lcw, name + n)  # noqa: E731
    x = conv("LCWConv")(3, 2, padding="same", activation="tanh")(inputs)
    x = conv("GmPConv")(3, 2, padding="same")(x)
    x = keras_lcw.LinkedSwish()(x)
    x = conv("WeightNormConv")(3, 2, padding="same", data_init=True)(x)
    x = conv("CenteredWeightNormConv")(3, 2, padding="same", activation="relu")(x)
    x = keras_lcw.LinkedGELU()(x)
    x = getattr(lcw_layers, "ReparameterizedConv" + n)(
        3, 2, padding="same", parameterization="centered_weight_norm"
    )(x)
    x = keras_lcw.LinkedSELU()(x)
    x = keras_lcw.LinkedPReLU(shared_axes=list(range(1, rank + 1)))(x)
    return keras.layers.Flatten()(x)


INPUT_SHAPES = [(6,), (6, 3), (4, 4, 2), (3, 3, 3, 2)]


def build_model():
    inputs = [keras.Input(shape) for shape in INPUT_SHAPES]
    outputs = [_dense_branch(inputs[0])] + [
        _conv_branch(inputs[rank], rank) for rank in (1, 2, 3)
    ]
    return keras.Model(inputs, outputs)


def _public_classes():
    for module in (keras_lcw, keras_lcw.layers, keras_lcw.activations):
        for name in dir(module):
            value = getattr(module, name)
            if isinstance(value, type) and issubclass(value, keras.layers.Layer):
                yield value


def _classes_in(model):
    found = set()
    for layer in model._flatten_layers():
        found.add(type(layer))
        for name in ("kernel_constraint", "kernel_initializer"):
            found.add(type(getattr(layer, name, None)))
    return found


def save_model(directory):
    """Builds the model, sets every variable to a non-default value and saves
    it in `directory`, with its inputs, outputs and variables."""
    directory.mkdir()
    model = build_model()
    found = _classes_in(model)
    missing = sorted(c.__name__ for c in _public_classes() if c not in found)
    assert not missing, f"the model lacks {missing}"
    assert keras_lcw.LCWConstraint in found and keras_lcw.LCWInitializer in found
    perturb_variables(model)
    rng = np.random.default_rng(2)
    inputs = [rng.normal(size=(3,) + s).astype("float32") for s in INPUT_SHAPES]
    outputs = [to_numpy(y) for y in model(inputs)]
    # Perturbed variables reach the outputs: no branch is constant.
    assert all(np.std(y) > 1e-3 for y in outputs)
    model.save(str(directory / "model.keras"))
    np.savez(
        directory / "data.npz",
        **{f"x{i}": x for i, x in enumerate(inputs)},
        **{f"y{i}": y for i, y in enumerate(outputs)},
    )
    np.savez(
        directory / "variables.npz", **{v.path: to_numpy(v) for v in model.variables}
    )


def check_saved_model_loads(directory):
    """Loads the model saved in `directory`: the same variables, and the
    same outputs to float32 rounding."""
    model = keras.models.load_model(str(directory / "model.keras"))
    with np.load(directory / "data.npz") as data:
        inputs = [data[f"x{i}"] for i in range(4)]
        expected = [data[f"y{i}"] for i in range(4)]
    with np.load(directory / "variables.npz") as data:
        saved = dict(data)
    loaded = {v.path: to_numpy(v) for v in model.variables}
    assert sorted(loaded) == sorted(saved), (sorted(loaded), sorted(saved))
    for path, value in saved.items():
        np.testing.assert_array_equal(loaded[path], value, err_msg=f"{directory.name}: {path}")
    for i, (y, e) in enumerate(zip(model(inputs), expected)):
        np.testing.assert_allclose(
            to_numpy(y), e, rtol=1e-5, atol=1e-5, err_msg=f"{directory.name}: output {i}"
        )


class BackendProcess:
    """This module run on `backend` in a process of its own, which saves and
    loads on command: `run("save", "load jax", ...)` sends the commands and
    waits for each to be done; `close()` ends it and checks its exit."""

    def __init__(self, backend, directory):
        self.backend = backend
        env = dict(os.environ, KERAS_BACKEND=backend)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
        # Its log goes to a file: a pipe nobody reads could fill and stop it.
        self.log = open(directory / f"{backend}.log", "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.test_cross_backend", str(directory), backend],
            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True,
        )

    def run(self, *commands):
        for command in commands:
            self.process.stdin.write(command + "\n")
            self.process.stdin.flush()
            answer = self.process.stdout.readline().strip()
            assert answer == f"{command}: done", self._failure(f"{command!r} answered {answer!r}")

    def close(self):
        self.process.stdin.close()
        status = self.process.wait(timeout=300)
        assert status == 0, self._failure(f"exit status {status}")

    def _failure(self, what):
        with open(self.log.name, encoding="utf-8", errors="replace") as log:
            return f"on {self.backend}, {what}:\n" + log.read()[-4000:]

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.log):
            stream.close()


# Every backend saves the model once and loads the other two backends'
# files. The backend of the suite run saves first and loads in its own
# process (files written by other processes); each of the other two runs in
# one process, started at once: most of its time goes to importing its
# backend.
@pytest.mark.slow
@pytest.mark.backends("jax")
def test_every_layer_loads_on_the_other_backends(tmp_path):
    here = keras.backend.backend()
    first, second = [b for b in BACKENDS if b != here]
    save_model(tmp_path / here)
    with BackendProcess(first, tmp_path) as first_process, BackendProcess(second, tmp_path) as second_process:
        first_process.run(f"load {here}", "save")
        second_process.run(f"load {here}", f"load {first}", "save")
        second_process.close()
        first_process.run(f"load {second}")
        first_process.close()
    for backend in (first, second):
        check_saved_model_loads(tmp_path / backend)


if __name__ == "__main__":
    import pathlib

    directory, backend = pathlib.Path(sys.argv[1]), sys.argv[2]
    assert keras.backend.backend() == backend, keras.backend.backend()
    for line in sys.stdin:
        command, *saved_on = line.split()
        if command == "save":
            save_model(directory / backend)
        else:
            check_saved_model_loads(directory / saved_on[0])
        print(f"{line.strip()}: done", flush=True)
