"""Timing harness for the benchmarks: train-step time of a keras_lcw model
against its plain Keras counterpart, measured side by side in one process."""

import argparse
import statistics
import time

import keras
import numpy as np


def parse_args(description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--repeats", type=int, default=60, help="timed steps per model")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps per model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--no-docs", action="store_true",
        help="python -m benchmarks: do not write the table into benchmarks/README.md",
    )
    parser.add_argument(
        "--only", default="",
        help="python -m benchmarks: run only these benchmarks, comma-separated "
        "(lcw, gmp, weight_norm, activations), and print their tables without "
        "writing benchmarks/README.md",
    )
    return parser.parse_args()


def _compiled(model):
    model.compile(optimizer="adam", loss="mse", jit_compile="auto")
    return model


def time_train_steps(models, x, y, repeats, warmup):
    """Times `train_on_batch` for each model, interleaving the models step by
    step so that load changes on the machine hit all of them alike.

    Returns one list of step times (seconds) per model.
    """
    models = [_compiled(m) for m in models]
    for _ in range(warmup):
        for model in models:
            model.train_on_batch(x, y)
    times = [[] for _ in models]
    for _ in range(repeats):
        for model, record in zip(models, times):
            start = time.perf_counter()
            model.train_on_batch(x, y)
            record.append(time.perf_counter() - start)
    return times


def compare(name, build_plain, build_candidate, input_shape, batch, args):
    """Returns a row: the candidate's step-time ratios to the plain model."""
    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    x = rng.normal(size=(batch,) + tuple(input_shape)).astype("float32")
    plain, candidate = build_plain(), build_candidate()
    y = np.asarray(keras.ops.convert_to_numpy(plain(x)))
    plain_times, candidate_times = time_train_steps(
        [plain, candidate], x, np.zeros_like(y), args.repeats, args.warmup
    )
    ratios = [c / p for c, p in zip(candidate_times, plain_times)]
    return {
        "name": name,
        "plain_ms": 1e3 * statistics.median(plain_times),
        "candidate_ms": 1e3 * statistics.median(candidate_times),
        "ratio": statistics.median(candidate_times) / statistics.median(plain_times),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
    }


def markdown_table(rows):
    """The rows of `compare` as a markdown table."""
    lines = [
        "| comparison | plain ms | keras_lcw ms | ratio | step ratio min | step ratio max |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['plain_ms']:.2f} | {r['candidate_ms']:.2f} | "
            f"{r['ratio']:.3f} | {r['ratio_min']:.3f} | {r['ratio_max']:.3f} |"
        )
    return "\n".join(lines)


def print_table(title, rows):
    print(f"\n{title} (backend {keras.backend.backend()}, train step, median)\n")
    print(markdown_table(rows))
