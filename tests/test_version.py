"""One version, declared once (pyproject.toml), and stored as provenance where results are kept."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import plateau
from plateau.decide import decide, load_profile
from plateau.evidence import load_bundled

REPO = Path(__file__).resolve().parents[1]
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def test_the_package_reports_the_declared_version():
    assert plateau.__version__ == VERSION
    assert re.fullmatch(r"\d+\.\d+\.\d+", VERSION)


def test_the_changelog_has_an_entry_for_the_version():
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## \[?{re.escape(VERSION)}\]?", changelog, re.M), VERSION


def test_a_decision_snapshot_stores_the_version():
    profile = load_profile(REPO / "examples" / "profiles" / "frail-78-not-eligible.json")
    snapshot = decide(profile, load_bundled(), n_sims=200, seed=1).to_dict()
    assert snapshot["plateau_version"] == VERSION
