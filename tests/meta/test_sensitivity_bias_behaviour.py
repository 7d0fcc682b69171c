"""plateau.meta.sensitivity and plateau.meta.bias: batch paths, invariances, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from plateau.errors import PlateauError
from plateau.meta import pool
from plateau.meta.bias import (
    egger_test,
    fail_safe_n,
    pet_peese,
    rank_correlation_test,
    trim_and_fill,
)
from plateau.meta.sensitivity import cumulative, influence, leave_one_out

# dat.bcg log risk ratios (escalc RR)
YI = np.array(
    [
        -0.88931133,
        -1.58538866,
        -1.34807315,
        -1.44155119,
        -0.21754732,
        -0.78611559,
        -1.62089822,
        0.01195233,
        -0.46941765,
        -1.37134480,
        -0.33935883,
        0.44591340,
        -0.01731395,
    ]
)
VI = np.array(
    [
        0.32558476,
        0.19458112,
        0.41536797,
        0.02001507,
        0.05121403,
        0.00690561,
        0.22301479,
        0.00396185,
        0.05643289,
        0.07302496,
        0.01241221,
        0.53250585,
        0.07140466,
    ]
)


@pytest.mark.parametrize("method, test", [("REML", "z"), ("DL", "knha"), ("FE", "z")])
def test_leave_one_out_rows_equal_separate_fits(method, test):
    res = leave_one_out(YI, VI, method=method, test=test)
    for i in (0, 5, 12):
        keep = np.arange(YI.size) != i
        ref = pool(YI[keep], VI[keep], method=method, test=test)
        for name in (
            "estimate",
            "se",
            "pval",
            "ci_low",
            "ci_high",
            "tau2",
            "q",
            "i2",
            "pi_low",
            "pi_high",
        ):
            assert getattr(res, name)[i] == pytest.approx(
                getattr(ref, name), rel=1e-10, abs=1e-14
            ), name
        assert res.k[i] == YI.size - 1


def test_cumulative_order_and_first_step():
    years = np.array(
        [1948, 1949, 1960, 1977, 1973, 1953, 1973, 1980, 1968, 1961, 1974, 1969, 1976], float
    )
    res = cumulative(YI, VI, order=years, method="REML")
    first = int(np.argmin(years))
    assert res.order[0] == first
    assert res.estimate[0] == pytest.approx(YI[first])
    assert res.se[0] == pytest.approx(np.sqrt(VI[first]))
    final = pool(YI, VI, method="REML")
    assert res.estimate[-1] == pytest.approx(final.estimate, rel=1e-10)
    assert list(res.k) == list(range(1, YI.size + 1))


def test_batch_equals_loop_for_sequential_analyses():
    y2 = np.vstack([YI, np.where(np.arange(13) < 9, YI[::-1], np.nan)])
    v2 = np.vstack([VI, np.where(np.arange(13) < 9, VI[::-1], np.nan)])
    lb = leave_one_out(y2, v2, method="DL")
    cb = cumulative(y2, v2, method="DL")
    l1 = leave_one_out(y2[1, :9], v2[1, :9], method="DL")
    c1 = cumulative(y2[1, :9], v2[1, :9], method="DL")
    np.testing.assert_allclose(lb.estimate[1, :9], l1.estimate, rtol=1e-12)
    np.testing.assert_allclose(cb.estimate[1, :9], c1.estimate, rtol=1e-12)
    assert np.isnan(lb.estimate[1, 9:]).all() and np.isnan(cb.estimate[1, 9:]).all()


def test_influence_permutation_equivariant():
    perm = np.random.default_rng(1).permutation(YI.size)
    a = influence(YI, VI, method="REML")
    b = influence(YI[perm], VI[perm], method="REML")
    np.testing.assert_allclose(b.cooks_distance, a.cooks_distance[perm], rtol=1e-7)
    np.testing.assert_allclose(b.hat, a.hat[perm], rtol=1e-9)
    assert a.hat.sum() == pytest.approx(1.0)  # trace of the hat matrix = p
    assert "Influence diagnostics" in a.summary()
    json.dumps(a.to_dict())


def test_egger_batch_equals_loop():
    y2 = np.vstack([YI, YI * 0.5 + 0.1])
    v2 = np.vstack([VI, VI * 2])
    for model in ("lm", "rma"):
        batch = egger_test(y2, v2, model=model)
        for row in range(2):
            one = egger_test(y2[row], v2[row], model=model)
            assert batch.zval[row] == pytest.approx(one.zval, rel=1e-9)
            assert batch.limit_estimate[row] == pytest.approx(one.limit_estimate, rel=1e-9)


def test_egger_lm_equals_classic_egger_regression():
    # Egger 1997: OLS of y/se on 1/se; its intercept is the lm slope on sei here
    se = np.sqrt(VI)
    design = np.column_stack([np.ones_like(se), 1 / se])
    coef, *_ = np.linalg.lstsq(design, YI / se, rcond=None)
    res = egger_test(YI, VI, model="lm")
    assert res.slope == pytest.approx(coef[0], rel=1e-10)
    assert res.limit_estimate == pytest.approx(coef[1], rel=1e-10)


def test_rank_test_invariant_to_order_and_exact_when_untied():
    a = rank_correlation_test(YI, VI)
    perm = np.random.default_rng(3).permutation(YI.size)
    b = rank_correlation_test(YI[perm], VI[perm])
    assert a.tau == pytest.approx(b.tau) and a.pval == pytest.approx(b.pval)
    assert a.exact is True
    tied = rank_correlation_test(YI, np.where(np.arange(13) < 4, 0.1, VI))
    assert tied.exact is False


def test_fsn_batch_and_rounding():
    y2 = np.vstack([YI, -YI])
    v2 = np.vstack([VI, VI])
    res = fail_safe_n(y2, v2)
    assert res.fsn[0] == res.fsn[1] == fail_safe_n(YI, VI).fsn
    assert float(res.fsn[0]).is_integer()


def test_trim_and_fill_mirrors_around_trimmed_estimate():
    res = trim_and_fill(YI, VI, method="FE", estimator="R0")
    assert res.yi.size == YI.size + res.k0
    assert res.filled.sum() == res.k0
    json.dumps(res.to_dict())
    assert "Trim-and-fill" in res.summary()


def test_pet_peese_summary_and_dict():
    res = pet_peese(YI, VI)
    assert res.used in ("PET", "PEESE")
    d = json.loads(json.dumps(res.to_dict()))
    assert d["pet"]["predictor"] == "sei" and d["peese"]["predictor"] == "vi"


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: egger_test(YI[:2], VI[:2]), "at least 3"),
        (lambda: egger_test(YI, VI, predictor="ni"), "needs the sample sizes"),
        (lambda: egger_test(YI, VI, model="glm"), "unknown model"),
        (lambda: egger_test(YI, VI, predictor="se"), "unknown predictor"),
        (lambda: egger_test(YI, np.full(13, 0.1)), "constant"),
        (lambda: egger_test(YI, VI, method="XYZ"), "unknown method"),
        (lambda: rank_correlation_test(YI, VI[:5]), "shape"),
        (lambda: fail_safe_n(YI, VI, type="General"), "unknown fail-safe N type"),
        (lambda: fail_safe_n(YI, -VI), "vi must be > 0"),
        (lambda: trim_and_fill(YI, VI, estimator="Q0"), "unknown trim-and-fill estimator"),
        (lambda: trim_and_fill(YI, VI, side="up"), "side must be"),
        (lambda: trim_and_fill(YI, np.full(13, 0.1)), "cannot be estimated"),
        (lambda: trim_and_fill(YI[:1], VI[:1]), "at least 3"),
        # k = 2 raised a raw numpy LinAlgError from the rank-based refits
        (lambda: trim_and_fill(YI[:2], VI[:2]), "at least 3"),
        (lambda: leave_one_out(YI[:1], VI[:1]), "at least 2"),
        (lambda: leave_one_out(YI, VI, test="t"), "unknown test"),
        (lambda: cumulative(YI, VI, order=[1, 2]), "order has shape"),
        (lambda: influence(YI[:2], VI[:2]), "k >= 3"),
        (lambda: influence(YI, VI, mods=np.ones(5)), "one row per study"),
        (lambda: influence(YI, VI, mods=np.ones(13)), "full rank"),
        (lambda: influence(YI, np.where(np.arange(13) == 2, np.nan, VI)), "both be NaN"),
    ],
)
def test_bad_input_names_the_problem(call, message):
    with pytest.raises(PlateauError, match=message):
        call()
