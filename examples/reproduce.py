"""Regenerates every result of the examples, and checks the headline claims.

    KERAS_BACKEND=jax python examples/reproduce.py            # every example at its documented scale
    KERAS_BACKEND=jax python examples/reproduce.py --quick    # a small version, a few minutes at most

Runs each example of examples/ that reports results (lcw_deep_sigmoid.py,
linked_depth_test.py, gmp_levy.py, gmp_digits.py, anact_gradient_flow.py,
anact_default.py) in a process of its own with the current KERAS_BACKEND
(on Linux a child forked from this one after it imports Keras once,
elsewhere a fresh interpreter), each with `--seed S --output OUTPUT` and
its own default number of seeds (5), or `--seeds N` when given. Each
example writes OUTPUT/<example>.json and its PNG and (not with --quick or
--no-docs) its table into its docs page; this script then writes the
headline table of README.md from the JSON files (`--from-json` does only
that, from the JSON files already in OUTPUT; a run with `--only` leaves
that table as it is).
`--jobs N` runs N examples side by side, each writing its output to
OUTPUT/<example>.log.

`--quick` runs every example with few seeds, epochs and layers, writes no
docs (OUTPUT defaults to a temporary folder) and checks each headline claim
loosely; it exits non-zero, naming the claim, when one fails:

- LCW: a 20-layer sigmoid MLP stays at chance (mean validation accuracy
  below 0.2) while the same network with LCWDense learns (above 0.6);
- ANAct: ANAct(swish) reaches a validation accuracy at least 0.15 above
  bare swish in the same deep MLP (bare swish stays at chance, 0.1);
- GmP: the CNN with GmP trains at 10x the base learning rate: its training
  loss stays below 0.5 after the first epoch and its best validation
  accuracy is above 0.6 (loosely: in a run of a few epochs the moving mean
  of InputMeanNormalization, which inference uses, has not settled yet, so
  GmP's validation accuracy lags its training loss).

The full run checks the same claims on its results. It also runs
examples/anact_default.py, the study that chose ANAct's default (five
activations, eight configurations, five seeds); `--quick` leaves it out.
"""

import argparse
import json
import os
import runpy
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
README = os.path.normpath(os.path.join(HERE, "..", "README.md"))

# name: (arguments of the documented full run, arguments of --quick).
# Seeds are passed separately.
EXAMPLES = {
    "lcw_deep_sigmoid": (
        ["--depth", "50", "--epochs", "30"],
        ["--depth", "20", "--epochs", "4", "--models", "plain,lcw_dense", "--log-every", "2"],
    ),
    "linked_depth_test": (
        ["--depth", "50", "--epochs", "30"],
        ["--depth", "10", "--epochs", "2", "--variants", "relu,linked relu"],
    ),
    "gmp_levy": (
        [],
        ["--epochs", "200", "--methods", "plain,GmP", "--data", "authors"],
    ),
    "gmp_digits": (
        ["--epochs", "30"],
        ["--epochs", "5", "--methods", "standard,GmP"],
    ),
    "anact_gradient_flow": (
        ["--epochs", "10"],
        ["--epochs", "5", "--variants", "swish,ANAct(swish)"],
    ),
    # None: not part of --quick.
    "anact_default": (["--epochs", "10"], None),
}
QUICK_SEEDS = 1


def mean(results, method, metric):
    return results[method][metric]["mean"]


def check_lcw(results):
    plain = mean(results, "plain", "val_accuracy")
    lcw = mean(results, "lcw_dense", "val_accuracy")
    ok = plain < 0.2 and lcw > 0.6
    return ok, f"deep sigmoid MLP: plain val acc {plain:.3f} (want < 0.2), LCWDense {lcw:.3f} (want > 0.6)"


def check_anact(results):
    bare = mean(results, "swish", "val_accuracy")
    normalized = mean(results, "ANAct(swish)", "val_accuracy")
    ok = normalized > bare + 0.15
    return ok, f"ANAct rescues swish: ANAct(swish) val acc {normalized:.3f}, swish {bare:.3f} (want at least 0.15 above)"


def check_gmp(results):
    rates = sorted((k for k in results if k.startswith("GmP lr")), key=lambda k: float(k.split()[-1]))
    if len(rates) < 2:
        raise ValueError("GmP at two learning rates")
    label = rates[-1]
    loss = mean(results, label, "max_train_loss")
    best = mean(results, label, "best_val_accuracy")
    ok = loss < 0.5 and best > 0.6
    return ok, (f"GmP trains at 10x the rate: {label} largest training loss after epoch 1 {loss:.3f} "
                f"(want < 0.5), best val acc {best:.3f} (want > 0.6)")


