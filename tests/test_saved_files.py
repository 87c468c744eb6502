"""Files saved by earlier versions of keras_lcw load, with the same outputs.

tests/data/saved holds, per public layer, a small model saved as .keras and
.weights.h5 (scripts/make_saved_files.py wrote them once; they are never
regenerated) and its inputs and outputs. Every later version must load them
on every backend.
"""

import json
import os
import zipfile

import keras
import numpy as np
import pytest

import keras_lcw
from tests.harness import to_numpy

DIRECTORY = os.path.join(os.path.dirname(__file__), "data", "saved")
NAMES = sorted(
    name[: -len(".keras")] for name in os.listdir(DIRECTORY) if name.endswith(".keras")
)


def _stored(name):
    with np.load(os.path.join(DIRECTORY, name + ".npz")) as data:
        return data["x"], data["y"]


def _saved_config(name):
    with zipfile.ZipFile(os.path.join(DIRECTORY, name + ".keras")) as archive:
        return archive.read("config.json").decode("utf-8")


@pytest.mark.parametrize("name", NAMES)
def test_keras_file_loads_with_its_outputs(name):
    model = keras.models.load_model(
        os.path.join(DIRECTORY, name + ".keras"), safe_mode=True
    )
    x, y = _stored(name)
    np.testing.assert_allclose(to_numpy(model(x)), y, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_weights_file_loads_into_the_saved_architecture(name):
    model = keras.models.model_from_json(_saved_config(name))
    x, y = _stored(name)
    model(x)  # Builds the variables with their initializers.
    model.load_weights(os.path.join(DIRECTORY, name + ".weights.h5"))
    np.testing.assert_allclose(to_numpy(model(x)), y, rtol=1e-5, atol=1e-5)


def _public_classes():
    for module in (keras_lcw, keras_lcw.layers):
        yield from _classes_of(module)


def _classes_of(module):
    for name in dir(module):
        value = getattr(module, name)
        if isinstance(value, type) and issubclass(
            value, (keras.layers.Layer, keras.constraints.Constraint, keras.initializers.Initializer)
        ):
            yield value


def test_every_public_class_has_a_saved_file():
    saved = " ".join(_saved_config(name) for name in NAMES)
    missing = [
        cls.__name__
        for cls in _public_classes()
        if json.dumps(keras.saving.get_registered_name(cls)) not in saved
    ]
    assert not missing, f"no file under tests/data/saved holds {missing}"
