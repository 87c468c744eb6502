"""What the examples share: the digits data, a progress line per epoch, and
the results tables they write into the docs pages."""

import datetime
import json
import os
import platform
import shlex
import time
from importlib import metadata

import keras
import numpy as np

# The repository's docs/ folder, wherever the script is run from.
DOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs")


def load_digits(seed, images=False, standardize=False):
    """scikit-learn's bundled 8x8 digits (offline), split 1400 / 397.

    Returns `(x_train, x_val, y_train, y_val)`, stratified by class. Pixels are
    scaled to [0, 1], or standardized per pixel with `standardize`; `images`
    gives `(8, 8, 1)` images instead of 64-vectors.
    """
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    digits = sklearn_digits()
    x = (digits.images if images else digits.data) / 16.0
    if standardize:
        x = (x - x.mean(0)) / (x.std(0) + 1e-3)
    x = x.astype("float32")
    if images:
        x = x[..., None]
    return train_test_split(
        x,
        digits.target.astype("int32"),
        train_size=1400,
        random_state=seed,
        stratify=digits.target,
    )


class EpochLine(keras.callbacks.Callback):
    """Prints the logged metrics every `every` epochs and at the last one,
    and records each epoch's wall time in `seconds`."""

    def __init__(self, label, epochs, every=1):
        super().__init__()
        self.label, self.epochs, self.every = label, epochs, every
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)
        if (epoch + 1) % self.every and epoch + 1 != self.epochs:
            return
        metrics = "  ".join(
            f"{name} {float(np.asarray(value)):.4f}"
            for name, value in (logs or {}).items()
        )
        print(
            f"  {self.label:<20} epoch {epoch + 1:>4}/{self.epochs}  {metrics}",
            flush=True,
        )


def docs_page(name):
    """The path of the docs page `name` (e.g. "lcw.md") of this repository."""
    return os.path.normpath(os.path.join(DOCS, name))


def _markers(name):
    """The comments that enclose the results table `name` in a page."""
    return f"<!-- results:{name} -->", f"<!-- /results:{name} -->"


def read_results(doc_path, name):
    """The text between the markers of the results table `name` in a page
    (`write_results`), or "" where the page has no such markers."""
    begin, end = _markers(name)
    with open(doc_path, encoding="utf-8") as f:
        text = f.read()
    if begin not in text or end not in text:
        return ""
    return text[text.index(begin) + len(begin):text.index(end)]


