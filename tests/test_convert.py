import keras
import numpy as np
import pytest

import keras_lcw
from tests.harness import perturb_variables
from tests.harness import to_numpy


def _mlp():
    inputs = keras.Input((6,))
    x = keras.layers.Dense(8, activation="tanh", name="hidden")(inputs)
    inner = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(5, use_bias=False, name="inner"), keras.layers.BatchNormalization()],
        name="block",
    )
    x = inner(x)
    outputs = keras.layers.Dense(3, name="head")(x)
    return keras.Model(inputs, outputs)


def _cnn():
    return keras.Sequential([
        keras.Input((8, 8, 2)),
        keras.layers.Conv2D(4, 3, activation="relu", name="conv_a"),
        keras.layers.Conv2D(4, 3, groups=2, use_bias=False, name="conv_b"),
        keras.layers.Reshape((16, 4)),
        keras.layers.Conv1D(3, 2, name="conv_c"),
        keras.layers.Flatten(),
        keras.layers.Dense(2, name="head"),
    ])


def _conv3d():
    return keras.Sequential([keras.Input((4, 4, 4, 2)), keras.layers.Conv3D(3, 2, name="conv3")])


BUILDS = {"mlp": _mlp, "cnn": _cnn, "conv3d": _conv3d}
CONVERTIBLE = {
    "mlp": ["hidden", "inner", "head"],
    "cnn": ["conv_a", "conv_b", "conv_c", "head"],
    "conv3d": ["conv3"],
}


def _inputs(model):
    shape = (3,) + tuple(model.input_shape[1:])
    return np.random.default_rng(0).normal(size=shape).astype("float32")


def _plain_layers(model):
    layers = {}
    for layer in model._flatten_layers(include_self=False):
        if type(layer) in keras_lcw.layers.registry.PLAIN_CLASSES.values():
            layers[layer.name] = layer
    return layers


def _parameterization(layer):
    parameterization = getattr(layer, "parameterization", None)
    return parameterization and parameterization.name


def _project_kernels(model):
    """Makes every kernel sum to zero per output unit."""
    for layer in _plain_layers(model).values():
        kernel = to_numpy(layer.kernel)
        axes = tuple(range(kernel.ndim - 1))
        layer.kernel.assign(kernel - kernel.mean(axis=axes, keepdims=True))


@pytest.mark.parametrize("name", BUILDS)
def test_convert_to_lcw_is_exact_on_zero_sum_kernels_and_bake_inverts_it(name):
    model = BUILDS[name]()
    perturb_variables(model)
    _project_kernels(model)
    x = _inputs(model)
    converted, changed = keras_lcw.convert(model, to="lcw")
    assert sorted(changed) == sorted(CONVERTIBLE[name])
    new_layers = {l.name: l for l in converted._flatten_layers(include_self=False)}
    for layer_name, layer in _plain_layers(model).items():
        assert type(new_layers[layer_name]).__name__ == "LCW" + type(layer).__name__
    np.testing.assert_allclose(to_numpy(converted(x)), to_numpy(model(x)), rtol=1e-5, atol=1e-5)
    baked = keras_lcw.bake(converted)
    assert len(baked.weights) == len(model.weights)
    for a, b in zip(baked.weights, model.weights):
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), rtol=1e-5, atol=1e-6, err_msg=b.path)


@pytest.mark.parametrize("name", ["mlp", "cnn"])
@pytest.mark.parametrize("to", ["lcw", "lcw_constraint"])
def test_kernels_are_projected(name, to):
    model = BUILDS[name]()
    perturb_variables(model)
    converted, _ = keras_lcw.convert(model, to=to)
    new_layers = _plain_layers(converted) if to == "lcw_constraint" else {
        l.name: l for l in converted._flatten_layers(include_self=False) if _parameterization(l) == "lcw"
    }
    for layer_name, layer in _plain_layers(model).items():
        kernel = to_numpy(layer.kernel)
        axes = tuple(range(kernel.ndim - 1))
        expected = kernel - kernel.mean(axis=axes, keepdims=True)
        new = new_layers[layer_name]
        np.testing.assert_allclose(to_numpy(new.kernel), expected, rtol=1e-5, atol=1e-6)
        if layer.use_bias:
            np.testing.assert_array_equal(to_numpy(new.bias), to_numpy(layer.bias))
        if to == "lcw_constraint":
            assert isinstance(new.kernel_constraint, keras_lcw.LCWConstraint)
            assert isinstance(new.kernel_initializer, keras_lcw.initializers.LCWInitializer)
            assert type(new.kernel_initializer.base_initializer) is type(layer.kernel_initializer)


