"""A small CNN on scikit-learn's digits: standard vs GmP at two learning rates.

Two 3x3 ReLU convolutions and a plain softmax classifier, trained with Adam
at a base learning rate and at 10x. "standard" uses Conv2D; "weight norm"
uses keras_lcw.WeightNormConv2D (w = g v / |v|, a baseline of the GmP
paper); "GmP" uses
InputMeanNormalization + GmPConv2D for both convolutions (W. Chen and H. Ge,
"Neural Characteristic Activation Analysis and Geometric Parameterization
for ReLU Networks", NeurIPS 2024, arXiv:2305.15912), whose claim is that
training stays stable at the larger rate.

Runs every method and rate for `--seeds` seeds (default 5; each seed draws
its own train/validation split and initial weights) and reports the mean ±
standard deviation and median over seeds of the final and best validation
accuracy, the final validation loss and the largest training loss after
epoch 1, with the number of runs that reach a final validation accuracy
above 0.95. Writes OUTPUT/gmp_digits.png (mean training and validation loss
per epoch, with a band from the lowest to the highest seed) and
OUTPUT/gmp_digits.json, and the table into docs/gmp.md (not with
--no-docs). Its run time at the default scale is in the README's
Results section, which examples/reproduce.py rewrites.

    KERAS_BACKEND=jax python examples/gmp_digits.py --epochs 30 --seeds 5
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

METHODS = ("standard", "weight norm", "GmP")
# A run is good when its final validation accuracy is above this.
GOOD = 0.95
COLUMNS = (
    ("final_val_accuracy", f"final val acc (good: > {GOOD})"),
    ("best_val_accuracy", "best val acc"),
    ("final_val_loss", "final val loss"),
    ("max_train_loss", "max train loss after epoch 1"),
    ("seconds", "seconds per run"),
)


def build(method):
    layers = [keras.Input((8, 8, 1))]
    for filters in (32, 64):
        if method == "GmP":
            layers += [
                keras_lcw.InputMeanNormalization(),
                keras_lcw.GmPConv2D(filters, 3, padding="same"),
            ]
        elif method == "weight norm":
            layers += [
                keras_lcw.WeightNormConv2D(filters, 3, padding="same", activation="relu")
            ]
        else:
            layers += [keras.layers.Conv2D(filters, 3, padding="same", activation="relu")]
        layers += [keras.layers.MaxPooling2D(2)]
    layers += [keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")]
    return keras.Sequential(layers)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.003, help="the base Adam learning rate")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset of " + ", ".join(METHODS))
    add_seed_arguments(parser, 5)
    parser.add_argument("--output", default="outputs")
    add_docs_argument(parser, "gmp.md")
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2: the table reports the largest training loss after epoch 1")
    os.makedirs(args.output, exist_ok=True)
    seeds = seed_list(args)
    methods = args.methods.split(",")
    if set(methods) - set(METHODS):
        parser.error(f"unknown --methods {sorted(set(methods) - set(METHODS))}; allowed: {', '.join(METHODS)}")
    runs = [
        (method, scale)
        for scale in (1, 10)
        for method in METHODS
        if method in methods
    ]
    histories = {f"{method} lr {scale * args.lr:g}": [] for method, scale in runs}
    records = {label: [] for label in histories}
    for seed in seeds:
        x_train, x_val, y_train, y_val = load_digits(seed, images=True)
        for method, scale in runs:
            lr = scale * args.lr
            label = f"{method} lr {lr:g}"
            keras.utils.set_random_seed(seed)
            model = build(method)
            model.compile(keras.optimizers.Adam(lr), "sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile="auto")
            start = time.time()
            history = model.fit(
                x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
                validation_data=(x_val, y_val), verbose=0,
                callbacks=[EpochLine(f"{label} seed {seed}", args.epochs, every=10)],
            ).history
            history = {key: [float(v) for v in values] for key, values in history.items()}
            histories[label].append(history)
            records[label].append({
                "final_val_accuracy": history["val_accuracy"][-1],
                "best_val_accuracy": max(history["val_accuracy"]),
                "final_val_loss": history["val_loss"][-1],
                "max_train_loss": max(history["loss"][1:]),
                "seconds": time.time() - start,
            })
    results = {}
    for label, per_seed in records.items():
        results[label] = {
            key: seed_summary(
                [r[key] for r in per_seed],
                (lambda a: a > GOOD) if key == "final_val_accuracy" else None,
            )
            for key in per_seed[0]
        }
    table = summary_table(results, COLUMNS, first="method and lr") + (
        "\n\nCells: mean ± standard deviation over seeds (median, and for the "
        "final validation accuracy the runs above "
        f"{GOOD})."
    )
    print(f"\ndigits CNN, {args.epochs} epochs, Adam, seeds {seeds}, backend {keras.backend.backend()}\n")
    print(table)

    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for label, per_seed in histories.items():
        style = "-" if label.startswith("GmP") else "--"
        plot_band(axes[0], [h["loss"] for h in per_seed], label, linestyle=style)
        plot_band(axes[1], [h["val_loss"] for h in per_seed], label, linestyle=style)
    for axis, title in zip(axes, ("training loss", "validation loss")):
        axis.set_yscale("log")
        axis.set_xlabel("epoch")
        axis.set_title(f"{title}, mean and range of {len(seeds)} seeds")
        axis.legend(fontsize=8)
    path = os.path.join(args.output, "gmp_digits.png")
    figure.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(figure)
    print(f"wrote {path}")
    write_json(args.output, "gmp_digits", results, args, histories=histories)
    if not args.no_docs:
        write_results(
            docs_page("gmp.md"), "gmp_digits",
            results_block("examples/gmp_digits.py", args, table),
        )
    return results


if __name__ == "__main__":
    main()
