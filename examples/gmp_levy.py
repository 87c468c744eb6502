"""1-D regression of the Levy function with one hidden layer of 100 ReLU units.

Compares a plain Dense layer, Dense + BatchNormalization, a weight-normalized
Dense (keras_lcw.WeightNormDense), GmPDense and GmPDense after
InputMeanNormalization, as in W. Chen and H. Ge, "Neural Characteristic
Activation Analysis and Geometric Parameterization for ReLU Networks"
(NeurIPS 2024, arXiv:2305.15912), with the protocol of the authors' Levy
notebook (github.com/Wenlin-Chen/geometric-parameterization, 1d_levy):

- data: 50 training points x ~ U(-10, 10) with labels Levy(x) + N(0, 0.1^2)
  noise; the test set is the noise-free function on the grid -10, -9.9, ...,
  10 (201 points); test RMSE on that grid.
- training: float64, mean absolute error, full-batch Adam at 0.01, and 0.1
  (10x) for GmP; up to 10000 steps, one step per epoch, with the learning
  rate divided by 10 when the training loss has not improved for 500 steps
  (ReduceLROnPlateau checked every step) and early stopping when it has not
  improved for 1000 steps, keeping the best weights.

It runs twice:

- on the authors' dataset: the notebook draws it with NumPy's legacy global
  generator seeded with 0 (`np.random.seed(0)`, then the 50 inputs with
  `np.random.uniform`, then the 50 noise values with `np.random.normal`), and
  each of the `--seeds` seeds draws other initial weights;
- on fresh datasets: seed s draws both the data (`np.random.default_rng(s)`,
  so no fresh dataset is the authors' one) and the initial weights.

GmP on Levy is bimodal: a run either fits (test RMSE well below 0.7) or
stalls near the mean of the data (around 1 and above), so per method the script
reports the mean ± standard deviation, the median and the number of runs
that fit (test RMSE below 0.7). Writes OUTPUT/gmp_levy.png (the fits of the
first seed on the authors' dataset and every run's test RMSE) and
OUTPUT/gmp_levy.json, and the table into docs/gmp.md (not with
--no-docs). Its run time at the default scale is in the README's
Results section, which examples/reproduce.py rewrites.

    KERAS_BACKEND=jax python examples/gmp_levy.py --seeds 5
"""

import os

# float64 needs this on JAX; it is set before Keras imports JAX.
os.environ.setdefault("JAX_ENABLE_X64", "1")

import argparse  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402

import keras  # noqa: E402
import matplotlib  # noqa: E402
import numpy as np  # noqa: E402

import keras_lcw  # noqa: E402
from common import EpochLine  # noqa: E402
from common import add_docs_argument  # noqa: E402
from common import add_seed_arguments  # noqa: E402
from common import docs_page  # noqa: E402
from common import format_summary  # noqa: E402
from common import results_block  # noqa: E402
from common import seed_list  # noqa: E402
from common import seed_summary  # noqa: E402
from common import write_json  # noqa: E402
from common import write_results  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

UNITS = 100
SAMPLES = 50
NOISE = 0.1
# A run fits the function when its test RMSE is below this: runs fall
# either well below it or around 1 and above.
FITS = 0.7
METHODS = ("plain", "batch norm", "weight norm", "GmP", "GmP + IMN")
# The authors' figures. "notebook": the one run of each method in their
# 1d_levy notebook (authors' dataset, one initial seed), as in the paper.
# "init seeds": their code over 10 initial seeds on their dataset, median;
# "datasets": their code over datasets 0 to 9, mean.
NOTEBOOK = {"plain": 1.104, "batch norm": 1.244, "weight norm": 1.219, "GmP": 0.496}
AUTHORS_CODE_INIT_SEEDS = {"GmP": "median 0.494, 8/10 fit"}
AUTHORS_CODE_DATASETS = {"plain": "mean 1.256", "GmP": "mean 0.945"}
DATASETS = {
    "authors": "test_rmse_authors_data",
    "fresh": "test_rmse_fresh_data",
}


