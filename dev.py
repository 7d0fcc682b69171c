#!/usr/bin/env python3
"""Set up plateau's environment and run it: the two quick-start commands.

    python3 dev.py start   # create .venv, install the locked runtime, run the main job
    python3 dev.py test    # create .venv, install the locked test set, lint, run the whole suite
    python3 dev.py lint    # only the static checks: ruff check, ruff format --check, mypy

Needs only Python >= 3.11 (standard library). The virtual environment lives in ``.venv``
beside this file; the pinned versions come from ``requirements/lock.txt`` (runtime) and
``requirements/test-lock.txt`` (runtime + tests), generated from ``pyproject.toml`` with
``uv pip compile`` (see README, "Updating the lock").  A stamp file records which lock was
installed so a second run skips the install.

Extra arguments after the sub-command go to the program: ``python3 dev.py start -- --port 9000``
(options go to ``plateau start``; ``python3 dev.py start -- evidence list`` runs another
``plateau`` command) or ``python3 dev.py test -- -k pool``.

``python3 dev.py test`` without arguments is what CI runs (``.ci/run``): first the static checks
(``ruff check``, ``ruff format --check``, ``mypy``, configured in ``pyproject.toml``), then the
whole pytest suite, which includes the import-cycle and layer check
(``tests/test_architecture.py``).  Any failure fails the run.  With arguments (a subset of
tests) the static checks are skipped unless ``PLATEAU_LINT=1`` is set.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
LOCKS = {
    "runtime": ROOT / "requirements" / "lock.txt",
    "test": ROOT / "requirements" / "test-lock.txt",
}


def say(message: str) -> None:
    print(f"[plateau setup] {message}", flush=True)


def run(cmd: list[str | os.PathLike[str]], **kwargs) -> None:
    result = subprocess.run([str(c) for c in cmd], cwd=ROOT, **kwargs)
    if result.returncode != 0:
        say(f"command failed ({result.returncode}): {' '.join(str(c) for c in cmd)}")
        sys.exit(result.returncode)


def ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs under any python3 and says why it stops
        sys.exit("plateau needs Python 3.11 or newer; run this script with python3.11.")
    if not PY.exists():
        say(f"creating virtual environment in {VENV}")
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)


def ensure_installed(kind: str) -> None:
    """Install the locked requirements of ``kind`` (and plateau itself, editable) once."""
    ensure_venv()
    lock = LOCKS[kind]
    digest = hashlib.sha256(lock.read_bytes() + (ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = VENV / f".plateau-{kind}.sha256"
    if stamp.exists() and stamp.read_text().strip() == digest:
        return
    say(f"installing locked {kind} requirements ({lock.relative_to(ROOT)})")
    quiet = ["--quiet"] if os.environ.get("CI") else []
    run([PY, "-m", "pip", "install", *quiet, "--disable-pip-version-check", "--upgrade", "pip"])
    run([PY, "-m", "pip", "install", *quiet, "--disable-pip-version-check", "-r", lock])
    run([PY, "-m", "pip", "install", *quiet, "--disable-pip-version-check", "--no-deps", "-e", "."])
    stamp.write_text(digest)


def cmd_start(args: list[str]) -> int:
    ensure_installed("runtime")
    plateau = BIN / "plateau"
    return subprocess.call([str(plateau), *start_arguments(args)], cwd=ROOT)


def start_arguments(args: list[str]) -> list[str]:
    """The ``plateau`` command line for ``dev.py start [-- ARGS]``.

    Options alone (``--port 9000``) go to ``plateau start``; a sub-command
    (``analyze --list``) runs that command instead.
    """
    if not args or args[0].startswith("-") and args[0] not in ("--help", "--version"):
        return ["start", *args]
    return list(args)


LINT_STEPS = (
    ("ruff check", ["ruff", "check", "."]),
    ("ruff format --check", ["ruff", "format", "--check", "."]),
    ("mypy", ["mypy"]),  # files and strictness per package: [tool.mypy] in pyproject.toml
)


def run_lint() -> int:
    """The static checks CI fails on besides the tests; returns the first non-zero exit code."""
    for label, (tool, *rest) in LINT_STEPS:
        say(f"lint: {label}")
        code = subprocess.call([str(BIN / tool), *rest], cwd=ROOT)
        if code != 0:
            say(f"lint failed: {label} (exit {code})")
            return code
    return 0


def cmd_lint(args: list[str]) -> int:
    ensure_installed("test")
    return run_lint()


def cmd_test(args: list[str]) -> int:
    ensure_installed("test")
    if not args or os.environ.get("PLATEAU_LINT") == "1":
        code = run_lint()
        if code != 0:
            return code
    setup = ROOT / "tests" / "setup_system.py"
    if setup.exists():  # system packages the browser/database tests need (Chromium, PostgreSQL)
        run([PY, setup])
    workers = ["-n", "auto"] if shutil.which("nproc") or os.cpu_count() else []
    code = subprocess.call([str(PY), "-m", "pytest", *workers, *args], cwd=ROOT)
    if code == 5:
        say("pytest collected no tests: treated as a failure")
        return 1
    return code


def main(argv: list[str]) -> int:
    commands = {"start": cmd_start, "test": cmd_test, "lint": cmd_lint}
    if not argv or argv[0] not in commands:
        print(__doc__)
        return 2
    rest = argv[1:]
    if rest and rest[0] == "--":
        rest = rest[1:]
    return commands[argv[0]](rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
