"""ANAct on batches at the edges: inputs of any scale, batches whose
statistics cannot be taken, and the gradient through the statistics there."""

import keras
import numpy as np
import pytest
from keras import ops

import keras_lcw
from tests.harness import to_numpy
from tests.harness import value_and_gradients
from tests.test_anact_configurations import PUBLISHED
from tests.test_anact_configurations import _reference


def _state(layer):
    return [to_numpy(v).copy() for v in (layer.forward_ratio, layer.backward_ratio, layer.activation_mean)]


@pytest.mark.parametrize("name", ["relu", "tanh", "swish"])
@pytest.mark.parametrize("std", [1e-3, 1e-6, 1e-12])
def test_the_statistics_of_small_inputs_match_numpy(name, std):
    # rho = E[f^2] / Var[x] does not depend on the input's scale for relu,
    # and tends to 1 for tanh and 1/4 for swish: epsilon is no part of it.
    x = (std * np.random.default_rng(30).normal(size=(64, 4))).astype("float32")
    layer = keras_lcw.ANAct(name, **dict(PUBLISHED, momentum=0.0))
    y = to_numpy(layer(x, training=True))
    expected, (forward, backward, mean) = _reference(x.astype("float64"), name)
    np.testing.assert_allclose(to_numpy(layer.forward_ratio), forward, rtol=1e-4)
    np.testing.assert_allclose(to_numpy(layer.backward_ratio), backward, rtol=1e-4)
    np.testing.assert_allclose(to_numpy(layer.activation_mean), mean, rtol=1e-4, atol=1e-6 * std)
    np.testing.assert_allclose(y / std, expected / std, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "kwargs, x",
    [
        # One sample: each channel's variance over the batch is 0.
        (dict(PUBLISHED, axis=-1), np.array([[0.3, -1.2, 2.0, 0.01]], "float32")),
        # A constant batch, whose deviations from its mean are rounding.
        (dict(PUBLISHED, axis=-1), np.full((64, 4), 0.7, "float32")),
        (PUBLISHED, np.full((1000, 3), 1000.1, "float32")),
        # No input at all for the second moment.
        (dict(PUBLISHED, forward_statistic="second_moment"), np.zeros((8, 4), "float32")),
    ],
    ids=["one-sample", "constant", "constant-large", "zeros"],
)
@pytest.mark.parametrize("through", [True, False], ids=["through-statistics", "statistics-constant"])
@pytest.mark.parametrize("synchronized", [False, True], ids=["local", "synchronized"])
def test_a_batch_without_spread_leaves_the_moving_statistics_as_they_were(kwargs, x, through, synchronized):
    # Synchronized, the statistics take the path of replicas that
    # all-reduce them (on one replica here; tests/distributed_training.py
    # runs a constant batch across two).
    layer = keras_lcw.ANAct(
        "tanh",
        **dict(kwargs, momentum=0.5, statistics_gradient=through, synchronized=synchronized),
    )
    layer.build(x.shape)
    before = _state(layer)
    y = to_numpy(layer(x, training=True))
    for old, new in zip(before, _state(layer)):
        np.testing.assert_array_equal(new, old)
    np.testing.assert_allclose(y, to_numpy(layer(x, training=False)), rtol=1e-6, atol=1e-7)


def _gradients(layer, x, mask=None, weights=None):
    """d sum(w * layer(x)) / d (x, alpha), in training."""
    weights = np.random.default_rng(31).normal(size=x.shape).astype("float32") if weights is None else weights

    def loss(t, alpha):
        with keras.StatelessScope(state_mapping=[(layer.alpha, alpha)]):
            y = layer(t, training=True, mask=None if mask is None else ops.convert_to_tensor(mask))
        products = ops.where(ops.isfinite(y), y * ops.convert_to_tensor(weights), ops.zeros_like(y))
        return ops.sum(products)

    _, (dx, dalpha) = value_and_gradients(loss, [x, np.full(layer.alpha.shape, 0.4, "float32")])
    return dx, dalpha


