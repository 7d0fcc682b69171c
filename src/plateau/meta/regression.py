"""Mixed-effects meta-regression and subgroup analysis (metafor ``rma.uni(yi, vi, mods=...)``).

Model (Raudenbush 2009; Thompson & Higgins 2002): y_i = x_i' beta + u_i + e_i,
u_i ~ N(0, tau^2), e_i ~ N(0, v_i).  beta_hat = (X'WX)^{-1} X'Wy with W = diag(1/(v_i + tau^2)),
Var(beta_hat) = (X'WX)^{-1} (times s^2 = sum w_i r_i^2/(k-p) under Knapp & Hartung 2003).
The omnibus test QM = b' V^{-1} b of the non-intercept coefficients is chi^2_m under
``test="z"`` and F(m, k-p) (QM/m) under ``test="knha"``/``"adhoc"``.  QE = residual
heterogeneity (weights 1/v_i) on k - p df.  R^2 = max(0, 100 (tau^2_0 - tau^2)/tau^2_0) with
tau^2_0 from the intercept-only model (Raudenbush 2009; Lopez-Lopez et al. 2014).

Subgroups (Borenstein et al. 2009, ch. 19): ``tau2="common"`` fits one mixed-effects model with
the subgroup indicators (one tau^2; QM tests the differences between subgroups);
``tau2="separate"`` pools each subgroup on its own (own tau^2) and tests the differences with
Q_between = sum_g (theta_g - theta_bar)^2 / se_g^2 on G - 1 df (theta_bar the inverse-variance
mean of the subgroup estimates), as R meta does with ``tau.common = FALSE``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special, stats

from plateau.errors import PlateauError
from plateau.meta import _engine
from plateau.meta._common import (
    MissingStudyWarning,
    ReadOnlyArrays,
    as_output,
    jsonable,
    prepare_batch,
    warn_not_converged,
    where_text,
)
from plateau.meta.pool import check_method, pool

__all__ = [
    "meta_regression",
    "MetaRegressionResult",
    "subgroup_analysis",
    "SubgroupResult",
    "RegressionPrediction",
]


def _design(X: Any, y_shape: Any, mask: Any, intercept: bool, is_1d: bool) -> np.ndarray:
    B, k = y_shape
    Xa = np.asarray(X, dtype=float)
    if Xa.ndim == 1:
        Xa = Xa[:, None]
    if Xa.ndim == 2:
        if Xa.shape[0] != k:
            raise PlateauError(
                f"X has {Xa.shape[0]} rows but there are {k} studies (columns of yi)"
            )
        Xa = np.broadcast_to(Xa, (B,) + Xa.shape)
    elif Xa.ndim == 3:
        if Xa.shape[:2] != (B, k):
            raise PlateauError(
                f"X has shape {Xa.shape}; a batch design must be (B, k, p) = ({B}, {k}, p)"
            )
    else:
        raise PlateauError(f"X must be (k,), (k, p) or (B, k, p); got {Xa.ndim}-D")
    bad = mask[:, :, None] & ~np.isfinite(Xa)
    if bad.any():
        r, c, _ = np.nonzero(bad)
        raise PlateauError(
            "X has missing or non-finite values for present studies at "
            f"{where_text(r, c, not is_1d)}"
        )
    if intercept:
        Xa = np.concatenate([np.ones((B, k, 1)), Xa], axis=2)
    Xa = np.where(mask[:, :, None], Xa, 0.0)
    return Xa


def _check_rank(X: Any, mask: Any, is_1d: Any) -> None:
    p = X.shape[2]
    k = mask.sum(1)
    few = np.nonzero(k < p + 1)[0]
    if few.size:
        raise PlateauError(
            f"meta-regression with p = {p} coefficients needs at least p + 1 = {p + 1} studies; "
            f"k = {int(k[few[0]])}" + ("" if is_1d else f" in {where_text(few, None, True)}")
        )
    norms = np.sqrt(np.einsum("bkp,bkp->bp", X, X))
    Xn = X / np.where(norms > 0, norms, 1.0)[:, None, :]
    ev = np.linalg.eigvalsh(np.einsum("bkp,bkq->bpq", Xn, Xn))  # columns scaled to unit length
    deficient = np.nonzero((ev[:, 0] <= 1e-12) | (norms == 0).any(axis=1))[0]
    if deficient.size:
        raise PlateauError(
            "the design matrix X is not of full column rank (collinear or constant moderators)"
            + ("" if is_1d else f" in {where_text(deficient, None, True)}")
        )


@dataclass(frozen=True)
class RegressionPrediction(ReadOnlyArrays):
    """Predicted values x_new' beta with CI and prediction interval (metafor ``predict.rma``)."""

    pred: Any
    se: Any
    ci_low: Any
    ci_high: Any
    pi_low: Any
    pi_high: Any
    level: float

    def to_dict(self) -> dict[str, Any]:
        return {
            k: jsonable(getattr(self, k))
            for k in ("pred", "se", "ci_low", "ci_high", "pi_low", "pi_high", "level")
        }

    def summary(self) -> str:
        pred = np.atleast_1d(self.pred)
        return f"{pred.size} predictions, first {float(pred.flat[0]):.4f}"


