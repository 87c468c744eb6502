"""Every common mistake of tests/error_cases.py raises its error, and
docs/errors.md shows the messages the code raises."""

import importlib.util
import os
import re

import pytest

from tests.error_cases import CASES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _errors_table():
    path = os.path.join(ROOT, "scripts", "errors_table.py")
    spec = importlib.util.spec_from_file_location("keras_lcw_errors_table", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("case", CASES, ids=[c.mistake for c in CASES])
def test_mistake_raises_its_error(case):
    with pytest.raises(case.error, match=case.match):
        case.make()


def test_cases_are_many_and_distinct():
    assert len(CASES) >= 25
    assert len({c.mistake for c in CASES}) == len(CASES)


def test_errors_page_is_up_to_date():
    with open(os.path.join(ROOT, "docs", "errors.md"), encoding="utf-8") as f:
        page = f.read()
    found = re.search(r"<!-- results:errors -->\n(.*?)\n<!-- /results:errors -->", page, re.S)
    assert found, "docs/errors.md lacks the results:errors markers"
    assert found.group(1) == _errors_table().render(), (
        "docs/errors.md is out of date: run python scripts/errors_table.py"
    )
