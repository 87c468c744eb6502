"""Train-step time of the GmP layers against their plain Keras parents.

    KERAS_BACKEND=jax python -m benchmarks.bench_gmp

GmPDense against Dense (1024 -> 1024, batch 256) and GmPConv2D against
Conv2D (3x3, 64 -> 64 on 32x32 inputs, batch 32), both with relu. Ratios are
GmP / plain (median step times; min and max of the per-step ratios).

Where GmP's extra time goes: the hyperspherical map computes a sine and a
cosine of every angle (fan_in - 1 per unit), a pairwise prefix product of the
sines forward and a pairwise suffix sum backward, every step: for this Dense
layer about a million angles, against a matmul of 256 multiply-adds per
weight. On JAX, XLA fuses the map (its sines and cosines are one polynomial)
into a few loops. TensorFlow on CPU (Keras compiles with XLA only when an
accelerator is present) and PyTorch run it op by op: on PyTorch a step
launches about 90 separate kernels over the angles, the copies of the
pairwise scans' interleaving alone costing about as much as sin and cos.
A convolution reuses every weight at each of its 32 x 32 positions, so the
map's cost is spread over far more arithmetic; what remains there is the
elementwise r * act(. + lambda) over the output.
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
        # The map's cost does not grow with the batch: at batch 1024 it is
        # spread over four times the matmul work.
        common.compare(
            "GmPDense / Dense (1024 -> 1024, batch 1024)",
            lambda: keras.Sequential([keras.Input((1024,)), keras.layers.Dense(1024, activation="relu")]),
            lambda: keras.Sequential([keras.Input((1024,)), keras_lcw.GmPDense(1024)]),
            (1024,), 1024, args,
        ),
        common.compare(
            "GmPConv2D / Conv2D (3x3, 64 -> 64, 32x32, batch 32)",
            lambda: keras.Sequential([keras.Input((32, 32, 64)), keras.layers.Conv2D(64, 3, padding="same", activation="relu")]),
            lambda: keras.Sequential([keras.Input((32, 32, 64)), keras_lcw.GmPConv2D(64, 3, padding="same")]),
            (32, 32, 64), 32, args,
        ),
    ]
    common.print_table("GmP overhead", rows)
    return rows


if __name__ == "__main__":
    main()