@dataclass(frozen=True)
class MetaRegressionResult(ReadOnlyArrays):
    """Result of :func:`meta_regression`; coefficient arrays are (p,) for one analysis, (B, p) for a
    batch.

    ``zval`` holds the Wald z statistics (t statistics on ``df`` df under knha/adhoc; ``tval`` is
    the same array).  ``qm_df`` is (m, k - p) under knha/adhoc (F test) and (m, None) otherwise.
    """

    coef: Any
    se: Any
    vcov: Any
    zval: Any
    pval: Any
    ci_low: Any
    ci_high: Any
    tau2: Any
    se_tau2: Any
    i2: Any
    h2: Any
    r2: Any
    qe: Any
    qe_df: Any
    qe_pval: Any
    qm: Any
    qm_df: Any
    qm_pval: Any
    k: Any
    p: int
    method: str
    test: str
    level: float
    intercept: bool
    converged: Any
    iterations: Any
    df: Any = None
    batch: bool = False

    @property
    def tval(self) -> Any:
        return self.zval

    def predict(self, X_new: Any, level: float | None = None) -> RegressionPrediction:
        """Predictions for new moderator values (without the intercept column when ``intercept``).

        pred = x' b, se = sqrt(x' V x), CI pred +- c se, PI pred +- c sqrt(se^2 + tau^2) with c the
        test's critical value (metafor ``predict.rma`` defaults).
        """
        level = self.level if level is None else level
        if not (0 < level < 1):
            raise PlateauError(f"level must be in (0, 1); got {level!r}")
        Xn = np.asarray(X_new, dtype=float)
        if Xn.ndim == 1:
            Xn = Xn[:, None] if (self.p - int(self.intercept)) == 1 else Xn[None, :]
        if self.intercept:
            Xn = np.concatenate([np.ones((Xn.shape[0], 1)), Xn], axis=1)
        if Xn.shape[1] != self.p or not np.all(np.isfinite(Xn)):
            raise PlateauError(
                f"X_new must have {self.p - int(self.intercept)} finite moderator columns; got "
                f"shape {np.shape(X_new)}"
            )
        coef = np.atleast_2d(self.coef)
        vb = self.vcov if self.batch else np.asarray(self.vcov)[None]
        tau2 = np.atleast_1d(self.tau2)
        pred = coef @ Xn.T  # (B, n)
        se = np.sqrt(np.einsum("np,bpq,nq->bn", Xn, vb, Xn))
        alpha = 1 - level
        if self.test == "z":
            crit = np.full((coef.shape[0], 1), stats.norm.isf(alpha / 2))
        else:
            crit = stats.t.isf(alpha / 2, np.atleast_1d(self.df))[:, None]
        half_pi = crit * np.sqrt(se**2 + tau2[:, None])
        out = [pred, se, pred - crit * se, pred + crit * se, pred - half_pi, pred + half_pi]
        if not self.batch:
            out = [o[0] for o in out]
        p0, s0, c_lo, c_hi, p_lo, p_hi = out
        return RegressionPrediction(p0, s0, c_lo, c_hi, p_lo, p_hi, level=float(level))

    def to_dict(self) -> dict[str, Any]:
        keys = [
            "coef",
            "se",
            "vcov",
            "zval",
            "pval",
            "ci_low",
            "ci_high",
            "tau2",
            "se_tau2",
            "i2",
            "h2",
            "r2",
            "qe",
            "qe_df",
            "qe_pval",
            "qm",
            "qm_df",
            "qm_pval",
            "k",
            "p",
            "method",
            "test",
            "level",
            "intercept",
            "converged",
            "iterations",
            "df",
        ]
        return {k: jsonable(getattr(self, k)) for k in keys}

    def summary(self) -> str:
        if self.batch:
            return (
                f"{len(self.tau2)} meta-regressions ({self.method}, test={self.test}), p = "
                f"{self.p}; median tau^2 {np.median(self.tau2):.4g}"
            )
        stat = "z" if self.test == "z" else "t"
        lines = [
            f"Mixed-effects meta-regression ({self.method}), k = {self.k}, p = {self.p}, test = "
            f"{self.test}",
            f"tau^2 = {self.tau2:.4g} (se {self.se_tau2:.4g}), I^2 = {self.i2:.1f}%, R^2 = "
            + ("n/a" if self.r2 is None or np.isnan(self.r2) else f"{self.r2:.1f}%"),
            f"QE({self.qe_df}) = {self.qe:.3f}, p = {self.qe_pval:.4g}",
        ]
        if self.qm is not None:
            lines.append(f"QM = {self.qm:.3f} on {self.qm_df}, p = {self.qm_pval:.4g}")
        for j in range(self.p):
            lines.append(
                f"  b[{j}] = {self.coef[j]:.4f} (se {self.se[j]:.4f}), {stat} = "
                f"{self.zval[j]:.3f}, p = {self.pval[j]:.4g}, CI {self.ci_low[j]:.4f} to "
                f"{self.ci_high[j]:.4f}"
            )
        return "\n".join(lines)