CHECKS = {"lcw_deep_sigmoid": check_lcw, "anact_gradient_flow": check_anact, "gmp_digits": check_gmp}


def command(name, args, output):
    script = os.path.join(HERE, f"{name}.py")
    full, quick = EXAMPLES[name]
    line = [sys.executable, script] + (quick if args.quick else full) + ["--output", output]
    # Without --seeds, each example's own default count (its documented scale).
    seeds = args.seeds or (QUICK_SEEDS if args.quick else None)
    line += (["--seeds", str(seeds)] if seeds else []) + ["--seed", str(args.seed)]
    if args.quick or args.no_docs:
        line.append("--no-docs")
    return line


# On Linux each example runs in a child forked from this process, which
# imports Keras once for all of them: a fresh interpreter spends more time
# importing Keras and its backend than a quick example spends training.
# The children are still separate processes (nothing one example sets
# reaches the next), and this process initializes no backend before it
# forks. Elsewhere (macOS, Windows), where forking a process that has
# imported these libraries is not safe, each example starts a fresh
# interpreter.
FORK = sys.platform.startswith("linux")


class ForkedExample:
    """An example script run in a forked child, polled as a
    `subprocess.Popen` is; `stream` (a file, or None for this process's
    output) receives its output."""

    def __init__(self, line, stream=None):
        sys.stdout.flush()
        sys.stderr.flush()
        self.returncode = None
        self.pid = os.fork()
        if self.pid == 0:
            self._run(line, stream)

    @staticmethod
    def _run(line, stream):
        code = 1
        try:
            if stream is not None:
                os.dup2(stream.fileno(), 1)
                os.dup2(stream.fileno(), 2)
            # As `python script args...` would run it.
            script = line[1]
            sys.argv = line[1:]
            sys.path[0] = os.path.dirname(os.path.abspath(script))
            runpy.run_path(script, run_name="__main__")
            code = 0
        except SystemExit as stopped:
            if stopped.code is None or isinstance(stopped.code, int):
                code = stopped.code or 0
            else:
                print(stopped.code, file=sys.stderr)
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    def poll(self):
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode


def start_example(line, stream=None, fork=FORK):
    """Starts the command `line` (this Python, an example script, its
    arguments), with its output to `stream` (or to this process's);
    returns a handle with `poll()` and `returncode`."""
    if fork:
        return ForkedExample(line, stream)
    return subprocess.Popen(line, stdout=stream, stderr=subprocess.STDOUT if stream else None)


def recorded_machine(found):
    """The machine line recorded in the examples' JSON files (the first
    that has one)."""
    return next((d["machine"] for d in found.values() if d.get("machine")), "Measured on an unrecorded machine")


def timing_line(timing):
    """How long a run took: its wall time, `--jobs` and each example's own
    time, in minutes; empty without a recorded run."""
    if not timing or not timing.get("seconds"):
        return ""
    seconds = timing["seconds"]
    each = ", ".join(f"{name} {s / 60:.0f}" for name, s in seconds.items())
    return (f" The run took {timing['total_seconds'] / 60:.0f} minutes with `--jobs {timing['jobs']}`"
            f" (each example's own time: {each}; {sum(seconds.values()) / 60:.0f} minutes one after another).")


