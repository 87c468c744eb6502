"""The fused hyperspherical maps (`keras_lcw.backend_utils.fused_unit_vectors`)
against the portable `keras.ops` one, which is the reference.

Values and gradients agree to float32 rounding on every backend, also where
a sine is 0 (angles 0 and pi) or tiny; the switch (`set_fused`, `portable`)
picks the path. JAX's fused path is the portable code compiled as one
program where it is called eagerly (traced, it is the portable code), so it
gets one comparison of its values; the portable map is tested against its
references on every backend in test_hyperspherical.
"""

import keras
import numpy as np
import pytest
from keras import ops

from keras_lcw import backend_utils
from keras_lcw.numerics import hyperspherical
from tests.harness import BACKEND
from tests.harness import to_numpy
from tests.test_hyperspherical import _gradient
from tests.test_hyperspherical import _reference_cartesian
from tests.test_hyperspherical import _reference_gradient


def _angles(n, columns=6, seed=0):
    rng = np.random.default_rng(seed + n)
    angles = rng.uniform(-3.0, 3.0, size=(n - 1, columns))
    # Sines that vanish or nearly so, alone, at the start, the middle and
    # the end, and in a whole column.
    angles[0, 0] = 0.0
    angles[(n - 1) // 2, 1] = np.pi
    angles[-1, 2] = 1e-30
    angles[:, 3] = 0.0
    angles[::3, 4] = -np.pi
    return angles


def _map_and_gradient(angles, weights, dtype):
    def loss(a):
        return ops.sum(hyperspherical.to_cartesian(a) * ops.convert_to_tensor(weights))

    vectors = to_numpy(_recorded(hyperspherical.to_cartesian, angles.astype(dtype)))
    return vectors, _gradient(loss, angles.astype(dtype))


def _recorded(fn, x):
    """fn(x) as in a train step: on TensorFlow under a gradient tape, where
    the fused map runs (a forward pass alone runs the portable one)."""
    x = ops.convert_to_tensor(x)
    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(x)
            return fn(x)
    return fn(x)


def _both_paths(angles, dtype="float32"):
    weights = np.random.default_rng(1).normal(size=(angles.shape[0] + 1, angles.shape[1]))
    weights = weights.astype(dtype)
    fused = _map_and_gradient(angles, weights, dtype)
    with backend_utils.portable():
        portable = _map_and_gradient(angles, weights, dtype)
    return fused, portable


def _fused_under_gradient(args):
    """fused_unit_vectors(*args) where a gradient is recorded."""
    return _recorded(lambda x: backend_utils.fused_unit_vectors(x, *args[1:]), args[0])


def test_fused_path_exists_where_documented():
    angles = ops.convert_to_tensor(_angles(9).astype("float32"))
    args = (angles, 1e-20, hyperspherical._forward_compiled, hyperspherical._backward)
    assert _fused_under_gradient(args) is not None
    if BACKEND == "tensorflow":
        # A forward pass alone (inference, export) runs the portable ops.
        assert backend_utils.fused_unit_vectors(*args) is None
    if BACKEND == "jax":
        import jax

        # Traced (jit, grad), the portable code is part of the program.
        paths = []
        jax.jit(lambda x: paths.append(backend_utils.fused_unit_vectors(x, *args[1:])) or x)(angles)
        assert paths == [None]
    with backend_utils.portable():
        assert not backend_utils.fused_enabled()
        assert _fused_under_gradient(args) is None
    assert backend_utils.fused_enabled()


def _autograd_nodes(tensor):
    """The names of the autograd nodes behind a torch tensor."""
    names, stack = set(), [tensor.grad_fn]
    while stack:
        node = stack.pop()
        if node is not None and type(node).__name__ not in names:
            names.add(type(node).__name__)
            stack.extend(next_node for next_node, _ in node.next_functions)
    return names


@pytest.mark.backends("torch")
def test_torch_runs_the_fused_function_unless_told_not_to():
    import torch

    angles = torch.tensor(_angles(9).astype("float32"), requires_grad=True)
    assert "UnitVectorsBackward" in _autograd_nodes(hyperspherical.to_cartesian(angles))
    previous = backend_utils.set_fused(False)
    try:
        assert "UnitVectorsBackward" not in _autograd_nodes(hyperspherical.to_cartesian(angles))
    finally:
        backend_utils.set_fused(previous)
    # A tracer (torch.onnx export) gets the portable map.
    traced = torch.jit.trace(hyperspherical.to_cartesian, (angles.detach(),), check_trace=False)
    graph = str(traced.graph)
    assert "UnitVectors" not in graph and "PythonOp" not in graph


@pytest.mark.backends("tensorflow", "torch")
@pytest.mark.parametrize("n", [2, 3, 8, 9, 10, 17, 64, 65, 73, 515, 1024])
def test_fused_equals_portable_in_float32(n):
    (u, g), (u_ref, g_ref) = _both_paths(_angles(n))
    assert np.all(np.isfinite(g)) and np.all(np.isfinite(g_ref))
    np.testing.assert_allclose(u, u_ref, atol=2e-7, rtol=0)
    np.testing.assert_allclose(g, g_ref, atol=1e-6 * max(1.0, np.abs(g_ref).max()), rtol=1e-5)
    # Both are the exact map: the float64 reference, coordinate by coordinate.
    np.testing.assert_allclose(u, _reference_cartesian(_angles(n).astype("float32")), atol=2e-7)


@pytest.mark.backends("jax")
@pytest.mark.parametrize("n", [9, 515])
def test_jax_eager_map_equals_the_portable_map_op_by_op(n):
    angles = ops.convert_to_tensor(_angles(n).astype("float32"))
    fused = to_numpy(hyperspherical.to_cartesian(angles))
    with backend_utils.portable():
        portable = to_numpy(hyperspherical.to_cartesian(angles))
    np.testing.assert_allclose(fused, portable, atol=2e-7, rtol=0)
    np.testing.assert_allclose(fused, _reference_cartesian(_angles(n).astype("float32")), atol=2e-7)


@pytest.mark.backends("tensorflow", "torch")
def test_fused_gradient_is_exact_where_sines_vanish():
    # The columns with zero sines against central differences of the float64
    # reference (as in test_hyperspherical, on both paths).
    n = 33
    angles = _angles(n).astype("float32")
    weights = np.random.default_rng(1).normal(size=(n, angles.shape[1]))
    (u, g), (_, g_ref) = _both_paths(angles)
    expected = _reference_gradient(angles, weights)
    np.testing.assert_allclose(g, expected, atol=2e-5)
    np.testing.assert_allclose(g_ref, expected, atol=2e-5)
    # The angle at a vanishing sine moves u: its gradient is not zero.
    assert np.abs(g[:, 3]).max() > 0.1


@pytest.mark.backends("tensorflow", "torch")
def test_fused_equals_portable_in_float64():
    if keras.backend.standardize_dtype(ops.convert_to_tensor(np.zeros(1, "float64")).dtype) != "float64":
        pytest.skip(f"the {BACKEND} backend computes float64 in float32 here")
    angles = _angles(200)
    (u, g), (u_ref, g_ref) = _both_paths(angles, "float64")
    assert u.dtype == np.float64 and g.dtype == np.float64
    np.testing.assert_allclose(u, u_ref, atol=1e-14, rtol=0)
    np.testing.assert_allclose(u, _reference_cartesian(angles), atol=1e-14, rtol=0)
    np.testing.assert_allclose(g, g_ref, atol=1e-12, rtol=1e-10)


@pytest.mark.backends("tensorflow", "torch")
def test_fused_path_trains_inside_a_compiled_model():
    # In a jit-compiled train step (XLA on TensorFlow and JAX) the fused map
    # gives the same step as the portable one.
    import keras_lcw

    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 20)).astype("float32")
    y = rng.normal(size=(16, 5)).astype("float32")
    weights = []
    for fused in (True, False):
        previous = backend_utils.set_fused(fused)
        try:
            keras.utils.set_random_seed(0)
            model = keras.Sequential([keras.Input((20,)), keras_lcw.GmPDense(5, activation="linear")])
            model.compile(keras.optimizers.SGD(0.1), "mse", jit_compile=BACKEND != "torch")
            model.fit(x, y, epochs=2, batch_size=8, verbose=0)
            weights.append([to_numpy(w) for w in model.weights])
        finally:
            backend_utils.set_fused(previous)
    for fused_weight, portable_weight in zip(*weights):
        np.testing.assert_allclose(fused_weight, portable_weight, atol=1e-5)


