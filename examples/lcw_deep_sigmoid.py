"""LCW against vanishing gradients: a deep sigmoid MLP on the digits data.

Trains width-100 sigmoid MLPs of the same depth side by side on
scikit-learn's bundled 8x8 digits (1400 train / 397 validation images), and
prints final train and validation accuracy, the first epoch at which
validation accuracy reaches 90% and the seconds per epoch:

- plain:           Dense layers with Keras's default (Glorot) initializer
- batchnorm:       Dense -> BatchNormalization -> sigmoid
- lcw_constraint:  Dense with keras_lcw.LCWConstraint (projection after each
                   step) and the activation-scaled LCWInitializer
- lcw_dense:       keras_lcw.LCWDense (reparameterized)
- lcw_batchnorm:   LCWDense -> BatchNormalization -> sigmoid
- weight_norm:     keras_lcw.WeightNormDense (w = g v / |v|, the baseline
                   the papers compare against)
- centered_weight_norm: keras_lcw.CenteredWeightNormDense (zero-sum and
                   unit direction: LCW with a norm per unit)

Writes a PNG of validation accuracy per epoch and a JSON of the results to
OUTPUT/lcw_deep_sigmoid.png and .json, and the results table into
docs/lcw.md (not with --no-docs).
Paper: T. Kutsuna, "Linearly Constrained Weights: Reducing Activation Shift
for Faster Training of Neural Networks", ECML PKDD 2019, arXiv:2403.13833.

    KERAS_BACKEND=jax python examples/lcw_deep_sigmoid.py --depth 50
"""

import argparse
import json
import os

import keras
import numpy as np

import keras_lcw
from common import EpochLine
from common import add_docs_argument
from common import docs_page
from common import load_digits
from common import results_block
from common import write_results

MODELS = (
    "plain",
    "batchnorm",
    "lcw_constraint",
    "lcw_dense",
    "lcw_batchnorm",
    "weight_norm",
    "centered_weight_norm",
)
WIDTH = 100


def hidden_layers(kind, depth):
    gain_init = keras_lcw.initializers.scaled_initializer("sigmoid")
    layers = []
    for _ in range(depth):
        if kind == "plain":
            layers.append(keras.layers.Dense(WIDTH, activation="sigmoid"))
        elif kind == "lcw_constraint":
            layers.append(
                keras.layers.Dense(
                    WIDTH,
                    activation="sigmoid",
                    kernel_constraint=keras_lcw.LCWConstraint(),
                    kernel_initializer=keras_lcw.LCWInitializer(gain_init),
                )
            )
        elif kind == "lcw_dense":
            layers.append(keras_lcw.LCWDense(WIDTH, activation="sigmoid"))
        elif kind == "weight_norm":
            layers.append(keras_lcw.WeightNormDense(WIDTH, activation="sigmoid"))
        elif kind == "centered_weight_norm":
            layers.append(
                keras_lcw.CenteredWeightNormDense(WIDTH, activation="sigmoid")
            )
        else:
            dense = keras_lcw.LCWDense if kind == "lcw_batchnorm" else keras.layers.Dense
            layers += [
                dense(WIDTH, use_bias=False),
                keras.layers.BatchNormalization(),
                keras.layers.Activation("sigmoid"),
            ]
    return layers


def build_model(kind, depth, optimizer, learning_rate):
    model = keras.Sequential(
        [keras.Input((64,))]
        + hidden_layers(kind, depth)
        + [keras.layers.Dense(10, activation="softmax")]
    )
    model.compile(
        optimizer=keras.optimizers.get(
            {"class_name": optimizer, "config": {"learning_rate": learning_rate}}
        ),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def run(kind, args, data):
    x_train, x_val, y_train, y_val = data
    keras.utils.set_random_seed(args.seed)
    model = build_model(kind, args.depth, args.optimizer, args.learning_rate)
    progress = EpochLine(kind, args.epochs, every=args.log_every)
    history = model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        batch_size=args.batch_size,
        epochs=args.epochs,
        verbose=0,
        callbacks=[progress],
    )
    val = history.history["val_accuracy"]
    reached = [i + 1 for i, a in enumerate(val) if a >= 0.9]
    # The first epoch includes compilation.
    steady = progress.seconds[1:] or progress.seconds
    return {
        "model": kind,
        "train_accuracy": float(history.history["accuracy"][-1]),
        "val_accuracy": float(val[-1]),
        "epoch_to_90": reached[0] if reached else None,
        "seconds_per_epoch": float(np.median(steady)),
        "val_curve": [float(a) for a in val],
    }


def print_table(results, args):
    print(
        f"\nDepth {args.depth}, width {WIDTH}, sigmoid, {args.optimizer} "
        f"lr {args.learning_rate}, batch {args.batch_size}, {args.epochs} "
        f"epochs, seed {args.seed}, backend {keras.backend.backend()}\n"
    )
    print(markdown_table(results))


def markdown_table(results):
    lines = [
        "| model | train acc | val acc | epoch to 90% val | s/epoch |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        reached = r["epoch_to_90"] if r["epoch_to_90"] is not None else "never"
        lines.append(
            f"| {r['model']} | {r['train_accuracy']:.3f} | "
            f"{r['val_accuracy']:.3f} | {reached} | "
            f"{r['seconds_per_epoch']:.3f} |"
        )
    return "\n".join(lines)


def plot(results, args, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for r in results:
        ax.plot(range(1, len(r["val_curve"]) + 1), r["val_curve"], label=r["model"])
    ax.axhline(0.1, color="grey", lw=0.8, ls=":", label="chance")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
    ax.set_ylim(0, 1)
    ax.set_title(f"{args.depth}-layer sigmoid MLP on digits")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--depth", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--optimizer", default="adam", help="a keras.optimizers name")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated subset of " + ", ".join(MODELS))
    parser.add_argument("--log-every", type=int, default=5)
    parser.add_argument("--output", default="outputs")
    add_docs_argument(parser, "lcw.md")
    args = parser.parse_args(argv)
    kinds = args.models.split(",")
    unknown = sorted(set(kinds) - set(MODELS))
    if unknown:
        parser.error(f"unknown --models {unknown}; allowed: {', '.join(MODELS)}")
    if args.depth < 1 or args.epochs < 1:
        parser.error("--depth and --epochs must be at least 1")

    data = load_digits(args.seed)
    results = []
    for kind in kinds:
        print(f"training {kind} ...", flush=True)
        results.append(run(kind, args, data))
    print_table(results, args)
    os.makedirs(args.output, exist_ok=True)
    png = os.path.join(args.output, "lcw_deep_sigmoid.png")
    plot(results, args, png)
    with open(os.path.join(args.output, "lcw_deep_sigmoid.json"), "w") as f:
        json.dump({"args": vars(args), "results": results}, f, indent=1)
    print(f"\nwrote {png}")
    if not args.no_docs:
        write_results(
            docs_page("lcw.md"), "lcw_deep_sigmoid",
            results_block("examples/lcw_deep_sigmoid.py", args, markdown_table(results)),
        )
    return results


if __name__ == "__main__":
    main()
