"""Q-profile and profile-likelihood CIs for tau^2, tau, I^2, H^2 against metafor 3.8.1
``confint.rma.uni`` (fixtures: validation/metafor/core.R, uniroot tol 1e-13).

Roots are compared at 1e-7 relative (+1e-9 absolute): metafor's uniroot stops on the bracket
width, plateau solves to ~1e-13; the estimates themselves at the pool tolerances.
"""

from __future__ import annotations

import numpy as np
import pytest
from metafor_fixtures import as_array, assert_close, load_fixture

from plateau.meta.heterogeneity import profile_likelihood_ci, qprofile_ci, tau2_confint

POOL = load_fixture("core_pool")["datasets"]
CIS = load_fixture("core_confint")["cis"]


@pytest.mark.parametrize(
    "case", CIS, ids=lambda c: f"{c['dataset']}-{c['method']}-{c['type']}-{c['level']}"
)
def test_heterogeneity_ci_matches_metafor(case):
    d = POOL[case["dataset"]]
    res = tau2_confint(
        as_array(d["yi"]),
        as_array(d["vi"]),
        method=case["method"],
        level=case["level"],
        ci_type=case["type"],
    )
    name = f"{case['dataset']}-{case['method']}-{case['type']}"
    for what in ("tau2", "tau", "i2", "h2"):
        expected = as_array(case[what])
        got = np.array(
            [getattr(res, what), getattr(res, f"{what}_low"), getattr(res, f"{what}_high")]
        )
        # metafor's tight REML/ML stops at tau2 ~ 3e-14 instead of 0 on the boundary; tau = sqrt
        # of it is 1.7e-7, hence the wider absolute tolerance for tau alone
        atol = 1e-6 if what == "tau" else 1e-9
        assert_close(got, expected, rtol=1e-7, atol=atol, what=f"{name} {what}")


def test_batch_equals_loop_for_both_ci_types():
    names = ["bcg_rr", "normand_md", "homogeneous", "extreme_het", "bcg_k3"]
    kmax = max(len(POOL[n]["yi"]) for n in names)
    Y = np.full((len(names), kmax), np.nan)
    V = Y.copy()
    for i, n in enumerate(names):
        Y[i, : len(POOL[n]["yi"])] = POOL[n]["yi"]
        V[i, : len(POOL[n]["vi"])] = POOL[n]["vi"]
    for fn in (qprofile_ci, profile_likelihood_ci):
        batch = fn(Y, V)
        for i, n in enumerate(names):
            single = fn(as_array(POOL[n]["yi"]), as_array(POOL[n]["vi"]))
            for what in ("tau2_low", "tau2_high", "i2_high"):
                np.testing.assert_allclose(
                    getattr(batch, what)[i], getattr(single, what), rtol=1e-10, atol=1e-13
                )
