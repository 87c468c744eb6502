import keras
import numpy as np
import pytest

import keras_lcw
from tests.harness import LayerContract
from tests.harness import LayerSpec
from tests.harness import perturb_variables
from tests.harness import to_numpy
from tests.test_anact import REFERENCE
from tests.test_anact import DenseThenLayerSpec
from tests.test_anact import MaskFrom

BACKEND = keras.backend.backend()


class TestLinkedContract(LayerContract):
    SPECS = [
        DenseThenLayerSpec(keras_lcw.Linked, dict(activation="elu", axis=1), (3, 4), trainable=0),
        DenseThenLayerSpec(keras_lcw.LinkedReLU, dict(axis=-2), (3, 4), trainable=0),
        DenseThenLayerSpec(keras_lcw.LinkedSELU, dict(name="lk_selu"), (5,), trainable=0),
        DenseThenLayerSpec(keras_lcw.LinkedSwish, dict(axis=1), (5,), trainable=0),
        DenseThenLayerSpec(keras_lcw.LinkedGELU, dict(axis=2), (2, 3), trainable=0),
        LayerSpec(keras_lcw.LinkedPReLU, dict(alpha_initializer="ones", shared_axes=[1]), (3, 4), trainable=2),
        LayerSpec(keras_lcw.LinkedPReLU, dict(axis=1, alpha_regularizer="l2"), (3, 2, 2), trainable=2, id="LinkedPReLU-channels_first"),
    ]


@pytest.mark.parametrize(
    "layer, name",
    [
        (lambda: keras_lcw.Linked("tanh", axis=1), "tanh"),
        (lambda: keras_lcw.LinkedReLU(axis=1), "relu"),
        (lambda: keras_lcw.LinkedSELU(axis=1), "selu"),
        (lambda: keras_lcw.LinkedSwish(axis=1), "swish"),
        (lambda: keras_lcw.LinkedGELU(axis=1), "gelu"),
    ],
    ids=["tanh", "relu", "selu", "swish", "gelu"],
)
def test_matches_numpy_reference_channels_first(layer, name):
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 4)).astype("float32")
    g = REFERENCE[name][0]
    expected = np.concatenate([g(x.astype("float64")), g(-x.astype("float64"))], axis=1)
    y = to_numpy(layer()(x))
    assert y.shape == (2, 6, 4, 4)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.backends("tensorflow")
@pytest.mark.parametrize("axis", [-1, 1])
def test_linked_relu_equals_tf_crelu(axis):
    import tensorflow as tf

    x = np.random.default_rng(1).normal(size=(4, 3, 5)).astype("float32")
    np.testing.assert_array_equal(
        to_numpy(keras_lcw.LinkedReLU(axis=axis)(x)), tf.nn.crelu(x, axis=axis).numpy()
    )


def test_at_least_one_half_has_a_gradient_everywhere():
    # The linking property: one of g(x), g(-x) always has a non-zero slope.
    from keras_lcw import backend_utils

    # Away from 0, where both one-sided slopes are a convention.
    x = np.linspace(-3, 3, 60).astype("float32").reshape(1, -1)
    layer = keras_lcw.LinkedReLU()
    positive = lambda t: layer(t)[:, :60]  # noqa: E731
    negative = lambda t: layer(t)[:, 60:]  # noqa: E731
    _, d_positive = backend_utils.value_and_elementwise_derivative(positive, x)
    _, d_negative = backend_utils.value_and_elementwise_derivative(negative, x)
    assert np.all(np.abs(to_numpy(d_positive)) + np.abs(to_numpy(d_negative)) > 0)


