"""The examples in docstrings run: every module of ``src/plateau`` with a ``>>>`` example.

The same as ``pytest --doctest-modules`` on those modules, found automatically so a new example
is tested without registering it (NumPy floats print as Python floats: legacy print mode 1.25).
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import numpy as np
import pytest

SRC = Path(__file__).resolve().parents[1] / "src"


def _modules_with_examples() -> list[str]:
    names = []
    for path in sorted((SRC / "plateau").rglob("*.py")):
        if "migrations" in path.parts or ">>>" not in path.read_text(encoding="utf-8"):
            continue
        parts = path.relative_to(SRC).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


MODULES = _modules_with_examples()


def test_some_modules_have_examples():
    assert MODULES, "no docstring examples found (the doctest runner would test nothing)"


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    with np.printoptions(legacy="1.25"):
        result = doctest.testmod(
            module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, report=True
        )
    assert result.attempted > 0, f"{name}: '>>>' found but no example collected"
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
