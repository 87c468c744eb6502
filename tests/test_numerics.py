import keras
import numpy as np
import pytest
from scipy import integrate
from scipy import special

from keras_lcw.numerics import gaussian
from keras_lcw.numerics import statistics
from keras_lcw.numerics import zero_sum
from tests.harness import to_numpy


@pytest.mark.parametrize("m", [2, 3, 10, 577])
def test_basis_is_orthonormal_and_spans_zero_sum_set(m):
    # JAX computes in float32 (x64 is off), hence float32 tolerances.
    # Apply the O(m) map to the identity to get B explicitly.
    basis = to_numpy(zero_sum.coordinates_to_zero_sum(np.eye(m - 1)))
    assert basis.shape == (m, m - 1)
    basis = basis.astype("float64")
    np.testing.assert_allclose(basis.T @ basis, np.eye(m - 1), atol=1e-6)
    np.testing.assert_allclose(basis.sum(axis=0), 0.0, atol=1e-6)
    projection = np.eye(m) - np.ones((m, m)) / m
    np.testing.assert_allclose(basis @ basis.T, projection, atol=1e-6)


@pytest.mark.parametrize("m", [2, 7, 100])
def test_transpose_matches_explicit_basis(m):
    rng = np.random.default_rng(m)
    basis = to_numpy(zero_sum.coordinates_to_zero_sum(np.eye(m - 1)))
    w = rng.normal(size=(m, 5))
    np.testing.assert_allclose(
        to_numpy(zero_sum.zero_sum_to_coordinates(w)), basis.T @ w, rtol=1e-5, atol=1e-5
    )


def test_round_trip_and_norm_in_float32():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(4095, 8)).astype("float32")
    w = to_numpy(zero_sum.coordinates_to_zero_sum(v))
    assert w.dtype == np.float32
    assert np.all(np.abs(w.sum(0)) <= 1e-6 * np.abs(w).sum(0))
    np.testing.assert_allclose(np.linalg.norm(w, axis=0), np.linalg.norm(v, axis=0), rtol=1e-5)
    np.testing.assert_allclose(
        to_numpy(zero_sum.zero_sum_to_coordinates(w)), v, atol=1e-5
    )


def test_transpose_along_the_last_axis_maps_rows():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 2, 9)).astype("float32")
    v = rng.normal(size=(8, 5)).astype("float32")
    rows = to_numpy(zero_sum.zero_sum_to_coordinates(x, axis=-1))
    kernel = to_numpy(zero_sum.coordinates_to_zero_sum(v))
    np.testing.assert_allclose(rows @ v, x @ kernel, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="axis"):
        zero_sum.zero_sum_to_coordinates(x, axis=1)


def test_too_short_inputs_are_refused():
    with pytest.raises(ValueError, match="at least 2 entries"):
        zero_sum.zero_sum_to_coordinates(np.ones((1, 3)))
    with pytest.raises(ValueError, match="at least 1 entries"):
        zero_sum.coordinates_to_zero_sum(np.ones((0, 3)))


def _normal_expectation(fn):
    density = lambda z: np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)  # noqa: E731
    value, _ = integrate.quad(lambda z: fn(z) * density(z), -np.inf, np.inf, limit=200)
    return value


@pytest.mark.parametrize(
    "fn",
    [np.tanh, lambda z: np.maximum(z, 0.0), lambda z: z**4, np.cos, lambda z: np.clip(z + 3, 0, 6) / 6],
    ids=["tanh", "relu", "z4", "cos", "hard_sigmoid"],
)
def test_gaussian_expectation_matches_adaptive_quadrature(fn):
    assert gaussian.gaussian_expectation(fn) == pytest.approx(
        _normal_expectation(fn), abs=1e-9
    )


def test_quadrature_weights_integrate_the_density():
    nodes, weights = gaussian.normal_quadrature()
    assert weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.sum(weights * nodes**2) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(
    "name, derivative",
    [
        ("tanh", lambda z: 1 - np.tanh(z) ** 2),
        ("sigmoid", lambda z: special.expit(z) * special.expit(-z)),
        ("relu", lambda z: np.where(z > 0, 1.0, 0.0)),
    ],
)
def test_derivative_second_moment(name, derivative):
    expected = _normal_expectation(lambda z: derivative(z) ** 2)
    got = gaussian.derivative_second_moment(keras.activations.get(name))
    # The activation runs in float32 on the backend.
    assert got == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(
    "name, fn",
    [
        ("relu", lambda z: np.maximum(z, 0.0)),
        ("sigmoid", special.expit),
        ("softplus", lambda z: np.logaddexp(0.0, z)),
    ],
)
def test_moments_match_adaptive_quadrature(name, fn):
    mean, second, _ = gaussian.moments(keras.activations.get(name))
    # The activation runs in float32 on the backend.
    assert mean == pytest.approx(_normal_expectation(fn), rel=1e-6)
    assert second == pytest.approx(_normal_expectation(lambda z: fn(z) ** 2), rel=1e-6)


def test_batch_moments_are_two_pass():
    x = np.random.default_rng(0).normal(size=(64, 3, 5)).astype("float32")
    mean, variance = statistics.moments(x, [0, 1])
    np.testing.assert_allclose(to_numpy(mean), x.mean(axis=(0, 1)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_numpy(variance), x.var(axis=(0, 1)), rtol=1e-5)
    # A constant: exactly 0, where E[x^2] - E[x]^2 in float32 can be
    # negative and a mean of 1000 entries is off by its rounding.
    constant = np.full((10, 1000, 2), 0.27449694, "float32")
    np.testing.assert_array_equal(to_numpy(statistics.moments(constant, [0, -2])[1]), 0.0)


def test_kept_entry_along_the_axes_and_zero_where_none_is_kept():
    x = np.arange(24, dtype="float32").reshape(2, 3, 4)
    np.testing.assert_array_equal(to_numpy(statistics.kept_entry(x, [0, 2])), x[:1, :, :1])
    mask = np.ones(x.shape, bool)
    mask[:, 1, :] = False
    mask[1, 2, :] = False
    x[0, 0, 0] = np.inf
    mask[0, 0, 0] = False
    # The largest kept entry: masked ones (an infinite one included) are not.
    np.testing.assert_array_equal(to_numpy(statistics.kept_entry(x, [0, 2], mask)).ravel(), [15.0, 0.0, 11.0])


def test_masked_mean_leaves_out_masked_entries_and_says_where_none_is_left():
    x = np.array([[1.0, np.nan, 3.0], [np.inf, 5.0, 7.0]], "float32")
    mask = np.array([[True, False, True], [False, False, False]])
    np.testing.assert_array_equal(to_numpy(statistics.masked_mean(x, [1], mask)), [2.0, np.nan])
    np.testing.assert_array_equal(to_numpy(statistics.masked_mean(x, [1], mask, empty=0.0)), [2.0, 0.0])
    np.testing.assert_array_equal(to_numpy(statistics.masked_mean(x, [0], mask)), [1.0, np.nan, 3.0])

