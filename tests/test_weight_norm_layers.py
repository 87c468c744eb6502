import keras
import numpy as np
import pytest

import keras_lcw
from tests.harness import LayerContract
from tests.harness import LayerSpec
from tests.harness import assert_matches_reference_map
from tests.harness import perturb_variables
from tests.harness import to_numpy

SPECS = [
    LayerSpec(keras_lcw.WeightNormDense, dict(units=6, activation="tanh"), (5,), trainable=3),
    LayerSpec(keras_lcw.WeightNormDense, dict(units=3, use_bias=False, data_init=True), (2, 4), trainable=2, non_trainable=2, id="WeightNormDense-3d-nobias-data_init"),
    LayerSpec(keras_lcw.WeightNormConv1D, dict(filters=4, kernel_size=3, padding="causal", dilation_rate=2), (8, 3), trainable=3),
    LayerSpec(keras_lcw.WeightNormConv2D, dict(filters=4, kernel_size=(3, 2), strides=2, groups=2, activation="relu", data_init=True), (7, 6, 4), trainable=3, non_trainable=3, id="WeightNormConv2D-data_init"),
    LayerSpec(keras_lcw.WeightNormConv3D, dict(filters=2, kernel_size=2, padding="same"), (4, 4, 4, 2), trainable=3),
    LayerSpec(keras_lcw.CenteredWeightNormDense, dict(units=6, activation="sigmoid", data_init=True), (5,), trainable=3, non_trainable=3, id="CenteredWeightNormDense-data_init"),
    LayerSpec(keras_lcw.CenteredWeightNormDense, dict(units=3, use_bias=False), (4,), trainable=2, id="CenteredWeightNormDense-nobias"),
    LayerSpec(keras_lcw.CenteredWeightNormConv1D, dict(filters=4, kernel_size=2), (6, 3), trainable=3),
    LayerSpec(keras_lcw.CenteredWeightNormConv2D, dict(filters=3, kernel_size=3, padding="same"), (5, 5, 2), trainable=3),
    LayerSpec(keras_lcw.CenteredWeightNormConv3D, dict(filters=2, kernel_size=2, activation="relu"), (3, 3, 3, 2), trainable=3),
]
if keras.backend.backend() != "tensorflow":
    # TensorFlow's CPU convolutions support channels_last only.
    SPECS.append(
        LayerSpec(keras_lcw.WeightNormConv2D, dict(filters=3, kernel_size=3, data_format="channels_first", data_init=True), (2, 6, 6), trainable=3, non_trainable=3, id="WeightNormConv2D-channels_first-data_init")
    )


def _flat(kernel):
    kernel = to_numpy(kernel)
    return kernel.reshape(-1, kernel.shape[-1])


def _unit_axes(layer):
    return -1 if getattr(layer, "data_format", "channels_last") == "channels_last" else 1


