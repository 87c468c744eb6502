"""The documentation: relative links resolve, results markers are well formed
and match the scripts that write them, and `write_results` replaces exactly
the text between its markers."""

import glob
import importlib.util
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINKED_PAGES = [os.path.join(ROOT, "README.md")] + sorted(
    glob.glob(os.path.join(ROOT, "docs", "*.md"))
)
RESULTS_PAGES = sorted(glob.glob(os.path.join(ROOT, "docs", "*.md"))) + [
    os.path.join(ROOT, "benchmarks", "README.md")
]
BACKENDS = ("tensorflow", "jax", "torch")

# A markdown link or image: [text](target) or ![alt](target "title").
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
# Anything that looks like a results marker, well formed or not.
MARKER_LIKE = re.compile(r"<!--\s*/?\s*results\b[^>]*-->")
MARKER = re.compile(r"<!-- (/?)results:([A-Za-z0-9_.-]+) -->")


def _relative(path):
    return os.path.relpath(path, ROOT)


def _examples_common():
    """examples/common.py, loaded by path: examples/ is not a package, and an
    unrelated `examples` package may be installed."""
    path = os.path.join(ROOT, "examples", "common.py")
    spec = importlib.util.spec_from_file_location("keras_lcw_examples_common", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def relative_links(text):
    """The relative link targets of a markdown text, outside code, without
    their #fragment."""
    text = INLINE_CODE.sub("", FENCE.sub("", text))
    targets = []
    for target in LINK.findall(text):
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a URL (https:, mailto:) or an anchor in the same page
        targets.append(target.split("#", 1)[0])
    return targets


def broken_links(page):
    with open(page, encoding="utf-8") as f:
        text = f.read()
    folder = os.path.dirname(page)
    return [
        target
        for target in relative_links(text)
        if not os.path.exists(os.path.normpath(os.path.join(folder, target)))
    ]


def marker_problems(text):
    """What is wrong with the results markers of a page; [] if they pair up.

    Every marker must be spelled `<!-- results:NAME -->` or
    `<!-- /results:NAME -->`, each opening marker must be closed by the
    closing marker of the same name before any other marker, and a name may
    appear in one pair only.
    """
    problems = []
    for raw in MARKER_LIKE.findall(text):
        if not MARKER.fullmatch(raw):
            problems.append(f"malformed marker {raw!r}")
    open_name, seen = None, set()
    for closing, name in MARKER.findall(text):
        if not closing:
            if open_name is not None:
                problems.append(f"results:{name} opens inside results:{open_name}")
            if name in seen:
                problems.append(f"results:{name} appears twice")
            open_name = name
            seen.add(name)
        elif open_name != name:
            problems.append(f"/results:{name} closes {open_name or 'nothing'}")
        else:
            open_name = None
    if open_name is not None:
        problems.append(f"results:{open_name} is never closed")
    return problems


def marker_names(page):
    with open(page, encoding="utf-8") as f:
        return {name for closing, name in MARKER.findall(f.read()) if not closing}


def example_writers():
    """(docs page, marker name) for every write_results call in examples/."""
    call = re.compile(r'write_results\(\s*docs_page\("([^"]+)"\),\s*"([^"]+)"')
    writers = []
    for script in sorted(glob.glob(os.path.join(ROOT, "examples", "*.py"))):
        with open(script, encoding="utf-8") as f:
            for page, name in call.findall(f.read()):
                writers.append((os.path.basename(script), page, name))
    return writers


# --- links -----------------------------------------------------------------


@pytest.mark.parametrize("page", LINKED_PAGES, ids=_relative)
def test_relative_links_point_to_existing_files(page):
    assert broken_links(page) == []


def test_the_link_check_sees_links_and_skips_urls_and_code(tmp_path):
    (tmp_path / "there.md").write_text("x")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](there.md#part) ![img](missing.png) [web](https://example.org/x)\n"
        "[anchor](#top) `[code](nowhere.md)`\n```\nlayers[-1](h)\n```\n"
        "[gone](sub/gone.md)\n"
    )
    assert broken_links(str(page)) == ["missing.png", "sub/gone.md"]


# --- results markers -------------------------------------------------------


@pytest.mark.parametrize("page", RESULTS_PAGES, ids=_relative)
def test_results_markers_are_well_formed(page):
    with open(page, encoding="utf-8") as f:
        assert marker_problems(f.read()) == []


