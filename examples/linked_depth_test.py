"""The linked-neurons depth test, in small, on scikit-learn's digits.

50 Dense layers of 8 units with no normalization, trained with Adam, for
relu, selu and swish and their linked versions (keras_lcw.LinkedReLU,
LinkedSELU, LinkedSwish: each layer's 8 preactivations feed 16 outputs).
Riera and Pujol (arXiv:1712.02609) report, for 51 convolutional layers on
CIFAR-10, ReLU and Swish at chance and linked ReLU and linked SELU learning.

Prints one line per epoch and variant, then a table of final accuracies,
writes the validation curves to OUTPUT/linked_depth_test.png and the table
into docs/linked.md (not with --no-docs).

Usage: KERAS_BACKEND=jax python examples/linked_depth_test.py [--epochs 30]
"""

import argparse
import os
import time

import keras
import matplotlib

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
    "relu": lambda: keras.layers.Activation("relu"),
    "linked relu": keras_lcw.LinkedReLU,
    "selu": lambda: keras.layers.Activation("selu"),
    "linked selu": keras_lcw.LinkedSELU,
    "swish": lambda: keras.layers.Activation("swish"),
    "linked swish": keras_lcw.LinkedSwish,
}


def build(activation, depth, width):
    model = keras.Sequential([keras.Input((64,))])
    for _ in range(depth):
        model.add(keras.layers.Dense(width))
        model.add(activation())
    model.add(keras.layers.Dense(10, activation="softmax"))
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--depth", type=int, default=50)
    parser.add_argument("--width", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="outputs")
    add_docs_argument(parser, "linked.md")
    args = parser.parse_args()
    x_train, x_val, y_train, y_val = load_digits(args.seed)
    results, curves = {}, {}
    for name, activation in VARIANTS.items():
        keras.utils.set_random_seed(args.seed)
        model = build(activation, args.depth, args.width)
        model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
        start = time.perf_counter()
        history = model.fit(
            x_train, y_train, validation_data=(x_val, y_val), epochs=args.epochs,
            batch_size=args.batch_size, verbose=0, callbacks=[EpochLine(name, args.epochs)],
        )
        seconds = time.perf_counter() - start
        curves[name] = history.history["val_accuracy"]
        results[name] = (history.history["accuracy"][-1], curves[name][-1], model.count_params(), seconds)
    print(f"\nbackend {keras.backend.backend()}, {args.depth} x Dense({args.width}), Adam 1e-3, {args.epochs} epochs, no normalization")
    print(f"{'activation':<13} {'train acc':>9} {'val acc':>8} {'params':>7} {'seconds':>8}")
    for name, (train, val, params, seconds) in results.items():
        print(f"{name:<13} {train:>9.3f} {val:>8.3f} {params:>7} {seconds:>8.1f}")
    os.makedirs(args.output, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, curve in curves.items():
        ax.plot(range(1, len(curve) + 1), curve, label=name, linestyle="--" if "linked" not in name else "-")
    ax.axhline(0.1, color="gray", linewidth=0.8)
    ax.set(xlabel="epoch", ylabel="validation accuracy", title=f"{args.depth} Dense layers of {args.width} units, digits")
    ax.legend()
    path = os.path.join(args.output, "linked_depth_test.png")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    print(f"wrote {path}")
    if not args.no_docs:
        lines = ["| activation | train acc | val acc | params | seconds |", "|---|---|---|---|---|"]
        for name, (train, val, params, seconds) in results.items():
            lines.append(f"| {name} | {train:.3f} | {val:.3f} | {params} | {seconds:.1f} |")
        write_results(
            docs_page("linked.md"), "linked_depth_test",
            results_block("examples/linked_depth_test.py", args, "\n".join(lines)),
        )


if __name__ == "__main__":
    main()