@pytest.mark.backends("torch")
@pytest.mark.parametrize("reverse", [False, True], ids=["prefix", "suffix"])
def test_torch_in_place_scan_matches_cumulative_ops(reverse):
    import torch

    rng = np.random.default_rng(0)
    for length in [1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 129, 600]:
        x = torch.tensor(rng.uniform(0.5, 1.5, size=(length, 3)))
        sums, products = x.clone(), x.clone()
        backend_utils._torch_scan_(sums, torch.Tensor.add_, reverse)
        backend_utils._torch_scan_(products, torch.Tensor.mul_, reverse)
        flipped = x.flip(0) if reverse else x
        expected_sums = flipped.cumsum(0)
        expected_products = flipped.cumprod(0)
        if reverse:
            expected_sums, expected_products = expected_sums.flip(0), expected_products.flip(0)
        np.testing.assert_allclose(sums.numpy(), expected_sums.numpy(), rtol=1e-12)
        np.testing.assert_allclose(products.numpy(), expected_products.numpy(), rtol=1e-12)


@pytest.mark.parametrize("reverse", [False, True], ids=["prefix", "suffix"])
def test_portable_blocked_scan_matches_numpy(reverse):
    rng = np.random.default_rng(0)
    for length in [1, 2, 7, 8, 9, 63, 64, 65, 515]:
        x = rng.uniform(0.5, 1.5, size=(length, 3)).astype("float32")
        flipped = x[::-1] if reverse else x
        expected_sums = np.cumsum(flipped.astype("float64"), axis=0)
        expected_products = np.cumprod(flipped.astype("float64"), axis=0)
        if reverse:
            expected_sums, expected_products = expected_sums[::-1], expected_products[::-1]
        sums = hyperspherical._scan(ops.convert_to_tensor(x), ops.add, ops.zeros_like, reverse)
        products = hyperspherical._scan(ops.convert_to_tensor(x), ops.multiply, ops.ones_like, reverse)
        np.testing.assert_allclose(to_numpy(sums), expected_sums, rtol=2e-6)
        np.testing.assert_allclose(to_numpy(products), expected_products, rtol=2e-5)
