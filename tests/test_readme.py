"""The README's examples work: every ``python`` block runs, and its ``plateau`` commands run.

Python blocks run in a fresh namespace each.  Shell blocks: every ``plateau ...`` command (lines
joined at a trailing backslash, comments dropped, optional ``[...]`` parts left out and the first
of ``a|b`` alternatives taken) runs in a temporary folder that sees the repository's
``examples/`` and the test process's temporary database; it must exit 0.  Commands that cannot
run here say why in ``SKIP`` (a server that does not return, a password prompt, files the README
leaves to the reader); anything else a new README line adds is run.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)

#: prefixes of README commands that are not run here, and why
SKIP = {
    "plateau start --port": "serves until stopped (tests/web/test_start.py runs it)",
    "plateau serve": "serves until stopped",
    "plateau admin create-user": "asks for a password on the terminal",
    "plateau admin user": "needs an existing account (tests/store and tests/web cover it)",
    "plateau admin import": "needs an account and the reader's own files (tests/store cover it)",
    "plateau report": "writes the full living report with PDF (tests/report cover it; slow)",
    "plateau faq sign-off": "writes into the bundled entry files (tests/faq run it on a copy)",
    "plateau faq sync-reviews": "needs a records database (tests/web/test_faq_pages.py runs it)",
}


def _blocks(lang: str) -> list[tuple[int, str]]:
    return [
        (README[: m.start()].count("\n") + 1, m.group(2))
        for m in BLOCK.finditer(README)
        if m.group(1) == lang
    ]


def _commands() -> list[tuple[int, str]]:
    out = []
    for line_no, body in _blocks("bash"):
        joined = re.sub(r"\\\n\s*", " ", body)
        for offset, line in enumerate(joined.splitlines()):
            line = re.sub(r"\s+#.*$", "", line).strip()
            if not line.startswith("plateau "):
                continue
            line = re.sub(r"\s*\[[^\]]*\]", "", line)  # optional parts
            line = re.sub(r"(\S+?)\|\S+", r"\1", line)  # first alternative
            out.append((line_no + offset, line))
    return out


PYTHON = _blocks("python")
COMMANDS = _commands()
RUN = [(n, c) for n, c in COMMANDS if not any(c.startswith(s) for s in SKIP)]


def test_the_readme_has_examples_to_run():
    assert PYTHON, "no python block found in README.md"
    assert len(RUN) >= 8, f"only {len(RUN)} README commands would run: {RUN}"


@pytest.mark.parametrize("line,code", PYTHON, ids=[f"README.md:{n}" for n, _ in PYTHON])
def test_python_block(line, code, capsys):
    exec(compile(code, f"README.md:{line}", "exec"), {"__name__": "__readme__"})
    assert capsys.readouterr().out.strip() or "print(" not in code


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    path = tmp_path_factory.mktemp("readme")
    (path / "examples").symlink_to(REPO / "examples")
    return path


@pytest.mark.parametrize("line,command", RUN, ids=[f"README.md:{n}" for n, _ in RUN])
def test_readme_command(line, command, workdir):
    args = shlex.split(command)[1:]
    result = subprocess.run(
        [sys.executable, "-m", "plateau", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "160"},
    )
    assert result.returncode == 0, (
        f"README.md:{line}: `{command}` exited {result.returncode}\n"
        f"{result.stdout[-1500:]}\n{result.stderr[-1500:]}"
    )
    assert result.stdout.strip(), f"README.md:{line}: `{command}` printed nothing"
