"""Train-step time of the weight-normalized layers against plain Keras
layers.

    KERAS_BACKEND=jax python -m benchmarks.bench_weight_norm

Dense 1024 -> 1024 at batch 256, Conv2D 3x3 64 -> 64 on 32x32 inputs at
batch 32, each with Adam and an MSE loss, as benchmarks/bench_lcw.py. The
target is a ratio of at most 1.05 on every backend (CPU). Ratios are
keras_lcw / plain (median step times; min and max of the per-step ratios).
"""

import keras

import keras_lcw
from benchmarks import common
from benchmarks.bench_lcw import conv_model
from benchmarks.bench_lcw import dense_model


def main():
    args = common.parse_args(__doc__.split("\n")[0])
    rows = [
        common.compare(
            "WeightNormDense / Dense (1024 -> 1024, batch 256)",
            lambda: dense_model(keras.layers.Dense(1024)),
            lambda: dense_model(keras_lcw.WeightNormDense(1024)),
            (1024,), 256, args,
        ),
        common.compare(
            "CenteredWeightNormDense / Dense",
            lambda: dense_model(keras.layers.Dense(1024)),
            lambda: dense_model(keras_lcw.CenteredWeightNormDense(1024)),
            (1024,), 256, args,
        ),
        common.compare(
            "WeightNormConv2D / Conv2D (3x3, 64 -> 64, 32x32, batch 32)",
            lambda: conv_model(keras.layers.Conv2D(64, 3, padding="same")),
            lambda: conv_model(keras_lcw.WeightNormConv2D(64, 3, padding="same")),
            (32, 32, 64), 32, args,
        ),
        common.compare(
            "CenteredWeightNormConv2D / Conv2D",
            lambda: conv_model(keras.layers.Conv2D(64, 3, padding="same")),
            lambda: conv_model(
                keras_lcw.CenteredWeightNormConv2D(64, 3, padding="same")
            ),
            (32, 32, 64), 32, args,
        ),
    ]
    common.print_table("Weight normalization overhead", rows)
    return rows


if __name__ == "__main__":
    main()
