"""Train-step time of ANAct and Linked against their plain Keras equivalents.

A 4-layer MLP of width 1024 at batch 256, on the current backend
(KERAS_BACKEND). Variants run round-robin, so that drifts in machine load
hit them alike; each reports the median, min and max of its timed steps
after warm-up, and its ratio to its plain baseline:

- ANAct (adaptive and static) against `keras.layers.Activation`;
- `keras_lcw.LinkedReLU` against `Concatenate()([ReLU()(h), ReLU()(-h)])`.

Usage: KERAS_BACKEND=jax python benchmarks/bench_activations.py [--steps 30]
"""

import argparse
import time

import keras
import numpy as np

import keras_lcw

WIDTH, DEPTH, BATCH = 1024, 4, 256


def mlp(activation):
    """`activation(h)` returns the activated tensor for a Dense output `h`."""
    inputs = keras.Input((WIDTH,))
    h = inputs
    for _ in range(DEPTH):
        h = activation(keras.layers.Dense(WIDTH)(h))
    outputs = keras.layers.Dense(10)(h)
    return keras.Model(inputs, outputs)


def hand_linked(h):
    return keras.layers.Concatenate()(
        [keras.layers.ReLU()(h), keras.layers.ReLU()(keras.ops.negative(h))]
    )


VARIANTS = {
    "swish (Activation)": lambda h: keras.layers.Activation("swish")(h),
    "ANAct static": lambda h: keras_lcw.ANAct("swish", adaptive=False)(h),
    "ANAct adaptive": lambda h: keras_lcw.ANAct("swish")(h),
    "concat relu (hand)": hand_linked,
    "LinkedReLU": lambda h: keras_lcw.LinkedReLU()(h),
}
BASELINES = {
    "ANAct static": "swish (Activation)",
    "ANAct adaptive": "swish (Activation)",
    "LinkedReLU": "concat relu (hand)",
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="timed steps per variant")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    x = rng.normal(size=(BATCH, WIDTH)).astype("float32")
    y = rng.integers(0, 10, size=(BATCH,))
    models = {}
    for name, activation in VARIANTS.items():
        model = mlp(activation)
        model.compile(
            keras.optimizers.SGD(1e-3),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            jit_compile="auto",
        )
        for _ in range(args.warmup):
            model.train_on_batch(x, y)
        models[name] = model
    times = {name: [] for name in models}
    for step in range(args.steps):
        for name, model in models.items():
            start = time.perf_counter()
            model.train_on_batch(x, y)
            times[name].append(time.perf_counter() - start)
        print(f"round {step + 1}/{args.steps}", end="\r", flush=True)
    print()
    medians = {name: float(np.median(t)) for name, t in times.items()}
    print(f"backend {keras.backend.backend()}, {DEPTH} x Dense({WIDTH}), batch {BATCH}, {args.steps} steps")
    print(f"{'variant':<20} {'median ms':>10} {'min ms':>8} {'max ms':>8} {'ratio':>7}")
    for name, t in times.items():
        ratio = medians[name] / medians[BASELINES[name]] if name in BASELINES else 1.0
        print(
            f"{name:<20} {1e3 * medians[name]:>10.2f} {1e3 * min(t):>8.2f} "
            f"{1e3 * max(t):>8.2f} {ratio:>7.3f}"
        )


if __name__ == "__main__":
    main()
