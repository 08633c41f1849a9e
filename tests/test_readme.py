"""README.md: every ```python block runs as printed (from a temporary directory)."""

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", README.read_text(), flags=re.DOTALL | re.MULTILINE)


def test_readme_has_python_blocks():
    assert BLOCKS, "README.md lost its worked example"


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_python_block_runs(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a block must not depend on (or write into) the checkout
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"{README}:python-block", "exec"), {"__name__": "__readme__"})  # noqa: S102
    # a `print(x)  # <expected>` comment that shows a repr must be what the line prints
    printed = out.getvalue().splitlines()
    shown = [c.strip() for c in re.findall(r"^print\([^\n]*\)\s+#\s*([A-Za-z]\w*\(.*\))\s*$",
                                           code, flags=re.MULTILINE)]
    for expected in shown:
        assert expected in printed, f"README shows {expected!r}; the code printed {printed}"


def test_ci_runs_the_readme_test_command():
    """.ci/run's command, between its marker comments, is the tail of README's test command."""
    ci = (README.parent / ".ci" / "run").read_text()
    body = ci.split("(keep identical to README.md) ---\n", 1)[1]
    command = body.split("# --- end of README's test command ---", 1)[0].strip()
    readme = README.read_text()
    (block,) = [b for b in re.findall(r"^```bash\n(.*?)^```", readme,
                                      flags=re.DOTALL | re.MULTILINE) if "pytest" in b]
    assert block.strip().endswith(command), (block, command)
    assert "ruff check ." in command
