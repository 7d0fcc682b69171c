"""Vectorised fitting engine of the (mixed-effects) random-effects model.

Model (Raudenbush 2009; Viechtbauer 2005, 2010): y_i = x_i' beta + u_i + e_i with
e_i ~ N(0, v_i) (known sampling variances) and u_i ~ N(0, tau^2).  Everything here works on a
batch: ``y``, ``v`` and ``m`` are (B, k) arrays (``m`` = 1 where a study is present, 0 where it
is absent), ``X`` is (B, k, p) with zero rows for absent studies.  No Python loop runs over
the analyses of a batch; the iterative estimators iterate over the whole batch at once and
drop converged rows from the work set.

For a diagonal weight matrix A = diag(a) the projection P_A = A - A X (X'AX)^{-1} X'A is never
formed: every quantity an estimator needs is a trace or a quadratic form of P_A, computed with
(B, p, p) matrices only:

    tr P_A       = sum a   - tr(S^{-1} X'A^2X),                       S = X'AX
    tr P_A P_A   = sum a^2 - 2 tr(S^{-1} X'A^3X) + tr((S^{-1} X'A^2X)^2)
    tr P_A V     = sum a v - tr(S^{-1} X'A^2VX)
    tr P_A V P_A V = sum a^2v^2 - 2 tr(S^{-1} X'A^3V^2X) + tr((S^{-1} X'A^2VX)^2)
    tr P_A P_A V = sum a^2 v - 2 tr(S^{-1} X'A^3VX) + tr(S^{-1} X'A^2X S^{-1} X'A^2VX)
    y'P_A y      = sum a r^2,  r = y - X b_A  (weighted least-squares residuals)

These are the quantities metafor's ``rma.uni`` (Viechtbauer 2010, version 3.8) computes with
k x k matrices; the conventions (centred y in the tau^2 estimators, truncation at 0, the
estimator-specific I^2/H^2 and se(tau^2)) follow that function.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
from scipy import special, stats

RE_METHODS = ("DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM", "PMM", "GENQ")
METHODS = ("EE", "FE") + RE_METHODS
TESTS = ("z", "knha", "adhoc")
PREDICTIONS = ("metafor", "t_k1", "t_k2")

TOL = 1e-12  # relative change in tau^2 at which the iterative estimators stop
MAXITER = 500  # iteration cap (Newton with Fisher-scoring fallback needs < 20 in practice)


# ----------------------------------------------------------------------------- linear algebra
def xtdx(X: np.ndarray, d: np.ndarray) -> np.ndarray:
    """X' diag(d) X for every row of the batch: (B, k, p), (B, k) -> (B, p, p)."""
    if X.shape[2] == 1:
        x = X[:, :, 0]
        return cast("np.ndarray", np.einsum("bk,bk->b", x * d, x)[:, None, None])
    return cast("np.ndarray", np.einsum("bkp,bkq->bpq", X * d[:, :, None], X))


def inv(S: np.ndarray) -> np.ndarray:
    """Inverse of a batch of symmetric positive-definite (p, p) matrices."""
    if S.shape[1] == 1:
        return 1.0 / S
    return np.linalg.inv(S)


