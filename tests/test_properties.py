"""Property-based tests: the shared math and every parameterization, for
random shapes and values (hypothesis)."""

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from keras import ops

from keras_lcw import parameterizations
from keras_lcw.numerics import zero_sum
from tests.harness import to_numpy

# JAX computes float64 inputs in float32 unless x64 is enabled.
FLOAT64 = to_numpy(ops.convert_to_tensor(np.zeros(1, "float64"))).dtype == np.float64
TOLERANCE = 1e-12 if FLOAT64 else 2e-5
SETTINGS = settings(max_examples=12 if keras.backend.backend() == "jax" else 30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(m=st.integers(2, 300), seed=st.integers(0, 2**16))
def test_zero_sum_basis_is_orthonormal_and_inverted_by_its_transpose(m, seed):
    basis = to_numpy(zero_sum.coordinates_to_zero_sum(np.eye(m - 1, dtype="float64")))
    assert basis.shape == (m, m - 1)
    np.testing.assert_allclose(basis.T @ basis, np.eye(m - 1), atol=TOLERANCE)
    np.testing.assert_allclose(basis.sum(axis=0), 0.0, atol=TOLERANCE)
    v = np.random.default_rng(seed).normal(size=(m - 1, 3))
    np.testing.assert_allclose(to_numpy(zero_sum.zero_sum_to_coordinates(basis @ v)), v, atol=TOLERANCE * 10)
    # B^T is also the coordinates of the orthogonal projection onto zero sum.
    w = np.random.default_rng(seed + 1).normal(size=(m, 2))
    np.testing.assert_allclose(basis @ to_numpy(zero_sum.zero_sum_to_coordinates(w)), w - w.mean(axis=0), atol=TOLERANCE * 10)


def _kernel_shapes(parameterization):
    """Kernel shapes the parameterization takes."""
    fan_in_axes = st.lists(st.integers(1, 5), min_size=1, max_size=3)
    return st.tuples(fan_in_axes, st.integers(1, 4)).map(lambda t: tuple(t[0]) + (t[1],)).filter(
        lambda shape: parameterization.kernel_shape_error(shape) is None
    )


@pytest.mark.slow
@SETTINGS
@given(data=st.data(), use_bias=st.booleans(), seed=st.integers(0, 2**16))
def test_every_parameterization_inverts_its_forward_map_and_keeps_its_invariant(data, use_bias, seed):
    for name, parameterization in sorted(parameterizations.PARAMETERIZATIONS.items()):
        shape = data.draw(_kernel_shapes(parameterization), label=f"{name} kernel shape")
        rng = np.random.default_rng(seed)
        values = {
            v.name: rng.normal(size=v.shape).astype("float32")
            for v in parameterization.variables(shape, use_bias)
        }
        if "direction" in values:
            values["direction"] = np.sign(values["direction"]) + (values["direction"] == 0)
        values = {key: ops.convert_to_tensor(value) for key, value in values.items()}
        kernel, bias = (None if t is None else to_numpy(t) for t in parameterization.forward(values, shape))
        assert kernel.shape == shape and (bias is None) != use_bias
        again = parameterization.forward(parameterization.inverse(kernel, bias), shape)
        np.testing.assert_allclose(to_numpy(again[0]), kernel, rtol=1e-4, atol=1e-5, err_msg=name)
        if use_bias:
            np.testing.assert_allclose(to_numpy(again[1]), bias, rtol=1e-4, atol=1e-5, err_msg=name)
        flat = kernel.reshape(-1, shape[-1]).astype("float64")
        call_kernel = to_numpy(parameterization.call_kernel(values, shape)).reshape(flat.shape)
        if name in ("lcw", "centered_weight_norm"):
            np.testing.assert_allclose(flat.sum(axis=0), 0.0, atol=1e-5 * max(1.0, np.abs(flat).max()))
        if name == "gmp":
            np.testing.assert_allclose(np.linalg.norm(call_kernel, axis=0), 1.0, rtol=1e-5)
        if name in ("weight_norm", "centered_weight_norm"):
            norm = np.abs(to_numpy(values["kernel_norm"]))
            np.testing.assert_allclose(np.linalg.norm(flat, axis=0), norm, rtol=1e-4, atol=1e-6)


@SETTINGS
@given(shape=_kernel_shapes(parameterizations.get("lcw")), seed=st.integers(0, 2**16))
def test_lcw_inverse_projects_any_kernel_onto_zero_sum(shape, seed):
    parameterization = parameterizations.get("lcw")
    kernel = np.random.default_rng(seed).normal(size=shape).astype("float32")
    projected = to_numpy(parameterization.forward(parameterization.inverse(kernel, None), shape)[0])
    axes = tuple(range(len(shape) - 1))
    np.testing.assert_allclose(projected, kernel - kernel.mean(axis=axes, keepdims=True), atol=1e-5)
