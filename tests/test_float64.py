"""ANAct and InputMeanNormalization compute in float64 where Keras has it.

Keras has float64 on TensorFlow and PyTorch, and on JAX only when
`jax_enable_x64` is set (without it JAX makes every float64 array float32).
On JAX without it, `test_float64_on_jax_with_x64` runs this file in a
process that sets JAX_ENABLE_X64=1.
"""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_lcw
from tests.harness import to_numpy
from tests.test_anact import REFERENCE
from tests.test_anact import _numpy_anact
from tests.test_anact_configurations import _combine
from tests.test_anact_configurations import _reference

BACKEND = keras.backend.backend()
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _has_float64():
    if BACKEND != "jax":
        return True
    import jax

    return bool(jax.config.jax_enable_x64)


needs_float64 = pytest.mark.skipif(
    not _has_float64(),
    reason="JAX without jax_enable_x64 has no float64 arrays; "
    "test_float64_on_jax_with_x64 runs these tests with JAX_ENABLE_X64=1",
)

TOLERANCE = dict(rtol=1e-12, atol=1e-12)


def _inputs(shape, seed, offset=0.0, float32_values=False):
    """Float64 inputs. Statistics computed in float32 would be off by far
    more than the tolerance. `fit()` casts float64 arrays to float32, so
    inputs for it are float32 values (exact in both)."""
    x = np.random.default_rng(seed).normal(size=shape) * 1.7 + 0.3 + offset
    if float32_values:
        x = x.astype("float32").astype("float64")
    return x


@needs_float64
@pytest.mark.parametrize(
    "name, axis, shape",
    # Activations whose value and derivative Keras computes to float64
    # accuracy on every backend (not gelu on TensorFlow, tanh on JAX, or
    # elu on PyTorch, whose derivative goes through ops.minimum(x, 0.0)).
    [("swish", None, (32, 6)), ("relu", -1, (16, 3, 5)), ("softplus", [1, 2], (16, 3, 4))],
)
def test_anact_float64_matches_a_float64_reference(name, axis, shape):
    x = _inputs(shape, 0)
    layer = keras_lcw.ANAct.from_preset("geometric", name, axis=axis, momentum=0.75, dtype="float64")
    layer.build(x.shape)
    assert layer.forward_ratio.dtype == "float64"
    initial = [to_numpy(layer.forward_ratio), to_numpy(layer.backward_ratio)]
    kept = [] if axis is None else [a % x.ndim for a in ([axis] if isinstance(axis, int) else axis)]
    reduce = tuple(a for a in range(x.ndim) if a not in kept)
    y = layer(x, training=True)
    assert keras.backend.standardize_dtype(y.dtype) == "float64"
    expected, forward, backward = _numpy_anact(x, name, None, kept)
    np.testing.assert_allclose(to_numpy(y), expected, **TOLERANCE)
    moved = [0.75 * initial[0] + 0.25 * forward.squeeze(axis=reduce), 0.75 * initial[1] + 0.25 * backward.squeeze(axis=reduce)]
    np.testing.assert_allclose(to_numpy(layer.forward_ratio), moved[0], **TOLERANCE)
    np.testing.assert_allclose(to_numpy(layer.backward_ratio), moved[1], **TOLERANCE)
    broadcast = [x.shape[a] if a in kept else 1 for a in range(x.ndim)]
    scale = ((moved[0] * moved[1] + 1e-6) ** -0.25).reshape(broadcast)
    np.testing.assert_allclose(to_numpy(layer(x, training=False)), scale * REFERENCE[name][0](x), **TOLERANCE)
    # The tolerance tells float64 from float32.
    rounded, _, _ = _numpy_anact(x.astype("float32").astype("float64"), name, None, kept)
    assert np.max(np.abs(rounded - expected)) > 1e-9


