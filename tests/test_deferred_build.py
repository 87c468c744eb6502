"""A layer that `fit` builds (a model not built before) starts from the
weights a layer built eagerly draws: where Keras infers shapes first (on
PyTorch on the "meta" device, which has no values), the initial draw is not
kept."""

import keras
import numpy as np
import pytest

import keras_lcw
from tests.harness import to_numpy

LAYERS = [
    (keras_lcw.LCWDense, dict(units=3), (5,)),
    (keras_lcw.GmPDense, dict(units=3), (5,)),
    (keras_lcw.WeightNormDense, dict(units=3, data_init=True), (5,)),
    (keras_lcw.CenteredWeightNormDense, dict(units=3), (5,)),
    (keras_lcw.LCWConv2D, dict(filters=2, kernel_size=3), (5, 5, 2)),
    (keras_lcw.GmPConv2D, dict(filters=2, kernel_size=3), (5, 5, 2)),
]


def _make(cls, kwargs):
    return cls(
        **kwargs,
        kernel_initializer=keras.initializers.GlorotUniform(seed=3),
        bias_initializer=keras.initializers.RandomUniform(seed=4),
    )


@pytest.mark.parametrize("cls, kwargs, input_shape", LAYERS, ids=[c.__name__ for c, _, _ in LAYERS])
def test_layer_built_in_fit_starts_from_the_drawn_weights(cls, kwargs, input_shape):
    x = np.random.default_rng(0).normal(size=(4,) + input_shape).astype("float32")
    eager = _make(cls, kwargs)
    eager.build(x.shape)
    layer = _make(cls, kwargs)
    model = keras.Sequential([layer])  # No Input: fit builds it.
    model.compile(keras.optimizers.SGD(0.0), "mse")
    model.fit(x, np.zeros_like(to_numpy(eager(x))), epochs=1, verbose=0)
    if kwargs.get("data_init"):
        # The first batch set the norms and the bias; the directions stay.
        np.testing.assert_allclose(to_numpy(layer.kernel_direction), to_numpy(eager.kernel_direction), rtol=1e-5, atol=1e-6)
        return
    np.testing.assert_allclose(to_numpy(layer.kernel), to_numpy(eager.kernel), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_numpy(layer.bias), to_numpy(eager.bias), rtol=1e-5, atol=1e-6)