@pytest.mark.parametrize(
    "axis, mask",
    [
        (None, np.zeros((3, 5), bool)),
        # Time step 4 is padding in every sequence.
        (1, np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 0], [1, 0, 0, 0, 0]], bool)),
    ],
    ids=["all-masked", "all-padding-step"],
)
def test_the_gradient_through_the_statistics_of_a_masked_batch_is_finite(axis, mask):
    x = np.random.default_rng(32).normal(size=(3, 5, 2)).astype("float32")
    layer = keras_lcw.ANAct("tanh", axis=axis)
    layer.build(x.shape)
    dx, dalpha = _gradients(layer, x, mask)
    assert np.isfinite(dx).all() and np.isfinite(dalpha).all()
    # The statistics of the kept entries still carry their gradient.
    if axis is not None:
        assert np.abs(dx[:, :4]).max() > 0


@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_the_gradient_through_the_statistics_of_an_infinite_input_is_finite(bad):
    x = np.random.default_rng(33).normal(size=(16, 3)).astype("float32")
    x[4, 1] = bad
    layer = keras_lcw.ANAct("tanh", axis=-1, momentum=0.5)
    layer.build(x.shape)
    before = _state(layer)
    dx, dalpha = _gradients(layer, x)
    assert np.isfinite(dx).all() and np.isfinite(dalpha).all()
    # Channel 1 is skipped, so it uses its moving statistics as constants:
    # the gradient of s * tanh(x - mu) alone. The other channels move.
    y = to_numpy(layer(x, training=True))
    after = _state(layer)
    for old, new in zip(before, after):
        assert new[1] == old[1]
        assert np.all(new[[0, 2]] != old[[0, 2]])
    assert np.isfinite(y).all()


def test_a_skipped_batch_in_a_compiled_fit_keeps_the_weights_finite():
    # A preceding Dense gets the gradient that flows through the statistics.
    x = np.random.default_rng(34).normal(size=(8, 5, 3)).astype("float32")
    mask = np.ones((8, 5), bool)
    mask[:, 3] = False
    inputs = keras.Input((5, 3))
    masked = keras.layers.Masking(mask_value=0.0)(inputs)
    outputs = keras_lcw.ANAct("tanh", axis=1)(keras.layers.Dense(3)(masked))
    model = keras.Model(inputs, outputs)
    model.compile("sgd", "mse", jit_compile="auto")
    x[~mask] = 0.0
    model.fit(x, np.ones_like(x), batch_size=8, epochs=2, verbose=0)
    for weight in model.weights:
        assert np.isfinite(to_numpy(weight)).all(), weight.path


@pytest.mark.parametrize("axis", [None, -1])
@pytest.mark.parametrize("synchronized", [False, True], ids=["local", "synchronized"])
def test_a_constant_pre_padded_batch_is_skipped(axis, synchronized):
    # Padding at the front, as keras.utils.pad_sequences makes it: the
    # first entry is masked.
    x = np.full((4, 6, 3), 0.7, "float32")
    x[:, :2] = 0.0
    mask = np.ones((4, 6), bool)
    mask[:, :2] = False
    layer = keras_lcw.ANAct("tanh", axis=axis, momentum=0.5, synchronized=synchronized)
    layer.build(x.shape)
    before = _state(layer)
    layer(x, training=True, mask=mask)
    for old, new in zip(before, _state(layer)):
        np.testing.assert_array_equal(new, old)


def test_an_infinite_masked_entry_leaves_the_gradient_finite():
    x = np.random.default_rng(35).normal(size=(4, 5, 2)).astype("float32")
    mask = np.ones((4, 5), bool)
    mask[0, 0] = False
    x[0, 0] = np.inf
    layer = keras_lcw.ANAct("tanh", axis=-1)
    layer.build(x.shape)
    dx, dalpha = _gradients(layer, x, mask)
    assert np.isfinite(dx).all() and np.isfinite(dalpha).all()
    assert np.abs(dx).max() > 0
