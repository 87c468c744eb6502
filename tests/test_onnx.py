"""ONNX export of models with keras_lcw layers, run with onnxruntime.

`model.export(path, format="onnx")` converts with tf2onnx (TensorFlow), jax2onnx
(JAX) or torch.onnx (PyTorch); the test skips where the backend's converter or
onnxruntime is not installed. Cases that the converters cannot export for the
plain Keras layer either are listed in `UNSUPPORTED` and expected to fail, so
that a converter release that lifts the limitation shows up.
"""

import os
import warnings

import numpy as np
import pytest

import keras_lcw
from tests.harness import BACKEND
from tests.harness import to_numpy
from tests.test_export import BATCHES
from tests.test_export import EXPORT_CASES
from tests.test_export import ExportCase
from tests.test_export import _model

CONVERTERS = {"tensorflow": "tf2onnx", "jax": "jax2onnx", "torch": "onnxscript"}

ONNX_CASES = EXPORT_CASES + [
    ExportCase("lcw_conv2d_ungrouped", lambda: keras_lcw.LCWConv2D(4, 3, padding="same"), (5, 5, 4)),
    ExportCase(
        "gmp_conv2d_ungrouped", lambda: keras_lcw.GmPConv2D(4, 3, padding="same", activation="tanh"), (5, 5, 4)
    ),
    ExportCase("weight_norm_conv2d_ungrouped", lambda: keras_lcw.WeightNormConv2D(4, 3, padding="same"), (5, 5, 4)),
    ExportCase(
        "lcw_conv3d_channels_first", lambda: keras_lcw.LCWConv3D(2, 2, data_format="channels_first"), (2, 3, 3, 3)
    ),
    ExportCase(
        "gmp_conv3d_channels_first", lambda: keras_lcw.GmPConv3D(2, 2, data_format="channels_first"), (2, 3, 3, 3)
    ),
]

_GROUPED = "tf2onnx 1.17.0 writes an invalid graph for a grouped convolution"
_TF_3D_CHANNELS_FIRST = "tf2onnx 1.17.0 writes an invalid graph for a channels_first Conv3D"
_JAX_3D = "jax2onnx 0.17.1 converts no 3-D convolution"
_TORCH_3D = "torch.onnx (TorchScript exporter): 'onnx memory_format support is not implemented' for channels_last Conv3D"
UNSUPPORTED = {
    "tensorflow": {
        "lcw_conv2d": _GROUPED,
        "gmp_conv2d": _GROUPED,
        "weight_norm_conv2d": _GROUPED,
        "lcw_conv3d_channels_first": _TF_3D_CHANNELS_FIRST,
        "gmp_conv3d_channels_first": _TF_3D_CHANNELS_FIRST,
    },
    "jax": {
        "lcw_conv3d": _JAX_3D,
        "gmp_conv3d": _JAX_3D,
        "lcw_conv3d_channels_first": _JAX_3D,
        "gmp_conv3d_channels_first": _JAX_3D,
    },
    "torch": {"lcw_conv3d": _TORCH_3D, "gmp_conv3d": _TORCH_3D},
}


def _params():
    for case in ONNX_CASES:
        reason = UNSUPPORTED.get(BACKEND, {}).get(case.id)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        yield pytest.param(case, id=case.id, marks=marks)


_PACKAGE_DIR = os.path.dirname(os.path.abspath(keras_lcw.__file__))


def _own_tracer_warnings(caught):
    return [
        f"{w.filename}:{w.lineno}: {w.message}"
        for w in caught
        if w.category.__name__ == "TracerWarning"
        and os.path.abspath(w.filename).startswith(_PACKAGE_DIR + os.sep)
    ]


@pytest.mark.parametrize("case", _params())
def test_onnx_export_runs_in_onnxruntime(case, tmp_path):
    pytest.importorskip(CONVERTERS[BACKEND])
    ort = pytest.importorskip("onnxruntime")
    model = _model(case)
    rng = np.random.default_rng(0)
    # Keras 3.15 exports to ONNX only a model that has been called.
    model(rng.normal(size=(2,) + case.input_shape).astype("float32"))
    path = str(tmp_path / "model.onnx")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.export(path, format="onnx", verbose=False)
    # On torch, a Python-level use of a traced value in keras_lcw's own code
    # (a size or a tensor turned into a bool, int or float) is frozen into
    # the graph with a TracerWarning; the numerics read static sizes untraced.
    assert not _own_tracer_warnings(caught)
    session = ort.InferenceSession(path)
    input_name = session.get_inputs()[0].name
    for batch in BATCHES:
        x = rng.normal(size=(batch,) + case.input_shape).astype("float32")
        (y,) = session.run(None, {input_name: x})
        np.testing.assert_allclose(y, to_numpy(model(x)), rtol=1e-5, atol=1e-5)
