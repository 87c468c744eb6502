import keras
import numpy as np
import pytest

import keras_lcw
from keras_lcw.parameterizations import gmp as gmp_parameterization
from tests.harness import LayerContract
from tests.harness import LayerSpec
from tests.harness import perturb_variables
from tests.harness import to_numpy

GMP_SPECS = [
    LayerSpec(keras_lcw.GmPDense, dict(units=6, activation="tanh"), (5,), trainable=3),
    LayerSpec(keras_lcw.GmPDense, dict(units=3, use_bias=False), (2, 4), trainable=2, id="GmPDense-3d-nobias"),
    LayerSpec(keras_lcw.GmPDense, dict(units=4, bias_initializer="ones"), (1,), trainable=2, non_trainable=1, id="GmPDense-fan_in_1"),
    LayerSpec(keras_lcw.GmPConv1D, dict(filters=4, kernel_size=3, padding="causal", dilation_rate=2), (8, 3), trainable=3),
    LayerSpec(keras_lcw.GmPConv2D, dict(filters=4, kernel_size=(3, 2), strides=2, groups=2, activation=None), (7, 6, 4), trainable=3),
    LayerSpec(keras_lcw.GmPConv3D, dict(filters=2, kernel_size=2, padding="same"), (4, 4, 4, 2), trainable=3),
]
if keras.backend.backend() != "tensorflow":
    # TensorFlow's CPU convolutions support channels_last only.
    GMP_SPECS.append(
        LayerSpec(keras_lcw.GmPConv2D, dict(filters=3, kernel_size=3, data_format="channels_first"), (2, 6, 6), trainable=3, id="GmPConv2D-channels_first")
    )


def _activation(name):
    return keras.activations.get(name)


class TestGmPLayers(LayerContract):
    SPECS = GMP_SPECS

    def test_matches_numpy_reference(self, spec):
        """r * act(conv(x, u) + lambda) with the parent computing conv(x, u)."""
        model = spec.model()
        perturb_variables(model)
        layer = model.layers[0]
        # Some negative radii: r * act(.) is not act(r .) for them.
        layer.radius.assign(to_numpy(layer.radius) * np.where(np.arange(layer.radius.shape[0]) % 2, -1.0, 1.0))
        x = spec.inputs()
        unit = to_numpy(layer.unit_kernel()).astype("float64")
        plain = layer._plain_class.from_config({**layer.get_config(), "activation": None, "use_bias": False})
        plain.build(x.shape)
        plain.set_weights([unit])
        z = to_numpy(plain(x)).astype("float64")
        channel = 1 if layer.get_config().get("data_format") == "channels_first" else -1
        shape = [1] * z.ndim
        shape[channel] = -1
        if layer.use_bias:
            z = z + to_numpy(layer.offset).reshape(shape)
        act = {"tanh": np.tanh, "relu": lambda v: np.maximum(v, 0.0), "linear": lambda v: v}[layer.activation.__name__]
        expected = to_numpy(layer.radius).reshape(shape) * act(z)
        np.testing.assert_allclose(to_numpy(layer(x)), expected, rtol=1e-5, atol=1e-5)

    def test_unit_kernel_has_unit_norm_after_fit(self, spec):
        model = spec.model()
        x = spec.inputs()
        y = np.ones_like(to_numpy(model(x))) * 3.0
        model.compile(keras.optimizers.Adam(0.5), "mse", jit_compile="auto")
        before = to_numpy(model.layers[0].unit_kernel())
        model.fit(x, y, epochs=3, batch_size=2, verbose=0)
        unit = to_numpy(model.layers[0].unit_kernel())
        if unit.shape[:-1] != (1,):
            assert np.abs(unit - before).max() > 1e-3
        norms = np.linalg.norm(unit.reshape(-1, unit.shape[-1]), axis=0)
        np.testing.assert_allclose(norms, 1.0, atol=1e-5)

    def test_effective_weights_are_the_drawn_ones(self, spec):
        seed = 3
        layer = spec.make(kernel_initializer=keras.initializers.GlorotUniform(seed), bias_initializer=keras.initializers.RandomNormal(seed=seed))
        layer.build((None,) + spec.input_shape)
        kernel_shape = tuple(layer.kernel.shape)
        drawn = to_numpy(keras.initializers.GlorotUniform(seed)(kernel_shape))
        np.testing.assert_allclose(to_numpy(layer.kernel), drawn, atol=1e-6)
        if layer.use_bias:
            bias = to_numpy(keras.initializers.RandomNormal(seed=seed)((kernel_shape[-1],)))
            np.testing.assert_allclose(to_numpy(layer.bias), bias, atol=1e-6)

    def test_bake_is_exact(self, spec):
        model = spec.model()
        perturb_variables(model)
        x = spec.inputs()
        if model.layers[0].activation.__name__ not in ("relu", "linear"):
            with pytest.raises(ValueError, match=f"'{model.layers[0].name}' cannot be baked.*is not positively homogeneous"):
                keras_lcw.bake(model)
            return
        baked = keras_lcw.bake(model)
        assert type(baked.layers[0]) is model.layers[0]._plain_class
        np.testing.assert_allclose(to_numpy(baked(x)), to_numpy(model(x)), rtol=1e-5, atol=1e-6)