def levy(x):
    """The 1-D Levy function with the input scaled by 1/4 around 1."""
    w = 1.0 + (x - 1.0) / 4.0
    return np.sin(np.pi * w) ** 2 + (w - 1.0) ** 2 * (1.0 + np.sin(2.0 * np.pi * w) ** 2)


def test_grid():
    x_test = np.linspace(-10.0, 10.0, 201).reshape(-1, 1)
    return x_test, levy(x_test)


def authors_data():
    """The authors' dataset: NumPy's legacy global generator seeded with 0
    draws the inputs, then the noise. The global state is restored after."""
    state = np.random.get_state()
    try:
        np.random.seed(0)
        x_train = np.random.uniform(-10.0, 10.0, size=(SAMPLES, 1))
        noise = np.random.normal(0.0, NOISE, size=(SAMPLES, 1))
    finally:
        np.random.set_state(state)
    return (x_train, levy(x_train) + noise) + test_grid()


def fresh_data(seed):
    """A dataset of its own for `seed`, drawn with np.random.default_rng."""
    rng = np.random.default_rng(seed)
    x_train = rng.uniform(-10.0, 10.0, size=(SAMPLES, 1))
    y_train = levy(x_train) + rng.normal(0.0, NOISE, size=(SAMPLES, 1))
    return (x_train, y_train) + test_grid()


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


def train(method, lr, data, seed, args):
    """Trains one model; returns its test RMSE, its prediction on the test
    grid and the number of steps taken."""
    x_train, y_train, x_test, y_test = (np.asarray(a, dtype=args.dtype) for a in data)
    keras.utils.set_random_seed(seed)
    model = build(method)
    model.compile(keras.optimizers.Adam(lr), loss="mean_absolute_error")
    history = model.fit(
        x_train,
        y_train,
        batch_size=len(x_train),
        epochs=args.epochs,
        verbose=0,
        callbacks=[
            keras.callbacks.ReduceLROnPlateau("loss", factor=0.1, patience=args.patience),
            keras.callbacks.EarlyStopping("loss", patience=args.stop_patience, restore_best_weights=True),
            EpochLine(f"{method} seed {seed}", args.epochs, every=2000),
        ],
    )
    prediction = np.asarray(model.predict(x_test, batch_size=len(x_test), verbose=0), dtype="float64")
    return float(np.sqrt(np.mean((prediction - y_test) ** 2))), prediction, len(history.history["loss"])


