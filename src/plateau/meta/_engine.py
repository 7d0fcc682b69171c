"""Vectorised fitting engine of the (mixed-effects) random-effects model.

Model (Raudenbush 2009; Viechtbauer 2005, 2010): y_i = x_i' beta + u_i + e_i with
e_i ~ N(0, v_i) (known sampling variances) and u_i ~ N(0, tau^2).  Everything here works on a
batch: ``y``, ``v`` and ``m`` are (B, k) arrays (``m`` = 1 where a study is present, 0 where it
is absent), ``X`` is (B, k, p) with zero rows for absent studies.  No Python loop runs over
the analyses of a batch; the iterative estimators iterate over the whole batch at once and
drop converged rows from the work set.

For a diagonal weight matrix A = diag(a) the projection P_A = A - A X (X'AX)^{-1} X'A is never
formed for the intercept-only model: every quantity an estimator needs is a
trace or a quadratic form of P_A.  The expanded forms

    tr P_A       = sum a   - tr(S^{-1} X'A^2X),                       S = X'AX
    tr P_A P_A   = sum a^2 - 2 tr(S^{-1} X'A^3X) + tr((S^{-1} X'A^2X)^2)
    tr P_A V     = sum a v - tr(S^{-1} X'A^2VX)
    tr P_A V P_A V = sum a^2v^2 - 2 tr(S^{-1} X'A^3V^2X) + tr((S^{-1} X'A^2VX)^2)
    tr P_A P_A V = sum a^2 v - 2 tr(S^{-1} X'A^3VX) + tr(S^{-1} X'A^2X S^{-1} X'A^2VX)
    y'P_A y      = sum a r^2,  r = y - X b_A  (weighted least-squares residuals)

cancel catastrophically when one weight is ~1e8 times the next (one dominant study), so the
engine computes the same traces as sums of nonnegative terms instead (:class:`_InterceptTraces`,
:class:`_ComplementTraces`, tested against mpmath for variance ratios up to 1e14).
These are the quantities metafor's ``rma.uni`` (Viechtbauer 2010, version 3.8) computes with
k x k matrices; the conventions (centred y in the tau^2 estimators, truncation at 0, the
estimator-specific I^2/H^2 and se(tau^2)) follow that function.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special, stats

RE_METHODS = ("DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM", "PMM", "GENQ")
METHODS = ("EE", "FE") + RE_METHODS
TESTS = ("z", "knha", "adhoc")
PREDICTIONS = ("metafor", "t_k1", "t_k2")

TOL = 1e-12  # relative change in tau^2 at which the iterative estimators stop
MAXITER = 500  # iteration cap (Newton with Fisher-scoring fallback needs < 20 in practice)


# ----------------------------------------------------------------------------- linear algebra
def xtdx(X: np.ndarray, d: np.ndarray) -> Any:
    """X' diag(d) X for every row of the batch: (B, k, p), (B, k) -> (B, p, p)."""
    if X.shape[2] == 1:
        x = X[:, :, 0]
        return np.einsum("bk,bk->b", x * d, x)[:, None, None]
    return np.einsum("bkp,bkq->bpq", X * d[:, :, None], X)


def inv(S: np.ndarray) -> Any:
    """Inverse of a batch of symmetric positive-definite (p, p) matrices."""
    if S.shape[1] == 1:
        return 1.0 / S
    return np.linalg.inv(S)


def tr_prod(A: np.ndarray, B: np.ndarray) -> Any:
    """tr(A B) for batches of (p, p) matrices."""
    if A.shape[1] == 1:
        return A[:, 0, 0] * B[:, 0, 0]
    return np.einsum("bpq,bqp->b", A, B)


def wls(y: np.ndarray, X: np.ndarray, a: np.ndarray, intercept: bool = False) -> Any:
    """Weighted least squares per row: returns (coef (B,p), residuals (B,k), S^{-1} (B,p,p)).

    p = 1: closed form (``intercept``: X is the presence mask and a vanishes for absent
    studies, so sum a and sum a y suffice; residuals of absent studies are then not 0 but
    carry no weight).  p > 1: Householder QR of A^(1/2) X with the rows sorted by decreasing
    weight (row-wise backward stable, Powell & Reid 1969; Cox & Higham 1998), coef = R^{-1}
    Q'A^(1/2) y and S^{-1} = (X'AX)^{-1} = R^{-1} R^{-T}; the normal equations would lose
    about log10(max a / min a) digits when one study dominates.
    """
    if intercept:  # X = the presence mask and a = 0 for absent studies
        sa = a.sum(1)
        coef = (np.einsum("bk,bk->b", a, y) / sa)[:, None]
        return coef, y - coef, (1.0 / sa)[:, None, None]
    if X.shape[2] == 1:
        S_inv = inv(xtdx(X, a))
        x = X[:, :, 0]
        coef = (S_inv[:, 0, 0] * np.einsum("bk,bk->b", x * a, y))[:, None]
        resid = y - x * coef
        return coef, resid, S_inv
    order = np.argsort(-a, axis=1, kind="stable")
    sq = np.sqrt(np.take_along_axis(a, order, axis=1))
    Z = sq[:, :, None] * np.take_along_axis(X, order[:, :, None], axis=1)
    Q, R = np.linalg.qr(Z)
    R_inv = np.linalg.inv(R)
    qty = np.einsum("bkp,bk->bp", Q, sq * np.take_along_axis(y, order, axis=1))
    coef = np.einsum("bpq,bq->bp", R_inv, qty)
    resid = y - np.einsum("bkp,bp->bk", X, coef)
    S_inv = R_inv @ np.swapaxes(R_inv, 1, 2)
    return coef, resid, S_inv


def sum_others(x: np.ndarray, top: np.ndarray | None = None) -> Any:
    """s_i = sum_{j != i} x_j for nonnegative x (B, k), without cancellation.

    ``x.sum() - x_i`` loses every digit when x_i dominates (one study 1e10 times more precise
    than the rest); here the largest entry's complement is summed directly, and every other
    entry has x_i <= x_max, so sum - x_i >= sum / 2 is well conditioned.  ``top`` (B, k)
    boolean may mark the largest entry of each row (one per row) when it is known already.
    """
    if top is None:
        top = np.zeros(x.shape, dtype=bool)
        top[np.arange(x.shape[0]), np.argmax(x, axis=1)] = True
    total = x.sum(1)
    rest = np.einsum("bk,bk->b", x, ~top)
    return np.where(top, rest[:, None], total[:, None] - x)


def top_study(v: np.ndarray, m: np.ndarray) -> Any:
    """(B, k) boolean marking each row's most precise present study (largest weight at any tau2)."""
    top = np.zeros(v.shape, dtype=bool)
    top[np.arange(v.shape[0]), np.argmin(np.where(m > 0, v, np.inf), axis=1)] = True
    return top