def test_dense_matches_numpy_reference_formula():
    layer = keras_lcw.GmPDense(4)
    x = np.random.default_rng(0).normal(size=(3, 5)).astype("float32")
    layer.build(x.shape)
    rng = np.random.default_rng(1)
    angles = rng.uniform(-3, 3, size=(4, 4))
    offset, radius = rng.normal(size=4), rng.normal(size=4)
    layer.angles.assign(angles.astype("float32"))
    layer.offset.assign(offset.astype("float32"))
    layer.radius.assign(radius.astype("float32"))
    # The defining formula, coordinate by coordinate.
    u = np.empty((5, 4))
    sines = np.ones(4)
    for i in range(4):
        u[i] = sines * np.cos(angles[i])
        sines *= np.sin(angles[i])
    u[4] = sines
    expected = radius * np.maximum(x @ u + offset, 0.0)
    np.testing.assert_allclose(to_numpy(layer(x)), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(to_numpy(layer.kernel), u * radius, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_numpy(layer.bias), offset * radius, rtol=1e-5, atol=1e-6)


def test_fan_in_one_keeps_the_sign_of_the_drawn_weight():
    init = keras.initializers.Constant(np.array([[-0.5, 2.0, -3.0]]))
    layer = keras_lcw.GmPDense(3, kernel_initializer=init)
    model = keras.Sequential([keras.Input((1,)), layer])
    np.testing.assert_array_equal(to_numpy(layer.direction), [-1.0, 1.0, -1.0])
    np.testing.assert_allclose(to_numpy(layer.radius), [0.5, 2.0, 3.0])
    x = np.linspace(-2, 2, 9, dtype="float32")[:, None]
    np.testing.assert_allclose(to_numpy(model(x)), np.maximum(x * [[-0.5, 2.0, -3.0]], 0.0), atol=1e-6)
    assert not layer.direction.trainable


def test_bake_refuses_negative_radius_and_non_homogeneous_activation():
    layer = keras_lcw.GmPDense(3, name="gmp_hidden")
    model = keras.Sequential([keras.Input((4,)), layer])
    layer.radius.assign(np.array([1.0, -0.5, 2.0], "float32"))
    with pytest.raises(ValueError, match="gmp_hidden.*1 of its 3 units have a negative radius"):
        keras_lcw.bake(model)
    linear = keras_lcw.GmPDense(3, activation=None)
    model = keras.Sequential([keras.Input((4,)), linear])
    linear.radius.assign(np.array([1.0, -0.5, 2.0], "float32"))
    x = np.random.default_rng(0).normal(size=(2, 4)).astype("float32")
    np.testing.assert_allclose(to_numpy(keras_lcw.bake(model)(x)), to_numpy(model(x)), rtol=1e-5, atol=1e-6)
    model = keras.Sequential([keras.Input((5, 4)), keras_lcw.GmPConv1D(2, 1, activation="sigmoid", name="gmp_sig")])
    with pytest.raises(ValueError, match="gmp_sig.*'sigmoid' is not positively homogeneous"):
        keras_lcw.bake(model)


def test_gradient_is_finite_at_sine_zero_angles():
    layer = keras_lcw.GmPDense(3, activation=None)
    model = keras.Sequential([keras.Input((4,)), layer])
    # Unit j has a vanishing sine at angle j; the angles after it then do
    # not affect the unit, and their gradient is rightly 0.
    angles = np.array([[0.0, 1.0, 2.0], [1.0, np.pi, 1.0], [2.0, 2.0, 0.0]], "float32")
    layer.angles.assign(angles)
    x = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
    model.compile(keras.optimizers.SGD(0.01), "mse", jit_compile="auto")
    model.fit(x, np.ones((8, 3), "float32"), epochs=1, batch_size=8, verbose=0)
    after = to_numpy(layer.angles)
    assert np.all(np.isfinite(after))
    # The gradient is not silently zero at the angle whose sine vanishes.
    assert np.all(np.abs(np.diag(after - angles)) > 1e-4)


def test_regularizers_apply_to_effective_weights():
    layer = keras_lcw.GmPDense(3, kernel_regularizer=keras.regularizers.L1(0.5), bias_regularizer=keras.regularizers.L2(0.25), bias_initializer="ones")
    model = keras.Sequential([keras.Input((4,)), layer])
    model(np.ones((1, 4), "float32"))
    expected = 0.5 * np.abs(to_numpy(layer.kernel)).sum() + 0.25 * np.square(to_numpy(layer.bias)).sum()
    assert sum(float(to_numpy(loss)) for loss in model.losses) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(kernel_constraint="non_neg"), "kernel_constraint"),
        (dict(bias_constraint="non_neg"), "bias_constraint"),
        (dict(lora_rank=2), "lora_rank"),
    ],
)
def test_unsupported_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        keras_lcw.GmPDense(3, **kwargs)
    with pytest.raises(ValueError, match=match):
        keras_lcw.GmPConv2D(3, 3, **kwargs)


