import keras
import numpy as np
import pytest

import keras_lcw
from tests.harness import LayerContract
from tests.harness import LayerSpec
from tests.harness import to_numpy

LCW_SPECS = [
    LayerSpec(keras_lcw.LCWDense, dict(units=6, activation="tanh"), (5,), trainable=2),
    LayerSpec(keras_lcw.LCWDense, dict(units=3, use_bias=False), (2, 4), trainable=1, id="LCWDense-3d-nobias"),
    LayerSpec(keras_lcw.LCWConv1D, dict(filters=4, kernel_size=3, padding="causal", dilation_rate=2), (8, 3), trainable=2),
    LayerSpec(keras_lcw.LCWConv2D, dict(filters=4, kernel_size=(3, 2), strides=2, groups=2, activation="relu"), (7, 6, 4), trainable=2),
    LayerSpec(keras_lcw.LCWConv3D, dict(filters=2, kernel_size=2, padding="same"), (4, 4, 4, 2), trainable=2),
]
if keras.backend.backend() != "tensorflow":
    # TensorFlow's CPU convolutions support channels_last only.
    LCW_SPECS.append(
        LayerSpec(keras_lcw.LCWConv2D, dict(filters=3, kernel_size=3, data_format="channels_first"), (2, 6, 6), trainable=2, id="LCWConv2D-channels_first")
    )


def _fan_in_axes(kernel):
    return tuple(range(kernel.ndim - 1))


def assert_zero_sum(kernel):
    kernel = to_numpy(kernel)
    axes = _fan_in_axes(kernel)
    sums = np.abs(kernel.sum(axis=axes))
    scale = np.abs(kernel).sum(axis=axes)
    assert np.all(sums <= 1e-6 * scale), (sums / scale).max()


class TestLCWLayers(LayerContract):
    SPECS = LCW_SPECS

    def test_matches_parent_with_effective_kernel(self, spec):
        layer = spec.make()
        x = spec.inputs()
        y = layer(x)
        plain = layer._plain_class.from_config(layer.get_config())
        plain.build(x.shape)
        weights = [to_numpy(layer.kernel)] + ([to_numpy(layer.bias) + 0.3] if layer.use_bias else [])
        if layer.use_bias:
            layer.bias.assign(weights[1])
            y = layer(x)
        plain.set_weights(weights)
        np.testing.assert_allclose(to_numpy(y), to_numpy(plain(x)), rtol=1e-5, atol=1e-6)

    def test_kernel_sums_to_zero_at_init(self, spec):
        layer = spec.make()
        layer.build((None,) + spec.input_shape)
        assert_zero_sum(layer.kernel)

    @pytest.mark.parametrize(
        "optimizer",
        [
            lambda: keras.optimizers.SGD(0.1, momentum=0.9),
            lambda: keras.optimizers.Adam(0.05),
            lambda: keras.optimizers.AdamW(0.05, weight_decay=0.5),
        ],
        ids=["sgd", "adam", "adamw"],
    )
    def test_kernel_sums_to_zero_after_fit(self, spec, optimizer):
        model = spec.model()
        x = spec.inputs()
        y = np.ones_like(to_numpy(model(x))) * 3.0
        model.compile(optimizer(), "mse", jit_compile="auto")
        before = to_numpy(model.layers[0].kernel)
        model.fit(x, y, epochs=5, batch_size=2, verbose=0)
        after = to_numpy(model.layers[0].kernel)
        assert np.abs(after - before).max() > 1e-3
        assert_zero_sum(after)

    def test_mixed_precision_kernel_is_cast_float32_kernel(self, spec):
        layer = spec.make(dtype="mixed_float16")
        layer.build((None,) + spec.input_shape)
        full = to_numpy(layer.effective_kernel())
        assert full.dtype == np.float32
        assert to_numpy(layer.kernel).dtype == np.float16
        np.testing.assert_array_equal(to_numpy(layer.kernel), full.astype(np.float16))


def test_dense_matches_numpy_reference():
    layer = keras_lcw.LCWDense(4, activation="sigmoid")
    x = np.random.default_rng(0).normal(size=(3, 6)).astype("float32")
    y = to_numpy(layer(x))
    v = to_numpy(layer.kernel_coordinates).astype("float64")
    m = v.shape[0] + 1
    # The explicit basis: columns e_k - c*(1..1,0) - e_m/sqrt(m).
    c = 1.0 / (m + np.sqrt(m))
    basis = np.zeros((m, m - 1))
    basis[: m - 1] = np.eye(m - 1) - c
    basis[m - 1] = -1.0 / np.sqrt(m)
    kernel = basis @ v
    expected = 1.0 / (1.0 + np.exp(-(x @ kernel + to_numpy(layer.bias))))
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)


