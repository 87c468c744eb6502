"""keras_lcw's modules import downward only.

backend-specific code -> numerics -> constraints and initializers ->
parameterizations -> layers and activations -> bake and convert -> tuning:
a module imports modules of its own level or below, never above.
"""

import ast
import os

import pytest

import keras_lcw

ROOT = os.path.dirname(keras_lcw.__file__)
LEVELS = [
    ("keras_lcw.backend_utils", "keras_lcw.validation"),
    ("keras_lcw.numerics",),
    ("keras_lcw.constraints", "keras_lcw.initializers", "keras_lcw.plain"),
    ("keras_lcw.parameterizations",),
    ("keras_lcw.layers", "keras_lcw.activations"),
    ("keras_lcw.cloning", "keras_lcw.bake", "keras_lcw.convert", "keras_lcw.diagnostics"),
    ("keras_lcw.tuning",),
]


def _level(module):
    for level, prefixes in enumerate(LEVELS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return level
    return len(LEVELS)  # The package's __init__ re-exports everything.


def _modules():
    for directory, _, files in os.walk(ROOT):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                parts = os.path.relpath(path, os.path.dirname(ROOT))[:-3].split(os.sep)
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                yield ".".join(parts), path


def _imports(path):
    tree = ast.parse(open(path).read())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("keras_lcw"):
            for alias in node.names:
                yield f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("keras_lcw"):
                    yield alias.name


MODULES = sorted(_modules())


def test_every_module_has_a_level():
    assert [m for m, _ in MODULES if _level(m) == len(LEVELS) and m != "keras_lcw"] == []


@pytest.mark.parametrize("module, path", MODULES, ids=[m for m, _ in MODULES])
def test_imports_go_downward(module, path):
    upward = [name for name in _imports(path) if _level(name) > _level(module)]
    assert not upward, f"{module} (level {_level(module)}) imports {upward}"