def test_lora_and_quantize_are_refused():
    layer = keras_lcw.GmPDense(3)
    layer.build((None, 4))
    with pytest.raises(ValueError, match="LoRA"):
        layer.enable_lora(2)
    with pytest.raises(ValueError, match="quantized"):
        layer.quantize("int8")


def test_bad_shapes_are_refused_clearly():
    with pytest.raises(ValueError, match="divisible by groups"):
        keras_lcw.GmPConv2D(4, 3, groups=2)(np.ones((1, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match="units"):
        keras_lcw.GmPDense(0)
    layer = keras_lcw.GmPDense(3)
    layer(np.ones((2, 4), "float32"))
    with pytest.raises(ValueError, match="incompatible"):
        layer(np.ones((2, 5), "float32"))


def test_save_round_trip_keeps_every_variable(tmp_path):
    model = keras.Sequential([keras.Input((5,)), keras_lcw.GmPDense(4), keras.layers.Dense(2)])
    rng = np.random.default_rng(7)
    layer = model.layers[0]
    # Distinct, non-symmetric values, and a negative radius.
    for variable in (layer.angles, layer.offset, layer.radius):
        variable.assign(rng.uniform(-2.0, 2.0, size=variable.shape).astype("float32"))
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    for name in ("angles", "offset", "radius"):
        np.testing.assert_array_equal(to_numpy(getattr(loaded.layers[0], name)), to_numpy(getattr(layer, name)), err_msg=name)
    x = rng.normal(size=(3, 5)).astype("float32")
    np.testing.assert_array_equal(to_numpy(loaded(x)), to_numpy(model(x)))


def _variable_gradients(layer, x, weights):
    """The gradients of sum(layer(x) * weights) with respect to the layer's
    trainable variables, by the backend's autodiff."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(x) * weights)
        return [g.numpy() for g in tape.gradient(loss, [v.value for v in layer.trainable_variables])]
    if backend == "jax":
        import jax

        def loss(trainable):
            y, _ = layer.stateless_call(trainable, [v.value for v in layer.non_trainable_variables], x)
            return (y * weights).sum()

        return [np.asarray(g) for g in jax.grad(loss)([v.value for v in layer.trainable_variables])]
    import torch

    loss = (layer(x) * torch.as_tensor(weights)).sum()
    values = [v.value for v in layer.trainable_variables]
    return [g.numpy() for g in torch.autograd.grad(loss, values)]


@pytest.mark.parametrize(
    "make, input_shape",
    [
        (lambda: keras_lcw.GmPConv2D(6, 3, padding="same"), (5, 5, 3)),
        (lambda: keras_lcw.GmPConv2D(6, 2, activation="leaky_relu"), (5, 5, 3)),
        (lambda: keras_lcw.GmPConv1D(6, 2, activation=None), (5, 3)),
        (lambda: keras_lcw.GmPConv1D(6, 2, use_bias=False), (5, 3)),
    ],
    ids=["conv2d-relu", "conv2d-leaky_relu", "conv1d-linear", "conv1d-relu-nobias"],
)
def test_folded_radius_gives_the_written_out_values_and_gradients(make, input_shape, monkeypatch):
    # With a positively homogeneous activation a convolution folds the radius
    # into the kernel and bias; values and gradients are those of
    # r * act(u . x + lambda) as written out, for negative radii and a
    # radius of 0 too.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4,) + input_shape).astype("float32")
    layer = make()
    layer.build(x.shape)
    perturb_variables(keras.Sequential([keras.Input(input_shape), layer]))
    layer.radius.assign(np.array([1.5, -0.7, 0.0, 2.0, -1.2, 0.4], "float32"))
    if layer.use_bias:
        layer.offset.assign(rng.normal(size=6).astype("float32"))
    assert gmp_parameterization.positively_homogeneous(layer.activation)
    weights = rng.normal(size=to_numpy(layer(x)).shape).astype("float32")
    folded = to_numpy(layer(x)), _variable_gradients(layer, x, weights)
    monkeypatch.setattr(gmp_parameterization, "positively_homogeneous", lambda activation: False)
    written_out = to_numpy(layer(x)), _variable_gradients(layer, x, weights)
    np.testing.assert_allclose(folded[0], written_out[0], rtol=1e-5, atol=1e-6)
    names = [v.name for v in layer.trainable_variables]
    assert "radius" in names
    for name, a, b in zip(names, folded[1], written_out[1]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=name)
    # The unit with r = 0 still gets the gradient act(z) summed.
    radius_gradient = folded[1][names.index("radius")]
    assert abs(radius_gradient[2]) > 1e-3
