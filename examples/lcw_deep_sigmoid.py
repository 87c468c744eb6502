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

Runs every model for `--seeds` seeds (default 5; each seed draws its own
train/validation split and initial weights) and reports, per model, the
mean ± standard deviation and median over seeds of the final validation
accuracy, with the number of runs that learned (final validation accuracy
above 0.5: the runs end either near chance, 0.1, or far above it), of the
first epoch reaching 90% validation accuracy (over the runs that reach it)
and of the seconds per epoch. Writes OUTPUT/lcw_deep_sigmoid.png (mean
validation accuracy per epoch, with a band from the lowest to the highest
seed) and OUTPUT/lcw_deep_sigmoid.json, and the results table into
docs/lcw.md and the figure to docs/lcw_deep_sigmoid.png (not with
--no-docs). Its run time at the default scale is in the README's
Results section, which examples/reproduce.py rewrites.
Paper: T. Kutsuna, "Linearly Constrained Weights: Reducing Activation Shift
for Faster Training of Neural Networks", ECML PKDD 2019, arXiv:2403.13833.

    KERAS_BACKEND=jax python examples/lcw_deep_sigmoid.py --depth 50
"""

import argparse
import os
import shutil

import keras
import numpy as np

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
# A run has learned when its final validation accuracy is above this; over
# seeds the runs end either near chance (0.1) or far above it.
LEARNED = 0.5


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


def run(kind, args, data, seed):
    x_train, x_val, y_train, y_val = data
    keras.utils.set_random_seed(seed)
    model = build_model(kind, args.depth, args.optimizer, args.learning_rate)
    progress = EpochLine(f"{kind} seed {seed}", args.epochs, every=args.log_every)
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


def summarize(runs):
    """{model: {metric: seed_summary}} from {model: [one run per seed]}."""
    results = {}
    for kind, per_seed in runs.items():
        reached = [r["epoch_to_90"] for r in per_seed if r["epoch_to_90"] is not None]
        results[kind] = {
            "val_accuracy": seed_summary(
                [r["val_accuracy"] for r in per_seed], lambda a: a > LEARNED
            ),
            "train_accuracy": seed_summary([r["train_accuracy"] for r in per_seed]),
            "seconds_per_epoch": seed_summary([r["seconds_per_epoch"] for r in per_seed]),
        }
        if reached:
            results[kind]["epoch_to_90"] = seed_summary(reached)
    return results


COLUMNS = (
    ("val_accuracy", f"final val acc (learned: > {LEARNED})"),
    ("train_accuracy", "final train acc"),
    ("epoch_to_90", "epoch to 90% val (runs that reach it)"),
    ("seconds_per_epoch", "s/epoch"),
)


def markdown_table(results):
    table = summary_table(results, COLUMNS, first="model")
    reached = ", ".join(
        f"{kind} {metrics['epoch_to_90']['runs'] if 'epoch_to_90' in metrics else 0}"
        f"/{metrics['val_accuracy']['runs']}"
        for kind, metrics in results.items()
    )
    return (
        f"{table}\n\nCells: mean ± standard deviation over seeds (median, runs "
        f"that learned). Runs that reached 90% validation accuracy: {reached}."
    )


def plot(runs, args, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for kind, per_seed in runs.items():
        plot_band(ax, [r["val_curve"] for r in per_seed], kind)
    ax.axhline(0.1, color="grey", lw=0.8, ls=":", label="chance")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
    ax.set_ylim(0, 1)
    ax.set_title(
        f"{args.depth}-layer sigmoid MLP on digits, mean and range of {args.seeds} seeds"
    )
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--depth", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--optimizer", default="adam", help="a keras.optimizers name")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=64)
    add_seed_arguments(parser, 5)
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

    seeds = seed_list(args)
    runs = {kind: [] for kind in kinds}
    for seed in seeds:
        data = load_digits(seed)
        for kind in kinds:
            print(f"training {kind}, seed {seed} ...", flush=True)
            runs[kind].append(run(kind, args, data, seed))
    results = summarize(runs)
    print(
        f"\nDepth {args.depth}, width {WIDTH}, sigmoid, {args.optimizer} "
        f"lr {args.learning_rate}, batch {args.batch_size}, {args.epochs} "
        f"epochs, seeds {seeds}, backend {keras.backend.backend()}\n"
    )
    print(markdown_table(results))
    os.makedirs(args.output, exist_ok=True)
    png = os.path.join(args.output, "lcw_deep_sigmoid.png")
    plot(runs, args, png)
    print(f"wrote {png}")
    write_json(args.output, "lcw_deep_sigmoid", results, args, runs=runs)
    if not args.no_docs:
        write_results(
            docs_page("lcw.md"), "lcw_deep_sigmoid",
            results_block("examples/lcw_deep_sigmoid.py", args, markdown_table(results)),
        )
        shutil.copyfile(png, docs_page("lcw_deep_sigmoid.png"))
        print(f"copied {png} to {docs_page('lcw_deep_sigmoid.png')}")
    return results


if __name__ == "__main__":
    main()
