"""Independent black-box review: is every ML/REML tau^2 the *global* maximiser of the (restricted)
profile log-likelihood over tau^2 >= 0, and every EB/PM tau^2 the root of its estimating equation?

The oracle (``tau2_oracle``) is written from Viechtbauer (2005) / Harville (1977) only: a dense
20,000-point grid in tau^2 plus 0, Brent-polished near every leading local maximum.  plateau's
tau^2 is plugged into the *oracle's* log-likelihood, so a fit counts as correct only when it
reaches the oracle's global maximum within 1e-10 absolute + 1e-9 relative.  Designs come from
fixed seeds; the adversarial bimodal designs are constructed so that two local maxima exist with
heights made equal (or different by a controlled margin) by a root search over the effects.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import tau2_oracle as O

import plateau.meta as pm
from plateau.meta import network as nw

# PLATEAU_REVIEW_SCALE=25 multiplies the number of random designs (deep run: 1,000 per pooled
# class; CI uses 1)
SCALE = int(os.environ.get("PLATEAU_REVIEW_SCALE", "1"))
BIMODAL = Path(__file__).with_name("bimodal_designs.json")
ABS_TOL = 1e-10
REL_TOL = 1e-9


def _tol(ll: float) -> float:
    return ABS_TOL + REL_TOL * abs(ll)


def _fmt(a) -> str:
    return np.array2string(np.asarray(a), precision=17, separator=", ", max_line_width=10_000)


def _check_ml_reml(designs, method, tau2s, X=None, label=""):
    """Return failure strings for designs whose fitted tau^2 is not a global maximiser."""
    fails = []
    for d, t in zip(designs, tau2s, strict=True):
        y, v = d[0], d[1]
        Xd = d[2] if len(d) > 2 else X
        opt = O.global_max(y, v, Xd, method)
        lp = O.ll_at(y, v, Xd, t, method) if np.isfinite(t) else -np.inf
        gap = opt.ll - lp
        if not (gap <= _tol(opt.ll)) or not np.isfinite(t) or t < 0:
            fails.append(
                (
                    len(y),
                    f"{label} {method} k={len(y)} plateau tau2={t!r} ll={lp!r}; oracle tau2="
                    f"{opt.tau2!r} ll={opt.ll!r} (gap {gap:.3g}, {opt.n_local_max} local max)\n"
                    f"  yi={_fmt(y)}\n  vi={_fmt(v)}"
                    + (f"\n  X={_fmt(Xd)}" if Xd is not None else ""),
                )
            )
    return fails


def _check_pm_root(designs, tau2s, X=None, label="", method="PM"):
    fails = []
    for d, t in zip(designs, tau2s, strict=True):
        y, v = d[0], d[1]
        Xd = d[2] if len(d) > 2 else X
        k = len(y)
        p = 1 if Xd is None else np.asarray(Xd).reshape(k, -1).shape[1]
        ref = O.pm_root(y, v, Xd)
        q = O.gen_q(y, v, Xd, max(t, 0.0)) if np.isfinite(t) else np.nan
        ok = np.isfinite(t) and t >= 0
        if ok and t == 0:
            ok = O.gen_q(y, v, Xd, 0.0) <= (k - p) * (1 + 1e-9)
        elif ok:
            ok = abs(q - (k - p)) <= 1e-8 * (k - p) or abs(t - ref) <= 1e-8 * ref
        if not ok:
            fails.append(
                (
                    k,
                    f"{label} {method} k={k} plateau tau2={t!r} (Q={q!r}, target {k - p}); "
                    f"oracle root {ref!r}\n  yi={_fmt(y)}\n  vi={_fmt(v)}"
                    + (f"\n  X={_fmt(Xd)}" if Xd is not None else ""),
                )
            )
    return fails


def _report(fails, n):
    if fails:
        fails.sort(key=lambda f: f[0])
        msg = "\n".join(f[1] for f in fails[:4])
        pytest.fail(f"{len(fails)} of {n} fits wrong; smallest designs first:\n{msg}")


def _batch(designs):
    kmax = max(len(d[0]) for d in designs)
    Y = np.full((len(designs), kmax), np.nan)
    V = np.full((len(designs), kmax), np.nan)
    for i, d in enumerate(designs):
        Y[i, : len(d[0])] = d[0]
        V[i, : len(d[1])] = d[1]
    return Y, V


def _pool_batch(designs, method):
    Y, V = _batch(designs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.atleast_1d(pm.pool(Y, V, method=method).tau2)


# --------------------------------------------------------------------------------------------
# design classes (fixed seeds)


def _random_designs(kind: str, n: int, seed: int):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        k = int(rng.integers(2, 51))
        if kind == "homogeneous":
            v = rng.uniform(0.005, 0.3, k)
            t2 = 0.0
        elif kind == "heterogeneous":
            v = rng.uniform(0.005, 0.3, k)
            t2 = 10 ** rng.uniform(0, 2.5)
        elif kind == "mixed_precision":
            v = 10 ** rng.uniform(-4, 2, k)
            v[0], v[-1] = 1e-4, 1e2
            t2 = 10 ** rng.uniform(-4, 1)
        elif kind == "dominant":
            v = rng.uniform(0.05, 1.0, k)
            v[int(rng.integers(k))] = 10 ** rng.uniform(-8, -4)
            t2 = 10 ** rng.uniform(-3, 0)
        else:
            raise ValueError(kind)
        y = rng.normal(0.3, np.sqrt(v + t2))
        out.append((y, v))
    return out


def _boundary_designs(n: int, seed: int, method: str):
    """Score at tau^2 = 0 made (nearly) zero: y rescaled so that the ML/REML score vanishes at 0,
    then nudged by a relative factor 1 +- 10^-j (optimum at 0 or just above)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        k = int(rng.integers(2, 51))
        v = 10 ** rng.uniform(-2, 0, k)
        y = rng.normal(0, np.sqrt(v))
        w = 1 / v
        r = y - (w * y).sum() / w.sum()
        if method == "ML":
            c2 = w.sum() / (w**2 * r**2).sum()
        else:
            trp = w.sum() - (w**2).sum() / w.sum()
            c2 = trp / (w**2 * r**2).sum()
        nudge = [0.0, 1e-12, -1e-12, 1e-8, -1e-8, 1e-4, -1e-4][i % 7]
        out.append((y * np.sqrt(c2) * (1 + nudge), v))
    return out


