"""plateau.meta.mh against metafor 3.8-1 (rma.mh, rma.peto): fixtures from validation/metafor/mh.R.

Everything here is closed form, so the tolerance is 1e-9 relative (plus 1e-12 absolute for
values near zero, e.g. p-values of 1e-30 are compared relatively).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from plateau.meta.mh import mantel_haenszel, peto

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "metafor" / "mh.json"
CASES = json.loads(FIXTURE.read_text())["cases"]
RTOL, ATOL = 1e-9, 1e-12


def _arr(values):
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _kwargs(case):
    args = case["args"] or {}
    out = {}
    for key in ("add", "to", "drop00", "correct"):
        if key in args:
            out[key] = args[key]
    if "level" in args:
        out["level"] = args["level"] / 100
    return out


def _close(actual, expected, what):
    if expected is None:
        assert actual is None or math.isnan(actual), f"{what}: expected NA, got {actual}"
        return
    assert actual == pytest.approx(expected, rel=RTOL, abs=ATOL), what


def _close_vec(actual, expected, what):
    expected = _arr(expected)
    actual = np.asarray(actual, dtype=float)
    assert actual.shape == expected.shape, what
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected), err_msg=what)
    ok = ~np.isnan(expected)
    np.testing.assert_allclose(actual[ok], expected[ok], rtol=RTOL, atol=ATOL, err_msg=what)


def _fit(case):
    data = {key: _arr(val) for key, val in case["data"].items()}
    if case["fn"] == "rma.peto":
        return peto(**data, **_kwargs(case))
    return mantel_haenszel(**data, measure=case["measure"], **_kwargs(case))


FIELDS = {
    "beta": "estimate",
    "se": "se",
    "zval": "zval",
    "pval": "pval",
    "ci_lb": "ci_low",
    "ci_ub": "ci_high",
    "QE": "q",
    "QEp": "q_pval",
    "I2": "i2",
    "H2": "h2",
}
MH_TESTS = {
    "CO": "cochran_cmh",
    "COp": "cochran_cmh_pval",
    "MH": "cmh",
    "MHp": "cmh_pval",
    "BD": "breslow_day",
    "BDp": "breslow_day_pval",
    "TA": "tarone",
    "TAp": "tarone_pval",
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_matches_metafor(case):
    res = _fit(case)
    ref = case["result"]
    fields = dict(FIELDS)
    if case["fn"] == "rma.mh":
        fields.update(MH_TESTS)
    for r_name, py_name in fields.items():
        _close(getattr(res, py_name), ref[r_name], f"{case['name']}: {py_name}")
    assert res.k == ref["k"]
    assert res.k_yi == ref["k_yi"]
    assert res.q_df == ref["k_yi"] - 1
    if ref["k_pos"] is not None:
        assert res.k_pos == ref["k_pos"]
    _close_vec(res.weights, ref["weights"], f"{case['name']}: weights")
    _close_vec(res.yi, ref["yi"], f"{case['name']}: yi")
    _close_vec(res.vi, ref["vi"], f"{case['name']}: vi")


def test_fixture_covers_every_measure_and_option():
    measures = {c["measure"] for c in CASES}
    assert measures == {"OR", "RR", "RD", "IRR", "IRD", "PETO"}
    options = set()
    for case in CASES:
        options |= set((case["args"] or {}).keys())
    assert {"add", "to", "drop00", "correct", "level"} <= options
