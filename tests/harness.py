"""The shared test harness: the contract every keras_lcw layer is tested for.

A test class subclasses `LayerContract` and lists `SPECS`; every test below
then runs once per spec (see conftest.py). Layer-specific reference-output and
invariant tests live beside it in the layer's own test module.
"""

import dataclasses
import json

import keras
import numpy as np
from keras import ops

BACKEND = keras.backend.backend()


@dataclasses.dataclass
class LayerSpec:
    """One layer configuration to run the contract on.

    Attributes:
        cls: the layer class.
        kwargs: constructor arguments; use non-default values.
        input_shape: the input shape without the batch axis.
        trainable: expected number of trainable weights after build.
        non_trainable: expected number of non-trainable weights after build.
        batch_size: the batch size of the test inputs.
        id: the test id suffix (defaults to the class name).
    """

    cls: type
    kwargs: dict
    input_shape: tuple
    trainable: int
    non_trainable: int = 0
    batch_size: int = 4
    id: str = None

    def make(self, **overrides):
        return self.cls(**{**self.kwargs, **overrides})

    def inputs(self, seed=0, dtype="float32"):
        rng = np.random.default_rng(seed)
        shape = (self.batch_size,) + tuple(self.input_shape)
        return rng.normal(size=shape).astype(dtype)

    def model(self, **overrides):
        return keras.Sequential(
            [keras.Input(self.input_shape), self.make(**overrides)]
        )

    @property
    def test_id(self):
        return self.id or self.cls.__name__


def to_numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def perturb_variables(model, seed=1):
    """Assigns every variable a non-default value that keeps its sign.

    Adds a positive offset so that zero-initialized variables change and
    positive state (variances, radii) stays positive.
    """
    rng = np.random.default_rng(seed)
    for variable in model.variables:
        value = to_numpy(variable)
        offset = rng.uniform(0.1, 0.5, size=value.shape).astype(value.dtype)
        variable.assign(value + offset)


def assert_same_variables(a, b):
    assert len(a.variables) == len(b.variables)
    for va, vb in zip(a.variables, b.variables):
        np.testing.assert_array_equal(
            to_numpy(va), to_numpy(vb), err_msg=f"variable {va.path}"
        )


class LayerContract:
    """Tests every keras_lcw layer must pass; subclasses set SPECS."""

    SPECS = ()

    def test_config_round_trip(self, spec):
        layer = spec.make()
        config = layer.get_config()
        restored = spec.cls.from_config(json.loads(json.dumps(config)))
        assert restored.get_config() == config

    def test_serialize_deserialize(self, spec):
        layer = spec.make()
        serialized = keras.saving.serialize_keras_object(layer)
        restored = keras.saving.deserialize_keras_object(
            json.loads(json.dumps(serialized))
        )
        assert type(restored) is spec.cls
        assert restored.get_config() == layer.get_config()

    def test_build_weight_counts(self, spec):
        layer = spec.make()
        layer.build((None,) + tuple(spec.input_shape))
        assert len(layer.trainable_weights) == spec.trainable
        assert len(layer.non_trainable_weights) == spec.non_trainable

    def test_symbolic_and_eager_call(self, spec):
        layer = spec.make()
        symbolic = layer(keras.KerasTensor((None,) + tuple(spec.input_shape)))
        eager = layer(spec.inputs())
        assert tuple(symbolic.shape)[1:] == tuple(eager.shape)[1:]
        assert symbolic.dtype == "float32"
        assert keras.backend.standardize_dtype(eager.dtype) == "float32"
        expected = layer.compute_output_shape(
            (spec.batch_size,) + tuple(spec.input_shape)
        )
        assert tuple(eager.shape) == tuple(expected)

    def test_jit_fit_step(self, spec):
        model = spec.model()
        x = spec.inputs()
        y = np.ones_like(to_numpy(model(x)))
        # jit_compile="auto" compiles on TensorFlow and JAX, not on torch.
        model.compile(optimizer="sgd", loss="mse", jit_compile="auto")
        before = [to_numpy(v) for v in model.trainable_variables]
        history = model.fit(x, y, batch_size=spec.batch_size, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])
        after = [to_numpy(v) for v in model.trainable_variables]
        assert any(not np.array_equal(b, a) for b, a in zip(before, after))

    def test_mixed_precision(self, spec):
        x = spec.inputs()
        reference = spec.make()
        expected = to_numpy(reference(x))
        layer = spec.make(dtype="mixed_float16")
        layer(x)
        layer.set_weights(reference.get_weights())
        y = layer(x)
        assert keras.backend.standardize_dtype(y.dtype) == "float16"
        assert all(v.dtype == "float32" for v in layer.variables)
        # The float16 path computes what the float32 one does, to float16
        # rounding.
        scale = max(1.0, float(np.abs(expected).max()))
        np.testing.assert_allclose(to_numpy(y).astype("float32"), expected, rtol=1e-2, atol=1e-2 * scale)

    def test_keras_file_round_trip(self, spec, tmp_path):
        model = spec.model()
        perturb_variables(model)
        x = spec.inputs()
        path = str(tmp_path / "model.keras")
        model.save(path)
        loaded = keras.models.load_model(path)
        assert_same_variables(model, loaded)
        np.testing.assert_array_equal(to_numpy(model(x)), to_numpy(loaded(x)))

    def test_weights_file_round_trip(self, spec, tmp_path):
        model = spec.model()
        perturb_variables(model)
        x = spec.inputs()
        path = str(tmp_path / "model.weights.h5")
        model.save_weights(path)
        fresh = spec.model()
        fresh.load_weights(path)
        assert_same_variables(model, fresh)
        np.testing.assert_array_equal(to_numpy(model(x)), to_numpy(fresh(x)))


