"""Writes the saved-file fixtures under tests/data/saved.

One small model per public layer (and one for the public constraint and
initializer inside a plain layer), every variable set to a non-default
value, saved as `NAME.keras` and `NAME.weights.h5`, with its inputs and
outputs in `NAME.npz`. tests/test_saved_files.py loads each file on every
backend and checks the stored outputs, so that files saved by one version of
keras_lcw keep loading in every later one.

Once committed, a fixture is never regenerated: a later version adds new
files (a new layer, a new format) beside the old ones. Run from the
repository root:

    KERAS_BACKEND=jax python scripts/make_saved_files.py NAME [NAME ...]

with the names of the fixtures to (re)create; without names it lists them.
"""

import os
import sys

import keras
import numpy as np

import keras_lcw

DIRECTORY = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "saved")


def _sequential(input_shape, *layers):
    return keras.Sequential([keras.Input(input_shape), *layers])


# Name -> (model builder, input shape without the batch axis).
FIXTURES = {
    "lcw_dense": lambda: _sequential((5,), keras_lcw.LCWDense(4, activation="tanh")),
    "lcw_dense_no_bias": lambda: _sequential((5,), keras_lcw.LCWDense(3, use_bias=False)),
    "lcw_conv1d": lambda: _sequential((8, 3), keras_lcw.LCWConv1D(4, 3, padding="causal")),
    "lcw_conv2d": lambda: _sequential((6, 6, 2), keras_lcw.LCWConv2D(3, (3, 2), activation="sigmoid")),
    "lcw_conv3d": lambda: _sequential((4, 4, 4, 2), keras_lcw.LCWConv3D(2, 2, padding="same")),
    "gmp_dense": lambda: _sequential((5,), keras_lcw.InputMeanNormalization(), keras_lcw.GmPDense(4)),
    "gmp_dense_fan_in_1": lambda: _sequential((1,), keras_lcw.GmPDense(3, activation=None)),
    "gmp_conv1d": lambda: _sequential((8, 3), keras_lcw.GmPConv1D(4, 3, use_bias=False)),
    "gmp_conv2d": lambda: _sequential((6, 6, 2), keras_lcw.GmPConv2D(3, 3, padding="same")),
    "gmp_conv3d": lambda: _sequential((4, 4, 4, 2), keras_lcw.GmPConv3D(2, 2, activation="tanh")),
    "weight_norm_dense": lambda: _sequential((5,), keras_lcw.WeightNormDense(4, activation="tanh")),
    "weight_norm_dense_data_init": lambda: _sequential(
        (5,), keras_lcw.WeightNormDense(3, activation="relu", data_init=True)
    ),
    "weight_norm_conv1d": lambda: _sequential((8, 3), keras_lcw.WeightNormConv1D(4, 3, padding="causal", use_bias=False)),
    "weight_norm_conv2d": lambda: _sequential((6, 6, 2), keras_lcw.WeightNormConv2D(3, (3, 2), data_init=True)),
    "weight_norm_conv3d": lambda: _sequential((4, 4, 4, 2), keras_lcw.WeightNormConv3D(2, 2, padding="same")),
    "weight_normalization_conv2d_dense": lambda: _sequential(
        (5, 5, 2),
        keras_lcw.WeightNormalization(keras.layers.Conv2D(3, 2, activation="relu"), data_init=True),
        keras.layers.Flatten(),
        keras_lcw.WeightNormalization(keras.layers.Dense(2)),
    ),
    "centered_weight_norm_dense": lambda: _sequential(
        (5,), keras_lcw.CenteredWeightNormDense(4, activation="sigmoid", data_init=True)
    ),
    "centered_weight_norm_conv1d": lambda: _sequential((8, 3), keras_lcw.CenteredWeightNormConv1D(4, 3)),
    "centered_weight_norm_conv2d": lambda: _sequential(
        (6, 6, 2), keras_lcw.CenteredWeightNormConv2D(3, 3, padding="same", activation="relu")
    ),
    "centered_weight_norm_conv3d": lambda: _sequential((4, 4, 4, 2), keras_lcw.CenteredWeightNormConv3D(2, 2, use_bias=False)),
    "anact": lambda: _sequential((6,), keras_lcw.ANAct("tanh", momentum=0.9)),
    "anact_static": lambda: _sequential((6,), keras_lcw.ANAct("swish", adaptive=False)),
    "anact_published": lambda: _sequential((6,), keras_lcw.ANAct.from_preset("published", "swish")),
    "anact_centred_bounded_per_channel": lambda: _sequential(
        (4, 3), keras_lcw.ANAct("gelu", axis=-1, center=True, gain_range=0.2, max_scale=1.5, momentum=0.5)
    ),
    "linked": lambda: _sequential((6,), keras_lcw.Linked("selu")),
    "linked_relu": lambda: _sequential((6,), keras_lcw.LinkedReLU()),
    "linked_selu": lambda: _sequential((6,), keras_lcw.LinkedSELU()),
    "linked_swish": lambda: _sequential((6,), keras_lcw.LinkedSwish()),
    "linked_gelu": lambda: _sequential((6,), keras_lcw.LinkedGELU()),
    "linked_prelu": lambda: _sequential((4, 3), keras_lcw.LinkedPReLU(shared_axes=[1])),
    "reparameterized_dense_gmp": lambda: _sequential(
        (5,), keras_lcw.layers.ReparameterizedDense(3, parameterization="gmp", activation="relu")
    ),
    "reparameterized_conv1d_lcw": lambda: _sequential(
        (6, 2), keras_lcw.layers.ReparameterizedConv1D(3, 2, parameterization="lcw")
    ),
    "reparameterized_conv2d_lcw": lambda: _sequential(
        (5, 5, 2), keras_lcw.layers.ReparameterizedConv2D(2, 2, parameterization="lcw")
    ),
    "reparameterized_conv3d_gmp": lambda: _sequential(
        (3, 3, 3, 2), keras_lcw.layers.ReparameterizedConv3D(2, 2, parameterization="gmp", use_bias=False)
    ),
    "dense_lcw_constraint": lambda: _sequential(
        (5,),
        keras.layers.Dense(
            4,
            kernel_constraint=keras_lcw.LCWConstraint(),
            kernel_initializer=keras_lcw.LCWInitializer("he_normal"),
        ),
    ),
}


def make(name):
    keras.utils.set_random_seed(0)
    model = FIXTURES[name]()
    rng = np.random.default_rng(1)
    for variable in model.variables:
        value = keras.ops.convert_to_numpy(variable)
        # A positive offset changes zero-initialized variables and keeps
        # positive state (ratios, radii) positive.
        offset = rng.uniform(0.1, 0.5, size=value.shape).astype(value.dtype)
        variable.assign(value + offset)
    x = rng.normal(size=(3,) + tuple(model.input_shape[1:])).astype("float32")
    y = keras.ops.convert_to_numpy(model(x))
    path = os.path.join(DIRECTORY, name)
    model.save(path + ".keras")
    model.save_weights(path + ".weights.h5")
    np.savez(path + ".npz", x=x, y=y)
    print(f"wrote {name}: {len(model.variables)} variables, output {y.shape}")


if __name__ == "__main__":
    if len(sys.argv) == 1:
        print("\n".join(FIXTURES))
    for name in sys.argv[1:]:
        make(name)
