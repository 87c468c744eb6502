import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import keras_lcw
from tests.harness import perturb_variables
from tests.harness import to_numpy


def _mlp():
    inputs = keras.Input((6,))
    x = keras_lcw.LCWDense(8, activation="sigmoid", kernel_initializer=keras_lcw.LCWInitializer("glorot_uniform"))(inputs)
    x = keras_lcw.GmPDense(8, kernel_initializer=keras_lcw.LCWInitializer("he_normal"))(x)
    inner = keras.Sequential([keras.Input((8,)), keras_lcw.LCWDense(5, activation="tanh"), keras.layers.BatchNormalization()])
    x = inner(x)
    x = keras.layers.Dense(3, kernel_constraint=keras_lcw.LCWConstraint())(x)
    return keras.Model(inputs, x)


def _cnn():
    return keras.Sequential([
        keras.Input((8, 8, 2)),
        keras_lcw.LCWConv2D(4, 3, activation="relu"),
        keras_lcw.LCWConv2D(4, 3, groups=2, use_bias=False),
        keras.layers.Reshape((4 * 4, 4)),
        keras_lcw.LCWConv1D(3, 2),
        keras.layers.Flatten(),
        keras_lcw.LCWDense(2),
    ])


@pytest.mark.parametrize("build", [_mlp, _cnn], ids=["functional-nested", "sequential-cnn"])
def test_baked_model_is_plain_and_equal(build):
    model = build()
    perturb_variables(model)
    x = np.random.default_rng(0).normal(size=(4,) + tuple(model.input_shape[1:])).astype("float32")
    baked = keras_lcw.bake(model)
    names = [type(layer).__module__ for layer in baked._flatten_layers()]
    assert not any(name.startswith("keras_lcw") for name in names)
    np.testing.assert_allclose(to_numpy(baked(x)), to_numpy(model(x)), rtol=1e-6, atol=1e-6)


def test_baked_model_loads_without_keras_lcw(tmp_path):
    model = _mlp()
    perturb_variables(model)
    x = np.random.default_rng(0).normal(size=(4, 6)).astype("float32")
    path = str(tmp_path / "baked.keras")
    keras_lcw.bake(model).save(path)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", to_numpy(model(x)))
    script = textwrap.dedent(f"""
        import sys, numpy as np, keras
        model = keras.models.load_model({path!r})
        y = keras.ops.convert_to_numpy(model(np.load({str(tmp_path / 'x.npy')!r})))
        assert "keras_lcw" not in sys.modules
        np.testing.assert_allclose(y, np.load({str(tmp_path / 'y.npy')!r}), rtol=1e-6, atol=1e-6)
    """)
    env = dict(os.environ, KERAS_BACKEND=keras.backend.backend())
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


def test_bake_refuses_subclassed_and_unbuilt_models():
    class Custom(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras_lcw.LCWDense(2)

        def call(self, x):
            return self.dense(x)

    with pytest.raises(ValueError, match="subclassed"):
        keras_lcw.bake(Custom())
    with pytest.raises(ValueError, match="must be built"):
        keras_lcw.bake(keras.Sequential([keras_lcw.LCWDense(2)]))
    with pytest.raises(TypeError, match="keras.Model"):
        keras_lcw.bake(keras_lcw.LCWDense(2))


def test_bake_refuses_keras_lcw_layers_it_cannot_reach():
    class Block(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = keras_lcw.LCWDense(2)

        def call(self, x):
            return self.dense(x)

    inputs = keras.Input((3,))
    model = keras.Model(inputs, Block(name="block")(inputs))
    with pytest.raises(ValueError, match=r"cannot reach the keras_lcw layers \['lcw_dense.*'\] inside 'block' \(Block\)"):
        keras_lcw.bake(model)


def test_bake_leaves_the_original_untouched():
    model = _cnn()
    before = [to_numpy(v) for v in model.variables]
    keras_lcw.bake(model)
    for b, v in zip(before, model.variables):
        np.testing.assert_array_equal(b, to_numpy(v))
    assert isinstance(model.layers[0], keras_lcw.LCWConv2D)


class _TwoDense(keras.layers.Layer):
    """A layer whose parts get generated names ("dense_7"), different in
    every copy."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.first = keras.layers.Dense(4, activation="tanh")
        self.second = keras.layers.Dense(4)

    def call(self, x):
        return self.second(self.first(x))


def _model_with_other_layers():
    """A masked sequence through InputMeanNormalization, layers with seed
    generators (Dropout, an LSTM), a layer with parts, and raw keras.ops in
    the graph."""
    tokens = keras.Input((5,), dtype="int32")
    x = keras.layers.Embedding(10, 4, mask_zero=True)(tokens)
    x = keras_lcw.InputMeanNormalization(name="input_mean_normalization")(x)
    x = keras.layers.Bidirectional(keras.layers.LSTM(3, dropout=0.2))(x)
    x = keras.layers.Dropout(0.5)(x)
    x = _TwoDense(name="two_dense")(x)
    x = keras.ops.concatenate([x, keras.ops.square(x)], axis=-1)
    x = keras.layers.Dense(3, name="plain_dense")(x)
    return keras.Model(tokens, keras_lcw.LCWDense(2, name="lcw_dense")(x))


@pytest.mark.parametrize("rewrite", ["bake", "convert"])
def test_every_other_layer_is_copied_with_its_state(rewrite):
    model = _model_with_other_layers()
    perturb_variables(model)
    tokens = np.array([[1, 2, 0, 0, 0], [3, 4, 5, 6, 0]], "int32")
    if rewrite == "bake":
        rewritten = keras_lcw.bake(model)
    else:
        rewritten, converted = keras_lcw.convert(model, to="weight_norm", layers=["plain_dense"])
        assert converted == ["plain_dense"]
    # Every other layer has the same variables, the seed generators' states
    # included.
    replaced = {"plain_dense", "lcw_dense", "input_mean_normalization"}
    for original, copy in zip(model.layers, rewritten.layers):
        if original.name in replaced:
            continue
        assert type(copy) is type(original)
        assert [v.name for v in copy.variables] == [v.name for v in original.variables]
        for a, b in zip(original.variables, copy.variables):
            np.testing.assert_array_equal(to_numpy(a), to_numpy(b), err_msg=a.path)
    np.testing.assert_allclose(to_numpy(rewritten(tokens)), to_numpy(model(tokens)), rtol=1e-5, atol=1e-6)