def tr_prod(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """tr(A B) for batches of (p, p) matrices."""
    if A.shape[1] == 1:
        return cast("np.ndarray", A[:, 0, 0] * B[:, 0, 0])
    return cast("np.ndarray", np.einsum("bpq,bqp->b", A, B))


def wls(y: np.ndarray, X: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted least squares per row: returns (coef (B,p), residuals (B,k), S^{-1} (B,p,p))."""
    S_inv = inv(xtdx(X, a))
    if X.shape[2] == 1:
        x = X[:, :, 0]
        coef = (S_inv[:, 0, 0] * np.einsum("bk,bk->b", x * a, y))[:, None]
        resid = y - x * coef
    else:
        coef = np.einsum("bpq,bq->bp", S_inv, np.einsum("bkp,bk->bp", X, a * y))
        resid = y - np.einsum("bkp,bp->bk", X, coef)
    return coef, resid, S_inv


class Projection:
    """Traces and quadratic forms of P_A = A - A X (X'AX)^{-1} X'A (A = diag(a)), per row."""

    def __init__(self, y: np.ndarray, X: np.ndarray, a: np.ndarray):
        self.X, self.a = X, a
        self.coef, self.resid, self.S_inv = wls(y, X, a)
        self.a2 = a * a
        self._M2: np.ndarray | None = None

    @property
    def M2(self) -> np.ndarray:
        if self._M2 is None:
            self._M2 = (
                self.S_inv @ xtdx(self.X, self.a2)
                if self.X.shape[2] > 1
                else self.S_inv * xtdx(self.X, self.a2)
            )
        return self._M2

    def _sm(self, d: Any) -> np.ndarray:
        S = xtdx(self.X, d)
        return cast("np.ndarray", self.S_inv @ S if self.X.shape[2] > 1 else self.S_inv * S)

    def quad(self) -> np.ndarray:  # y' P y
        return cast("np.ndarray", np.einsum("bk,bk->b", self.a, self.resid**2))

    def tr_p(self) -> np.ndarray:
        return cast("np.ndarray", self.a.sum(1) - _trace(self.M2))

    def tr_pp(self) -> np.ndarray:
        return cast(
            "np.ndarray",
            self.a2.sum(1) - 2 * _trace(self._sm(self.a2 * self.a)) + tr_prod(self.M2, self.M2),
        )

    def tr_pv(self, v: Any) -> np.ndarray:
        return cast("np.ndarray", (self.a * v).sum(1) - _trace(self._sm(self.a2 * v)))

    def tr_pvpv(self, v: Any) -> np.ndarray:
        M1 = self._sm(self.a2 * v)
        return cast(
            "np.ndarray",
            (self.a2 * v * v).sum(1)
            - 2 * _trace(self._sm(self.a2 * self.a * v * v))
            + tr_prod(M1, M1),
        )

    def tr_ppv(self, v: Any) -> np.ndarray:
        M1 = self._sm(self.a2 * v)
        return cast(
            "np.ndarray",
            (self.a2 * v).sum(1)
            - 2 * _trace(self._sm(self.a2 * self.a * v))
            + tr_prod(self.M2, M1),
        )


def _trace(M: np.ndarray) -> np.ndarray:
    return M[:, 0, 0] if M.shape[1] == 1 else np.trace(M, axis1=1, axis2=2)


def logdet(S: np.ndarray) -> np.ndarray:
    if S.shape[1] == 1:
        return cast("np.ndarray", np.log(S[:, 0, 0]))
    return cast("np.ndarray", np.linalg.slogdet(S)[1])


# ----------------------------------------------------------------------------- likelihood
def _lik_state_general(
    y: Any, v: Any, m: Any, X: Any, tau2: Any, reml: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Log-likelihood (up to constants), score, Fisher information and Hessian at tau2.

    ML (profile over beta):  l = -1/2 sum log(v+tau2) - 1/2 y'Py
    REML:                    l_R = l - 1/2 log det(X'WX)
    score = 1/2 (y'PPy - tr W)  [ML, tr W = sum w]   or   1/2 (y'PPy - tr P)  [REML]
    Fisher information = 1/2 sum w^2 [ML]  or  1/2 tr PP [REML]
    second derivative  = Fisher information - y'PPPy   (observed information with sign flipped)
    with W = diag(1/(v+tau2)), P the REML projection, Py = W r and
    y'PPPy = sum w^3 r^2 - (X'W^2 r)' (X'WX)^{-1} (X'W^2 r).
    """
    w = m / (v + tau2[:, None])
    coef, r, S_inv = wls(y, X, w)
    wr = w * r
    ypppy_a = np.einsum("bk,bk->b", wr * w, wr)  # sum w^3 r^2
    if X.shape[2] == 1:
        g = np.einsum("bk,bk->b", X[:, :, 0], w * wr)
        ypppy = ypppy_a - S_inv[:, 0, 0] * g * g
    else:
        g = np.einsum("bkp,bk->bp", X, w * wr)
        ypppy = ypppy_a - np.einsum("bp,bpq,bq->b", g, S_inv, g)
    yppy = np.einsum("bk,bk->b", wr, wr)
    quad = np.einsum("bk,bk->b", wr, r)
    with np.errstate(divide="ignore"):
        ll = -0.5 * np.where(m > 0, np.log(v + tau2[:, None]), 0.0).sum(1) - 0.5 * quad
    w2 = w * w
    if reml:
        if X.shape[2] == 1:
            x = X[:, :, 0]
            s = 1.0 / S_inv[:, 0, 0]
            m2 = np.einsum("bk,bk->b", w2 * x, x) * S_inv[:, 0, 0]
            m3 = np.einsum("bk,bk->b", w2 * w * x, x) * S_inv[:, 0, 0]
            trp = w.sum(1) - m2
            trpp = w2.sum(1) - 2 * m3 + m2 * m2
            ll = ll - 0.5 * np.log(s)
        else:
            M2 = S_inv @ xtdx(X, w2)
            M3 = S_inv @ xtdx(X, w2 * w)
            trp = w.sum(1) - np.trace(M2, axis1=1, axis2=2)
            trpp = w2.sum(1) - 2 * np.trace(M3, axis1=1, axis2=2) + tr_prod(M2, M2)
            ll = ll + 0.5 * logdet(S_inv)
        score = 0.5 * (yppy - trp)
        info = 0.5 * trpp
    else:
        score = 0.5 * (yppy - w.sum(1))
        info = 0.5 * w2.sum(1)
    hess = info - ypppy  # d^2 l / d(tau2)^2
    return ll, score, info, hess


def _lik_state_int(
    y: Any, v: Any, m: Any, tau2: Any, reml: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_lik_state` for the intercept-only model (X = the presence mask), elementwise only.

    With mu = sum w y / sum w and r = y - mu: y'Py = sum w r^2, y'PPy = sum w^2 r^2,
    y'PPPy = sum w^3 r^2 - (sum w^2 r)^2 / sum w, tr P = sum w - sum w^2 / sum w,
    tr PP = sum w^2 - 2 sum w^3 / sum w + (sum w^2 / sum w)^2, log det X'WX = log sum w.
    """
    vt = v + tau2[:, None]
    w = m / vt
    sw = w.sum(1)
    mu = np.einsum("bk,bk->b", w, y) / sw
    r = y - mu[:, None]
    wr = w * r
    w2r = w * wr
    yppy = np.einsum("bk,bk->b", wr, wr)
    quad = np.einsum("bk,bk->b", wr, r)
    ypppy = np.einsum("bk,bk->b", w2r, wr) - w2r.sum(1) ** 2 / sw
    w2 = w * w
    s2 = w2.sum(1)
    ll = -0.5 * np.einsum("bk,bk->b", m, np.log(vt)) - 0.5 * quad
    if reml:
        s3 = np.einsum("bk,bk->b", w2, w)
        q = s2 / sw
        trp = sw - q
        info = 0.5 * (s2 - 2 * s3 / sw + q * q)
        score = 0.5 * (yppy - trp)
        ll = ll - 0.5 * np.log(sw)
    else:
        info = 0.5 * s2
        score = 0.5 * (yppy - sw)
    return ll, score, info, info - ypppy


def fit_likelihood(
    y: Any,
    v: Any,
    m: Any,
    X: Any,
    init: Any,
    reml: bool,
    tol: float = TOL,
    maxiter: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maximise the (restricted) likelihood in tau2 >= 0 for every row of the batch.

    Newton-Raphson on the score where the log-likelihood is locally concave and the Newton
    step points uphill, Fisher scoring (the algorithm of metafor's ``rma.uni``) otherwise;
    steps that would leave tau2 >= 0 are projected onto the boundary, and a step that lowers
    the log-likelihood is halved (up to 60 times).  A row stops when
    |tau2_new - tau2| <= tol * (1 + tau2); at the boundary tau2 = 0 it stops when the score
    there is <= 0 (the Karush-Kuhn-Tucker condition).  Finally, as metafor's ``ll0check``,
    tau2 is set to 0 where the log-likelihood at 0 exceeds the value at the interior optimum.

    Returns (tau2, converged, iterations) as (B,) arrays.
    """
    maxiter = MAXITER if maxiter is None else maxiter
    B = y.shape[0]
    tau2 = np.maximum(np.asarray(init, dtype=float).copy(), 0.0)
    converged = np.zeros(B, dtype=bool)
    iterations = np.zeros(B, dtype=np.int64)
    idx = np.arange(B)
    intercept_only = X.shape[2] == 1 and np.array_equal(X[:, :, 0], m)
    if intercept_only:
        # fast path, same quantities
        def _lik_state(
            y: Any, v: Any, m: Any, X: Any, tau2: Any, reml: bool
        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
            return _lik_state_int(y, v, m, tau2, reml)

        X = np.empty((B, 0, 0))  # not needed on the fast path
    else:
        _lik_state = _lik_state_general
    ll_zero = _lik_state(y, v, m, X, np.zeros(B), reml)[0]
    ll_final = np.empty(B)
    ys, vs, ms, Xs, ts = y, v, m, X, tau2.copy()
    ll, score, info, hess = _lik_state(ys, vs, ms, Xs, ts, reml)
    for it in range(1, maxiter + 1):
        fisher = score / info
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = -score / hess
        use_newton = (hess < 0) & (newton * fisher > 0)
        step = np.where(use_newton, newton, fisher)
        cand = np.maximum(ts + step, 0.0)
        ll_c, sc_c, in_c, he_c = _lik_state(ys, vs, ms, Xs, cand, reml)
        worse = ll_c < ll - 1e-13 * (1.0 + np.abs(ll))
        halvings = 0
        while worse.any() and halvings < 60:
            halvings += 1
            j = np.nonzero(worse)[0]
            step[j] *= 0.5
            cand[j] = np.maximum(ts[j] + step[j], 0.0)
            sub = _lik_state(ys[j], vs[j], ms[j], Xs[j], cand[j], reml)
            ll_c[j], sc_c[j], in_c[j], he_c[j] = sub
            worse[j] = sub[0] < ll[j] - 1e-13 * (1.0 + np.abs(ll[j]))
        change = np.abs(cand - ts)
        done = (change <= tol * (1.0 + cand)) | ((cand == 0.0) & (sc_c <= 0.0) & (ts == 0.0))
        ts, ll, score, info, hess = cand, ll_c, sc_c, in_c, he_c
        iterations[idx] = it
        if done.any():
            tau2[idx[done]] = ts[done]
            ll_final[idx[done]] = ll[done]
            converged[idx[done]] = True
            keep = ~done
            idx = idx[keep]
            if idx.size == 0:
                break
            ys, vs, ms, Xs = ys[keep], vs[keep], ms[keep], Xs[keep] if Xs.shape[0] else Xs
            ts, ll, score, info, hess = ts[keep], ll[keep], score[keep], info[keep], hess[keep]
    if idx.size:
        tau2[idx] = ts
        ll_final[idx] = ll
    # ll0check: the boundary can beat an interior local maximum (ll at 0 was computed first)
    better0 = (tau2 > 0) & (ll_zero > ll_final + 1e-12 * (1.0 + np.abs(ll_final)))
    tau2[better0] = 0.0
    return tau2, converged, iterations


def loglik(y: Any, v: Any, m: Any, X: Any, tau2: Any, reml: bool) -> np.ndarray:
    """Full log-likelihood as metafor reports it (``REMLf = TRUE`` constants included)."""
    k = m.sum(1)
    p = X.shape[2]
    w = m / (v + tau2[:, None])
    _, r, S_inv = wls(y, X, w)
    ll = (
        -0.5 * k * np.log(2 * np.pi)
        - 0.5 * np.where(m > 0, np.log(v + tau2[:, None]), 0).sum(1)
        - 0.5 * np.einsum("bk,bk->b", w * r, r)
    )
    if reml:
        ll = ll + 0.5 * p * np.log(2 * np.pi) + 0.5 * logdet(xtdx(X, m)) + 0.5 * logdet(S_inv)
    return cast("np.ndarray", ll)


def generalized_q(y: Any, v: Any, m: Any, X: Any, tau2: Any) -> tuple[np.ndarray, np.ndarray]:
    """Generalized Q(tau2) = y'P y with W = diag(1/(v+tau2)) and its derivative -y'PPy."""
    w = m / (v + tau2[:, None])
    _, r, _ = wls(y, X, w)
    wr = w * r
    return np.einsum("bk,bk->b", wr, r), -np.einsum("bk,bk->b", wr, wr)


def solve_q(
    y: Any,
    v: Any,
    m: Any,
    X: Any,
    target: Any,
    lo: Any,
    hi: Any,
    tol: float = TOL,
    maxiter: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Root of the decreasing function Q(tau2) - target in [lo, hi] for every row.

    Safeguarded Newton: a Newton step from the current point, replaced by bisection whenever
    it leaves the current bracket; the bracket shrinks with the sign of Q - target.  Used by
    the Paule-Mandel, median-unbiased PM and empirical-Bayes estimators and by the Q-profile
    confidence interval (Viechtbauer 2007).  Rows must satisfy Q(lo) >= target >= Q(hi).
    """
    maxiter = MAXITER if maxiter is None else maxiter
    B = y.shape[0]
    out = np.empty(B)
    conv = np.zeros(B, dtype=bool)
    iters = np.zeros(B, dtype=np.int64)
    idx = np.arange(B)
    lo = np.asarray(lo, dtype=float).copy()
    hi = np.asarray(hi, dtype=float).copy()
    t = lo.copy()
    target = np.asarray(target, dtype=float).copy()
    ys, vs, ms, Xs = y, v, m, X
    for it in range(1, maxiter + 1):
        q, dq = generalized_q(ys, vs, ms, Xs, t)
        f = q - target
        lo = np.where(f > 0, t, lo)
        hi = np.where(f <= 0, t, hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            nt = t - f / dq
        bad = ~np.isfinite(nt) | (nt <= lo) | (nt >= hi)
        nt = np.where(bad, 0.5 * (lo + hi), nt)
        done = (
            (np.abs(nt - t) <= tol * (1.0 + np.abs(nt)))
            | (hi - lo <= tol * (1.0 + np.abs(hi)))
            | (f == 0)
        )
        t = np.where(f == 0, t, nt)
        iters[idx] = it
        if done.any():
            out[idx[done]] = t[done]
            conv[idx[done]] = True
            keep = ~done
            idx = idx[keep]
            if idx.size == 0:
                break
            ys, vs, ms, Xs = ys[keep], vs[keep], ms[keep], Xs[keep]
            t, lo, hi, target = t[keep], lo[keep], hi[keep], target[keep]
    if idx.size:
        out[idx] = t
    return out, conv, iters


# ----------------------------------------------------------------------------- tau2 estimators
def centred(y: Any, m: Any) -> np.ndarray:
    """y minus its unweighted mean over the present studies (metafor's ``Ymc``)."""
    k = m.sum(1)
    return cast("np.ndarray", (y - (np.einsum("bk,bk->b", y, m) / k)[:, None]) * m)


def estimate_tau2(
    method: Any, y: Any, v: Any, m: Any, X: Any, weights: Any = None, tau2_fixed: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """tau^2, se(tau^2), converged, iterations for a random-effects method (formulas of metafor).

    * DL  (DerSimonian & Laird 1986):  (Q - (k-p)) / tr P,                    W = 1/v
    * HE  (Hedges 1983, Hedges & Olkin 1985): (RSS_OLS - tr(P_OLS V)) / (k-p)
    * HS  (Hunter & Schmidt 2004):     (Q - k) / sum(1/v)
    * HSk (Brannick et al. 2019):      (k/(k-p) Q - k) / sum(1/v)
    * SJ  (Sidik & Jonkman 2005): tau0^2 Q_0 / (k-p), tau0^2 = mean((y - ybar)^2),
          Q_0 with weights 1/(v + tau0^2)
    * ML, REML (Viechtbauer 2005): likelihood maximisation (see :func:`fit_likelihood`)
    * EB  (Morris 1983; Berkey et al. 1995) and PM (Paule & Mandel 1982; DerSimonian & Kacker
      2007): root of Q(tau2) = k - p; PMM (Viechtbauer's median-unbiased variant): root of
      Q(tau2) = chi^2_{k-p, 0.5}
    * GENQ (DerSimonian & Kacker 2007, generalized Q with user weights a):
          (Q_a - tr(P_a V)) / tr P_a
    All are truncated at 0.  se(tau^2) follows metafor 3.8 for each method.
    """
    B, k_max = y.shape
    p = X.shape[2]
    k = m.sum(1)
    dfr = k - p
    yc = centred(y, m)
    conv = np.ones(B, dtype=bool)
    iters = np.zeros(B, dtype=np.int64)
    fixed = tau2_fixed is not None
    tau2_0 = None
    if method in ("HS", "HSk", "DL"):
        a = m / v
        Pa = Projection(yc, X, a)
        rss = Pa.quad()
        if method == "DL":
            tau2 = (rss - dfr) / Pa.tr_p()
        elif method == "HS":
            tau2 = (rss - k) / a.sum(1)
        else:
            tau2 = (k / dfr * rss - k) / a.sum(1)
    elif method == "HE":
        Pa = Projection(yc, X, m.astype(float))
        tau2 = (Pa.quad() - Pa.tr_pv(v * m)) / dfr
    elif method == "GENQ":
        Pa = Projection(yc, X, weights)
        tau2 = (Pa.quad() - Pa.tr_pv(v * m)) / Pa.tr_p()
    elif method == "SJ":
        tau2_0 = np.einsum("bk,bk->b", yc, yc) / k
        a = m / (v + tau2_0[:, None])
        Pa = Projection(yc, X, a)
        tau2 = tau2_0 * Pa.quad() / dfr
    elif method in ("ML", "REML"):
        if fixed:
            tau2 = np.broadcast_to(tau2_fixed, (B,)).astype(float)
        else:
            he = Projection(yc, X, m.astype(float))
            init = np.maximum((he.quad() - he.tr_pv(v * m)) / dfr, 0.0)
            tau2, conv, iters = fit_likelihood(yc, v, m, X, init, reml=(method == "REML"))
    elif method in ("EB", "PM", "PMM"):
        if fixed:
            tau2 = np.broadcast_to(tau2_fixed, (B,)).astype(float)
        else:
            target = dfr.astype(float) if method != "PMM" else stats.chi2.ppf(0.5, dfr)
            q0, _ = generalized_q(yc, v, m, X, np.zeros(B))
            tau2 = np.zeros(B)
            need = np.nonzero(q0 >= target)[0]
            if need.size:
                _, r_ols, _ = wls(yc[need], X[need], m[need].astype(float))
                hi = np.einsum("bk,bk->b", r_ols, r_ols) / target[need] * (1 + 1e-9) + 1e-300
                root, c_, it_ = solve_q(
                    yc[need], v[need], m[need], X[need], target[need], np.zeros(need.size), hi
                )
                tau2[need], conv[need], iters[need] = root, c_, it_
    else:  # pragma: no cover - guarded by the callers
        raise ValueError(method)
    if fixed:
        tau2 = np.broadcast_to(tau2_fixed, (B,)).astype(float).copy()
    tau2 = np.maximum(tau2, 0.0)

    # se(tau2) as in metafor 3.8 (rma.uni)
    if method in ("HS", "HSk", "DL"):
        core = 2 * dfr + 4 * tau2 * Pa.tr_p() + 2 * tau2**2 * Pa.tr_pp()
        if method == "DL":
            se = np.sqrt(core) / Pa.tr_p()
        else:
            se = np.sqrt(core) / a.sum(1)
            if method == "HSk":
                se = k / dfr * se
    elif method == "HE":
        se = np.sqrt(2 * Pa.tr_pvpv(v * m) + 4 * tau2 * Pa.tr_pv(v * m) + 2 * tau2**2 * dfr) / dfr
    elif method == "GENQ":
        vv = v * m
        se = (
            np.sqrt(2 * Pa.tr_pvpv(vv) + 4 * tau2 * Pa.tr_ppv(vv) + 2 * tau2**2 * Pa.tr_pp())
            / Pa.tr_p()
        )
    elif method == "SJ":
        vv = v * m
        se = (
            tau2_0
            / dfr
            * np.sqrt(2 * Pa.tr_pvpv(vv) + 4 * tau2 * Pa.tr_ppv(vv) + 2 * tau2**2 * Pa.tr_pp())
        )
    elif method == "ML":
        w = m / (v + tau2[:, None])
        se = np.sqrt(2 / (w * w).sum(1))
    elif method == "REML":
        w = m / (v + tau2[:, None])
        se = np.sqrt(2 / Projection(yc, X, w).tr_pp())
    else:  # EB, PM, PMM
        w = m / (v + tau2[:, None])
        se = np.sqrt(2 * k**2 / dfr / w.sum(1) ** 2)
    return tau2, se, conv, iters


# ----------------------------------------------------------------------------- the full fit
def fit(
    y: Any,
    v: Any,
    m: Any,
    X: Any,
    *,
    method: Any,
    test: Any,
    level: Any,
    weights: Any = None,
    tau2_fixed: Any = None,
    btt: Any = None,
) -> dict[str, Any]:
    """Fit the model for every row; returns a dict of (B, ...) arrays (metafor's rma.uni)."""
    B, kk = y.shape
    p = X.shape[2]
    mf = m.astype(float)
    k = mf.sum(1)
    dfr = k - p
    R_inv = None
    if p > 1:
        # Work in an orthonormal basis of the column space (X = QR): every tau^2 estimator and Q
        # depends on X only through that space, and Q'WQ is far better conditioned than X'WX
        # (e.g. an intercept next to calendar years); coefficients are mapped back with R^{-1}.
        X, R = np.linalg.qr(X)
        R_inv = np.linalg.inv(R)
    if method in ("EE", "FE"):
        tau2 = np.zeros(B)
        se_tau2 = np.full(B, np.nan)
        conv = np.ones(B, dtype=bool)
        iters = np.zeros(B, dtype=np.int64)
    else:
        tau2, se_tau2, conv, iters = estimate_tau2(method, y, v, mf, X, weights, tau2_fixed)

    w = mf / (v + tau2[:, None])
    coef, resid, S_inv = wls(y, X, w)
    rss_knha = np.einsum("bk,bk->b", w * resid, resid)
    if weights is not None:
        coef, _, SA_inv = wls(y, X, weights)
        meat = xtdx(X, weights * weights * (v + tau2[:, None]) * mf)
        vb = SA_inv @ meat @ SA_inv
    else:
        vb = S_inv.copy()
    if R_inv is not None:
        coef = np.einsum("bpq,bq->bp", R_inv, coef)
        vb = R_inv @ vb @ np.swapaxes(R_inv, 1, 2)
    if test in ("knha", "adhoc"):
        s2w = np.where(rss_knha <= np.finfo(float).eps, 0.0, rss_knha / dfr)
        if test == "adhoc":
            s2w = np.maximum(s2w, 1.0)
        vb = vb * s2w[:, None, None]
        ddf = dfr
    else:
        s2w = np.ones(B)
        ddf = None
    se = np.sqrt(np.diagonal(vb, axis1=1, axis2=2))
    zval = coef / se
    alpha = 1 - level
    if ddf is not None:
        pval = 2 * stats.t.sf(np.abs(zval), ddf[:, None])
        crit = stats.t.isf(alpha / 2, ddf)
    else:
        pval = 2 * special.ndtr(-np.abs(zval))
        crit = np.full(B, stats.norm.isf(alpha / 2))
    ci_low = coef - crit[:, None] * se
    ci_high = coef + crit[:, None] * se

    # heterogeneity: QE with W = 1/v on the centred outcomes, vt = (k-p)/tr P_FE
    a = mf / v
    Pfe = Projection(centred(y, mf), X, a)
    qe = np.maximum(Pfe.quad(), 0.0)
    qe_p = stats.chi2.sf(qe, dfr)
    vt = dfr / Pfe.tr_p()
    if method in ("EE", "FE"):
        with np.errstate(divide="ignore", invalid="ignore"):
            i2 = np.where(qe > 0, np.maximum(0.0, 100 * (qe - dfr) / qe), 0.0)
        h2 = qe / dfr
    else:
        i2 = 100 * tau2 / (vt + tau2)
        h2 = tau2 / vt + 1
    out = dict(
        coef=coef,
        se=se,
        vb=vb,
        zval=zval,
        pval=pval,
        ci_low=ci_low,
        ci_high=ci_high,
        crit=crit,
        ddf=ddf,
        tau2=tau2,
        se_tau2=se_tau2,
        i2=i2,
        h2=h2,
        qe=qe,
        qe_df=dfr,
        qe_pval=qe_p,
        vt=vt,
        k=k.astype(np.int64),
        p=p,
        converged=conv,
        iterations=iters,
        s2w=s2w,
        w=w,
    )
    # omnibus test of the coefficients in btt (metafor's QM)
    if btt is not None and len(btt):
        b = coef[:, btt]
        V = vb[:, btt][:, :, btt]
        qm = np.einsum("bp,bp->b", b, np.linalg.solve(V, b[:, :, None])[:, :, 0])
        m_ = len(btt)
        if ddf is not None:
            qm = qm / m_
            qm_p = stats.f.sf(qm, m_, ddf)
            qm_df = (m_, ddf)
        else:
            qm_p = stats.chi2.sf(qm, m_)
            qm_df = (m_, None)
        out.update(qm=qm, qm_pval=qm_p, qm_df=qm_df)
    return out