class TestWeightNormLayers(LayerContract):
    SPECS = SPECS

    def test_kernel_norm_is_g_and_bake_is_exact_after_adam(self, spec):
        # One trained model for both checks: on JAX and TensorFlow each fit
        # compiles a train step.
        model = spec.model()
        layer = model.layers[0]
        x = spec.inputs()
        y = np.ones_like(to_numpy(model(x))) * 3.0
        model.compile(keras.optimizers.Adam(0.05), "mse", jit_compile="auto")
        before = to_numpy(layer.kernel)
        model.fit(x, y, epochs=5, batch_size=2, verbose=0)
        kernel = _flat(layer.kernel)
        assert np.abs(kernel - before.reshape(kernel.shape)).max() > 1e-3
        g = to_numpy(layer.parameterization.norm(layer.parameter_values()))
        np.testing.assert_allclose(np.linalg.norm(kernel, axis=0), np.abs(g), rtol=1e-5)
        if layer.parameterization_name == "centered_weight_norm":
            sums = np.abs(kernel.sum(axis=0))
            assert np.all(sums <= 1e-6 * np.abs(kernel).sum(axis=0))
        baked = keras_lcw.bake(model)
        assert type(baked.layers[0]) is spec.cls._plain_class
        np.testing.assert_allclose(to_numpy(baked(x)), to_numpy(model(x)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("centered", [False, True])
def test_dense_matches_numpy_reference(centered):
    cls = keras_lcw.CenteredWeightNormDense if centered else keras_lcw.WeightNormDense
    model = keras.Sequential([keras.Input((6,)), cls(4, activation="sigmoid")])
    perturb_variables(model)
    layer = model.layers[0]
    x = np.random.default_rng(0).normal(size=(3, 6)).astype("float32")
    g = to_numpy(layer.kernel_norm).astype("float64")
    if centered:
        c = to_numpy(layer.kernel_coordinates).astype("float64")
        m = c.shape[0] + 1
        k = 1.0 / (m + np.sqrt(m))
        basis = np.zeros((m, m - 1))
        basis[: m - 1] = np.eye(m - 1) - k
        basis[m - 1] = -1.0 / np.sqrt(m)
        v = basis @ c
    else:
        v = to_numpy(layer.kernel_direction).astype("float64")
    kernel = g * v / np.linalg.norm(v, axis=0)
    expected = 1.0 / (1.0 + np.exp(-(x @ kernel + to_numpy(layer.bias))))
    np.testing.assert_allclose(to_numpy(layer(x)), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_numpy(layer.kernel), kernel, rtol=1e-5, atol=1e-6)


def test_conv_matches_parent_with_effective_kernel():
    layer = keras_lcw.WeightNormConv2D(3, 3, padding="same", activation="relu")
    x = np.random.default_rng(0).normal(size=(2, 5, 5, 2)).astype("float32")
    y = layer(x)
    plain = keras.layers.Conv2D(3, 3, padding="same", activation="relu")
    plain.build(x.shape)
    plain.set_weights([to_numpy(layer.kernel), to_numpy(layer.bias)])
    np.testing.assert_allclose(to_numpy(y), to_numpy(plain(x)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["weight_norm", "centered_weight_norm"])
def test_convert_carries_a_plain_layer_over_exactly(name):
    model = keras.Sequential([keras.Input((6, 6, 2)), keras.layers.Conv2D(3, 3, activation="relu"), keras.layers.Flatten(), keras.layers.Dense(4)])
    dense = model.layers[-1]
    x = np.random.default_rng(0).normal(size=(2, 6, 6, 2)).astype("float32")
    if name == "centered_weight_norm":
        # Zero-sum kernels convert exactly (others are projected, as for LCW).
        for layer in model.layers:
            if layer.weights:
                kernel = to_numpy(layer.kernel)
                flat = kernel.reshape(-1, kernel.shape[-1])
                layer.kernel.assign((flat - flat.mean(0)).reshape(kernel.shape))
    converted, names = keras_lcw.convert(model, to=name)
    assert names == [model.layers[0].name, dense.name]
    layer = converted.layers[0]
    expected = {"weight_norm": keras_lcw.WeightNormConv2D, "centered_weight_norm": keras_lcw.CenteredWeightNormConv2D}[name]
    assert type(layer) is expected and not layer.data_init
    np.testing.assert_allclose(to_numpy(converted(x)), to_numpy(model(x)), rtol=1e-5, atol=1e-5)
    kernel = _flat(model.layers[0].kernel)
    np.testing.assert_allclose(to_numpy(layer.kernel_norm), np.linalg.norm(kernel, axis=0), rtol=1e-6)
    if name == "weight_norm":
        np.testing.assert_array_equal(to_numpy(layer.kernel_direction), to_numpy(model.layers[0].kernel))


@pytest.mark.parametrize("centered", [False, True])
def test_zero_direction_is_finite_and_trains(centered):
    cls = keras_lcw.CenteredWeightNormDense if centered else keras_lcw.WeightNormDense
    # A zero kernel maps to a unit direction and g = 0: the same zero kernel.
    layer = cls(3, kernel_initializer="zeros")
    model = keras.Sequential([keras.Input((4,)), layer])
    np.testing.assert_array_equal(to_numpy(layer.kernel), np.zeros((4, 3)))
    np.testing.assert_array_equal(to_numpy(layer.kernel_norm), np.zeros(3))
    x = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
    model.compile(keras.optimizers.SGD(0.1), "mse", jit_compile="auto")
    model.fit(x, x[:, :3], epochs=3, verbose=0)
    assert np.all(to_numpy(layer.kernel_norm) != 0)
    # A direction that is exactly zero gives a zero kernel, not NaN.
    direction = layer.kernel_coordinates if centered else layer.kernel_direction
    direction.assign(np.zeros(direction.shape, "float32"))
    np.testing.assert_array_equal(to_numpy(layer.kernel), np.zeros((4, 3)))
    model.fit(x, x[:, :3], epochs=1, verbose=0)
    assert all(np.all(np.isfinite(to_numpy(v))) for v in model.variables)


def test_centered_refuses_fan_in_one():
    with pytest.raises(ValueError, match="fan-in of at least 2"):
        keras_lcw.CenteredWeightNormDense(3)(np.ones((2, 1), "float32"))
    with pytest.raises(ValueError, match="fan-in of at least 2"):
        keras_lcw.CenteredWeightNormConv1D(3, 1)(np.ones((2, 4, 1), "float32"))
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(2, name="narrow")])
    with pytest.raises(ValueError, match="'narrow' cannot be converted to 'centered_weight_norm', because it needs a fan-in of at least 2"):
        keras_lcw.convert(model, to="centered_weight_norm", layers=["narrow"])
    # Plain weight normalization takes a fan-in of 1: w = g * sign(v).
    layer = keras_lcw.WeightNormDense(3)
    layer(np.ones((2, 1), "float32"))
    np.testing.assert_allclose(np.abs(to_numpy(layer.kernel))[0], np.abs(to_numpy(layer.kernel_norm)), rtol=1e-6)


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="`data_init` must be True or False"):
        keras_lcw.WeightNormDense(3, data_init="yes")
    with pytest.raises(ValueError, match="`bias_constraint` with data_init=True"):
        keras_lcw.WeightNormConv2D(3, 3, data_init=True, bias_constraint="non_neg")
    # Without a bias there is no offset for the constraint to miss.
    keras_lcw.WeightNormConv2D(3, 3, use_bias=False, data_init=True, bias_constraint="non_neg")
    assert keras_lcw.WeightNormDense(3, data_init=np.bool_(True)).data_init is True
    with pytest.raises(ValueError, match="kernel_constraint"):
        keras_lcw.CenteredWeightNormDense(3, kernel_constraint="non_neg")
    with pytest.raises(ValueError, match="is the 'weight_norm' parameterization"):
        keras_lcw.WeightNormDense(3, parameterization="lcw")


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_names_give_the_layer_classes(rank):
    assert type(keras_lcw.layers.get_dense("weight_norm", 3)) is keras_lcw.WeightNormDense
    assert type(keras_lcw.layers.get_dense("centered_weight_norm", 3)) is keras_lcw.CenteredWeightNormDense
    assert type(keras_lcw.layers.get_conv("weight_norm", rank, 3, 2)) is getattr(keras_lcw, f"WeightNormConv{rank}D")
    assert type(keras_lcw.layers.get_conv("centered_weight_norm", rank, 3, 2)) is getattr(keras_lcw, f"CenteredWeightNormConv{rank}D")