def value_and_gradients(fn, arrays):
    """`(fn(*arrays), [d fn / d array])` for a scalar `fn`, by the backend's
    automatic differentiation, as NumPy."""
    backend = keras.backend.backend()
    arrays = [np.asarray(a) for a in arrays]
    if backend == "tensorflow":
        import tensorflow as tf

        tensors = [tf.constant(a) for a in arrays]
        with tf.GradientTape() as tape:
            for t in tensors:
                tape.watch(t)
            value = fn(*tensors)
        grads = tape.gradient(value, tensors)
        return value.numpy(), [g.numpy() for g in grads]
    if backend == "jax":
        import jax

        value, grads = jax.value_and_grad(fn, argnums=tuple(range(len(arrays))))(*arrays)
        return np.asarray(value), [np.asarray(g) for g in grads]
    # On the device Keras computes on (a GPU where it uses one).
    tensors = [keras.ops.convert_to_tensor(a).detach().requires_grad_(True) for a in arrays]
    value = fn(*tensors)
    value.backward()
    return value.detach().cpu().numpy(), [t.grad.cpu().numpy() for t in tensors]


def finite_difference(fn, x, step=1e-6):
    """Central differences of the scalar NumPy function `fn` at `x`, entry
    by entry (in `x`'s dtype: pass float64)."""
    gradient = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += step
        down[index] -= step
        gradient[index] = (fn(up) - fn(down)) / (2 * step)
    return gradient


def assert_matches_reference_map(layer, x, reference, seed=0, rtol=2e-5, atol=2e-6):
    """Checks that the built `layer` computes, in value and in gradient with
    respect to its inputs and every trainable variable, what
    `reference(x, values)` computes from the variables' values by name (the
    reference forward map)."""
    layer_variables = list(layer.trainable_variables)
    names = [v.name for v in layer_variables]
    others = list(layer.non_trainable_variables)
    weights = np.random.default_rng(seed).normal(
        size=tuple(layer.compute_output_shape(x.shape))
    ).astype("float32")
    weights = np.asarray(weights)

    def through_layer(x, *values):
        out, _ = layer.stateless_call(list(values), [v.value for v in others], x)
        return keras.ops.sum(out * keras.ops.convert_to_tensor(weights))

    def through_reference(x, *values):
        named = dict(zip(names, values))
        named.update({v.name: v.value for v in others})
        return keras.ops.sum(reference(x, named) * keras.ops.convert_to_tensor(weights))

    arrays = [x] + [to_numpy(v) for v in layer_variables]
    value, grads = value_and_gradients(through_layer, arrays)
    expected_value, expected_grads = value_and_gradients(through_reference, arrays)
    np.testing.assert_allclose(value, expected_value, rtol=rtol, atol=atol)
    for name, g, e in zip(["inputs"] + names, grads, expected_grads):
        np.testing.assert_allclose(g, e, rtol=rtol, atol=atol, err_msg=name)
