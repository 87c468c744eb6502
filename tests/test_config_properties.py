"""Property-based tests (hypothesis) of the layers' configs and of ANAct's
factor.

- Every public layer class, with random valid arguments:
  get_config -> from_config -> get_config gives the same config, also
  through JSON.
- ANAct, adaptive, in training mode, for every built-in elementwise
  activation and inputs of any size from 1e-6 to 1e30: its factor is finite
  and positive, and its outputs are finite where the activation's are.
"""

import json

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import keras_lcw
from keras_lcw import parameterizations
from keras_lcw.numerics import derivatives
from tests.harness import to_numpy

SETTINGS = settings(
    max_examples=10 if keras.backend.backend() == "jax" else 20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

ACTIVATIONS = st.sampled_from([None, "linear", "relu", "tanh", "sigmoid", "gelu", "swish", "selu", "elu", "softplus"])
ELEMENTWISE = st.sampled_from(derivatives.BUILT_IN_NAMES)
INITIALIZERS = st.sampled_from(["glorot_uniform", "he_normal", "lecun_normal", "orthogonal"])
MOMENTUM = st.floats(0.0, 1.0, exclude_max=True)
EPSILON = st.floats(1e-12, 1e3)
# Axes of a rank-4 input (batch, 3 more).
AXIS = st.sampled_from([1, 2, 3, -1, -2, -3])
AXES = st.one_of(st.none(), AXIS, st.lists(st.sampled_from([1, 2, 3]), min_size=1, max_size=3, unique=True))


def _dense(data_init=False):
    kwargs = dict(
        units=st.integers(1, 16),
        activation=ACTIVATIONS,
        use_bias=st.booleans(),
        kernel_initializer=st.one_of(st.none(), INITIALIZERS),
        bias_initializer=st.sampled_from(["zeros", "ones"]),
    )
    if data_init:
        kwargs["data_init"] = st.booleans()
    return st.fixed_dictionaries(kwargs)


def _conv(rank, data_init=False):
    kwargs = dict(
        filters=st.integers(1, 16),
        kernel_size=st.one_of(st.integers(1, 3), st.tuples(*[st.integers(1, 3)] * rank)),
        strides=st.integers(1, 2),
        padding=st.sampled_from(["valid", "same", "causal"] if rank == 1 else ["valid", "same"]),
        activation=ACTIVATIONS,
        use_bias=st.booleans(),
        kernel_initializer=st.one_of(st.none(), INITIALIZERS),
    )
    if data_init:
        kwargs["data_init"] = st.booleans()
    return st.fixed_dictionaries(kwargs)


def _with_parameterization(strategy):
    names = st.sampled_from(sorted(parameterizations.PARAMETERIZATIONS))
    return st.tuples(strategy, names).map(lambda t: {**t[0], "parameterization": t[1]})


# Class name -> strategy of valid constructor arguments.
STRATEGIES = {
    "LCWDense": _dense(),
    "GmPDense": _dense(),
    "WeightNormDense": _dense(data_init=True),
    "CenteredWeightNormDense": _dense(data_init=True),
    "ReparameterizedDense": _with_parameterization(_dense()),
    "InputMeanNormalization": st.fixed_dictionaries(
        dict(axis=AXIS, momentum=MOMENTUM, moving_mean_initializer=st.sampled_from(["zeros", "ones"]), synchronized=st.booleans())
    ),
    "ANAct": st.fixed_dictionaries(
        dict(
            activation=ELEMENTWISE, adaptive=st.booleans(), axis=AXES, momentum=MOMENTUM, epsilon=EPSILON,
            synchronized=st.booleans(), center=st.booleans(), combination=st.sampled_from(["geometric", "arithmetic"]),
            forward_statistic=st.sampled_from(["second_moment", "variance"]),
            gain_range=st.floats(0.0, 1.0), statistics_gradient=st.booleans(),
            max_scale=st.one_of(st.none(), st.floats(1.0, 100.0)),
        )
    ),
    "Linked": st.fixed_dictionaries(dict(activation=ELEMENTWISE, axis=AXIS)),
    "LinkedPReLU": st.fixed_dictionaries(
        dict(
            axis=AXIS,
            alpha_initializer=st.sampled_from(["zeros", "ones", "glorot_uniform"]),
            shared_axes=st.one_of(st.none(), st.lists(st.sampled_from([1, 2]), min_size=1, max_size=2, unique=True)),
        )
    ),
}
for _rank in (1, 2, 3):
    STRATEGIES[f"LCWConv{_rank}D"] = _conv(_rank)
    STRATEGIES[f"GmPConv{_rank}D"] = _conv(_rank)
    STRATEGIES[f"WeightNormConv{_rank}D"] = _conv(_rank, data_init=True)
    STRATEGIES[f"CenteredWeightNormConv{_rank}D"] = _conv(_rank, data_init=True)
    STRATEGIES[f"ReparameterizedConv{_rank}D"] = _with_parameterization(_conv(_rank))
for _name in ("LinkedReLU", "LinkedSELU", "LinkedSwish", "LinkedGELU"):
    STRATEGIES[_name] = st.fixed_dictionaries(dict(axis=AXIS))


SCALAR_ARGUMENTS = {
    "units", "filters", "use_bias", "padding", "parameterization", "data_init",
    "momentum", "epsilon", "adaptive", "synchronized", "center", "combination",
    "forward_statistic", "gain_range", "statistics_gradient", "max_scale",
}


def _public_layer_classes():
    classes = {}
    for module in (keras_lcw, keras_lcw.layers, keras_lcw.activations):
        for name in dir(module):
            value = getattr(module, name)
            if isinstance(value, type) and issubclass(value, keras.layers.Layer):
                classes[value.__name__] = value
    return classes


CLASSES = _public_layer_classes()


def test_every_public_layer_class_has_a_strategy():
    assert sorted(STRATEGIES) == sorted(CLASSES)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
@SETTINGS
@given(data=st.data())
def test_config_round_trips(name, data):
    cls = CLASSES[name]
    kwargs = data.draw(STRATEGIES[name], label="arguments")
    layer = cls(**kwargs)
    config = layer.get_config()
    # The config holds the arguments given (a round trip alone would not
    # see an argument that get_config drops or replaces).
    for key in SCALAR_ARGUMENTS & set(kwargs):
        assert config[key] == kwargs[key], key
    if "axis" in kwargs:
        axis = kwargs["axis"]
        assert config["axis"] in (axis, [axis] if isinstance(axis, int) else axis)
    text = json.dumps(config, sort_keys=True)
    restored = cls.from_config(json.loads(text))
    assert restored.get_config() == config
    assert json.dumps(restored.get_config(), sort_keys=True) == text
    # The full serialization, as in a .keras file.
    serialized = json.dumps(keras.saving.serialize_keras_object(layer), sort_keys=True)
    again = keras.saving.deserialize_keras_object(json.loads(serialized))
    assert type(again) is cls
    assert json.dumps(keras.saving.serialize_keras_object(again), sort_keys=True) == serialized


@pytest.mark.parametrize("activation", derivatives.BUILT_IN_NAMES)
@SETTINGS
@given(
    log_scale=st.floats(-6.0, 30.0), seed=st.integers(0, 2**16), per_channel=st.booleans(),
    preset=st.sampled_from(sorted(set(keras_lcw.ANAct.PRESETS) - {"static"})),
)
def test_adaptive_anact_factor_is_finite_and_positive(activation, log_scale, seed, per_channel, preset):
    x = (np.random.default_rng(seed).normal(size=(16, 4)) * 10.0**log_scale).astype("float32")
    # momentum=0: after one training call, the moving ratios are the batch's
    # where those are finite (else they are kept), i.e. those the call used.
    layer = keras_lcw.ANAct.from_preset(preset, activation, momentum=0.0, axis=-1 if per_channel else None)
    y = to_numpy(layer(x, training=True))
    forward, backward = to_numpy(layer.forward_ratio), to_numpy(layer.backward_ratio)
    assert np.all(np.isfinite(forward)) and np.all(forward >= 0), forward
    assert np.all(np.isfinite(backward)) and np.all(backward >= 0), backward
    scale = to_numpy(layer.scale(layer.forward_ratio, layer.backward_ratio))
    assert np.all(np.isfinite(scale)) and np.all(scale > 0), scale
    fx = to_numpy(keras.activations.get(activation)(x))
    finite = np.isfinite(fx)
    assert np.all(np.isfinite(y[finite])), (activation, log_scale)


def test_anact_factor_where_the_product_of_the_ratios_overflows():
    # exponential on inputs of size ~18: rho ~ 1e32 and rho' ~ 1e34 are
    # finite, their product is not in float32; the factor was 0 (and every
    # output 0).
    x = (np.random.default_rng(0).normal(size=(16, 4)) * 10.0**1.25).astype("float32")
    layer = keras_lcw.ANAct.from_preset("geometric", "exponential", momentum=0.0)
    layer(x, training=True)
    forward, backward = to_numpy(layer.forward_ratio), to_numpy(layer.backward_ratio)
    assert np.isfinite(forward) and np.isfinite(backward)
    assert not np.isfinite(np.float32(forward) * np.float32(backward))
    scale = to_numpy(layer.scale(layer.forward_ratio, layer.backward_ratio))
    np.testing.assert_allclose(scale, (float(forward) * float(backward)) ** -0.25, rtol=1e-5)
