"""The ML/REML fits return the global maximum of the (restricted) likelihood over tau2 >= 0.

Oracle: a slow, obviously-correct reference written here independently of the engine: the
(restricted) log-likelihood evaluated per analysis on 0 and a dense log grid of 2,500 tau2
values (1e-9 to 1e3 times the analysis' residual variance), every local maximum of the grid
polished with scipy's bounded scalar minimiser in the bracket of its two neighbours, the best
kept.  The engine's fit must never be below that value (1e-9 relative slack for rounding).

Designs: k = 2..50; homogeneous (tau2 = 0), heterogeneous, mixed precision (variances over four
decades), one dominant study (variance 1e-6 times the rest), and bimodal likelihoods (a few
precise studies that agree next to imprecise studies that disagree, selected from a seeded
simulation by the reference grid having two local maxima); intercept-only pooling and
one-moderator meta-regression.  The reproducer of the original defect (tau2 = 0 returned where
metafor's REML maximum is 0.10933) and every entry point that refits (leave-one-out,
cumulative, subgroups, influence, network) are checked on it as well.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from metafor_fixtures import as_array, load_fixture
from scipy.optimize import minimize_scalar

from plateau.meta import (
    cumulative,
    influence,
    leave_one_out,
    meta_regression,
    pool,
    subgroup_analysis,
)

REPRO_Y = np.array([-0.5, 0.13, -0.93, 1.16, -0.32, 1.33, -0.17, 0.2, -0.21, -0.19])
REPRO_V = np.array([0.05, 0.12, 0.34, 0.37, 0.42, 0.28, 0.03, 0.29, 0.41, 0.01])


# ----------------------------------------------------------------------------- the reference
def ref_loglik(y, v, X, t, reml):
    """(Restricted) log-likelihood at tau2 values t (array), constants dropped, loops only."""
    t = np.atleast_1d(np.asarray(t, dtype=float))
    out = np.empty(t.shape)
    for i, ti in enumerate(t):
        w = 1.0 / (v + ti)
        XtWX = X.T @ (w[:, None] * X)
        b = np.linalg.solve(XtWX, X.T @ (w * y))
        r = y - X @ b
        ll = -0.5 * np.sum(np.log(v + ti)) - 0.5 * np.sum(w * r * r)
        if reml:
            ll -= 0.5 * np.linalg.slogdet(XtWX)[1]
        out[i] = ll
    return out


def ref_loglik_fast(y, v, X, t, reml):
    """The same on a whole grid at once (used for the dense scan; checked against the loop)."""
    t = np.asarray(t, dtype=float)
    W = 1.0 / (v[None, :] + t[:, None])  # (G, k)
    XtWX = np.einsum("gk,kp,kq->gpq", W, X, X)
    rhs = np.einsum("gk,kp,k->gp", W, X, y)
    b = np.linalg.solve(XtWX, rhs[:, :, None])[:, :, 0]
    r = y[None, :] - b @ X.T
    ll = -0.5 * np.log(v[None, :] + t[:, None]).sum(1) - 0.5 * (W * r * r).sum(1)
    if reml:
        ll -= 0.5 * np.linalg.slogdet(XtWX)[1]
    return ll


def reference_max(y, v, X, reml, points=2500):
    """Best (restricted) log-likelihood over tau2 >= 0: dense grid + bounded polish."""
    k, p = X.shape
    r_ols = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
    s = max(float(r_ols @ r_ols) / max(k - p, 1), float(v.min()))
    grid = np.concatenate([[0.0], s * np.logspace(-9, 3, points)])
    ll = ref_loglik_fast(y, v, X, grid, reml)
    best = float(ll.max())
    # polish every local maximum of the grid (interior ones, and the boundary)
    peaks = [j for j in range(1, len(grid) - 1) if ll[j] >= ll[j - 1] and ll[j] >= ll[j + 1]]
    for j in peaks:
        res = minimize_scalar(
            lambda t: -ref_loglik(y, v, X, t, reml)[0],
            bounds=(grid[j - 1], grid[j + 1]),
            method="bounded",
            options={"xatol": 1e-13 * (1 + grid[j])},
        )
        best = max(best, -float(res.fun))
    return best, len(peaks) + (1 if ll[0] > ll[1] else 0)


# ----------------------------------------------------------------------------- designs
def simulate(design, n, rng):
    """n analyses of one design: list of (y, v) arrays (k varies within the design)."""
    out = []
    for _ in range(n):
        k = int(rng.integers(2, 51)) if design != "bimodal" else 10
        if design == "homogeneous":
            v = rng.uniform(0.005, 0.5, k)
            y = rng.normal(0.1, np.sqrt(v))
        elif design == "heterogeneous":
            v = rng.uniform(0.005, 0.5, k)
            y = rng.normal(0.1, np.sqrt(v + rng.choice([0.02, 0.1, 0.5])))
        elif design == "mixed":
            v = 10.0 ** rng.uniform(-4, 0, k)
            y = rng.normal(0.0, np.sqrt(v + rng.choice([0.0, 0.01, 0.1])))
        elif design == "dominant":
            v = rng.uniform(0.05, 0.5, k)
            v[rng.integers(k)] *= 1e-6
            y = rng.normal(0.0, np.sqrt(v + rng.choice([0.0, 0.05, 0.3])))
        elif design == "bimodal":
            v = np.where(
                rng.random(k) < 0.3, rng.uniform(0.005, 0.05, k), rng.uniform(0.1, 0.45, k)
            )
            y = rng.normal(0.0, np.sqrt(v + 0.1))
        else:  # pragma: no cover
            raise ValueError(design)
        out.append((y, v))
    return out


def bimodal_sets(reml, n_wanted, rng):
    """Analyses whose (restricted) likelihood has >= 2 local maxima on the reference grid."""
    found = []
    X1 = np.ones((10, 1))
    while len(found) < n_wanted:
        for y, v in simulate("bimodal", 400, rng):
            ll = ref_loglik_fast(
                y,
                v,
                X1,
                np.concatenate([[0.0], max(np.var(y), v.min()) * np.logspace(-6, 2, 300)]),
                reml,
            )
            d = np.diff(ll)
            n_max = int(np.sum((d[1:] < 0) & (d[:-1] > 0)) + (d[0] < 0))
            if n_max >= 2:
                found.append((y, v))
                if len(found) == n_wanted:
                    break
    return found


def as_batch(sets):
    kmax = max(len(y) for y, _ in sets)
    Y = np.full((len(sets), kmax), np.nan)
    V = np.full((len(sets), kmax), np.nan)
    for i, (y, v) in enumerate(sets):
        Y[i, : len(y)] = y
        V[i, : len(v)] = v
    return Y, V


def check_batch(sets, tau2_fit, reml, X_of=None):
    """Every fit >= the reference maximum (1e-9 relative); returns the worst shortfall."""
    below = []
    n_multi = 0
    for i, (y, v) in enumerate(sets):
        X = np.ones((len(y), 1)) if X_of is None else X_of(i, len(y))
        best, n_max = reference_max(y, v, X, reml)
        n_multi += n_max >= 2
        got = ref_loglik(y, v, X, tau2_fit[i], reml)[0]
        if got < best - 1e-9 * (1 + abs(best)):
            below.append((i, got - best, tau2_fit[i]))
    assert not below, f"{len(below)} fits below the global maximum, e.g. {below[:5]}"
    return n_multi


# ----------------------------------------------------------------------------- tests
def test_reference_loglik_vectorised_equals_loop():
    rng = np.random.default_rng(0)
    y, v = rng.normal(size=7), rng.uniform(0.01, 0.3, 7)
    X = np.column_stack([np.ones(7), rng.normal(size=7)])
    t = np.array([0.0, 0.01, 0.3, 5.0])
    for reml in (True, False):
        np.testing.assert_allclose(
            ref_loglik_fast(y, v, X, t, reml), ref_loglik(y, v, X, t, reml), rtol=1e-13
        )


@pytest.mark.parametrize("method", ["REML", "ML"])
@pytest.mark.parametrize("design", ["homogeneous", "heterogeneous", "mixed", "dominant"])
def test_pool_fit_is_never_below_the_global_maximum(design, method):
    rng = np.random.default_rng(abs(hash((design, method))) % 2**32)
    sets = simulate(design, 250, rng)
    Y, V = as_batch(sets)
    res = pool(Y, V, method=method)
    assert np.all(res.converged)
    check_batch(sets, np.asarray(res.tau2), method == "REML")


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_pool_bimodal_likelihoods_reach_the_higher_peak(method):
    rng = np.random.default_rng(20261206 if method == "REML" else 7)
    sets = bimodal_sets(method == "REML", 40, rng)
    Y, V = as_batch(sets)
    res = pool(Y, V, method=method)
    n_multi = check_batch(sets, np.asarray(res.tau2), method == "REML")
    assert n_multi >= 30  # the batch really exercises multimodal likelihoods
    # one at a time (1-D entry) gives the same fits as the batch
    for i in range(5):
        one = pool(*sets[i], method=method)
        assert one.tau2 == pytest.approx(float(res.tau2[i]), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_meta_regression_fit_is_never_below_the_global_maximum(method):
    rng = np.random.default_rng(99 if method == "REML" else 98)
    sets, xs = [], []
    for design in ("heterogeneous", "mixed", "dominant", "bimodal"):
        for y, v in simulate(design, 60, rng):
            if len(y) < 4:
                continue
            x = rng.normal(size=len(y))
            sets.append((y + 0.2 * x, v))
            xs.append(x)
    for i, ((y, v), x) in enumerate(zip(sets, xs, strict=True)):
        res = meta_regression(y, v, x[:, None], method=method)
        X = np.column_stack([np.ones(len(y)), x])
        best, _ = reference_max(y, v, X, method == "REML")
        got = ref_loglik(y, v, X, res.tau2, method == "REML")[0]
        assert got >= best - 1e-9 * (1 + abs(best)), (i, got - best, res.tau2)


def test_reproducer_gives_metafor_answer():
    """The reported defect: REML returned tau2 = 0 (p = 0.03); metafor: 0.10933 (p = 0.74)."""
    case = next(c for c in load_fixture("hard")["cases"] if c["name"] == "reproducer")
    ref = next(f for f in case["fits"] if f["method"] == "REML")
    res = pool(REPRO_Y, REPRO_V, method="REML")
    assert res.tau2 == pytest.approx(ref["tau2"], rel=1e-8)
    assert res.estimate == pytest.approx(as_array(ref["beta"])[0], rel=1e-8)
    assert res.se == pytest.approx(as_array(ref["se"])[0], rel=1e-8)
    assert res.pval == pytest.approx(as_array(ref["pval"])[0], rel=1e-7)
    # the numbers quoted in the report (metafor, tight control)
    assert round(res.tau2, 5) == 0.10933
    assert round(res.estimate, 5) == -0.05395
    assert round(res.se, 5) == 0.15933


def test_every_refitting_entry_point_finds_the_reproducer_maximum():
    """leave-one-out, cumulative, subgroups, influence: the subset equal to the reproducer."""
    target = pool(REPRO_Y, REPRO_V, method="REML").tau2
    y = np.append(REPRO_Y, 2.5)
    v = np.append(REPRO_V, 0.2)
    l1o = leave_one_out(y, v, method="REML")
    assert l1o.tau2[-1] == pytest.approx(target, rel=1e-9)
    cum = cumulative(y, v, method="REML")
    assert cum.tau2[-2] == pytest.approx(target, rel=1e-9)
    inf = influence(y, v, method="REML")
    assert inf.tau2_deleted[-1] == pytest.approx(target, rel=1e-9)
    groups = ["a"] * 10 + ["b"] * 3
    y3 = np.concatenate([REPRO_Y, [2.5, 2.1, 2.9]])
    v3 = np.concatenate([REPRO_V, [0.2, 0.3, 0.25]])
    sub = subgroup_analysis(y3, v3, groups, method="REML", tau2="separate")
    assert sub.tau2[0] == pytest.approx(target, rel=1e-9)


def test_network_two_treatments_reproducer():
    """A two-treatment network is the pairwise model: its REML tau2 must be the same maximum."""
    from plateau.meta.network import nma

    n = len(REPRO_Y)
    res = nma(
        [f"s{i}" for i in range(n)],
        ["B"] * n,
        ["A"] * n,
        REPRO_Y,
        np.sqrt(REPRO_V),
        reference="A",
        random=True,
        method="REML",
    )
    assert res.tau2 == pytest.approx(0.109332014448, rel=1e-7)


def test_hard_fixtures_match_metafor_global_maximum():
    """hard.json: bimodal, dominant, boundary designs (metafor's global maximum)."""
    cases = load_fixture("hard")["cases"]
    n_local = 0
    for case in cases:
        y, v = as_array(case["yi"]), as_array(case["vi"])
        for ref in case["fits"]:
            m = ref["method"]
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                if case.get("mods") is not None:
                    res = meta_regression(y, v, as_array(case["mods"])[:, None], method=m)
                    est, se = res.coef, res.se
                else:
                    res = pool(y, v, method=m)
                    est, se = np.array([res.estimate]), np.array([res.se])
            what = f"{case['name']} {m}"
            if ref["default_tau2"] is not None and ref["global_refit"]:
                n_local += 1  # metafor's default fit stopped at a local maximum
            assert res.tau2 == pytest.approx(ref["tau2"], rel=1e-7, abs=1e-10), what
            np.testing.assert_allclose(
                est, as_array(ref["beta"]), rtol=1e-7, atol=1e-9, err_msg=what
            )
            np.testing.assert_allclose(se, as_array(ref["se"]), rtol=1e-7, atol=1e-10, err_msg=what)
            if m in ("ML", "REML"):
                X = np.ones((len(y), 1))
                if case.get("mods") is not None:
                    X = np.column_stack([X, as_array(case["mods"])])
                # plateau's likelihood is never below metafor's global one
                ll_p = ref_loglik(y, v, X, res.tau2, m == "REML")[0]
                ll_m = ref_loglik(y, v, X, ref["tau2"], m == "REML")[0]
                assert ll_p >= ll_m - 1e-10 * (1 + abs(ll_m)), what
    assert len(cases) >= 20