def test_prelu_reference_and_both_slope_sets_train_and_save(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(16, 3)).astype("float32")
    layer = keras_lcw.LinkedPReLU(alpha_initializer=keras.initializers.Constant(0.1))
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3), layer, keras.layers.Dense(2)])
    model.layers[1].positive_alpha.assign(np.array([0.1, 0.2, 0.3], "float32"))
    h = to_numpy(model.layers[0](x)).astype("float64")
    a, b = np.array([0.1, 0.2, 0.3]), np.full(3, 0.1)
    prelu = lambda t, s: np.maximum(t, 0) + s * np.minimum(t, 0)  # noqa: E731
    np.testing.assert_allclose(to_numpy(layer(h.astype("float32"))), np.concatenate([prelu(h, a), prelu(-h, b)], axis=-1), rtol=1e-5, atol=1e-6)
    model.compile(keras.optimizers.SGD(0.1), "mse", jit_compile="auto")
    before = [to_numpy(layer.positive_alpha), to_numpy(layer.negative_alpha)]
    model.fit(x, rng.normal(size=(16, 2)).astype("float32"), epochs=3, batch_size=8, verbose=0)
    after = [to_numpy(layer.positive_alpha), to_numpy(layer.negative_alpha)]
    for b0, a0 in zip(before, after):
        assert np.all(b0 != a0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(to_numpy(loaded.layers[1].negative_alpha), after[1])
    np.testing.assert_array_equal(to_numpy(loaded(x)), to_numpy(model(x)))


def test_compute_mask_follows_the_axis():
    x = np.random.default_rng(3).normal(size=(2, 4, 3)).astype("float32")
    mask = np.array([[True, True, False, False], [True, False, False, False]])
    channel = keras_lcw.LinkedReLU()
    np.testing.assert_array_equal(to_numpy(channel.compute_mask(x, mask)), mask)
    time = keras_lcw.LinkedReLU(axis=1)
    np.testing.assert_array_equal(to_numpy(time.compute_mask(x, mask)), np.concatenate([mask, mask], axis=1))
    assert channel.compute_mask(x, None) is None


@pytest.mark.parametrize("axis", [-1, 1], ids=["channels", "time"])
def test_masked_steps_are_ignored_downstream(axis):
    # [x, mask] -> LinkedReLU -> GlobalAveragePooling1D, whose masked mean
    # must not see the padded steps, whatever their values: the mask has to
    # pass through the linked layer (doubled along the time axis).
    rng = np.random.default_rng(3)
    steps, features = 5, 3
    mask = np.array([[True, True, True, False, False], [True, False, True, True, False]])
    x = rng.normal(size=(2, steps, features)).astype("float32")
    other = x.copy()
    other[~mask] = rng.normal(size=(int((~mask).sum()), features)) * 100.0 + 50.0
    assert not np.allclose(x[~mask], other[~mask])

    inputs = keras.Input((steps, features))
    mask_input = keras.Input((steps,), dtype="bool")
    h = MaskFrom()([inputs, mask_input])
    h = keras_lcw.LinkedReLU(axis=axis)(h)
    model = keras.Model([inputs, mask_input], keras.layers.GlobalAveragePooling1D()(h))
    y = to_numpy(model([x, mask]))
    y_other = to_numpy(model([other, mask]))

    halves = [np.maximum(x, 0), np.maximum(-x, 0)]
    weights = mask[..., None].astype("float64")
    if axis == -1:
        linked = np.concatenate(halves, axis=-1)
        expected = (linked * weights).sum(axis=1) / weights.sum(axis=1)
    else:
        expected = sum((h_ * weights).sum(axis=1) for h_ in halves) / (2 * weights.sum(axis=1))
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y_other, y, rtol=1e-5, atol=1e-6)
    # Without the mask the padding shows: the comparison above can fail.
    unmasked = keras.Sequential([keras.Input((steps, features)), keras_lcw.LinkedReLU(axis=axis), keras.layers.GlobalAveragePooling1D()])
    assert np.max(np.abs(to_numpy(unmasked(other)) - y)) > 1.0


def test_embedding_mask_reaches_the_pooling():
    # Token 0 is padding; the pooled output is the mean over real tokens.
    inputs = keras.Input((4,), dtype="int32")
    embedding = keras.layers.Embedding(10, 3, mask_zero=True)
    h = keras_lcw.LinkedReLU()(embedding(inputs))
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling1D()(h))
    tokens = np.array([[1, 2, 0, 0], [3, 0, 0, 0]])
    table = to_numpy(embedding.embeddings).astype("float64")
    linked = np.concatenate([np.maximum(table, 0), np.maximum(-table, 0)], axis=-1)
    expected = np.stack([linked[[1, 2]].mean(axis=0), linked[[3]].mean(axis=0)])
    np.testing.assert_allclose(to_numpy(model(tokens)), expected, rtol=1e-5, atol=1e-6)