def headline(found, timing=None):
    """The README's table of headline results, from the examples' JSON,
    with how long the run took (`timing`: the run's `seconds`,
    `total_seconds` and `jobs`)."""
    rows = []

    def cell(summary):
        text = f"{summary['mean']:.3f} ± {summary['std']:.3f}"
        if "successes" in summary:
            text += f" ({summary['successes']}/{summary['runs']})"
        return text

    if "lcw_deep_sigmoid" in found:
        r = found["lcw_deep_sigmoid"]["results"]
        rows.append(("[LCW](docs/lcw.md): 50-layer sigmoid MLP, final val acc (runs above 0.5)",
                     "plain " + cell(r["plain"]["val_accuracy"]) + "; LCWDense " + cell(r["lcw_dense"]["val_accuracy"])
                     + "; batch norm " + cell(r["batchnorm"]["val_accuracy"])))
    if "linked_depth_test" in found:
        r = found["linked_depth_test"]["results"]
        rows.append(("[Linked](docs/linked.md): 50 Dense layers of 8 units, final val acc (runs above 0.2)",
                     "relu " + cell(r["relu"]["val_accuracy"]) + "; linked relu " + cell(r["linked relu"]["val_accuracy"])
                     + "; linked selu " + cell(r["linked selu"]["val_accuracy"])))
    if "gmp_levy" in found:
        r = found["gmp_levy"]["results"]
        key = "test_rmse_authors_data"
        if key in r.get("GmP", {}) and key in r.get("plain", {}):
            rows.append(("[GmP](docs/gmp.md): Levy regression on the authors' dataset, test RMSE (runs below 0.7)",
                         "plain " + cell(r["plain"][key]) + "; GmP " + cell(r["GmP"][key])))
    if "gmp_digits" in found:
        r = found["gmp_digits"]["results"]
        labels = sorted((k for k in r if k.startswith(("standard lr", "GmP lr"))), key=lambda k: float(k.split()[-1]))
        fast = [k for k in labels if float(k.split()[-1]) == max(float(x.split()[-1]) for x in labels)]
        rows.append(("[GmP](docs/gmp.md): digits CNN at 10x the rate, final val acc (runs above 0.95)",
                     "; ".join(f"{k} {cell(r[k]['final_val_accuracy'])}" for k in fast)))
    if "anact_gradient_flow" in found:
        r = found["anact_gradient_flow"]["results"]
        if "swish" in r and "ANAct(swish)" in r:
            rows.append(("[ANAct](docs/anact.md): 30-layer swish MLP, val acc",
                         "swish " + cell(r["swish"]["val_accuracy"]) + "; ANAct(swish) " + cell(r["ANAct(swish)"]["val_accuracy"])))
    runs = sorted({document["args"]["seeds"] for document in found.values() if "seeds" in document.get("args", {})})
    lines = ["| result | mean ± std over seeds (runs that succeed) |", "|---|---|"]
    lines += [f"| {what} | {value} |" for what, value in rows]
    return (f"{recorded_machine(found)}, by `python examples/reproduce.py`, {'/'.join(map(str, runs))} seeds per method."
            f"{timing_line(timing)}\n\n" + "\n".join(lines))


