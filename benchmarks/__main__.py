"""Runs every benchmark on the current backend: python -m benchmarks

Prints each benchmark's table and writes them all, as one table, into
benchmarks/README.md between the markers of the current backend, or of the
backend on a GPU where it computes on one (not with --no-docs). The arguments (--repeats, --warmup, --seed) apply to every
benchmark. `--only lcw,weight_norm` runs those benchmarks alone and replaces
only their rows in the table (matched by comparison name), keeping the
others with the line that says how they were measured.
"""

import importlib.util
import os

import keras

from benchmarks import bench_activations
from benchmarks import bench_gmp
from benchmarks import bench_lcw
from benchmarks import bench_weight_norm
from benchmarks import common

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _examples_common():
    """examples/common.py, loaded by path (it is not a package)."""
    path = os.path.join(ROOT, "examples", "common.py")
    spec = importlib.util.spec_from_file_location("keras_lcw_examples_common", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BENCHMARKS = {
    "lcw": bench_lcw,
    "gmp": bench_gmp,
    "weight_norm": bench_weight_norm,
    "activations": bench_activations,
}


def _selected(only):
    if not only:
        return list(BENCHMARKS)
    names = [name.strip() for name in only.split(",") if name.strip()]
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown or not names:
        raise SystemExit(
            f"--only takes names among {', '.join(BENCHMARKS)}; received {only!r}."
        )
    return [name for name in BENCHMARKS if name in names]


args = common.parse_args(__doc__.strip().split("\n")[0])
selected = _selected(args.only)
groups = {name: common.markdown_rows(BENCHMARKS[name].main()) for name in selected}
if not args.no_docs:
    examples_common = _examples_common()
    backend = keras.backend.backend()
    gpu = common.accelerator()
    marker = f"benchmarks-{backend}" + ("-gpu" if gpu else "")
    machine = examples_common.machine_line() + (f", on the GPU {gpu}" if gpu else "")
    path = os.path.join(ROOT, "benchmarks", "README.md")
    command = (
        f"KERAS_BACKEND={backend} python -m benchmarks --repeats {args.repeats} "
        f"--warmup {args.warmup} --seed {args.seed}"
    )
    if len(selected) == len(BENCHMARKS):
        table = "\n".join(common.TABLE_HEADER + [l for g in groups.values() for l in g])
        header = f"{machine}, by `{command}`:"
    else:
        old = examples_common.read_results(path, marker)
        table = common.merged_table(old, groups)
        previous = next(
            (line for line in old.splitlines() if line.startswith("Measured")), ""
        )
        sentence = (
            f"{machine}, by `{command} --only {','.join(selected)}`: the rows "
            f"of {', '.join(selected)}."
        )
        kept = any(line.startswith("| ") for line in old.splitlines())
        header = (
            common.merged_header(previous.strip(), sentence, selected)
            if kept
            else sentence
        )
    examples_common.write_results(path, marker, f"{header}\n\n{table}")
