"""Every Python block of README.md and docs/*.md runs as written.

The blocks of a page run in order in one namespace, which starts with
`import keras` and `import keras_lcw`, in a temporary current directory (a
block may save files). HTML comments directly above a block (no blank line
between them and the fence) say how it runs; docs/index.md describes them:

- `<!-- setup: CODE -->`: CODE runs just before the block (the page says in
  words what it sets up);
- `<!-- backend: NAME -->`: the block (and its setup) runs on that backend
  only;
- `<!-- devices: N -->`: the block needs N devices; the page then runs in a
  fresh process on N fake JAX CPU devices (only with `backend: jax`);
- `<!-- not-run: REASON -->`: the block is not run, for the reason given.

Run one page by hand with `python -m tests.test_doc_blocks docs/PAGE.md`.
"""

import dataclasses
import glob
import os
import re
import subprocess
import sys

import keras
import pytest

from tests.distributed_training import xla_flags_with_devices

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = ["README.md"] + sorted(
    os.path.relpath(path, ROOT)
    for path in glob.glob(os.path.join(ROOT, "docs", "*.md"))
)
DIRECTIVES = ("setup", "backend", "devices", "not-run")
_COMMENT = re.compile(r"<!--\s*([a-z-]+):(.*?)-->", re.DOTALL)


@dataclasses.dataclass
class Block:
    page: str
    line: int  # 1-based line of the first code line
    code: str
    setup: str = ""
    setup_line: int = 0
    backend: str = None
    devices: int = 1
    not_run: str = None

    def runs_on(self, backend):
        return self.not_run is None and self.backend in (None, backend)


def _directives(lines, fence):
    """The directive comments directly above the fence at index `fence`,
    as (name, value, line index of the comment's first line)."""
    end = fence
    found = []
    while end > 0 and lines[end - 1].rstrip().endswith("-->"):
        start = end - 1
        while "<!--" not in lines[start]:
            start -= 1
            if start < 0:
                raise ValueError(f"unterminated comment above line {fence + 1}")
        match = _COMMENT.fullmatch("\n".join(lines[start:end]).strip())
        if match is None:
            break
        found.append((match.group(1), match.group(2), start))
        end = start
    return found[::-1]


def parse(page):
    """The ```python blocks of a page, with their directives."""
    with open(os.path.join(ROOT, page), encoding="utf-8") as f:
        lines = f.read().splitlines()
    blocks = []
    fence = None
    for index, line in enumerate(lines):
        if fence is None and line.startswith("```"):
            fence = (index, line[3:].strip())
        elif fence is not None and line.strip() == "```":
            start, language = fence
            fence = None
            if language != "python":
                continue
            block = Block(page, start + 2, "\n".join(lines[start + 1 : index]))
            for name, value, comment_index in _directives(lines, start):
                if name not in DIRECTIVES:
                    raise ValueError(
                        f"{page}:{comment_index + 1}: unknown directive "
                        f"{name!r}; known: {', '.join(DIRECTIVES)}"
                    )
                if name == "setup":
                    block.setup = value
                    block.setup_line = comment_index + 1
                elif name == "backend":
                    block.backend = value.strip()
                elif name == "devices":
                    block.devices = int(value)
                else:
                    block.not_run = value.strip()
                    if not block.not_run:
                        raise ValueError(f"{page}:{start + 1}: not-run needs a reason")
            if block.devices > 1 and block.backend != "jax":
                raise ValueError(
                    f"{page}:{start + 1}: `devices` is for JAX blocks "
                    "(`backend: jax`) only"
                )
            blocks.append(block)
    assert fence is None, f"{page}: unclosed code fence at line {fence[0] + 1}"
    return blocks


def _exec(code, page, line, namespace):
    # Padding keeps the page's line numbers in tracebacks.
    source = "\n" * (line - 1) + code
    exec(compile(source, os.path.join(ROOT, page), "exec"), namespace)


def run_page(page, backend):
    """Runs a page's blocks for `backend` in order; returns how many ran."""
    namespace = {"__name__": "__doc__", "keras": keras}
    exec("import keras_lcw", namespace)
    ran = 0
    for block in parse(page):
        if not block.runs_on(backend):
            continue
        if block.setup:
            # The setup's text starts on its comment's line.
            _exec(block.setup, page, block.setup_line, namespace)
        _exec(block.code, page, block.line, namespace)
        ran += 1
    return ran


def test_every_page_is_parsed_and_has_its_blocks_accounted_for():
    blocks = [block for page in PAGES for block in parse(page)]
    assert len(blocks) > 15
    assert all(block.code.strip() for block in blocks)


@pytest.mark.parametrize("page", [p for p in PAGES if parse(p)])
def test_python_blocks_run(page, tmp_path, monkeypatch):
    backend = keras.backend.backend()
    blocks = [b for b in parse(page) if b.runs_on(backend)]
    if not blocks:
        pytest.skip(f"no block of {page} runs on {backend}")
    monkeypatch.chdir(tmp_path)
    devices = max(block.devices for block in blocks)
    if devices == 1:
        assert run_page(page, backend) == len(blocks)
        return
    env = dict(os.environ)
    env["XLA_FLAGS"] = xla_flags_with_devices(env.get("XLA_FLAGS"), devices)
    env["PYTHONPATH"] = os.pathsep.join([ROOT, env.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, "-m", "tests.test_doc_blocks", page],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    assert f"{len(blocks)} blocks ran" in result.stdout


if __name__ == "__main__":
    (page_argument,) = sys.argv[1:]
    count = run_page(page_argument, keras.backend.backend())
    print(f"{count} blocks ran")
