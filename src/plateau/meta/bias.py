"""Small-study effects and publication bias, as R metafor 3.8-1 computes them.

* :func:`egger_test` -- regression tests for funnel-plot asymmetry (metafor's ``regtest``):
  the classic weighted regression of Egger et al. (1997) (``model="lm"``) and the
  mixed-effects variants (``model="rma"``, any tau^2 estimator and test), with the predictors
  ``sei``, ``vi``, ``ni``, ``ninv``, ``sqrtni``, ``sqrtninv`` and the "limit estimate" (the
  intercept: the expected effect of an infinitely precise study).
* :func:`rank_correlation_test` -- Begg & Mazumdar's (1994) rank correlation test (``ranktest``).
* :func:`trim_and_fill` -- Duval & Tweedie's (2000) trim-and-fill (``trimfill``) with the L0
  and R0 estimators, the side chosen as metafor does.
* :func:`fail_safe_n` -- Rosenthal's (1979) fail-safe N (``fsn``), plus Orwin's and
  Rosenberg's variants.
* :func:`pet_peese` -- PET, PEESE and the conditional PET-PEESE estimator (Stanley &
  Doucouliagos 2014).

References
----------
Egger M, Davey Smith G, Schneider M, Minder C (1997). Bias in meta-analysis detected by a simple,
graphical test. BMJ 315:629-634.
Sterne JAC, Egger M (2005). Regression methods to detect publication and other bias in
meta-analysis. In: Rothstein, Sutton, Borenstein (eds) Publication Bias in Meta-Analysis,
Wiley, 99-110.
Begg CB, Mazumdar M (1994). Operating characteristics of a rank correlation test for
publication bias. Biometrics 50:1088-1101.
Duval S, Tweedie R (2000). Trim and fill: a simple funnel-plot-based method of testing and
adjusting for publication bias in meta-analysis. Biometrics 56:455-463; and A nonparametric
"trim and fill" method of accounting for publication bias in meta-analysis. JASA 95:89-98.
Rosenthal R (1979). The "file drawer problem" and tolerance for null results. Psychol Bull
86:638-641.
Orwin RG (1983). A fail-safe N for effect size in meta-analysis. J Educ Stat 8:157-159.
Rosenberg MS (2005). The file-drawer problem revisited: a general weighted method for
calculating fail-safe numbers in meta-analysis. Evolution 59:464-468.
Stanley TD, Doucouliagos H (2014). Meta-regression approximations to reduce publication
selection bias. Res Synth Methods 5:60-78.
Stanley TD (2017). Limitations of PET-PEESE and other meta-analysis methods. Soc Psychol
Personal Sci 8:581-591.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from scipy import stats

from plateau.errors import PlateauError
from plateau.meta import _engine
from plateau.meta._common import ReadOnlyArrays, jsonable, prepare_batch, warn_not_converged
from plateau.meta._resultdict import check_level, dataclass_dict, fmt, fmt_p
from plateau.meta.pool import PoolResult, check_method, pool

__all__ = [
    "EggerResult",
    "RankTestResult",
    "TrimFillResult",
    "FailSafeNResult",
    "PetPeeseResult",
    "egger_test",
    "rank_correlation_test",
    "trim_and_fill",
    "fail_safe_n",
    "pet_peese",
]

PREDICTORS = ("sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv")
LIMIT_PREDICTORS = ("sei", "vi", "ninv", "sqrtninv")


def _first(value: Any) -> float:
    arr = np.asarray(value, dtype=float)
    return float(arr.reshape(-1)[0]) if arr.size else float("nan")


def _out(value: Any, is_1d: bool) -> Any:
    arr = np.asarray(value)
    if not is_1d:
        return arr
    item = arr.reshape(-1)[0]
    return item.item() if isinstance(item, np.generic) else item


# --------------------------------------------------------------------------- regression tests


@dataclass(frozen=True)
class EggerResult(ReadOnlyArrays):
    """Regression test for funnel-plot asymmetry (metafor's ``regtest``).

    ``zval``/``pval`` test the coefficient of the predictor (a z statistic for ``model="rma"``
    with ``test="z"``, otherwise a t statistic on ``df`` degrees of freedom).  ``slope`` and
    ``slope_se`` are that coefficient and its standard error.  ``limit_estimate`` (with
    ``limit_ci_low``/``limit_ci_high``) is the intercept -- the estimate for a study with
    standard error 0 -- reported for the predictors sei, vi, ninv and sqrtninv (NaN
    otherwise).  ``tau2`` is the residual heterogeneity of the ``rma`` model (NaN for ``lm``).
    """

    model: str
    predictor: str
    method: str
    test: str
    zval: Any
    pval: Any
    df: Any
    slope: Any
    slope_se: Any
    limit_estimate: Any
    limit_se: Any
    limit_ci_low: Any
    limit_ci_high: Any
    tau2: Any
    k: Any
    level: float

    def to_dict(self) -> dict[str, Any]:
        """All fields, JSON-ready (NaN becomes None)."""
        return dataclass_dict(self)

    def summary(self) -> str:
        """metafor-like printout (first row of a batch)."""
        kind = (
            "weighted regression with multiplicative dispersion"
            if self.model == "lm"
            else f"mixed-effects meta-regression ({self.method}, test {self.test})"
        )
        stat = "z" if (self.model == "rma" and self.test == "z") else f"t({_first(self.df):g})"
        lines = [
            f"Regression test for funnel plot asymmetry (k = {int(_first(self.k))})",
            f"  model: {kind}; predictor: {self.predictor}",
            f"  test for asymmetry: {stat} = {fmt(_first(self.zval))}, "
            f"p = {fmt_p(_first(self.pval))}",
        ]
        if self.predictor in LIMIT_PREDICTORS:
            lines.append(
                f"  limit estimate (as sei -> 0): {fmt(_first(self.limit_estimate))} "
                f"(CI: {fmt(_first(self.limit_ci_low))}, "
                f"{fmt(_first(self.limit_ci_high))})"
            )
        return "\n".join(lines)


def _predictor_column(predictor: str, v: np.ndarray, ni: np.ndarray | None) -> np.ndarray:
    if predictor == "sei":
        return cast("np.ndarray", np.sqrt(v))
    if predictor == "vi":
        return v
    if ni is None:
        raise PlateauError(f"predictor {predictor!r} needs the sample sizes ni")
    if predictor == "ni":
        return ni
    if predictor == "ninv":
        return 1 / ni
    if predictor == "sqrtni":
        return cast("np.ndarray", np.sqrt(ni))
    return cast("np.ndarray", 1 / np.sqrt(ni))


def _check_full_rank(X: np.ndarray, m: np.ndarray, is_1d: bool) -> None:
    rank = np.array([np.linalg.matrix_rank(X[b][m[b]]) for b in range(X.shape[0])])
    bad = np.flatnonzero(rank < X.shape[2])
    if bad.size:
        where = "" if is_1d else f" (row {int(bad[0])})"
        raise PlateauError(
            "the predictor is constant across studies"
            + where
            + ": the regression test cannot be fitted"
        )


def egger_test(
    yi: Any,
    vi: Any,
    *,
    ni: Any = None,
    model: str = "rma",
    predictor: str = "sei",
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
) -> EggerResult:
    r"""Egger-type regression test for funnel-plot asymmetry (metafor's ``regtest``).

    The model :math:`y_i = \beta_0 + \beta_1 x_i + u_i + e_i` is fitted with the predictor
    :math:`x_i` = :math:`\sqrt{v_i}` (``"sei"``, the test of Egger et al. 1997), :math:`v_i`
    (``"vi"``), :math:`n_i`, :math:`1/n_i`, :math:`\sqrt{n_i}` or :math:`1/\sqrt{n_i}`;
    :math:`H_0: \beta_1 = 0` is the test for asymmetry.

    * ``model="lm"``: weighted least squares with weights :math:`1/v_i` and a multiplicative
      dispersion parameter (:math:`u_i = 0`, residual variance
      :math:`\phi v_i`, :math:`\hat\phi = \sum (y_i - \hat y_i)^2/v_i/(k-2)`), t test on
      :math:`k - 2` df.  With ``predictor="sei"`` this is exactly Egger's regression of the
      standard normal deviate :math:`y_i/\sqrt{v_i}` on precision :math:`1/\sqrt{v_i}`
      (the slope on sei here is Egger's intercept).
    * ``model="rma"``: mixed-effects meta-regression (additive heterogeneity, :math:`u_i \sim
      N(0, \tau^2)`) with the chosen tau^2 estimator and test (Sterne & Egger 2005).

    The intercept :math:`\hat\beta_0` is the "limit estimate" (the PET estimate of Stanley &
    Doucouliagos 2014 when ``predictor="sei"``, PEESE when ``"vi"``), reported with its CI
    (t on k - 2 df for ``lm``; as the model's test for ``rma``).

    Accepts 1-D arrays (one analysis) or 2-D arrays (rows, NaN for absent studies).
    """
    if model not in ("lm", "rma"):
        raise PlateauError(f"unknown model {model!r}; use 'lm' or 'rma'")
    if predictor not in PREDICTORS:
        raise PlateauError(f"unknown predictor {predictor!r}; use one of {', '.join(PREDICTORS)}")
    level = check_level(level)
    check_method(method, test, level)
    y, v, m, is_1d, _ = prepare_batch(yi, vi, min_k=3)
    n_arr = None
    if ni is not None:
        n_arr = np.atleast_2d(np.asarray(ni, dtype=float))
        if n_arr.shape != y.shape:
            raise PlateauError(f"ni has shape {np.shape(ni)} but yi has shape {np.shape(yi)}")
        bad = m & ~(np.isfinite(n_arr) & (n_arr > 0))
        if bad.any():
            raise PlateauError("ni must be positive sample sizes for every present study")
        n_arr = np.where(m, n_arr, 1.0)
    x = _predictor_column(predictor, v, n_arr)
    mf = m.astype(float)
    X = np.stack([mf, x * mf], axis=2)
    _check_full_rank(X, m, is_1d)
    k = m.sum(axis=1)
    if model == "lm":
        w = mf / v
        S = np.einsum("bki,bk,bkj->bij", X, w, X)
        S_inv = np.linalg.inv(S)
        coef = np.einsum("bij,bkj,bk,bk->bi", S_inv, X, w, y)
        resid = (y - np.einsum("bkj,bj->bk", X, coef)) * mf
        df = k - 2
        sigma2 = np.sum(w * resid**2, axis=1) / df
        vb = S_inv * sigma2[:, None, None]
        se = np.sqrt(np.diagonal(vb, axis1=1, axis2=2))
        tval = coef / se
        pval = 2 * stats.t.sf(np.abs(tval), df[:, None])
        crit = stats.t.isf((1 - level) / 2, df)
        ci_low = coef[:, 0] - crit * se[:, 0]
        ci_high = coef[:, 0] + crit * se[:, 0]
        tau2 = np.full(len(k), np.nan)
        df_out = df.astype(float)
        test_used = "t"
        method_used = "WLS"
    else:
        res = _engine.fit(y, v, mf, X, method=method, test=test, level=level)
        if not np.all(res["converged"]):
            warn_not_converged(
                f"the {method} estimator of tau^2 (regression test)",
                np.flatnonzero(~res["converged"]),
                is_1d,
                _engine.MAXITER,
            )
        coef, se = res["coef"], res["se"]
        tval, pval = res["zval"], res["pval"]
        ci_low, ci_high = res["ci_low"][:, 0], res["ci_high"][:, 0]
        tau2 = res["tau2"]
        df_out = res["ddf"].astype(float) if res["ddf"] is not None else np.full(len(k), np.nan)
        test_used = test
        method_used = method
    has_limit = predictor in LIMIT_PREDICTORS
    nan = np.full(len(k), np.nan)
    return EggerResult(
        model=model,
        predictor=predictor,
        method=method_used,
        test=test_used,
        zval=_out(tval[:, 1], is_1d),
        pval=_out(pval[:, 1], is_1d),
        df=_out(df_out, is_1d),
        slope=_out(coef[:, 1], is_1d),
        slope_se=_out(se[:, 1], is_1d),
        limit_estimate=_out(coef[:, 0] if has_limit else nan, is_1d),
        limit_se=_out(se[:, 0] if has_limit else nan, is_1d),
        limit_ci_low=_out(ci_low if has_limit else nan, is_1d),
        limit_ci_high=_out(ci_high if has_limit else nan, is_1d),
        tau2=_out(tau2, is_1d),
        k=_out(k, is_1d),
        level=level,
    )


# --------------------------------------------------------------------------- PET-PEESE


@dataclass(frozen=True)
class PetPeeseResult(ReadOnlyArrays):
    """PET, PEESE and the conditional PET-PEESE estimate (Stanley & Doucouliagos 2014).

    ``pet`` and ``peese`` are the two weighted-least-squares fits (:class:`EggerResult` with
    ``model="lm"`` and predictor ``sei`` / ``vi``); ``estimate`` (with CI) is PEESE's
    intercept when PET's test of :math:`H_0: \\beta_0 = 0` has p < ``alpha``, else PET's;
    ``used`` says which ("PET" or "PEESE").  ``pet_pval`` is that test's p-value.
    """

    estimate: Any
    se: Any
    ci_low: Any
    ci_high: Any
    used: Any
    pet_pval: Any
    alpha: float
    pet: EggerResult
    peese: EggerResult

    def to_dict(self) -> dict[str, Any]:
        """All fields, JSON-ready; ``pet`` and ``peese`` as nested dicts."""
        return dataclass_dict(self)

    def summary(self) -> str:
        """Short text (first row of a batch)."""
        used = self.used if isinstance(self.used, str) else str(np.asarray(self.used)[0])
        return "\n".join(
            [
                f"PET-PEESE (k = {int(_first(self.pet.k))}): {used} used "
                f"(PET intercept p = {fmt_p(_first(self.pet_pval))}, alpha = {self.alpha:g})",
                f"  estimate {fmt(_first(self.estimate))} (se {fmt(_first(self.se))}), "
                f"CI {fmt(_first(self.ci_low))} to {fmt(_first(self.ci_high))}",
                f"  PET {fmt(_first(self.pet.limit_estimate))}; "
                f"PEESE {fmt(_first(self.peese.limit_estimate))}",
            ]
        )


def pet_peese(yi: Any, vi: Any, *, alpha: float = 0.10, level: float = 0.95) -> PetPeeseResult:
    r"""PET-PEESE (Stanley & Doucouliagos 2014; Stanley 2017).

    PET: weighted least squares :math:`y_i = \beta_0 + \beta_1 \sqrt{v_i} + \varepsilon_i`,
    weights :math:`1/v_i`, multiplicative dispersion (= :func:`egger_test` with
    ``model="lm", predictor="sei"``).  PEESE: the same with :math:`v_i` as predictor.  The
    conditional estimator reports PEESE's intercept when PET's two-sided t test of
    :math:`\beta_0 = 0` (k - 2 df) has p < ``alpha`` (default 0.10, i.e. a one-sided 5% test,
    as Stanley 2017 and JASP), otherwise PET's intercept.
    """
    if not (0 < float(alpha) < 1):
        raise PlateauError(f"alpha must be in (0, 1), got {alpha!r}")
    pet = egger_test(yi, vi, model="lm", predictor="sei", level=level)
    peese = egger_test(yi, vi, model="lm", predictor="vi", level=level)
    est_pet, se_pet = np.asarray(pet.limit_estimate), np.asarray(pet.limit_se)
    t_pet = est_pet / se_pet
    df = np.asarray(pet.df)
    p_pet = 2 * stats.t.sf(np.abs(t_pet), df)
    use_peese = p_pet < alpha

    def pick(a: Any, b: Any) -> np.ndarray:
        return np.where(use_peese, np.asarray(b), np.asarray(a))

    is_1d = np.ndim(pet.zval) == 0
    used = np.where(use_peese, "PEESE", "PET")
    return PetPeeseResult(
        estimate=_out(pick(pet.limit_estimate, peese.limit_estimate), is_1d),
        se=_out(pick(pet.limit_se, peese.limit_se), is_1d),
        ci_low=_out(pick(pet.limit_ci_low, peese.limit_ci_low), is_1d),
        ci_high=_out(pick(pet.limit_ci_high, peese.limit_ci_high), is_1d),
        used=str(used.reshape(-1)[0]) if is_1d else used,
        pet_pval=_out(p_pet, is_1d),
        alpha=float(alpha),
        pet=pet,
        peese=peese,
    )


# --------------------------------------------------------------------------- rank correlation


@dataclass(frozen=True)
class RankTestResult(ReadOnlyArrays):
    """Begg & Mazumdar's rank correlation test: Kendall's tau (tau-b) and its p-value.

    ``exact`` tells whether the p-value is the exact permutation p-value (no ties) or the
    normal approximation with the tie-corrected variance.
    """

    tau: Any
    pval: Any
    k: Any
    exact: Any

    def to_dict(self) -> dict[str, Any]:
        """All fields, JSON-ready."""
        return dataclass_dict(self)

    def summary(self) -> str:
        """metafor-like printout (first row of a batch)."""
        return (
            f"Rank correlation test for funnel plot asymmetry (k = {int(_first(self.k))}): "
            f"Kendall's tau = {fmt(_first(self.tau))}, p = {fmt_p(_first(self.pval))}"
            f" ({'exact' if bool(np.asarray(self.exact).reshape(-1)[0]) else 'normal approx.'})"
        )


def _kendall_cdf(q: int, n: int) -> float:
    """P(T <= q) for the number T of concordant pairs among n items under independence.

    The distribution of inversions of a random permutation (Mahonian numbers), built by
    convolution; R's ``pkendall``.
    """
    if q < 0:
        return 0.0
    total = n * (n - 1) // 2
    if q >= total:
        return 1.0
    dist = np.array([1.0])
    for i in range(2, n + 1):
        new = np.zeros(dist.size + i - 1)
        for j in range(i):
            new[j : j + dist.size] += dist
        dist = new / i
    return float(dist[: q + 1].sum())


def _kendall_test(x: np.ndarray, y: np.ndarray, exact: bool) -> tuple[float, float, bool]:
    """Kendall's tau-b and two-sided p-value exactly as R's ``cor.test(method="kendall")``."""
    n = x.size
    dx = np.sign(x[:, None] - x[None, :])
    dy = np.sign(y[:, None] - y[None, :])
    iu = np.triu_indices(n, 1)
    s = float(np.sum(dx[iu] * dy[iu]))
    t0 = n * (n - 1) / 2

    def tie_counts(a: Any) -> np.ndarray:
        _, counts = np.unique(a, return_counts=True)
        return counts[counts > 1].astype(float)

    xt, yt = tie_counts(x), tie_counts(y)
    t1 = np.sum(xt * (xt - 1)) / 2
    t2 = np.sum(yt * (yt - 1)) / 2
    denom = math.sqrt((t0 - t1) * (t0 - t2))
    if denom == 0:
        return float("nan"), float("nan"), False
    tau = s / denom
    ties = min(np.unique(x).size, np.unique(y).size) < n
    if exact and not ties:
        q = round((tau + 1) * n * (n - 1) / 4)
        if q > n * (n - 1) / 4:
            p = 1 - _kendall_cdf(q - 1, n)
        else:
            p = _kendall_cdf(q, n)
        return tau, min(2 * p, 1.0), True
    s_adj = tau * math.sqrt((t0 - t1) * (t0 - t2))
    v0 = n * (n - 1) * (2 * n + 5)
    vt = np.sum(xt * (xt - 1) * (2 * xt + 5))
    vu = np.sum(yt * (yt - 1) * (2 * yt + 5))
    v1 = np.sum(xt * (xt - 1)) * np.sum(yt * (yt - 1))
    v2 = np.sum(xt * (xt - 1) * (xt - 2)) * np.sum(yt * (yt - 1) * (yt - 2))
    var_s = (v0 - vt - vu) / 18 + v1 / (2 * n * (n - 1)) + v2 / (9 * n * (n - 1) * (n - 2))
    z = s_adj / math.sqrt(var_s)
    p = 2 * min(stats.norm.cdf(z), stats.norm.sf(z))
    return tau, float(p), False


def rank_correlation_test(yi: Any, vi: Any, *, exact: bool = True) -> RankTestResult:
    r"""Begg & Mazumdar's (1994) rank correlation test, as metafor's ``ranktest``.

    Standardised deviates :math:`y_i^* = (y_i - \hat\theta)/\sqrt{v_i - 1/\sum w_j}` around the
    equal-effects estimate :math:`\hat\theta = \sum w_iy_i/\sum w_i` (:math:`w_i = 1/v_i`) are
    correlated with :math:`v_i` by Kendall's tau (tau-b).  The p-value is exact (the
    permutation distribution of Kendall's statistic) when there are no ties and ``exact``,
    otherwise the normal approximation with the tie-corrected variance of R's ``cor.test``.
    """
    y, v, m, is_1d, _ = prepare_batch(yi, vi, min_k=3)
    taus, pvals, exacts = [], [], []
    for row in range(y.shape[0]):
        yy, vv = y[row][m[row]], v[row][m[row]]
        w = 1 / vv
        theta = np.sum(w * yy) / np.sum(w)
        vb = 1 / np.sum(w)
        ystar = (yy - theta) / np.sqrt(vv - vb)
        tau, p, used_exact = _kendall_test(ystar, vv, exact)
        taus.append(tau)
        pvals.append(p)
        exacts.append(used_exact)
    k = m.sum(axis=1)
    return RankTestResult(
        tau=_out(np.array(taus), is_1d),
        pval=_out(np.array(pvals), is_1d),
        k=_out(k, is_1d),
        exact=_out(np.array(exacts), is_1d),
    )


# --------------------------------------------------------------------------- fail-safe N


@dataclass(frozen=True)
class FailSafeNResult(ReadOnlyArrays):
    """Fail-safe N (metafor's ``fsn``): the number of unpublished null studies needed.

    ``pval`` is the combined p-value of the observed studies (Rosenthal: one-sided Stouffer;
    Rosenberg: two-sided z of the equal-effects estimate; NaN for Orwin).  ``mean_effect`` is
    the (weighted) mean effect for Orwin and Rosenberg, ``target`` Orwin's target effect.
    """

    type: str
    fsn: Any
    alpha: float
    pval: Any
    mean_effect: Any
    target: Any
    k: Any

    def to_dict(self) -> dict[str, Any]:
        """All fields, JSON-ready."""
        return dataclass_dict(self)

    def summary(self) -> str:
        """metafor-like printout (first row of a batch)."""
        text = (
            f"Fail-safe N calculation using the {self.type} approach: "
            f"{int(_first(self.fsn)) if np.isfinite(_first(self.fsn)) else 'inf'}"
        )
        if self.type == "Orwin":
            return text + (
                f" (average effect {fmt(_first(self.mean_effect))}, target "
                f"{fmt(_first(self.target))})"
            )
        return text + f" (observed p = {fmt_p(_first(self.pval))}, alpha = {self.alpha:g})"


def _round_fsn(value: np.ndarray) -> np.ndarray:
    """metafor's rounding: ceiling unless within sqrt(machine eps) of an integer."""
    value = np.asarray(value, dtype=float)
    with np.errstate(invalid="ignore"):
        near = np.abs(value - np.round(value)) < np.sqrt(np.finfo(float).eps)
    return np.where(np.isinf(value) | near, np.round(value), np.ceil(value))


def fail_safe_n(
    yi: Any,
    vi: Any = None,
    *,
    type: str = "Rosenthal",  # noqa: A002 - metafor's argument name
    alpha: float = 0.05,
    target: float | None = None,
    weighted: bool = False,
) -> FailSafeNResult:
    r"""Fail-safe N (metafor's ``fsn``).

    * ``"Rosenthal"`` (1979), Stouffer's method: with :math:`z_i = y_i/\sqrt{v_i}` and
      :math:`\bar z = |\sum z_i|/\sqrt{k}`, :math:`N = \max(0, k(\bar z/z_{1-\alpha})^2 - k)`
      (one-sided :math:`\alpha`); ``pval`` = :math:`1 - \Phi(\bar z)`.
    * ``"Orwin"`` (1983): :math:`N = \max(0, k(\bar y - y_T)/y_T)` with the (weighted if
      ``weighted``) mean effect :math:`\bar y` and target :math:`y_T` (default
      :math:`\bar y/2`, sign aligned with :math:`\bar y`).
    * ``"Rosenberg"`` (2005): :math:`N = \max(0, k\,((\sum w_iy_i/z_{1-\alpha/2})^2 - \sum
      w_i)/\sum w_i)` with :math:`w_i = 1/v_i`.

    N is rounded up (metafor: ceiling unless within :math:`\sqrt{\epsilon}` of an integer).
    Accepts 1-D or 2-D (batch) arrays.
    """
    if type not in ("Rosenthal", "Orwin", "Rosenberg"):
        raise PlateauError(f"unknown fail-safe N type {type!r}; use Rosenthal, Orwin or Rosenberg")
    if not (0 < float(alpha) < 1):
        raise PlateauError(f"alpha must be in (0, 1), got {alpha!r}")
    if vi is None:
        if type != "Orwin" or weighted:
            raise PlateauError(f"vi (sampling variances) is required for type {type!r}")
        vi = np.where(np.isnan(np.asarray(yi, dtype=float)), np.nan, 1.0)
    y, v, m, is_1d, _ = prepare_batch(yi, vi, min_k=1)
    mf = m.astype(float)
    k = mf.sum(axis=1)
    nan = np.full(len(k), np.nan)
    pval, mean_es, tgt = nan, nan, nan
    if type == "Rosenthal":
        z = y / np.sqrt(v) * mf
        z_avg = np.abs(z.sum(axis=1) / np.sqrt(k))
        pval = stats.norm.sf(z_avg)
        fsn = np.maximum(0.0, k * (z_avg / stats.norm.isf(alpha)) ** 2 - k)
    elif type == "Orwin":
        w = mf / v if weighted else mf
        mean_es = np.sum(w * y, axis=1) / np.sum(w, axis=1)
        if target is None:
            tgt = mean_es / 2
        else:
            tgt = np.full(len(k), float(target))
            tgt = np.where(np.sign(tgt) != np.sign(mean_es), -tgt, tgt)
        with np.errstate(divide="ignore", invalid="ignore"):
            fsn = np.where(tgt == 0, np.inf, np.maximum(0.0, k * (mean_es - tgt) / tgt))
    else:
        w = mf / v
        sw = w.sum(axis=1)
        mean_es = np.sum(w * y, axis=1) / sw
        zval = mean_es / np.sqrt(1 / sw)
        w_p = (np.sum(w * y, axis=1) / stats.norm.isf(alpha / 2)) ** 2 - sw
        pval = 2 * stats.norm.sf(np.abs(zval))
        fsn = np.maximum(0.0, k * w_p / sw)
    return FailSafeNResult(
        type=type,
        fsn=_out(_round_fsn(fsn), is_1d),
        alpha=float(alpha),
        pval=_out(pval, is_1d),
        mean_effect=_out(mean_es, is_1d),
        target=_out(tgt, is_1d),
        k=_out(k.astype(int), is_1d),
    )


# --------------------------------------------------------------------------- trim and fill


@dataclass(frozen=True)
class TrimFillResult(ReadOnlyArrays):
    """Trim-and-fill (metafor's ``trimfill``).

    ``k0`` studies are estimated missing on ``side`` ("left" or "right") with standard error
    ``se_k0`` (and, for R0, the p-value ``p_k0`` of :math:`H_0: k_0 = 0`).  ``yi_filled`` /
    ``vi_filled`` are the imputed studies (mirror images around the trimmed estimate);
    ``pooled`` is the model refitted to the observed plus filled studies (the original model
    when ``k0 = 0``).  ``yi``, ``vi`` hold all studies, ``filled`` flags the imputed ones.
    """

    k0: int
    se_k0: float
    p_k0: float
    side: str
    estimator: str
    yi_filled: np.ndarray
    vi_filled: np.ndarray
    yi: np.ndarray
    vi: np.ndarray
    filled: np.ndarray
    pooled: PoolResult
    iterations: int

    def to_dict(self) -> dict[str, Any]:
        """All fields, JSON-ready; ``pooled`` as a nested dict."""
        out = {
            key: jsonable(getattr(self, key))
            for key in (
                "k0",
                "se_k0",
                "p_k0",
                "side",
                "estimator",
                "yi_filled",
                "vi_filled",
                "yi",
                "vi",
                "filled",
                "iterations",
            )
        }
        out["pooled"] = self.pooled.to_dict()
        return out

    def summary(self) -> str:
        """metafor-like printout."""
        p = self.pooled
        pct = f"{100 * p.level:g}%"
        lines = [
            f"Trim-and-fill ({self.estimator}): estimated number of missing studies on the "
            f"{self.side} side: {self.k0} (SE = {fmt(self.se_k0)})"
        ]
        if self.estimator == "R0":
            lines[0] += f", p = {fmt_p(self.p_k0)}"
        lines.append(
            f"  adjusted estimate {fmt(p.estimate)} (se {fmt(p.se)}), {pct} CI "
            f"{fmt(p.ci_low)} to {fmt(p.ci_high)}; k = {p.k}, tau2 = {fmt(p.tau2)}"
        )
        return "\n".join(lines)


def trim_and_fill(
    yi: Any,
    vi: Any,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    side: str | None = None,
    estimator: str = "L0",
    maxiter: int = 100,
) -> TrimFillResult:
    r"""Duval & Tweedie's (2000) trim-and-fill, step for step as metafor's ``trimfill``.

    Side: unless given, the side with the missing studies is "right" if the slope of the
    Egger-type meta-regression of :math:`y_i` on :math:`\sqrt{v_i}` (same tau^2 estimator) is
    negative, else "left" (for "right" the effects are mirrored first).  Iteration, with the
    k effects sorted: fit the model to the :math:`k - k_0` smallest, centre all effects at
    that estimate, rank :math:`|y_i - \hat\theta|` (ties: first occurrence first) and sign
    the ranks, then

    * L0: :math:`k_0 = (4 S_r - k(k+1))/(2k - 1)`, :math:`S_r` the sum of the positive
      signed ranks, :math:`\mathrm{SE} = 4\sqrt{\mathrm{Var}(S_r)}/(2k-1)`,
      :math:`\mathrm{Var}(S_r) = (k(k+1)(2k+1) + 10k_0^3 + 27k_0^2 + 17k_0 - 18kk_0^2 -
      18kk_0 + 6k^2k_0)/24`;
    * R0: :math:`k_0 = k - \gamma - 1`, :math:`\gamma` the largest rank of a negative
      centred effect, :math:`\mathrm{SE} = \sqrt{2\max(0, k_0) + 2}`;

    rounded and truncated at 0, until :math:`k_0` repeats.  The :math:`k_0` largest effects
    are mirrored around the last trimmed estimate, :math:`2\hat\theta - y_i` (with their
    variances), and the model is refitted with ``method``, ``test`` and ``level``.
    """
    if estimator not in ("L0", "R0"):
        raise PlateauError(f"unknown trim-and-fill estimator {estimator!r}; use 'L0' or 'R0'")
    if side is not None and side not in ("left", "right"):
        raise PlateauError(
            f"side must be 'left', 'right' or None (chosen from the data); got {side!r}"
        )
    check_method(method, test, level)
    y2, v2, m, is_1d, _ = prepare_batch(yi, vi, min_k=3)
    if not is_1d:
        raise PlateauError(
            "trim_and_fill takes one meta-analysis (1-D yi and vi); loop over the rows of a batch"
        )
    y_obs = y2[0][m[0]]
    v_obs = v2[0][m[0]]
    k = y_obs.size
    if side is None:
        X = np.stack([np.ones(k), np.sqrt(v_obs)], axis=1)[None]
        if np.linalg.matrix_rank(X[0]) < 2:
            raise PlateauError(
                "all sampling variances are equal, so the side of the missing "
                "studies cannot be estimated; pass side='left' or 'right'"
            )
        else:
            fit = _engine.fit(
                y_obs[None], v_obs[None], np.ones((1, k)), X, method=method, test="z", level=0.95
            )
            side = "right" if fit["coef"][0, 1] < 0 else "left"
    sign = -1.0 if side == "right" else 1.0
    ys = sign * y_obs
    order = np.argsort(ys, kind="stable")
    ys, vs = ys[order], v_obs[order]
    k0_prev, k0, iterations = -1, 0, 0
    beta = float("nan")
    se_k0 = float("nan")
    centred = ys
    while abs(k0 - k0_prev) > 0:
        k0_prev = k0
        iterations += 1
        if iterations > maxiter:
            raise PlateauError(f"trim-and-fill did not converge within {maxiter} iterations")
        kept = k - k0
        if kept >= 2:
            beta = float(pool(ys[:kept], vs[:kept], method=method).estimate)
        else:
            beta = float(ys[0])
        centred = ys - beta
        ranks = np.empty(k)
        ranks[np.argsort(np.abs(centred), kind="stable")] = np.arange(1, k + 1)
        signed = np.sign(centred) * ranks
        if estimator == "R0":
            negative = signed[signed < 0]
            if negative.size == 0:
                raise PlateauError(
                    "trim-and-fill R0: no effect lies below the estimate; k0 is undefined"
                )
            k0_raw = (k - np.max(-negative)) - 1
            se_k0 = math.sqrt(2 * max(0.0, k0_raw) + 2)
        else:
            s_r = float(np.sum(signed[signed > 0]))
            k0_raw = (4 * s_r - k * (k + 1)) / (2 * k - 1)
            var_sr = (
                k * (k + 1) * (2 * k + 1)
                + 10 * k0_raw**3
                + 27 * k0_raw**2
                + 17 * k0_raw
                - 18 * k * k0_raw**2
                - 18 * k * k0_raw
                + 6 * k**2 * k0_raw
            ) / 24
            se_k0 = 4 * math.sqrt(var_sr) / (2 * k - 1) if var_sr >= 0 else float("nan")
        k0 = int(max(0, _round_half_even(k0_raw)))
        se_k0 = se_k0 if math.isnan(se_k0) else max(0.0, se_k0)
        if k0 >= k:
            raise PlateauError(
                "trim-and-fill estimated as many missing studies as observed; "
                "the method cannot be applied to these data"
            )
    if estimator == "R0":
        m_ = np.arange(-1, k0)
        p_k0 = float(1 - np.sum(_choose(m_ + 1, m_ + 1) * 0.5 ** (m_ + 2)))
    else:
        p_k0 = float("nan")
    if k0 > 0:
        mirrored = -(centred - beta)  # = 2*beta - ys in the (possibly mirrored) scale
        fill_y = sign * mirrored[k - k0 :]
        fill_v = vs[k - k0 :]
        y_all = np.concatenate([y_obs, fill_y])
        v_all = np.concatenate([v_obs, fill_v])
    else:
        fill_y = np.empty(0)
        fill_v = np.empty(0)
        y_all, v_all = y_obs, v_obs
    pooled = pool(y_all, v_all, method=method, test=test, level=level)
    return TrimFillResult(
        k0=k0,
        se_k0=float(se_k0),
        p_k0=p_k0,
        side=side,
        estimator=estimator,
        yi_filled=fill_y,
        vi_filled=fill_v,
        yi=y_all,
        vi=v_all,
        filled=np.concatenate([np.zeros(k, dtype=bool), np.ones(k0, dtype=bool)]),
        pooled=pooled,
        iterations=iterations,
    )


def _round_half_even(x: float) -> float:
    """R's ``round`` (IEC 60559: halves to even), as Python's ``round``."""
    return float(round(x))


def _choose(n: np.ndarray, r: np.ndarray) -> np.ndarray:
    from scipy.special import comb

    return cast("np.ndarray", comb(n, r, exact=False))
