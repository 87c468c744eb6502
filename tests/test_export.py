"""Exported artifacts of models with keras_lcw layers run without keras_lcw.

Each artifact is reloaded in a fresh process that never imports keras_lcw,
at batch sizes other than the one used in tracing. A new layer
is covered by adding an `ExportCase`.
"""

import dataclasses
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import keras_lcw
from tests.harness import perturb_variables
from tests.harness import to_numpy


@dataclasses.dataclass
class ExportCase:
    id: str
    make_layer: callable
    input_shape: tuple


def _constrained_dense():
    return keras.layers.Dense(
        4,
        kernel_constraint=keras_lcw.LCWConstraint(),
        kernel_initializer=keras_lcw.initializers.LCWInitializer(),
    )


EXPORT_CASES = [
    ExportCase("lcw_dense", lambda: keras_lcw.LCWDense(5, activation="tanh"), (7,)),
    ExportCase("lcw_conv1d", lambda: keras_lcw.LCWConv1D(3, 2, activation="relu"), (6, 2)),
    ExportCase("lcw_conv2d", lambda: keras_lcw.LCWConv2D(4, 3, padding="same", groups=2), (5, 5, 4)),
    ExportCase("lcw_conv3d", lambda: keras_lcw.LCWConv3D(2, 2), (3, 3, 3, 2)),
    ExportCase("dense_lcw_constraint", _constrained_dense, (5,)),
    ExportCase("gmp_dense", lambda: keras_lcw.GmPDense(5), (7,)),
    ExportCase("gmp_dense_fan_in_1", lambda: keras_lcw.GmPDense(3, activation="tanh"), (1,)),
    ExportCase("gmp_conv1d", lambda: keras_lcw.GmPConv1D(3, 2, padding="causal"), (6, 2)),
    ExportCase("gmp_conv2d", lambda: keras_lcw.GmPConv2D(4, 3, padding="same", groups=2, activation="tanh"), (5, 5, 4)),
    ExportCase("gmp_conv3d", lambda: keras_lcw.GmPConv3D(2, 2, use_bias=False), (3, 3, 3, 2)),
    ExportCase("weight_norm_dense", lambda: keras_lcw.WeightNormDense(5, activation="tanh", data_init=True), (7,)),
    ExportCase("weight_norm_conv2d", lambda: keras_lcw.WeightNormConv2D(4, 3, padding="same", groups=2), (5, 5, 4)),
    ExportCase("centered_weight_norm_dense", lambda: keras_lcw.CenteredWeightNormDense(5, activation="relu"), (7,)),
    ExportCase("centered_weight_norm_conv1d", lambda: keras_lcw.CenteredWeightNormConv1D(3, 2, padding="causal", data_init=True), (6, 2)),
    ExportCase("input_mean_normalization", lambda: keras_lcw.InputMeanNormalization(), (7,)),
    ExportCase("input_mean_normalization_2d", lambda: keras_lcw.InputMeanNormalization(axis=1), (3, 4, 4)),
]

# Batch sizes of the reloaded calls: neither is the traced one (Keras traces
# with an unknown batch dimension; torch.export with an example batch of 2).
BATCHES = (5, 3)

def _model(case):
    model = keras.Sequential([keras.Input(case.input_shape), case.make_layer(), keras.layers.Dense(2)])
    perturb_variables(model)
    return model


def _write_cases(tmp_path, export):
    """Exports every case; saves inputs and expected outputs beside it."""
    rng = np.random.default_rng(0)
    for case in EXPORT_CASES:
        model = _model(case)
        export(model, str(tmp_path / case.id))
        for batch in BATCHES:
            x = rng.normal(size=(batch,) + case.input_shape).astype("float32")
            np.save(tmp_path / f"{case.id}-x{batch}.npy", x)
            np.save(tmp_path / f"{case.id}-y{batch}.npy", to_numpy(model(x)))


def _run_fresh(tmp_path, load_and_call):
    """Runs every case through `load_and_call` in a fresh interpreter."""
    script = load_and_call + textwrap.dedent(f"""
        import sys
        import numpy as np
        root = {str(tmp_path)!r}
        for case in {[c.id for c in EXPORT_CASES]!r}:
            for batch in {BATCHES!r}:
                x = np.load(f"{{root}}/{{case}}-x{{batch}}.npy")
                y = np.asarray(call(f"{{root}}/{{case}}", x))
                np.testing.assert_allclose(
                    y, np.load(f"{{root}}/{{case}}-y{{batch}}.npy"),
                    rtol=1e-5, atol=1e-5, err_msg=case)
        assert "keras_lcw" not in sys.modules
    """)
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, cwd=str(tmp_path)
    )
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.slow
@pytest.mark.backends("tensorflow", "jax")
def test_tf_saved_model_reloads_without_keras_lcw(tmp_path):
    _write_cases(tmp_path, lambda model, path: model.export(path, format="tf_saved_model", verbose=False))
    _run_fresh(tmp_path, textwrap.dedent("""
        import tensorflow as tf
        def call(path, x):
            artifact = tf.saved_model.load(path)  # must outlive the call
            return artifact.serve(x).numpy()
    """))


@pytest.mark.backends("torch")
def test_torch_export_reloads_without_keras_lcw(tmp_path):
    import torch

    def export(model, path):
        # Without dynamic_shapes the program is specialized to batch size 1.
        batch = torch.export.Dim("batch", min=1, max=64)
        model.export(path + ".pt2", format="torch", verbose=False, dynamic_shapes={0: batch})

    _write_cases(tmp_path, export)
    _run_fresh(tmp_path, textwrap.dedent("""
        import torch
        def call(path, x):
            program = torch.export.load(path + ".pt2")
            return program.module()(torch.from_numpy(x)).detach().numpy()
    """))