def write_results(doc_path, name, markdown):
    """Replaces the text between the markers of results table `name` in a
    docs page with `markdown`.

    The page must hold exactly one `<!-- results:NAME -->` and, after it,
    exactly one `<!-- /results:NAME -->`; the text between them is replaced
    and everything else is kept. Nothing is created: a missing page or
    missing markers raise, and the page is then left as it was.
    """
    begin, end = _markers(name)
    with open(doc_path, encoding="utf-8") as f:
        text = f.read()
    counts = (text.count(begin), text.count(end))
    if counts != (1, 1):
        raise ValueError(
            f"{doc_path} must contain {begin!r} and {end!r} once each to "
            f"receive the results table {name!r}; found them {counts[0]} and "
            f"{counts[1]} times."
        )
    start, stop = text.index(begin) + len(begin), text.index(end)
    if stop < start:
        raise ValueError(f"In {doc_path}, {end!r} comes before {begin!r}.")
    text = text[:start] + "\n" + markdown.strip("\n") + "\n" + text[stop:]
    with open(doc_path, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote the results table {name!r} into {doc_path}")


def machine_line():
    """Where and when a measurement ran: processor, CPU count, backend and
    Keras versions, and today's date, as one sentence."""
    machine = platform.machine()
    processor = platform.processor()
    if processor and processor != machine:
        machine = f"{processor} ({machine})"
    backend = keras.backend.backend()
    try:
        backend += " " + metadata.version(backend)
    except metadata.PackageNotFoundError:
        pass
    return (
        f"Measured on {machine or 'an unknown processor'}, {os.cpu_count()} "
        f"CPUs, backend {backend}, Keras {keras.__version__}, on "
        f"{datetime.date.today().isoformat()}"
    )


def command_line(script, args, skip=("output", "no_docs", "log_every")):
    """The command that reproduces a run: `script` with every argument of
    `args` (an argparse namespace) but those in `skip`, each value quoted for
    a POSIX shell (`--methods 'plain,batch norm'` stays one argument)."""
    options = " ".join(
        f"--{key.replace('_', '-')} {shlex.quote(str(value))}"
        for key, value in vars(args).items()
        if key not in skip
    )
    return f"KERAS_BACKEND={keras.backend.backend()} python {script} {options}".strip()


def results_block(script, args, table, machine=None):
    """A results table with the line saying where, when and how it was
    measured (`machine`: a recorded `machine_line()`, by default this
    machine's, today)."""
    return f"{machine or machine_line()}, by `{command_line(script, args)}`:\n\n{table}"


def add_docs_argument(parser, page):
    """Adds `--no-docs` to an example's argument parser."""
    parser.add_argument(
        "--no-docs", action="store_true",
        help=f"do not write the results table into docs/{page}",
    )


def seed_summary(values, succeeded=None):
    """Mean, standard deviation, median, extremes and count of one method's
    results over seeds, as a JSON-ready dict.

    `succeeded` is an optional predicate on one result (e.g.
    `lambda rmse: rmse < 0.7`); with it the dict also holds `successes`,
    the number of runs for which it is true, and `success_fraction`.
    """
    values = np.asarray(values, dtype="float64")
    summary = {
        "runs": int(values.size),
        "mean": float(values.mean()),
        "std": float(values.std(ddof=1)) if values.size > 1 else 0.0,
        "median": float(np.median(values)),
        "min": float(values.min()),
        "max": float(values.max()),
        "values": [float(v) for v in values],
    }
    if succeeded is not None:
        successes = sum(bool(succeeded(v)) for v in values)
        summary["successes"] = successes
        summary["success_fraction"] = successes / values.size
    return summary


def format_summary(summary, digits=3):
    """One table cell: `mean ± std (median m, s/n succeed)`; the success
    count only where the summary has one."""
    cell = (
        f"{summary['mean']:.{digits}f} ± {summary['std']:.{digits}f} "
        f"(median {summary['median']:.{digits}f}"
    )
    if "successes" in summary:
        cell += f", {summary['successes']}/{summary['runs']} succeed"
    return cell + ")"


def add_seed_arguments(parser, seeds):
    """Adds `--seeds N` (how many seeds, `seeds` by default) and `--seed S`
    (the first seed) to an example's argument parser."""
    parser.add_argument(
        "--seeds", type=int, default=seeds,
        help=f"how many seeds to run, S, S+1, ... (default {seeds})",
    )
    parser.add_argument("--seed", type=int, default=0, help="the first seed")


def seed_list(args):
    """The seeds `--seed`, `--seed + 1`, ... of `--seeds` (at least one)."""
    if args.seeds < 1:
        raise SystemExit("--seeds must be at least 1")
    return list(range(args.seed, args.seed + args.seeds))


def write_json(output, example, results, args, **extra):
    """Writes `OUTPUT/<example>.json`: `{"results": results, "args": ...,
    "machine": ...}` (and any `extra` keys), and returns its path."""
    os.makedirs(output, exist_ok=True)
    path = os.path.join(output, f"{example}.json")
    document = {"results": results, "args": vars(args), "machine": machine_line()}
    document.update(extra)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(document, f, indent=1)
    print(f"wrote {path}")
    return path


def summary_table(results, columns, first="method"):
    """A markdown table with one row per method of `results` ({METHOD:
    {METRIC: seed_summary}}) and one column per `(METRIC, heading)` of
    `columns`, each cell `format_summary` of that metric (or "-")."""
    lines = [
        f"| {first} | " + " | ".join(heading for _, heading in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for method, metrics in results.items():
        cells = [
            format_summary(metrics[key]) if key in metrics else "-"
            for key, _ in columns
        ]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_band(axis, curves, label, **style):
    """Plots the per-epoch mean of `curves` (one list per seed, of possibly
    different lengths) with a band from the smallest to the largest value."""
    length = min(len(c) for c in curves)
    values = np.array([c[:length] for c in curves], dtype="float64")
    epochs = np.arange(1, length + 1)
    (line,) = axis.plot(epochs, values.mean(0), label=label, **style)
    if len(curves) > 1:
        axis.fill_between(epochs, values.min(0), values.max(0), color=line.get_color(), alpha=0.15)
    return line
