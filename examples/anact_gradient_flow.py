"""Gradient flow through a deep MLP with and without ANAct, on digits.

A 30-layer MLP of width 64 (LeCun-normal Dense kernels) with swish, tanh,
keras_lcw.ANAct of each (adaptive), and static ANAct(swish). At
initialization, on one training batch with training-mode statistics, it
measures per layer the second moment of the preactivations z and of the
cross-entropy gradient dL/dz, plots them to OUTPUT/anact_gradient_flow.png
and prints their spread across layers (max / min). It then trains every
variant on scikit-learn's bundled digits, prints the accuracies and writes
the table into docs/anact.md (not with --no-docs).

The moments come from `keras_lcw.diagnostics.signal_statistics`, with a
`GradientProbe` on every preactivation.

Usage: KERAS_BACKEND=jax python examples/anact_gradient_flow.py [--epochs 20]
"""

import argparse
import os
import time

import keras
import matplotlib
import numpy as np

import keras_lcw
from common import EpochLine
from common import add_docs_argument
from common import docs_page
from common import load_digits
from common import results_block
from common import write_results

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

VARIANTS = {
    "swish": lambda: keras.layers.Activation("swish"),
    "ANAct(swish)": lambda: keras_lcw.ANAct("swish"),
    "static ANAct(swish)": lambda: keras_lcw.ANAct("swish", adaptive=False),
    "tanh": lambda: keras.layers.Activation("tanh"),
    "ANAct(tanh)": lambda: keras_lcw.ANAct("tanh"),
}


def build(activation, depth, width, seed, probe_batch=None):
    """The MLP; with `probe_batch`, a keras_lcw.diagnostics.GradientProbe on
    every preactivation (the same initial weights for the same seed)."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((64,))
    h = inputs
    for _ in range(depth):
        h = keras.layers.Dense(width, kernel_initializer="lecun_normal")(h)
        if probe_batch is not None:
            h = keras_lcw.diagnostics.GradientProbe(probe_batch)(h)
        h = activation()(h)
    outputs = keras.layers.Dense(10, activation="softmax")(h)
    return keras.Model(inputs, outputs)


def layer_moments(activation, depth, width, seed, x, y):
    model = build(activation, depth, width, seed, probe_batch=len(x))
    stats = keras_lcw.diagnostics.signal_statistics(
        model, x, y, "sparse_categorical_crossentropy"
    )
    return stats["forward_second_moment"], stats["backward_second_moment"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--depth", type=int, default=30)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="outputs")
    add_docs_argument(parser, "anact.md")
    args = parser.parse_args()
    # Standardized pixels: the first layer then sees unit second moments.
    x_train, x_val, y_train, y_val = load_digits(args.seed, standardize=True)
    moments, results = {}, {}
    for name, activation in VARIANTS.items():
        moments[name] = layer_moments(activation, args.depth, args.width, args.seed, x_train[:256], y_train[:256])
        model = build(activation, args.depth, args.width, args.seed)
        model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
        start = time.perf_counter()
        history = model.fit(
            x_train, y_train, validation_data=(x_val, y_val), epochs=args.epochs,
            batch_size=args.batch_size, verbose=0, callbacks=[EpochLine(name, args.epochs)],
        )
        results[name] = (history.history["accuracy"][-1], history.history["val_accuracy"][-1], time.perf_counter() - start)
    print(f"\nbackend {keras.backend.backend()}, {args.depth} x Dense({args.width}), Adam 1e-3, {args.epochs} epochs")
    print("spread = max / min across layers at initialization (training-mode statistics)")
    print(f"{'activation':<20} {'E[z^2] spread':>14} {'E[g^2] spread':>14} {'train acc':>9} {'val acc':>8} {'seconds':>8}")
    for name, (forward, backward) in moments.items():
        train, val, seconds = results[name]
        print(
            f"{name:<20} {forward.max() / forward.min():>14.3g} {backward.max() / backward.min():>14.3g} "
            f"{train:>9.3f} {val:>8.3f} {seconds:>8.1f}"
        )
    os.makedirs(args.output, exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    layers = np.arange(1, args.depth + 1)
    for name, (forward, backward) in moments.items():
        style = "-" if "ANAct" in name else "--"
        axes[0].semilogy(layers, forward, style, label=name)
        axes[1].semilogy(layers, backward, style, label=name)
    axes[0].set(xlabel="layer", ylabel="E[z^2]", title="forward: preactivation second moment")
    axes[1].set(xlabel="layer", ylabel="E[(dL/dz)^2]", title="backward: gradient second moment")
    axes[1].legend()
    path = os.path.join(args.output, "anact_gradient_flow.png")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    print(f"wrote {path}")
    if not args.no_docs:
        lines = [
            "| activation | E[z^2] spread | E[g^2] spread | train acc | val acc | seconds |",
            "|---|---|---|---|---|---|",
        ]
        for name, (forward, backward) in moments.items():
            train, val, seconds = results[name]
            lines.append(
                f"| {name} | {forward.max() / forward.min():.3g} | {backward.max() / backward.min():.3g} | "
                f"{train:.3f} | {val:.3f} | {seconds:.1f} |"
            )
        write_results(
            docs_page("anact.md"), "anact_gradient_flow",
            results_block("examples/anact_gradient_flow.py", args, "\n".join(lines)),
        )


if __name__ == "__main__":
    main()
