"""keras_lcw.numerics.norms: inverse column norms with a guarded zero column,
against NumPy, and the fused TensorFlow path against the portable one; the
product of a weight-normalized Dense layer
(`keras_lcw.backend_utils.fused_scaled_matmul`), fused on PyTorch and
portable, against NumPy."""

import numpy as np
import pytest
from keras import ops

from keras_lcw import backend_utils
from keras_lcw.numerics import norms
from tests.harness import BACKEND
from tests.harness import to_numpy
from tests.harness import value_and_gradients


def _columns(dtype, rows=37, units=6, seed=0):
    rng = np.random.default_rng(seed)
    columns = rng.normal(size=(rows, units))
    columns[:, 2] = 0.0  # a zero direction
    columns[:, 4] *= 1e-3  # a small one: n^3 is large
    return columns.astype(dtype)


def _weighted(columns, weights):
    return ops.sum(norms.inverse_column_norms(columns) * ops.convert_to_tensor(weights))


def _expected(columns, weights):
    """The inverse norms (1 on a zero column) and the gradient of
    sum(weights * inverse norms), in float64."""
    columns = columns.astype("float64")
    squared = (columns**2).sum(axis=0)
    inverse = 1.0 / np.sqrt(np.where(squared > 0, squared, 1.0))
    return inverse, -columns * inverse**3 * weights


@pytest.mark.parametrize("dtype, rtol", [("float32", 2e-6), ("float64", 1e-12)])
def test_inverse_norms_and_gradient_match_numpy(dtype, rtol):
    if dtype == "float64" and BACKEND == "jax":
        pytest.skip("JAX computes in float32 unless x64 is enabled")
    columns = _columns(dtype)
    weights = np.linspace(-1.0, 2.0, columns.shape[1]).astype(dtype)
    inverse, gradient = _expected(columns, weights)
    values = to_numpy(norms.inverse_column_norms(columns))
    assert values.dtype == dtype
    np.testing.assert_allclose(values, inverse, rtol=rtol)
    # Under a gradient tape on TensorFlow: the fused path.
    _, (computed,) = value_and_gradients(lambda c: _weighted(c, weights), [columns])
    assert np.all(np.isfinite(computed))
    np.testing.assert_array_equal(computed[:, 2], 0.0)
    np.testing.assert_allclose(computed, gradient, rtol=rtol, atol=rtol * np.abs(gradient).max())


def _fused_in_train_step(columns):
    """fused_inverse_norms where a gradient is recorded (on TensorFlow, under
    a tape, as in a train step)."""
    columns = ops.convert_to_tensor(columns)
    if BACKEND != "tensorflow":
        return backend_utils.fused_inverse_norms(columns, norms._forward, norms._backward)
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(columns)
        return backend_utils.fused_inverse_norms(columns, norms._forward, norms._backward)


def test_fused_path_exists_where_documented():
    columns = _columns("float32")
    assert (_fused_in_train_step(columns) is None) == (BACKEND != "tensorflow")
    # Outside a train step (inference, export) the portable ops run.
    assert backend_utils.fused_inverse_norms(
        ops.convert_to_tensor(columns), norms._forward, norms._backward
    ) is None
    with backend_utils.portable():
        assert _fused_in_train_step(columns) is None


@pytest.mark.backends("tensorflow")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_equals_portable(dtype):
    columns = _columns(dtype, rows=1024, units=64, seed=3)
    weights = np.random.default_rng(4).normal(size=columns.shape[1]).astype(dtype)
    fused = value_and_gradients(lambda c: _weighted(c, weights), [columns])
    with backend_utils.portable():
        portable = value_and_gradients(lambda c: _weighted(c, weights), [columns])
    tolerance = 2e-6 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(fused[0], portable[0], rtol=tolerance)
    np.testing.assert_allclose(
        fused[1][0], portable[1][0], rtol=tolerance,
        atol=tolerance * np.abs(portable[1][0]).max(),
    )


