"""The bounds behind the global-optimum certificate are valid upper bounds.

plateau.meta._engine.fit_likelihood certifies that no tau2 >= 0 beats its fit, using
(a) a per-cell upper bound of the (restricted) log-likelihood (_dc_cell_bound: a
difference-of-convex bound and a concavity bound from Cauchy-Schwarz) and (b) an analytic
bound over the tail (_tail_bound); the network engine uses its own split (_nma_state) and tail
bound.  A bound that is too low would certify a wrong answer silently, so each is checked here
against an independent oracle: the textbook log-likelihood of test_global_optimum.py
(ref_loglik_fast, loops and linear solves only) evaluated on a dense grid inside each cell or
tail, on random designs, adversarial bimodal designs, one dominant study (variance ratio 1e8),
and meta-regressions with moderators.  The engine's constants are aligned to the reference's at
the cell's left end (one offset per cell).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_global_optimum import ref_loglik_fast

from plateau.meta import _engine
from plateau.meta import network as net

FIXTURE = Path(__file__).parents[1] / "fixtures" / "adversarial" / "bimodal_close_peaks.json"


def designs(rng, n):
    """(y, v, X) designs: random, mixed precision, dominant study, regression, bimodal."""
    out = []
    for i in range(n):
        kind = i % 5
        k = int(rng.integers(3, 25))
        v = rng.uniform(0.01, 0.5, k)
        if kind == 1:
            v = 10.0 ** rng.uniform(-4, 0, k)
        if kind == 2:
            v[0] *= 1e-8
        y = rng.normal(0.0, np.sqrt(v + rng.choice([0.0, 0.05, 0.5])))
        X = np.ones((k, 1))
        if kind == 3:
            X = np.column_stack([np.ones(k), rng.normal(size=(k, int(rng.integers(1, 3))))])
        out.append((y, v, X))
    cases = json.loads(FIXTURE.read_text())["cases"]
    for meth in ("REML", "ML"):
        for c in cases[meth][:15]:
            y = np.array(c["yi"])
            out.append((y, np.array(c["vi"]), np.ones((len(y), 1))))
    return out


def engine_state(y, v, X, t, reml):
    """The certificate's state (l, l', c, c', Q, -Q', c'') at the tau2 values t (engine)."""
    t = np.asarray(t, dtype=float)
    n = t.size
    Y, V = np.tile(y, (n, 1)), np.tile(v, (n, 1))
    M = np.ones_like(Y)
    Xb = np.broadcast_to(X, (n,) + X.shape).copy()
    return np.array(_engine._cert_state(_engine._lik_state_general(Y, V, M, Xb, t, reml)))


@pytest.mark.parametrize("reml", [True, False], ids=["REML", "ML"])
def test_cell_bound_is_above_the_likelihood_everywhere_in_the_cell(reml):
    rng = np.random.default_rng(20261206)
    checked = concave_cells = convex_cells = 0
    for y, v, X in designs(rng, 150):
        if len(y) <= X.shape[1]:
            continue
        s = max(float(np.var(y)), float(v.min()))
        # cells of every width: from a factor 1.01 to a factor 100, and cells starting at 0
        a = np.concatenate([[0.0, 0.0], s * 10.0 ** rng.uniform(-5, 1.5, 10)])
        b = np.concatenate(
            [s * 10.0 ** rng.uniform(-4, 0, 2), a[2:] * 10.0 ** rng.uniform(0.005, 2, 10)]
        )
        # and narrow cells where the likelihood is locally convex (between two peaks, far tail):
        # a wrong concavity claim is caught there
        tg = s * np.logspace(-4, 2, 600)
        convex_at = tg[1:-1][np.diff(ref_loglik_fast(y, v, X, tg, reml), 2) > 0]
        pick = rng.choice(convex_at, size=min(6, convex_at.size), replace=False)
        a = np.concatenate([a, pick / 1.03])
        b = np.concatenate([b, pick * 1.03])
        sa, sb = engine_state(y, v, X, a, reml), engine_state(y, v, X, b, reml)
        U = _engine._dc_cell_bound(a, b, sa, sb)
        ref_a = ref_loglik_fast(y, v, X, a, reml)
        for j in range(a.size):
            t = np.linspace(a[j], b[j], 801)
            ll = ref_loglik_fast(y, v, X, t, reml) - ref_a[j] + sa[0, j]
            slack = 1e-11 * (1.0 + abs(sa[0, j]))
            assert U[j] >= ll.max() - slack, (y, v, X, a[j], b[j], U[j], ll.max())
            checked += 1
        # the concavity tests, where they fire, are true of the oracle (second differences <= 0)
        with np.errstate(all="ignore"):
            concave = _engine._concave_part(a, b, sa, sb)[0]
        for j in np.nonzero(concave)[0]:
            t = np.linspace(a[j], b[j], 201)
            d2 = np.diff(ref_loglik_fast(y, v, X, t, reml), 2)
            assert d2.max() <= 1e-10 * (1.0 + np.abs(d2).max()), (y, v, X, a[j], b[j])
            concave_cells += 1
        convex_cells += pick.size
    assert checked > 1500 and concave_cells > 50 and convex_cells > 300


@pytest.mark.parametrize("reml", [True, False], ids=["REML", "ML"])
def test_tail_bound_is_above_the_likelihood_beyond_T(reml):
    rng = np.random.default_rng(7)
    for y, v, X in designs(rng, 60):
        k, p = X.shape
        if k <= p:
            continue
        s = max(float(np.var(y)), float(v.min()))
        intercept_only = p == 1
        for T in s * 10.0 ** rng.uniform(-3, 3, 4):
            Xb = np.ones((1, k, 1)) if intercept_only else X[None]
            bound = _engine._tail_bound(
                v[None], np.ones((1, k)), Xb, np.array([T]), reml, intercept_only
            )[0]
            t = T * np.logspace(0, 8, 400)
            # the engine's constants: ll = -1/2 sum log(v+t) - 1/2 Q [- 1/2 log det X'WX]
            ll = ref_loglik_fast(y, v, X, t, reml)
            assert bound >= ll.max() - 1e-11 * (1 + abs(bound)), (y, v, T, bound, ll.max())


def random_network(rng):
    """y, V, B, X of a random network: two-arm and three-arm studies over 4 treatments."""
    ys, blocks, xs = [], [], []
    for _ in range(int(rng.integers(4, 9))):
        arms = sorted(rng.choice(4, size=int(rng.choice([2, 2, 3])), replace=False))
        m = len(arms) - 1
        base_var = rng.uniform(0.01, 0.3)
        blk = np.full((m, m), base_var) + np.diag(rng.uniform(0.01, 0.3, m))
        blocks.append(blk)
        for j in range(1, len(arms)):
            x = np.zeros(3)
            if arms[j] > 0:
                x[arms[j] - 1] += 1
            if arms[0] > 0:
                x[arms[0] - 1] -= 1
            xs.append(x)
            ys.append(rng.normal(0.2 * (arms[j] - arms[0]), 0.4))
    n = len(ys)
    V = np.zeros((n, n))
    Bm = np.zeros((n, n))
    i = 0
    for blk in blocks:
        m = blk.shape[0]
        V[i : i + m, i : i + m] = blk
        Bm[i : i + m, i : i + m] = 0.5
        i += m
    np.fill_diagonal(Bm, 1.0)
    X = np.array(xs)
    keep = np.linalg.matrix_rank(X) == X.shape[1]
    return np.array(ys), V, Bm, X, keep


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_network_split_is_convex_plus_concave_and_sums_to_the_likelihood(method):
    """c is convex, e concave, c + e the log-likelihood the network fit maximises."""
    from scipy.linalg import null_space

    rng = np.random.default_rng(11)
    done = 0
    while done < 25:
        y, V, Bm, X, ok = random_network(rng)
        if not ok or len(y) <= X.shape[1]:
            continue
        N = null_space(X.T) if method == "REML" else None
        t = np.linspace(0.0, 2.0, 241)
        st = np.array([net._nma_state(y, V, Bm, X, ti, N) for ti in t])
        ll, c, cp, e, ep = st.T
        fit = [net._gls(y, V + ti * Bm, X) for ti in t]
        want = [f.loglik_reml if method == "REML" else f.loglik_ml for f in fit]
        np.testing.assert_allclose(ll, want, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(c + e, ll, rtol=1e-12, atol=1e-12)
        scale = 1e-9 * (1 + np.abs(st).max())
        assert np.diff(c, 2).min() >= -scale  # convex
        assert np.diff(e, 2).max() <= scale  # concave
        # the derivatives match central differences of c and e
        for ti in (0.003, 0.07, 0.4, 1.7):
            h = 1e-5 * ti
            lo, hi = net._nma_state(y, V, Bm, X, ti - h, N), net._nma_state(y, V, Bm, X, ti + h, N)
            mid = net._nma_state(y, V, Bm, X, ti, N)
            assert mid[2] == pytest.approx((hi[1] - lo[1]) / (2 * h), rel=1e-5, abs=1e-7)
            assert mid[4] == pytest.approx((hi[3] - lo[3]) / (2 * h), rel=1e-5, abs=1e-7)
        done += 1


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_network_tau2_is_the_global_maximum(method):
    """The network fit is never below a dense grid + polish of its own likelihood."""
    from scipy.optimize import minimize_scalar

    rng = np.random.default_rng(3)
    done = 0
    while done < 12:
        y, V, Bm, X, ok = random_network(rng)
        if not ok or len(y) <= X.shape[1]:
            continue

        def ll(t, y=y, V=V, Bm=Bm, X=X):
            f = net._gls(y, V + t * Bm, X)
            return f.loglik_reml if method == "REML" else f.loglik_ml

        tau2, _ = net._estimate_tau2(y, V, Bm, X, method)
        grid = np.concatenate([[0.0], np.logspace(-6, 2, 600)])
        vals = np.array([ll(t) for t in grid])
        j = int(np.argmax(vals))
        best = vals[j]
        if 0 < j < len(grid) - 1:
            res = minimize_scalar(
                lambda t: -ll(t), bounds=(grid[j - 1], grid[j + 1]), method="bounded"
            )
            best = max(best, -res.fun)
        assert ll(tau2) >= best - 1e-9 * (1 + abs(best)), (tau2, ll(tau2), best)
        done += 1