def _r2(
    y: Any, v: Any, mf: Any, method: Any, test: Any, level: Any, tau2: Any, X: Any, intercept: Any
) -> Any:
    B = y.shape[0]
    if not intercept or X.shape[2] == 1:
        return np.full(B, np.nan)
    if method in ("EE", "FE"):
        # metafor: adjusted R^2 of the weighted least-squares fit (weights 1/v)
        a = mf / v
        Pm = _engine.Projection(y, X, a)
        P0 = _engine.Projection(y, mf[:, :, None], a)
        rss, tss = Pm.quad(), P0.quad()
        k = mf.sum(1)
        p = X.shape[2]
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = 1 - (1 - (1 - rss / tss)) * (k - 1) / (k - p)
        return np.where(tss > 0, np.maximum(0.0, 100 * r2), 0.0)
    res0 = _engine.fit(y, v, mf, mf[:, :, None], method=method, test=test, level=level)
    t0 = res0["tau2"]
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(t0 > 0, np.maximum(0.0, 100 * (t0 - tau2) / t0), 0.0)
    return r2


def meta_regression(
    yi: Any,
    vi: Any,
    X: Any,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    intercept: bool = True,
    tau2: Any = None,
) -> MetaRegressionResult:
    """Mixed-effects meta-regression of ``yi`` (variances ``vi``) on moderators ``X``.

    Parameters
    ----------
    yi, vi : (k,) or (B, k) arrays (NaN in both where a study is absent from a batch row)
    X : (k,), (k, p) shared by all rows, or (B, k, p)
        Moderators; an intercept column is prepended when ``intercept`` is true.
    method, test, level : as :func:`plateau.meta.pool` (GENQ is not available here).
    tau2 : float or (B,) array, optional
        Fix the residual heterogeneity at this value (metafor's ``tau2=``).
    """
    check_method(method, test, level)
    if method == "GENQ":
        raise PlateauError("method='GENQ' needs user weights and is available in pool() only")
    y, v, m, is_1d, _ = prepare_batch(yi, vi)
    mf = m.astype(float)
    Xd = _design(X, y.shape, m, intercept, is_1d)
    _check_rank(Xd, m, is_1d)
    p = Xd.shape[2]
    btt = list(range(1, p)) if intercept else list(range(p))
    tau2_fixed = None
    if tau2 is not None and method not in ("EE", "FE"):
        tau2_fixed = np.asarray(tau2, dtype=float)
        if (
            tau2_fixed.ndim > 1
            or (tau2_fixed.ndim == 1 and tau2_fixed.shape[0] != y.shape[0])
            or not np.all(np.isfinite(tau2_fixed))
            or np.any(tau2_fixed < 0)
        ):
            raise PlateauError(
                f"tau2 must be a finite value >= 0 (or one per analysis); got {tau2!r}"
            )
        tau2_fixed = np.broadcast_to(tau2_fixed, (y.shape[0],))
    res = _engine.fit(
        y, v, mf, Xd, method=method, test=test, level=level, btt=btt or None, tau2_fixed=tau2_fixed
    )
    conv = res["converged"]
    if not conv.all():
        warn_not_converged(
            f"the {method} estimator of tau^2", np.nonzero(~conv)[0], is_1d, _engine.MAXITER
        )
    r2 = _r2(y, v, mf, method, test, level, res["tau2"], Xd, intercept)
    B = y.shape[0]
    qm = res.get("qm", np.full(B, np.nan))
    qm_p = res.get("qm_pval", np.full(B, np.nan))
    if "qm_df" in res:
        m_, d2 = res["qm_df"]
        qm_df = (
            np.stack([np.full(B, m_), d2], axis=1).astype(float)
            if d2 is not None
            else np.stack([np.full(B, float(m_)), np.full(B, np.nan)], axis=1)
        )
    else:
        qm_df = np.full((B, 2), np.nan)
    df = res["ddf"] if res["ddf"] is not None else np.full(B, np.nan)

    def o(a: Any) -> Any:
        return as_output(a, is_1d)

    qm_df_out = qm_df[0] if is_1d else qm_df
    if is_1d:
        qm_df_out = (
            int(qm_df_out[0]) if np.isfinite(qm_df_out[0]) else None,
            int(qm_df_out[1]) if np.isfinite(qm_df_out[1]) else None,
        )
    return MetaRegressionResult(
        coef=o(res["coef"]),
        se=o(res["se"]),
        vcov=o(res["vb"]),
        zval=o(res["zval"]),
        pval=o(res["pval"]),
        ci_low=o(res["ci_low"]),
        ci_high=o(res["ci_high"]),
        tau2=o(res["tau2"]),
        se_tau2=o(res["se_tau2"]),
        i2=o(res["i2"]),
        h2=o(res["h2"]),
        r2=o(r2),
        qe=o(res["qe"]),
        qe_df=o(res["qe_df"].astype(np.int64)),
        qe_pval=o(res["qe_pval"]),
        qm=o(qm),
        qm_df=qm_df_out,
        qm_pval=o(qm_p),
        k=o(res["k"]),
        p=p,
        method=method,
        test=test,
        level=float(level),
        intercept=intercept,
        converged=o(conv),
        iterations=o(res["iterations"]),
        df=o(df.astype(float)),
        batch=not is_1d,
    )