CLASSES = {
    "homogeneous": 11,
    "heterogeneous": 12,
    "mixed_precision": 13,
    "dominant": 14,
}
N_PER_CLASS = 40 * SCALE


@pytest.mark.parametrize("method", ["ML", "REML"])
@pytest.mark.parametrize("kind", list(CLASSES))
def test_pool_global_max_random_designs(kind, method):
    designs = _random_designs(kind, N_PER_CLASS, CLASSES[kind])
    tau2 = _pool_batch(designs, method)
    _report(_check_ml_reml(designs, method, tau2, label=kind), len(designs))


@pytest.mark.parametrize("method", ["ML", "REML"])
def test_pool_global_max_boundary(method):
    designs = _boundary_designs(28 * SCALE, 21, method)
    tau2 = _pool_batch(designs, method)
    _report(_check_ml_reml(designs, method, tau2, label="boundary"), len(designs))


@pytest.mark.parametrize("method", ["PM", "EB"])
@pytest.mark.parametrize("kind", list(CLASSES))
def test_pool_pm_eb_root(kind, method):
    designs = _random_designs(kind, N_PER_CLASS, CLASSES[kind] + 100)
    tau2 = _pool_batch(designs, method)
    _report(_check_pm_root(designs, tau2, label=kind, method=method), len(designs))


def test_batch_equals_single_fits():
    """One answer per question: a batch row and the same design fitted alone agree."""
    designs = _random_designs("mixed_precision", 40, 31) + _boundary_designs(14, 32, "REML")
    for method in ("ML", "REML", "PM", "EB"):
        tb = _pool_batch(designs, method)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ts = np.array([pm.pool(y, v, method=method).tau2 for y, v in designs])
        np.testing.assert_allclose(tb, ts, rtol=1e-9, atol=1e-12, err_msg=method)


# --------------------------------------------------------------------------------------------
# adversarial bimodal likelihoods


def _bimodal_fixture(method=None, family=None):
    rows = json.loads(BIMODAL.read_text())
    return [
        (np.array(r["yi"]), np.array(r["vi"]), r["peak_ratio"], r["margin"])
        for r in rows
        if (method is None or r["method"] == method) and (family is None or r["family"] in family)
    ]


