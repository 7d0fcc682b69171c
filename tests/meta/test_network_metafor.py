"""plateau.meta.network against metafor 3.8.1 rma.mv contrast-based NMA
(validation/metafor/network.R).

Tolerances (validation/metafor/README.md, "Network meta-analysis"): quantities that do not depend on
an optimiser (common-effect estimates, covariances, Q and its design decomposition, estimates at a
given tau2, back-calculated indirect estimates) to 1e-10; REML/ML log-likelihoods to 1e-8; tau2 to
1e-6 relative (or 1e-7 absolute at the boundary, where metafor stops at ~1e-9 instead of 0) and the
estimates that depend on it to 1e-7.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from plateau.meta.network import nma, node_split
from plateau.meta.pool import pool

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "metafor"
NAMES = ["senn2013", "hasselblad1998", "dong2013", "franchini2012", "hasselblad1998_twoarm"]


def load(name):
    return json.loads((FIXTURES / f"network_{name}.json").read_text())


def fit(f, **kw):
    p = f["pairs"]
    return nma(
        p["study"],
        p["treat1"],
        p["treat2"],
        p["TE"],
        p["seTE"],
        reference=f["reference"],
        treatments=f["treatments"],
        **kw,
    )


def others(res, f):
    return [res.treatments.index(t) for t in f["others"]]


@pytest.mark.parametrize("name", NAMES)
def test_common_effect_matches_rma_mv(name):
    f = load(name)
    res = fit(f, random=False)
    idx = others(res, f)
    np.testing.assert_allclose(res.effect[idx], f["common"]["coef"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        res.covariance[np.ix_(idx, idx)], f["common"]["vcov"], rtol=1e-10, atol=1e-14
    )
    assert res.q_total == pytest.approx(f["common"]["q_total"], rel=1e-10)
    assert res.df == f["common"]["df"]
    assert res.tau2 == 0.0 and res.model == "common"


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("method", ["REML", "ML"])
def test_random_effects_tau2_and_loglik_match_rma_mv(name, method):
    f = load(name)
    ref = f[method.lower()]
    res = fit(f, method=method)
    assert res.tau2 == pytest.approx(ref["tau2"], rel=1e-6, abs=1e-7)
    # both optimisers stop at the maximum: the log-likelihoods agree (plateau's never lower)
    assert res.loglik == pytest.approx(ref["loglik"], abs=1e-7)
    assert res.loglik >= ref["loglik"] - 1e-10
    idx = others(res, f)
    np.testing.assert_allclose(res.effect[idx], ref["coef"], atol=1e-7)
    np.testing.assert_allclose(res.covariance[np.ix_(idx, idx)], ref["vcov"], atol=1e-7)


@pytest.mark.parametrize("name", NAMES)
def test_gls_step_at_given_tau2_matches_rma_mv(name):
    f = load(name)
    ref = f["reml_fixed_tau2"]
    res = fit(f, tau2=ref["tau2"])
    idx = others(res, f)
    np.testing.assert_allclose(res.effect[idx], ref["coef"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        res.covariance[np.ix_(idx, idx)], ref["vcov"], rtol=1e-10, atol=1e-14
    )
    assert res.loglik == pytest.approx(ref["loglik"], abs=1e-9)
    # league table = linear contrasts of the coefficients
    cov = np.zeros((len(res.treatments),) * 2)
    cov[np.ix_(idx, idx)] = ref["vcov"]
    eff = np.zeros(len(res.treatments))
    eff[idx] = ref["coef"]
    for i in range(len(eff)):
        for j in range(len(eff)):
            if i != j:
                assert res.league.estimate[i, j] == pytest.approx(eff[i] - eff[j], abs=1e-10)
                assert res.league.se[i, j] == pytest.approx(
                    np.sqrt(cov[i, i] + cov[j, j] - 2 * cov[i, j]), rel=1e-9
                )


@pytest.mark.parametrize("name", NAMES)
def test_design_by_treatment_decomposition_matches_rma_mv(name):
    f = load(name)
    ref = f["design"]
    d = fit(f, method="REML").decomposition
    assert d.q_within == pytest.approx(ref["q_within"], rel=1e-9, abs=1e-10)
    assert d.df_within == ref["df_within"]
    assert d.q_between == pytest.approx(ref["q_between"], rel=1e-9, abs=1e-10)
    assert d.df_between == ref["df_between"]
    assert len(d.designs) == ref["n_designs"]
    assert d.q_within + d.q_between == pytest.approx(d.q_total, rel=1e-12)
    assert d.tau2_within == pytest.approx(ref["reml_tau2_within"], rel=1e-6, abs=1e-7)
    assert d.q_inconsistency_random == pytest.approx(ref["reml_q_inconsistency"], rel=1e-6)


def test_back_calculated_indirect_equals_network_without_direct_studies():
    f = load("hasselblad1998_twoarm")
    splits = node_split(fit(f, random=False)).splits
    assert len(f["split_common"]) == 6
    for ref in f["split_common"]:
        s = next(x for x in splits if {x.treat1, x.treat2} == {ref["treat1"], ref["treat2"]})
        sign = 1.0 if s.treat1 == ref["treat1"] else -1.0
        assert sign * s.direct == pytest.approx(ref["direct"], abs=1e-12)
        assert s.direct_se == pytest.approx(ref["direct_se"], rel=1e-12)
        assert sign * s.indirect == pytest.approx(ref["indirect"], abs=1e-10)
        assert s.indirect_se == pytest.approx(ref["indirect_se"], rel=1e-10)


@pytest.mark.parametrize("method", ["REML", "DL", "FE"])
def test_two_treatment_network_equals_pool_and_rma(method):
    f = load("senn2013")
    pw = f["pairwise"]
    p = pw["pairs"]
    res = nma(
        p["study"],
        p["treat1"],
        p["treat2"],
        p["TE"],
        p["seTE"],
        reference=pw["treat2"],
        random=method != "FE",
        method="REML" if method == "FE" else method,
    )
    ref_pool = pool(np.asarray(p["TE"]), np.asarray(p["seTE"]) ** 2, method=method)
    i = res.treatments.index(pw["treat1"])
    assert res.effect[i] == pytest.approx(ref_pool.estimate, rel=1e-9)
    assert res.se[i] == pytest.approx(ref_pool.se, rel=1e-9)
    assert res.ci_low[i] == pytest.approx(ref_pool.ci_low, rel=1e-9)
    assert res.tau2 == pytest.approx(ref_pool.tau2, rel=1e-8, abs=1e-12)
    assert res.q_total == pytest.approx(ref_pool.q, rel=1e-12)
    r = pw[{"REML": "reml", "DL": "dl", "FE": "common"}[method]]
    assert res.effect[i] == pytest.approx(r["estimate"], rel=1e-7)
    assert res.se[i] == pytest.approx(r["se"], rel=1e-7)
    if method != "FE":
        assert res.tau2 == pytest.approx(r["tau2"], rel=1e-6)