@dataclass(frozen=True)
class SubgroupResult(ReadOnlyArrays):
    """Per-subgroup estimates and the test of subgroup differences.

    Per-level arrays are (G,) for one analysis and (B, G) for a batch, ordered as ``levels``
    (sorted unique group labels).  ``tau2`` is one value (common) or one per level (separate).
    ``q_between`` is QM (common; an F statistic under knha/adhoc with ``q_between_df`` =
    (G-1, k-G)) or the Q-between statistic (separate; chi^2 on G-1 df).
    """

    levels: tuple[Any, ...]
    estimate: Any
    se: Any
    ci_low: Any
    ci_high: Any
    pval: Any
    k: Any
    tau2: Any
    q_between: Any
    q_between_df: Any
    q_between_pval: Any
    tau2_mode: str
    method: str
    test: str
    level: float
    batch: bool = False

    def to_dict(self) -> dict[str, Any]:
        keys = [
            "levels",
            "estimate",
            "se",
            "ci_low",
            "ci_high",
            "pval",
            "k",
            "tau2",
            "q_between",
            "q_between_df",
            "q_between_pval",
            "tau2_mode",
            "method",
            "test",
            "level",
        ]
        return {k: jsonable(getattr(self, k)) for k in keys}

    def summary(self) -> str:
        if self.batch:
            return (
                f"{len(np.atleast_1d(self.q_between))} subgroup analyses over "
                f"{len(self.levels)} levels ({self.tau2_mode} tau^2)"
            )
        lines = [f"Subgroup analysis ({self.method}, {self.tau2_mode} tau^2, test = {self.test})"]
        for j, lev in enumerate(self.levels):
            t2 = self.tau2 if np.ndim(self.tau2) == 0 else self.tau2[j]
            lines.append(
                f"  {lev}: k = {self.k[j]}, estimate {self.estimate[j]:.4f} "
                f"(CI {self.ci_low[j]:.4f} to {self.ci_high[j]:.4f}), tau^2 = {t2:.4g}"
            )
        lines.append(
            f"Test of subgroup differences: {self.q_between:.3f} on {self.q_between_df}, p = "
            f"{self.q_between_pval:.4g}"
        )
        return "\n".join(lines)


