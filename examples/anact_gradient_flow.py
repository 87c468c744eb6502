"""Gradient flow through a deep MLP with and without ANAct, on digits.

A 30-layer MLP of width 64 (LeCun-normal Dense kernels) with swish and
tanh, bare, with keras_lcw.ANAct of each (the default configuration), and
with `ANAct.from_preset("published")` of each (the public reading of the
paper). At initialization, for the first seed, on one training batch with
training-mode statistics, it measures per layer the second moment of the
preactivations z and of the cross-entropy gradient dL/dz, plots them to
OUTPUT/anact_gradient_flow.png and reports their spread across layers
(max / min). It then trains every variant on scikit-learn's bundled digits
from each of `--seeds` seeds (the seed sets the data split and the initial
weights), and reports the final accuracies as mean ± standard deviation
(median, runs that succeed: validation accuracy above 0.5). It writes
OUTPUT/anact_gradient_flow.json,

    {"results": {VARIANT: {"val_accuracy": SUMMARY,
                           "train_accuracy": SUMMARY}},
     "spread": {VARIANT: {"forward": ..., "backward": ...}}, ...}

with each SUMMARY from `common.seed_summary`, and the table into
docs/anact.md (not with --no-docs).

The moments come from `keras_lcw.diagnostics.signal_statistics`, with a
`GradientProbe` on every preactivation.

Usage: KERAS_BACKEND=jax python examples/anact_gradient_flow.py
    [--seeds 5] [--seed 0] [--epochs 10] [--output outputs] [--no-docs]
"""

import argparse
import multiprocessing
import os
import time

VARIANTS = (
    "swish",
    "ANAct(swish)",
    "published ANAct(swish)",
    "tanh",
    "ANAct(tanh)",
    "published ANAct(tanh)",
)


def make_layer(variant):
    """The activation layer of a variant name."""
    import keras

    import keras_lcw

    if "(" not in variant:
        return keras.layers.Activation(variant)
    activation = variant[variant.index("(") + 1 : -1]
    if variant.startswith("published "):
        return keras_lcw.ANAct.from_preset("published", activation)
    return keras_lcw.ANAct(activation)


def build(new_activation, depth, width, seed, probe_batch=None):
    """The MLP, with `new_activation()` after every hidden Dense layer; with
    `probe_batch`, a keras_lcw.diagnostics.GradientProbe on every
    preactivation (the same initial weights for the same seed)."""
    import keras

    import keras_lcw

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((64,))
    h = inputs
    for _ in range(depth):
        h = keras.layers.Dense(width, kernel_initializer="lecun_normal")(h)
        if probe_batch is not None:
            h = keras_lcw.diagnostics.GradientProbe(probe_batch)(h)
        h = new_activation()(h)
    outputs = keras.layers.Dense(10, activation="softmax")(h)
    return keras.Model(inputs, outputs)


def layer_moments(variant, depth, width, seed):
    """Per-layer E[z^2] and E[(dL/dz)^2] at initialization, on 256 training
    images."""
    import keras_lcw
    from common import load_digits

    x_train, _, y_train, _ = load_digits(seed, standardize=True)
    x, y = x_train[:256], y_train[:256]
    model = build(lambda: make_layer(variant), depth, width, seed, probe_batch=len(x))
    stats = keras_lcw.diagnostics.signal_statistics(
        model, x, y, "sparse_categorical_crossentropy"
    )
    return (
        [float(v) for v in stats["forward_second_moment"]],
        [float(v) for v in stats["backward_second_moment"]],
    )


def fit_on_digits(model, seed, epochs, batch_size):
    """Fits `model` with Adam 1e-3 on the digits split of `seed`; returns
    the final train and validation accuracies and the seconds it took."""
    import keras

    from common import load_digits

    # Standardized pixels: the first layer then sees unit second moments.
    x_train, x_val, y_train, y_val = load_digits(seed, standardize=True)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(
        x_train, y_train, validation_data=(x_val, y_val), epochs=epochs,
        batch_size=batch_size, verbose=0,
    )
    return {
        "train_accuracy": float(history.history["accuracy"][-1]),
        "val_accuracy": float(history.history["val_accuracy"][-1]),
        "seconds": time.perf_counter() - start,
    }


def train(job):
    """Trains one (variant, seed); returns its final accuracies."""
    variant, seed, epochs, depth, width, batch_size = job
    model = build(lambda: make_layer(variant), depth, width, seed)
    result = {"variant": variant, "seed": seed, **fit_on_digits(model, seed, epochs, batch_size)}
    print(
        f"  {variant:<24} seed {seed}: train {result['train_accuracy']:.3f}  "
        f"val {result['val_accuracy']:.3f}  ({result['seconds']:.0f} s)",
        flush=True,
    )
    return result


