"""keras_lcw.validation, and the layers' refusals of bad arguments."""

import re

import numpy as np
import pytest

import keras_lcw
from keras_lcw import validation


def _message(name, value, allowed):
    return re.escape(f"`{name}` must be {allowed}; received {name}={value!r}.")


@pytest.mark.parametrize("value", [True, False, np.bool_(True)])
def test_boolean_accepts_bools(value):
    got = validation.boolean("flag", value)
    assert got is bool(value)


@pytest.mark.parametrize("value", [1, 0, "yes", "True", None, 1.0, [True]])
def test_boolean_refuses_everything_else(value):
    with pytest.raises(ValueError, match=_message("flag", value, "True or False")):
        validation.boolean("flag", value)


@pytest.mark.parametrize("value", [1, 7, np.int64(3), np.int32(2)])
def test_positive_int_accepts_positive_integers(value):
    got = validation.positive_int("units", value)
    assert got == int(value) and type(got) is int


@pytest.mark.parametrize("value", [0, -3, True, False, 3.0, "3", None, np.float32(2.0)])
def test_positive_int_refuses_everything_else(value):
    with pytest.raises(ValueError, match=_message("units", value, "a positive integer")):
        validation.positive_int("units", value)


@pytest.mark.parametrize("value", [0, -1, 3, np.int64(-2)])
def test_axis_accepts_integers(value):
    got = validation.axis("axis", value)
    assert got == int(value) and type(got) is int


@pytest.mark.parametrize("value", [True, False, 1.5, 1.0, "1", None, [1], (1,)])
def test_axis_refuses_everything_else(value):
    with pytest.raises(ValueError, match=_message("axis", value, "an integer")):
        validation.axis("axis", value)


@pytest.mark.parametrize(
    "value, expected",
    [(None, None), (2, [2]), (-1, [-1]), ([1, 2], [1, 2]), ((3, -1), [3, -1]), ([np.int64(1)], [1])],
)
def test_axes_accepts_none_integers_and_lists(value, expected):
    got = validation.axes("axis", value)
    assert got == expected
    assert got is None or all(type(a) is int for a in got)


@pytest.mark.parametrize("value", [True, [1, True], [], (), [1, 1], [1.5], 1.5, "a", "12", [None], {1: 2}])
def test_axes_refuses_everything_else(value):
    allowed = "None, an integer or a non-empty list of distinct integers"
    with pytest.raises(ValueError, match=_message("axis", value, allowed)):
        validation.axes("axis", value)


def test_axes_without_none():
    with pytest.raises(ValueError, match=_message("axis", None, "an integer or a non-empty list of distinct integers")):
        validation.axes("axis", None, allow_none=False)


@pytest.mark.parametrize("value", [0, 0.0, 0.5, 0.99, np.float32(0.9), np.float64(0.1), 0.9999999])
def test_momentum_accepts_numbers_in_zero_one(value):
    got = validation.momentum("momentum", value)
    assert got == float(value) and type(got) is float


@pytest.mark.parametrize("value", ["0.9", "abc", True, False, 1, 1.0, -0.1, float("nan"), float("inf"), None, [0.5]])
def test_momentum_refuses_everything_else(value):
    with pytest.raises(ValueError, match=_message("momentum", value, "a number in [0, 1)")):
        validation.momentum("momentum", value)


@pytest.mark.parametrize("value", [1e-6, 1, 3.0, np.float32(1e-3), 1.2e-38, 3e38])
def test_positive_float_accepts_finite_positive_numbers(value):
    got = validation.positive_float("epsilon", value)
    assert got == float(value) and type(got) is float


# Outside float32's normal range: 1e-46 rounds to 0, 1e-39 is a denormal
# (0 where denormals are flushed), 1e39 and 1e300 overflow.
@pytest.mark.parametrize("value", [0, 0.0, -1e-6, 1e-46, 1e-39, 1e39, 1e300, float("inf"), float("nan"), "1e-3", True, None])
def test_positive_float_refuses_everything_else(value):
    with pytest.raises(ValueError, match=_message("epsilon", value, "a finite number greater than 0, from 1.175e-38 to 3.403e+38 (float32's normal range)")):
        validation.positive_float("epsilon", value)


class _Named:
    name = "probe"


@pytest.mark.parametrize(
    "value, shape, expected",
    [(-1, (None, 3, 4), [2]), ([2, 1], (None, 3, 4), [1, 2]), ([-2, 3], (2, 3, 4, 5), [2, 3]), (1, (None, 3), [1])],
)
def test_input_axes_resolves_and_sorts(value, shape, expected):
    assert validation.input_axes(_Named(), "axis", value, shape) == expected