@pytest.mark.parametrize("method", ["ML", "REML"])
@pytest.mark.parametrize("family", ["far", "close"])
def test_pool_global_max_bimodal(method, family):
    """Designs of ``bimodal_designs.json`` (regenerated by ``gen_bimodal_designs.py``): two local
    maxima whose heights differ by a controlled margin (0, +-1e-7, +-1e-5, +-1e-3); "far" =
    peak ratio >= 3 (families far and cluster), "close" = ratio 1.2-3."""
    designs = _bimodal_fixture(method, ("far", "cluster") if family == "far" else ("close",))
    assert len(designs) >= 8, "the bimodal fixture must hold designs (test not vacuous)"
    for y, v, ratio, _m in designs:
        opt = O.global_max(y, v, None, method)
        assert opt.n_local_max >= 2, "fixture design is no longer bimodal"
        if family == "close":
            assert 1.2 <= ratio <= 3.0
    pairs = [(d[0], d[1]) for d in designs]
    tau2 = _pool_batch(pairs, method)
    fails = _check_ml_reml(pairs, method, tau2, label=f"bimodal-{family}")
    # single fits too (batch and single may take different code paths)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        single = [pm.pool(d[0], d[1], method=method).tau2 for d in designs]
    fails += _check_ml_reml(pairs, method, single, label=f"bimodal-{family}-single")
    _report(fails, 2 * len(designs))


# --------------------------------------------------------------------------------------------
# meta-regression, subgroups (common tau^2), leave-one-out, cumulative, NMA


def _regression_designs(n, seed):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        p = 1 + i % 3
        k = int(rng.integers(p + 2, 51))
        x = rng.normal(size=(k, p))
        if i % 4 == 3 and p >= 2:
            x[:, 1] = x[:, 0] + 1e-4 * rng.normal(size=k)  # collinear-ish
        v = 10 ** rng.uniform(-3, 0.5, k)
        t2 = [0.0, 0.05, 1.0][i % 3 - 0]
        beta = rng.normal(size=p)
        y = 0.2 + x @ beta + rng.normal(0, np.sqrt(v + t2))
        Xfull = np.column_stack([np.ones(k), x])
        out.append((y, v, Xfull, x))
    return out


@pytest.mark.parametrize("method", ["ML", "REML", "PM", "EB"])
def test_meta_regression(method):
    designs = _regression_designs(18 * SCALE, 51)
    tau2 = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for y, v, _X, x in designs:
            tau2.append(pm.meta_regression(y, v, x, method=method).tau2)
    ds = [(y, v, X) for y, v, X, _x in designs]
    if method in ("ML", "REML"):
        fails = _check_ml_reml(ds, method, tau2, label="meta-regression")
    else:
        fails = _check_pm_root(ds, tau2, label="meta-regression", method=method)
    _report(fails, len(ds))


@pytest.mark.parametrize("method", ["ML", "REML", "PM", "EB"])
def test_subgroups_common_tau2(method):
    rng = np.random.default_rng(61)
    ds, tau2 = [], []
    for _ in range(12 * SCALE):
        G = int(rng.integers(2, 5))
        k = int(rng.integers(G + 2, 40))
        g = np.r_[np.arange(G), rng.integers(0, G, k - G)]
        v = 10 ** rng.uniform(-3, 0, k)
        y = rng.normal(0, 0.5, G)[g] + rng.normal(0, np.sqrt(v + rng.choice([0, 0.1, 1.0])))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = pm.subgroup_analysis(y, v, g, method=method, tau2="common")
        tau2.append(float(np.asarray(res.tau2).ravel()[0]))
        ds.append((y, v, (g[:, None] == np.arange(G)[None, :]).astype(float)))
    if method in ("ML", "REML"):
        fails = _check_ml_reml(ds, method, tau2, label="subgroups")
    else:
        fails = _check_pm_root(ds, tau2, label="subgroups", method=method)
    _report(fails, len(ds))


@pytest.mark.parametrize("method", ["ML", "REML", "PM", "EB"])
def test_leave_one_out_and_cumulative_refits(method):
    base = _random_designs("mixed_precision", 4 * SCALE, 71)
    base += _random_designs("dominant", 4 * SCALE, 72)
    base += [(d[0], d[1]) for d in _bimodal_fixture("REML", ("cluster",))[: 2 * SCALE]]
    base = [(y[:16], v[:16]) for y, v in base]  # k <= 16: up to 31 refits per design
    ds, tau2 = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for y, v in base:
            k = len(y)
            loo = pm.leave_one_out(y, v, method=method)
            for i in range(k):
                keep = np.arange(k) != i
                if keep.sum() >= 2:
                    ds.append((y[keep], v[keep]))
                    tau2.append(float(loo.tau2[i]))
            cum = pm.cumulative(y, v, method=method)
            order = np.asarray(cum.order)
            for j in range(1, k):
                idx = order[: j + 1]
                ds.append((y[idx], v[idx]))
                tau2.append(float(cum.tau2[j]))
    if method in ("ML", "REML"):
        fails = _check_ml_reml(ds, method, tau2, label="loo/cumulative")
    else:
        fails = _check_pm_root(ds, tau2, label="loo/cumulative", method=method)
    _report(fails, len(ds))


