import os
import subprocess
import sys

import keras
import keras_tuner
import numpy as np
import pytest

import keras_lcw
from keras_lcw import tuning


def _hp(**values):
    hp = keras_tuner.HyperParameters()
    hp.values.update(values)
    return hp


def test_kernel_constraint_choices_and_conditional_arguments():
    hp = keras_tuner.HyperParameters()
    assert tuning.kernel_constraint(hp, name="c") is None  # "none" is the default
    assert hp.get("c") == "none"
    assert not hp.is_active("c/max_norm/max_value")
    hp.values["c"] = "max_norm"
    hp.values["c/max_norm/max_value"] = 3.0
    constraint = tuning.kernel_constraint(hp, name="c")
    assert isinstance(constraint, keras.constraints.MaxNorm)
    assert constraint.max_value == 3.0
    assert hp.is_active("c/max_norm/max_value")
    hp.values["c"] = "lcw"
    assert isinstance(tuning.kernel_constraint(hp, name="c"), keras_lcw.LCWConstraint)
    assert not hp.is_active("c/max_norm/max_value")


def test_dense_builds_each_parameterization():
    expected = {
        "plain": keras.layers.Dense,
        "lcw": keras_lcw.LCWDense,
        "lcw_constraint": keras.layers.Dense,
        "gmp": keras_lcw.GmPDense,
    }
    for name, cls in expected.items():
        hp = _hp(**{"h/parameterization": name, "h/activation": "tanh"})
        layer = tuning.dense(
            hp, 6, prefix="h", parameterizations=tuple(expected), activations=("relu", "tanh"), use_bias=False, name="h"
        )
        assert type(layer) is cls and layer.name == "h" and layer.units == 6
        assert layer.activation is keras.activations.tanh and not layer.use_bias
        assert isinstance(layer.kernel_constraint, keras_lcw.LCWConstraint) == (name == "lcw_constraint")


def test_dense_constraint_only_under_plain():
    values = ("none", "non_neg")
    hp = _hp(**{"h/parameterization": "plain", "h/kernel_constraint": "non_neg"})
    layer = tuning.dense(hp, 4, prefix="h", constraint_values=values)
    assert isinstance(layer.kernel_constraint, keras.constraints.NonNeg)
    assert hp.is_active("h/kernel_constraint")
    hp.values["h/parameterization"] = "lcw"
    assert isinstance(tuning.dense(hp, 4, prefix="h", constraint_values=values), keras_lcw.LCWDense)
    assert not hp.is_active("h/kernel_constraint")


def test_block_builds_each_normalization():
    expected = {"none": keras.layers.Activation, "anact": keras_lcw.ANAct, "anact_static": keras_lcw.ANAct, "linked": keras_lcw.Linked}
    for name, cls in expected.items():
        hp = _hp(**{"b/parameterization": "lcw", "b/activation": "sigmoid", "b/normalization": name})
        dense, activation = tuning.block(hp, 6, prefix="b", activations=("sigmoid",), normalizations=tuple(expected))
        assert type(activation) is cls
        if cls is keras_lcw.ANAct:
            assert activation.adaptive == (name == "anact")
        assert type(dense) is keras_lcw.LCWDense and dense.activation is keras.activations.linear
        # The zero-sum layer gets the separate activation's gain.
        assert dense.kernel_initializer.scale == pytest.approx(keras_lcw.initializers.activation_gain("sigmoid"))
    hp = _hp(**{"b/parameterization": "plain", "b/normalization": "anact"})
    dense, activation = tuning.block(hp, 6, prefix="b")
    assert type(dense) is keras.layers.Dense and isinstance(dense.kernel_initializer, keras.initializers.GlorotUniform)
    with pytest.raises(ValueError, match="Unknown activation normalization 'batchnorm'"):
        tuning.block(keras_tuner.HyperParameters(), 4, normalizations=("none", "batchnorm"))


def test_block_dense_layer_is_linear_for_every_parameterization():
    # GmPDense defaults to relu: a block of "gmp" and tanh computed tanh(relu(z)).
    names = ("plain", "lcw", "lcw_constraint", "gmp", "weight_norm", "centered_weight_norm")
    for name in names:
        hp = _hp(**{"b/parameterization": name, "b/activation": "tanh", "b/normalization": "none"})
        dense, activation = tuning.block(hp, 4, prefix="b", parameterizations=names, activations=("tanh",))
        assert dense.activation is keras.activations.linear, name
        assert activation.activation is keras.activations.tanh, name


