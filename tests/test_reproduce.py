"""examples/reproduce.py: the quick run end to end, and its claim checks."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SCRIPT = os.path.join(ROOT, "examples", "reproduce.py")
EXAMPLES = ("lcw_deep_sigmoid", "linked_depth_test", "gmp_levy", "gmp_digits", "anact_gradient_flow")


def _summary(mean, runs=1):
    return {"runs": runs, "mean": mean, "std": 0.0, "median": mean, "min": mean, "max": mean, "values": [mean] * runs}


def _from_json(tmp_path, name, results):
    (tmp_path / f"{name}.json").write_text(json.dumps({"results": results, "args": {}, "machine": "test"}))
    return subprocess.run(
        [sys.executable, SCRIPT, "--from-json", "--no-docs", "--only", name, "--output", str(tmp_path)],
        capture_output=True, text=True,
    )


# The quick run trains every example; one backend is enough to show the
# script and the claims work end to end, and keeps the suite short: the
# examples' layers are tested on every backend elsewhere. PyTorch runs it
# in about half the time JAX takes, which compiles every model it trains.
@pytest.mark.slow
@pytest.mark.backends("torch")
def test_quick_run_passes_and_writes_every_result(tmp_path):
    result = subprocess.run(
        [sys.executable, SCRIPT, "--quick", "--jobs", "2", "--output", str(tmp_path)],
        capture_output=True, text=True, env=dict(os.environ, KERAS_BACKEND="torch"),
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for name in EXAMPLES:
        with open(tmp_path / f"{name}.json") as f:
            document = json.load(f)
        assert document["machine"] and document["args"]["seeds"] == 1
        assert (tmp_path / f"{name}.png").stat().st_size > 0
    summary = json.loads((tmp_path / "reproduce.json").read_text())
    assert summary["quick"] and summary["problems"] == []
    assert {claim["claim"].split(":")[0] for claim in summary["claims"]} >= {
        "deep sigmoid MLP", "GmP trains at 10x the rate", "ANAct rescues swish",
    }


EXAMPLE_SCRIPT = """
import sys
import sibling  # from the script's folder, as `python script.py` finds it
print("args", sys.argv[1:], sibling.NAME)
print("to stderr", file=sys.stderr)
if sys.argv[1] == "raise":
    raise ValueError("raised")
sys.exit(int(sys.argv[1]) if sys.argv[1].isdigit() else sys.argv[1])
"""

RUN_EXAMPLES = """
import sys, time
sys.path.insert(0, sys.argv[1])
import reproduce
script, fork = sys.argv[2], sys.argv[3] == "fork"
for argument in ("0", "3", "raise", "a message"):
    with open(script + "." + argument + ".log", "w") as stream:
        handle = reproduce.start_example([sys.executable, script, argument, "x y"], stream, fork=fork)
        while handle.poll() is None:
            time.sleep(0.01)
    print(argument, handle.returncode)
