"""Writes the table of common mistakes and their errors into docs/errors.md.

Runs every case of tests/error_cases.py and renders a markdown table of the
mistake, the code, the exception type and the message it raises, between
the `<!-- results:errors -->` markers of docs/errors.md. Run from the
repository root on any backend (the messages do not depend on it):

    python scripts/errors_table.py

tests/test_errors.py checks that the page holds the table this renders.
"""

import importlib.util
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE = os.path.join(ROOT, "docs", "errors.md")


def _examples_common():
    # examples/ is not a package: load its common.py by path.
    path = os.path.join(ROOT, "examples", "common.py")
    spec = importlib.util.spec_from_file_location("keras_lcw_examples_common", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cell(text):
    return text.replace("|", "\\|").replace("\n", " ")


def _code(code):
    lines = [line.strip() for line in code.strip().splitlines()]
    return "`" + _cell("; ".join(line for line in lines if line)) + "`"


def message_of(case):
    """The normalized message the case raises; raises if it raises none or
    another type."""
    from tests.error_cases import normalize

    try:
        case.make()
    except case.error as error:
        return normalize(str(error))
    raise AssertionError(f"{case.mistake}: no {case.error.__name__} raised")


def render():
    from tests.error_cases import CASES

    rows = ["| Mistake | Call | Error | Message |", "|---|---|---|---|"]
    for case in CASES:
        rows.append(
            f"| {_cell(case.mistake)} | {_code(case.code)} | "
            f"`{case.error.__name__}` | {_cell(message_of(case))} |"
        )
    return "\n".join(rows)


def main():
    sys.path.insert(0, ROOT)
    _examples_common().write_results(PAGE, "errors", render())


if __name__ == "__main__":
    main()
