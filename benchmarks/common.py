"""Timing harness for the benchmarks: train-step time of a keras_lcw model
against its plain Keras counterpart, measured side by side in one process."""

import argparse
import re
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
        "--only", default=None,
        help="python -m benchmarks: the benchmarks to run, comma-separated "
        "(lcw, gmp, weight_norm, activations); the rows of the others are kept "
        "in benchmarks/README.md",
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


def time_fit_steps(models, x, y, steps, repeats, warmup):
    """Times `fit` over `steps` batches (one epoch, the batch `x` repeated)
    for each model, interleaved as `time_train_steps`: the step as `fit`
    runs it, without the per-call work of `train_on_batch` (which on JAX
    copies every variable in and out of the compiled step at each call).

    Returns one list of times per step (seconds) per model: each entry is
    one epoch's time over `steps`.
    """
    models = [_compiled(m) for m in models]
    batch = x.shape[0]
    xs, ys = np.concatenate([x] * steps), np.concatenate([y] * steps)

    def epoch(model):
        model.fit(xs, ys, batch_size=batch, epochs=1, shuffle=False, verbose=0)

    for _ in range(warmup):
        for model in models:
            epoch(model)
    times = [[] for _ in models]
    for _ in range(repeats):
        for model, record in zip(models, times):
            start = time.perf_counter()
            epoch(model)
            record.append((time.perf_counter() - start) / steps)
    return times


def compare(name, build_plain, build_candidate, input_shape, batch, args, fit_steps=None):
    """Returns a row: the candidate's step-time ratios to the plain model.

    With `fit_steps`, the steps are timed inside `fit` (`time_fit_steps`),
    `args.repeats` epochs of `fit_steps` steps each; else one
    `train_on_batch` at a time (`time_train_steps`).
    """
    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    x = rng.normal(size=(batch,) + tuple(input_shape)).astype("float32")
    plain, candidate = build_plain(), build_candidate()
    y = np.asarray(keras.ops.convert_to_numpy(plain(x)))
    if fit_steps:
        plain_times, candidate_times = time_fit_steps(
            [plain, candidate], x, np.zeros_like(y), fit_steps, args.repeats,
            args.warmup,
        )
    else:
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


TABLE_HEADER = [
    "| comparison | plain ms | keras_lcw ms | ratio | step ratio min | step ratio max |",
    "|---|---|---|---|---|---|",
]


def accelerator():
    """The name of the GPU the backend computes on, or None on the CPU."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        return None if device.platform == "cpu" else device.device_kind
    if backend == "torch":
        import torch

        return torch.cuda.get_device_name() if torch.cuda.is_available() else None
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return tf.config.experimental.get_device_details(gpus[0]).get("device_name", gpus[0].name) if gpus else None
    return None


def markdown_rows(rows):
    """The rows of `compare` as markdown table lines."""
    return [
        f"| {r['name']} | {r['plain_ms']:.2f} | {r['candidate_ms']:.2f} | "
        f"{r['ratio']:.3f} | {r['ratio_min']:.3f} | {r['ratio_max']:.3f} |"
        for r in rows
    ]


def markdown_table(rows):
    """The rows of `compare` as a markdown table."""
    return "\n".join(TABLE_HEADER + markdown_rows(rows))


def _row_name(line):
    return line.split("|")[1].strip()


def merged_table(old_block, groups):
    """The table of `old_block` (the text between a backend's markers) with
    the rows of each benchmark in `groups` (name -> new table lines)
    replacing that benchmark's old rows, matched by comparison name; a
    benchmark none of whose rows is there is appended."""
    old_rows = [
        line for line in old_block.splitlines()
        if line.startswith("| ") and not line.startswith(TABLE_HEADER[0])
    ]
    lines = list(old_rows)
    for new_lines in groups.values():
        names = {_row_name(line) for line in new_lines}
        matched = [i for i, line in enumerate(lines) if _row_name(line) in names]
        at = matched[0] if matched else len(lines)
        lines = [line for i, line in enumerate(lines) if i not in matched]
        lines[at:at] = new_lines
    return "\n".join(TABLE_HEADER + lines)


_PARTIAL_RUN = re.compile(
    r"Measured on (?:(?!Measured on).)*? --only [^`]*`: the rows of ([a-z_, ]+)\."
)
_KEPT = "The other rows are kept from the run before. "


def merged_header(old_header, new_sentence, selected):
    """The provenance line of a table after a run of the benchmarks
    `selected`, which `new_sentence` describes, over a table whose line was
    `old_header`: the new sentence, then each earlier `--only` run's
    sentence for the rows it still gives, then the last full run's."""
    partial = []
    for match in _PARTIAL_RUN.finditer(old_header):
        names = [name.strip() for name in match.group(1).split(",")]
        remaining = [name for name in names if name not in selected]
        if remaining:
            sentence = match.group(0)
            partial.append(
                sentence[: sentence.rindex("the rows of ")]
                + f"the rows of {', '.join(remaining)}."
            )
    if _KEPT in old_header:
        full = old_header[old_header.index(_KEPT) + len(_KEPT):]
    else:
        full = "" if partial or _PARTIAL_RUN.search(old_header) else old_header
    return " ".join([new_sentence] + partial + ([_KEPT + full] if full else []))


def print_table(title, rows):
    print(f"\n{title} (backend {keras.backend.backend()}, train step, median)\n")
    print(markdown_table(rows))