@pytest.mark.parametrize(
    "text, problem",
    [
        ("<!-- results:a -->\nx\n", "results:a is never closed"),
        ("x\n<!-- /results:a -->\n", "/results:a closes nothing"),
        ("<!-- results:a -->\n<!-- /results:b -->\n", "/results:b closes a"),
        (
            "<!-- results:a -->\n<!-- results:b -->\n<!-- /results:b -->\n<!-- /results:a -->\n",
            "results:b opens inside results:a",
        ),
        (
            "<!-- results:a --><!-- /results:a -->\n<!-- results:a --><!-- /results:a -->\n",
            "results:a appears twice",
        ),
        ("<!--results:a -->\n<!-- /results:a -->\n", "malformed marker '<!--results:a -->'"),
    ],
)
def test_the_marker_check_finds_each_problem(text, problem):
    assert problem in marker_problems(text)


def test_every_example_writes_to_existing_markers():
    writers = example_writers()
    scripts = {script for script, _, _ in writers}
    assert scripts == {
        "lcw_deep_sigmoid.py", "gmp_levy.py", "gmp_digits.py",
        "anact_gradient_flow.py", "anact_default.py", "linked_depth_test.py", "tune_digits.py",
        "reproduce.py",
    }
    for script, page, name in writers:
        path = os.path.join(ROOT, "docs", page)
        assert os.path.exists(path), f"{script} writes into the missing docs/{page}"
        assert name in marker_names(path), f"{script}: docs/{page} lacks results:{name}"


def test_benchmarks_readme_has_a_table_per_backend():
    names = marker_names(os.path.join(ROOT, "benchmarks", "README.md"))
    assert names == {f"benchmarks-{backend}" for backend in BACKENDS} | {
        f"benchmarks-{backend}-gpu" for backend in ("jax", "torch")
    }
    with open(os.path.join(ROOT, "benchmarks", "__main__.py"), encoding="utf-8") as f:
        assert 'f"benchmarks-{backend}" + ("-gpu" if gpu else "")' in f.read()


# --- write_results ---------------------------------------------------------


PAGE = """# Title

Regenerate with `python x.py`.

<!-- results:table -->
old table
<!-- /results:table -->

<!-- results:other -->
other table
<!-- /results:other -->
The end.
"""


def test_write_results_replaces_only_between_its_markers(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(PAGE)
    _examples_common().write_results(str(page), "table", "\n| a |\n|---|\n| 1 |\n\n")
    assert page.read_text() == PAGE.replace("old table", "| a |\n|---|\n| 1 |")
    # Idempotent, and the markers survive for the next run.
    _examples_common().write_results(str(page), "table", "new")
    assert page.read_text() == PAGE.replace("old table", "new")
    assert marker_problems(page.read_text()) == []


@pytest.mark.parametrize(
    "text",
    [
        "no markers at all\n",
        "<!-- results:table -->\nonly the opening one\n",
        "only the closing one\n<!-- /results:table -->\n",
        "<!-- /results:table -->\nreversed\n<!-- results:table -->\n",
        PAGE + PAGE,
    ],
    ids=["none", "opening only", "closing only", "reversed", "twice"],
)
def test_write_results_raises_and_leaves_the_page_alone(tmp_path, text):
    page = tmp_path / "page.md"
    page.write_text(text)
    with pytest.raises(ValueError, match="results:table"):
        _examples_common().write_results(str(page), "table", "new")
    assert page.read_text() == text


def test_write_results_creates_no_page(tmp_path):
    missing = tmp_path / "missing.md"
    with pytest.raises(FileNotFoundError):
        _examples_common().write_results(str(missing), "table", "new")
    assert not missing.exists()


def _public_layer_classes():
    import keras

    import keras_lcw

    return [
        value
        for name in sorted(dir(keras_lcw))
        if isinstance(value := getattr(keras_lcw, name), type)
        and issubclass(value, keras.layers.Layer)
    ]


@pytest.mark.parametrize("layer_class", _public_layer_classes(), ids=lambda c: c.__name__)
def test_help_shows_the_layer_documentation_once_without_the_parents(layer_class):
    """`help(keras_lcw.X)` starts with X's own docstring and does not repeat
    the docstring of the Keras layer it derives from."""
    import pydoc

    text = pydoc.render_doc(layer_class, renderer=pydoc.plaintext)
    own = layer_class.__doc__.strip().splitlines()[0]
    assert text.count(own) == 1
    for parent in layer_class.__mro__[1:]:
        if parent.__module__.startswith("keras.") and parent.__doc__:
            first = parent.__doc__.strip().splitlines()[0]
            assert first not in text, (
                f"help({layer_class.__name__}) repeats the docstring of "
                f"{parent.__name__}"
            )
