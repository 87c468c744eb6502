"""Distributed training of keras_lcw layers matches a single-device run.

The setups of a backend run `tests.distributed_training` in one fresh
process: the fake devices must be configured before the backend starts, and
the setups share the single-device reference run. The model holds every
layer listed in `tests.distributed_training.LAYERS`.
"""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(setups):
    result = subprocess.run(
        [sys.executable, "-m", "tests.distributed_training", *setups],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-5000:]
    for setup in setups:
        assert f"{setup}: max weight difference" in result.stdout


@pytest.mark.slow
@pytest.mark.backends("jax")
def test_jax_distribution_matches_one_device():
    # DataParallel over 4 devices, then ModelParallel on a 2 x 2 mesh that
    # shards the LCW and GmP parameters along the output units (the script
    # checks that they are sharded).
    _run(["jax_data_parallel", "jax_model_parallel"])


@pytest.mark.slow
@pytest.mark.backends("tensorflow")
def test_mirrored_strategy_matches_one_device():
    # The parameterized layers alone; every layer, InputMeanNormalization
    # synchronized; and each replica's batch mean with and without it.
    _run(
        [
            "tf_mirrored_parameterized",
            "tf_mirrored_synchronized",
            "tf_mirrored_batch_mean",
        ]
    )
