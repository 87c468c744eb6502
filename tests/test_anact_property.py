"""The normalization property of ANAct, measured on a 30-layer MLP."""

import keras
import numpy as np
import pytest
from keras import ops

import keras_lcw
from keras_lcw.diagnostics import GradientProbe
from keras_lcw.diagnostics import signal_statistics

DEPTH, WIDTH, BATCH = 30, 256, 256


def layer_spreads(activation_layer, seed=0):
    """max/min across layers of E[z^2] and E[(dL/dz)^2] for preactivations z."""
    rng = np.random.default_rng(seed)
    inputs = keras.Input((WIDTH,))
    h = inputs
    for i in range(DEPTH):
        h = keras.layers.Dense(
            WIDTH, use_bias=False,
            kernel_initializer=keras.initializers.LecunNormal(seed=seed * 100 + i),
        )(h)
        h = GradientProbe(BATCH)(h)
        h = activation_layer()(h)
    model = keras.Model(inputs, h)
    x = rng.normal(size=(BATCH, WIDTH)).astype("float32")
    # The loss is a fixed random projection of the output.
    projection = rng.normal(size=(BATCH, WIDTH)).astype("float32")
    stats = signal_statistics(model, x, projection, lambda t, y: ops.sum(t * y, axis=-1))
    forward, backward = stats["forward_second_moment"], stats["backward_second_moment"]
    return forward.max() / forward.min(), backward.max() / backward.min()


@pytest.mark.slow
@pytest.mark.backends("torch")
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
