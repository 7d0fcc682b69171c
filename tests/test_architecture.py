"""The layers of ``src/plateau`` import one way only, and no module takes part in an import cycle.

Layers (docs/architecture.md explains each), lowest first; a module may import its own layer
and any lower one, never a higher one::

    errors (and the package root) < meta < evidence < rules < analysis < monitor, decide < faq
      < report < store < web < cli (and __main__)

``monitor`` and ``decide`` share a rank but may not import each other: what both need (rule
tables, citations, kidney-function cut-offs) lives in ``rules``.  Every import counts: absolute
and relative, at module level or inside a function (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "plateau"

#: rank of each layer (a top-level subpackage or module of ``plateau``)
RANK = {
    "__init__": 0,  # the package root: version only
    "errors": 0,
    "meta": 1,
    "evidence": 2,
    "rules": 3,
    "analysis": 4,
    "monitor": 5,
    "decide": 5,
    "faq": 6,
    "report": 7,
    "store": 8,
    "web": 9,
    "cli": 10,
    "__main__": 11,
}
#: pairs of layers of equal rank that still may not import each other (importer, imported)
FORBIDDEN = {("decide", "monitor"), ("monitor", "decide")}

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


# ------------------------------------------------------------------------------ import graph
def module_names(package: Path, top: str = "plateau") -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package (packages by __init__)."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = [top, *path.relative_to(package).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports_of(module: str, path: Path, modules: dict[str, Path], top: str = "plateau"):
    """(imported module, line) for every import of ``top`` modules in the file, anywhere in it.

    Relative imports are resolved against the module's package; ``from a.b import c`` names the
    module ``a.b.c`` when that is a module, else ``a.b``.
    """
    is_package = path.name == "__init__.py"
    package = module.split(".") if is_package else module.split(".")[:-1]

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == top:
                    yield resolve(alias.name), node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name.split(".")[0] != top:
                continue
            for alias in node.names:
                full = f"{name}.{alias.name}"
                yield (full if full in modules else resolve(name)), node.lineno


def import_graph(package: Path, top: str = "plateau") -> dict[str, set[str]]:
    modules = module_names(package, top)
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        deps = {m for m, _ in imports_of(module, path, modules, top) if m and m != module}
        graph[module] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _layer_violations(graph: dict[str, set[str]]) -> Iterator[str]:
    for module, deps in sorted(graph.items()):
        src = layer_of(module)
        for dep in sorted(deps):
            dst = layer_of(dep)
            if src == dst:
                continue
            if RANK[dst] > RANK[src]:
                yield f"{module} imports {dep}: {src} (rank {RANK[src]}) may not import {dst}"
            elif (src, dst) in FORBIDDEN:
                yield f"{module} imports {dep}: {src} and {dst} may not import each other"


GRAPH = import_graph(PACKAGE)


# ------------------------------------------------------------------------------ the package
def test_every_layer_has_a_rank():
    layers = {layer_of(m) for m in GRAPH}
    assert layers <= set(RANK), f"unranked layers: {sorted(layers - set(RANK))}; add to RANK"


def test_no_import_cycles():
    found = cycles(GRAPH)
    assert not found, "import cycles (each line one cycle):\n" + "\n".join(
        " <-> ".join(c) for c in found
    )


def test_layers_import_downwards_only():
    violations = list(_layer_violations(GRAPH))
    assert not violations, "\n".join(violations)


@pytest.mark.parametrize("path", sorted((PACKAGE / "meta").rglob("*.py")), ids=lambda p: p.name)
def test_meta_is_numpy_scipy_only(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top == "plateau":
                assert name.startswith("plateau.meta") or name == "plateau.errors", name
            else:
                assert top in NUMERIC_ONLY, (
                    f"plateau.meta must use NumPy/SciPy only; {path.name} imports {name}"
                )


# ------------------------------------------------------------------------------ the checker
def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root / "pkg"


def test_checker_finds_a_cycle_through_relative_and_lazy_imports(tmp_path):
    pkg = _write(
        tmp_path,
        {
            "__init__.py": "",
            "a/__init__.py": "",
            "a/x.py": "from . import y\n",
            "a/y.py": "def f():\n    from ..b import z\n",
            "b/__init__.py": "",
            "b/z.py": "from pkg.a.x import thing\n",
        },
    )
    graph = import_graph(pkg, top="pkg")
    assert graph["pkg.a.x"] == {"pkg.a.y"}
    assert graph["pkg.a.y"] == {"pkg.b.z"}
    assert graph["pkg.b.z"] == {"pkg.a.x"}
    assert cycles(graph) == [["pkg.a.x", "pkg.a.y", "pkg.b.z"]]


def test_checker_reports_an_upward_and_a_forbidden_import():
    graph = {
        "plateau.meta.pool": {"plateau.web.app"},
        "plateau.decide.engine": {"plateau.monitor.dosing", "plateau.rules.dose"},
        "plateau.web.app": {"plateau.meta.pool"},
    }
    violations = list(_layer_violations(graph))
    assert violations == [
        "plateau.decide.engine imports plateau.monitor.dosing: decide and monitor may not "
        "import each other",
        "plateau.meta.pool imports plateau.web.app: meta (rank 1) may not import web",
    ]