def test_converted_constraint_model_bakes_back_and_lcw_converts_it():
    model = _mlp()
    perturb_variables(model)
    constrained, _ = keras_lcw.convert(model, to="lcw_constraint")
    lcw, changed = keras_lcw.convert(constrained, to="lcw")
    assert sorted(changed) == ["head", "hidden", "inner"]
    x = _inputs(model)
    np.testing.assert_allclose(to_numpy(lcw(x)), to_numpy(constrained(x)), rtol=1e-5, atol=1e-5)
    assert isinstance(lcw.get_layer("hidden").kernel_initializer, keras.initializers.GlorotUniform)
    # Baking the constrained model drops the training-only objects.
    baked = keras_lcw.bake(constrained)
    for name in ("hidden", "inner", "head"):
        layer = baked.get_layer(name) if name != "inner" else baked.get_layer("block").get_layer("inner")
        assert type(layer) is keras.layers.Dense and layer.kernel_constraint is None
        assert type(layer.kernel_initializer) is keras.initializers.GlorotUniform
    np.testing.assert_allclose(to_numpy(baked(x)), to_numpy(constrained(x)), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "layers, expected",
    [
        (["conv_b", "head"], ["conv_b", "head"]),
        ("conv_.", ["conv_a", "conv_b", "conv_c"]),
        (lambda layer: layer.name.endswith("a"), ["conv_a"]),
    ],
    ids=["names", "regex", "callable"],
)
def test_layer_selection(layers, expected):
    model = _cnn()
    converted, changed = keras_lcw.convert(model, layers=layers)
    assert changed == expected
    for layer in converted.layers:
        is_lcw = _parameterization(layer) == "lcw"
        assert is_lcw == (layer.name in expected)


def test_converted_model_trains_and_original_is_untouched():
    model = _cnn()
    before = [to_numpy(v) for v in model.variables]
    converted, _ = keras_lcw.convert(model)
    x = _inputs(model)
    converted.compile("adam", "mse", jit_compile="auto")
    start = [to_numpy(v) for v in converted.trainable_variables]
    converted.fit(x, np.zeros((3, 2), "float32"), epochs=2, verbose=0)
    assert all(np.abs(to_numpy(v) - s).max() > 0 for s, v in zip(start, converted.trainable_variables))
    for b, v in zip(before, model.variables):
        np.testing.assert_array_equal(b, to_numpy(v))
    assert type(model.layers[0]) is keras.layers.Conv2D


def test_errors():
    model = _cnn()
    with pytest.raises(ValueError, match=r"\['nope'\], which are not convertible"):
        keras_lcw.convert(model, layers=["nope"])
    with pytest.raises(ValueError, match="not convertible"):
        keras_lcw.convert(_mlp(), layers=["block"])
    with pytest.raises(ValueError, match="`layers` must be"):
        keras_lcw.convert(model, layers=3)
    with pytest.raises(ValueError, match="bake"):
        keras_lcw.convert(model, to="plain")
    with pytest.raises(ValueError, match="Unknown parameterization 'gmp2'"):
        keras_lcw.convert(model, to="gmp2")
    with pytest.raises(ValueError, match="must be built"):
        keras_lcw.convert(keras.Sequential([keras.layers.Dense(2)]))
    constrained = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, kernel_constraint="max_norm", name="d")])
    for to in ("lcw", "lcw_constraint"):
        with pytest.raises(ValueError, match="'d' has kernel_constraint"):
            keras_lcw.convert(constrained, to=to)
    assert keras_lcw.convert(constrained, layers=[])[1] == []


