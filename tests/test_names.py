import keras
import numpy as np
import pytest

import keras_lcw
from tests.harness import to_numpy

# Keras's own table of constraint names: every snake_case built-in must
# resolve through keras_lcw.constraints.get.
from keras.src.constraints import ALL_OBJECTS_DICT as KERAS_CONSTRAINTS

KERAS_NAMES = sorted(
    name for name in KERAS_CONSTRAINTS if name.islower() and name != "constraint"
)


@pytest.mark.parametrize("name", KERAS_NAMES)
def test_every_keras_builtin_constraint_name(name):
    got = keras_lcw.constraints.get(name)
    assert type(got) is KERAS_CONSTRAINTS[name]


def test_lcw_none_objects_and_configs():
    assert isinstance(keras_lcw.constraints.get("lcw"), keras_lcw.LCWConstraint)
    assert keras_lcw.constraints.get("none") is None
    assert keras_lcw.constraints.get(None) is None
    assert isinstance(keras_lcw.constraints.get("MaxNorm"), keras.constraints.MaxNorm)
    obj = keras_lcw.LCWConstraint(axis=(0, 1))
    assert keras_lcw.constraints.get(obj) is obj
    restored = keras_lcw.constraints.get(keras.constraints.serialize(obj))
    assert isinstance(restored, keras_lcw.LCWConstraint) and restored.axis == (0, 1)


def test_unknown_constraint_name_lists_allowed():
    with pytest.raises(ValueError, match="'lcw'.*'unit_norm'") as info:
        keras_lcw.constraints.get("zero_sum")
    assert "'zero_sum'" in str(info.value)


def _kernel(layer, shape):
    keras.Sequential([keras.Input(shape), layer])
    return to_numpy(layer.kernel)


@pytest.mark.parametrize(
    "name, cls, zero_sum",
    [
        ("plain", keras.layers.Dense, False),
        ("lcw", keras_lcw.LCWDense, True),
        ("lcw_constraint", keras.layers.Dense, True),
        ("gmp", keras_lcw.GmPDense, False),
    ],
)
def test_get_dense(name, cls, zero_sum):
    layer = keras_lcw.layers.get_dense(name, 5, activation="tanh", use_bias=False, name="d")
    assert type(layer) is cls
    assert (layer.units, layer.use_bias, layer.name) == (5, False, "d")
    assert layer.activation is keras.activations.tanh
    sums = _kernel(layer, (7,)).sum(axis=0)
    assert np.allclose(sums, 0.0, atol=1e-5) == zero_sum
    if name == "lcw_constraint":
        assert isinstance(layer.kernel_constraint, keras_lcw.LCWConstraint)


@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("name", ["plain", "lcw", "lcw_constraint", "gmp"])
def test_get_conv(name, rank):
    layer = keras_lcw.layers.get_conv(name, rank, 3, 2, padding="same", kernel_initializer="he_normal")
    plain = {1: keras.layers.Conv1D, 2: keras.layers.Conv2D, 3: keras.layers.Conv3D}[rank]
    assert isinstance(layer, plain)
    assert (type(layer) is plain) == (name in ("plain", "lcw_constraint"))
    assert (getattr(layer, "parameterization", None) is keras_lcw.parameterizations.get("gmp")) == (name == "gmp")
    assert (layer.filters, layer.kernel_size, layer.padding) == (3, (2,) * rank, "same")
    kernel = _kernel(layer, (4,) * rank + (2,))
    sums = kernel.reshape(-1, 3).sum(axis=0)
    assert np.allclose(sums, 0.0, atol=1e-5) == (name in ("lcw", "lcw_constraint"))


def test_lcw_constraint_keeps_base_initializer():
    layer = keras_lcw.layers.get_dense("lcw_constraint", 4, kernel_initializer="zeros")
    assert isinstance(layer.kernel_initializer, keras_lcw.initializers.LCWInitializer)
    assert isinstance(layer.kernel_initializer.base_initializer, keras.initializers.Zeros)


def test_bad_names_and_arguments():
    with pytest.raises(ValueError, match="Unknown parameterization 'gmpp'.*'plain', 'lcw'"):
        keras_lcw.layers.get_dense("gmpp", 4)
    with pytest.raises(ValueError, match="rank"):
        keras_lcw.layers.get_conv("lcw", 4, 3, 2)
    with pytest.raises(ValueError, match="kernel_constraint"):
        keras_lcw.layers.get_dense("lcw_constraint", 4, kernel_constraint="non_neg")
    with pytest.raises(ValueError, match="kernel_constraint"):
        keras_lcw.layers.get_dense("lcw", 4, kernel_constraint="non_neg")


def test_fan_in_one_is_refused_by_every_zero_sum_path():
    with pytest.raises(ValueError, match="LCWConstraint needs a fan-in of at least 2"):
        keras_lcw.LCWConstraint()(np.ones((1, 3), "float32"))
    with pytest.raises(ValueError, match="LCWConstraint needs a fan-in of at least 2"):
        keras_lcw.layers.get_dense("lcw_constraint", 3)(np.ones((2, 1), "float32"))
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(3, name="narrow")])
    for to in ("lcw", "lcw_constraint"):
        with pytest.warns(UserWarning, match=r"leaves \['narrow'\] unchanged: 'narrow', because it needs a fan-in of at least 2"):
            assert keras_lcw.convert(model, to=to)[1] == []
        with pytest.raises(ValueError, match=f"'narrow' cannot be converted to '{to}', because it needs a fan-in of at least 2"):
            keras_lcw.convert(model, to=to, layers=["narrow"])


def test_no_input_per_unit_is_refused_clearly():
    with pytest.raises(ValueError, match=r"GmPDense 'empty' cannot have the kernel shape \(0, 3\), because it needs at least one input per unit"):
        keras_lcw.GmPDense(3, name="empty").build((None, 0))


@pytest.mark.parametrize("cls", [keras_lcw.LCWConv2D, keras_lcw.GmPConv2D, keras_lcw.layers.ReparameterizedConv2D])
@pytest.mark.parametrize("filters", ["4", None, 0, 2.0, True])
def test_filters_must_be_a_positive_integer(cls, filters):
    with pytest.raises(ValueError, match=f"`filters` must be a positive integer; received filters={filters!r}"):
        cls(filters, 3)


def test_integer_inputs_are_cast_as_dense_does():
    x = np.arange(8, dtype="int32").reshape(2, 4)
    for layer in (keras_lcw.LCWDense(3), keras_lcw.GmPDense(3), keras_lcw.LCWConv1D(2, 2)):
        inputs = x[..., None] if isinstance(layer, keras.layers.Conv1D) else x
        y = to_numpy(layer(inputs))
        assert y.dtype == np.float32
        np.testing.assert_allclose(y, to_numpy(layer(inputs.astype("float32"))))