def _two_arm_network(rng, T, n_studies):
    trts = [f"T{i}" for i in range(T)]
    d = rng.normal(0, 0.5, T)
    d[0] = 0
    tau2 = rng.choice([0.0, 0.02, 0.3])
    rows = []
    for s in range(n_studies):
        a, b = (s % T, (s + 1) % T) if s < T else tuple(rng.choice(T, 2, replace=False))
        se = np.sqrt(10 ** rng.uniform(-2.5, 0))
        te = d[a] - d[b] + rng.normal(0, np.sqrt(se**2 + tau2))
        rows.append((f"s{s}", trts[a], trts[b], te, se))
    return trts, rows


@pytest.mark.parametrize("method", ["ML", "REML"])
def test_nma_two_arm_networks(method):
    """Two-arm studies only: the NMA model is a meta-regression without intercept on the
    contrast columns (reference column dropped), V and B diagonal."""
    rng = np.random.default_rng(81)
    ds, tau2 = [], []
    for _ in range(8 * SCALE):
        T = int(rng.integers(3, 6))
        trts, rows = _two_arm_network(rng, T, int(rng.integers(T + 1, 25)))
        study, t1, t2, te, se = map(list, zip(*rows, strict=True))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = nw.nma(study, t1, t2, te, se, method=method, reference="T0")
        X = np.zeros((len(rows), T))
        for r, (_s, a, b, _te, _se) in enumerate(rows):
            X[r, trts.index(a)] += 1
            X[r, trts.index(b)] -= 1
        ds.append((np.array(te), np.array(se) ** 2, X[:, 1:]))
        tau2.append(float(res.tau2))
    _report(_check_ml_reml(ds, method, tau2, label="nma"), len(ds))


# --------------------------------------------------------------------------------------------
# precision when one study dominates (v ratio up to 1e14) against mpmath at 50 digits


def _dominance_designs():
    rng = np.random.default_rng(91)
    out = []
    for ratio_exp in (6, 10, 12, 14):
        for k in (2, 5, 30):
            for spread in (0.0, 1.0, 30.0):
                v = 10 ** rng.uniform(-0.5, 0.5, k)
                v[0] = v[1:].min() * 10.0**-ratio_exp if k > 1 else v[0]
                y = 0.1 + rng.normal(0, np.sqrt(v + spread))
                out.append((y, v))
    return out


