"""The contract every parameterization keeps, run for each one registered.

A new entry in `keras_lcw.parameterizations.PARAMETERIZATIONS` gets these
tests, and the layer contract of tests/harness.py through its generic layers,
without writing any: refusals, forward/inverse round trips, bake and convert
exactness, and saving by name.
"""

import keras
import numpy as np
import pytest

import keras_lcw
from keras_lcw import parameterizations
from tests.harness import LayerContract
from tests.harness import LayerSpec
from tests.harness import perturb_variables
from tests.harness import to_numpy

NAMES = sorted(parameterizations.PARAMETERIZATIONS)
# Layer kind -> (builder arguments, input shape without the batch axis).
KINDS = {
    "dense": (dict(units=4), (5,)),
    "conv1d": (dict(filters=3, kernel_size=2, padding="causal"), (6, 2)),
    "conv2d": (dict(filters=3, kernel_size=(2, 3), strides=2), (5, 6, 2)),
}


def _layer(name, kind, **kwargs):
    arguments, _ = KINDS[kind]
    if kind == "dense":
        return keras_lcw.layers.get_dense(name, **arguments, **kwargs)
    rank = int(kind[4])
    return keras_lcw.layers.get_conv(name, rank, **arguments, **kwargs)


def _model(name, kind, **kwargs):
    _, input_shape = KINDS[kind]
    return keras.Sequential([keras.Input(input_shape), _layer(name, kind, **kwargs)])


def _inputs(kind, seed=0):
    _, input_shape = KINDS[kind]
    return np.random.default_rng(seed).normal(size=(3,) + input_shape).astype("float32")


CASES = [(name, kind) for name in NAMES for kind in KINDS]
IDS = [f"{name}-{kind}" for name, kind in CASES]


@pytest.mark.parametrize("name, kind", CASES, ids=IDS)
def test_variables_are_the_declared_ones_in_order(name, kind):
    layer = _model(name, kind).layers[0]
    declared = layer.parameterization.variables(layer._kernel_shape, layer.use_bias)
    assert [v.name for v in layer.variables] == [
        v.name for v in declared if v.trainable
    ] + [v.name for v in declared if not v.trainable]
    for spec in declared:
        variable = getattr(layer, spec.name) if spec.name != "bias" else layer.bias
        assert tuple(variable.shape) == tuple(spec.shape)
        assert variable.trainable == spec.trainable


@pytest.mark.parametrize("name", NAMES)
def test_refused_arguments_name_themselves(name):
    for argument in parameterizations.get(name).refused_arguments:
        value = {"lora_rank": 2, "lora_alpha": 2.0}.get(argument, "non_neg")
        for kind in ("dense", "conv2d"):
            with pytest.raises(ValueError, match=f"`{argument}`"):
                _layer(name, kind, **{argument: value})


@pytest.mark.parametrize("name, kind", CASES, ids=IDS)
def test_forward_of_inverse_is_the_identity_on_forward_images(name, kind):
    layer = _model(name, kind).layers[0]
    perturb_variables(keras.Sequential([layer]))
    parameterization = layer.parameterization
    kernel, bias = parameterization.forward(layer.parameter_values(), layer._kernel_shape)
    values = parameterization.inverse(kernel, bias)
    assert set(values) == {v.name for v in layer.variables}
    again, again_bias = parameterization.forward(values, layer._kernel_shape)
    np.testing.assert_allclose(to_numpy(again), to_numpy(kernel), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_numpy(again_bias), to_numpy(bias), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name, kind", CASES, ids=IDS)
def test_bake_and_convert_are_exact_and_inverse(name, kind):
    model = _model(name, kind, activation="relu")
    perturb_variables(model)
    x = _inputs(kind)
    baked = keras_lcw.bake(model)
    layer = baked.layers[0]
    assert type(layer) is model.layers[0]._plain_class
    np.testing.assert_allclose(to_numpy(baked(x)), to_numpy(model(x)), rtol=1e-5, atol=1e-5)
    # The baked kernel is a forward image, so converting it back is exact.
    converted, names = keras_lcw.convert(baked, to=name)
    assert names == [layer.name]
    assert converted.layers[0].parameterization.name == name
    np.testing.assert_allclose(to_numpy(converted(x)), to_numpy(model(x)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_saved_by_name(name, tmp_path):
    model = _model(name, "dense")
    perturb_variables(model)
    path = str(tmp_path / "model.weights.h5")
    model.save_weights(path)
    fresh = _model(name, "dense")
    fresh.load_weights(path)
    for a, b in zip(model.variables, fresh.variables):
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b), err_msg=a.path)
    store = {}
    model.layers[0].save_own_variables(store)
    assert sorted(store) == sorted(v.name for v in model.layers[0].variables)
    store.pop(sorted(store)[0])
    with pytest.raises(ValueError, match="expected the variables"):
        fresh.layers[0].load_own_variables(store)


def test_unknown_name_lists_the_registered_ones():
    with pytest.raises(ValueError, match="Unknown parameterization 'wn'; allowed: 'lcw', 'gmp'"):
        parameterizations.get("wn")
    with pytest.raises(ValueError, match="LCWDense is the 'lcw' parameterization"):
        keras_lcw.LCWDense(3, parameterization="gmp")


class TestGenericLayers(LayerContract):
    """The generic layers of every parameterization keep the layer contract."""

    SPECS = [
        spec
        for name in NAMES
        for spec in (
            LayerSpec(
                keras_lcw.layers.ReparameterizedDense,
                dict(units=3, parameterization=name, activation="relu"),
                (4,),
                trainable=len([v for v in parameterizations.get(name).variables((4, 3), True) if v.trainable]),
                id=f"ReparameterizedDense-{name}",
            ),
            LayerSpec(
                keras_lcw.layers.ReparameterizedConv2D,
                dict(filters=2, kernel_size=2, parameterization=name, use_bias=False),
                (4, 4, 2),
                trainable=len([v for v in parameterizations.get(name).variables((2, 2, 2, 2), False) if v.trainable]),
                id=f"ReparameterizedConv2D-{name}",
            ),
        )
    ]
