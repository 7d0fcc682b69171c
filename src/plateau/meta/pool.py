"""Pooling: the equal-effects and random-effects models (metafor's ``rma.uni`` without moderators).

:func:`pool` fits  y_i = mu + u_i + e_i,  e_i ~ N(0, v_i),  u_i ~ N(0, tau^2)  for one analysis
(1-D arrays) or for a batch (2-D arrays, one row per analysis, NaN where a study is absent),
through the same vectorised code (:mod:`plateau.meta._engine`).

Estimate: mu_hat = sum w_i y_i / sum w_i with w_i = 1/(v_i + tau^2), Var = 1/sum w_i
(Hedges & Vevea 1998; DerSimonian & Laird 1986).  Tests and CIs:

* ``test="z"``: Wald test and CI with the standard normal.
* ``test="knha"``: Hartung & Knapp (2001), Sidik & Jonkman (2002): Var is multiplied by
  s^2 = sum w_i (y_i - mu_hat)^2 / (k - 1) and t_{k-1} replaces the normal.
* ``test="adhoc"``: as ``knha`` with s^2 truncated below at 1 (Knapp & Hartung 2003;
  Jackson et al. 2017).

Heterogeneity (Higgins & Thompson 2002, metafor conventions): Q = sum (y_i - mu_FE)^2 / v_i on
k - 1 df; for random-effects fits I^2 = 100 tau^2/(tau^2 + v~), H^2 = 1 + tau^2/v~ with the
"typical" within-study variance v~ = (k-1)/tr P (Higgins & Thompson 2002, eq. 9); for the
equal-effects model I^2 = max(0, 100 (Q - (k-1))/Q) and H^2 = Q/(k-1).

Prediction interval (Higgins, Thompson & Spiegelhalter 2009): mu_hat +- c sqrt(se^2 + tau^2) with
c = the CI's critical value (z, or t_{k-1} under knha/adhoc) as metafor 3.8's ``predict.rma``
(``prediction="metafor"``), or c = t_{k-1} (``"t_k1"``, R meta's default "V") or t_{k-2}
(``"t_k2"``, Higgins et al. 2009; R meta's "HTS").
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from plateau.errors import PlateauError
from plateau.meta import _engine
from plateau.meta._common import (
    MetaWarning,
    ReadOnlyArrays,
    as_output,
    jsonable,
    prepare_batch,
    warn_not_converged,
)

__all__ = ["pool", "PoolResult", "METHODS", "TESTS", "PREDICTIONS", "check_method"]

METHODS = _engine.METHODS
TESTS = _engine.TESTS
PREDICTIONS = _engine.PREDICTIONS


def check_method(method: str, test: str, level: float) -> None:
    """Raise :class:`PlateauError` for an unknown method/test name or a level outside (0, 1)."""
    if method not in METHODS:
        raise PlateauError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if test not in TESTS:
        raise PlateauError(f"unknown test {test!r}; choose one of {', '.join(TESTS)}")
    if not (isinstance(level, (int, float)) and 0 < level < 1):
        raise PlateauError(f"level must be a probability in (0, 1), e.g. 0.95; got {level!r}")


@dataclass(frozen=True)
class PoolResult(ReadOnlyArrays):
    """Result of :func:`pool`.  Scalars (Python floats) for one analysis, (B,) arrays for a batch.

    ``weights`` are percent weights per study (metafor's ``weights()``): 100 w_i / sum w_i with
    w_i = 1/(v_i + tau^2), or the user weights when given; NaN marks an absent study.
    ``se_tau2`` is NaN for the equal-effects model (no tau^2 is estimated).
    """

    estimate: Any
    se: Any
    zval: Any
    pval: Any
    ci_low: Any
    ci_high: Any
    tau2: Any
    se_tau2: Any
    i2: Any
    h2: Any
    q: Any
    q_df: Any
    q_pval: Any
    pi_low: Any
    pi_high: Any
    weights: Any
    k: Any
    method: str
    test: str
    level: float
    prediction: str
    converged: Any
    iterations: Any
    tau2_fixed: bool = False
    df: Any = None
    batch: bool = field(default=False)

    @property
    def tau(self) -> Any:
        return np.sqrt(self.tau2) if self.batch else float(np.sqrt(self.tau2))

    def to_dict(self) -> dict[str, Any]:
        keys = [
            "estimate",
            "se",
            "zval",
            "pval",
            "ci_low",
            "ci_high",
            "tau2",
            "se_tau2",
            "i2",
            "h2",
            "q",
            "q_df",
            "q_pval",
            "pi_low",
            "pi_high",
            "weights",
            "k",
            "method",
            "test",
            "level",
            "prediction",
            "converged",
            "iterations",
            "tau2_fixed",
            "df",
        ]
        return {key: jsonable(getattr(self, key)) for key in keys}

    def summary(self) -> str:
        if self.batch:
            n = len(self.estimate)
            nc = int(np.sum(~np.asarray(self.converged)))
            return (
                f"{n} meta-analyses ({self.method}, test={self.test}); "
                f"k from {int(np.min(self.k))} to {int(np.max(self.k))}; "
                f"{nc} not converged; median estimate {np.median(self.estimate):.4g}, "
                f"median tau^2 {np.median(self.tau2):.4g}"
            )
        model = (
            "Equal-effects" if self.method in ("EE", "FE") else f"Random-effects ({self.method})"
        )
        stat = "z" if self.test == "z" else f"t({self.df:g})"
        lvl = f"{100 * self.level:g}%"
        lines = [
            f"{model} model, k = {self.k}, test = {self.test}",
            f"estimate {self.estimate:.4f} (se {self.se:.4f}), {stat} = {self.zval:.3f}, p = "
            f"{self.pval:.4g}",
            f"{lvl} CI {self.ci_low:.4f} to {self.ci_high:.4f}",
        ]
        if self.method not in ("EE", "FE"):
            se_t = "" if np.isnan(self.se_tau2) else f" (se {self.se_tau2:.4g})"
            lines.append(
                f"tau^2 = {self.tau2:.4g}{se_t}, I^2 = {self.i2:.1f}%, H^2 = {self.h2:.3f}"
                + (" (one study: no heterogeneity to estimate)" if self.k == 1 else "")
            )
            lines.append(
                f"{lvl} prediction interval {self.pi_low:.4f} to {self.pi_high:.4f} "
                f"({self.prediction})"
            )
        else:
            lines.append(f"I^2 = {self.i2:.1f}%, H^2 = {self.h2:.3f}")
        lines.append(f"Q({self.q_df:g}) = {self.q:.3f}, p = {self.q_pval:.4g}")
        if not self.converged:
            lines.append(
                f"WARNING: the {self.method} estimator did not converge ({self.iterations} "
                "iterations)"
            )
        return "\n".join(lines)


def pool(
    yi: Any,
    vi: Any,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    weights: Any = None,
    tau2: Any = None,
    prediction: str = "metafor",
) -> PoolResult:
    """Pool effect sizes ``yi`` with sampling variances ``vi`` (metafor ``rma.uni(yi, vi, ...)``).

    Parameters
    ----------
    yi, vi : array_like, 1-D (k,) or 2-D (B, k)
        Effect sizes (e.g. log hazard ratios) and their sampling variances.  In a 2-D batch a
        study absent from a row is NaN in both arrays.
    method : {"EE", "FE", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM", "PMM", "GENQ"}
        tau^2 estimator (see :func:`plateau.meta._engine.estimate_tau2` for formulas and papers);
        "EE"/"FE" is the equal-effects (common-effect) model.
    test : {"z", "knha", "adhoc"}
    level : float
        Confidence level of the CI and prediction interval.
    weights : array_like, optional
        User weights a_i (required by "GENQ").  As in metafor, the estimate then uses these
        weights with the sandwich variance sum a_i^2 (v_i + tau^2) / (sum a_i)^2.
    tau2 : float or array_like (B,), optional
        Fix tau^2 at this value instead of estimating it (metafor's ``tau2=``).
    prediction : {"metafor", "t_k1", "t_k2"}
        Critical value of the prediction interval (see the module docstring).

    Returns
    -------
    PoolResult
    """
    check_method(method, test, level)
    if prediction not in PREDICTIONS:
        raise PlateauError(
            f"unknown prediction {prediction!r}; choose one of {', '.join(PREDICTIONS)}"
        )
    if method == "GENQ" and weights is None:
        raise PlateauError("method='GENQ' needs user weights: pass weights=")
    y, v, m, is_1d, w_user = prepare_batch(yi, vi, weights=weights, min_k=1)
    B, kk = y.shape
    single = m.sum(1) == 1
    if single.any() and prediction != "metafor":
        raise PlateauError(
            f"prediction={prediction!r} needs k >= {2 if prediction == 't_k1' else 3} studies "
            "in every analysis; an analysis has k = 1"
        )
    tau2_fixed = None
    if tau2 is not None and method not in ("EE", "FE"):
        tau2_fixed = np.asarray(tau2, dtype=float)
        if tau2_fixed.ndim > 1 or (tau2_fixed.ndim == 1 and tau2_fixed.shape[0] != B):
            raise PlateauError(
                f"tau2 must be a number or one value per analysis ({B}); got shape "
                f"{tau2_fixed.shape}"
            )
        if not np.all(np.isfinite(tau2_fixed)) or np.any(tau2_fixed < 0):
            raise PlateauError(f"tau2 must be finite and >= 0; got {tau2!r}")
        tau2_fixed = np.broadcast_to(tau2_fixed, (B,))
    mf = m.astype(float)
    X = mf[:, :, None]
    if single.any():
        res = _with_single_studies(y, v, mf, single, method, test, level, w_user, tau2_fixed, is_1d)
    else:
        res = _engine.fit(
            y,
            v,
            mf,
            X,
            method=method,
            test=test,
            level=level,
            weights=w_user,
            tau2_fixed=tau2_fixed,
        )
    k = res["k"]
    if prediction == "t_k2" and np.any(k < 3):
        raise PlateauError(
            "prediction='t_k2' needs k >= 3 studies in every analysis (t with k-2 df)"
        )
    estimate = res["coef"][:, 0]
    se = res["se"][:, 0]
    if prediction == "metafor":
        crit = res["crit"]
    else:
        crit = stats.t.isf((1 - level) / 2, k - (1 if prediction == "t_k1" else 2))
    half = crit * np.sqrt(se**2 + res["tau2"])
    wts = w_user if w_user is not None else res["w"]
    pct = np.where(m, 100 * wts / wts.sum(1, keepdims=True), np.nan)
    conv = res["converged"]
    if not conv.all():
        warn_not_converged(
            f"the {method} estimator of tau^2", np.nonzero(~conv)[0], is_1d, _engine.MAXITER
        )
    df = res["ddf"] if res["ddf"] is not None else np.full(B, np.nan)

    def o(a: Any) -> Any:
        return as_output(a, is_1d)

    return PoolResult(
        estimate=o(estimate),
        se=o(se),
        zval=o(res["zval"][:, 0]),
        pval=o(res["pval"][:, 0]),
        ci_low=o(res["ci_low"][:, 0]),
        ci_high=o(res["ci_high"][:, 0]),
        tau2=o(res["tau2"]),
        se_tau2=o(res["se_tau2"]),
        i2=o(res["i2"]),
        h2=o(res["h2"]),
        q=o(res["qe"]),
        q_df=o(res["qe_df"].astype(np.int64)),
        q_pval=o(res["qe_pval"]),
        pi_low=o(estimate - half),
        pi_high=o(estimate + half),
        weights=o(pct),
        k=o(k),
        method=method,
        test=test,
        level=float(level),
        prediction=prediction,
        converged=o(conv),
        iterations=o(res["iterations"]),
        tau2_fixed=tau2_fixed is not None,
        df=o(df.astype(float)),
        batch=not is_1d,
    )


def _with_single_studies(
    y: Any,
    v: Any,
    mf: Any,
    single: Any,
    method: str,
    test: str,
    level: float,
    w_user: Any,
    tau2_fixed: Any,
    is_1d: bool,
) -> dict[str, Any]:
    """The engine's result for a batch in which some analyses hold one study.

    Rows with k >= 2 are fitted by :func:`plateau.meta._engine.fit`.  A row with k = 1 is
    answered as metafor 3.8's ``rma(yi, vi)`` answers it: tau^2 = 0 (or the fixed ``tau2``),
    the study's own estimate with se = sqrt(v + tau^2), a Wald z test and interval whatever
    ``test`` asks (metafor: 'Setting argument test="z" since k=1', here a :class:`MetaWarning`),
    Q = 0 on 0 df with p = 1, I^2 = 0, H^2 = 1, se(tau^2) not available, and a prediction
    interval equal to the confidence interval.
    """
    B = y.shape[0]
    many = ~single
    if test != "z":
        where = (
            "" if is_1d else f" (rows {', '.join(str(int(r)) for r in np.nonzero(single)[0][:8])})"
        )
        warnings.warn(
            f"test={test!r} needs k >= 2 studies; the analysis with k = 1{where} uses test='z' "
            "(as metafor)",
            MetaWarning,
            stacklevel=4,
        )
    out: dict[str, Any] = {}
    if many.any():
        sub = _engine.fit(
            y[many],
            v[many],
            mf[many],
            mf[many][:, :, None],
            method=method,
            test=test,
            level=level,
            weights=None if w_user is None else w_user[many],
            tau2_fixed=None if tau2_fixed is None else tau2_fixed[many],
        )
    y1 = (y * mf).sum(1)
    v1 = (v * mf).sum(1)
    t2 = np.zeros(B) if tau2_fixed is None else np.asarray(tau2_fixed, dtype=float)
    se1 = np.sqrt(v1 + t2)
    z1 = y1 / se1
    zc = stats.norm.isf((1 - level) / 2)
    one = {
        "coef": y1[:, None],
        "se": se1[:, None],
        "zval": z1[:, None],
        "pval": (2 * stats.norm.sf(np.abs(z1)))[:, None],
        "ci_low": (y1 - zc * se1)[:, None],
        "ci_high": (y1 + zc * se1)[:, None],
        "tau2": t2,
        "se_tau2": np.full(B, np.nan),
        "i2": np.zeros(B),
        "h2": np.ones(B),
        "qe": np.zeros(B),
        "qe_df": np.zeros(B, dtype=np.int64),
        "qe_pval": np.ones(B),
        "k": np.ones(B, dtype=np.int64),
        "crit": np.full(B, zc),
        "w": mf / (v + t2[:, None]),
        "converged": np.ones(B, dtype=bool),
        "iterations": np.zeros(B, dtype=np.int64),
        "ddf": None,
    }
    for key, val in one.items():
        if not many.any() or key not in sub:
            out[key] = val
            continue
        got = sub[key]
        if got is None:
            out[key] = None if val is None else val
            continue
        got = np.asarray(got)
        full = np.empty((B,) + got.shape[1:], dtype=np.result_type(got, val))
        full[many] = got
        full[single] = np.asarray(val)[single]
        out[key] = full
    if many.any() and sub.get("ddf") is not None:
        ddf = np.full(B, np.nan)
        ddf[many] = sub["ddf"]
        out["ddf"] = ddf
    return out
