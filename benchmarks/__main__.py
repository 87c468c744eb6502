"""Runs every benchmark on the current backend: python -m benchmarks

Prints each benchmark's table and writes them all, as one table, into
benchmarks/README.md between the markers of the current backend (not with
--no-docs). The arguments (--repeats, --warmup, --seed) apply to every
benchmark; --only gmp (comma-separated names) runs some of them and only
prints their tables.
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

args = common.parse_args(__doc__.strip().split("\n")[0])
only = [name.strip() for name in args.only.split(",") if name.strip()]
unknown = sorted(set(only) - set(BENCHMARKS))
if unknown:
    raise SystemExit(f"--only: unknown benchmarks {unknown}; choose from {sorted(BENCHMARKS)}")
rows = []
for name, benchmark in BENCHMARKS.items():
    if not only or name in only:
        rows += benchmark.main()
if not args.no_docs and not only:
    examples_common = _examples_common()
    backend = keras.backend.backend()
    examples_common.write_results(
        os.path.join(ROOT, "benchmarks", "README.md"),
        f"benchmarks-{backend}",
        f"{examples_common.machine_line()}, by `KERAS_BACKEND={backend} "
        f"python -m benchmarks --repeats {args.repeats} --warmup {args.warmup} "
        f"--seed {args.seed}`:\n\n{common.markdown_table(rows)}",
    )