def test_bad_names():
    hp = keras_tuner.HyperParameters()
    with pytest.raises(ValueError, match=r"`parameterizations` must be a sequence of names, such as \('lcw',\); received the string parameterizations='lcw'"):
        tuning.dense(hp, 4, parameterizations="lcw")
    with pytest.raises(ValueError, match="Unknown constraint name 'l2'"):
        tuning.kernel_constraint(hp, values=("none", "l2"))
    with pytest.raises(ValueError, match="Unknown parameterization 'gm'"):
        tuning.dense(hp, 4, parameterizations=("lcw", "gm"))
    with pytest.raises(ValueError, match="activation"):
        tuning.dense(hp, 4, activations=("relu", "no_such_activation"))
    with pytest.raises(ValueError, match="non-empty"):
        tuning.dense(hp, 4, activations=())
    with pytest.raises(ValueError, match=r"`parameterizations` must be a non-empty sequence of names; received None"):
        tuning.dense(hp, 4, parameterizations=None)


def test_activation_is_a_choice_not_an_argument():
    hp = keras_tuner.HyperParameters()
    with pytest.raises(ValueError, match=r"dense\(\) declares the activation as a choice: pass `activations=\('relu',\)`"):
        tuning.dense(hp, 4, activation="relu")
    with pytest.raises(ValueError, match=r"block\(\) declares the activation as a choice"):
        tuning.block(hp, 4, activation="relu")


def test_a_prefix_declared_with_other_choices_is_refused():
    hp = keras_tuner.HyperParameters()
    tuning.dense(hp, 4, prefix="hidden", parameterizations=("lcw", "plain"))
    # The same choices share the hyperparameter.
    tuning.dense(hp, 4, prefix="hidden", parameterizations=("lcw", "plain"))
    with pytest.raises(ValueError, match=r"'hidden/parameterization' is declared already, with the choices \['lcw', 'plain'\]; received \['plain'\]"):
        tuning.dense(hp, 4, prefix="hidden", parameterizations=("plain",))
    tuning.kernel_constraint(hp, values=("none", "lcw"))
    with pytest.raises(ValueError, match="'kernel_constraint' is declared already"):
        tuning.kernel_constraint(hp, values=("none", "max_norm"))


class _RecordingHyperModel(keras_tuner.HyperModel):
    """Records every trial's final weights, keyed by its hyperparameters."""

    def __init__(self):
        super().__init__()
        self.final_weights = []

    def build(self, hp):
        model = keras.Sequential(
            [keras.Input((8,))]
            + [tuning.dense(hp, 6, prefix="hidden", activations=("tanh", "sigmoid"))]
            + tuning.block(hp, 6, prefix="block", normalizations=("anact", "linked"))
            + [keras.layers.Dense(3, activation="softmax")]
        )
        model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    def fit(self, hp, model, *args, **kwargs):
        history = model.fit(*args, **kwargs)
        self.final_weights.append((dict(hp.values), model.get_weights(), type(model.layers[0])))
        return history


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_search_best_model_equals_trial_checkpoint(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 8)).astype("float32")
    y = (x[:, 0] > 0).astype("int32") + (x[:, 1] > 0).astype("int32")
    hypermodel = _RecordingHyperModel()
    tuner = keras_tuner.RandomSearch(
        hypermodel, objective="val_accuracy", max_trials=3, seed=3,
        directory=str(tmp_path), project_name="search",
    )
    # One epoch: the best epoch's checkpoint is the trial's final state.
    tuner.search(x, y, validation_data=(x, y), epochs=1, batch_size=16, verbose=0)
    assert len(hypermodel.final_weights) == 3
    best_hp = tuner.get_best_hyperparameters()[0].values
    ((expected, trained_class),) = [(w, c) for values, w, c in hypermodel.final_weights if values == best_hp]
    best = tuner.get_best_models(1)[0]
    assert type(best.layers[0]) is trained_class
    got = best.get_weights()
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)


@pytest.mark.backends("jax")
def test_import_does_not_load_keras_tuner():
    code = "import sys, keras_lcw; assert 'keras_tuner' not in sys.modules, 'loaded'"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize("alias, declared", [("MaxNorm", ["max_value"]), ("MinMaxNorm", ["min_value", "max_value"])])
def test_kernel_constraint_class_names_get_their_arguments(alias, declared):
    hp = keras_tuner.HyperParameters()
    tuning.kernel_constraint(hp, name="c", values=("none", alias))
    assert [p.name for p in hp.space] == ["c"] + [f"c/{alias}/{argument}" for argument in declared]
    hp.values["c"] = alias
    hp.values.update({f"c/{alias}/{argument}": 0.5 for argument in declared})
    hp.values[f"c/{alias}/max_value"] = 3.5
    constraint = tuning.kernel_constraint(hp, name="c", values=("none", alias))
    assert constraint.max_value == 3.5
