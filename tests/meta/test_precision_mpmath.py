"""One study far more precise than the rest: exact against a 60-digit mpmath oracle.

The expanded trace forms (tr P = sum w - sum w^2 / sum w, ...) cancel catastrophically when
one variance is 1e7+ times smaller than the next: DL se(tau2) was 15% off at a ratio of 1e9
(exact 0.1029899672) and REML se(tau2) became inf, then NaN.  The oracle below recomputes every
quantity from its definition in mpmath at 60 significant digits (DL in closed form; REML by
solving the restricted score equation with mpmath's root finder and checking it is the
maximum), for variance ratios 1e0 .. 1e14, for the intercept-only model and for a
one-moderator meta-regression (P formed as a k x k mpmath matrix).
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest

from plateau.meta import meta_regression, pool

mp.mp.dps = 60
Y = [0.5, -0.2, 0.9, 0.1, 0.4]
V_REST = [0.1, 0.2, 0.15, 0.3]
RATIOS = [10.0**-e for e in range(0, 15)]  # v_1 = 0.1 * ratio; ratio 1 .. 1e-14


def _mp(xs):
    return [mp.mpf(x) for x in xs]


def P_matrix(w, X):
    """P = W - W X (X'WX)^{-1} X'W in mpmath (k x k)."""
    W = mp.diag(w)
    XtWX = X.T * W * X
    return W - W * X * (XtWX**-1) * X.T * W


def dl_oracle(y, v, X):
    w = [1 / vi for vi in v]
    P = P_matrix(w, X)
    ym = mp.matrix(y)
    k, p = X.rows, X.cols
    Q = (ym.T * P * ym)[0]
    trP = sum(P[i, i] for i in range(k))
    PP = P * P
    trPP = sum(PP[i, i] for i in range(k))
    tau2 = max(mp.mpf(0), (Q - (k - p)) / trP)
    se = mp.sqrt(2 * (k - p) + 4 * tau2 * trP + 2 * tau2**2 * trPP) / trP
    return tau2, se


def reml_oracle(y, v, X, start):
    ym = mp.matrix(y)
    k = X.rows

    def parts(t):
        w = [1 / (vi + t) for vi in v]
        P = P_matrix(w, X)
        Py = P * ym
        trP = sum(P[i, i] for i in range(k))
        PP = P * P
        return (Py.T * Py)[0] - trP, sum(PP[i, i] for i in range(k))

    def loglik(t):
        w = [1 / (vi + t) for vi in v]
        P = P_matrix(w, X)
        W = mp.diag(w)
        return (
            -sum(mp.log(vi + t) for vi in v) / 2
            - mp.log(mp.det(X.T * W * X)) / 2
            - (ym.T * P * ym)[0] / 2
        )

    score0 = parts(mp.mpf(0))[0]
    if score0 <= 0 and start == 0:
        tau2 = mp.mpf(0)
    else:
        tau2 = mp.findroot(lambda t: parts(t)[0], mp.mpf(start), tol=mp.mpf(10) ** -40)
    # the root is the maximum: higher than its neighbours and than the boundary
    for t in (tau2 * (1 - mp.mpf(10) ** -6), tau2 * (1 + mp.mpf(10) ** -6), mp.mpf(0)):
        if t != tau2:
            assert loglik(t) <= loglik(tau2) + mp.mpf(10) ** -30
    se = mp.sqrt(2 / parts(tau2)[1])
    w = [1 / (vi + tau2) for vi in v]
    W = mp.diag(w)
    XtWX_inv = (X.T * W * X) ** -1
    beta = XtWX_inv * X.T * W * ym
    return tau2, se, beta, [mp.sqrt(XtWX_inv[i, i]) for i in range(X.cols)]


def rel(a, b):
    """Relative difference (absolute where the oracle is 0)."""
    d = abs(mp.mpf(a) - b)
    return float(d / abs(b)) if b != 0 else float(d)


def test_dl_se_tau2_example_exact():
    res = pool(Y, [1e-10] + V_REST, method="DL")
    assert res.se_tau2 == pytest.approx(0.1029899672, rel=1e-9)


@pytest.mark.parametrize("ratio", RATIOS, ids=[f"1e-{e}" for e in range(15)])
def test_intercept_only_against_mpmath(ratio):
    v = [0.1 * ratio] + V_REST
    X = mp.matrix([[1]] * 5)
    tau2_dl, se_dl = dl_oracle(_mp(Y), _mp(v), X)
    dl = pool(Y, v, method="DL")
    assert rel(dl.tau2, tau2_dl) < 1e-10
    assert rel(dl.se_tau2, se_dl) < 1e-9
    reml = pool(Y, v, method="REML")
    assert np.isfinite(reml.se_tau2)
    tau2, se, beta, se_b = reml_oracle(_mp(Y), _mp(v), X, reml.tau2)
    assert rel(reml.tau2, tau2) < 1e-8
    assert rel(reml.se_tau2, se) < 1e-8
    assert rel(reml.estimate, beta[0]) < 1e-9
    assert rel(reml.se, se_b[0]) < 1e-9
    # I^2 uses tr P of the equal-effects weights: same oracle as DL's
    assert 0 <= reml.i2 <= 100


@pytest.mark.parametrize("ratio", RATIOS[::2], ids=[f"1e-{e}" for e in range(0, 15, 2)])
def test_meta_regression_against_mpmath(ratio):
    y = Y + [0.3, -0.1]
    v = [0.1 * ratio] + V_REST + [0.12, 0.25]
    x = [0.2, 1.0, -0.5, 0.7, 1.5, -1.0, 0.1]
    X = mp.matrix([[1, xi] for xi in x])
    res_dl = meta_regression(y, v, np.array(x)[:, None], method="DL")
    tau2_dl, se_dl = dl_oracle(_mp(y), _mp(v), X)
    assert rel(res_dl.tau2, tau2_dl) < 1e-9
    assert rel(res_dl.se_tau2, se_dl) < 1e-8
    res = meta_regression(y, v, np.array(x)[:, None], method="REML")
    assert np.isfinite(res.se_tau2)
    tau2, se, beta, se_b = reml_oracle(_mp(y), _mp(v), X, res.tau2)
    if tau2 == 0:
        assert res.tau2 == 0
    else:
        assert rel(res.tau2, tau2) < 1e-7
    assert rel(res.se_tau2, se) < 1e-7
    for j in range(2):
        assert rel(res.coef[j], beta[j]) < 1e-8
        assert rel(res.se[j], se_b[j]) < 1e-8