@pytest.mark.parametrize("method", ["ML", "REML", "PM", "EB"])
def test_dominant_study_precision_mpmath(method):
    fails = []
    designs = _dominance_designs()
    for y, v in designs:
        t0 = O.global_max(y, v, None, method).tau2 if method in ("ML", "REML") else None
        ref = O.mp_pool(y, v, method, dps=50, t0=t0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = pm.pool(y, v, method=method)
        got = {"estimate": r.estimate, "se": r.se, "tau2": r.tau2, "se_tau2": r.se_tau2}
        for key, rtol in (("estimate", 1e-9), ("se", 1e-9), ("tau2", 1e-7), ("se_tau2", 1e-7)):
            a, b = got[key], ref[key]
            atol = 1e-12 * (abs(ref["estimate"]) + ref["se"]) if key == "estimate" else 0.0
            if key == "tau2":
                atol = 1e-12 * float(np.max(v))
            if not (abs(a - b) <= atol + rtol * abs(b)):
                fails.append(
                    (
                        len(y),
                        f"{method} {key}: plateau {a!r} mpmath {b!r} "
                        f"(rel {abs(a - b) / abs(b) if b else np.inf:.3g})"
                        f"\n  yi={_fmt(y)}\n  vi={_fmt(v)}",
                    )
                )
    _report(fails, len(designs))


# --------------------------------------------------------------------------------------------
# units: the model is equivariant, tau^2(s y, s^2 v) = s^2 tau^2(y, v); a fit must not depend on
# the unit the effects are expressed in (absolute tolerances in an optimiser break this)

SCALES = (1e-6, 1e-5, 1e-4, 1e-3, 1e3, 1e6)


@pytest.mark.parametrize("method", ["ML", "REML", "PM", "EB"])
def test_small_and_large_units(method):
    base = _random_designs("heterogeneous", 8, 101) + _random_designs("homogeneous", 4, 102)
    base = [(y / 10.0, v / 100.0) for y, v in base]  # tau^2 around 0.01-3
    ds, tau2, equi = [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for y, v in base:
            t1 = pm.pool(y, v, method=method).tau2
            for s in SCALES:
                ys, vs = y * s, v * s * s
                ts = pm.pool(ys, vs, method=method).tau2
                ds.append((ys, vs))
                tau2.append(ts)
                if not abs(ts / (s * s) - t1) <= 1e-8 * t1 + 1e-300:
                    equi.append(
                        (
                            len(y),
                            f"{method} scale {s:g}: tau2/s^2 = {ts / (s * s)!r} vs {t1!r} at "
                            f"scale 1 (rel {(ts / (s * s) - t1) / t1 if t1 else np.inf:.3g})"
                            f"\n  yi={_fmt(y)}\n  vi={_fmt(v)}",
                        )
                    )
    if method in ("ML", "REML"):
        fails = _check_ml_reml(ds, method, tau2, label="units")
    else:
        fails = _check_pm_root(ds, tau2, label="units", method=method)
    _report(fails + equi, len(ds))


# --------------------------------------------------------------------------------------------
# minimal failing designs found by this review (kept as ordinary tests)


def test_minimal_reml_zero_with_positive_score_at_zero():
    """5 precise agreeing studies + 3 imprecise disagreeing ones (shrunk from a k = 40 random
    mixed-precision design): the REML score at tau^2 = 0 is positive, so 0 is not the maximum;
    metafor 4.x gives tau^2 = 2.5e-6 on the unrounded design."""
    y = np.array([0.3, 0.28, 0.31, 0.3, 0.3, -5.5, -13.7, -3.8])
    v = np.array([1e-4, 1.3e-4, 1.45e-4, 3.3e-4, 1.6e-4, 62.0, 38.0, 100.0])
    w = 1 / v
    r = y - (w * y).sum() / w.sum()
    score0 = (w**2 * r**2).sum() - (w.sum() - (w**2).sum() / w.sum())
    assert score0 > 0  # the REML derivative at 0 (times 2)
    fit = pm.pool(y, v, method="REML")
    opt = O.global_max(y, v, None, "REML")
    assert opt.tau2 > 1e-7
    assert opt.ll - O.ll_at(y, v, None, fit.tau2, "REML") <= _tol(opt.ll)


@pytest.mark.parametrize("method", ["ML", "REML", "PM", "EB"])
def test_minimal_small_units(method):
    """y = (0.1, 0.5, 0.9) 1e-6, v = (0.01, 0.02, 0.03) 1e-12: tau^2 must be 1e-12 times the
    tau^2 of the same data in unscaled units."""
    y0, v0 = np.array([0.1, 0.5, 0.9]), np.array([0.01, 0.02, 0.03])
    s = 1e-6
    t1 = pm.pool(y0, v0, method=method).tau2
    ts = pm.pool(y0 * s, v0 * s * s, method=method).tau2
    if method in ("ML", "REML"):
        ref = O.global_max(y0, v0, None, method).tau2
        assert abs(t1 - ref) <= 1e-6 * ref
    else:
        ref = O.pm_root(y0, v0)
        assert abs(t1 - ref) <= 1e-12 * ref
    assert ts / (s * s) == pytest.approx(t1, rel=1e-8)


def test_minimal_ml_close_bimodal_lower_peak():
    """8 pairs +-0.5405 (v 0.0547) and 16 pairs +-3.488 (v 3.677), k = 48: the ML profile
    likelihood has local maxima at tau^2 = 0.714 and 1.452 (ratio 2.0); the one at 0.714 is
    higher by 1.6e-3."""
    y = np.r_[np.tile([0.5405, -0.5405], 8), np.tile([3.488, -3.488], 16)]
    v = np.r_[np.full(16, 0.0547), np.full(32, 3.677)]
    opt = O.global_max(y, v, None, "ML")
    assert opt.n_local_max == 2
    assert opt.tau2 == pytest.approx(0.7142277, rel=1e-6)
    fit = pm.pool(y, v, method="ML")
    assert opt.ll - O.ll_at(y, v, None, fit.tau2, "ML") <= _tol(opt.ll)
    assert fit.tau2 == pytest.approx(opt.tau2, rel=1e-6)