class _InterceptTraces:
    """Traces of P_A for the intercept-only model, in forms that do not cancel.

    With S = sum a, P_ii = a_i S_(-i) / S and P_ij = -a_i a_j / S (i != j), where
    S_(-i) = sum_{j != i} a_j (:func:`sum_others`).  Hence, with T_(-i) = sum_{j != i} a_j^2
    and U_(-i) = sum_{j != i} a_j^2 v_j,

        tr P      = sum_i a_i S_(-i) / S
        tr PP     = sum_i a_i^2 (S_(-i)^2 + T_(-i)) / S^2
        tr PV     = sum_i a_i v_i S_(-i) / S
        tr PPV    = sum_i v_i a_i^2 (S_(-i)^2 + T_(-i)) / S^2
        tr PVPV   = sum_i a_i^2 v_i (v_i S_(-i)^2 + U_(-i)) / S^2

    The first two are evaluated with row sums only.  With j the study of largest weight
    (``top``), S_o, T_o, Q_o the sums of a, a^2, a^4 over the other studies:

        tr P  = (S_o (S + a_j) - T_o) / S                       (S_o S - T_o >= S_o S / 2)
        tr PP = (sum_{i != j} a_i^2 (S - a_i)^2 + a_j^2 (S_o^2 + 2 T_o) + T_o^2 - Q_o) / S^2

    (T_o^2 - Q_o >= 0 can lose digits only relative to T_o^2 <= (k - 1) a_j^2 T_o, i.e.
    relative to the whole).  Every other term is a sum of nonnegative numbers, so the relative
    error stays at a few ulps whatever the spread of the weights (the expanded forms
    sum a - sum a^2 / sum a etc. lose all digits once one weight is ~1e8 times the next).
    """

    def __init__(self, a: np.ndarray, top: np.ndarray | None = None, unit: bool = False) -> None:
        # unit: a is the 0/1 presence mask (equal weights), so S_(-i) = k - 1 exactly
        self.a, self.unit = a, unit
        self.S = a.sum(1)
        self.a2 = a if unit else a * a
        self._top: Any = top
        self._sums: Any = None
        self._So: Any = None

    @property
    def top(self) -> Any:
        if self._top is None:
            self._top = np.zeros(self.a.shape, dtype=bool)
            self._top[np.arange(self.a.shape[0]), np.argmax(self.a, axis=1)] = True
        return self._top

    @property
    def sums(self) -> Any:  # S_o, T_o, a_j and the mask of the other studies
        if self._sums is None:
            rest = ~self.top
            self._sums = (
                np.einsum("bk,bk->b", self.a, rest),
                np.einsum("bk,bk->b", self.a2, rest),
                np.einsum("bk,bk->b", self.a, self.top),
                rest,
            )
        return self._sums

    @property
    def So(self) -> Any:  # S_(-i), per study
        if self._So is None:
            if self.unit:
                self._So = (self.S - 1.0)[:, None] * self.a
            else:
                self._So = sum_others(self.a, self.top)
        return self._So

    def tr_p(self) -> Any:
        S_o, T_o, a_j, _ = self.sums
        return (S_o * (self.S + a_j) - T_o) / self.S

    def tr_pp(self) -> Any:
        S_o, T_o, a_j, rest = self.sums
        d = self.a * (self.S[:, None] - self.a)
        q_o = np.einsum("bk,bk->b", self.a2 * self.a2, rest)
        aj2 = a_j * a_j
        num = np.einsum("bk,bk,bk->b", d, d, rest) + aj2 * (S_o * S_o + 2 * T_o) + (T_o * T_o - q_o)
        return num / (self.S * self.S)

    def _core(self) -> Any:  # a_i^2 (S_(-i)^2 + T_(-i)) / S^2, per study
        others2 = self.So if self.unit else sum_others(self.a2, self.top)
        return self.a2 * (self.So**2 + others2) / (self.S**2)[:, None]

    def tr_pv(self, v: Any) -> Any:
        if self.unit:  # equal weights: (k - 1)/k sum v
            return (self.S - 1.0) / self.S * np.einsum("bk,bk->b", self.a, v)
        return np.einsum("bk,bk->b", self.a * v, self.So) / self.S

    def tr_ppv(self, v: Any) -> Any:
        return np.einsum("bk,bk->b", self._core(), v)

    def tr_pvpv(self, v: Any) -> Any:
        if self.unit:
            # equal weights: ((k^2 - 2k) sum v^2 + (sum v)^2) / k^2, the second term being
            # sum_i v_i U_(-i) + sum v^2; every part is nonnegative and (sum v)^2 - sum v^2 can
            # lose digits only relative to k sum v^2, i.e. relative to the whole
            k = self.S
            sv = np.einsum("bk,bk->b", self.a, v)
            sv2 = np.einsum("bk,bk,bk->b", self.a, v, v)
            return ((k * k - 2 * k) * sv2 + sv * sv) / (k * k)
        a2v = self.a2 * v
        return np.einsum("bk,bk->b", a2v, v * self.So**2 + sum_others(a2v)) / self.S**2


class _ComplementTraces:
    """Traces of P_A for a general X through an orthonormal basis of the residual space.

    With Z = A^(1/2) X and a complete QR factorisation Z = [Q1 Q2] R, the columns of Q2 span
    the orthogonal complement of Z's column space, so P_A = C C' with C = A^(1/2) Q2, and

        tr P = ||C||_F^2,  tr PP = ||C'C||_F^2,  tr PV = sum_i v_i ||C_i||^2,
        tr PVPV = ||C'VC||_F^2,  tr PPV = tr(C'VC C'C).

    Every trace is a sum of squares, free of the cancellation of sum a - tr((X'AX)^-1 X'A^2X)
    when one weight is many orders of magnitude above the rest.  The rows are sorted by
    decreasing weight before the Householder QR, which makes it row-wise backward stable
    (Powell & Reid 1969; Cox & Higham 1998), so the small entries of C for a dominant study
    keep their relative accuracy.  Costs O(k^2 p + k (k-p)^2) per row.
    """

    def __init__(self, a: np.ndarray, X: np.ndarray) -> None:
        order = np.argsort(-a, axis=1, kind="stable")
        a_s = np.take_along_axis(a, order, axis=1)
        X_s = np.take_along_axis(X, order[:, :, None], axis=1)
        sq = np.sqrt(a_s)
        Q = np.linalg.qr(sq[:, :, None] * X_s, mode="complete")[0]
        p = X.shape[2]
        # absent studies (a = 0) are zero rows: their basis columns carry no weight in C
        self.C = sq[:, :, None] * Q[:, :, p:]
        self.order = order
        self._CtC: Any = None

    @property
    def CtC(self) -> Any:
        if self._CtC is None:
            self._CtC = np.einsum("bki,bkj->bij", self.C, self.C)
        return self._CtC

    def _v(self, v: Any) -> Any:
        return np.take_along_axis(v, self.order, axis=1)

    def tr_p(self) -> Any:
        return np.einsum("bki,bki->b", self.C, self.C)

    def tr_pp(self) -> Any:
        return np.einsum("bij,bij->b", self.CtC, self.CtC)

    def tr_pv(self, v: Any) -> Any:
        return np.einsum("bk,bki,bki->b", self._v(v), self.C, self.C)

    def _cvc(self, v: Any) -> Any:
        return np.einsum("bki,bk,bkj->bij", self.C, self._v(v), self.C)

    def tr_pvpv(self, v: Any) -> Any:
        M = self._cvc(v)
        return np.einsum("bij,bij->b", M, M)

    def tr_ppv(self, v: Any) -> Any:
        return np.einsum("bij,bji->b", self._cvc(v), self.CtC)


class Projection:
    """Traces and quadratic forms of P_A = A - A X (X'AX)^{-1} X'A (A = diag(a)), per row.

    Traces come from :class:`_InterceptTraces` for the intercept-only model (X a single 0/1
    presence column) and from :class:`_ComplementTraces` otherwise; neither cancels when one
    study dominates (the expanded (B, p, p) forms of the module docstring do).
    """

    def __init__(
        self,
        y: Any,
        X: Any,
        a: Any,
        top: Any = None,
        intercept: bool | None = None,
        unit: bool = False,
    ) -> None:
        # intercept: X is the presence mask (None: detect); unit: a is that mask too
        self.X, self.a = X, a
        if intercept is None:
            x = X[:, :, 0] if X.shape[2] == 1 else None
            intercept = x is not None and bool(np.all((x == 0) | (x == 1)))
            if intercept:
                a = self.a = a * x
        if intercept:
            self.coef, self.resid, self.S_inv = wls(y, X, a, intercept=True)
            self._tr: _InterceptTraces | _ComplementTraces = _InterceptTraces(a, top, unit)
        else:
            self.coef, self.resid, self.S_inv = wls(y, X, a)
            self._tr = _ComplementTraces(a, X)

    def quad(self) -> Any:  # y' P y
        return np.einsum("bk,bk->b", self.a, self.resid**2)

    def tr_p(self) -> Any:
        return self._tr.tr_p()

    def tr_pp(self) -> Any:
        return self._tr.tr_pp()

    def tr_pv(self, v: Any) -> Any:
        return self._tr.tr_pv(v)

    def tr_pvpv(self, v: Any) -> Any:
        return self._tr.tr_pvpv(v)

    def tr_ppv(self, v: Any) -> Any:
        return self._tr.tr_ppv(v)


def _trace(M: np.ndarray) -> Any:
    return M[:, 0, 0] if M.shape[1] == 1 else np.trace(M, axis1=1, axis2=2)


def logdet(S: np.ndarray) -> Any:
    if S.shape[1] == 1:
        return np.log(S[:, 0, 0])
    return np.linalg.slogdet(S)[1]