@pytest.mark.parametrize(
    "value, shape, match",
    [
        (0, (None, 3), "every entry of `axis` must be a non-batch axis of the input, in 1 to 1 or -1 to -1 for an input of rank 2; received axis=0"),
        (-3, (None, 3, 4), "non-batch axis.*rank 3; received axis=-3"),
        ([1, 3], (None, 3, 4), r"non-batch axis.*received axis=\[1, 3\]"),
        ([1, -2], (None, 3, 4), r"must name distinct axes; received axis=\[1, -2\]"),
        (1, (None, None, 4), r"_Named 'probe' needs known sizes along axis=1; received input_shape=\(None, None, 4\)"),
    ],
)
def test_input_axes_refusals(value, shape, match):
    with pytest.raises(ValueError, match=match):
        validation.input_axes(_Named(), "axis", value, shape)


def test_input_axes_unknown_sizes_allowed_on_request():
    assert validation.input_axes(_Named(), "axis", 1, (None, None, 4), known_sizes=False) == [1]


# The layers: one behaviour, one message for the same mistake.

AXIS_LAYERS = {
    "ANAct": lambda **kw: keras_lcw.ANAct("relu", **kw),
    "Linked": lambda **kw: keras_lcw.Linked("relu", **kw),
    "LinkedReLU": lambda **kw: keras_lcw.LinkedReLU(**kw),
    "LinkedSELU": lambda **kw: keras_lcw.LinkedSELU(**kw),
    "LinkedSwish": lambda **kw: keras_lcw.LinkedSwish(**kw),
    "LinkedGELU": lambda **kw: keras_lcw.LinkedGELU(**kw),
    "LinkedPReLU": lambda **kw: keras_lcw.LinkedPReLU(**kw),
    "InputMeanNormalization": lambda **kw: keras_lcw.InputMeanNormalization(**kw),
}


@pytest.mark.parametrize("layer", sorted(AXIS_LAYERS))
@pytest.mark.parametrize("axis", [True, False, 1.5, "channels"])
def test_every_layer_refuses_the_same_bad_axis(layer, axis):
    with pytest.raises(ValueError, match=r"`axis` must be .*integer.*; received axis=" + re.escape(repr(axis)) + r"\.$"):
        AXIS_LAYERS[layer](axis=axis)


MOMENTUM_LAYERS = {
    "ANAct": lambda **kw: keras_lcw.ANAct("relu", **kw),
    "InputMeanNormalization": lambda **kw: keras_lcw.InputMeanNormalization(**kw),
}


@pytest.mark.parametrize("layer", sorted(MOMENTUM_LAYERS))
@pytest.mark.parametrize("momentum", ["0.9", "abc", True, 1.0, -0.1, float("nan")])
def test_every_layer_refuses_the_same_bad_momentum(layer, momentum):
    with pytest.raises(ValueError, match=_message("momentum", momentum, "a number in [0, 1)")):
        MOMENTUM_LAYERS[layer](momentum=momentum)


