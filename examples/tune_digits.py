"""Searches parameterization x activation normalization on digits.

A 4-layer MLP on scikit-learn's bundled 8x8 digits (1400 train / 397
validation). Every hidden block shares one `keras_lcw.tuning.block` choice of
parameterization ("plain", "lcw", "lcw_constraint"), activation ("tanh",
"sigmoid") and activation normalization ("none", "anact", "linked"). Runs a
RandomSearch over the 18 combinations and a Hyperband search, prints the
best trials, re-evaluates each search's best model (`get_best_models`, which
reloads the trial's best checkpoint) against the trial's recorded best
validation accuracy, plots the RandomSearch results to
OUTPUT/tune_digits.png (the trials go to OUTPUT/tune_digits/, emptied first)
and writes the tables into docs/tuning.md (not with --no-docs).

    KERAS_BACKEND=jax python examples/tune_digits.py --epochs 8
"""

import argparse
import os
import shutil

import keras
import keras_tuner
import matplotlib
import numpy as np

from common import add_docs_argument
from common import docs_page
from common import load_digits
from common import results_block
from common import write_results
from keras_lcw import tuning

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PARAMETERIZATIONS = ("plain", "lcw", "lcw_constraint")
ACTIVATIONS = ("tanh", "sigmoid")
NORMALIZATIONS = ("none", "anact", "linked")
DEPTH, WIDTH = 4, 64


def build(hp):
    model = keras.Sequential([keras.Input((64,))])
    for _ in range(DEPTH):
        for layer in tuning.block(
            hp,
            WIDTH,
            prefix="hidden",
            parameterizations=PARAMETERIZATIONS,
            activations=ACTIVATIONS,
            normalizations=NORMALIZATIONS,
        ):
            model.add(layer)
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(
        keras.optimizers.Adam(1e-3),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def report(name, tuner, validation, count):
    """Prints the best trials; returns them as a markdown table."""
    print(f"\n{name}: best {count} trials")
    print(f"{'parameterization':<16} {'activation':<10} {'normalization':<13} {'val acc':>8}")
    table = [
        f"{name}: best {count} trials",
        "",
        "| parameterization | activation | normalization | val acc |",
        "|---|---|---|---|",
    ]
    for trial in tuner.oracle.get_best_trials(count):
        values = trial.hyperparameters.values
        print(
            f"{values['hidden/parameterization']:<16} "
            f"{values['hidden/activation']:<10} "
            f"{values['hidden/normalization']:<13} {trial.score:>8.4f}"
        )
        table.append(
            f"| {values['hidden/parameterization']} | {values['hidden/activation']} "
            f"| {values['hidden/normalization']} | {trial.score:.4f} |"
        )
    best_trial = tuner.oracle.get_best_trials(1)[0]
    best_model = tuner.get_best_models(1)[0]
    _, accuracy = best_model.evaluate(*validation, verbose=0)
    line = (
        f"best model re-evaluated: val acc {accuracy:.4f} "
        f"(trial's best epoch: {best_trial.score:.4f})"
    )
    print(line)
    return "\n".join(table + ["", line[0].upper() + line[1:] + "."])


def plot(tuner, path):
    labels = [f"{a}/{n}" for a in ACTIVATIONS for n in NORMALIZATIONS]
    scores = np.full((len(PARAMETERIZATIONS), len(labels)), np.nan)
    for trial in tuner.oracle.trials.values():
        values = trial.hyperparameters.values
        i = PARAMETERIZATIONS.index(values["hidden/parameterization"])
        j = labels.index(f"{values['hidden/activation']}/{values['hidden/normalization']}")
        scores[i, j] = trial.score
    fig, ax = plt.subplots(figsize=(9, 3.5))
    width = 0.8 / len(PARAMETERIZATIONS)
    for i, name in enumerate(PARAMETERIZATIONS):
        ax.bar(np.arange(len(labels)) + i * width, scores[i], width, label=name)
    ax.set_xticks(np.arange(len(labels)) + width, labels, fontsize=8)
    ax.set_ylabel("best validation accuracy")
    ax.set_ylim(0.0, 1.0)
    ax.set_title(f"RandomSearch on digits ({keras.backend.backend()})")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="outputs/")
    add_docs_argument(parser, "tuning.md")
    args = parser.parse_args()
    keras.utils.set_random_seed(args.seed)
    x_train, x_val, y_train, y_val = load_digits(args.seed)
    train, validation = (x_train, y_train), (x_val, y_val)
    directory = os.path.join(args.output, "tune_digits")
    shutil.rmtree(directory, ignore_errors=True)
    fit = dict(validation_data=validation, batch_size=64, verbose=2)
    grid = len(PARAMETERIZATIONS) * len(ACTIVATIONS) * len(NORMALIZATIONS)

    random_search = keras_tuner.RandomSearch(
        build, objective="val_accuracy", max_trials=grid, seed=args.seed,
        directory=directory, project_name="random",
    )
    random_search.search(*train, epochs=args.epochs, **fit)
    random_table = report("RandomSearch", random_search, validation, grid)

    hyperband = keras_tuner.Hyperband(
        build, objective="val_accuracy", max_epochs=args.epochs, factor=3,
        hyperband_iterations=1, seed=args.seed, directory=directory,
        project_name="hyperband",
    )
    hyperband.search(*train, **fit)
    hyperband_table = report("Hyperband", hyperband, validation, 5)

    path = os.path.join(args.output, "tune_digits.png")
    plot(random_search, path)
    print(f"\nwrote {path}")
    if not args.no_docs:
        write_results(
            docs_page("tuning.md"), "tune_digits",
            results_block("examples/tune_digits.py", args, random_table + "\n\n" + hyperband_table),
        )


if __name__ == "__main__":
    main()