def _scaled_matmul_arrays(dtype, rows_shape=(2, 5, 37), units=6, seed=5):
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=rows_shape).astype(dtype)
    columns = _columns(dtype, rows=rows_shape[-1], units=units, seed=seed)
    norm = rng.normal(size=units).astype(dtype)
    weights = rng.normal(size=rows_shape[:-1] + (units,)).astype(dtype)
    return rows, columns, norm, weights


def _scaled_matmul_expected(rows, columns, norm, weights):
    """`sum(weights * (rows @ columns) * norm / |columns|)` and its
    gradients, written out in float64."""
    rows, columns, norm, weights = (a.astype("float64") for a in (rows, columns, norm, weights))
    inverse, _ = _expected(columns, 0.0)
    flat_rows = rows.reshape(-1, rows.shape[-1])
    flat_weights = weights.reshape(-1, weights.shape[-1])
    product = flat_rows @ columns
    along = (flat_weights * product).sum(axis=0)
    scale = norm * inverse
    value = (flat_weights * product * scale).sum()
    rows_gradient = ((flat_weights * scale) @ columns.T).reshape(rows.shape)
    columns_gradient = flat_rows.T @ (flat_weights * scale) - columns * inverse**3 * norm * along
    return value, [rows_gradient, columns_gradient, along * inverse]


def _scaled_matmul_loss(weights):
    def loss(rows, columns, norm):
        product = backend_utils.fused_scaled_matmul(rows, columns, norm)
        if product is None:
            product = ops.matmul(rows, columns) * (norm * norms.inverse_column_norms(columns))
        return ops.sum(product * ops.convert_to_tensor(weights))

    return loss


def test_fused_scaled_matmul_is_pytorch_only():
    rows, columns, norm, _ = _scaled_matmul_arrays("float32")
    tensors = [ops.convert_to_tensor(a) for a in (rows, columns, norm)]
    assert (backend_utils.fused_scaled_matmul(*tensors) is None) == (BACKEND != "torch")
    with backend_utils.portable():
        assert backend_utils.fused_scaled_matmul(*tensors) is None


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "portable"])
@pytest.mark.parametrize("dtype, rtol", [("float32", 1e-5), ("float64", 1e-12)])
def test_scaled_matmul_and_gradients_match_numpy(dtype, rtol, fused):
    # A zero column and a tiny one (`_columns`), and rows of rank 3.
    if dtype == "float64" and BACKEND == "jax":
        pytest.skip("JAX computes in float32 unless x64 is enabled")
    if dtype == "float64" and BACKEND == "torch" and not fused:
        pytest.skip(
            "keras.ops.matmul computes float64 in float32 on PyTorch (its "
            "result_type of two float64 tensors is float32)"
        )
    rows, columns, norm, weights = _scaled_matmul_arrays(dtype)
    expected_value, expected_gradients = _scaled_matmul_expected(rows, columns, norm, weights)
    previous = backend_utils.set_fused(fused)
    try:
        value, gradients = value_and_gradients(_scaled_matmul_loss(weights), [rows, columns, norm])
    finally:
        backend_utils.set_fused(previous)
    np.testing.assert_allclose(value, expected_value, rtol=rtol)
    for name, computed, expected in zip(["rows", "columns", "norm"], gradients, expected_gradients):
        assert computed.dtype == dtype, name
        assert np.all(np.isfinite(computed)), name
        np.testing.assert_allclose(
            computed, expected, rtol=rtol, atol=rtol * np.abs(expected).max(), err_msg=name
        )


@pytest.mark.backends("torch")
def test_fused_scaled_matmul_skips_gradients_nobody_needs():
    import torch

    rows, columns, norm, weights = (torch.tensor(a) for a in _scaled_matmul_arrays("float32"))
    columns.requires_grad_(True)
    (backend_utils.fused_scaled_matmul(rows, columns, norm) * weights).sum().backward()
    expected = _scaled_matmul_expected(*(a.detach().numpy() for a in (rows, columns, norm, weights)))[1][1]
    np.testing.assert_allclose(columns.grad.numpy(), expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())
    assert rows.grad is None and norm.grad is None
