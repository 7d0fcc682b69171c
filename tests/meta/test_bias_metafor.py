"""plateau.meta.bias against metafor 3.8-1 (regtest, ranktest, trimfill, fsn): fixtures from
validation/metafor/bias.R.

Tolerances: closed forms (regtest model="lm", ranktest, fsn, equal-effects fits) 1e-9
relative; anything with an iterative tau^2 estimator (regtest model="rma", trim-and-fill with
a random-effects model) 1e-6 relative against metafor run with tight convergence control.
PET-PEESE is the pair of regtest(model="lm") fits with predictors sei and vi.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from plateau.meta.bias import (
    egger_test,
    fail_safe_n,
    pet_peese,
    rank_correlation_test,
    trim_and_fill,
)

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "metafor" / "bias.json"
DATA = json.loads(FIXTURE.read_text())
DATASETS = DATA["datasets"]
CLOSED = dict(rel=1e-9, abs=1e-12)
ITERATIVE = dict(rel=1e-6, abs=1e-9)


def _ds(name):
    d = DATASETS[name]
    ni = d.get("ni")
    return (
        np.array(d["yi"], float),
        np.array(d["vi"], float),
        None if ni is None else np.array(ni, float),
    )


def _tol(method):
    return CLOSED if method in ("", "FE", "EE", "DL", "HE") else ITERATIVE


def _approx(actual, expected, tol, what):
    if expected is None:
        assert actual is None or math.isnan(actual), f"{what}: expected NA, got {actual}"
    else:
        assert actual == pytest.approx(expected, **tol), what


REG = DATA["regtest"]


@pytest.mark.parametrize(
    "case",
    REG,
    ids=[f"{c['dataset']}-{c['model']}-{c['predictor']}-{c['method']}-{c['test']}" for c in REG],
)
def test_regtest(case):
    yi, vi, ni = _ds(case["dataset"])
    kwargs = dict(model=case["model"], predictor=case["predictor"], ni=ni)
    if case["model"] == "rma":
        kwargs.update(method=case["method"], test=case["test"])
    res = egger_test(yi, vi, **kwargs)
    tol = _tol(case["method"])
    what = f"{case['dataset']} {case['model']} {case['predictor']} {case['method']}"
    _approx(res.zval, case["zval"], tol, what + " zval")
    _approx(res.pval, case["pval"], tol, what + " pval")
    _approx(res.slope, case["coef"][1], tol, what + " slope")
    _approx(res.slope_se, case["se"][1], tol, what + " slope se")
    _approx(res.limit_estimate, case["est"], tol, what + " limit estimate")
    _approx(res.limit_ci_low, case["ci_lb"], tol, what + " limit ci.lb")
    _approx(res.limit_ci_high, case["ci_ub"], tol, what + " limit ci.ub")
    if case["model"] == "rma":
        _approx(res.tau2, case["tau2"], dict(rel=1e-6, abs=1e-10), what + " tau2")
    if case["ddf"] is not None:
        assert res.df == case["ddf"]


LM_PAIRS = sorted({c["dataset"] for c in REG if c["model"] == "lm"})


@pytest.mark.parametrize("dataset", LM_PAIRS)
def test_pet_peese_is_the_pair_of_lm_fits(dataset):
    yi, vi, _ = _ds(dataset)
    pet = next(
        c for c in REG if c["dataset"] == dataset and c["model"] == "lm" and c["predictor"] == "sei"
    )
    peese = next(
        c for c in REG if c["dataset"] == dataset and c["model"] == "lm" and c["predictor"] == "vi"
    )
    res = pet_peese(yi, vi)
    # PET's test of the intercept: the p-value of the lm intercept in metafor's fit
    assert res.pet_pval == pytest.approx(pet["pvals"][0], **CLOSED)
    chosen = peese if pet["pvals"][0] < 0.10 else pet
    assert res.used == ("PEESE" if chosen is peese else "PET")
    assert res.estimate == pytest.approx(chosen["est"], **CLOSED)
    assert res.ci_low == pytest.approx(chosen["ci_lb"], **CLOSED)
    assert res.ci_high == pytest.approx(chosen["ci_ub"], **CLOSED)
    assert res.se == pytest.approx(chosen["se"][0], **CLOSED)


RANK = DATA["ranktest"]


@pytest.mark.parametrize("case", RANK, ids=[f"{c['dataset']}-{c.get('exact', True)}" for c in RANK])
def test_ranktest(case):
    yi, vi, _ = _ds(case["dataset"])
    res = rank_correlation_test(yi, vi, exact=case.get("exact", True))
    assert res.tau == pytest.approx(case["tau"], **CLOSED)
    assert res.pval == pytest.approx(case["pval"], **CLOSED)


FSN = DATA["fsn"]


@pytest.mark.parametrize(
    "case", FSN, ids=[f"{c['dataset']}-{c['type']}-{c['alpha']}-{c['weighted']}" for c in FSN]
)
def test_fsn(case):
    yi, vi, _ = _ds(case["dataset"])
    res = fail_safe_n(
        yi,
        vi,
        type=case["type"],
        alpha=case["alpha"],
        weighted=case["weighted"],
        target=case["target"],
    )
    assert res.fsn == case["fsnum"]
    _approx(res.pval, case["pval"], CLOSED, "pval")
    _approx(res.mean_effect, case["meanes"], CLOSED, "mean effect")
    _approx(res.target, case["target_out"], CLOSED, "target")


TF = DATA["trimfill"]


@pytest.mark.parametrize(
    "case",
    TF,
    ids=[
        f"{c['dataset']}-{c['method']}-{c['test']}-{c['estimator']}-{c['side_in'] or 'auto'}"
        for c in TF
    ],
)
def test_trimfill(case):
    yi, vi, _ = _ds(case["dataset"])
    res = trim_and_fill(
        yi,
        vi,
        method=case["method"],
        test=case["test"],
        estimator=case["estimator"],
        side=case["side_in"] or None,
    )
    tol = _tol(case["method"])
    assert res.side == case["side"]
    assert res.k0 == case["k0"]
    _approx(res.se_k0, case["se_k0"], CLOSED, "se_k0")
    _approx(res.p_k0, case["p_k0"], CLOSED, "p_k0")
    p = res.pooled
    for name, ref in (
        ("estimate", "beta"),
        ("se", "se"),
        ("zval", "zval"),
        ("pval", "pval"),
        ("ci_low", "ci_lb"),
        ("ci_high", "ci_ub"),
        ("q", "QE"),
    ):
        _approx(getattr(p, name), case[ref], tol, f"pooled {name}")
    _approx(p.tau2, case["tau2"], dict(rel=1e-6, abs=1e-10), "pooled tau2")
    assert p.k == case["k"]
    np.testing.assert_allclose(res.yi, case["yi"], rtol=tol["rel"], atol=1e-12)
    np.testing.assert_allclose(res.vi, case["vi"], rtol=1e-12)
    assert res.filled.tolist() == case["fill"]


def test_fixture_coverage():
    assert {c["predictor"] for c in REG} == {"sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv"}
    assert {c["test"] for c in REG if c["model"] == "rma"} == {"z", "knha", "adhoc"}
    assert {(c["estimator"], c["side"]) for c in TF if c["k0"] > 0} >= {
        ("L0", "left"),
        ("L0", "right"),
        ("R0", "left"),
        ("R0", "right"),
    }
    assert {c["type"] for c in FSN} == {"Rosenthal", "Orwin", "Rosenberg"}
    assert len(DATASETS) >= 8