@pytest.mark.parametrize("layer", sorted(MOMENTUM_LAYERS))
@pytest.mark.parametrize("synchronized", [1, "yes", None])
def test_every_layer_refuses_the_same_bad_flag(layer, synchronized):
    with pytest.raises(ValueError, match=_message("synchronized", synchronized, "True or False")):
        MOMENTUM_LAYERS[layer](synchronized=synchronized)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: keras_lcw.ANAct(momentum="0.9"), _message("momentum", "0.9", "a number in [0, 1)")),
        (lambda: keras_lcw.ANAct(axis=1.5), _message("axis", 1.5, "None, an integer or a non-empty list of distinct integers")),
        (lambda: keras_lcw.ANAct(axis=True), _message("axis", True, "None, an integer or a non-empty list of distinct integers")),
        (lambda: keras_lcw.ANAct(axis=[1, 1]), _message("axis", [1, 1], "None, an integer or a non-empty list of distinct integers")),
        (lambda: keras_lcw.ANAct(epsilon=float("inf")), _message("epsilon", float("inf"), "a finite number greater than 0, from 1.175e-38 to 3.403e+38 (float32's normal range)")),
        (lambda: keras_lcw.ANAct(epsilon="1e-6"), _message("epsilon", "1e-6", "a finite number greater than 0, from 1.175e-38 to 3.403e+38 (float32's normal range)")),
        (lambda: keras_lcw.ANAct(adaptive=1), _message("adaptive", 1, "True or False")),
        (lambda: keras_lcw.InputMeanNormalization(momentum="abc"), _message("momentum", "abc", "a number in [0, 1)")),
        (lambda: keras_lcw.InputMeanNormalization(axis=[1]), _message("axis", [1], "an integer")),
        (lambda: keras_lcw.LinkedPReLU(shared_axes="a"), _message("shared_axes", "a", "None, an integer or a non-empty list of distinct integers")),
        (lambda: keras_lcw.LinkedPReLU(shared_axes=[1, True]), _message("shared_axes", [1, True], "None, an integer or a non-empty list of distinct integers")),
        (lambda: keras_lcw.LinkedPReLU(shared_axes=[]), _message("shared_axes", [], "None, an integer or a non-empty list of distinct integers")),
    ],
)
def test_known_bad_arguments_fail_in_init(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_canonical_values_are_stored_and_round_trip():
    layer = keras_lcw.ANAct("relu", axis=np.int64(-1), momentum=np.float32(0.5), epsilon=1)
    config = layer.get_config()
    assert (config["axis"], config["momentum"], config["epsilon"]) == ([-1], 0.5, 1.0)
    assert type(config["epsilon"]) is float
    prelu = keras_lcw.LinkedPReLU(shared_axes=(1, 2))
    assert prelu.get_config()["shared_axes"] == [1, 2]
    assert keras_lcw.LinkedPReLU(shared_axes=2).get_config()["shared_axes"] == [2]


def test_prelu_shared_axes_are_checked_against_the_input_at_build():
    with pytest.raises(ValueError, match=r"every entry of `shared_axes` must be a non-batch axis.*received shared_axes=\[3\]"):
        keras_lcw.LinkedPReLU(shared_axes=[3]).build((None, 3, 4))
    with pytest.raises(ValueError, match=r"`shared_axes` must name distinct axes"):
        keras_lcw.LinkedPReLU(shared_axes=[1, -2]).build((None, 3, 4))
    # Negative axes count from the end, as everywhere else.
    layer = keras_lcw.LinkedPReLU(shared_axes=-2)
    layer.build((None, 3, 4))
    assert tuple(layer.positive_alpha.shape) == (1, 4)



@pytest.mark.parametrize("value", [0, 0.0, 0.3, np.float32(2.5), 7])
def test_non_negative_float_accepts_finite_numbers_from_zero(value):
    got = validation.non_negative_float("gain_range", value)
    assert got == float(value) and type(got) is float


@pytest.mark.parametrize("value", [-0.1, 1e39, float("inf"), float("nan"), True, "0.3", None])
def test_non_negative_float_refuses_everything_else(value):
    with pytest.raises(ValueError, match=_message("gain_range", value, "a finite number greater than or equal to 0, at most 3.403e+38 (float32's largest)")):
        validation.non_negative_float("gain_range", value)


@pytest.mark.parametrize("value, expected", [(None, None), (1, 1.0), (2.5, 2.5), (np.float64(3.0), 3.0)])
def test_optional_float_at_least_accepts_none_and_numbers_from_the_minimum(value, expected):
    got = validation.optional_float_at_least("max_scale", value, 1.0)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("value", [0.99, 0, -1, float("inf"), float("nan"), True, "2"])
def test_optional_float_at_least_refuses_everything_else(value):
    with pytest.raises(ValueError, match=_message("max_scale", value, "None or a finite number of at least 1")):
        validation.optional_float_at_least("max_scale", value, 1.0)


def test_choice_accepts_only_the_options():
    assert validation.choice("combination", "arithmetic", ("geometric", "arithmetic")) == "arithmetic"
    for value in ("Arithmetic", "", None, 1, ["geometric"]):
        with pytest.raises(ValueError, match=_message("combination", value, "one of 'geometric', 'arithmetic'")):
            validation.choice("combination", value, ("geometric", "arithmetic"))


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda: keras_lcw.WeightNormDense(3, name="layer"), (2, 4)),
        (lambda: keras_lcw.GmPConv1D(2, 2, name="layer"), (1, 3, 4)),
        (lambda: keras_lcw.InputMeanNormalization(name="layer"), (2, 4)),
        (lambda: keras_lcw.ANAct("tanh", name="layer"), (2, 4)),
        (lambda: keras_lcw.LinkedPReLU(name="layer"), (2, 4)),
    ],
)
def test_complex_inputs_are_refused(make, shape):
    layer = make()
    with pytest.raises(TypeError, match=rf"{type(layer).__name__} 'layer' takes real inputs .*received inputs of dtype complex64"):
        layer(np.ones(shape, "complex64"))
