"""Train-step time of the LCW layers against plain Keras layers.

    KERAS_BACKEND=jax python benchmarks/bench_lcw.py

Dense 1024 -> 1024 at batch 256, Conv2D 3x3 64 -> 64 on 32x32 inputs at
batch 32, each with Adam and an MSE loss; and a whole model, the deep
sigmoid MLP of examples/lcw_deep_sigmoid.py (64 inputs, 50 sigmoid layers of
width 100, a 10-unit softmax layer, batch 64), timed inside `fit`, where
small layers make the per-layer cost of the zero-sum map visible. Ratios
are keras_lcw / plain (median step times; min and max of the per-step
ratios).
"""

import keras

import keras_lcw
from benchmarks import common


def dense_model(layer):
    return keras.Sequential([keras.Input((1024,)), layer])


def conv_model(layer):
    return keras.Sequential([keras.Input((32, 32, 64)), layer])


DEEP_INPUTS, DEEP_DEPTH, DEEP_WIDTH, DEEP_BATCH, DEEP_FIT_STEPS = 64, 50, 100, 64, 20


def deep_sigmoid_model(hidden_layer):
    """The 50-layer width-100 sigmoid MLP; `hidden_layer(units)` gives each
    hidden layer."""
    return keras.Sequential(
        [keras.Input((DEEP_INPUTS,))]
        + [hidden_layer(DEEP_WIDTH) for _ in range(DEEP_DEPTH)]
        + [keras.layers.Dense(10, activation="softmax")]
    )


def main():
    args = common.parse_args(__doc__.split("\n")[0])
    rows = [
        common.compare(
            "LCWDense / Dense (1024 -> 1024, batch 256)",
            lambda: dense_model(keras.layers.Dense(1024)),
            lambda: dense_model(keras_lcw.LCWDense(1024)),
            (1024,), 256, args,
        ),
        common.compare(
            "Dense+LCWConstraint / Dense",
            lambda: dense_model(keras.layers.Dense(1024)),
            lambda: dense_model(
                keras.layers.Dense(1024, kernel_constraint=keras_lcw.LCWConstraint())
            ),
            (1024,), 256, args,
        ),
        common.compare(
            "LCWConv2D / Conv2D (3x3, 64 -> 64, 32x32, batch 32)",
            lambda: conv_model(keras.layers.Conv2D(64, 3, padding="same")),
            lambda: conv_model(keras_lcw.LCWConv2D(64, 3, padding="same")),
            (32, 32, 64), 32, args,
        ),
        common.compare(
            "50 x LCWDense / 50 x Dense (width 100, sigmoid, batch 64, in fit)",
            lambda: deep_sigmoid_model(
                lambda units: keras.layers.Dense(units, activation="sigmoid")
            ),
            lambda: deep_sigmoid_model(
                lambda units: keras_lcw.LCWDense(units, activation="sigmoid")
            ),
            (DEEP_INPUTS,), DEEP_BATCH, args, fit_steps=DEEP_FIT_STEPS,
        ),
    ]
    common.print_table("LCW overhead", rows)
    return rows


if __name__ == "__main__":
    main()
