"""Sensitivity analyses: leave-one-out, cumulative meta-analysis and influence diagnostics.

Equal to R metafor 3.8-1's ``leave1out.rma.uni``, ``cumul.rma.uni`` and ``influence.rma.uni``.
Each analysis is naturally a batch of k refits, so it is computed as **one** call of the
vectorised engine (one row per deletion or cumulative step, NaN for the studies left out), not
as a loop of k fits.

References
----------
Viechtbauer W, Cheung MW-L (2010). Outlier and influence diagnostics for meta-analysis. Res
Synth Methods 1:112-125.
Lau J, Antman EM, Jimenez-Silva J, Kupelnick B, Mosteller F, Chalmers TC (1992). Cumulative
meta-analysis of therapeutic trials for myocardial infarction. N Engl J Med 327:248-254.
Belsley DA, Kuh E, Welsch RE (1980). Regression Diagnostics. Wiley (DFFITS, DFBETAS,
covariance ratio).  Cook RD (1977). Detection of influential observation in linear
regression. Technometrics 19:15-18.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from plateau.errors import PlateauError
from plateau.meta import _engine
from plateau.meta._common import ReadOnlyArrays, prepare_batch, warn_not_converged
from plateau.meta._resultdict import dataclass_dict, fmt
from plateau.meta.pool import check_method, pool

__all__ = [
    "SequentialResult",
    "InfluenceResult",
    "leave_one_out",
    "cumulative",
    "influence",
]


@dataclass(frozen=True)
class SequentialResult(ReadOnlyArrays):
    """Results of k refits (leave-one-out or cumulative), one entry per study.

    For :func:`leave_one_out` entry ``i`` is the model without study ``i`` (input order); for
    :func:`cumulative` entry ``j`` is the model of the first ``j + 1`` studies in ``order``
    (``order[j]`` is the input index of the study added at step ``j``).  A 2-D (batch) input
    gives ``(B, k)`` arrays.  ``k`` is the number of studies in each refit.
    """

    kind: str
    estimate: np.ndarray
    se: np.ndarray
    zval: np.ndarray
    pval: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    q: np.ndarray
    q_pval: np.ndarray
    tau2: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    pi_low: np.ndarray
    pi_high: np.ndarray
    k: np.ndarray
    order: np.ndarray
    method: str
    test: str
    level: float

    def to_dict(self) -> dict[str, Any]:
        """All fields, JSON-ready (NaN becomes None)."""
        return dataclass_dict(self)

    def summary(self) -> str:
        """One line per refit (first analysis of a batch)."""
        est = np.atleast_2d(self.estimate)[0]
        lo, hi = np.atleast_2d(self.ci_low)[0], np.atleast_2d(self.ci_high)[0]
        tau2 = np.atleast_2d(self.tau2)[0]
        order = np.atleast_2d(self.order)[0]
        title = (
            "Leave-one-out analysis" if self.kind == "leave_one_out" else "Cumulative meta-analysis"
        )
        lines = [f"{title} ({self.method}, test {self.test})"]
        for j in range(est.size):
            if np.isnan(est[j]) and np.isnan(lo[j]):
                continue
            label = (
                f"without study {j + 1}"
                if self.kind == "leave_one_out"
                else f"+ study {int(order[j]) + 1}"
            )
            lines.append(
                f"  {label:>18}: {fmt(est[j])} [{fmt(lo[j])}, {fmt(hi[j])}], tau2 = {fmt(tau2[j])}"
            )
        return "\n".join(lines)


_FIELDS = (
    "estimate",
    "se",
    "zval",
    "pval",
    "ci_low",
    "ci_high",
    "q",
    "q_pval",
    "tau2",
    "i2",
    "h2",
    "pi_low",
    "pi_high",
    "k",
)


def _fit_rows(
    y: np.ndarray, v: np.ndarray, present: np.ndarray, *, method: str, test: str, level: float
) -> dict[str, np.ndarray]:
    """Fit every row of a (R, k) batch with :func:`pool` in one call.

    Rows with a single study get metafor's k = 1 fit (estimate y, se sqrt(v), z-based test and
    CI, tau2 = 0, Q = 0, I2 = 0, H2 = 1); rows without studies stay NaN.
    """
    nrow = y.shape[0]
    out = {name: np.full(nrow, np.nan) for name in _FIELDS}
    count = present.sum(axis=1)
    out["k"] = count.astype(float)
    multi = count >= 2
    if multi.any():
        yy = np.where(present[multi], y[multi], np.nan)
        vv = np.where(present[multi], v[multi], np.nan)
        res = pool(yy, vv, method=method, test=test, level=level)
        for name in _FIELDS:
            if name != "k":
                out[name][multi] = getattr(res, name)
    single = count == 1
    if single.any():
        idx = np.argmax(present[single], axis=1)
        ys = y[single, idx]
        ses = np.sqrt(v[single, idx])
        crit = stats.norm.isf((1 - level) / 2)
        out["estimate"][single] = ys
        out["se"][single] = ses
        out["zval"][single] = ys / ses
        out["pval"][single] = 2 * stats.norm.sf(np.abs(ys / ses))
        out["ci_low"][single] = ys - crit * ses
        out["ci_high"][single] = ys + crit * ses
        out["pi_low"][single] = ys - crit * ses
        out["pi_high"][single] = ys + crit * ses
        out["q"][single] = 0.0
        out["q_pval"][single] = 1.0
        out["tau2"][single] = 0.0
        out["i2"][single] = 0.0
        out["h2"][single] = 1.0
    return out


def _prepare(yi: Any, vi: Any, method: str, test: str, level: float) -> Any:
    check_method(method, test, level)
    y, v, m, is_1d, _ = prepare_batch(yi, vi, min_k=2)
    return y, v, m, is_1d


def leave_one_out(
    yi: Any, vi: Any, *, method: str = "REML", test: str = "z", level: float = 0.95
) -> SequentialResult:
    """Leave-one-out analysis (metafor's ``leave1out``): the model refitted without each study.

    All k refits are one batched :func:`~plateau.meta.pool` call (row i = all studies but i).
    1-D input gives (k,) arrays; 2-D input (B, k) gives (B, k) arrays (NaN for absent studies).
    """
    y, v, m, is_1d = _prepare(yi, vi, method, test, level)
    nb, kk = y.shape
    eye = np.eye(kk, dtype=bool)
    present = m[:, None, :] & ~eye[None, :, :]  # (B, k deletions, k studies)
    present = present & m[:, :, None]  # no refit for an absent study
    rows = _fit_rows(
        np.repeat(y, kk, axis=0),
        np.repeat(v, kk, axis=0),
        present.reshape(nb * kk, kk),
        method=method,
        test=test,
        level=level,
    )
    shaped = {name: val.reshape(nb, kk) for name, val in rows.items()}
    for name in shaped:
        shaped[name] = np.where(m, shaped[name], np.nan)
    order = np.broadcast_to(np.arange(kk), (nb, kk)).copy()
    return _sequential("leave_one_out", shaped, order, is_1d, method, test, level)


def cumulative(
    yi: Any,
    vi: Any,
    *,
    order: Any = None,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
) -> SequentialResult:
    """Cumulative meta-analysis (metafor's ``cumul``; Lau et al. 1992).

    Studies are added in the order of ``order`` (values sorted ascending, ties kept in input
    order, e.g. publication years; default: input order).  Step j is the model of the first
    j + 1 studies; the first step is metafor's k = 1 fit.  All steps are one batched call.
    """
    y, v, m, is_1d = _prepare(yi, vi, method, test, level)
    nb, kk = y.shape
    if order is None:
        perm = np.broadcast_to(np.arange(kk), (nb, kk)).copy()
    else:
        key = np.atleast_2d(np.asarray(order, dtype=float))
        if key.shape[1] != kk or key.shape[0] not in (1, nb):
            raise PlateauError(
                f"order has shape {np.shape(order)} but yi has {kk} studies per "
                "analysis; give one sort key per study"
            )
        key = np.broadcast_to(key, (nb, kk))
        if np.isnan(key[m]).any():
            raise PlateauError("order contains NaN for a present study")
        perm = np.argsort(np.where(m, key, np.inf), axis=1, kind="stable")
    ys = np.take_along_axis(y, perm, axis=1)
    vs = np.take_along_axis(v, perm, axis=1)
    ms = np.take_along_axis(m, perm, axis=1)
    tri = np.tril(np.ones((kk, kk), dtype=bool))  # step j uses sorted studies <= j
    present = tri[None, :, :] & ms[:, None, :]
    rows = _fit_rows(
        np.repeat(ys, kk, axis=0),
        np.repeat(vs, kk, axis=0),
        present.reshape(nb * kk, kk),
        method=method,
        test=test,
        level=level,
    )
    shaped = {name: val.reshape(nb, kk) for name, val in rows.items()}
    for name in shaped:
        shaped[name] = np.where(ms, shaped[name], np.nan)
    return _sequential("cumulative", shaped, perm, is_1d, method, test, level)


def _sequential(
    kind: Any, shaped: Any, order: Any, is_1d: Any, method: Any, test: Any, level: Any
) -> SequentialResult:
    def o(a: Any) -> Any:
        return a[0] if is_1d else a

    return SequentialResult(
        kind=kind,
        **{name: o(shaped[name]) for name in _FIELDS},
        order=o(order),
        method=method,
        test=test,
        level=float(level),
    )


# --------------------------------------------------------------------------- influence


@dataclass(frozen=True)
class InfluenceResult(ReadOnlyArrays):
    """Case-deletion diagnostics of Viechtbauer & Cheung (2010), as metafor's ``influence``.

    Per study (input order): ``rstudent`` (externally studentised residual), ``dffits``,
    ``cooks_distance``, ``cov_ratio``, ``tau2_deleted``, ``qe_deleted``, ``hat``, ``weight``
    (percent), ``dfbetas`` (k x p) and ``influential`` (metafor's ``inf`` flag).
    """

    rstudent: np.ndarray
    dffits: np.ndarray
    cooks_distance: np.ndarray
    cov_ratio: np.ndarray
    tau2_deleted: np.ndarray
    qe_deleted: np.ndarray
    hat: np.ndarray
    weight: np.ndarray
    dfbetas: np.ndarray
    influential: np.ndarray
    resid_deleted: np.ndarray
    se_resid_deleted: np.ndarray
    tau2: float
    qe: float
    k: int
    p: int
    method: str
    test: str

    def to_dict(self) -> dict[str, Any]:
        """All fields, JSON-ready (NaN becomes None)."""
        return dataclass_dict(self)

    def summary(self) -> str:
        """A table in the spirit of metafor's printout."""
        head = (
            f"{'study':>6} {'rstudent':>9} {'dffits':>8} {'cook.d':>8} {'cov.r':>8} "
            f"{'tau2.del':>9} {'QE.del':>9} {'hat':>7} {'weight':>7} inf"
        )
        lines = [f"Influence diagnostics ({self.method}, test {self.test}, k = {self.k})", head]
        for i in range(self.k):
            lines.append(
                f"{i + 1:>6} {fmt(self.rstudent[i]):>9} {fmt(self.dffits[i]):>8} "
                f"{fmt(self.cooks_distance[i]):>8} {fmt(self.cov_ratio[i]):>8} "
                f"{fmt(self.tau2_deleted[i]):>9} {fmt(self.qe_deleted[i]):>9} "
                f"{fmt(self.hat[i]):>7} {fmt(self.weight[i], 2):>7} "
                f"{'*' if self.influential[i] else ''}"
            )
        return "\n".join(lines)


def influence(
    yi: Any,
    vi: Any,
    *,
    mods: Any = None,
    intercept: bool = True,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
) -> InfluenceResult:
    r"""Influence diagnostics (Viechtbauer & Cheung 2010), equal to metafor's ``influence.rma.uni``.

    With the full model (:math:`\hat\beta`, :math:`\mathrm{Var}(\hat\beta) = V`,
    :math:`\hat\tau^2`) and the model without study :math:`i` (subscript :math:`(-i)`, with
    its Knapp-Hartung factor :math:`s^2_{(-i)}`, 1 under ``test="z"``):

    * hat :math:`h_i` = diagonal of :math:`X(X'WX)^{-1}X'W`, :math:`W = \mathrm{diag}(1/(v_i +
      \hat\tau^2))`; weight = :math:`100\, w_i/\sum w_j`;
    * rstudent :math:`= (y_i - x_i'\hat\beta_{(-i)}) / \sqrt{s^2_{(-i)}(v_i + \hat\tau^2_{(-i)})
      + x_i'V_{(-i)}x_i}`;
    * DFFITS :math:`= x_i'(\hat\beta - \hat\beta_{(-i)}) / \sqrt{s^2_{(-i)} h_i (\hat\tau^2_{(-i)}
      + v_i)}`;
    * Cook's distance :math:`= (\hat\beta - \hat\beta_{(-i)})' V^{-1} (\hat\beta -
      \hat\beta_{(-i)})`; covariance ratio :math:`= \det V_{(-i)}/\det V`;
    * DFBETAS :math:`= (\hat\beta - \hat\beta_{(-i)}) / \sqrt{s^2_{(-i)}\,\mathrm{diag}(X'
      \mathrm{diag}(1/(v + \hat\tau^2_{(-i)}))X)^{-1}}` (all k studies);
    * ``influential`` if :math:`|\mathrm{DFFITS}| > 3\sqrt{p/(k-p)}`, or
      :math:`P(\chi^2_p \le D_i) > 0.5`, or :math:`h_i > 3p/k`, or any :math:`|\mathrm{DFBETAS}|
      > 1` (metafor's rule).

    The k deletion fits are one batched engine call.  ``mods`` is an optional (k, q) matrix of
    moderators (an intercept column is added when ``intercept``).  Needs k >= p + 2.
    """
    check_method(method, test, level)
    y2, v2, m2, is_1d, _ = prepare_batch(yi, vi, min_k=2)
    if not is_1d:
        raise PlateauError("influence takes one meta-analysis (1-D yi and vi)")
    if not m2.all():
        raise PlateauError("yi/vi contain NaN: influence diagnostics need every study present")
    y, v = y2[0], v2[0]
    k = y.size
    cols = [np.ones(k)] if intercept else []
    if mods is not None:
        mods_arr = np.asarray(mods, dtype=float)
        if mods_arr.ndim == 1:
            mods_arr = mods_arr[:, None]
        if mods_arr.ndim != 2 or mods_arr.shape[0] != k:
            raise PlateauError(
                f"mods must have one row per study ({k}); got shape {np.shape(mods)}"
            )
        if not np.isfinite(mods_arr).all():
            raise PlateauError("mods contain missing or infinite values")
        cols.extend(mods_arr.T)
    if not cols:
        raise PlateauError("the model has no coefficients (intercept=False and no mods)")
    X = np.column_stack(cols)
    p = X.shape[1]
    if np.linalg.matrix_rank(X) < p:
        raise PlateauError("the design matrix (intercept and mods) is not of full rank")
    if k < p + 2:
        raise PlateauError(
            f"influence diagnostics need k >= {p + 2} studies for {p} coefficient(s); got k = {k}"
        )

    full = _engine.fit(
        y[None], v[None], np.ones((1, k)), X[None], method=method, test=test, level=level
    )
    keep = ~np.eye(k, dtype=bool)
    mf = keep.astype(float)
    Xd = X[None, :, :] * mf[:, :, None]
    dele = _engine.fit(
        np.where(keep, y[None], 0.0),
        np.where(keep, v[None], 1.0),
        mf,
        Xd,
        method=method,
        test=test,
        level=level,
    )
    for res, what in ((full, "full model"), (dele, "deletion fits")):
        if not np.all(res["converged"]):
            warn_not_converged(
                f"the {method} estimator of tau^2 ({what})",
                np.flatnonzero(~res["converged"]),
                what == "full model",
                _engine.MAXITER,
            )
    beta = full["coef"][0]
    vb = full["vb"][0]
    tau2 = float(full["tau2"][0])
    w = 1 / (v + tau2)
    xtwx_inv = np.linalg.inv(X.T @ (w[:, None] * X))
    hat = np.einsum("ij,jk,ik->i", X, xtwx_inv, X) * w
    hat = np.where(hat > 1 - 10 * np.finfo(float).eps, 1.0, hat)
    weight = 100 * w / w.sum()

    tau2_del = dele["tau2"]
    beta_del = dele["coef"]
    vb_del = dele["vb"]
    s2w_del = dele["s2w"]
    pred_full = X @ beta
    delpred = np.einsum("ij,ij->i", X, beta_del)
    vdelpred = np.einsum("ij,ijk,ik->i", X, vb_del, X)
    dffits = (pred_full - delpred) / np.sqrt(s2w_del * hat * (tau2_del + v))
    w_all = 1 / (v[None, :] + tau2_del[:, None])  # (k deletions, k studies)
    vb_all = np.linalg.inv(np.einsum("kp,ik,kq->ipq", X, w_all, X))
    dfb = beta[None, :] - beta_del
    dfbetas = dfb / np.sqrt(s2w_del[:, None] * np.diagonal(vb_all, axis1=1, axis2=2))
    svb = np.linalg.inv(vb)
    cook = np.einsum("ip,pq,iq->i", dfb, svb, dfb)
    cov_r = np.linalg.det(vb_del) / np.linalg.det(vb)
    resid = y - delpred
    resid = np.where(np.abs(resid) < 100 * np.finfo(float).eps, 0.0, resid)
    se_resid = np.sqrt(v * s2w_del + vdelpred + tau2_del * s2w_del)
    rstudent = resid / se_resid
    infl = (
        (np.abs(dffits) > 3 * np.sqrt(p / (k - p)))
        | (stats.chi2.cdf(cook, p) > 0.5)
        | (hat > 3 * p / k)
        | np.any(np.abs(dfbetas) > 1, axis=1)
    )
    infl = infl & ~np.isnan(infl.astype(float))
    return InfluenceResult(
        rstudent=rstudent,
        dffits=dffits,
        cooks_distance=cook,
        cov_ratio=cov_r,
        tau2_deleted=tau2_del if method not in ("EE", "FE") else np.zeros(k),
        qe_deleted=dele["qe"],
        hat=hat,
        weight=weight,
        dfbetas=dfbetas,
        influential=infl,
        resid_deleted=resid,
        se_resid_deleted=se_resid,
        tau2=tau2,
        qe=float(full["qe"][0]),
        k=k,
        p=p,
        method=method,
        test=test,
    )
