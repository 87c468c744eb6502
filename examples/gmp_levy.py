"""1-D regression of the Levy function with one hidden layer of 100 ReLU units.

Compares a plain Dense layer, Dense + BatchNormalization, a weight-normalized
Dense (keras_lcw.WeightNormDense), GmPDense and GmPDense after
InputMeanNormalization, trained with Adam on 50 noisy
samples, full batch, with the learning rate divided by 10 on plateaus; GmP
gets a 10x larger learning rate, as in W. Chen and H. Ge, "Neural
Characteristic Activation Analysis and Geometric Parameterization for ReLU
Networks" (NeurIPS 2024, arXiv:2305.15912). Prints the test RMSE on a grid of
[-10, 10] per seed, writes a PNG of the fitted curves to OUTPUT/gmp_levy.png
and the results table into docs/gmp.md (not with --no-docs).

    KERAS_BACKEND=jax python examples/gmp_levy.py --epochs 100 --seeds 3
"""

import argparse
import os
import re
import time

import keras
import matplotlib
import numpy as np

import keras_lcw
from common import EpochLine
from common import add_docs_argument
from common import docs_page
from common import results_block
from common import write_results

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

UNITS = 100


def levy(x):
    """The 1-D Levy function with the input scaled by 1/4 around 1."""
    w = 1.0 + (x - 1.0) / 4.0
    return np.sin(np.pi * w) ** 2 + (w - 1.0) ** 2 * (1.0 + np.sin(2.0 * np.pi * w) ** 2)


def make_data(seed, samples=50, noise=0.1):
    rng = np.random.default_rng(seed)
    x_train = rng.uniform(-10.0, 10.0, size=(samples, 1))
    y_train = levy(x_train) + rng.normal(0.0, noise, size=(samples, 1))
    x_test = np.arange(-10.0, 10.05, 0.1).reshape(-1, 1)
    return (
        x_train.astype("float32"),
        y_train.astype("float32"),
        x_test.astype("float32"),
        levy(x_test).astype("float32"),
    )


def build(method):
    layers = [keras.Input((1,))]
    if method == "plain":
        layers += [keras.layers.Dense(UNITS, activation="relu")]
    elif method == "batch norm":
        layers += [
            keras.layers.Dense(UNITS),
            keras.layers.BatchNormalization(),
            keras.layers.Activation("relu"),
        ]
    elif method == "weight norm":
        layers += [keras_lcw.WeightNormDense(UNITS, activation="relu")]
    elif method == "GmP":
        layers += [keras_lcw.GmPDense(UNITS)]
    elif method == "GmP + IMN":
        layers += [keras_lcw.InputMeanNormalization(), keras_lcw.GmPDense(UNITS)]
    # TensorFlow takes letters, digits and "_.-/>" in a model's name.
    return keras.Sequential(layers + [keras.layers.Dense(1)], name=re.sub(r"[^A-Za-z0-9]+", "_", method))


def train(method, lr, data, seed, epochs, steps_per_epoch):
    x_train, y_train, x_test, y_test = data
    keras.utils.set_random_seed(seed)
    model = build(method)
    model.compile(keras.optimizers.Adam(lr), loss="mean_absolute_error", jit_compile="auto")
    # Every batch is the whole training set: an epoch is `steps_per_epoch`
    # full-batch steps.
    x = np.tile(x_train, (steps_per_epoch, 1))
    y = np.tile(y_train, (steps_per_epoch, 1))
    model.fit(
        x,
        y,
        batch_size=len(x_train),
        epochs=epochs,
        shuffle=False,
        verbose=0,
        callbacks=[
            keras.callbacks.ReduceLROnPlateau("loss", factor=0.1, patience=5, min_lr=1e-6),
            EpochLine(f"{method} seed {seed}", epochs, every=10),
        ],
    )
    prediction = model.predict(x_test, verbose=0)
    return float(np.sqrt(np.mean((prediction - y_test) ** 2))), prediction


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100, help="epochs of --steps full-batch steps")
    parser.add_argument("--steps", type=int, default=100, help="full-batch steps per epoch")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0, help="the first seed")
    parser.add_argument("--lr", type=float, default=0.01, help="Adam learning rate; GmP gets 10x")
    parser.add_argument("--output", default="outputs")
    add_docs_argument(parser, "gmp.md")
    args = parser.parse_args()
    os.makedirs(args.output, exist_ok=True)

    methods = {
        "plain": args.lr,
        "batch norm": args.lr,
        "weight norm": args.lr,
        "GmP": 10 * args.lr,
        "GmP + IMN": 10 * args.lr,
    }
    seeds = list(range(args.seed, args.seed + args.seeds))
    rmse = {method: [] for method in methods}
    curves = {}
    start = time.time()
    for seed in seeds:
        data = make_data(seed)
        for method, lr in methods.items():
            error, prediction = train(method, lr, data, seed, args.epochs, args.steps)
            rmse[method].append(error)
            print(f"{method} seed {seed}: test RMSE {error:.3f} ({time.time() - start:.0f} s)", flush=True)
            if seed == seeds[0]:
                curves[method] = prediction

    print(f"\nLevy 1-D, {UNITS} ReLU units, {args.epochs * args.steps} full-batch Adam steps, "
          f"backend {keras.backend.backend()}")
    header = f"{'method':<12} {'lr':>6} " + " ".join(f"{'seed ' + str(s):>8}" for s in seeds) + f" {'mean':>7}"
    print(header)
    print("-" * len(header))
    for method, lr in methods.items():
        cells = " ".join(f"{e:>8.3f}" for e in rmse[method])
        print(f"{method:<12} {lr:>6.2g} {cells} {np.mean(rmse[method]):>7.3f}")

    x_train, y_train, x_test, y_test = make_data(seeds[0])
    figure, axis = plt.subplots(figsize=(9, 5))
    axis.plot(x_test, y_test, "k-", lw=2, label="Levy")
    axis.plot(x_train, y_train, "k.", ms=8, label="training data")
    for method, prediction in curves.items():
        axis.plot(x_test, prediction, lw=1.2, label=f"{method} (RMSE {rmse[method][0]:.3f})")
    axis.set_xlabel("x")
    axis.set_ylabel("y")
    axis.set_title(f"Levy regression, seed {seeds[0]}")
    axis.legend()
    path = os.path.join(args.output, "gmp_levy.png")
    figure.savefig(path, dpi=120, bbox_inches="tight")
    print(f"wrote {path}")
    if not args.no_docs:
        lines = [
            "| method | lr | " + " | ".join(f"seed {s}" for s in seeds) + " | mean |",
            "|---|---|" + "---|" * len(seeds) + "---|",
        ]
        for method, lr in methods.items():
            cells = " | ".join(f"{e:.3f}" for e in rmse[method])
            lines.append(f"| {method} | {lr:.2g} | {cells} | {np.mean(rmse[method]):.3f} |")
        write_results(
            docs_page("gmp.md"), "gmp_levy",
            results_block("examples/gmp_levy.py", args, "\n".join(lines)),
        )


if __name__ == "__main__":
    main()
