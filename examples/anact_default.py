"""How ANAct's configurations train a deep MLP on digits, over seeds.

The measurement behind ANAct's default configuration: a 30-layer MLP of
width 64 (LeCun-normal Dense kernels, the model of
examples/anact_gradient_flow.py) on scikit-learn's bundled digits, for
relu, tanh, sigmoid, swish and gelu, with

- the bare activation (`keras.layers.Activation`),
- "static": `ANAct(adaptive=False)`, the factor and mean of a standard
  normal input, with the default's other arguments; "static, geometric":
  the static layer of the releases before presets,
- "geometric": the adaptive configuration that was the default before
  presets (`ANAct.from_preset("geometric")`), with no bound,
- "published": the public reading of the paper
  (`ANAct.from_preset("published")`), with no bound,
- each of the two with the factor bounded by twice its standard-normal
  value (`max_scale=2`), and "published" bounded by that value itself
  (`max_scale=1`).

The variant configured as `ANAct(activation)` is marked "(default)".

Each variant trains from the same seeds (the data split and the initial
weights follow the seed) with Adam 1e-3 and batch 64. It reports the final
validation accuracy per variant as mean ± standard deviation (median, and
how many runs succeed: validation accuracy above 0.5), writes them to
OUTPUT/anact_default.json and the table into docs/anact.md (not with
--no-docs).

Usage: KERAS_BACKEND=jax python examples/anact_default.py [--seeds 5]
    [--epochs 10] [--jobs 2]
"""

import argparse
import json
import os
import time

from anact_gradient_flow import add_run_arguments
from anact_gradient_flow import build
from anact_gradient_flow import fit_on_digits
from anact_gradient_flow import run_jobs
from anact_gradient_flow import succeeded

ACTIVATIONS = ("relu", "tanh", "sigmoid", "swish", "gelu")

# Variant -> (preset and overrides), or None for the bare activation.
VARIANTS = {
    "bare": None,
    "static": ("static", {}),
    "static, geometric": ("geometric", {"adaptive": False}),
    "geometric": ("geometric", {}),
    "geometric, max_scale=2": ("geometric", {"max_scale": 2.0}),
    "published": ("published", {}),
    "published, max_scale=2": ("published", {"max_scale": 2.0}),
    "published, max_scale=1": ("published", {"max_scale": 1.0}),
}


def make_layer(variant, activation):
    import keras

    import keras_lcw

    if VARIANTS[variant] is None:
        return keras.layers.Activation(activation)
    preset, overrides = VARIANTS[variant]
    return keras_lcw.ANAct.from_preset(preset, activation, **overrides)


def train(job):
    """Trains one (activation, variant, seed); returns its accuracies."""
    activation, variant, seed, epochs, depth, width = job
    model = build(lambda: make_layer(variant, activation), depth, width, seed)
    result = {
        "activation": activation,
        "variant": variant,
        "seed": seed,
        **fit_on_digits(model, seed, epochs, batch_size=64),
    }
    print(
        f"  {activation:<8} {variant:<24} seed {seed}: val "
        f"{result['val_accuracy']:.3f} ({result['seconds']:.0f} s)",
        flush=True,
    )
    return result


def main():
    from common import add_docs_argument
    from common import seed_list

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_arguments(parser)
    parser.add_argument("--jobs", type=int, default=2, help="processes side by side")
    parser.add_argument(
        "--activations", default=",".join(ACTIVATIONS),
        help="comma-separated activations",
    )
    parser.add_argument("--output", default="outputs")
    parser.add_argument(
        "--from-json", default=None,
        help="re-render the tables of a finished run from its anact_default.json, without training",
    )
    add_docs_argument(parser, "anact.md")
    args = parser.parse_args()
    from_json = args.from_json
    # The measurement's arguments alone (they make the command in the docs).
    del args.from_json
    if from_json:
        with open(from_json) as f:
            saved = json.load(f)
        measured = argparse.Namespace(**{k: v for k, v in saved["args"].items() if k != "from_json"})
        measured.no_docs, measured.output = args.no_docs, args.output
        report(
            measured, measured.activations.split(","), saved["runs"],
            saved.get("seconds", 0.0), saved.get("machine"),
        )
        return
    activations = args.activations.split(",")
    seeds = seed_list(args)
    jobs = [
        (activation, variant, seed, args.epochs, args.depth, args.width)
        for activation in activations
        for variant in VARIANTS
        for seed in seeds
    ]
    start = time.perf_counter()
    os.makedirs(args.output, exist_ok=True)
    # One line per finished run, so that an interrupted run keeps its results.
    log = open(os.path.join(args.output, "anact_default_runs.jsonl"), "w")
    runs = []
    for run in run_jobs(train, jobs, args.jobs):
        runs.append(run)
        log.write(json.dumps(run) + "\n")
        log.flush()
    log.close()
    report(args, activations, runs, time.perf_counter() - start)


