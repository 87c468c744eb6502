import keras
import numpy as np
import pytest
from keras import ops

from keras_lcw.numerics import hyperspherical
from tests.harness import finite_difference
from tests.harness import to_numpy


def _reference_cartesian(angles):
    """The defining formula, one coordinate at a time, in float64."""
    angles = np.asarray(angles, dtype="float64")
    n = angles.shape[0] + 1
    u = np.empty((n,) + angles.shape[1:])
    sines = np.ones(angles.shape[1:])
    for i in range(n - 1):
        u[i] = sines * np.cos(angles[i])
        sines = sines * np.sin(angles[i])
    u[n - 1] = sines
    return u


def _compiled(fn):
    """fn, compiled on JAX: op-by-op JAX compiles every small op per shape."""
    if keras.backend.backend() == "jax":
        import jax

        return jax.jit(fn)
    return fn


to_cartesian = _compiled(hyperspherical.to_cartesian)
to_hyperspherical = _compiled(hyperspherical.to_hyperspherical)


def _reference_gradient(angles, weights):
    """d/dt sum(w * u(t)) of the float64 reference, by central differences."""
    return finite_difference(
        lambda t: np.sum(_reference_cartesian(t) * weights), angles.astype("float64")
    )


def _gradient(fn, x):
    """The gradient of the scalar fn(x) with the backend's autodiff."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = fn(x)
        return tape.gradient(y, x).numpy()
    if backend == "jax":
        import jax

        return np.asarray(jax.jit(jax.grad(fn))(x))
    import torch

    x = torch.tensor(x, requires_grad=True)
    fn(x).backward()
    return x.grad.numpy()


@pytest.mark.parametrize("n", [2, 3, 9])
def test_matches_reference_and_has_unit_norm(n):
    rng = np.random.default_rng(n)
    angles = rng.uniform(-np.pi, np.pi, size=(n - 1, 5)).astype("float32")
    u = to_numpy(to_cartesian(angles))
    np.testing.assert_allclose(u, _reference_cartesian(angles), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(u, axis=0), 1.0, atol=1e-6)


def test_broadcasts_over_trailing_axes():
    angles = np.random.default_rng(0).uniform(0, 3, size=(6, 2, 3)).astype("float32")
    u = to_numpy(to_cartesian(angles))
    assert u.shape == (7, 2, 3)
    np.testing.assert_allclose(u, _reference_cartesian(angles), atol=1e-6)
    back, radius = to_hyperspherical(u)
    assert tuple(back.shape) == (6, 2, 3) and tuple(radius.shape) == (2, 3)


@pytest.mark.parametrize("n", [2, 3, 4096])
def test_round_trip_in_float32(n):
    rng = np.random.default_rng(n)
    w = rng.uniform(-1.0, 1.0, size=(n, 16)).astype("float32")
    # Exact zeros and a tiny scale exercise atan2's edge cases and the
    # rescaling of the squares.
    w[n // 2, :4] = 0.0
    w[:, 5] *= 1e-30
    w[-1, 6] = -abs(w[-1, 6])
    angles, radius = to_hyperspherical(w)
    u = to_numpy(to_cartesian(angles))
    norms = np.linalg.norm(w.astype("float64"), axis=0)
    np.testing.assert_allclose(u, w / norms, atol=1e-5, rtol=0)
    np.testing.assert_allclose(to_numpy(radius), norms, rtol=1e-5)
    # The sign of every coordinate survives, the last one's included.
    nonzero = np.abs(w / norms) > 1e-5
    assert np.all(np.sign(u[nonzero]) == np.sign(w[nonzero]))


def test_angle_ranges_and_zero_vector():
    w = np.array([[-1.0, 0.0], [0.5, 0.0], [-2.0, 0.0]], "float32")
    angles, radius = to_hyperspherical(w)
    angles = to_numpy(angles)
    assert 0.0 <= angles[0, 0] <= np.pi
    assert -np.pi < angles[1, 0] < 0.0
    np.testing.assert_array_equal(angles[:, 1], 0.0)
    np.testing.assert_allclose(to_numpy(radius), [np.sqrt(5.25), 0.0], rtol=1e-6)


@pytest.mark.parametrize("n", [2, 8, 33])
@pytest.mark.parametrize(
    "special", [0.0, np.pi, 1e-30, -1e-25], ids=["zero", "pi", "tiny", "negative_tiny"]
)
def test_gradient_is_exact_where_a_sine_vanishes(n, special):
    rng = np.random.default_rng(n)
    angles = rng.uniform(0.3, 2.8, size=(n - 1, 3))
    # Put exact zeros of the sine at the start, the middle and the end.
    angles[0, 0] = special
    angles[(n - 1) // 2, 1] = special
    angles[:, 2] = special
    angles = angles.astype("float32")
    weights = rng.normal(size=(n, 3))

    def loss(a):
        return ops.sum(hyperspherical.to_cartesian(a) * ops.cast(weights, "float32"))

    gradient = _gradient(loss, angles)
    assert np.all(np.isfinite(gradient))
    # Central finite differences of the float64 reference.
    expected = _reference_gradient(angles, weights)
    np.testing.assert_allclose(gradient, expected, atol=2e-5)
    # Not trivially zero: the angle right at the vanishing sine moves u.
    assert np.abs(gradient[:, 2]).max() > 0.1


def test_half_precision_is_mapped_in_float32():
    angles = np.random.default_rng(0).uniform(0, 3, size=(40, 4))
    u = hyperspherical.to_cartesian(angles.astype("float16"))
    assert keras.backend.standardize_dtype(u.dtype) == "float16"
    expected = _reference_cartesian(angles.astype("float16"))
    np.testing.assert_allclose(to_numpy(u).astype("float64"), expected, atol=2e-3)
    # Mapped in float32 and rounded once: float16 arithmetic throughout
    # would differ by several float16 steps.
    in_float32 = to_numpy(hyperspherical.to_cartesian(angles.astype("float16").astype("float32")))
    np.testing.assert_array_equal(to_numpy(u), in_float32.astype("float16"))


def test_gradient_matches_reference_for_many_coordinates():
    # The written-out gradient against automatic differentiation of the
    # float64 reference, coordinate by coordinate, at ordinary angles.
    rng = np.random.default_rng(1)
    n = 1000
    angles = rng.uniform(0.2, 2.9, size=(n - 1, 2)).astype("float32")
    weights = rng.normal(size=(n, 2))

    def loss(a):
        return ops.sum(hyperspherical.to_cartesian(a) * ops.cast(weights, "float32"))

    gradient = _gradient(loss, angles)
    # d/dt_j sum_k w_k u_k in float64: -w_j tan t_j u_j + cot t_j sum_(k>j) w_k u_k.
    base = angles.astype("float64")
    u = _reference_cartesian(base)
    tails = np.cumsum((weights * u)[::-1], axis=0)[::-1][1:]
    expected = (weights[:-1] * u[:-1]) * -np.tan(base) + tails / np.tan(base)
    np.testing.assert_allclose(gradient, expected, atol=1e-5, rtol=1e-4)


def test_too_short_inputs_are_refused():
    with pytest.raises(ValueError, match="at least 1 entries"):
        hyperspherical.to_cartesian(np.ones((0, 3)))
    with pytest.raises(ValueError, match="at least 2 entries"):
        hyperspherical.to_hyperspherical(np.ones((1, 3)))
