"""Fixtures for the living FAQ: a writable copy of the bundled evidence and library."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from plateau.evidence.base import BUNDLED_DIR
from plateau.faq import BUNDLED_LIBRARY

TRIALS = Path(BUNDLED_DIR)


@pytest.fixture
def evidence_copy(tmp_path) -> Path:
    """A copy of the bundled trial files in a temporary folder."""
    folder = tmp_path / "evidence"
    shutil.copytree(TRIALS, folder)
    return folder


@pytest.fixture
def library_copy(tmp_path) -> Path:
    folder = tmp_path / "library"
    shutil.copytree(BUNDLED_LIBRARY, folder)
    return folder


def _edit_estimate(folder: Path, trial: str, outcome: str, status: str, **changes) -> dict:
    """Change one estimate of ``trial`` (matched by outcome and status) in the copied evidence."""
    path = folder / f"{trial}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    hits = [
        e
        for e in data["estimates"]
        if e["outcome"] == outcome and e.get("status") == status and e.get("subgroup") is None
    ]
    assert len(hits) == 1, f"expected one {outcome} {status} estimate in {trial}, got {len(hits)}"
    hits[0].update(changes)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return hits[0]


@pytest.fixture
def edit_estimate():
    """``edit_estimate(folder, trial, outcome, status, **changes)`` on a copied evidence folder."""
    return _edit_estimate
