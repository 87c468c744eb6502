"""The linked-neurons depth test, in small, on scikit-learn's digits.

50 Dense layers of 8 units with no normalization, trained with Adam, for
relu, selu and swish and their linked versions (keras_lcw.LinkedReLU,
LinkedSELU, LinkedSwish: each layer's 8 preactivations feed 16 outputs).
Riera and Pujol (arXiv:1712.02609) report, for 51 convolutional layers on
CIFAR-10, ReLU and Swish at chance and linked ReLU and linked SELU learning.

Initialization. A linked layer doubles the channels the next layer sees, so
the next kernel's fan-in is 16 while its fan-out is 8. Keras's default
Glorot initializer draws with variance 2 / (fan_in + fan_out) = 1/12, and
since relu(z)^2 + relu(-z)^2 = z^2 the preactivation variance is multiplied
by 16 * (1/12) / 2 = 2/3 per layer: over 50 layers the signal vanishes, and
whether a network learns depends on the seed. The initializers that keep the
variance take the fan-in alone: He-normal, 2 / fan_in, for the relu and
swish families and LeCun-normal, 1 / fan_in, for the selu family (SELU's own
fixed point; for linked SELU each of the 16 outputs has a second moment of
about 1). Every Dense kernel uses them here (`--initializer auto`), and the
row "linked relu (Glorot)" repeats linked relu with Keras's default
Glorot-uniform for comparison; pass `--initializer glorot_uniform` (or any
Keras initializer name) to use one initializer for every variant (and drop
that row).

Runs every variant for `--seeds` seeds (default 5; each seed draws its own
train/validation split and weights) and reports per variant the mean ±
standard deviation and median of the final validation accuracy, with the
number of runs that learned (final validation accuracy above 0.2, twice
chance). Writes OUTPUT/linked_depth_test.png (mean validation accuracy per
epoch, with a band from the lowest to the highest seed),
OUTPUT/linked_depth_test.json, and the table into docs/linked.md (not with
--no-docs). Its run time at the default scale is in the README's
Results section, which examples/reproduce.py rewrites.

Usage: KERAS_BACKEND=jax python examples/linked_depth_test.py [--seeds 5]
"""

import argparse
import os
import time

import keras
import matplotlib

import keras_lcw
from common import EpochLine
from common import add_docs_argument
from common import add_seed_arguments
from common import docs_page
from common import load_digits
from common import plot_band
from common import results_block
from common import seed_list
from common import seed_summary
from common import summary_table
from common import write_json
from common import write_results

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

VARIANTS = {
    "relu": lambda: keras.layers.Activation("relu"),
    "linked relu": keras_lcw.LinkedReLU,
    "selu": lambda: keras.layers.Activation("selu"),
    "linked selu": keras_lcw.LinkedSELU,
    "swish": lambda: keras.layers.Activation("swish"),
    "linked swish": keras_lcw.LinkedSwish,
    # Linked ReLU with Keras's default initializer, for comparison.
    "linked relu (Glorot)": keras_lcw.LinkedReLU,
}
# The initializer of every Dense kernel with `--initializer auto`: it scales
# with the fan-in only, which the linked layers double.
AUTO_INITIALIZER = {
    "relu": "he_normal",
    "linked relu": "he_normal",
    "selu": "lecun_normal",
    "linked selu": "lecun_normal",
    "swish": "he_normal",
    "linked swish": "he_normal",
    "linked relu (Glorot)": "glorot_uniform",
}
# A run has learned when its final validation accuracy is above this (twice
# chance).
LEARNED = 0.2


def build(name, depth, width, initializer):
    if initializer == "auto":
        initializer = AUTO_INITIALIZER[name]
    model = keras.Sequential([keras.Input((64,))])
    for _ in range(depth):
        model.add(keras.layers.Dense(width, kernel_initializer=initializer))
        model.add(VARIANTS[name]())
    model.add(keras.layers.Dense(10, activation="softmax"))
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--depth", type=int, default=50)
    parser.add_argument("--width", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--initializer", default="auto",
        help="the Dense kernels' initializer: auto (He-normal for relu and "
        "swish, LeCun-normal for selu, linked or not) or a Keras name",
    )
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset of " + ", ".join(VARIANTS))
    add_seed_arguments(parser, 5)
    parser.add_argument("--output", default="outputs")
    add_docs_argument(parser, "linked.md")
    args = parser.parse_args(argv)
    seeds = seed_list(args)
    chosen = args.variants.split(",")
    if set(chosen) - set(VARIANTS):
        parser.error(f"unknown --variants {sorted(set(chosen) - set(VARIANTS))}; allowed: {', '.join(VARIANTS)}")
    names = [name for name in VARIANTS if name in chosen and (args.initializer == "auto" or "Glorot" not in name)]
    runs = {name: [] for name in names}
    for seed in seeds:
        x_train, x_val, y_train, y_val = load_digits(seed)
        for name in names:
            keras.utils.set_random_seed(seed)
            model = build(name, args.depth, args.width, args.initializer)
            model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
            start = time.perf_counter()
            history = model.fit(
                x_train, y_train, validation_data=(x_val, y_val), epochs=args.epochs,
                batch_size=args.batch_size, verbose=0,
                callbacks=[EpochLine(f"{name} seed {seed}", args.epochs, every=10)],
            ).history
            runs[name].append({
                "train_accuracy": float(history["accuracy"][-1]),
                "val_accuracy": float(history["val_accuracy"][-1]),
                "seconds": time.perf_counter() - start,
                "params": model.count_params(),
                "val_curve": [float(a) for a in history["val_accuracy"]],
            })
    results = {
        name: {
            "val_accuracy": seed_summary([r["val_accuracy"] for r in per_seed], lambda a: a > LEARNED),
            "train_accuracy": seed_summary([r["train_accuracy"] for r in per_seed]),
            "seconds": seed_summary([r["seconds"] for r in per_seed]),
        }
        for name, per_seed in runs.items()
    }
    initializers = (
        ", ".join(f"{name}: {AUTO_INITIALIZER[name]}" for name in names)
        if args.initializer == "auto" else args.initializer
    )
    table = summary_table(
        results,
        (("val_accuracy", f"final val acc (learned: > {LEARNED})"), ("train_accuracy", "final train acc"), ("seconds", "seconds per run")),
        first="activation",
    ) + (
        "\n\nCells: mean ± standard deviation over seeds (median, runs that "
        f"learned). Kernel initializers: {initializers}. Parameters: "
        + ", ".join(f"{name} {per_seed[0]['params']}" for name, per_seed in runs.items())
        + "."
    )
    print(f"\nbackend {keras.backend.backend()}, {args.depth} x Dense({args.width}), Adam 1e-3, "
          f"{args.epochs} epochs, no normalization, seeds {seeds}\n")
    print(table)
    os.makedirs(args.output, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, per_seed in runs.items():
        plot_band(ax, [r["val_curve"] for r in per_seed], name, linestyle="--" if "linked" not in name else "-")
    ax.axhline(0.1, color="gray", linewidth=0.8)
    ax.set(
        xlabel="epoch", ylabel="validation accuracy", ylim=(0, 1),
        title=f"{args.depth} Dense layers of {args.width} units, digits, {len(seeds)} seeds",
    )
    ax.legend()
    path = os.path.join(args.output, "linked_depth_test.png")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {path}")
    write_json(args.output, "linked_depth_test", results, args, runs=runs)
    if not args.no_docs:
        write_results(
            docs_page("linked.md"), "linked_depth_test",
            results_block("examples/linked_depth_test.py", args, table),
        )
    return results


if __name__ == "__main__":
    main()
