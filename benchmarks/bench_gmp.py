"""Train-step time of the GmP layers against their plain Keras parents.

    KERAS_BACKEND=jax python -m benchmarks.bench_gmp

GmPDense against Dense (1024 -> 1024, batch 256) and GmPConv2D against
Conv2D (3x3, 64 -> 64 on 32x32 inputs, batch 32), both with relu. Ratios are
GmP / plain (median step times; min and max of the per-step ratios).

Where GmP's extra time goes: the hyperspherical map computes a sine and a
cosine of every angle (fan_in - 1 per unit) and a prefix product of the
sines, forward and backward, on every step. For a Dense layer that is about
a million transcendentals against a matmul of 256 multiply-adds per weight:
XLA on CPU (the JAX backend) evaluates sin and cos about ten times slower than
exp, and on TensorFlow and PyTorch the backward pass of the prefix product
(about ten levels of slices and products over a million entries) dominates.
A convolution reuses every weight at each of its 32 x 32 positions, so the
map's cost is spread over far more arithmetic.
"""

import keras

import keras_lcw
from benchmarks import common


def main():
    args = common.parse_args(__doc__.strip().split("\n")[0])
    rows = [
        common.compare(
            "GmPDense / Dense (1024 -> 1024, batch 256)",
            lambda: keras.Sequential([keras.Input((1024,)), keras.layers.Dense(1024, activation="relu")]),
            lambda: keras.Sequential([keras.Input((1024,)), keras_lcw.GmPDense(1024)]),
            (1024,), 256, args,
        ),
        common.compare(
            "GmPConv2D / Conv2D (3x3, 64 -> 64, 32x32, batch 32)",
            lambda: keras.Sequential([keras.Input((32, 32, 64)), keras.layers.Conv2D(64, 3, padding="same", activation="relu")]),
            lambda: keras.Sequential([keras.Input((32, 32, 64)), keras_lcw.GmPConv2D(64, 3, padding="same")]),
            (32, 32, 64), 32, args,
        ),
    ]
    common.print_table("GmP overhead", rows)


if __name__ == "__main__":
    main()
