#!/usr/bin/env bash
# Sets up .venv (if needed) and runs the full test suite once per backend.
# Usage: bash scripts/test.sh [pytest arguments...]
# Tests run on as many worker processes as there are CPUs (pytest-xdist);
# pass -n 0 to run them in one process.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
# ci/constraints.txt pins torch to 2.13.0, whose CPU build pip takes from
# the local wheel cache where there is one; a bare `torch` requirement pulls
# a multi-GB CUDA build on Linux.
python -m pip install --quiet --no-compile -c ci/constraints.txt -e ".[test]"
# pip byte-compiles what it installs on one core; compileall does the same on
# all of them, less the packages' own test suites (a sixth of the code),
# which nothing here imports. A file that does not compile on this Python (a
# PyTorch test helper in newer syntax) is left uncompiled, as pip leaves it.
python -m compileall -q -j 0 -x '/tests/|/keras/src/.*_test\.py$' \
    "$(python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" > /dev/null || true

# JAX compiles every distinct program of the suite; the many tiny models the
# tests build repeat across tests, workers and the processes the tests
# start. A compilation cache for this run alone compiles each one once (it
# is keyed by the program, so a hit is the same executable).
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
export JAX_COMPILATION_CACHE_DIR="$cache"
export JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0
export JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES=0
# Most of those programs run for a step or two, so compiling them costs more
# than running them: XLA's CPU backend (used by JAX, and by TensorFlow for
# jit_compile=True) compiles faster without LLVM's optimizations and with
# its older emitter of fused loops (a tiny program: 19 ms against 27 ms
# with the first flag alone), and the suite then takes a fifth less time on
# JAX. The results are the same computation; only the generated code is
# slower.
export XLA_FLAGS="${XLA_FLAGS:+$XLA_FLAGS }--xla_backend_optimization_level=0 --xla_cpu_use_fusion_emitters=false"

status=0
for backend in tensorflow jax torch; do
    echo "=== KERAS_BACKEND=$backend"
    start=$SECONDS
    threads=()
    if [ "$backend" = torch ] && [ -z "${OMP_NUM_THREADS:-}" ]; then
        # Every test worker already has a core of its own; PyTorch's
        # intra-op pool, one thread per core in each worker, then only
        # contends with the other workers for the same cores.
        threads=(OMP_NUM_THREADS=1)
    fi
    env "${threads[@]}" KERAS_BACKEND=$backend python -m pytest -q -p no:cacheprovider -n auto --dist worksteal "$@" || status=1
    echo "=== KERAS_BACKEND=$backend took $((SECONDS - start)) s"
done
exit $status