def default_variant(activation):
    """The variant whose layer is configured as `ANAct(activation)`, or
    None."""
    import keras_lcw

    def config(layer):
        return {k: v for k, v in layer.get_config().items() if k != "name"}

    default = config(keras_lcw.ANAct(activation))
    for variant, spec in VARIANTS.items():
        if spec is not None and config(make_layer(variant, activation)) == default:
            return variant
    return None


def report(args, activations, runs, seconds, machine=None):
    """Writes the JSON and the tables of a run; `machine` is the recorded
    machine line of a run re-rendered from its JSON."""
    import keras

    from common import docs_page
    from common import format_summary
    from common import results_block
    from common import seed_summary
    from common import write_json
    from common import write_results

    results = {}
    for activation in activations:
        for variant in VARIANTS:
            own = [r for r in runs if r["activation"] == activation and r["variant"] == variant]
            results.setdefault(activation, {})[variant] = {
                key: seed_summary([r[key] for r in own], succeeded)
                for key in ("val_accuracy", "train_accuracy")
            }
    write_json(
        args.output, "anact_default", results, args,
        backend=keras.backend.backend(), seconds=seconds,
        success="validation accuracy above 0.5", runs=runs,
        **({"machine": machine} if machine else {}),
    )
    print(f"\n{args.depth} x Dense({args.width}), Adam 1e-3, {args.epochs} epochs, {args.seeds} seeds, {seconds:.0f} s")
    lines = [
        "| variant | " + " | ".join(activations) + " |",
        "|---" * (len(activations) + 1) + "|",
    ]
    defaults = {default_variant(a) for a in activations}
    default = defaults.pop() if len(defaults) == 1 else None
    for variant in VARIANTS:
        cells = [format_summary(results[a][variant]["val_accuracy"]) for a in activations]
        label = f"{variant} (default)" if variant == default else variant
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    sources = sources_table(results, activations, default, f"{args.depth} x Dense({args.width}) MLP")
    print(sources)
    if not args.no_docs:
        note = (
            f"Validation accuracy after {args.epochs} epochs, over {args.seeds} "
            f"seeds: mean ± standard deviation (median, runs that succeed, "
            f"i.e. reach a validation accuracy above 0.5).\n\n"
        )
        write_results(
            docs_page("anact.md"), "anact_default",
            results_block("examples/anact_default.py", args, note + table, machine),
        )
        write_results(
            docs_page("anact.md"), "anact_sources",
            results_block("examples/anact_default.py", args, sources, machine),
        )


def sources_table(results, activations, default, model):
    """The paper's figure (from its abstract, not measured here) beside the
    gains measured here of the public reading and of the default over the
    bare activation, in mean validation accuracy."""

    def gain(activation, variant):
        if variant is None or activation not in activations:
            return "not measured"
        own = results[activation][variant]["val_accuracy"]
        bare = results[activation]["bare"]["val_accuracy"]
        return (
            f"{100 * (own['mean'] - bare['mean']):+.1f} points "
            f"({own['mean']:.3f} against {bare['mean']:.3f})"
        )

    lines = [
        "| configuration | where | normalized swish over swish | normalized tanh over tanh |",
        "|---|---|---|---|",
        "| the paper (abstract; not reproduced here) | ResNet-50 on Tiny ImageNet; CIFAR-100 "
        "| +1.4 top-1 points; more than +1.2 | not given |",
        f"| the public reading (`published`) | {model}, digits | {gain('swish', 'published')} "
        f"| {gain('tanh', 'published')} |",
        f"| keras_lcw's default (`{default}`) | {model}, digits | {gain('swish', default)} "
        f"| {gain('tanh', default)} |",
    ]
    return "\n".join(lines)



if __name__ == "__main__":
    main()