@needs_float64
@pytest.mark.parametrize("name", ["swish", "tanh"])
def test_default_anact_float64_matches_a_float64_reference(name):
    # The default bounds the factor (max_scale=1), centres and takes the
    # variance.
    x = _inputs((32, 4), 4)
    layer = keras_lcw.ANAct(name, momentum=0.0, dtype="float64")
    y = layer(x, training=True)
    assert keras.backend.standardize_dtype(y.dtype) == "float64"
    # The bound with the layer's quadrature of the Gaussian moments (tested
    # against integration to 1e-4 elsewhere).
    _, (forward, backward, mean) = _reference(x, name)
    bound = _combine(*layer.gaussian_ratios, "arithmetic")
    scale = min(_combine(forward, backward, "arithmetic"), bound)
    expected = scale * (REFERENCE[name][0](x) - mean)
    # Keras computes tanh of float64 in float32 on JAX.
    tolerance = dict(rtol=1e-6, atol=1e-6) if (name, BACKEND) == ("tanh", "jax") else TOLERANCE
    np.testing.assert_allclose(to_numpy(y), expected, **tolerance)
    np.testing.assert_allclose(to_numpy(layer.forward_ratio), forward, **tolerance)
    np.testing.assert_allclose(to_numpy(layer(x, training=False)), expected, **tolerance)


@needs_float64
def test_anact_float64_with_a_mask_and_in_a_compiled_fit_step():
    x = _inputs((4, 5, 3), 1, float32_values=True)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0], [1, 1, 0, 0, 0]], bool)
    layer = keras_lcw.ANAct.from_preset("geometric", "swish", momentum=0.0, dtype="float64")
    y = layer(x, training=True, mask=mask)
    expected, forward, backward = _numpy_anact(x[mask], "swish", None, [])
    scale = (forward.item() * backward.item() + 1e-6) ** -0.25
    np.testing.assert_allclose(to_numpy(y), scale * REFERENCE["swish"][0](x), **TOLERANCE)
    fresh = keras_lcw.ANAct.from_preset("geometric", "swish", momentum=0.0, dtype="float64")
    model = keras.Sequential([keras.Input((5, 3), dtype="float64"), fresh])
    model.compile("sgd", "mse", jit_compile="auto")
    model.fit(x, np.zeros_like(x), batch_size=4, epochs=1, verbose=0)
    _, forward, backward = _numpy_anact(x, "swish", None, [])
    np.testing.assert_allclose(to_numpy(fresh.forward_ratio), forward.item(), **TOLERANCE)
    np.testing.assert_allclose(to_numpy(fresh.backward_ratio), backward.item(), **TOLERANCE)


@needs_float64
def test_static_anact_float64():
    x = _inputs((8, 3), 2)
    layer = keras_lcw.ANAct.from_preset("geometric", "swish", adaptive=False, dtype="float64")
    y = layer(x)
    forward, backward = layer.gaussian_ratios
    expected = (forward * backward + 1e-6) ** -0.25 * REFERENCE["swish"][0](x)
    np.testing.assert_allclose(to_numpy(y), expected, **TOLERANCE)


@needs_float64
@pytest.mark.parametrize("axis, shape", [(-1, (16, 5)), (1, (8, 3, 4))])
def test_input_mean_normalization_float64_matches_a_float64_reference(axis, shape):
    x = _inputs(shape, 3, offset=1e3)
    layer = keras_lcw.InputMeanNormalization(axis=axis, momentum=0.5, moving_mean_initializer="ones", dtype="float64")
    y = layer(x, training=True)
    assert keras.backend.standardize_dtype(y.dtype) == "float64"
    assert layer.moving_mean.dtype == "float64"
    reduce = tuple(a for a in range(x.ndim) if a != axis % x.ndim)
    mean = x.mean(axis=reduce, keepdims=True)
    np.testing.assert_allclose(to_numpy(y), x - mean, **TOLERANCE)
    moving = 0.5 + 0.5 * mean.squeeze(axis=reduce)
    np.testing.assert_allclose(to_numpy(layer.moving_mean), moving, **TOLERANCE)
    shape = [1] * x.ndim
    shape[axis] = -1
    np.testing.assert_allclose(to_numpy(layer(x, training=False)), x - moving.reshape(shape), **TOLERANCE)
    assert np.max(np.abs(x.astype("float32").mean(axis=reduce) - mean.squeeze(axis=reduce))) > 1e-9