"""


# Run from a fresh process: forking a test worker, with its threads, is
# not what reproduce.py does.
@pytest.mark.parametrize("fork", [True, False], ids=["forked", "fresh-interpreter"])
def test_an_example_gets_its_arguments_and_gives_its_output_and_exit_status(tmp_path, fork):
    if fork and not hasattr(os, "fork"):
        pytest.skip("no os.fork here")
    (tmp_path / "sibling.py").write_text("NAME = 'sibling'\n")
    script = tmp_path / "example.py"
    script.write_text(EXAMPLE_SCRIPT)
    result = subprocess.run(
        [sys.executable, "-c", RUN_EXAMPLES, os.path.join(ROOT, "examples"), str(script), "fork" if fork else "spawn"],
        capture_output=True, text=True, cwd=str(tmp_path.parent),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["0 0", "3 3", "raise 1", "a message 1"]
    for argument in ("0", "3", "raise", "a message"):
        log = (tmp_path / f"example.py.{argument}.log").read_text()
        assert f"args ['{argument}', 'x y'] sibling" in log and "to stderr" in log, log
    assert "ValueError: raised" in (tmp_path / "example.py.raise.log").read_text()
    assert "a message" in (tmp_path / "example.py.a message.log").read_text().splitlines()[-1]


def test_a_failed_claim_fails_the_run(tmp_path):
    learned = {"plain": {"val_accuracy": _summary(0.9)}, "lcw_dense": {"val_accuracy": _summary(0.9)}}
    result = _from_json(tmp_path, "lcw_deep_sigmoid", learned)
    assert result.returncode == 1
    assert "claim failed: deep sigmoid MLP: plain val acc 0.900 (want < 0.2)" in result.stderr


def test_the_claims_hold_on_results_that_show_them(tmp_path):
    shown = {
        "lcw_deep_sigmoid": {"plain": {"val_accuracy": _summary(0.1)}, "lcw_dense": {"val_accuracy": _summary(0.9)}},
        "anact_gradient_flow": {"swish": {"val_accuracy": _summary(0.1)}, "ANAct(swish)": {"val_accuracy": _summary(0.9)}},
        "gmp_digits": {"GmP lr 0.003": {}, "GmP lr 0.03": {"max_train_loss": _summary(0.1), "best_val_accuracy": _summary(0.9)}},
    }
    for name, results in shown.items():
        result = _from_json(tmp_path, name, results)
        assert result.returncode == 0, result.stderr
        assert " ok " in result.stdout


@pytest.mark.parametrize("name, results", [
    ("anact_gradient_flow", {"swish": {"val_accuracy": _summary(0.5)}, "ANAct(swish)": {"val_accuracy": _summary(0.62)}}),
    ("gmp_digits", {"GmP lr 0.003": {}, "GmP lr 0.03": {"max_train_loss": _summary(2.0), "best_val_accuracy": _summary(0.9)}}),
    ("gmp_digits", {"GmP lr 0.003": {}, "GmP lr 0.03": {"max_train_loss": _summary(0.1), "best_val_accuracy": _summary(0.3)}}),
    ("gmp_digits", {"GmP lr 0.03": {"max_train_loss": _summary(0.1), "best_val_accuracy": _summary(0.9)}}),
])
def test_results_that_do_not_show_a_claim_fail(tmp_path, name, results):
    result = _from_json(tmp_path, name, results)
    assert result.returncode == 1
    assert "claim failed" in result.stderr


def _example(name):
    spec = importlib.util.spec_from_file_location(f"keras_lcw_example_{name}", os.path.join(ROOT, "examples", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, os.path.join(ROOT, "examples"))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(os.path.join(ROOT, "examples"))
    return module


@pytest.mark.parametrize("name, names", [
    ("linked_depth_test", "VARIANTS"), ("gmp_digits", "METHODS"), ("gmp_levy", "METHODS"),
    ("lcw_deep_sigmoid", "MODELS"), ("anact_gradient_flow", "VARIANTS"),
])
def test_the_default_subset_option_lists_every_name_once(name, names):
    # --variants and --methods default to the names joined by commas.
    listed = list(getattr(_example(name), names))
    assert ",".join(listed).split(",") == listed


def test_the_recorded_command_quotes_values_a_shell_would_split():
    import argparse
    import shlex

    args = argparse.Namespace(methods="plain,batch norm", seeds=5, output="/tmp/x")
    line = _example("common").command_line("examples/x.py", args)
    words = shlex.split(line)
    assert words[words.index("--methods") + 1] == "plain,batch norm"
    assert words[words.index("--seeds") + 1] == "5"
    assert "--output" not in words


def test_the_headline_says_how_long_the_run_took():
    timing = {"seconds": {"gmp_levy": 1500.0, "gmp_digits": 780.0}, "total_seconds": 1560.0, "jobs": 2}
    line = _example("reproduce").timing_line(timing)
    assert line == (" The run took 26 minutes with `--jobs 2` (each example's own time: gmp_levy 25,"
                    " gmp_digits 13; 38 minutes one after another).")
    assert _example("reproduce").timing_line(None) == ""


def test_re_rendering_from_json_keeps_the_run_time(tmp_path):
    timing = {"seconds": {"lcw_deep_sigmoid": 60.0}, "total_seconds": 61.0, "jobs": 1}
    (tmp_path / "reproduce.json").write_text(json.dumps({"timing": timing}))
    learned = {"plain": {"val_accuracy": _summary(0.1)}, "lcw_dense": {"val_accuracy": _summary(0.9)}}
    assert _from_json(tmp_path, "lcw_deep_sigmoid", learned).returncode == 0
    assert json.loads((tmp_path / "reproduce.json").read_text())["timing"] == timing


def test_a_subset_leaves_the_readme_table_as_it_is(tmp_path):
    readme = os.path.join(ROOT, "README.md")
    with open(readme, encoding="utf-8") as f:
        before = f.read()
    (tmp_path / "lcw_deep_sigmoid.json").write_text(json.dumps({
        "results": {"plain": {"val_accuracy": _summary(0.1)}, "lcw_dense": {"val_accuracy": _summary(0.9)}},
        "args": {"seeds": 1}, "machine": "test",
    }))
    try:
        result = subprocess.run(
            [sys.executable, SCRIPT, "--from-json", "--only", "lcw_deep_sigmoid", "--output", str(tmp_path)],
            capture_output=True, text=True,
        )
        with open(readme, encoding="utf-8") as f:
            after = f.read()
    finally:
        with open(readme, "w", encoding="utf-8") as f:
            f.write(before)
    assert result.returncode == 0, result.stderr
    assert "left as they are" in result.stdout
    assert after == before
