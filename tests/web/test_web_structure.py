"""The web layer's seams: route modules never import the app factory (no cycle), and every role
decision goes through the ONE permission table (no scattered role string comparisons)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from plateau.store import permissions

SRC = Path(__file__).resolve().parents[2] / "src" / "plateau"
WEB_MODULES = sorted(p for p in (SRC / "web").glob("*.py") if p.name != "app.py")


@pytest.mark.parametrize("path", WEB_MODULES, ids=lambda p: p.name)
def test_route_modules_do_not_import_the_app_factory(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            assert node.module != "plateau.web.app", f"{path.name} imports plateau.web.app"
            if node.module == "plateau.web":
                assert "app" not in {a.name for a in node.names}, path.name


ROLE_COMPARISON = re.compile(r"""\.role\s*(==|!=|in|not in)\s*[("']""")


@pytest.mark.parametrize(
    "path",
    sorted((SRC / "web").glob("*.py")) + sorted((SRC / "store").glob("*.py")),
    ids=lambda p: p.name,
)
def test_no_role_string_comparisons_outside_the_permission_table(path):
    if path.name == "permissions.py":
        return
    text = path.read_text(encoding="utf-8")
    assert not ROLE_COMPARISON.search(text), f"{path.name} compares a role string"
    assert "require_role" not in text


def test_the_permission_table_is_role_by_action():
    assert permissions.allowed("admin", "users.manage")
    assert not permissions.allowed("clinician", "users.manage")
    assert permissions.allowed("clinician", "records.identified")
    assert not permissions.allowed("researcher", "records.identified")
    assert not permissions.allowed("researcher", "records.import")
    assert not permissions.allowed("no-such-role", "patients.all")
    with pytest.raises(ValueError):
        permissions.allowed("admin", "no.such.action")
    with pytest.raises(permissions.AccessDenied, match="researcher"):
        permissions.require("researcher", "records.export")