def test_output_shape_and_parameter_count_of_the_next_layer():
    layer = keras_lcw.LinkedReLU(axis=1)
    assert layer.compute_output_shape((None, 3, 8, 8)) == (None, 6, 8, 8)
    assert keras_lcw.Linked("tanh").compute_output_shape((None, None, 5)) == (None, None, 10)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8), keras_lcw.LinkedSELU(), keras.layers.Dense(8)])
    assert model.layers[-1].kernel.shape == (16, 8)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: keras_lcw.Linked("softmax"), "elementwise"),
        (lambda: keras_lcw.Linked("relu", axis=None), "axis"),
        (lambda: keras_lcw.LinkedReLU(axis=1.5), "axis"),
    ],
)
def test_bad_arguments_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("axis, shape", [(0, (None, 3)), (2, (None, 3)), (-3, (None, 3))])
def test_bad_axes_for_the_input_are_refused(axis, shape):
    with pytest.raises(ValueError, match="non-batch axis"):
        keras_lcw.Linked(axis=axis).build(shape)
    with pytest.raises(ValueError, match="non-batch axis"):
        keras_lcw.LinkedPReLU(axis=axis).build(shape)


def test_prelu_bad_shared_axes_are_refused():
    with pytest.raises(ValueError, match="shared_axes"):
        keras_lcw.LinkedPReLU(shared_axes=[0]).build((None, 3, 4))
    with pytest.raises(ValueError, match="known sizes"):
        keras_lcw.LinkedPReLU().build((None, None, 4))


def test_prelu_called_on_another_shape_is_refused_by_its_input_spec():
    layer = keras_lcw.LinkedPReLU(shared_axes=[1])
    layer(np.ones((2, 3, 4), "float32"))
    # The shared axis may change; the others hold weights.
    assert tuple(layer(np.ones((2, 6, 4), "float32")).shape) == (2, 6, 8)
    with pytest.raises(ValueError, match="expected axis 2 of input shape to have value 4"):
        layer(np.ones((2, 3, 5), "float32"))
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=2"):
        layer(np.ones((2, 4), "float32"))


@pytest.mark.parametrize("make", [lambda: keras_lcw.Linked("swish"), keras_lcw.LinkedReLU, keras_lcw.LinkedGELU, keras_lcw.LinkedPReLU])
@pytest.mark.parametrize("dtype", ["int32", "bool"])
def test_integer_and_bool_inputs_are_cast_to_the_compute_dtype(make, dtype):
    x = np.array([[0, 1, 1, 0], [1, 0, 2, 3]]).astype(dtype)
    layer = make()
    y = layer(x)
    assert keras.backend.standardize_dtype(y.dtype) == "float32"
    np.testing.assert_allclose(to_numpy(y), to_numpy(make()(x.astype("float32"))), rtol=1e-6)


def test_layers_are_exported():
    for name in ["Linked", "LinkedReLU", "LinkedSELU", "LinkedSwish", "LinkedGELU", "LinkedPReLU"]:
        assert getattr(keras_lcw, name) is getattr(keras_lcw.activations, name)
        assert keras.saving.get_registered_object(f"keras_lcw>{name}") is getattr(keras_lcw, name)


def test_bake_clones_linked_and_anact_layers():
    # Neither has a single plain Keras equivalent: bake() keeps them, with
    # their weights and state.
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4), keras_lcw.LinkedPReLU(), keras_lcw.ANAct("tanh"), keras.layers.Dense(2)])
    perturb_variables(model)
    baked = keras_lcw.bake(model)
    assert [type(layer) for layer in baked.layers] == [type(layer) for layer in model.layers]
    x = np.random.default_rng(4).normal(size=(3, 4)).astype("float32")
    np.testing.assert_array_equal(to_numpy(baked(x)), to_numpy(model(x)))


@pytest.mark.parametrize("name, activation", [("LinkedReLU", "relu"), ("LinkedSELU", "selu"), ("LinkedSwish", "silu"), ("LinkedGELU", "gelu")])
def test_named_layers_are_classes_with_the_saved_names_and_configs(name, activation):
    import inspect

    cls = getattr(keras_lcw, name)
    # A class statement in linked.py, with its own docstring, which saved
    # files find by the same registered name and config as always.
    assert cls.__qualname__ == name and cls.__module__ == "keras_lcw.activations.linked"
    assert f"class {name}(" in inspect.getsource(cls)
    assert cls.__doc__.startswith(f"Linked {name[6:]}")
    layer = cls(axis=1, name="probe")
    serialized = keras.saving.serialize_keras_object(layer)
    assert serialized["registered_name"] == f"keras_lcw>{name}"
    assert sorted(serialized["config"]) == ["axis", "dtype", "name", "trainable"]
    assert layer.activation is keras.activations.get(activation)
    assert isinstance(layer, keras_lcw.Linked)