@needs_float64
def test_input_mean_normalization_float64_with_a_mask_and_in_a_compiled_fit_step():
    x = _inputs((3, 4, 2), 4, offset=1e3, float32_values=True)
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]], bool)
    layer = keras_lcw.InputMeanNormalization(momentum=0.0, dtype="float64")
    y = layer(x, training=True, mask=mask)
    np.testing.assert_allclose(to_numpy(y), x - x[mask].mean(axis=0), **TOLERANCE)
    fresh = keras_lcw.InputMeanNormalization(momentum=0.0, dtype="float64")
    model = keras.Sequential([keras.Input((4, 2), dtype="float64"), fresh])
    model.compile("sgd", "mse", jit_compile="auto")
    model.fit(x, np.zeros_like(x), batch_size=3, epochs=1, verbose=0)
    mean = x.reshape(-1, 2).mean(axis=0)
    np.testing.assert_allclose(to_numpy(fresh.moving_mean), mean, **TOLERANCE)
    assert np.max(np.abs(x.astype("float32").reshape(-1, 2).mean(axis=0) - mean)) > 1e-9


def _gmp_reference(x, angles, offset, radius):
    """r * (x u + lambda), u from the angles coordinate by coordinate."""
    u = np.empty((angles.shape[0] + 1, angles.shape[1]))
    sines = np.ones(angles.shape[1])
    for i, row in enumerate(angles):
        u[i] = sines * np.cos(row)
        sines = sines * np.sin(row)
    u[-1] = sines
    return radius * (x @ u + offset)


def _keras_matmul_keeps_float64():
    one_plus = keras.ops.convert_to_tensor(np.full((1, 1), 1.0 + 2.0**-40), "float64")
    return float(to_numpy(keras.ops.matmul(one_plus, one_plus))[0, 0]) != 1.0


@needs_float64
@pytest.mark.skipif(
    _has_float64() and not _keras_matmul_keeps_float64(),
    reason="keras.ops.matmul computes float64 in float32 on this backend "
    "(so does keras.layers.Dense(dtype='float64'))",
)
def test_reparameterized_layers_compute_in_float64():
    x = _inputs((5, 7), seed=3)
    # A float64 tensor: Keras converts float64 NumPy arrays to float32 on
    # some backends.
    t = keras.ops.convert_to_tensor(x, "float64")
    gmp = keras_lcw.GmPDense(4, activation=None, dtype="float64")
    y = to_numpy(gmp(t))
    assert y.dtype == np.float64
    expected = _gmp_reference(x, *(to_numpy(v) for v in (gmp.angles, gmp.offset, gmp.radius)))
    np.testing.assert_allclose(y, expected, **TOLERANCE)
    for layer in (keras_lcw.LCWDense(4, dtype="float64"), keras_lcw.WeightNormDense(4, dtype="float64")):
        y = to_numpy(layer(t))
        kernel = to_numpy(layer.kernel)
        assert y.dtype == kernel.dtype == np.float64
        np.testing.assert_allclose(y, x @ kernel + to_numpy(layer.bias), **TOLERANCE)


@needs_float64
def test_hyperspherical_inverse_and_gmp_conversion_keep_float64():
    vectors = keras.ops.convert_to_tensor(_inputs((6, 5), seed=4), "float64")
    angles, radius = keras_lcw.numerics.hyperspherical.to_hyperspherical(vectors)
    assert to_numpy(angles).dtype == to_numpy(radius).dtype == np.float64
    back = to_numpy(radius) * to_numpy(keras_lcw.numerics.hyperspherical.to_cartesian(angles))
    np.testing.assert_allclose(back, to_numpy(vectors), **TOLERANCE)
    model = keras.Sequential([
        keras.Input((6,), dtype="float64"), keras.layers.Dense(5, activation="relu", dtype="float64"),
    ])
    model.layers[0].bias.assign(_inputs((5,), seed=5))
    converted, _ = keras_lcw.convert(model, to="gmp")
    # Weights, not outputs: keras.ops.matmul computes float64 in float32 on
    # some backends.
    baked = keras_lcw.bake(converted).layers[0]
    for name in ("kernel", "bias"):
        np.testing.assert_allclose(to_numpy(getattr(baked, name)), to_numpy(getattr(model.layers[0], name)), **TOLERANCE)


@pytest.mark.slow
@pytest.mark.backends("jax")
def test_float64_on_jax_with_x64():
    if _has_float64():
        pytest.skip("jax_enable_x64 is on: the float64 tests ran in this process")
    env = dict(os.environ, JAX_ENABLE_X64="1", KERAS_BACKEND="jax")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", os.path.abspath(__file__), "-k", "not test_float64_on_jax_with_x64"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    assert "skipped" not in result.stdout and " passed" in result.stdout, result.stdout[-2000:]