def test_default_initializer_scale_follows_activation():
    for activation, gain in [("sigmoid", 22.3034), ("relu", 2.0), (None, 1.0)]:
        assert keras_lcw.initializers.activation_gain(activation) == pytest.approx(gain, rel=1e-4)
        layer = keras_lcw.LCWDense(512, activation=activation)
        layer.build((None, 512))
        variance = to_numpy(layer.kernel).var()
        # Truncated normal at 2 std keeps about 0.774 of the variance.
        assert variance * 512 == pytest.approx(gain, rel=0.1)


def test_user_initializer_is_drawn_projected_and_mapped():
    init = keras.initializers.Constant(np.arange(12.0).reshape(4, 3))
    layer = keras_lcw.LCWDense(3, kernel_initializer=init)
    layer.build((None, 4))
    w = np.arange(12.0).reshape(4, 3)
    np.testing.assert_allclose(to_numpy(layer.kernel), w - w.mean(0), atol=1e-5)


def test_kernel_regularizer_applies_to_effective_kernel():
    layer = keras_lcw.LCWDense(3, kernel_regularizer=keras.regularizers.L1(0.5))
    model = keras.Sequential([keras.Input((4,)), layer])
    model(np.ones((1, 4), "float32"))
    expected = 0.5 * np.abs(to_numpy(layer.kernel)).sum()
    assert float(to_numpy(model.losses[0])) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(kernel_constraint="non_neg"), "kernel_constraint"),
        (dict(lora_rank=2), "lora_rank"),
    ],
)
def test_unsupported_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        keras_lcw.LCWDense(3, **kwargs)
    with pytest.raises(ValueError, match=match):
        keras_lcw.LCWConv2D(3, 3, **kwargs)


def test_lora_and_quantize_are_refused():
    layer = keras_lcw.LCWDense(3)
    layer.build((None, 4))
    with pytest.raises(ValueError, match="LoRA"):
        layer.enable_lora(2)
    with pytest.raises(ValueError, match="quantized"):
        layer.quantize("int8")


def test_fan_in_one_is_refused():
    with pytest.raises(ValueError, match="fan-in of at least 2"):
        keras_lcw.LCWDense(3)(np.ones((2, 1), "float32"))
    with pytest.raises(ValueError, match="fan-in of at least 2"):
        keras_lcw.LCWConv1D(3, 1)(np.ones((2, 4, 1), "float32"))


def test_bad_shapes_are_refused_clearly():
    with pytest.raises(ValueError, match="divisible by groups"):
        keras_lcw.LCWConv2D(4, 3, groups=2)(np.ones((1, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match="units"):
        keras_lcw.LCWDense(0)
    layer = keras_lcw.LCWDense(3)
    layer(np.ones((2, 4), "float32"))
    with pytest.raises(ValueError, match="incompatible"):
        layer(np.ones((2, 5), "float32"))


def test_kernel_before_build_is_an_attribute_error():
    # torch.nn.Module.__getattr__ replaces the message of an AttributeError
    # raised in a property, as it does for keras.layers.Dense.
    match = None if keras.backend.backend() == "torch" else "must be built"
    with pytest.raises(AttributeError, match=match):
        keras_lcw.LCWDense(3).kernel


def test_dense_save_trap_is_avoided(tmp_path):
    # Dense.save_own_variables writes the `kernel` property; a reparameterized
    # subclass must not round-trip through it.
    model = keras.Sequential([keras.Input((5,)), keras_lcw.LCWDense(4), keras.layers.Dense(2)])
    rng = np.random.default_rng(7)
    layer = model.layers[0]
    # Distinct, non-symmetric values in every variable.
    layer.kernel_coordinates.assign(rng.normal(size=(4, 4)).astype("float32"))
    layer.bias.assign(rng.normal(size=(4,)).astype("float32"))
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(to_numpy(loaded.layers[0].kernel_coordinates), to_numpy(layer.kernel_coordinates))
    np.testing.assert_array_equal(to_numpy(loaded.layers[0].bias), to_numpy(layer.bias))
    x = rng.normal(size=(3, 5)).astype("float32")
    np.testing.assert_array_equal(to_numpy(loaded(x)), to_numpy(model(x)))