def _missing_label(x: Any) -> bool:
    """None, NaN (float or numpy) or pandas' NA/NaT count as a missing subgroup label."""
    if x is None:
        return True
    try:
        return bool(x != x)  # NaN, pd.NA raises TypeError in bool()
    except TypeError:
        return True


def subgroup_analysis(
    yi: Any,
    vi: Any,
    groups: Any,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    tau2: str = "common",
) -> SubgroupResult:
    """Subgroup analysis with a common or separate tau^2 (see the module docstring).

    ``groups`` holds one label per study (shared by all rows of a batch).
    """
    check_method(method, test, level)
    if tau2 not in ("common", "separate"):
        raise PlateauError(f"tau2 must be 'common' or 'separate'; got {tau2!r}")
    if method == "GENQ":
        raise PlateauError("method='GENQ' needs user weights and is available in pool() only")
    y, v, m, is_1d, _ = prepare_batch(yi, vi)
    raw = list(groups) if np.ndim(groups) == 1 else None  # before numpy turns NaN into 'nan'
    g = np.asarray(groups)
    if raw is None or g.ndim != 1 or g.shape[0] != y.shape[1]:
        raise PlateauError(
            f"groups must hold one label per study ({y.shape[1]}); got shape {g.shape}"
        )
    missing = np.array([_missing_label(x) for x in raw], dtype=bool)
    if missing.any():
        # as metafor (studies with NA in a moderator are omitted, with a warning)
        cols = np.nonzero(missing)[0]
        warnings.warn(
            f"groups: label missing (None/NaN) for {where_text(np.zeros_like(cols), cols, False)}; "
            f"{'this study is' if cols.size == 1 else 'these studies are'} left out of the "
            "subgroup analysis",
            MissingStudyWarning,
            stacklevel=2,
        )
        keep = ~missing
        y, v, m = y[:, keep], v[:, keep], m[:, keep]
        g = np.asarray([x for x, miss in zip(raw, missing, strict=True) if not miss])
        if m.shape[1] == 0 or (m.sum(1) < 2).any():
            raise PlateauError(
                "fewer than 2 studies with a subgroup label remain after leaving out the studies "
                "with a missing label"
            )
    levels = tuple(sorted(set(g.tolist()), key=lambda s: (str(type(s)), s)))
    if len(levels) < 2:
        raise PlateauError("groups has a single level; a subgroup analysis needs at least 2")
    onehot = np.stack([(g == lev) for lev in levels], axis=1).astype(float)  # (k, G)
    kg = np.einsum("bk,kg->bg", m.astype(float), onehot).astype(np.int64)
    B, G = kg.shape
    if tau2 == "common":
        empty = np.nonzero((kg < 1).any(axis=1))[0]
        if empty.size:
            raise PlateauError(
                "a subgroup has no studies"
                + ("" if is_1d else f" in {where_text(empty, None, True)}")
            )
        yy = np.where(m, y, np.nan)
        vv = np.where(m, v, np.nan)
        res = meta_regression(
            yy if not is_1d else yy[0],
            vv if not is_1d else vv[0],
            onehot[:, 1:],
            method=method,
            test=test,
            level=level,
            intercept=True,
        )
        pred = res.predict(np.eye(G)[:, 1:] if G > 2 else np.eye(G)[:, 1:2], level=level)
        se = np.asarray(pred.se)
        if test == "z":
            pv = 2 * special.ndtr(-np.abs(np.asarray(pred.pred) / se))
        else:
            df = np.asarray(res.df)
            pv = 2 * stats.t.sf(np.abs(np.asarray(pred.pred) / se), df if is_1d else df[:, None])
        return SubgroupResult(
            levels=levels,
            estimate=pred.pred,
            se=pred.se,
            ci_low=pred.ci_low,
            ci_high=pred.ci_high,
            pval=pv,
            k=as_output(kg, is_1d),
            tau2=res.tau2,
            q_between=res.qm,
            q_between_df=res.qm_df,
            q_between_pval=res.qm_pval,
            tau2_mode="common",
            method=method,
            test=test,
            level=float(level),
            batch=not is_1d,
        )
    few = np.nonzero((kg < 1).any(axis=1))[0]
    if few.size:
        lev = [levels[j] for j in np.nonzero(kg[few[0]] < 1)[0]]
        raise PlateauError(
            f"separate-tau2 subgroup fits need at least 1 study per subgroup; subgroup(s) {lev} "
            "have none" + ("" if is_1d else f" in {where_text(few, None, True)}")
        )
    est = np.empty((B, G))
    se = np.empty((B, G))
    lo = np.empty((B, G))
    hi = np.empty((B, G))
    pv = np.empty((B, G))
    t2 = np.empty((B, G))
    for j, lev in enumerate(levels):  # loop over subgroups (few), each a vectorised batch fit
        cols = np.nonzero(g == lev)[0]
        yj = np.where(m, y, np.nan)[:, cols]
        vj = np.where(m, v, np.nan)[:, cols]
        single = kg[:, j] == 1
        if (~single).any():
            r = pool(yj[~single], vj[~single], method=method, test=test, level=level)
            rows = ~single
            est[rows, j], se[rows, j], lo[rows, j], hi[rows, j], pv[rows, j], t2[rows, j] = (
                r.estimate,
                r.se,
                r.ci_low,
                r.ci_high,
                r.pval,
                r.tau2,
            )
        if single.any():
            # a subgroup of one study (as metafor's rma with k = 1): tau2 = 0, the study's own
            # estimate and standard error, Wald-type z interval and test whatever ``test`` is
            y1 = np.nansum(yj[single], axis=1)
            s1 = np.sqrt(np.nansum(vj[single], axis=1))
            zc = stats.norm.ppf(0.5 + float(level) / 2.0)
            est[single, j], se[single, j], t2[single, j] = y1, s1, 0.0
            lo[single, j], hi[single, j] = y1 - zc * s1, y1 + zc * s1
            pv[single, j] = 2 * stats.norm.sf(np.abs(y1 / s1))
    w = 1 / se**2
    mean = (w * est).sum(1) / w.sum(1)
    qb = (w * (est - mean[:, None]) ** 2).sum(1)
    qb_p = stats.chi2.sf(qb, G - 1)

    def o(a: Any) -> Any:
        return as_output(a, is_1d)

    return SubgroupResult(
        levels=levels,
        estimate=o(est),
        se=o(se),
        ci_low=o(lo),
        ci_high=o(hi),
        pval=o(pv),
        k=o(kg),
        tau2=o(t2),
        q_between=o(qb),
        q_between_df=G - 1,
        q_between_pval=o(qb_p),
        tau2_mode="separate",
        method=method,
        test=test,
        level=float(level),
        batch=not is_1d,
    )
