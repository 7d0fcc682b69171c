"""The layers of DEVELOPERS.md import one way only: lower layers never import higher ones."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "plateau"

# rank of each top-level subpackage; a module may import only ranks <= its own
RANK = {
    "errors": 0,
    "meta": 1,
    "evidence": 2,
    "rules": 3,
    "analysis": 4,
    "decide": 5,
    "monitor": 5,
    "faq": 5,
    "report": 6,
    "store": 6,
    "web": 7,
    "cli": 8,
}
NUMERIC_ONLY = {
    "numpy",
    "scipy",
    "math",
    "warnings",
    "dataclasses",
    "typing",
    "__future__",
    "functools",
    "itertools",
    "collections",
    "enum",
    "numbers",
    "operator",
    "abc",
}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if len(rel.parts) == 1:
            continue  # plateau/__init__.py, __main__.py, errors.py
        yield rel.parts[0], path


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


@pytest.mark.parametrize("layer,path", list(_modules()), ids=lambda v: str(v))
def test_layer_imports_point_down(layer, path):
    assert layer in RANK, f"{layer} is not a known layer; add it to RANK"
    for name in _imports(path):
        parts = name.split(".")
        if parts[0] != "plateau" or len(parts) < 2 or parts[1] not in RANK:
            continue
        assert RANK[parts[1]] <= RANK[layer], (
            f"{path.relative_to(PACKAGE)} imports {name}: {layer} may not import {parts[1]}"
        )


@pytest.mark.parametrize("path", sorted((PACKAGE / "meta").rglob("*.py")), ids=lambda p: p.name)
def test_meta_is_numpy_scipy_only(path):
    for name in _imports(path):
        top = name.split(".")[0]
        if top == "plateau":
            assert name.startswith("plateau.meta") or name == "plateau.errors", name
        else:
            assert top in NUMERIC_ONLY, (
                f"plateau.meta must use NumPy/SciPy only; {path.name} imports {name}"
            )
