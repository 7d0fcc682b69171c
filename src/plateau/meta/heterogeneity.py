"""Confidence intervals for the amount of heterogeneity (metafor ``confint.rma.uni``).

* Q-profile (Viechtbauer 2007): the CI for tau^2 collects the values whose generalized Q,
  Q(tau^2) = sum_i w_i (y_i - mu_w)^2 with w_i = 1/(v_i + tau^2), lies between the
  chi^2_{k-p} quantiles: the upper bound solves Q(tau^2) = chi^2_{k-p, alpha/2} and the lower
  bound Q(tau^2) = chi^2_{k-p, 1-alpha/2}; bounds that would be negative are 0.
* Profile likelihood (Hardy & Thompson 1996): the tau^2 values with
  2 (l(tau^2_hat) - l(tau^2)) <= chi^2_{1, level}; l is the restricted likelihood for REML fits
  and the likelihood otherwise (as metafor's ``logLik``).

CIs for tau = sqrt(tau^2), I^2 = 100 tau^2/(v~ + tau^2) and H^2 = 1 + tau^2/v~ follow from the
tau^2 bounds (v~ = (k-1)/tr P, Higgins & Thompson 2002).  The search interval is
[0, max(100, 10 tau^2_hat)] as in metafor; a bound at its end is flagged in ``ub_at_limit``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from plateau.errors import PlateauError
from plateau.meta import _engine
from plateau.meta._common import ReadOnlyArrays, as_output, jsonable, prepare_batch
from plateau.meta.pool import check_method

__all__ = ["HeterogeneityCI", "tau2_confint", "qprofile_ci", "profile_likelihood_ci"]


@dataclass(frozen=True)
class HeterogeneityCI(ReadOnlyArrays):
    """Estimates and CIs of tau^2, tau, I^2 (percent) and H^2 (scalars, or (B,) arrays for a
    batch)."""

    tau2: Any
    tau2_low: Any
    tau2_high: Any
    tau: Any
    tau_low: Any
    tau_high: Any
    i2: Any
    i2_low: Any
    i2_high: Any
    h2: Any
    h2_low: Any
    h2_high: Any
    ci_type: str
    method: str
    level: float
    ub_at_limit: Any
    batch: bool = False

    def to_dict(self) -> dict[str, Any]:
        keys = [
            "tau2",
            "tau2_low",
            "tau2_high",
            "tau",
            "tau_low",
            "tau_high",
            "i2",
            "i2_low",
            "i2_high",
            "h2",
            "h2_low",
            "h2_high",
            "ci_type",
            "method",
            "level",
            "ub_at_limit",
        ]
        return {k: jsonable(getattr(self, k)) for k in keys}

    def summary(self) -> str:
        if self.batch:
            return f"{len(self.tau2)} heterogeneity CIs ({self.ci_type}, {self.method})"
        lvl = f"{100 * self.level:g}%"
        name = "Q-profile" if self.ci_type == "QP" else "profile-likelihood"
        # an upper bound at the search limit is only known to exceed it: say "> limit"
        gt = "> " if self.ub_at_limit else ""
        lines = [
            f"Heterogeneity ({self.method}), {lvl} {name} CIs",
            f"tau^2 = {self.tau2:.4g} ({self.tau2_low:.4g} to {gt}{self.tau2_high:.4g})",
            f"tau   = {self.tau:.4g} ({self.tau_low:.4g} to {gt}{self.tau_high:.4g})",
            f"I^2   = {self.i2:.1f}% ({self.i2_low:.1f}% to {gt}{self.i2_high:.1f}%)",
            f"H^2   = {self.h2:.3f} ({self.h2_low:.3f} to {gt}{self.h2_high:.3f})",
        ]
        if self.ub_at_limit:
            lines.append(
                f"upper bounds at the search limit (tau^2 = {self.tau2_high:.4g}): the true bound "
                "is larger"
            )
        return "\n".join(lines)


def _bracket_root(
    f: Any, lo: Any, hi: Any, f_lo: Any, f_hi: Any, tol: Any = 1e-13, maxiter: Any = 200
) -> Any:
    """Vectorised Illinois (modified regula falsi) root of f in [lo, hi] with f(lo) f(hi) < 0."""
    lo, hi, f_lo, f_hi = (np.array(a, dtype=float, copy=True) for a in (lo, hi, f_lo, f_hi))
    x = lo.copy()
    side = np.zeros(lo.shape, dtype=np.int8)
    active = np.ones(lo.shape, dtype=bool)
    for _ in range(maxiter):
        idx = np.nonzero(active)[0]
        if idx.size == 0:
            break
        a, b, fa, fb = lo[idx], hi[idx], f_lo[idx], f_hi[idx]
        xn = (a * fb - b * fa) / (fb - fa)
        bad = ~np.isfinite(xn) | (xn <= np.minimum(a, b)) | (xn >= np.maximum(a, b))
        xn = np.where(bad, 0.5 * (a + b), xn)
        fx = f(xn, idx)
        same_lo = np.sign(fx) == np.sign(fa)
        # replace the endpoint with the same sign; Illinois: halve the retained endpoint's value
        lo[idx] = np.where(same_lo, xn, a)
        f_lo[idx] = np.where(same_lo, fx, np.where(side[idx] == 1, fa * 0.5, fa))
        hi[idx] = np.where(same_lo, b, xn)
        f_hi[idx] = np.where(same_lo, np.where(side[idx] == -1, fb * 0.5, fb), fx)
        side[idx] = np.where(same_lo, -1, 1)
        x[idx] = xn
        done = (fx == 0) | (np.abs(hi[idx] - lo[idx]) <= tol * (1 + np.abs(xn)))
        active[idx[done]] = False
    return x


def _prepare(yi: Any, vi: Any, method: Any, level: Any) -> Any:
    check_method(method, "z", level)
    if method in ("EE", "FE", "GENQ"):
        raise PlateauError(
            f"heterogeneity CIs need a random-effects model; method={method!r} has none (or needs "
            "weights)"
        )
    y, v, m, is_1d, _ = prepare_batch(yi, vi)
    mf = m.astype(float)
    X = mf[:, :, None]
    fit = _engine.fit(y, v, mf, X, method=method, test="z", level=0.95)
    return y, v, mf, X, is_1d, fit


def _result(
    fit: Any, lb: Any, ub: Any, at_limit: Any, ci_type: Any, method: Any, level: Any, is_1d: Any
) -> HeterogeneityCI:
    vt = fit["vt"]
    tau2 = fit["tau2"]

    def o(a: Any) -> Any:
        return as_output(a, is_1d)

    return HeterogeneityCI(
        tau2=o(tau2),
        tau2_low=o(lb),
        tau2_high=o(ub),
        tau=o(np.sqrt(tau2)),
        tau_low=o(np.sqrt(lb)),
        tau_high=o(np.sqrt(ub)),
        i2=o(fit["i2"]),
        i2_low=o(100 * lb / (vt + lb)),
        i2_high=o(100 * ub / (vt + ub)),
        h2=o(fit["h2"]),
        h2_low=o(lb / vt + 1),
        h2_high=o(ub / vt + 1),
        ci_type=ci_type,
        method=method,
        level=float(level),
        ub_at_limit=o(at_limit),
        batch=not is_1d,
    )


def qprofile_ci(yi: Any, vi: Any, *, method: str = "REML", level: float = 0.95) -> HeterogeneityCI:
    """Q-profile CIs for tau^2, tau, I^2 and H^2 (Viechtbauer 2007; metafor
    ``confint(type="QP")``)."""
    y, v, mf, X, is_1d, fit = _prepare(yi, vi, method, level)
    B = y.shape[0]
    dfr = fit["qe_df"]
    alpha = 1 - level
    crit_u = stats.chi2.isf(alpha / 2, dfr)
    crit_l = stats.chi2.ppf(alpha / 2, dfr)
    tmax = np.maximum(100.0, 10 * fit["tau2"])
    q0, _ = _engine.generalized_q(y, v, mf, X, np.zeros(B))
    qmax, _ = _engine.generalized_q(y, v, mf, X, tmax)
    lb = np.zeros(B)
    ub = np.zeros(B)
    at_limit = np.zeros(B, dtype=bool)
    # upper bound: Q(tau2) = crit_l
    need = (q0 >= crit_l) & (qmax <= crit_l)
    ub[(q0 >= crit_l) & (qmax > crit_l)] = tmax[(q0 >= crit_l) & (qmax > crit_l)]
    at_limit |= (q0 >= crit_l) & (qmax > crit_l)
    j = np.nonzero(need)[0]
    if j.size:
        ub[j] = _engine.solve_q(
            y[j], v[j], mf[j], X[j], crit_l[j], np.zeros(j.size), tmax[j], tol=1e-14
        )[0]
    # lower bound: Q(tau2) = crit_u
    both_max = qmax > crit_u
    lb[both_max] = tmax[both_max]
    ub[both_max] = tmax[both_max]
    at_limit |= both_max
    need = ~both_max & (q0 >= crit_u)
    j = np.nonzero(need)[0]
    if j.size:
        lb[j] = _engine.solve_q(
            y[j], v[j], mf[j], X[j], crit_u[j], np.zeros(j.size), tmax[j], tol=1e-14
        )[0]
    return _result(fit, lb, ub, at_limit, "QP", method, level, is_1d)


def profile_likelihood_ci(
    yi: Any, vi: Any, *, method: str = "REML", level: float = 0.95
) -> HeterogeneityCI:
    """Profile-likelihood CIs (Hardy & Thompson 1996; metafor ``confint(type="PL")``) for ML/REML
    fits."""
    if method not in ("REML", "ML"):
        raise PlateauError(
            f"profile-likelihood CIs are defined here for method='REML' or 'ML'; got {method!r}"
        )
    y, v, mf, X, is_1d, fit = _prepare(yi, vi, method, level)
    reml = method == "REML"
    B = y.shape[0]
    that = fit["tau2"]
    ll_hat = _engine.loglik(y, v, mf, X, that, reml)
    obj = stats.chi2.ppf(level, 1)

    def f(t: Any, idx: Any) -> Any:
        return -2 * (_engine.loglik(y[idx], v[idx], mf[idx], X[idx], t, reml) - ll_hat[idx]) - obj

    allr = np.arange(B)
    tmax = np.maximum(100.0, 10 * that)
    f0 = f(np.zeros(B), allr)
    fmax = f(tmax, allr)
    lb = np.zeros(B)
    j = np.nonzero(f0 > 0)[0]
    if j.size:
        lb[j] = _bracket_root(
            lambda t, i: f(t, j[i]), np.zeros(j.size), that[j], f0[j], np.full(j.size, -obj)
        )
    ub = tmax.copy()
    at_limit = fmax < 0
    j = np.nonzero(~at_limit)[0]
    if j.size:
        ub[j] = _bracket_root(
            lambda t, i: f(t, j[i]), that[j], tmax[j], np.full(j.size, -obj), fmax[j]
        )
    return _result(fit, lb, ub, at_limit, "PL", method, level, is_1d)


def tau2_confint(
    yi: Any, vi: Any, *, method: str = "REML", level: float = 0.95, ci_type: str = "QP"
) -> HeterogeneityCI:
    """CIs for tau^2, tau, I^2, H^2: ``ci_type="QP"`` (Q-profile) or ``"PL"`` (profile
    likelihood)."""
    if ci_type == "QP":
        return qprofile_ci(yi, vi, method=method, level=level)
    if ci_type == "PL":
        return profile_likelihood_ci(yi, vi, method=method, level=level)
    raise PlateauError(f"unknown ci_type {ci_type!r}; choose 'QP' or 'PL'")