def one_thread_per_process():
    # One thread per process: the runs go side by side.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")


def run_jobs(train, jobs, processes):
    """Yields `train(job)` for each job, in order, as the runs finish: in
    this process, or in `processes` worker processes of one thread each."""
    if processes <= 1:
        yield from map(train, jobs)
        return
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes, initializer=one_thread_per_process) as pool:
        yield from pool.imap(train, jobs, chunksize=1)


def succeeded(accuracy):
    return accuracy > 0.5


def add_run_arguments(parser):
    """The seeds, epochs and model size of a run of the deep MLP."""
    from common import add_seed_arguments

    add_seed_arguments(parser, 5)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--depth", type=int, default=30)
    parser.add_argument("--width", type=int, default=64)


def main():
    from common import add_docs_argument
    from common import seed_list

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_arguments(parser)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--jobs", type=int, default=1, help="training processes side by side")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset of " + ", ".join(VARIANTS))
    parser.add_argument("--output", default="outputs")
    add_docs_argument(parser, "anact.md")
    args = parser.parse_args()
    variants = args.variants.split(",")
    if set(variants) - set(VARIANTS):
        parser.error(f"unknown --variants {sorted(set(variants) - set(VARIANTS))}; allowed: {', '.join(VARIANTS)}")
    seeds = seed_list(args)
    moments = {name: layer_moments(name, args.depth, args.width, seeds[0]) for name in variants}
    jobs = [
        (name, seed, args.epochs, args.depth, args.width, args.batch_size)
        for name in variants
        for seed in seeds
    ]
    runs = list(run_jobs(train, jobs, args.jobs))
    report(args, seeds, moments, runs)


def report(args, seeds, moments, runs):
    import keras
    import matplotlib
    import numpy as np

    from common import docs_page
    from common import format_summary
    from common import results_block
    from common import seed_summary
    from common import write_json
    from common import write_results

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results, spread = {}, {}
    for name in moments:
        own = [r for r in runs if r["variant"] == name]
        results[name] = {
            key: seed_summary([r[key] for r in own], succeeded)
            for key in ("val_accuracy", "train_accuracy")
        }
        forward, backward = (np.array(m) for m in moments[name])
        spread[name] = {
            "forward": float(forward.max() / forward.min()),
            "backward": float(backward.max() / backward.min()),
        }
    write_json(
        args.output, "anact_gradient_flow", results, args,
        backend=keras.backend.backend(), seeds=seeds,
        success="validation accuracy above 0.5", spread=spread,
        moments=moments, runs=runs,
    )
    lines = [
        "| activation | E[z^2] spread | E[g^2] spread | train acc | val acc |",
        "|---|---|---|---|---|",
    ]
    for name in moments:
        lines.append(
            f"| {name} | {spread[name]['forward']:.3g} | {spread[name]['backward']:.3g} | "
            f"{format_summary(results[name]['train_accuracy'])} | "
            f"{format_summary(results[name]['val_accuracy'])} |"
        )
    table = "\n".join(lines)
    print(f"\nbackend {keras.backend.backend()}, {args.depth} x Dense({args.width}), Adam 1e-3, "
          f"{args.epochs} epochs, seeds {seeds[0]} to {seeds[-1]}")
    print(table)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    layers = np.arange(1, args.depth + 1)
    for name, (forward, backward) in moments.items():
        style = "-" if "ANAct" in name else "--"
        axes[0].semilogy(layers, forward, style, label=name)
        axes[1].semilogy(layers, backward, style, label=name)
    axes[0].set(xlabel="layer", ylabel="E[z^2]", title="forward: preactivation second moment")
    axes[1].set(xlabel="layer", ylabel="E[(dL/dz)^2]", title="backward: gradient second moment")
    axes[1].legend()
    png = os.path.join(args.output, "anact_gradient_flow.png")
    fig.savefig(png, dpi=120, bbox_inches="tight")
    print(f"wrote {png}")
    if not args.no_docs:
        note = (
            f"Spreads (max / min across layers) at initialization, seed {seeds[0]}; "
            f"accuracies after {args.epochs} epochs over {len(seeds)} seeds: mean ± "
            f"standard deviation (median, runs that succeed, i.e. reach a "
            f"validation accuracy above 0.5).\n\n"
        )
        write_results(
            docs_page("anact.md"), "anact_gradient_flow",
            results_block("examples/anact_gradient_flow.py", args, note + table),
        )


if __name__ == "__main__":
    main()
