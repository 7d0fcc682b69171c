"""The documentation stands alone and stays true to the code.

* docs/architecture.md links every module of ``src/plateau`` and names every web template (one
  step from the page to any rule, estimator or page);
* every relative link in README.md and docs/*.md points to a file of the repository;
* the rule index of docs/clinical-rules.md matches the rule tables of ``plateau.rules``;
* code, tests and docs cite repository files, never material outside the repository or
  tracker issue numbers.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "plateau"
ARCH = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _modules() -> list[str]:
    return [
        str(p.relative_to(REPO)) for p in sorted(SRC.rglob("*.py")) if "migrations" not in p.parts
    ]


@pytest.mark.parametrize("module", _modules())
def test_architecture_links_every_module(module):
    linked = f"(../{module})" in ARCH
    assert linked, f"docs/architecture.md does not link {module}"


def test_architecture_names_every_template():
    templates = sorted(p.name for p in (SRC / "web" / "templates").glob("*.html"))
    missing = [t for t in templates if f"`{t}`" not in ARCH]
    assert not missing, f"docs/architecture.md does not name the templates {missing}"


def _doc_files() -> list[Path]:
    return [REPO / "README.md", REPO / "CONTRIBUTING.md", *sorted((REPO / "docs").glob("*.md"))]


@pytest.mark.parametrize("doc", _doc_files(), ids=lambda p: p.name)
def test_relative_links_resolve(doc):
    text = doc.read_text(encoding="utf-8")
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto
        if not (doc.parent / target).exists():
            broken.append(target)
    assert not broken, f"{doc.name}: links to missing files {broken}"


def test_the_rule_index_matches_the_code():
    spec = importlib.util.spec_from_file_location("rule_index", REPO / "docs" / "rule_index.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = module.DOC.read_text(encoding="utf-8")
    assert module.current(text) == module.render(), (
        "docs/clinical-rules.md: rule index out of date; run .venv/bin/python docs/rule_index.py"
    )


OUTSIDE = re.compile(r"\.\./shared/|\bshared/(?:clinical-rules|research|evidence)/|\bSPEC\.md\b")
ISSUE = re.compile(r"\b[Ii]ssue[ -]?#?\d+\b")


def _cited_files() -> list[Path]:
    roots = ["src", "tests", "docs", "benchmarks", "validation", "examples"]
    files = [REPO / "README.md", REPO / "CONTRIBUTING.md", REPO / "CHANGELOG.md"]
    for root in roots:
        for path in sorted((REPO / root).rglob("*")):
            if path.suffix in {".py", ".md", ".R", ".html", ".yaml", ".yml", ".toml", ".txt"}:
                if "vendor" not in path.parts and path.name != "test_docs.py":
                    files.append(path)
    return files


def test_nothing_cites_material_outside_the_repository():
    offenders = []
    for path in _cited_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for pattern in (OUTSIDE, ISSUE):
            for m in pattern.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                offenders.append(f"{path.relative_to(REPO)}:{line}: {m.group(0)}")
    assert not offenders, "cite repository files instead:\n" + "\n".join(offenders)
