"""Independent oracle for the tau^2 optimisation of the random-effects model (review helper).

Written from the textbook formulas only (no plateau code is imported here):

* Marginal model y_i ~ N(x_i' beta, v_i + tau^2), W = diag(1 / (v_i + tau^2)).
* Profile log-likelihood (Viechtbauer 2005, J Educ Behav Stat 30:261, eqs. 7 and 9;
  Harville 1977, JASA 72:320), additive constants dropped:

      ML:   l(tau^2)  = -1/2 [ sum log(v_i + tau^2) + RSS_W ]
      REML: l(tau^2)  = -1/2 [ sum log(v_i + tau^2) + log det(X' W X) + RSS_W ]

  with RSS_W = (y - X b)' W (y - X b), b = (X' W X)^-1 X' W y (generalised least squares).
  RSS_W and log det are computed from a QR decomposition of W^1/2 X (no normal equations).
* Paule-Mandel / empirical Bayes (Morris 1983 as in metafor, whose fixed point is
  Q(tau^2) k/(k - p) = k): the root of the generalised Q, RSS_W(tau^2) = k - p, or 0 when
  RSS_W(0) < k - p.

``global_max`` evaluates l on a dense grid (0 and ``n_grid`` log-spaced points from
1e-10 to 1e4 times var(y)), then polishes every leading local grid maximum with a bounded
Brent search on its two neighbouring cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import numpy as np
from scipy.optimize import brentq, minimize_scalar

N_GRID = 20_000


def _design(X: np.ndarray | None, k: int) -> np.ndarray:
    if X is None:
        return np.ones((k, 1))
    X = np.asarray(X, dtype=float)
    return X.reshape(k, -1)


def profile_ll(
    y: np.ndarray,
    v: np.ndarray,
    X: np.ndarray | None,
    t: np.ndarray,
    method: str,
    exact: bool = True,
) -> np.ndarray:
    """Profile (restricted) log-likelihood at each tau^2 in ``t`` (vectorised over ``t``).

    With moderators, ``exact`` uses a QR decomposition of W^1/2 X per tau^2 (slow, stable);
    ``exact=False`` uses the normal equations (fast; used only to scan the grid, every value
    that is compared is recomputed exactly)."""
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    t = np.atleast_1d(np.asarray(t, dtype=float))
    k = y.size
    Xd = _design(X, k)
    m = v[None, :] + t[:, None]  # (G, k)
    w = 1.0 / m
    sumlog = np.log(m).sum(axis=1)
    if Xd.shape[1] == 1 and np.all(Xd == 1.0) and not exact:
        # grid scan only: moments by matrix products (centred y limits the cancellation)
        yc = y - np.median(y)
        sw = w.sum(axis=1)
        sy = w @ yc
        rss = w @ (yc * yc) - sy * sy / sw
        logdet = np.log(sw)
    elif Xd.shape[1] == 1 and np.all(Xd == 1.0):
        sw = w.sum(axis=1)
        mu = (w * y).sum(axis=1) / sw
        r = y[None, :] - mu[:, None]
        rss = (w * r * r).sum(axis=1)
        logdet = np.log(sw)
    elif not exact:
        p = Xd.shape[1]
        xx = (Xd[:, :, None] * Xd[:, None, :]).reshape(k, p * p)
        xtwx = (w @ xx).reshape(-1, p, p)
        xtwy = (w * y[None, :]) @ Xd
        L = np.linalg.cholesky(xtwx)
        beta = np.linalg.solve(xtwx, xtwy[:, :, None])[:, :, 0]
        r = y[None, :] - beta @ Xd.T
        rss = (w * r * r).sum(axis=1)
        logdet = 2.0 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1)
    else:
        sq = np.sqrt(w)
        A = sq[:, :, None] * Xd[None, :, :]  # (G, k, p)
        b = sq * y[None, :]
        Q, R = np.linalg.qr(A)
        qb = np.einsum("gkp,gk->gp", Q, b)
        beta = np.linalg.solve(R, qb[:, :, None])[:, :, 0]
        r = b - np.einsum("gkp,gp->gk", A, beta)
        rss = (r * r).sum(axis=1)
        logdet = 2.0 * np.log(np.abs(np.diagonal(R, axis1=1, axis2=2))).sum(axis=1)
    if method == "ML":
        return -0.5 * (sumlog + rss)
    if method == "REML":
        return -0.5 * (sumlog + logdet + rss)
    raise ValueError(method)


def gen_q(y: np.ndarray, v: np.ndarray, X: np.ndarray | None, t: float) -> float:
    """Generalised Q: RSS_W at tau^2 = t."""
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    Xd = _design(X, y.size)
    sq = 1.0 / np.sqrt(v + t)
    A = sq[:, None] * Xd
    b = sq * y
    beta, *_ = np.linalg.lstsq(A, b, rcond=None)
    r = b - A @ beta
    return float(r @ r)


def modes(ll: np.ndarray, prominence: float = 1e-8) -> list[int]:
    """Indices of the local maxima of ``ll`` (a grid scan) that rise more than ``prominence``
    above the valley separating them from every neighbouring maximum (rounding noise on flat
    stretches does not count as a mode)."""
    left = np.concatenate([[-np.inf], ll[:-1]])
    right = np.concatenate([ll[1:], [-np.inf]])
    stack: list[int] = []
    for i in np.flatnonzero((ll >= left) & (ll >= right)):
        keep = True
        while stack:
            top = stack[-1]
            valley = ll[top : i + 1].min()
            if min(ll[top], ll[i]) - valley > prominence:
                break
            if ll[top] < ll[i]:
                stack.pop()  # the lower of two unseparated maxima goes
            else:
                keep = False
                break
        if keep:
            stack.append(int(i))
    idx = stack
    return idx


@dataclass
class Optimum:
    tau2: float
    ll: float
    n_local_max: int  # local maxima on the grid (incl. tau^2 = 0) with prominence > 1e-8
    peaks: list[tuple[float, float]]  # polished (tau2, ll) of the local maxima near the top


def grid(y: np.ndarray, n_grid: int = N_GRID) -> np.ndarray:
    s = float(np.var(np.asarray(y, dtype=float)))
    if not np.isfinite(s) or s <= 0:
        s = 1e-12
    return np.concatenate([[0.0], np.geomspace(1e-10 * s, 1e4 * s, n_grid)])


def global_max(
    y: np.ndarray,
    v: np.ndarray,
    X: np.ndarray | None,
    method: str,
    n_grid: int = N_GRID,
    n_polish: int = 4,
) -> Optimum:
    g = grid(y, n_grid)
    ll = profile_ll(y, v, X, g, method, exact=False)
    n = g.size
    left = np.concatenate([[-np.inf], ll[:-1]])
    right = np.concatenate([ll[1:], [-np.inf]])
    is_max = (ll >= left) & (ll >= right)
    # collapse plateaus of equal values into one peak
    idx = np.flatnonzero(is_max)
    distinct = [i for j, i in enumerate(idx) if j == 0 or i != idx[j - 1] + 1]
    order = sorted(distinct, key=lambda i: -ll[i])[:n_polish]
    # polishing raises a grid peak by at most the grid's quadratic error (a cell spans a factor
    # 1.0016 in tau^2; |d^2 l / d(log tau^2)^2| <= k/2), far below 1e-3: peaks lower than
    # that cannot win and are kept unpolished.
    top = ll[order[0]]
    order = [i for i in order if ll[i] >= top - 1e-3]
    peaks: list[tuple[float, float]] = []

    def f(tt: float) -> float:
        return -float(profile_ll(y, v, X, np.array([tt]), method)[0])

    for i in order:
        lo = g[max(i - 1, 0)]
        hi = g[min(i + 1, n - 1)]
        best_t, best_l = g[i], -f(g[i])
        if hi > lo:
            res = minimize_scalar(
                f,
                bounds=(lo, hi),
                method="bounded",
                options={"xatol": max(1e-300, 1e-13 * hi), "maxiter": 500},
            )
            if -res.fun > best_l:
                best_t, best_l = float(res.x), float(-res.fun)
        peaks.append((best_t, best_l))
    t_best, l_best = max(peaks, key=lambda p: p[1])
    return Optimum(tau2=t_best, ll=l_best, n_local_max=len(modes(ll)), peaks=peaks)


def ll_at(y, v, X, tau2: float, method: str) -> float:
    return float(profile_ll(y, v, X, np.array([max(float(tau2), 0.0)]), method)[0])


def pm_root(y, v, X=None) -> float:
    """Paule-Mandel / metafor-EB tau^2: root of RSS_W(t) = k - p (0 if RSS_W(0) < k - p)."""
    y = np.asarray(y, dtype=float)
    k = y.size
    p = _design(X, k).shape[1]
    target = k - p
    if gen_q(y, v, X, 0.0) <= target:
        return 0.0
    hi = max(float(np.var(y)), 1e-12)
    while gen_q(y, v, X, hi) > target:
        hi *= 4.0
    return brentq(lambda t: gen_q(y, v, X, t) - target, 0.0, hi, xtol=1e-300, rtol=1e-15)


# ---------------------------------------------------------------------------------------------
# 50-digit reference for the pooled (intercept-only) model


def mp_pool(y, v, method: str, dps: int = 50, t0: float | None = None) -> dict[str, float]:
    """estimate, se, tau2, se_tau2 of the pooled model in mpmath (``dps`` digits).

    ML / REML: tau^2 solves the score equation (Viechtbauer 2005)
      ML:   sum w_i^2 (y_i - mu)^2 - sum w_i = 0
      REML: y' P P y - tr(P) = 0,  P = W - w w' / sum w
    truncated at 0 when the score at 0 is negative.  For ML/REML pass ``t0``, the float64
    global optimum of :func:`global_max`; it is refined to ``dps`` digits (0 stays 0).
    PM/EB: sum w_i (y_i - mu)^2 = k - 1.
    se_tau2 as metafor: ML sqrt(2 / sum w^2), REML sqrt(2 / sum P*P), PM/EB
    sqrt(2 k^2 / (k - 1) / (sum w)^2).
    """
    with mpmath.workdps(dps):
        ys = [mpmath.mpf(float(a)) for a in y]
        vs = [mpmath.mpf(float(a)) for a in v]
        k = len(ys)

        def parts(t):
            w = [1 / (vi + t) for vi in vs]
            sw = mpmath.fsum(w)
            mu = mpmath.fsum(wi * yi for wi, yi in zip(w, ys, strict=True)) / sw
            r = [yi - mu for yi in ys]
            return w, sw, mu, r

        def pp_stats(t):
            w, sw, mu, r = parts(t)
            # P = W - w w'/sw ; P y = w * r ; y'PPy = sum w^2 r^2
            # tr(P) = sw - sum w^2/sw ; sum(P*P) = sum w^2 - 2 sum w^3/sw + (sum w^2)^2/sw^2
            s2 = mpmath.fsum(wi**2 for wi in w)
            s3 = mpmath.fsum(wi**3 for wi in w)
            ypp = mpmath.fsum(wi**2 * ri**2 for wi, ri in zip(w, r, strict=True))
            trp = sw - s2 / sw
            sump2 = s2 - 2 * s3 / sw + s2**2 / sw**2
            return w, sw, mu, r, s2, ypp, trp, sump2

        def score(t):
            w, sw, mu, r, s2, ypp, trp, sump2 = pp_stats(t)
            if method == "ML":
                return ypp - sw
            if method == "REML":
                return ypp - trp
            return mpmath.fsum(wi * ri**2 for wi, ri in zip(w, r, strict=True)) - (k - 1)

        if t0 is not None and t0 > 0 and method in ("ML", "REML"):
            # refine the float64 global optimum (the score may have several roots)
            lo = hi = mpmath.mpf(t0)
            step = mpmath.mpf("1e-6")
            while score(lo) <= 0 and lo > 0:
                lo = max(lo * (1 - step), mpmath.mpf(0))
                step *= 4
                if step > 1:
                    lo = mpmath.mpf(0)
            step = mpmath.mpf("1e-6")
            while score(hi) > 0:
                hi *= 1 + step
                step *= 4
            if lo == 0 and score(lo) <= 0:
                t = mpmath.mpf(0)
            else:
                for _ in range(150):
                    mid = (lo + hi) / 2
                    if score(mid) > 0:
                        lo = mid
                    else:
                        hi = mid
                t = (lo + hi) / 2
        elif score(mpmath.mpf(0)) <= 0:
            t = mpmath.mpf(0)
        else:
            hi = mpmath.mpf(1)
            while score(hi) > 0:
                hi *= 4
            lo = mpmath.mpf(0)
            # bisection to full precision (the score may have several roots for ML/REML; the
            # caller cross-checks against the float64 grid search)
            for _ in range(260):
                mid = (lo + hi) / 2
                if score(mid) > 0:
                    lo = mid
                else:
                    hi = mid
            t = (lo + hi) / 2
        w, sw, mu, r, s2, ypp, trp, sump2 = pp_stats(t)
        if method == "ML":
            se_t = mpmath.sqrt(2 / s2)
        elif method == "REML":
            se_t = mpmath.sqrt(2 / sump2)
        else:
            se_t = mpmath.sqrt(2 * mpmath.mpf(k) ** 2 / (k - 1) / sw**2)
        return {
            "estimate": float(mu),
            "se": float(mpmath.sqrt(1 / sw)),
            "tau2": float(t),
            "se_tau2": float(se_t),
        }
