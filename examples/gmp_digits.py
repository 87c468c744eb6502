"""A small CNN on scikit-learn's digits: standard vs GmP at two learning rates.

Two 3x3 ReLU convolutions and a plain softmax classifier, trained with Adam
at a base learning rate and at 10x. "standard" uses Conv2D; "weight norm"
uses keras_lcw.WeightNormConv2D (w = g v / |v|, a baseline of the GmP
paper); "GmP" uses
InputMeanNormalization + GmPConv2D for both convolutions (W. Chen and H. Ge,
"Neural Characteristic Activation Analysis and Geometric Parameterization
for ReLU Networks", NeurIPS 2024, arXiv:2305.15912), whose claim is that
training stays stable at the larger rate. Prints a table of validation
accuracy and loss, writes a PNG of the loss curves to OUTPUT/gmp_digits.png
and the table into docs/gmp.md (not with --no-docs).

    KERAS_BACKEND=jax python examples/gmp_digits.py --epochs 30
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.003, help="the base Adam learning rate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="outputs")
    add_docs_argument(parser, "gmp.md")
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be at least 2: the table reports the largest training loss after epoch 1")
    os.makedirs(args.output, exist_ok=True)
    x_train, x_val, y_train, y_val = load_digits(args.seed, images=True)

    runs = [
        (method, scale)
        for scale in (1, 10)
        for method in ("standard", "weight norm", "GmP")
    ]
    histories, results = {}, []
    for method, scale in runs:
        lr = scale * args.lr
        label = f"{method} lr {lr:g}"
        keras.utils.set_random_seed(args.seed)
        model = build(method)
        model.compile(keras.optimizers.Adam(lr), "sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile="auto")
        start = time.time()
        history = model.fit(
            x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
            validation_data=(x_val, y_val), verbose=0, callbacks=[EpochLine(label, args.epochs)],
        ).history
        histories[label] = history
        results.append((method, lr, history, time.time() - start))

    print(f"\ndigits CNN, {args.epochs} epochs, Adam, backend {keras.backend.backend()}")
    header = f"{'method':<11} {'lr':>6} {'final val acc':>13} {'best val acc':>12} {'final val loss':>14} {'max train loss':>14} {'time s':>7}"
    print(header)
    print("-" * len(header))
    for method, lr, history, seconds in results:
        print(
            f"{method:<11} {lr:>6g} {history['val_accuracy'][-1]:>13.3f} {max(history['val_accuracy']):>12.3f} "
            f"{history['val_loss'][-1]:>14.4f} {max(history['loss'][1:]):>14.4f} {seconds:>7.1f}"
        )

    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for label, history in histories.items():
        style = "-" if label.startswith("GmP") else "--"
        axes[0].plot(history["loss"], style, label=label)
        axes[1].plot(history["val_loss"], style, label=label)
    for axis, title in zip(axes, ("training loss", "validation loss")):
        axis.set_yscale("log")
        axis.set_xlabel("epoch")
        axis.set_title(title)
        axis.legend()
    path = os.path.join(args.output, "gmp_digits.png")
    figure.savefig(path, dpi=120, bbox_inches="tight")
    print(f"wrote {path}")
    if not args.no_docs:
        lines = [
            "| method | lr | final val acc | best val acc | final val loss | max train loss | time s |",
            "|---|---|---|---|---|---|---|",
        ]
        for method, lr, history, seconds in results:
            lines.append(
                f"| {method} | {lr:g} | {history['val_accuracy'][-1]:.3f} | {max(history['val_accuracy']):.3f} | "
                f"{history['val_loss'][-1]:.4f} | {max(history['loss'][1:]):.4f} | {seconds:.1f} |"
            )
        write_results(
            docs_page("gmp.md"), "gmp_digits",
            results_block("examples/gmp_digits.py", args, "\n".join(lines)),
        )


if __name__ == "__main__":
    main()
