"""The normalization property of ANAct, measured on a 30-layer MLP."""

import keras
import numpy as np
import pytest
from keras import ops

import keras_lcw
from tests.harness import to_numpy

DEPTH, WIDTH, BATCH = 30, 256, 256


class GradientProbe(keras.layers.Layer):
    """Adds a zero variable of the batch's shape: one SGD step with learning
    rate 1 moves it by minus the loss gradient with respect to its input."""

    def build(self, input_shape):
        self.zero = self.add_weight(shape=input_shape, initializer="zeros")

    def call(self, x):
        return x + self.zero


def layer_spreads(activation_layer, seed=0):
    """max/min across layers of E[z^2] and E[(dL/dz)^2] for preactivations z."""
    rng = np.random.default_rng(seed)
    inputs = keras.Input(batch_shape=(BATCH, WIDTH))
    h, probes = inputs, []
    for i in range(DEPTH):
        h = keras.layers.Dense(
            WIDTH, use_bias=False,
            kernel_initializer=keras.initializers.LecunNormal(seed=seed * 100 + i),
        )(h)
        probe = GradientProbe()
        h = probe(h)
        probes.append(probe)
        h = activation_layer()(h)
    model = keras.Model(inputs, h)
    x = rng.normal(size=(BATCH, WIDTH)).astype("float32")
    # The loss is a fixed random projection of the output.
    projection = rng.normal(size=(BATCH, WIDTH)).astype("float32")
    preactivations = keras.Model(inputs, [p.output for p in probes])(x, training=True)
    forward = np.array([np.mean(to_numpy(z).astype("float64") ** 2) for z in preactivations])
    model.compile(keras.optimizers.SGD(1.0), loss=lambda t, y: ops.sum(t * y, axis=-1))
    model.train_on_batch(x, projection)
    backward = np.array([np.mean(to_numpy(p.zero).astype("float64") ** 2) for p in probes])
    return forward.max() / forward.min(), backward.max() / backward.min()


@pytest.mark.slow
@pytest.mark.backends("jax")
@pytest.mark.parametrize("name", ["relu", "tanh", "gelu", "swish"])
def test_anact_shrinks_the_spread_across_layers_tenfold(name):
    bare = layer_spreads(lambda: keras.layers.Activation(name))
    normalized = layer_spreads(lambda: keras_lcw.ANAct(name))
    static = layer_spreads(lambda: keras_lcw.ANAct(name, adaptive=False))
    print(
        f"\n{name}: forward spread bare {bare[0]:.3g}, ANAct {normalized[0]:.3g}, "
        f"static {static[0]:.3g}; backward spread bare {bare[1]:.3g}, "
        f"ANAct {normalized[1]:.3g}, static {static[1]:.3g}"
    )
    assert normalized[0] * 10 <= bare[0]
    assert normalized[1] * 10 <= bare[1]
