"""meta_regression and subgroup_analysis against metafor 3.8.1 (fixtures:
validation/metafor/core.R).

Regression: dat.bcg log RR on ~ ablat and ~ ablat + year (9 estimators x z/knha), and
dat.pignon2000 log HR on ~ factor(grp); coefficients, vcov, QE, QM (chi^2 or F), R^2,
I^2, predictions with CI and PI.  Subgroups: common tau^2 (QM and cell means) and separate
tau^2 (per-subgroup fits and Q-between), REML/DL/PM x z/knha on dat.bcg (allocation) and
dat.pignon2000 (timing of chemotherapy).
"""

from __future__ import annotations

import numpy as np
import pytest
from metafor_fixtures import as_array, assert_close, load_fixture

from plateau.meta import meta_regression, subgroup_analysis

POOL = load_fixture("core_pool")["datasets"]
REG = load_fixture("core_regression")["regressions"]
SUB = load_fixture("core_subgroup")
ITERATIVE = {"ML", "REML", "EB", "PM", "PMM"}


def _tol(method):
    return (1e-8, 1e-10) if method in ITERATIVE else (1e-9, 1e-12)


@pytest.mark.parametrize(
    "case", REG, ids=lambda c: f"{c['dataset']}{c['model']}-{c['method']}-{c['test']}"
)
def test_meta_regression_matches_metafor(case):
    d = POOL[case["dataset"]]
    res = meta_regression(
        as_array(d["yi"]),
        as_array(d["vi"]),
        np.array(case["X"]),
        method=case["method"],
        test=case["test"],
    )
    rtol, atol = _tol(case["method"])
    name = f"{case['dataset']}{case['model']}-{case['method']}-{case['test']}"
    for field in (
        "coef",
        "se",
        "zval",
        "pval",
        "ci_low",
        "ci_high",
        "tau2",
        "se_tau2",
        "i2",
        "h2",
        "r2",
        "qe",
        "qe_pval",
        "qm",
        "qm_pval",
    ):
        assert_close(getattr(res, field), case[field], rtol=rtol, atol=atol, what=f"{name} {field}")
    assert_close(res.vcov, np.array(case["vcov"]), rtol=rtol, atol=atol, what=f"{name} vcov")
    expected_df = case["qm_df"]
    assert res.qm_df[0] == expected_df[0]
    assert (res.qm_df[1] is None) == (expected_df[1] is None)
    if expected_df[1] is not None:
        assert res.qm_df[1] == expected_df[1]
    pred = res.predict(np.array(case["newx"]))
    for field in ("pred", "se", "ci_low", "ci_high", "pi_low", "pi_high"):
        key = "pred" if field == "pred" else f"pred_{field}"
        expected = case[key]
        if field.startswith("pi_") and case["method"] == "EE":
            assert expected is None  # metafor gives no PI for EE models; plateau's PI = CI
            expected = case[key.replace("pi_", "ci_")]
        assert_close(
            getattr(pred, field), expected, rtol=rtol, atol=atol, what=f"{name} predict {field}"
        )


def test_meta_regression_batch_equals_loop():
    d = POOL["bcg_rr"]
    X = np.array(REG[1]["X"])  # ablat + year
    y, v = as_array(d["yi"]), as_array(d["vi"])
    rng = np.random.default_rng(7)
    Y = y + rng.normal(0, 0.3, (6, y.size))
    Y[2, 4] = np.nan  # one study absent from row 2
    V = np.tile(v, (6, 1))
    V[2, 4] = np.nan
    for test in ("z", "knha"):
        batch = meta_regression(Y, V, X, method="REML", test=test)
        for i in range(6):
            keep = ~np.isnan(Y[i])
            single = meta_regression(Y[i, keep], V[i, keep], X[keep], method="REML", test=test)
            np.testing.assert_allclose(batch.coef[i], single.coef, rtol=1e-10)
            np.testing.assert_allclose(batch.tau2[i], single.tau2, rtol=1e-10, atol=1e-14)
            np.testing.assert_allclose(batch.qm[i], single.qm, rtol=1e-10)
            np.testing.assert_allclose(batch.r2[i], single.r2, rtol=1e-9, atol=1e-12)
            pb = batch.predict([[10, 1950], [40, 1970]])
            ps = single.predict([[10, 1950], [40, 1970]])
            np.testing.assert_allclose(pb.pi_high[i], ps.pi_high, rtol=1e-10)


@pytest.mark.parametrize(
    "case", SUB["subgroups"], ids=lambda c: f"{c['dataset']}-{c['method']}-{c['test']}"
)
def test_subgroups_match_metafor(case):
    d = SUB["datasets"][case["dataset"]]
    y, v, g = as_array(d["yi"]), as_array(d["vi"]), np.array(d["group"])
    rtol, atol = _tol(case["method"])
    name = f"{case['dataset']}-{case['method']}-{case['test']}"
    common = subgroup_analysis(y, v, g, method=case["method"], test=case["test"], tau2="common")
    assert list(common.levels) == case["levels"]
    c = case["common"]
    for field in ("estimate", "se", "ci_low", "ci_high", "pval", "tau2"):
        assert_close(
            getattr(common, field), c[field], rtol=rtol, atol=atol, what=f"{name} common {field}"
        )
    assert_close(common.q_between, c["qm"], rtol=rtol, atol=atol, what=f"{name} QM")
    assert_close(common.q_between_pval, c["qm_pval"], rtol=rtol, atol=atol, what=f"{name} QM p")
    sep = subgroup_analysis(y, v, g, method=case["method"], test=case["test"], tau2="separate")
    s = case["separate"]
    for field in ("estimate", "se", "ci_low", "ci_high", "tau2", "k"):
        assert_close(
            getattr(sep, field), s[field], rtol=rtol, atol=atol, what=f"{name} separate {field}"
        )
    assert_close(sep.q_between, s["q_between"], rtol=rtol, atol=atol, what=f"{name} Q-between")
    assert_close(
        sep.q_between_pval, s["q_between_pval"], rtol=rtol, atol=atol, what=f"{name} Q-between p"
    )
    assert sep.q_between_df == len(case["levels"]) - 1


@pytest.mark.parametrize("mode", ["common", "separate"])
def test_subgroup_batch_equals_loop(mode):
    d = SUB["datasets"]["bcg_rr"]
    y, v, g = as_array(d["yi"]), as_array(d["vi"]), np.array(d["group"])
    rng = np.random.default_rng(5)
    Y = y + rng.normal(0, 0.2, (4, y.size))
    V = np.tile(v, (4, 1))
    batch = subgroup_analysis(Y, V, g, tau2=mode, test="knha")
    for i in range(4):
        one = subgroup_analysis(Y[i], V[i], g, tau2=mode, test="knha")
        np.testing.assert_allclose(batch.estimate[i], one.estimate, rtol=1e-10)
        np.testing.assert_allclose(batch.ci_high[i], one.ci_high, rtol=1e-10)
        np.testing.assert_allclose(batch.q_between[i], one.q_between, rtol=1e-9)