def test_centered_default_initializer_follows_activation():
    layer = keras_lcw.CenteredWeightNormDense(512, activation="relu")
    layer.build((None, 512))
    # He scale (gain 2), truncated normal at 2 std keeps about 0.774 of it.
    assert to_numpy(layer.kernel).var() * 512 == pytest.approx(2.0, rel=0.1)
    layer = keras_lcw.WeightNormDense(4)
    assert isinstance(layer.kernel_initializer, keras.initializers.GlorotUniform)


# The data-dependent initialization.


def _data_init_model(cls, **kwargs):
    if cls in (keras_lcw.WeightNormDense, keras_lcw.CenteredWeightNormDense):
        return keras.Sequential([keras.Input((6,)), cls(5, activation="relu", data_init=True, **kwargs)]), (6,)
    return keras.Sequential([keras.Input((5, 5, 3)), cls(4, 3, activation="relu", data_init=True, **kwargs)]), (5, 5, 3)


def _preactivation(layer, x):
    plain, weights = layer.bake()
    plain.activation = keras.activations.linear
    plain.build(x.shape)
    plain.set_weights([weights["kernel"], weights["bias"]])
    z = to_numpy(plain(x))
    return z.reshape(-1, z.shape[-1])


@pytest.mark.parametrize(
    "cls",
    [keras_lcw.WeightNormDense, keras_lcw.CenteredWeightNormDense, keras_lcw.WeightNormConv2D, keras_lcw.CenteredWeightNormConv2D],
    ids=lambda cls: cls.__name__,
)
def test_data_init_normalizes_the_first_batch_once(cls, tmp_path):
    model, shape = _data_init_model(cls)
    layer = model.layers[0]
    rng = np.random.default_rng(0)
    x = (3.0 * rng.normal(size=(32,) + shape) + 2.0).astype("float32")
    y = np.zeros_like(to_numpy(model(x)))
    # Inference calls leave it undone.
    assert float(to_numpy(layer.data_initialized)) == 0.0
    path = str(tmp_path / "before.keras")
    model.save(path)
    model.compile(keras.optimizers.SGD(0.0), "mse", jit_compile="auto")
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    assert float(to_numpy(layer.data_initialized)) == 1.0
    z = _preactivation(layer, x)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(z.std(axis=0), 1.0, rtol=1e-4)
    # Not redone on later batches, nor after saving and loading.
    state = [to_numpy(v) for v in layer.non_trainable_variables]
    model.fit(5.0 * x, y, batch_size=32, epochs=1, verbose=0)
    loaded = keras.models.load_model(_saved(model, tmp_path))
    loaded.compile(keras.optimizers.SGD(0.0), "mse", jit_compile="auto")
    loaded.fit(-x, y, batch_size=32, epochs=1, verbose=0)
    for a, b, c in zip(state, layer.non_trainable_variables, loaded.layers[0].non_trainable_variables):
        np.testing.assert_array_equal(to_numpy(b), a)
        np.testing.assert_array_equal(to_numpy(c), a)
    # A model saved before its first training batch does it on that batch.
    early = keras.models.load_model(path)
    early.compile(keras.optimizers.SGD(0.0), "mse", jit_compile="auto")
    early.fit(x, y, batch_size=32, epochs=1, verbose=0)
    np.testing.assert_allclose(_preactivation(early.layers[0], x).std(axis=0), 1.0, rtol=1e-4)