def markdown_table(results, seeds):
    first, last = seeds[0], seeds[-1]
    lines = [
        "| method | lr | paper / notebook (one run, authors' dataset) "
        "| authors' code, 10 initial seeds, authors' dataset "
        f"| ours, authors' dataset, initial seeds {first} to {last} "
        "| authors' code, datasets 0 to 9 "
        f"| ours, fresh datasets {first} to {last} |",
        "|---|---|---|---|---|---|---|",
    ]
    for method, metrics in results.items():
        cells = [
            method,
            f"{metrics['lr']['median']:g}",
            f"{NOTEBOOK[method]:.3f}" if method in NOTEBOOK else "-",
            AUTHORS_CODE_INIT_SEEDS.get(method, "-"),
            format_summary(metrics[DATASETS["authors"]]) if DATASETS["authors"] in metrics else "-",
            AUTHORS_CODE_DATASETS.get(method, "-"),
            format_summary(metrics[DATASETS["fresh"]]) if DATASETS["fresh"] in metrics else "-",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + (
        "\n\nTest RMSE; our cells: mean ± standard deviation over seeds "
        f"(median, runs that fit: test RMSE below {FITS})."
    )


def plot(runs, curves, path):
    x_train, y_train, x_test, y_test = authors_data()
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 4.5), gridspec_kw={"width_ratios": [3, 2]})
    left.plot(x_test, y_test, "k-", lw=2, label="Levy")
    left.plot(x_train, y_train, "k.", ms=8, label="training data")
    for method, (error, prediction) in curves.items():
        left.plot(x_test, prediction, lw=1.2, color=f"C{METHODS.index(method)}", label=f"{method} (RMSE {error:.3f})")
    left.set(xlabel="x", ylabel="y", title="authors' dataset, first seed")
    left.legend(fontsize=8)
    for offset, (dataset, marker) in zip((-0.15, 0.15), (("authors", "o"), ("fresh", "s"))):
        for i, method in enumerate(METHODS):
            values = runs.get(dataset, {}).get(method, [])
            right.plot([i + offset] * len(values), values, marker, alpha=0.6, color=f"C{i}",
                       label=f"{dataset} datasets" if i == 0 else None, mfc="none" if dataset == "fresh" else None)
    right.axhline(FITS, color="gray", lw=0.8, ls=":")
    right.set_xticks(range(len(METHODS)), METHODS, rotation=20)
    right.set(ylabel="test RMSE", title="every run (o: authors' dataset, □: fresh)")
    figure.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10000, help="full-batch steps at most (one per epoch)")
    parser.add_argument("--patience", type=int, default=500, help="steps without improvement before the rate is divided by 10")
    parser.add_argument("--stop-patience", type=int, default=1000, help="steps without improvement before training stops")
    add_seed_arguments(parser, 5)
    parser.add_argument("--lr", type=float, default=0.01, help="Adam learning rate; GmP gets 10x")
    parser.add_argument("--data", default="authors,fresh", help="comma-separated: authors, fresh")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset of " + ", ".join(METHODS))
    parser.add_argument("--dtype", default="float64", choices=("float32", "float64"))
    parser.add_argument("--output", default="outputs")
    add_docs_argument(parser, "gmp.md")
    args = parser.parse_args(argv)
    datasets = args.data.split(",")
    methods = args.methods.split(",")
    if set(datasets) - set(DATASETS) or set(methods) - set(METHODS):
        parser.error(f"--data takes {', '.join(DATASETS)} and --methods {', '.join(METHODS)}")
    keras.config.set_floatx(args.dtype)
    os.makedirs(args.output, exist_ok=True)
    seeds = seed_list(args)
    rates = {method: 10 * args.lr if method.startswith("GmP") else args.lr for method in methods}
    runs = {dataset: {method: [] for method in methods} for dataset in datasets}
    steps = {dataset: {method: [] for method in methods} for dataset in datasets}
    curves = {}
    start = time.time()
    for dataset in datasets:
        for seed in seeds:
            data = authors_data() if dataset == "authors" else fresh_data(seed)
            for method in methods:
                error, prediction, taken = train(method, rates[method], data, seed, args)
                runs[dataset][method].append(error)
                steps[dataset][method].append(taken)
                print(f"{dataset} data, {method} seed {seed}: test RMSE {error:.3f} after {taken} steps "
                      f"({time.time() - start:.0f} s)", flush=True)
                if dataset == "authors" and seed == seeds[0]:
                    curves[method] = (error, prediction)
    results = {}
    for method in methods:
        results[method] = {"lr": seed_summary([rates[method]])}
        for dataset in datasets:
            results[method][DATASETS[dataset]] = seed_summary(runs[dataset][method], lambda e: e < FITS)
            results[method][DATASETS[dataset].replace("test_rmse", "steps")] = seed_summary(steps[dataset][method])
    table = markdown_table(results, seeds)
    print(f"\nLevy 1-D, {UNITS} ReLU units, {args.dtype}, backend {keras.backend.backend()}, "
          f"{time.time() - start:.0f} s\n")
    print(table)
    path = os.path.join(args.output, "gmp_levy.png")
    plot(runs, curves, path)
    print(f"wrote {path}")
    write_json(args.output, "gmp_levy", results, args, runs=runs)
    if not args.no_docs:
        write_results(
            docs_page("gmp.md"), "gmp_levy",
            results_block("examples/gmp_levy.py", args, table),
        )
    return results


if __name__ == "__main__":
    main()
