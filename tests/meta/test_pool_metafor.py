"""plateau.meta.pool against metafor 3.8.1 rma.uni (fixtures: validation/metafor/core.R).

Every estimator x test on 13 datasets (binary RR/OR/RD, MD, PR/PLO, log HR from O-E/V, IRR,
Fisher z, k = 2 and 3, tau2 = 0, extreme heterogeneity), plus fixed tau2 and user weights.
Closed-form estimators are compared at 1e-9 relative; iterative ones (ML, REML, EB, PM, PMM)
against metafor re-run with tight convergence control at 1e-9 relative (+1e-10 absolute on
tau2-driven quantities, whose reference is only as good as metafor's Fisher-scoring stop).
"""

from __future__ import annotations

import numpy as np
import pytest
from metafor_fixtures import as_array, assert_close, load_fixture

from plateau.meta import pool

DATA = load_fixture("core_pool")
ITERATIVE = {"ML", "REML", "EB", "PM", "PMM"}
FIELDS = [
    "estimate",
    "se",
    "zval",
    "pval",
    "ci_low",
    "ci_high",
    "tau2",
    "se_tau2",
    "i2",
    "h2",
    "q",
    "q_pval",
    "pi_low",
    "pi_high",
    "weights",
]


def _case_id(fit):
    extra = "-fixed" if "tau2_fixed" in fit else ("-userw" if fit.get("user_weights") else "")
    return f"{fit['dataset']}-{fit['method']}-{fit['test']}{extra}"


def _run(fit):
    d = DATA["datasets"][fit["dataset"]]
    kwargs = dict(method=fit["method"], test=fit["test"])
    if fit["method"] == "GENQ" or fit.get("user_weights"):
        kwargs["weights"] = as_array(d["weights"])
    if "tau2_fixed" in fit:
        kwargs["tau2"] = fit["tau2_fixed"]
    return pool(as_array(d["yi"]), as_array(d["vi"]), **kwargs)


@pytest.mark.parametrize("fit", DATA["fits"], ids=_case_id)
def test_pool_matches_metafor(fit):
    res = _run(fit)
    iterative = fit["method"] in ITERATIVE and "tau2_fixed" not in fit
    rtol, atol = (1e-9, 1e-10) if iterative else (1e-9, 1e-12)
    assert res.k == fit["k"]
    assert res.converged
    for name in FIELDS:
        expected = fit[name]
        if name.startswith("pi_") and fit["method"] == "EE":
            # metafor's predict() reports no PI for an equal-effects model; with tau2 = 0 the
            # formula gives the CI, which is what plateau returns
            assert expected is None
            expected = fit[name.replace("pi_", "ci_")]
        assert_close(
            getattr(res, name), expected, rtol=rtol, atol=atol, what=f"{_case_id(fit)} {name}"
        )


def test_batch_of_all_datasets_equals_single_fits():
    """The 13 datasets padded with NaN into one (13, 65) batch give the same numbers as 13 calls."""
    names = list(DATA["datasets"])
    kmax = max(len(DATA["datasets"][n]["yi"]) for n in names)
    Y = np.full((len(names), kmax), np.nan)
    V = np.full_like(Y, np.nan)
    for i, n in enumerate(names):
        d = DATA["datasets"][n]
        Y[i, : len(d["yi"])] = d["yi"]
        V[i, : len(d["vi"])] = d["vi"]
    for method in ("REML", "DL", "PM", "SJ"):
        batch = pool(Y, V, method=method, test="knha")
        for i, n in enumerate(names):
            d = DATA["datasets"][n]
            single = pool(as_array(d["yi"]), as_array(d["vi"]), method=method, test="knha")
            for name in ("estimate", "se", "tau2", "i2", "pi_low", "pval"):
                np.testing.assert_allclose(
                    getattr(batch, name)[i],
                    getattr(single, name),
                    rtol=1e-12,
                    atol=1e-15,
                    err_msg=f"{method} {n} {name}",
                )
            np.testing.assert_allclose(batch.weights[i, : len(d["yi"])], single.weights, rtol=1e-12)
            assert np.all(np.isnan(batch.weights[i, len(d["yi"]) :]))