# ----------------------------------------------------------------------------- likelihood
def _lik_state_general(
    y: Any, v: Any, m: Any, X: Any, tau2: Any, reml: bool, full: bool = True
) -> Any:
    """Log-likelihood (up to constants), score, Fisher information and Hessian at tau2, and
    the convex part c = -1/2 sum log(v + tau2) of the log-likelihood with its derivative
    c' = -1/2 sum w (the difference-of-convex split of :func:`_certify_global`).

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
    sw = w.sum(1)
    ypppy_a = np.einsum("bk,bk->b", wr * w, wr)  # sum w^3 r^2
    if X.shape[2] == 1:
        g = np.einsum("bk,bk->b", X[:, :, 0], w * wr)
        ypppy = ypppy_a - S_inv[:, 0, 0] * g * g
        ppy = w * (wr - X[:, :, 0] * (S_inv[:, 0, 0] * g)[:, None])
    else:
        g = np.einsum("bkp,bk->bp", X, w * wr)
        ypppy = ypppy_a - np.einsum("bp,bpq,bq->b", g, S_inv, g)
        ppy = w * (wr - np.einsum("bkp,bpq,bq->bk", X, S_inv, g))
    y4 = np.einsum("bk,bk->b", ppy, ppy)  # y'P^4 y = |P P y|^2, P P y = W (u - X b_u), u = W r
    yppy = np.einsum("bk,bk->b", wr, wr)
    quad = np.einsum("bk,bk->b", wr, r)
    with np.errstate(divide="ignore"):
        c = -0.5 * np.where(m > 0, np.log(v + tau2[:, None]), 0.0).sum(1)
    ll = c - 0.5 * quad
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
            ct = _ComplementTraces(w, X)  # no cancellation when one study dominates
            trp = ct.tr_p()
            trpp = ct.tr_pp()
            ll = ll + 0.5 * logdet(S_inv)
        score = 0.5 * (yppy - trp)
        info = 0.5 * trpp
    else:
        score = 0.5 * (yppy - sw)
        info = 0.5 * w2.sum(1)
    hess = info - ypppy  # d^2 l / d(tau2)^2
    if not full:
        return ll, score, info, hess
    t3_hi = np.einsum("bk,bk->b", w2, w)  # sum w^3 >= tr P^3
    t3_lo = trpp * trpp / trp if reml else t3_hi  # tr P^3 >= (tr PP)^2 / tr P
    if reml:  # the convex part of the REML split: l_R + Q/2 = -1/2 log det N'(V + t I)N + const
        return (
            ll,
            score,
            info,
            hess,
            ll + 0.5 * quad,
            -0.5 * trp,
            quad,
            yppy,
            info,
            y4,
            t3_lo,
            t3_hi,
        )
    return ll, score, info, hess, c, -0.5 * sw, quad, yppy, 0.5 * w2.sum(1), y4, t3_lo, t3_hi


def _lik_state_int(y: Any, v: Any, m: Any, tau2: Any, reml: bool, top: Any = None) -> Any:
    """:func:`_lik_state` for the intercept-only model (X = the presence mask), elementwise only.

    With mu = sum w y / sum w, r = y - mu and u = w r: y'Py = sum w r^2, y'PPy = sum u^2,
    y'PPPy = sum w (u - u_bar)^2 with u_bar = sum w u / sum w, log det X'WX = log sum w, and
    tr P, tr PP from :class:`_InterceptTraces` (sums of nonnegative terms: exact when one
    study dominates).  ``top`` marks each row's most precise study (:func:`top_study`).
    """
    vt = v + tau2[:, None]
    w = m / vt
    sw = w.sum(1)
    mu = np.einsum("bk,bk->b", w, y) / sw
    r = y - mu[:, None]
    wr = w * r
    yppy = np.einsum("bk,bk->b", wr, wr)
    quad = np.einsum("bk,bk->b", wr, r)
    ubar = np.einsum("bk,bk->b", w, wr) / sw
    du = wr - ubar[:, None]
    ypppy = np.einsum("bk,bk->b", w * du, du)
    ll = -0.5 * np.einsum("bk,bk->b", m, np.log(vt)) - 0.5 * quad
    if reml:
        tr = _InterceptTraces(w, top_study(v, m) if top is None else top)
        trp = tr.tr_p()
        info = 0.5 * tr.tr_pp()
        score = 0.5 * (yppy - trp)
        ll = ll - 0.5 * np.log(sw)
    else:
        info = 0.5 * np.einsum("bk,bk->b", w, w)
        score = 0.5 * (yppy - sw)
    return ll, score, info, info - ypppy


def _lik_state_int0(y: Any, v: Any, m: Any, tau2: Any, reml: bool, full: bool = True) -> Any:
    """:func:`_lik_state_int` for rows whose column 0 holds the most precise study.

    Same formulas (and the convex part c, c' as :func:`_lik_state_general`); the sums over
    the other studies (S_o, T_o, Q_o of
    :class:`_InterceptTraces`) are plain sums over columns 1..k-1, so no mask or argmax is
    formed, and S = w_0 + S_o is a sum of nonnegative terms.  Used by the ascent of
    :func:`fit_likelihood`, which moves each row's most precise study to column 0 once, with
    ``full=False`` (l, l', information and l'' only).
    """
    vt = v + tau2[:, None]
    w = m / vt
    w0 = w[:, 0]
    wo = w[:, 1:]
    So = wo.sum(1)
    sw = w0 + So
    mu = np.einsum("bk,bk->b", w, y) / sw
    r = y - mu[:, None]
    wr = w * r
    yppy = np.einsum("bk,bk->b", wr, wr)
    quad = np.einsum("bk,bk->b", wr, r)
    ubar = np.einsum("bk,bk->b", w, wr) / sw
    du = wr - ubar[:, None]
    ypppy = np.einsum("bk,bk,bk->b", w, du, du)
    c = -0.5 * np.einsum("bk,bk->b", m, np.log(vt))
    ll = c - 0.5 * quad
    if reml:
        wo2 = wo * wo
        To = wo2.sum(1)
        Qo = np.einsum("bk,bk->b", wo2, wo2)
        trp = (So * (sw + w0) - To) / sw
        d = wo * (sw[:, None] - wo)
        num = np.einsum("bk,bk->b", d, d) + w0 * w0 * (So * So + 2 * To) + (To * To - Qo)
        info = 0.25 * num / (sw * sw) * 2.0
        score = 0.5 * (yppy - trp)
        ll = ll - 0.5 * np.log(sw)
    else:
        info = 0.5 * np.einsum("bk,bk->b", w, w)
        score = 0.5 * (yppy - sw)
    hess = info - ypppy
    if not full:
        return ll, score, info, hess
    wdu = w * du  # P P y
    y4 = np.einsum("bk,bk->b", wdu, wdu)
    if reml:
        t3_hi = w0**3 + np.einsum("bk,bk->b", wo2, wo)
        t3_lo = 4.0 * info * info / trp  # tr P^3 >= (tr PP)^2 / tr P
        # the convex part of the REML split: l_R + Q/2 (see _certify_global), c' = -tr P / 2
        return (
            ll,
            score,
            info,
            hess,
            ll + 0.5 * quad,
            -0.5 * trp,
            quad,
            yppy,
            info,
            y4,
            t3_lo,
            t3_hi,
        )
    t3 = np.einsum("bk,bk,bk->b", w, w, w)
    return ll, score, info, hess, c, -0.5 * sw, quad, yppy, info, y4, t3, t3


def _grid_state_int0(y: Any, v: Any, m: Any, grid: Any, reml: bool) -> Any:
    """Log-likelihood and score on a (B, G) grid for the intercept-only model, broadcast over
    (B, G, k), for rows whose column 0 holds the most precise study (same formulas and
    constants as :func:`_lik_state_int`).  One (B, G, k) pass each for w = m / (v + tau2) and
    log(v + tau2); the sums over the studies of w, w y and log(v + tau2) are batched matrix
    products (one pass), the sums of w r^2, (w r)^2 and (REML) w^2 over the other studies
    are einsums.  tr P = (S_o (S + w_0) - T_o) / S with S_o, T_o the sums of w and w^2 over
    studies 1..k-1 and S = w_0 + S_o: sums of nonnegative terms, S_o S - T_o >= S_o S / 2.
    """
    vt = v[:, None, :] + grid[:, :, None]
    w = m[:, None, :] / vt
    M = np.empty((y.shape[0], y.shape[1], 2))
    M[:, :, 0] = y
    M[:, :, 1] = m
    M[:, 0, 1] = 0.0
    sums = np.matmul(w, M)
    So = sums[:, :, 1]
    sw = w[:, :, 0] + So
    mu = sums[:, :, 0] / sw
    r = y[:, None, :] - mu[:, :, None]
    wr = w * r
    quad = np.einsum("bgk,bgk->bg", wr, r)
    yppy = np.einsum("bgk,bgk->bg", wr, wr)
    c = -0.5 * np.matmul(np.log(vt), m[:, :, None])[:, :, 0]
    ll = c - 0.5 * quad
    if reml:
        ll -= 0.5 * np.log(sw)
        wo = w[:, :, 1:]
        To = np.einsum("bgk,bgk->bg", wo, wo)
        trp = (So * (sw + w[:, :, 0]) - To) / sw
        score = 0.5 * (yppy - trp)
        c2 = 0.5 * (w[:, :, 0] ** 2 + To)  # >= tr PP / 2, the convex part's l''
        return ll, score, ll + 0.5 * quad, -0.5 * trp, quad, yppy, c2
    score = 0.5 * (yppy - sw)
    c2 = 0.5 * np.einsum("bgk,bgk->bg", w, w)
    return ll, score, c, -0.5 * sw, quad, yppy, c2


GRID_POINTS = 8  # log-spaced points of the global scan (plus tau2 = 0), see fit_likelihood
GRID_DECADES = (-6.0, 1.0)  # scan range, in decades of the row's scale s (see _scan_grid)
GRID_CHUNK = 16384  # numbers in a (rows, points, k) block of the scan (cache-sized)


def _grid_state_int(y: Any, v: Any, m: Any, grid: Any, reml: bool) -> Any:
    """Log-likelihood and score on a (B, G) grid for the intercept-only model, broadcast over
    (B, G, k) (same formulas and constants as :func:`_lik_state_int`; tr P in the stable form
    sum_i w_i S_(-i) / S, whose dominant term uses the sum over the other studies directly:
    the most precise study, argmin v, has the largest weight at every tau2)."""
    vt = v[:, None, :] + grid[:, :, None]
    w = m[:, None, :] / vt
    sw = w.sum(2)
    mu = np.einsum("bgk,bk->bg", w, y) / sw
    r = y[:, None, :] - mu[:, :, None]
    wr = w * r
    quad = np.einsum("bgk,bgk->bg", wr, r)
    yppy = np.einsum("bgk,bgk->bg", wr, wr)
    ll = -0.5 * np.einsum("bgk,bk->bg", np.log(vt), m) - 0.5 * quad
    if reml:
        ll = ll - 0.5 * np.log(sw)
        # tr P = sum_i w_i S_(-i) / S = (S_o (S + w_j) - T_o) / S with j the most precise
        # study, S_o, T_o the sums of w and w^2 over the others; S_o S - T_o >= S_o S / 2
        top = top_study(v, m)
        rest = ~top
        sw_o = np.einsum("bgk,bk->bg", w, rest)
        tw_o = np.einsum("bgk,bk->bg", w * w, rest)
        w_j = np.einsum("bgk,bk->bg", w, top)
        trp = (sw_o * (sw + w_j) - tw_o) / sw
        score = 0.5 * (yppy - trp)
    else:
        score = 0.5 * (yppy - sw)
    return ll, score


def _grid_state(
    lik: Any, y: Any, v: Any, m: Any, X: Any, grid: Any, reml: bool, intercept_only: bool
) -> Any:
    """The certificate's state (see :func:`_cert_state`) of every row at every point of its
    grid: (l, l', c, c', Q, -Q', c''), each (B, G).

    Intercept-only: :func:`_grid_state_int0` (column 0 the most precise study).  Otherwise
    the rows are repeated G times and evaluated by ``lik`` (the function of the local
    ascent).  In blocks of about GRID_CHUNK numbers.
    """
    B, G = grid.shape
    k = y.shape[1]
    out = [np.empty((B, G)) for _ in range(7)] + [np.full((B, G), np.nan) for _ in range(4)]
    step = max(1, GRID_CHUNK // (G * k))
    for s0 in range(0, B, step):
        sl = slice(s0, min(B, s0 + step))
        if intercept_only:
            st = _grid_state_int0(y[sl], v[sl], m[sl], grid[sl], reml)
        else:
            n = sl.stop - sl.start
            Xr = np.repeat(X[sl], G, axis=0) if X.shape[0] else X
            yr, vr, mr = (np.repeat(a[sl], G, axis=0) for a in (y, v, m))
            st = [x.reshape(n, G) for x in _cert_state(lik(yr, vr, mr, Xr, grid[sl].ravel(), reml))]
        for o, x in zip(out, st, strict=False):  # the scan leaves l'' and the rest NaN
            o[sl] = x
    return out


def _scan_grid(y: Any, v: Any, m: Any, X: Any, reml: bool) -> Any:
    """Grid of the global scan: 0 and GRID_POINTS log-spaced values s 10^e, e in GRID_DECADES.

    s is the row's unweighted residual variance RSS_OLS / (k - p) (an upper scale for tau2:
    the (restricted) likelihood decreases beyond a few times s, see the tail bound in
    :func:`fit_likelihood`), floored at the smallest sampling variance so that a row with
    identical outcomes still gets a grid.
    """
    B = y.shape[0]
    k = m.sum(1)
    p = X.shape[2] if X.ndim == 3 and X.shape[1] else 1
    if X.ndim == 3 and X.shape[1]:
        _, r_ols, _ = wls(y, X, m)
    else:
        r_ols = centred(y, m)
    s = np.einsum("bk,bk->b", r_ols, r_ols) / np.maximum(k - p, 1)
    vmin = np.where(m > 0, v, np.inf).min(1)
    s = np.maximum(s, vmin)
    e = np.linspace(GRID_DECADES[0], GRID_DECADES[1], GRID_POINTS)
    grid = np.empty((B, GRID_POINTS + 1))
    grid[:, 0] = 0.0
    grid[:, 1:] = s[:, None] * 10.0**e
    return grid


def _with_start(grid: Any, init: Any) -> Any:
    """The sorted (B, G) grid with each row's start value inserted in order: (B, G + 1)."""
    B, G = grid.shape
    pos = (grid < init[:, None]).sum(1)
    cols = np.arange(G + 1)
    src = np.minimum(cols - (cols > pos[:, None]), G - 1)
    out = np.take_along_axis(grid, src, axis=1)
    at = cols == pos[:, None]
    out[at] = init
    return out


def _tail_bound(v: Any, m: Any, X: Any, T: Any, reml: bool, intercept_only: bool) -> Any:
    """Upper bound of the (restricted) log-likelihood over tau2 >= T (same constants).

    ML: l(t) = -1/2 sum log(v_i + t) - 1/2 y'P y <= -1/2 sum log(v_i + T) for t >= T (y'Py >= 0).
    REML adds -1/2 log det X'WX <= -1/2 log det X'X + p/2 log(v_max + t), since
    X'WX >= X'X / (v_max + t) in the Loewner order; the sum is decreasing in t when k > p,
    so its value at T bounds the whole tail.
    """
    vt = np.where(m > 0, v + T[:, None], 1.0)
    bound = -0.5 * np.log(vt).sum(1)
    if reml:
        vmax = np.where(m > 0, v, -np.inf).max(1)
        if intercept_only:
            p, ldxx = 1, np.log(m.sum(1))
        else:
            p, ldxx = X.shape[2], logdet(xtdx(X, m))
        bound = bound + 0.5 * p * np.log(vmax + T) - 0.5 * ldxx
    return bound


def _local_max(
    lik: Any,
    y: Any,
    v: Any,
    m: Any,
    X: Any,
    t0: Any,
    lo: Any,
    hi: Any,
    reml: Any,
    tol: Any,
    maxiter: Any,
    score0: Any,
) -> Any:
    """Bracketed, monotone Newton / Fisher-scoring ascent from t0 inside [lo, hi] (per row).

    Invariant: the current point t has the highest log-likelihood seen so far, lo <= t <= hi,
    and steps stay inside the bracket.  After each evaluation the bracket shrinks on the side
    of t given by the sign of the score (score > 0: lo = t; score < 0: hi = t), so it always
    holds a local maximum at least as high as ll(t).  A Newton or Fisher step that would leave
    (lo, hi) is replaced by the midpoint of the current side of the bracket; a step that lowers
    the log-likelihood is halved (the direction is uphill, so a short enough step rises).  The
    boundary tau2 = 0 is reachable only where the score at 0 is <= 0 (0 is then a local
    maximum by the Karush-Kuhn-Tucker condition); where score(0) > 0 the iterate moves
    towards 0 only by bisection, never onto it, so it cannot be pulled onto a boundary point
    that is not a maximum.  Stops when |step| <= tol (v_min + tau2) (v_min the row's smallest
    sampling variance: the rule does not depend on the units of the effects), when the bracket
    is that narrow, or at 0 with score(0) <= 0.

    Returns (tau2, ll, converged, iterations).
    """
    B = y.shape[0]
    tau2 = np.asarray(t0, dtype=float).copy()
    ll_out = np.empty(B)
    converged = np.zeros(B, dtype=bool)
    iterations = np.zeros(B, dtype=np.int64)
    idx = np.arange(B)
    lo = np.asarray(lo, dtype=float).copy()
    hi = np.asarray(hi, dtype=float).copy()
    zero_ok = score0 <= 0.0
    # the scale of tau2 in the stopping rules: the smallest sampling variance of the row, so the
    # fit does not depend on the units of the effects (rescaling y by s rescales tau2 by s^2)
    sc = np.where(m > 0, v, np.inf).min(1)
    ys, vs, ms, Xs, ts, zok = y, v, m, X, tau2.copy(), zero_ok
    ll, score, info, hess = lik(ys, vs, ms, Xs, ts, reml)
    for it in range(1, maxiter + 1):
        lo = np.where(score > 0, np.maximum(lo, ts), lo)
        hi = np.where(score < 0, np.minimum(hi, ts), hi)
        fisher = score / info
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = -score / hess
        use_newton = (hess < 0) & (newton * fisher > 0)
        step = np.where(use_newton, newton, fisher)
        cand = ts + step
        # keep inside the bracket: bisect the side of the bracket the step points into
        up = cand >= hi
        cand = np.where(up, np.where(np.isfinite(hi), 0.5 * (ts + hi), 2.0 * ts + 1.0), cand)
        down = cand <= lo
        to_zero = down & (lo == 0.0) & zok
        cand = np.where(down, np.where(to_zero, 0.0, 0.5 * (lo + ts)), cand)
        cand = np.where(score == 0, ts, cand)
        step = cand - ts
        # a Newton step inside the bracket below the tolerance ends the iteration without being
        # evaluated: the point returned is that step's end (error of order step^2), with the
        # log-likelihood of its start (they differ by about score * step, i.e. nothing)
        final = use_newton & ~up & ~down & (np.abs(step) <= tol * (sc + ts))
        if final.any():
            f = np.nonzero(final)[0]
            tau2[idx[f]] = cand[f]
            ll_out[idx[f]] = ll[f]
            converged[idx[f]] = True
            iterations[idx[f]] = it
            keep = ~final
            idx = idx[keep]
            if idx.size == 0:
                break
            ys, vs, ms = ys[keep], vs[keep], ms[keep]
            Xs = Xs[keep] if Xs.shape[0] else Xs
            ts, ll, score, info, hess = ts[keep], ll[keep], score[keep], info[keep], hess[keep]
            lo, hi, zok, sc = lo[keep], hi[keep], zok[keep], sc[keep]
            cand, step = cand[keep], step[keep]
        ll_c, sc_c, in_c, he_c = lik(ys, vs, ms, Xs, cand, reml)
        worse = ll_c < ll - 1e-13 * (1.0 + np.abs(ll))
        halvings = 0
        while worse.any() and halvings < 60:
            halvings += 1
            j = np.nonzero(worse)[0]
            step[j] *= 0.5
            cand[j] = ts[j] + step[j]
            sub = lik(ys[j], vs[j], ms[j], Xs[j] if Xs.shape[0] else Xs, cand[j], reml)
            ll_c[j], sc_c[j], in_c[j], he_c[j] = sub
            worse[j] = sub[0] < ll[j] - 1e-13 * (1.0 + np.abs(ll[j]))
        if worse.any():  # no uphill step found: stay (the point is a maximum to rounding)
            j = np.nonzero(worse)[0]
            cand[j], ll_c[j], sc_c[j], in_c[j], he_c[j] = ts[j], ll[j], score[j], info[j], hess[j]
        change = np.abs(cand - ts)
        done = (
            (change <= tol * (sc + cand))
            | (np.isfinite(hi) & (hi - lo <= tol * (sc + hi)))
            | ((cand == 0.0) & zok & (ts == 0.0))
        )
        ts, ll, score, info, hess = cand, ll_c, sc_c, in_c, he_c
        iterations[idx] = it
        if done.any():
            tau2[idx[done]] = ts[done]
            ll_out[idx[done]] = ll[done]
            converged[idx[done]] = True
            keep = ~done
            idx = idx[keep]
            if idx.size == 0:
                break
            ys, vs, ms = ys[keep], vs[keep], ms[keep]
            Xs = Xs[keep] if Xs.shape[0] else Xs
            ts, ll, score, info, hess = ts[keep], ll[keep], score[keep], info[keep], hess[keep]
            lo, hi, zok, sc = lo[keep], hi[keep], zok[keep], sc[keep]
    if idx.size:
        tau2[idx] = ts
        ll_out[idx] = ll
    return tau2, ll_out, converged, iterations


CERT_TOL = 1e-10  # the fit is certified within CERT_TOL (1 + |l|) of the global maximum
CERT_LEVELS = 120  # bisection levels of the certificate (about 20 are used next to a peak)
TAIL_STEP = 10.0  # factor by which the breakpoints extend beyond the scan until the tail bound
TAIL_STEPS = 60  # holds


def _dc_cell_bound(a: Any, b: Any, sa: Any, sb: Any) -> Any:
    """Upper bound of the (restricted) log-likelihood l over each cell [a, b].

    ``sa``, ``sb`` are the states at the ends (:func:`_cert_state`); l'' is NaN (unknown) at
    the points of the scan, where test (ii) does not apply.
    Two bounds, the smaller is returned:

    1. Difference of convex functions: l = c + d with c(t) = -1/2 sum log(v_i + t) convex and
       d = l - c concave (see :func:`_certify_global`).  On [a, b] the convex part lies below
       its chord and the concave part below both of its end tangents, so

           l(t) <= c(a) + (c(b) - c(a)) (t - a) / (b - a)
                   + min(d(a) + d'(a) (t - a), d(b) + d'(b) (t - b)),

       a concave piecewise-linear function whose maximum is at a, at b or where the two
       tangents cross; its gap to l is O((b - a)^2).
    2. Concavity, proved on the cell by either of two tests.  (i) l'' = c'' + d'' with
       c'' = 1/2 sum w^2 <= c''(a) (w falls with t), and d'' <= -Q''/2 = -y'PPPy (the REML
       term -1/2 log det X'WX is concave) with y'PPPy >= (y'PPy)^2 / y'Py = Q'(t)^2 / Q(t)
       (Cauchy-Schwarz on z = P^(1/2) y), where Q falls and |Q'| falls (Q is convex and
       decreasing), so on the cell l'' <= c''(a) - Q'(b)^2 / Q(a).  (ii) From l'' at both ends
       and the third derivative (dP/dt = -PP): l''' = -tr P^3 + 3 y'P^4y (REML; -sum w^3 +
       3 y'P^4y for ML), whose two terms are monotone (d tr P^3/dt = -3 tr P^4 <= 0,
       d y'P^4y/dt = -4 y'P^5y <= 0), bounded with sum w^3 >= tr P^3 >= (tr PP)^2 / tr P
       (Weyl; Cauchy-Schwarz on the eigenvalues).  Where l'' < 0 on the cell, l is concave
       and
       lies below both end tangents of l itself: max(l(a), l(b)) when the cell holds no
       stationary point, else the tangents' crossing; next to a peak whose position is a
       breakpoint this is the peak's value, so the certificate closes without bisection.

    A rounding margin of 64 machine epsilons of the magnitudes involved is added.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ux, margin = _dc_part(a, b, sa, sb)
        concave, uy = _concave_part(a, b, sa, sb)
    lla, llb = sa[0], sb[0]
    bound = np.maximum(np.maximum(lla, llb), np.where(concave, np.minimum(ux, uy), ux))
    return bound + margin


def _dc_part(a: Any, b: Any, sa: Any, sb: Any) -> Any:
    """Bound 1 of :func:`_dc_cell_bound` (without the end values) and the rounding margin."""
    lla, sca, ca, cpa = sa[0], sa[1], sa[2], sa[3]
    llb, scb, cb, cpb = sb[0], sb[1], sb[2], sb[3]
    da, db = lla - ca, llb - cb
    dpa, dpb = sca - cpa, scb - cpb
    w = b - a
    den = dpa - dpb
    tx = np.where(den > 0, (db - da + dpa * a - dpb * b) / den, a)
    tx = np.clip(np.where(np.isfinite(tx), tx, a), a, b)
    ux = ca + (cb - ca) * ((tx - a) / w) + np.minimum(da + dpa * (tx - a), db + dpb * (tx - b))
    mag = np.abs(ca) + np.abs(cb) + np.abs(da) + np.abs(db)
    mag += (np.abs(dpa) + np.abs(dpb) + np.abs(cpa) + np.abs(cpb) + np.abs(sca) + np.abs(scb)) * w
    return ux, 64.0 * np.finfo(float).eps * mag


def _concave_part(a: Any, b: Any, sa: Any, sb: Any) -> Any:
    """Bound 2 of :func:`_dc_cell_bound`: (l provably concave on the cell, tangent bound)."""
    lla, sca, qa, c2a, ha, y4a, t3hia = sa[0], sa[1], sa[4], sa[6], sa[7], sa[8], sa[10]
    llb, scb, qpb, hb, y4b, t3lob = sb[0], sb[1], sb[5], sb[7], sb[8], sb[9]
    w = b - a
    # (i) l'' <= c''(a) - Q'(b)^2 / Q(a)
    curv = qpb * qpb / qa
    concave = c2a - curv < -1e-12 * (c2a + curv)
    # (ii) l''' = -tr P^3 + 3 y'P^4y [REML] (-sum w^3 + 3 y'P^4y [ML]); both terms fall with t,
    # so l''' <= u3 = 3 y'P^4y(a) - tr P^3(b) and l''' >= l3 = 3 y'P^4y(b) - tr P^3(a), and
    # l''(t) <= min(l''(a) + u3 (t - a), l''(b) + l3 (t - b)) on the cell
    u3 = 3.0 * y4a - t3lob
    l3 = 3.0 * y4b - t3hia
    m_a = np.minimum(ha, hb - l3 * w)
    m_b = np.minimum(ha + u3 * w, hb)
    den3 = u3 - l3
    tc = np.where(den3 > 0, (hb - ha - l3 * b + u3 * a) / den3, a)
    m_c = np.where((tc > a) & (tc < b), ha + u3 * (tc - a), -np.inf)
    top2 = np.maximum(np.maximum(m_a, m_b), m_c)
    concave |= top2 < -1e-9 * (np.abs(ha) + np.abs(hb))  # False where l'' is unknown (NaN)
    # a concave l lies below both of its end tangents
    den2 = sca - scb
    ty = np.where(den2 > 0, (llb - lla + sca * a - scb * b) / den2, a)
    ty = np.clip(np.where(np.isfinite(ty), ty, a), a, b)
    uy = np.where(
        sca <= 0,
        lla,
        np.where(scb >= 0, llb, np.minimum(lla + sca * (ty - a), llb + scb * (ty - b))),
    )
    return concave, uy


def _cells_open(a: Any, b: Any, sa: Any, sb: Any, thr: Any) -> Any:
    """Cells whose upper bound exceeds ``thr``: :func:`_dc_cell_bound` > thr, evaluated in
    stages on ever fewer cells (the cheap bound l <= c(a) + d(b), valid because c falls and
    d rises with t; then bound 1; then bound 2)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        op = sa[2] + (sb[0] - sb[2]) > thr
        ix = np.nonzero(op)[0]
        if ix.size == 0:
            return op
        ux, margin = _dc_part(a[ix], b[ix], sa[:4, ix], sb[:4, ix])
        end = np.maximum(sa[0, ix], sb[0, ix])
        still = np.maximum(end, ux) + margin > thr[ix]
        op[ix] = still
        ix, end, margin = ix[still], end[still], margin[still]
        if ix.size == 0:
            return op
        concave, uy = _concave_part(a[ix], b[ix], sa[:, ix], sb[:, ix])
        op[ix] = ~(concave & (np.maximum(end, uy) + margin <= thr[ix]))
    return op


def _certify_global(
    lik: Any,
    y: Any,
    v: Any,
    m: Any,
    X: Any,
    cells: Any,
    best: Any,
    best_t: Any,
    best_lo: Any,
    best_hi: Any,
    tol: Any,
    reml: bool,
) -> Any:
    """Branch-and-bound certificate that no tau2 >= 0 beats the best point by more than tol.

    Difference-of-convex split of the (restricted) log-likelihood (Horst & Thoai 1999, J Optim
    Theory Appl 103:1): l(t) = c(t) + d(t) with
      c(t) = -1/2 sum log(v_i + t), convex;
      d(t) = -1/2 y'P y  [ML]   or   -1/2 y'P y - 1/2 log det X'W X  [REML], concave, because
        y'P y = min_b sum (y_i - x_i'b)^2 / (v_i + t) is the partial minimum of functions
        jointly convex in (b, t) (quadratic over linear), hence convex in t; and
        log det X'WX = log sum_S det(X_S)^2 exp(-sum_{i in S} log(v_i + t)) (Cauchy-Binet over
        the p-subsets S) is a log-sum-exp of convex functions, convex in t.
    Each cell between consecutive breakpoints is bounded by :func:`_dc_cell_bound`; a cell whose
    bound exceeds the best value found + tol is bisected (geometric midpoint, arithmetic next
    to 0) and its midpoint evaluated, in one batched likelihood call per level for all open
    cells of all rows.  Certified cells stay certified (the best value only rises).  The tail
    beyond the last breakpoint is covered by :func:`_tail_bound` before the call.

    The cells come flat: row ``r``, ends ``a`` < ``b`` and the states (:func:`_cert_state`) at
    the ends, ``sa`` and ``sb`` (11, n).  ``best``, ``best_t``, ``best_lo``, ``best_hi`` (B,)
    hold each row's best point so far and its bracket; they are updated in place.  A cheap
    bound first, l <= c(a) + d(b) on [a, b] (c falls and d rises with t), discards most cells
    before :func:`_dc_cell_bound`.  Returns (rows left uncertified after CERT_LEVELS levels,
    number of likelihood evaluations).
    """
    r, a, b, sa, sb = cells
    uncertified = np.zeros(best.shape[0], dtype=bool)
    evals = 0
    for level in range(CERT_LEVELS + 1):
        if r.size == 0:
            break
        op = _cells_open(a, b, sa, sb, best[r] + tol[r])
        if not op.any():
            break
        r, a, b, sa, sb = r[op], a[op], b[op], sa[:, op], sb[:, op]
        mid = np.where(a > 0, np.sqrt(a * b), 0.5 * b)
        mid = np.where((a < mid) & (mid < b), mid, a + 0.5 * (b - a))
        split = (a < mid) & (mid < b)  # a cell at the resolution of doubles cannot be split
        if level == CERT_LEVELS or not split.all():
            stuck = np.ones(r.size, dtype=bool) if level == CERT_LEVELS else ~split
            uncertified[r[stuck]] = True
            keep = ~stuck
            r, a, b, mid, sa, sb = r[keep], a[keep], b[keep], mid[keep], sa[:, keep], sb[:, keep]
            if r.size == 0:
                break
        Xr = X[r] if X.shape[0] else X
        sm = np.array(_cert_state(lik(y[r], v[r], m[r], Xr, mid, reml)))
        evals += r.size
        up = sm[0] > best[r]
        if up.any():
            iu = np.nonzero(up)[0]
            order = iu[np.argsort(-sm[0][iu], kind="stable")]
            ur, first = np.unique(r[order], return_index=True)
            pick = order[first]
            best[ur] = sm[0][pick]
            best_t[ur], best_lo[ur], best_hi[ur] = mid[pick], a[pick], b[pick]
        r = np.concatenate([r, r])
        sa, sb = np.concatenate([sa, sm], axis=1), np.concatenate([sm, sb], axis=1)
        a, b = np.concatenate([a, mid]), np.concatenate([mid, b])
    return uncertified, evals


def fit_likelihood(
    y: Any,
    v: Any,
    m: Any,
    X: Any,
    init: Any,
    reml: bool,
    tol: float = TOL,
    maxiter: int | None = None,
) -> Any:
    """Global maximum of the (restricted) likelihood over tau2 >= 0, for every row of the batch.

    Four stages, all vectorised over the batch:

    1. **Global scan**: log-likelihood and score at tau2 = 0, at GRID_POINTS log-spaced values
       s 10^e (e from -6 to 1, s the row's unweighted residual variance, see
       :func:`_scan_grid`) and at ``init``.
    2. **Ascent from the best grid point** (:func:`_local_max`) inside the bracket of its two
       neighbours: Newton-Raphson where the log-likelihood is locally concave and the Newton
       step points uphill, Fisher scoring (metafor's ``rma.uni`` algorithm) otherwise,
       step-halving so the log-likelihood never decreases, bisection of the bracket (kept by
       the sign of the score) when a step would leave it.
    3. **Certificate of global optimality** (:func:`_certify_global`): the breakpoints (0, the
       grid, the fit) are extended by factors of 10 until the analytic bound of the
       log-likelihood over the remaining tail (:func:`_tail_bound`) is below the fit; then
       every cell between breakpoints is bounded above through the difference-of-convex split
       l = c + d and bisected until its bound is within CERT_TOL (1 + |l|) of the best value
       found.
    4. **Polish**: where the certificate found a higher point than the fit (a second, higher
       peak), the ascent restarts from it inside its cell; finally metafor's ``ll0check``.

    Guarantee (up to floating-point rounding of the likelihood): the returned tau2 has a
    log-likelihood within CERT_TOL (1 + |l|) of the maximum over all tau2 >= 0, for every row
    whose certificate closed (all of them in practice; a row whose cells are still open after
    CERT_LEVELS bisections is returned with ``converged = False``).  In particular it cannot
    stop at a spurious boundary point: tau2 = 0 is returned only where no positive tau2 is
    higher, and the ascent reaches 0 only where the score at 0 is <= 0 (Karush-Kuhn-Tucker),
    never by projecting an overshooting step.  Two peaks inside one grid cell, which a scan
    alone misses, are separated by the bisection of stage 3.

    Returns (tau2, converged, iterations) as (B,) arrays.
    """
    maxiter = MAXITER if maxiter is None else maxiter
    B = y.shape[0]
    init = np.maximum(np.asarray(init, dtype=float), 0.0)
    intercept_only = X.shape[2] == 1 and np.array_equal(X[:, :, 0], m)
    Xl = X
    lik: Any
    grid = _with_start(_scan_grid(y, v, m, X, reml), init)
    if intercept_only:
        # the studies of a row are exchangeable: move each row's most precise study (the
        # largest weight at every tau2) to column 0, where the stable trace forms expect it
        j0 = np.argmin(np.where(m > 0, v, np.inf), axis=1)
        perm = np.broadcast_to(np.arange(y.shape[1]), y.shape).copy()
        perm[:, 0] = j0
        perm[np.arange(B), j0] = 0
        y, v, m = (np.take_along_axis(a, perm, axis=1) for a in (y, v, m))

        def lik(y_: Any, v_: Any, m_: Any, X_: Any, t_: Any, reml_: Any, full: bool = True) -> Any:
            return _lik_state_int0(y_, v_, m_, t_, reml_, full)

        Xl = np.empty((0, 0, 0))  # no design matrix to carry along
    else:
        lik = _lik_state_general

    def lik4(*args: Any) -> Any:
        return lik(*args, full=False)[:4]

    # (1) global scan: log-likelihood and score on 0, the log grid and the start value
    G = grid.shape[1]
    st_grid = _grid_state(lik, y, v, m, Xl, grid, reml, intercept_only)
    ll_grid = st_grid[0]
    ll0, score0 = ll_grid[:, 0], st_grid[1][:, 0]
    rows_all = np.arange(B)
    # (2) ascend from the best grid point inside the bracket of its neighbours
    #     from the root of the score interpolated linearly in log tau2 between the best point
    #     and the neighbour on the side its score points to (fewer ascent steps)
    j = np.argmax(ll_grid, axis=1)
    sc_grid = st_grid[1]
    lo = grid[rows_all, np.maximum(j - 1, 0)]
    hi = np.where(j + 1 < G, grid[rows_all, np.minimum(j + 1, G - 1)], np.inf)
    t_j, s_j = grid[rows_all, j], sc_grid[rows_all, j]
    o = np.clip(np.where(s_j > 0, j + 1, j - 1), 0, G - 1)
    t_o, s_o = grid[rows_all, o], sc_grid[rows_all, o]
    with np.errstate(divide="ignore", invalid="ignore"):
        g_j, g_o = s_j * t_j, s_o * t_o  # the score with respect to log tau2
        frac = g_j / (g_j - g_o)
        start = np.exp(np.log(t_j) + frac * (np.log(t_o) - np.log(t_j)))
    ok = (o != j) & (t_j > 0) & (t_o > 0) & (s_j * s_o < 0) & np.isfinite(start)
    start = np.where(ok, start, t_j)
    tau2, ll_fit, conv, iters = _local_max(
        lik4, y, v, m, Xl, start, lo, hi, reml, tol, maxiter, score0
    )
    # the scan's best point counts as found (the ascent from an interpolated start can end lower)
    jb_low = ll_grid[rows_all, j] > ll_fit
    tau2[jb_low], ll_fit[jb_low] = t_j[jb_low], ll_grid[rows_all, j][jb_low]
    cert_tol = CERT_TOL * (1.0 + np.abs(ll_fit))
    # (3) cells: the grid's, the one holding the fit split there, and the tail extended by
    #     factors of TAIL_STEP until its bound is below the fit
    S = np.array(st_grid)  # (11, B, G)
    a_g, b_g = grid[:, :-1], grid[:, 1:]
    inside = (a_g < tau2[:, None]) & (tau2[:, None] < b_g)  # at most one cell per row
    ri, ci = np.nonzero(inside)
    # the full state at the fit (l'' and the third-derivative terms for the concavity tests)
    S_fit = np.array(_cert_state(lik(y, v, m, Xl, tau2, reml)))
    # the cheap bound l <= c(a) + d(b) of _certify_global already closes most grid cells
    with np.errstate(invalid="ignore"):
        cheap = S[2, :, :-1] + (S[0, :, 1:] - S[2, :, 1:]) > (ll_fit + cert_tol)[:, None]
    keep = (b_g > a_g) & ~inside & cheap
    rk, ck = np.nonzero(keep)
    # the fit's cell is cut at the fit
    parts_r = [rk, ri, ri]
    parts_a = [a_g[rk, ck], a_g[ri, ci], tau2[ri]]
    parts_b = [b_g[rk, ck], tau2[ri], b_g[ri, ci]]
    parts_sa = [S[:, rk, ck], S[:, ri, ci], S_fit[:, ri]]
    parts_sb = [S[:, rk, ck + 1], S_fit[:, ri], S[:, ri, ci + 1]]
    best, best_t = ll_fit.copy(), tau2.copy()
    best_lo, best_hi = lo.copy(), hi.copy()
    T = grid[:, -1].copy()
    S_T = S[:, :, -1]
    ni = rows_all
    for _ in range(TAIL_STEPS):
        Xt = X[ni] if X.shape[0] > 1 else X
        tb = _tail_bound(v[ni], m[ni], Xt, T[ni], reml, intercept_only)
        ni = ni[tb > best[ni] + cert_tol[ni]]
        if ni.size == 0:
            break
        Xr = Xl[ni] if Xl.shape[0] else Xl
        T_new = T[ni] * TAIL_STEP
        S_new = np.array(_cert_state(lik(y[ni], v[ni], m[ni], Xr, T_new, reml)))
        parts_r.append(ni)
        parts_a.append(T[ni])
        parts_b.append(T_new)
        parts_sa.append(S_T[:, ni])
        parts_sb.append(S_new)
        higher = S_new[0] > best[ni]
        if higher.any():
            hi_r = ni[higher]
            best[hi_r], best_t[hi_r] = S_new[0][higher], T_new[higher]
            best_lo[hi_r], best_hi[hi_r] = T[hi_r], np.inf
        T = T.copy()
        T[ni] = T_new
        S_T = S_T.copy()
        S_T[:, ni] = S_new
    cells = (
        np.concatenate(parts_r),
        np.concatenate(parts_a),
        np.concatenate(parts_b),
        np.concatenate(parts_sa, axis=1),
        np.concatenate(parts_sb, axis=1),
    )
    open_rows, _ = _certify_global(
        lik, y, v, m, Xl, cells, best, best_t, best_lo, best_hi, cert_tol, reml
    )
    # (4) a higher point than the fit: ascend from it inside its cell
    rows = np.nonzero(best > ll_fit + cert_tol)[0]
    if rows.size:
        Xr = Xl[rows] if Xl.shape[0] else Xl
        t_r, ll_r, c_r, i_r = _local_max(
            lik4,
            y[rows],
            v[rows],
            m[rows],
            Xr,
            best_t[rows],
            best_lo[rows],
            best_hi[rows],
            reml,
            tol,
            maxiter,
            score0[rows],
        )
        tau2[rows], ll_fit[rows], conv[rows] = t_r, ll_r, c_r
        iters[rows] = i_r  # the ascent that gave the returned tau2
    conv &= ~open_rows
    # ll0check: the boundary can beat an interior local maximum
    better0 = (tau2 > 0) & (ll0 > ll_fit + 1e-12 * (1.0 + np.abs(ll_fit)))
    tau2[better0] = 0.0
    conv[better0] = True
    return tau2, conv, iters


def _cert_state(state: Any) -> Any:
    """The certificate's state from a likelihood state (see :func:`_dc_cell_bound`):
    (l, l', c, c', Q, -Q', c'', l'', y'P^4y, a lower and an upper bound of tr P^3 [REML] or
    sum w^3 [ML]), with c = -1/2 sum log(v + t) (convex), c' = -1/2 sum w, c'' = 1/2 sum w^2,
    Q = y'Py, -Q' = y'PPy.
    """
    return [state[0], state[1], *state[4:9], state[3], *state[9:12]]


def loglik(y: Any, v: Any, m: Any, X: Any, tau2: Any, reml: bool) -> Any:
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
    return ll


def generalized_q(y: Any, v: Any, m: Any, X: Any, tau2: Any) -> Any:
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
) -> Any:
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
    sc = np.where(m > 0, v, np.inf).min(1)  # tau2's scale in the stopping rule (units-free)
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
            (np.abs(nt - t) <= tol * (sc + np.abs(nt)))
            | (hi - lo <= tol * (sc + np.abs(hi)))
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
            t, lo, hi, target, sc = t[keep], lo[keep], hi[keep], target[keep], sc[keep]
    if idx.size:
        out[idx] = t
    return out, conv, iters


# ----------------------------------------------------------------------------- tau2 estimators
def centred(y: Any, m: Any) -> Any:
    """y minus its unweighted mean over the present studies (metafor's ``Ymc``)."""
    k = m.sum(1)
    return (y - (np.einsum("bk,bk->b", y, m) / k)[:, None]) * m


def estimate_tau2(
    method: str,
    y: Any,
    v: Any,
    m: Any,
    X: Any,
    weights: Any = None,
    tau2_fixed: Any = None,
    yc: Any = None,
    cache: Any = None,
    int_only: Any = None,
) -> Any:
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
      Q(tau2) = chi^2_{k-p, 0.5}.  Q(tau2) = y'P y is non-increasing
      (dQ/dtau2 = -y'PPy <= 0), so its roots in [0, the Q_OLS-based bound] form one point or
      interval, which the safeguarded Newton/bisection of :func:`solve_q` finds: no
      local-optimum issue as for ML/REML
    * GENQ (DerSimonian & Kacker 2007, generalized Q with user weights a):
          (Q_a - tr(P_a V)) / tr P_a
    All are truncated at 0.  se(tau^2) follows metafor 3.8 for each method.  ``yc`` may pass
    the centred outcomes (:func:`centred`) and ``cache`` a dict that receives the equal-effects
    projection (key "Pfe") where the estimator builds it (DL, HS, HSk), for :func:`fit` to reuse.
    """
    B, k_max = y.shape
    p = X.shape[2]
    k = m.sum(1)
    dfr = k - p
    yc = centred(y, m) if yc is None else yc
    if int_only is None:
        int_only = p == 1 and np.array_equal(X[:, :, 0], m)
    ic = True if int_only else None  # Projection's intercept flag (None: let it detect)
    conv = np.ones(B, dtype=bool)
    iters = np.zeros(B, dtype=np.int64)
    fixed = tau2_fixed is not None
    tau2_0 = None
    if method in ("HS", "HSk", "DL"):
        a = m / v
        Pa = Projection(yc, X, a, intercept=ic)
        if cache is not None:
            cache["Pfe"] = Pa
        rss = Pa.quad()
        if method == "DL":
            tau2 = (rss - dfr) / Pa.tr_p()
        elif method == "HS":
            tau2 = (rss - k) / a.sum(1)
        else:
            tau2 = (k / dfr * rss - k) / a.sum(1)
    elif method == "HE":
        Pa = Projection(yc, X, m, intercept=ic, unit=bool(int_only))
        tau2 = (Pa.quad() - Pa.tr_pv(v * m)) / dfr
    elif method == "GENQ":
        Pa = Projection(yc, X, weights)
        tau2 = (Pa.quad() - Pa.tr_pv(v * m)) / Pa.tr_p()
    elif method == "SJ":
        tau2_0 = np.einsum("bk,bk->b", yc, yc) / k
        a = m / (v + tau2_0[:, None])
        Pa = Projection(yc, X, a, intercept=ic)
        tau2 = tau2_0 * Pa.quad() / dfr
    elif method in ("ML", "REML"):
        if fixed:
            tau2 = np.broadcast_to(tau2_fixed, (B,)).astype(float)
        else:
            he = Projection(yc, X, m, intercept=ic, unit=bool(int_only))
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
        se = np.sqrt(2 / Projection(yc, X, w, intercept=ic).tr_pp())
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
) -> Any:
    """Fit the model for every row; returns a dict of (B, ...) arrays (metafor's rma.uni)."""
    B, kk = y.shape
    p = X.shape[2]
    mf = np.asarray(m, dtype=float)
    k = mf.sum(1)
    dfr = k - p
    int_only = p == 1 and np.array_equal(X[:, :, 0], mf)
    R_inv = None
    if p > 1:
        # Work in an orthonormal basis of the column space (X = QR): every tau^2 estimator and Q
        # depends on X only through that space, and Q'WQ is far better conditioned than X'WX
        # (e.g. an intercept next to calendar years); coefficients are mapped back with R^{-1}.
        X, R = np.linalg.qr(X)
        R_inv = np.linalg.inv(R)
    yc = centred(y, mf)
    cache: dict[str, Any] = {}
    if method in ("EE", "FE"):
        tau2 = np.zeros(B)
        se_tau2 = np.full(B, np.nan)
        conv = np.ones(B, dtype=bool)
        iters = np.zeros(B, dtype=np.int64)
    else:
        tau2, se_tau2, conv, iters = estimate_tau2(
            method, y, v, mf, X, weights, tau2_fixed, yc=yc, cache=cache, int_only=int_only
        )

    w = mf / (v + tau2[:, None])
    coef, resid, S_inv = wls(y, X, w, intercept=int_only)
    if test in ("knha", "adhoc"):
        rss_knha = np.einsum("bk,bk->b", w * resid, resid)
    if weights is not None:
        coef, _, SA_inv = wls(y, X, weights)
        meat = xtdx(X, weights * weights * (v + tau2[:, None]) * mf)
        vb = SA_inv @ meat @ SA_inv
    else:
        vb = S_inv
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
        crit = np.full(B, -special.ndtri(alpha / 2))
    ci_low = coef - crit[:, None] * se
    ci_high = coef + crit[:, None] * se

    # heterogeneity: QE with W = 1/v on the centred outcomes, vt = (k-p)/tr P_FE
    Pfe = cache.get("Pfe") or Projection(yc, X, mf / v, intercept=True if int_only else None)
    qe = np.maximum(Pfe.quad(), 0.0)
    qe_p = special.chdtrc(dfr, qe)
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
