"""The paper's claim in small, through the shipped example."""

import json
import os
import subprocess
import sys

import pytest

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "examples", "lcw_deep_sigmoid.py")


@pytest.mark.slow
@pytest.mark.backends("jax")
def test_deep_sigmoid_trains_with_lcw_and_not_plain(tmp_path):
    command = [
        sys.executable, EXAMPLE, "--depth", "20", "--epochs", "6",
        "--models", "plain,lcw_dense", "--seeds", "1", "--log-every", "3", "--output", str(tmp_path), "--no-docs",
    ]
    result = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ, KERAS_BACKEND="jax"))
    assert result.returncode == 0, result.stderr[-3000:]
    with open(tmp_path / "lcw_deep_sigmoid.json") as f:
        results = json.load(f)["results"]
    assert (tmp_path / "lcw_deep_sigmoid.png").stat().st_size > 0
    # Ten classes: chance is 0.1.
    assert results["plain"]["val_accuracy"]["runs"] == 1
    assert results["plain"]["val_accuracy"]["mean"] < 0.2
    assert results["lcw_dense"]["val_accuracy"]["mean"] > 0.6