def _saved(model, tmp_path):
    path = str(tmp_path / "after.keras")
    model.save(path)
    return path


def test_data_init_trains_g_through_the_offset():
    model, shape = _data_init_model(keras_lcw.WeightNormDense)
    layer = model.layers[0]
    x = np.random.default_rng(0).normal(size=(16,) + shape).astype("float32")
    model.compile(keras.optimizers.SGD(0.1), "mse", jit_compile="auto")
    model.fit(x, np.ones((16, 5)), batch_size=16, epochs=1, verbose=0)
    offset = to_numpy(layer.kernel_norm_offset)
    g = to_numpy(layer.kernel_norm)
    model.fit(x, np.ones((16, 5)), batch_size=16, epochs=1, verbose=0)
    np.testing.assert_array_equal(to_numpy(layer.kernel_norm_offset), offset)
    assert np.abs(to_numpy(layer.kernel_norm) - g).max() > 1e-4
    kernel = to_numpy(layer.kernel)
    np.testing.assert_allclose(np.linalg.norm(kernel, axis=0), np.abs(to_numpy(layer.kernel_norm) + offset), rtol=1e-5)
    # `bias` is the effective bias, offset included.
    np.testing.assert_array_equal(to_numpy(layer.bias), to_numpy(layer.parameter_values()["bias"]) + to_numpy(layer.bias_offset))
    assert np.abs(to_numpy(layer.bias_offset)).max() > 0


