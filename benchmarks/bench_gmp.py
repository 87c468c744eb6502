"""Train-step time of the GmP layers against their plain Keras parents.

    KERAS_BACKEND=jax python -m benchmarks.bench_gmp

GmPDense against Dense (1024 -> 1024, at batch 256 and 1024) and GmPConv2D
against Conv2D (3x3, 64 -> 64 on 32x32 inputs, batch 32), all with relu.
Ratios are GmP / plain (median step times; min and max of the per-step
ratios).

Where GmP's extra time goes: the hyperspherical map computes a sine and a
cosine of every angle (fan_in - 1 per unit), a blocked prefix product of the
sines forward and a blocked suffix sum backward, every step: for this Dense
layer about a million angles, against a matmul of 256 multiply-adds per
weight (1024 at batch 1024, where the map's share of the step is smaller).
On JAX, XLA fuses the map into a few loops with the train step; on
TensorFlow the map and its gradient are compiled with XLA on their own
(Keras runs the model without XLA on CPU); on PyTorch a custom autograd
function runs it in about a dozen passes over the angles
(`keras_lcw.backend_utils.fused_unit_vectors`). A convolution reuses every
weight at each of its 32 x 32 positions, so the map's cost is spread over
far more arithmetic, and with relu the radius is folded into the kernel and
bias, so the output costs what the plain convolution's does.
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
