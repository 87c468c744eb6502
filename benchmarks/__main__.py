"""Runs every benchmark on the current backend: python -m benchmarks

Prints each benchmark's table and writes them all, as one table, into
benchmarks/README.md between the markers of the current backend (not with
--no-docs). The arguments (--repeats, --warmup, --seed) apply to every
benchmark.
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


rows = []
for benchmark in (bench_lcw, bench_gmp, bench_weight_norm, bench_activations):
    rows += benchmark.main()
args = common.parse_args(__doc__.strip().split("\n")[0])
if not args.no_docs:
    examples_common = _examples_common()
    backend = keras.backend.backend()
    examples_common.write_results(
        os.path.join(ROOT, "benchmarks", "README.md"),
        f"benchmarks-{backend}",
        f"{examples_common.machine_line()}, by `KERAS_BACKEND={backend} "
        f"python -m benchmarks --repeats {args.repeats} --warmup {args.warmup} "
        f"--seed {args.seed}`:\n\n{common.markdown_table(rows)}",
    )
