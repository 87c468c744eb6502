"""What a user sees when the backend Keras is set to is not installed."""

import os
import subprocess
import sys
import textwrap

import pytest

BLOCKER = textwrap.dedent("""
    import sys

    class _Missing:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "tensorflow":
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    sys.meta_path.insert(0, _Missing())
""")


@pytest.mark.backends("torch")
def test_missing_backend_names_the_cause_and_the_fix(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    env = dict(os.environ, PYTHONPATH=str(tmp_path), KERAS_BACKEND="tensorflow")
    result = subprocess.run([sys.executable, "-c", "import keras_lcw"], env=env, capture_output=True, text=True)
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("ImportError: Keras is set to the 'tensorflow' backend, which is not installed")
    assert "KERAS_BACKEND='tensorflow'" in message and "pip install tensorflow" in message
