"""The map of rows onto zero-sum coordinates, `x B`
(`keras_lcw.numerics.zero_sum.zero_sum_to_coordinates(x, axis=-1)`), on
its PyTorch fast path (`keras_lcw.backend_utils.fused_row_shifts`) and on
the portable `keras.ops` one, against the basis written out in NumPy; and
so the product of an LCWDense layer, `(x B) v`
(`keras_lcw.backend_utils.fused_zero_sum_product` on PyTorch)."""

import numpy as np
import pytest
from keras import ops

from keras_lcw import backend_utils
from keras_lcw.numerics import zero_sum
from keras_lcw.parameterizations import lcw
from tests.harness import BACKEND
from tests.harness import to_numpy
from tests.harness import value_and_gradients
from tests.test_hyperspherical import _gradient


def _basis(m):
    """B written out: the m x (m - 1) matrix of the module docstring."""
    c, inv_root = zero_sum.basis_constants(m)
    basis = np.eye(m, m - 1) - c
    basis[-1] = -inv_root
    return basis


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "portable"])
@pytest.mark.parametrize("shape", [(5, 2), (4, 7), (2, 3, 9)])
def test_rows_map_and_its_gradient_match_the_written_out_basis(shape, fused):
    rng = np.random.default_rng(sum(shape))
    rows = rng.normal(size=shape).astype("float32")
    weights = rng.normal(size=shape[:-1] + (shape[-1] - 1,)).astype("float32")

    def loss(x):
        return ops.sum(zero_sum.zero_sum_to_coordinates(x, axis=-1) * ops.convert_to_tensor(weights))

    previous = backend_utils.set_fused(fused)
    try:
        value = to_numpy(zero_sum.zero_sum_to_coordinates(ops.convert_to_tensor(rows), axis=-1))
        gradient = _gradient(loss, rows)
    finally:
        backend_utils.set_fused(previous)
    basis = _basis(shape[-1])
    np.testing.assert_allclose(value, rows @ basis, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gradient, weights @ basis.T, rtol=1e-5, atol=1e-6)


def test_the_fast_path_is_pytorch_only():
    rows = ops.convert_to_tensor(np.ones((2, 3), "float32"))
    assert (backend_utils.fused_row_shifts(rows, 0.25, 0.5) is not None) == (BACKEND == "torch")
    with backend_utils.portable():
        assert backend_utils.fused_row_shifts(rows, 0.25, 0.5) is None


@pytest.mark.backends("torch")
def test_a_map_first_run_in_inference_mode_still_trains():
    import torch

    # A width no other test uses: the constant vector is made here, in
    # inference mode, and then saved for a backward pass.
    with torch.inference_mode():
        zero_sum.zero_sum_to_coordinates(torch.ones((2, 13)), axis=-1)
    rows = torch.ones((2, 13), requires_grad=True)
    zero_sum.zero_sum_to_coordinates(rows, axis=-1).sum().backward()
    np.testing.assert_allclose(rows.grad.numpy(), np.ones((2, 12)) @ _basis(13).T, atol=1e-6)


def test_integer_rows_map_to_float_coordinates():
    rows = np.array([[1, 2, 3], [4, -5, 6]])
    np.testing.assert_allclose(to_numpy(zero_sum.zero_sum_to_coordinates(rows, axis=-1)), rows @ _basis(3), rtol=1e-6)


@pytest.mark.parametrize(
    "path", ["basis-written-out", "row-shifts", "portable"],
)
@pytest.mark.parametrize("shape", [(5, 2), (4, 7), (2, 3, 9)])
def test_the_lcw_dense_product_and_its_gradients_match_the_written_out_basis(shape, path, monkeypatch):
    # On PyTorch `fused_zero_sum_product` writes B out for small products
    # and takes the row shifts for large ones; both are forced here.
    monkeypatch.setattr(
        backend_utils, "_TORCH_BASIS_PRODUCT", 2**62 if path == "basis-written-out" else -1
    )
    rng = np.random.default_rng(sum(shape) + 1)
    rows = rng.normal(size=shape).astype("float32")
    coordinates = rng.normal(size=(shape[-1] - 1, 3)).astype("float32")
    weights = rng.normal(size=shape[:-1] + (3,)).astype("float32")

    def loss(x, v):
        product = lcw.coordinates_preactivation(x, v)
        return ops.sum(product * ops.convert_to_tensor(weights))

    previous = backend_utils.set_fused(path != "portable")
    try:
        value = to_numpy(lcw.coordinates_preactivation(ops.convert_to_tensor(rows), ops.convert_to_tensor(coordinates)))
        _, (rows_gradient, coordinates_gradient) = value_and_gradients(loss, [rows, coordinates])
    finally:
        backend_utils.set_fused(previous)
    basis = _basis(shape[-1])
    flat_rows, flat_weights = rows.reshape(-1, shape[-1]), weights.reshape(-1, 3)
    np.testing.assert_allclose(value, rows @ basis @ coordinates, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(rows_gradient, weights @ (basis @ coordinates).T, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        coordinates_gradient, (flat_rows @ basis).T @ flat_weights, rtol=1e-5, atol=1e-5
    )


def test_the_lcw_dense_fast_path_is_pytorch_only():
    rows = ops.convert_to_tensor(np.ones((2, 3), "float32"))
    coordinates = ops.convert_to_tensor(np.ones((2, 4), "float32"))
    assert (backend_utils.fused_zero_sum_product(rows, coordinates, 0.25, 0.5) is not None) == (BACKEND == "torch")
    with backend_utils.portable():
        assert backend_utils.fused_zero_sum_product(rows, coordinates, 0.25, 0.5) is None