def test_data_init_without_bias_sets_the_scale_only():
    layer = keras_lcw.WeightNormDense(4, use_bias=False, data_init=True)
    x = (np.random.default_rng(0).normal(size=(64, 3)) + 1.0).astype("float32")
    y = to_numpy(layer(x, training=True))
    np.testing.assert_allclose(y.std(axis=0), 1.0, rtol=1e-4)
    np.testing.assert_allclose(to_numpy(layer(x)), y, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls", [keras_lcw.WeightNormConv2D, keras_lcw.CenteredWeightNormDense])
def test_data_init_keeps_g_of_a_unit_constant_over_the_batch(cls):
    # A constant input makes every unit's preactivation constant; float32
    # moments as E[x^2] - E[x]^2 (keras.ops.moments on PyTorch) give a tiny
    # variance for it, not 0.
    if cls is keras_lcw.WeightNormConv2D:
        layer, x = cls(2, 3, data_init=True), np.full((4, 6, 6, 1), 0.7, "float32")
    else:
        layer, x = cls(3, data_init=True), np.tile(np.float32([0.3, -1.1, 2.0, 0.4]), (8, 1))
    layer.build(x.shape)
    g = to_numpy(layer.kernel_norm)
    y = to_numpy(layer(x, training=True))
    assert float(to_numpy(layer.data_initialized)) == 1.0
    np.testing.assert_allclose(to_numpy(layer.parameterization.norm(layer.parameter_values())), g, rtol=1e-6)
    # The bias removes the constant.
    np.testing.assert_allclose(y, 0.0, atol=1e-5)


@pytest.mark.parametrize("bad", ["empty", "nan", "inf"])
def test_data_init_waits_for_a_batch_with_finite_moments(bad):
    layer = keras_lcw.WeightNormDense(3, data_init=True)
    x = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
    layer.build(x.shape)
    state = [to_numpy(v) for v in layer.non_trainable_variables]
    if bad == "empty":
        batch = x[:0]
    else:
        batch = x.copy()
        batch[2, 1] = {"nan": np.nan, "inf": np.inf}[bad]
    layer(batch, training=True)
    for before, variable in zip(state, layer.non_trainable_variables):
        np.testing.assert_array_equal(to_numpy(variable), before, err_msg=variable.name)
    # The next usable batch does it.
    y = to_numpy(layer(x, training=True))
    assert float(to_numpy(layer.data_initialized)) == 1.0
    np.testing.assert_allclose(y.std(axis=0), 1.0, rtol=1e-4)
    assert np.all(np.isfinite(to_numpy(layer(x))))


# The migration path from tensorflow-addons.


@pytest.mark.parametrize(
    "plain, expected, shape",
    [
        (lambda: keras.layers.Dense(3, activation="relu", use_bias=False, name="d"), keras_lcw.WeightNormDense, (5,)),
        (lambda: keras.layers.Conv1D(3, 2, padding="causal", name="d"), keras_lcw.WeightNormConv1D, (6, 2)),
        (lambda: keras.layers.Conv2D(3, 3, strides=2, kernel_initializer="he_normal", name="d"), keras_lcw.WeightNormConv2D, (7, 7, 2)),
        (lambda: keras.layers.Conv3D(2, 2, dilation_rate=1, name="d"), keras_lcw.WeightNormConv3D, (3, 3, 3, 2)),
    ],
    ids=["dense", "conv1d", "conv2d", "conv3d"],
)
def test_weight_normalization_gives_the_layer_with_the_config(plain, expected, shape):
    layer = keras_lcw.WeightNormalization(plain(), data_init=True)
    assert type(layer) is expected and layer.data_init
    config = plain().get_config()
    kept = {key: value for key, value in layer.get_config().items() if key in config}
    assert kept == config
    model = keras.Sequential([keras.Input(shape), layer])
    x = np.random.default_rng(0).normal(size=(8,) + shape).astype("float32")
    model.compile("adam", "mse", jit_compile="auto")
    model.fit(x, np.zeros_like(to_numpy(model(x))), epochs=1, verbose=0)
    assert float(to_numpy(layer.data_initialized)) == 1.0
    assert not keras_lcw.WeightNormalization(plain()).data_init


def test_weight_normalization_refuses_what_it_cannot_take():
    with pytest.raises(TypeError, match="takes a keras.layers.Dense, Conv1D, Conv2D or Conv3D; received LCWDense 'x'"):
        keras_lcw.WeightNormalization(keras_lcw.LCWDense(3, name="x"))
    with pytest.raises(TypeError, match="received Conv2DTranspose"):
        keras_lcw.WeightNormalization(keras.layers.Conv2DTranspose(3, 3))
    built = keras.layers.Dense(3, name="built")
    built.build((None, 4))
    with pytest.raises(ValueError, match="'built' is built.*keras_lcw.convert"):
        keras_lcw.WeightNormalization(built)
    with pytest.raises(ValueError, match=r"WeightNormalization cannot take layer 'd' with kernel_constraint='NonNeg': the kernel is computed"):
        keras_lcw.WeightNormalization(keras.layers.Dense(3, kernel_constraint="non_neg", name="d"))
    with pytest.raises(ValueError, match=r"WeightNormalization cannot take layer 'c' with lora_rank=2: LoRA"):
        keras_lcw.WeightNormalization(keras.layers.Conv2D(3, 3, lora_rank=2, name="c"))
    with pytest.raises(ValueError, match="`data_init` must be True or False"):
        keras_lcw.WeightNormalization(keras.layers.Dense(3), data_init=None)


def test_tuning_offers_both_names():
    keras_tuner = pytest.importorskip("keras_tuner")
    names = ("weight_norm", "centered_weight_norm")
    for name, cls in zip(names, (keras_lcw.WeightNormDense, keras_lcw.CenteredWeightNormDense)):
        hp = keras_tuner.HyperParameters()
        hp.values["h/parameterization"] = name
        hp.values["h/activation"] = "relu"
        layer = keras_lcw.tuning.dense(hp, 4, prefix="h", parameterizations=names, activations=("relu",))
        assert type(layer) is cls


def _reference_output(layer):
    """The layer's function from the forward map alone: the plain Keras
    layer's computation with `forward(values)` as kernel and bias."""
    parameterization = layer.parameterization

    def reference(x, values):
        kernel, bias = parameterization.forward(values, layer._kernel_shape)
        if isinstance(layer, keras.layers.Dense):
            z = keras.ops.matmul(x, kernel)
        else:
            z = keras.ops.conv(x, kernel, strides=list(layer.strides), padding=layer.padding, dilation_rate=layer.dilation_rate, data_format=layer.data_format)
        if bias is not None:
            shape = (1, -1) + (1,) * layer.rank if getattr(layer, "data_format", None) == "channels_first" else (-1,)
            z = z + keras.ops.reshape(bias, shape)
        return layer.activation(z)

    return reference


REFERENCE_CASES = [
    (keras_lcw.WeightNormDense, dict(units=5, activation="sigmoid"), (7, 6)),
    (keras_lcw.CenteredWeightNormDense, dict(units=5, activation="tanh"), (7, 6)),
    (keras_lcw.WeightNormDense, dict(units=4, use_bias=False), (2, 3, 6)),
    (keras_lcw.WeightNormConv1D, dict(filters=4, kernel_size=3, strides=2), (3, 9, 2)),
    (keras_lcw.WeightNormConv2D, dict(filters=4, kernel_size=3, padding="same", activation="relu"), (2, 6, 5, 3)),
    (keras_lcw.CenteredWeightNormConv2D, dict(filters=3, kernel_size=(3, 2), use_bias=False), (2, 6, 5, 3)),
    (keras_lcw.WeightNormConv3D, dict(filters=2, kernel_size=2, activation="tanh"), (2, 4, 4, 3, 2)),
]
if keras.backend.backend() != "tensorflow":
    REFERENCE_CASES.append((keras_lcw.WeightNormConv2D, dict(filters=3, kernel_size=3, data_format="channels_first"), (2, 2, 6, 6)))


@pytest.mark.parametrize("cls, kwargs, shape", REFERENCE_CASES, ids=lambda c: getattr(c, "__name__", None))
def test_output_and_gradients_match_the_forward_map(cls, kwargs, shape):
    # Dense scales the preactivation by g / |v|, a convolution the kernel:
    # both must be the plain layer with the forward map's kernel, in value
    # and in every gradient.
    layer = cls(**kwargs)
    layer.build(shape)
    model = keras.Sequential([layer])
    perturb_variables(model)
    x = np.random.default_rng(3).normal(size=shape).astype("float32")
    assert_matches_reference_map(layer, x, _reference_output(layer))
