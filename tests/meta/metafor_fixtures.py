"""Helpers for the plateau.meta tests: loading the metafor JSON fixtures (import as
`metafor_fixtures`).

``load_fixture("core_pool")`` returns the parsed ``tests/fixtures/metafor/core_pool.json``
(written by ``validation/metafor/core.R``); ``as_array`` turns a JSON list with nulls (R's NA)
into a float array with NaN; ``assert_close`` compares with a relative and absolute tolerance
and names what failed.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "metafor"


@cache
def _load(name: str):
    path = FIXTURES / (name if name.endswith(".json") else f"{name}.json")
    return json.loads(path.read_text(encoding="utf-8"))


def load_fixture(name: str):
    """Parsed JSON fixture ``tests/fixtures/metafor/<name>.json`` (cached; do not mutate)."""
    return _load(name)


def as_array(values) -> np.ndarray:
    if values is None:
        return np.array(np.nan)
    if isinstance(values, (int, float)):
        return np.array(float(values))
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def assert_close(actual, expected, *, rtol: float, atol: float = 0.0, what: str = "") -> None:
    """np.allclose-style check (|a - e| <= atol + rtol |e|), NaN == NaN, with a useful message."""
    a = np.asarray(actual, dtype=float)
    e = as_array(expected) if not isinstance(expected, np.ndarray) else expected.astype(float)
    assert a.shape == e.shape or e.ndim == 0, f"{what}: shape {a.shape} != {e.shape}"
    both_nan = np.isnan(a) & np.isnan(e)
    diff = np.abs(a - e)
    ok = both_nan | (diff <= atol + rtol * np.abs(e))
    if not np.all(ok):
        worst = np.nanmax(np.where(ok, 0, diff / np.maximum(np.abs(e), 1e-300)))
        raise AssertionError(
            f"{what}: got {a}, metafor {e} (worst relative difference {worst:.3g})"
        )
