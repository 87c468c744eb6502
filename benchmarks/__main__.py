"""Runs every benchmark on the current backend: python -m benchmarks"""

from benchmarks import bench_activations
from benchmarks import bench_gmp
from benchmarks import bench_lcw

for benchmark in (bench_lcw, bench_gmp, bench_activations):
    benchmark.main()
