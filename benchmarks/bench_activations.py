"""Train-step time of ANAct and Linked against their plain Keras equivalents.

    KERAS_BACKEND=jax python -m benchmarks.bench_activations

A 4-layer MLP of width 1024 at batch 256 with each activation after every
Dense layer: ANAct (static and adaptive) against `keras.layers.Activation`
of the same base activation, and `keras_lcw.LinkedReLU` against the
hand-written `Concatenate()([ReLU()(h), ReLU()(-h)])`.
"""

import keras

import keras_lcw
from benchmarks import common

WIDTH, DEPTH, BATCH = 1024, 4, 256


def mlp(activation):
    """`activation()` returns a callable applied to each Dense output."""
    def build():
        inputs = keras.Input((WIDTH,))
        h = inputs
        for _ in range(DEPTH):
            h = activation()(keras.layers.Dense(WIDTH)(h))
        return keras.Model(inputs, keras.layers.Dense(10)(h))

    return build


def hand_linked():
    return lambda h: keras.layers.Concatenate()(
        [keras.layers.ReLU()(h), keras.layers.ReLU()(keras.ops.negative(h))]
    )


def main():
    args = common.parse_args(__doc__.strip().split("\n")[0])
    swish = mlp(lambda: keras.layers.Activation("swish"))
    rows = [
        common.compare(
            "ANAct static / Activation (swish)", swish,
            mlp(lambda: keras_lcw.ANAct("swish", adaptive=False)),
            (WIDTH,), BATCH, args,
        ),
        common.compare(
            "ANAct adaptive / Activation (swish)", swish,
            mlp(lambda: keras_lcw.ANAct("swish")),
            (WIDTH,), BATCH, args,
        ),
        common.compare(
            "LinkedReLU / hand-written concatenate", mlp(hand_linked),
            mlp(keras_lcw.LinkedReLU),
            (WIDTH,), BATCH, args,
        ),
    ]
    common.print_table(f"Activations in a {DEPTH} x Dense({WIDTH}) MLP, batch {BATCH}", rows)
    return rows


if __name__ == "__main__":
    main()