def _relu_mlp():
    inputs = keras.Input((6,))
    x = keras.layers.Dense(8, activation="relu", name="hidden")(inputs)
    inner = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(5, use_bias=False, name="inner"), keras.layers.BatchNormalization()],
        name="block",
    )
    x = keras.layers.Dense(1, activation="leaky_relu", name="bottleneck")(inner(x))
    outputs = keras.layers.Dense(3, name="head")(x)  # a fan-in of 1: the direction is a sign
    return keras.Model(inputs, outputs)


GMP_BUILDS = {"relu_mlp": _relu_mlp, "cnn": _cnn, "conv3d": _conv3d}


@pytest.mark.parametrize("name", GMP_BUILDS)
def test_convert_to_gmp_is_exact_and_bake_inverts_it(name):
    model = GMP_BUILDS[name]()
    perturb_variables(model)
    x = _inputs(model)
    converted, changed = keras_lcw.convert(model, to="gmp")
    plain = _plain_layers(model)
    assert sorted(changed) == sorted(plain)
    new_layers = {l.name: l for l in converted._flatten_layers(include_self=False)}
    for layer_name, layer in plain.items():
        new = new_layers[layer_name]
        assert type(new).__name__ == "GmP" + type(layer).__name__
        kernel = to_numpy(layer.kernel).reshape(-1, layer.kernel.shape[-1])
        radius = np.linalg.norm(kernel, axis=0)
        np.testing.assert_allclose(to_numpy(new.radius), radius, rtol=1e-6)
        if layer.use_bias:
            np.testing.assert_allclose(to_numpy(new.offset), to_numpy(layer.bias) / radius, rtol=1e-6)
    np.testing.assert_allclose(to_numpy(converted(x)), to_numpy(model(x)), rtol=1e-5, atol=1e-5)
    baked = keras_lcw.bake(converted)
    assert [type(l) for l in baked._flatten_layers()] == [type(l) for l in model._flatten_layers()]
    assert len(baked.weights) == len(model.weights)
    for a, b in zip(baked.weights, model.weights):
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), rtol=1e-5, atol=1e-6, err_msg=b.path)


def test_convert_to_gmp_leaves_other_activations_and_refuses_them_when_named():
    model = _mlp()  # "hidden" is tanh: r * tanh(.) is no tanh layer
    perturb_variables(model)
    with pytest.warns(UserWarning, match=r"leaves \['hidden'\] unchanged"):
        converted, changed = keras_lcw.convert(model, to="gmp")
    assert changed == ["inner", "head"]
    assert type(converted.get_layer("hidden")) is keras.layers.Dense
    x = _inputs(model)
    np.testing.assert_allclose(to_numpy(converted(x)), to_numpy(model(x)), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="'hidden' cannot be converted to 'gmp', because its activation 'tanh' is not positively homogeneous"):
        keras_lcw.convert(model, to="gmp", layers=["hidden"])


def _dense_with(kernel, bias, **kwargs):
    model = keras.Sequential([keras.Input((kernel.shape[0],)), keras.layers.Dense(kernel.shape[1], activation="relu", **kwargs)])
    model.layers[0].set_weights([kernel, bias])
    return model


def test_convert_to_gmp_zero_kernels():
    kernel = np.array([[0.0, 1.0], [0.0, -2.0], [0.0, 0.5]], "float32")
    model = _dense_with(kernel, np.array([0.0, 0.3], "float32"))
    converted, _ = keras_lcw.convert(model, to="gmp")
    layer = converted.layers[0]
    np.testing.assert_array_equal(to_numpy(layer.radius)[0], 0.0)
    np.testing.assert_array_equal(to_numpy(layer.offset)[0], 0.0)
    x = np.random.default_rng(1).normal(size=(4, 3)).astype("float32")
    np.testing.assert_allclose(to_numpy(converted(x)), to_numpy(model(x)), rtol=1e-6, atol=1e-6)
    constant = _dense_with(kernel, np.array([0.5, 0.3], "float32"), name="constant")
    with pytest.warns(UserWarning, match=r"leaves \['constant'\] unchanged: 'constant', because 1 of its 2 units have a zero kernel and a non-zero bias"):
        _, changed = keras_lcw.convert(constant, to="gmp")
    assert changed == []
    with pytest.raises(ValueError, match="'constant' cannot be converted to 'gmp', because 1 of its 2 units have a zero kernel and a non-zero bias"):
        keras_lcw.convert(constant, to="gmp", layers=["constant"])


