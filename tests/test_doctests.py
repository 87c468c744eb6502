"""Every `>>>` example in keras_lcw's docstrings runs, on every backend."""

import doctest
import importlib
import pkgutil

import keras
import numpy as np
import pytest

import keras_lcw


def _modules():
    yield keras_lcw
    for info in pkgutil.walk_packages(keras_lcw.__path__, "keras_lcw."):
        yield importlib.import_module(info.name)


def _examples():
    finder = doctest.DocTestFinder(exclude_empty=True)
    seen = set()
    for module in _modules():
        for test in finder.find(module, module.__name__):
            if test.examples and test.name not in seen:
                seen.add(test.name)
                yield test


EXAMPLES = sorted(_examples(), key=lambda test: test.name)


def test_the_examples_are_found():
    assert len(EXAMPLES) >= 20


@pytest.mark.parametrize("test", EXAMPLES, ids=[test.name for test in EXAMPLES])
def test_docstring_example_runs(test, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # Examples that save write here.
    test.globs = {"keras": keras, "keras_lcw": keras_lcw, "np": np}
    runner = doctest.DocTestRunner(verbose=False, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test, out=lambda text: pytest.fail(text, pytrace=False))
    assert runner.failures == 0
