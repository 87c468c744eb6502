"""Train-step time of GmP layers against their plain Keras parents.

Times one compiled training step (forward, backward, SGD update) of
GmPDense against Dense (1024 -> 1024, batch 256) and of GmPConv2D against
Conv2D (3x3, 64 -> 64 channels, 32x32 inputs), both with relu, on the
current backend. Reports the median over repeated steps after warm-up, with
the minimum and maximum, and the ratio GmP / plain.

    KERAS_BACKEND=jax python benchmarks/bench_gmp.py
"""

import argparse
import statistics
import time

import keras
import numpy as np

import keras_lcw


def _step_times(layer, input_shape, batch, warmup, repeats, seed):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input(input_shape), layer])
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch,) + input_shape).astype("float32")
    y = rng.normal(size=(batch,) + tuple(model.output_shape[1:])).astype("float32")
    model.compile(keras.optimizers.SGD(1e-3), "mse", jit_compile="auto")
    for _ in range(warmup):
        model.train_on_batch(x, y)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.train_on_batch(x, y)
        times.append(time.perf_counter() - start)
    return times


def _row(name, times):
    ms = [1000.0 * t for t in times]
    return name, statistics.median(ms), min(ms), max(ms)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--conv-batch", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    cases = [
        (
            "Dense 1024->1024, batch 256",
            (1024,),
            256,
            lambda: keras.layers.Dense(1024, activation="relu"),
            lambda: keras_lcw.GmPDense(1024),
        ),
        (
            f"Conv2D 3x3 64->64, 32x32, batch {args.conv_batch}",
            (32, 32, 64),
            args.conv_batch,
            lambda: keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
            lambda: keras_lcw.GmPConv2D(64, 3, padding="same"),
        ),
    ]
    print(f"backend: {keras.backend.backend()}, median (min-max) of "
          f"{args.repeats} train steps after {args.warmup} warm-up steps")
    header = f"{'case':<36} {'layer':<10} {'median ms':>10} {'min':>8} {'max':>8} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    for title, shape, batch, plain, gmp in cases:
        rows = []
        for name, make in (("plain", plain), ("GmP", gmp)):
            times = _step_times(make(), shape, batch, args.warmup, args.repeats, args.seed)
            rows.append(_row(name, times))
        base = rows[0][1]
        for name, median, low, high in rows:
            print(f"{title:<36} {name:<10} {median:>10.2f} {low:>8.2f} {high:>8.2f} {median / base:>6.2f}")
            title = ""


if __name__ == "__main__":
    main()