def test_convert_to_gmp_refuses_bias_constraint():
    model = _dense_with(np.ones((2, 2), "float32"), np.zeros(2, "float32"), bias_constraint="non_neg", name="d")
    with pytest.raises(ValueError, match="'d' has bias_constraint"):
        keras_lcw.convert(model, to="gmp")


def test_dense_layers_inside_subclassed_layers_are_named_in_a_warning():
    class Block(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = keras.layers.Dense(2, name="inner_dense")

        def call(self, x):
            return self.dense(x)

    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2, name="outer")(Block(name="block")(inputs)))
    with pytest.warns(UserWarning, match=r"leaves \['inner_dense'\] unchanged: they are inside subclassed"):
        converted, changed = keras_lcw.convert(model, to="lcw")
    assert changed == ["outer"]


def _nested_pair_with_same_names():
    def block(activation, name):
        return keras.Sequential(
            [keras.Input((6,)), keras.layers.Dense(6, activation=activation, name="d")], name=name
        )

    inputs = keras.Input((6,))
    x = block("tanh", "second")(block("relu", "first")(inputs))
    return keras.Model(inputs, keras.layers.Dense(2, name="head")(x))


def test_a_layer_left_out_leaves_out_no_other_of_the_same_name():
    model = _nested_pair_with_same_names()  # first/d is relu, second/d tanh
    with pytest.warns(UserWarning, match=r"leaves \['d'\] unchanged: 'd', because its activation 'tanh'"):
        converted, changed = keras_lcw.convert(model, to="gmp")
    assert changed == ["d", "head"]
    assert type(converted.get_layer("first").get_layer("d")) is keras_lcw.GmPDense
    assert type(converted.get_layer("second").get_layer("d")) is keras.layers.Dense


@pytest.mark.parametrize("rewrite", ["bake", "convert"])
def test_a_layer_shared_across_nested_models_stays_shared(rewrite):
    shared = keras.layers.Dense(6, activation="relu", name="shared")
    inner_inputs = keras.Input((6,))
    inner = keras.Model(inner_inputs, shared(inner_inputs), name="inner")
    inputs = keras.Input((6,))
    model = keras.Model(inputs, keras.layers.Add()([inner(inputs), shared(inputs)]))
    if rewrite == "bake":
        model, _ = keras_lcw.convert(model, to="gmp")
        clone, changed = keras_lcw.bake(model), ["shared"]
    else:
        clone, changed = keras_lcw.convert(model, to="gmp")
    assert changed == ["shared"]
    outer_layer = clone.get_layer("shared")
    assert clone.get_layer("inner").get_layer("shared") is outer_layer
    assert len(clone.weights) == len(outer_layer.weights)
    x = _inputs(model)
    np.testing.assert_allclose(to_numpy(clone(x)), to_numpy(model(x)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("to", ["lcw", "lcw_constraint", "gmp", "weight_norm", "centered_weight_norm"])
def test_quantized_layers_are_not_converted(to):
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3, name="q"), keras.layers.Dense(2, name="float")])
    model.layers[0].quantize("int8")
    with pytest.warns(UserWarning, match=r"leaves \['q'\] unchanged: 'q', because it is quantized \(quantization_mode='int8'\)"):
        converted, changed = keras_lcw.convert(model, to=to)
    assert changed == ["float"]
    # The quantized layer is copied with its integer kernel and its scale.
    x = _inputs(model)
    copied = converted.get_layer("q")
    assert copied.quantization_mode == "int8"
    np.testing.assert_array_equal(to_numpy(copied(x)), to_numpy(model.get_layer("q")(x)))
    with pytest.raises(ValueError, match=r"'q' cannot be converted to '\w+', because it is quantized"):
        keras_lcw.convert(model, to=to, layers=["q"])