def weight_norm_rows(found):
    """The weight-normalized rows of the examples, beside their plain rows,
    for docs/weight_norm.md."""
    from common import format_summary

    lines = ["| example | metric | layer | mean ± std (median, runs that succeed) |", "|---|---|---|---|"]
    picks = (
        ("lcw_deep_sigmoid", "50-layer sigmoid MLP", "val_accuracy", "final val acc (> 0.5)",
         ("plain", "weight_norm", "centered_weight_norm", "lcw_dense")),
        ("gmp_levy", "Levy regression, authors' dataset", "test_rmse_authors_data", "test RMSE (< 0.7)",
         ("plain", "weight norm", "GmP")),
        ("gmp_levy", "Levy regression, fresh datasets", "test_rmse_fresh_data", "test RMSE (< 0.7)",
         ("plain", "weight norm", "GmP")),
    )
    for name, example, metric, heading, methods in picks:
        results = found.get(name, {}).get("results", {})
        for method in methods:
            if metric in results.get(method, {}):
                lines.append(f"| {example} | {heading} | {method} | {format_summary(results[method][metric])} |")
    digits = found.get("gmp_digits", {}).get("results", {})
    for label in digits:
        lines.append(f"| digits CNN | final val acc (> 0.95) | {label} | {format_summary(digits[label]['final_val_accuracy'])} |")
    return f"{recorded_machine(found)}, gathered by `python examples/reproduce.py` from the examples' JSON files:\n\n" + "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small version that writes no docs and checks the claims")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per example (default: each example's documented count, 1 with --quick)")
    parser.add_argument("--seed", type=int, default=0, help="the first seed")
    parser.add_argument("--output", default=None, help="where the examples write (default outputs/, or a temporary folder with --quick)")
    parser.add_argument("--only", default=None, help="comma-separated subset of " + ", ".join(EXAMPLES))
    parser.add_argument("--no-docs", action="store_true", help="write no docs and no README table")
    parser.add_argument("--jobs", type=int, default=1, help="examples run side by side (default 1; their output then goes to OUTPUT/<example>.log)")
    parser.add_argument("--from-json", action="store_true", help="run nothing: check the claims and write the README table from the JSON files already in OUTPUT")
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else [
        name for name in EXAMPLES if not args.quick or EXAMPLES[name][1] is not None
    ]
    unknown = sorted(set(names) - set(EXAMPLES))
    if unknown:
        parser.error(f"unknown --only {unknown}; allowed: {', '.join(EXAMPLES)}")
    if args.quick and any(EXAMPLES[name][1] is None for name in names):
        parser.error(f"--quick has no small version of {[n for n in names if EXAMPLES[n][1] is None]}")
    output = os.path.abspath(args.output or (tempfile.mkdtemp(prefix="keras_lcw_reproduce_") if args.quick else "outputs"))
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    os.makedirs(output, exist_ok=True)
    backend = os.environ.get("KERAS_BACKEND", "tensorflow (Keras's default)")
    if args.from_json:
        print(f"reproduce: the claims and tables from the JSON files in {output}", flush=True)
    else:
        print(f"reproduce: {'quick' if args.quick else 'full'} run of {', '.join(names)}, backend {backend}, output {output}", flush=True)

    found, seconds, problems, unchecked = {}, {}, [], []
    start = time.time()
    summary_path = os.path.join(output, "reproduce.json")
    timing = None
    if args.from_json and os.path.exists(summary_path):
        # The README keeps the time of the run that wrote the JSON files.
        with open(summary_path, encoding="utf-8") as f:
            timing = json.load(f).get("timing")
    def finish(name, returncode, log):
        print(f"=== {name}: exit status {returncode} after {seconds[name]:.0f} s", flush=True)
        if returncode != 0:
            if log:
                with open(log, encoding="utf-8", errors="replace") as f:
                    print(f"--- the end of {log}:\n" + f.read()[-3000:], flush=True)
            problems.append(f"{name}.py failed with exit status {returncode}")
            return
        path = os.path.join(output, f"{name}.json")
        if not os.path.exists(path):
            problems.append(f"{name}.py wrote no {path}")
            return
        with open(path, encoding="utf-8") as f:
            found[name] = json.load(f)

    pending, running = [], {}
    for name in names:
        if args.from_json:
            path = os.path.join(output, f"{name}.json")
            if os.path.exists(path):
                with open(path, encoding="utf-8") as f:
                    found[name] = json.load(f)
            else:
                unchecked.append(f"no {path}")
        else:
            pending.append((name, command(name, args, output)))
    if pending and FORK:
        import common  # noqa: F401  (Keras and its backend, for the forked examples)

        import keras_lcw  # noqa: F401
    while pending or running:
        while pending and len(running) < args.jobs:
            name, line = pending.pop(0)
            # Side by side, each example's output goes to OUTPUT/<name>.log.
            log = os.path.join(output, f"{name}.log") if args.jobs > 1 else None
            print(f"\n=== {name}: {' '.join(line[1:])}" + (f" > {log}" if log else ""), flush=True)
            stream = open(log, "w", encoding="utf-8") if log else None
            process = start_example(line, stream)
            running[name] = (process, time.time(), log, stream)
        time.sleep(0.2)
        for name, (process, began, log, stream) in list(running.items()):
            if process.poll() is None:
                continue
            del running[name]
            if stream:
                stream.close()
            seconds[name] = time.time() - began
            finish(name, process.returncode, log)

    report = []
    for name, check in CHECKS.items():
        if name not in found:
            continue
        try:
            ok, message = check(found[name]["results"])
        except (KeyError, StopIteration, ValueError) as error:
            ok, message = False, f"{name}: the results lack what the claim needs ({error!r})"
        report.append((ok, message))
        if not ok:
            problems.append(f"claim failed: {message}")
    if not args.from_json:
        timing = {"seconds": seconds, "total_seconds": time.time() - start, "jobs": args.jobs}
    if not args.quick and not args.no_docs and found and args.only:
        # The tables gather every example: a subset leaves them as they are.
        print("reproduce: --only ran a subset; the README's table and docs/weight_norm.md are left as they are"
              " (`--from-json` without --only rewrites them from every JSON file in OUTPUT)")
    elif not args.quick and not args.no_docs and found:
        # examples/common.py imports Keras: only the full run needs it.
        sys.path.insert(0, HERE)
        from common import docs_page
        from common import write_results

        write_results(README, "headline", headline(found, timing))
        write_results(docs_page("weight_norm.md"), "weight_norm_rows", weight_norm_rows(found))
    summary = {"quick": args.quick, "backend": backend, "timing": timing,
               "claims": [{"ok": ok, "claim": message} for ok, message in report], "problems": problems,
               "unchecked": unchecked}
    with open(summary_path, "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)

    print(f"\nreproduce: {time.time() - start:.0f} s in all; per example: "
          + ", ".join(f"{name} {s:.0f} s" for name, s in seconds.items()))
    for ok, message in report:
        print(f"  {'ok    ' if ok else 'FAILED'} {message}")
    for message in unchecked:
        print(f"  not checked: {message}")
    if problems:
        print("\nreproduce: FAILED\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print(f"reproduce: every claim checked holds; results in {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
