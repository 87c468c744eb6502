import keras
import numpy as np
import pytest

from keras_lcw.numerics import trigonometry
from tests.harness import to_numpy


def _angles():
    rng = np.random.default_rng(0)
    # Every quadrant, its boundaries k pi/2 and their float32 neighbours,
    # signed zeros and tiny angles, and the far end of the accurate range.
    boundaries = np.arange(-40, 41) * (np.pi / 2)
    near = np.concatenate(
        [
            boundaries,
            np.nextafter(boundaries.astype("float32"), np.float32(np.inf)),
            np.nextafter(boundaries.astype("float32"), np.float32(-np.inf)),
            boundaries + np.pi / 4,
        ]
    )
    special = np.array([0.0, -0.0, 1e-30, -1e-30, 1e-7, 6399.0, -6399.0])
    spread = rng.uniform(-6400, 6400, size=2000)
    return np.concatenate([near, special, spread]).astype("float32")


def test_polynomial_matches_float64_sine_and_cosine():
    angles = _angles()
    sine, cosine = (to_numpy(t) for t in trigonometry.sin_cos(angles))
    assert sine.dtype == np.float32 and cosine.dtype == np.float32
    exact = angles.astype("float64")
    np.testing.assert_allclose(sine, np.sin(exact), atol=1e-7, rtol=0)
    np.testing.assert_allclose(cosine, np.cos(exact), atol=1e-7, rtol=0)
    # Tiny angles keep their relative accuracy: sin t = t there (subnormal
    # ones excepted, which XLA flushes to zero).
    tiny = (np.abs(angles) < 1e-6) & (np.abs(angles) >= np.finfo("float32").tiny)
    np.testing.assert_allclose(sine[tiny], angles[tiny], rtol=1e-7)


def test_non_finite_angles_give_nan():
    sine, cosine = trigonometry.sin_cos(np.array([np.inf, -np.inf, np.nan], "float32"))
    assert np.all(np.isnan(to_numpy(sine))) and np.all(np.isnan(to_numpy(cosine)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_backend_choice_agrees_with_exact_values(dtype):
    angles = _angles().astype(dtype)
    if keras.backend.standardize_dtype(keras.ops.convert_to_tensor(angles).dtype) != dtype:
        pytest.skip(f"the {keras.backend.backend()} backend computes {dtype} in float32 here")
    sine, cosine = (to_numpy(t) for t in trigonometry.fast_sin_cos(angles))
    assert sine.dtype == np.dtype(dtype)
    exact = angles.astype("float64")
    tolerance = 1e-7 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(sine, np.sin(exact), atol=tolerance, rtol=0)
    np.testing.assert_allclose(cosine, np.cos(exact), atol=tolerance, rtol=0)
    if dtype == "float64" or keras.backend.backend() != "jax":
        np.testing.assert_array_equal(sine, to_numpy(keras.ops.sin(angles)))
