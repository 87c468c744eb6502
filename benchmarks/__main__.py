"""Runs every benchmark on the current backend: python -m benchmarks"""

from benchmarks import bench_activations
from benchmarks import bench_gmp
from benchmarks import bench_lcw
from benchmarks import bench_weight_norm

for benchmark in (bench_lcw, bench_gmp, bench_weight_norm, bench_activations):
    benchmark.main()
