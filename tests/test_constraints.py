import keras
import numpy as np
import pytest

import keras_lcw
from tests.harness import to_numpy


def _fan_in_sums(w, axes):
    return w.sum(axis=axes)


@pytest.mark.parametrize(
    "shape, axis, fan_in_axes",
    [
        ((5, 3), None, (0,)),
        ((3, 3, 4, 6), None, (0, 1, 2)),
        ((3, 3, 6, 4), (0, 1, 3), (0, 1, 3)),  # Conv2DTranspose, per filter
        ((3, 3, 6, 4), (-4, -3, -1), (0, 1, 3)),
        ((3, 3, 4, 2), (0, 1), (0, 1)),  # DepthwiseConv2D
    ],
)
def test_projection_against_numpy(shape, axis, fan_in_axes):
    w = np.random.default_rng(0).normal(size=shape).astype("float32")
    got = to_numpy(keras_lcw.LCWConstraint(axis=axis)(w))
    expected = w - w.mean(axis=fan_in_axes, keepdims=True)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    np.testing.assert_allclose(_fan_in_sums(got, fan_in_axes), 0.0, atol=1e-5)


def test_constraint_is_idempotent():
    w = np.random.default_rng(1).normal(size=(7, 4)).astype("float32")
    c = keras_lcw.LCWConstraint()
    once = to_numpy(c(w))
    np.testing.assert_allclose(to_numpy(c(once)), once, atol=1e-6)


@pytest.mark.parametrize("axis", ["a", 1.5, [], [0, 0], True])
def test_bad_axis_argument(axis):
    with pytest.raises(ValueError, match="axis"):
        keras_lcw.LCWConstraint(axis=axis)


def test_axis_out_of_range_or_covering_everything():
    with pytest.raises(ValueError, match="out of range"):
        keras_lcw.LCWConstraint(axis=4)(np.ones((2, 3)))
    with pytest.raises(ValueError, match="output axis"):
        keras_lcw.LCWConstraint(axis=(0, 1))(np.ones((2, 3)))
    with pytest.raises(ValueError, match="rank 2"):
        keras_lcw.LCWConstraint()(np.ones((3,)))


def test_config_round_trip_through_keras_serialization():
    c = keras_lcw.LCWConstraint(axis=(0, 1, 3))
    restored = keras.constraints.deserialize(keras.constraints.serialize(c))
    assert isinstance(restored, keras_lcw.LCWConstraint)
    assert restored.axis == (0, 1, 3)
    init = keras_lcw.initializers.LCWInitializer("he_normal", axis=(0, 1))
    restored = keras.initializers.deserialize(keras.initializers.serialize(init))
    assert restored.get_config() == init.get_config()


def _layers_with_constraint():
    lcw = keras_lcw.LCWConstraint
    init = keras_lcw.initializers.LCWInitializer
    return [
        (keras.layers.Dense(6, kernel_constraint=lcw(), kernel_initializer=init()), (5,), (0,)),
        (keras.layers.EinsumDense("ab,bc->ac", output_shape=6, kernel_constraint=lcw(), kernel_initializer=init()), (5,), (0,)),
        (keras.layers.Conv1D(4, 3, kernel_constraint=lcw(), kernel_initializer=init()), (8, 3), (0, 1)),
        (keras.layers.Conv2D(4, 3, kernel_constraint=lcw(), kernel_initializer=init()), (6, 6, 3), (0, 1, 2)),
        (keras.layers.Conv3D(2, 2, kernel_constraint=lcw(), kernel_initializer=init()), (4, 4, 4, 2), (0, 1, 2, 3)),
        (keras.layers.Conv1DTranspose(4, 3, kernel_constraint=lcw(axis=(0, 2)), kernel_initializer=init(axis=(0, 2))), (6, 3), (0, 2)),
        (keras.layers.Conv2DTranspose(4, 3, kernel_constraint=lcw(axis=(0, 1, 3)), kernel_initializer=init(axis=(0, 1, 3))), (6, 6, 3), (0, 1, 3)),
        (keras.layers.Conv3DTranspose(2, 2, kernel_constraint=lcw(axis=(0, 1, 2, 4)), kernel_initializer=init(axis=(0, 1, 2, 4))), (4, 4, 4, 2), (0, 1, 2, 4)),
        (keras.layers.DepthwiseConv2D(3, depth_multiplier=2, depthwise_constraint=lcw(axis=(0, 1)), depthwise_initializer=init(axis=(0, 1))), (6, 6, 3), (0, 1)),
    ]


@pytest.mark.parametrize("index", range(9))
def test_constraint_holds_from_init_and_after_fit(index):
    layer, input_shape, axes = _layers_with_constraint()[index]
    model = keras.Sequential([keras.Input(input_shape), layer])
    kernel = lambda: to_numpy(layer.weights[0])  # noqa: E731
    scale = np.abs(kernel()).sum(axis=axes)
    np.testing.assert_array_less(np.abs(kernel().sum(axis=axes)), 1e-6 * scale + 1e-7)
    x = np.random.default_rng(0).normal(size=(8,) + input_shape).astype("float32")
    y = np.ones_like(to_numpy(model(x)))
    model.compile(keras.optimizers.AdamW(0.05, weight_decay=0.1), "mse", jit_compile="auto")
    model.fit(x, y, epochs=3, batch_size=4, verbose=0)
    scale = np.abs(kernel()).sum(axis=axes)
    np.testing.assert_array_less(np.abs(kernel().sum(axis=axes)), 1e-6 * scale + 1e-7)


def test_transposed_default_centers_per_input_channel():
    # The default (every axis but the last) centers each input channel's
    # outgoing filters of a (*k, out, in) kernel: documented, not per unit.
    w = np.random.default_rng(2).normal(size=(3, 3, 4, 5)).astype("float32")
    got = to_numpy(keras_lcw.LCWConstraint()(w))
    np.testing.assert_allclose(got.sum(axis=(0, 1, 2)), 0.0, atol=1e-5)
    assert np.abs(got.sum(axis=(0, 1, 3))).max() > 1e-2
