"""Pooling of 2x2 tables and person-time data: Mantel-Haenszel and Peto's one-step odds ratio.

Reproduces R metafor's ``rma.mh`` and ``rma.peto`` (version 3.8-1), including their handling of
zero cells and double-zero studies:

* the pooled estimate and its tests use the **tables as given** (by default no continuity
  correction, ``to=("only0", "none")``; double-zero tables stay in the tables but contribute
  nothing to OR/RR/IRR and Peto, and do contribute to RD and IRD);
* the per-study ``yi``/``vi`` (used only for the heterogeneity statistic Q, I2, H2 of the MH
  model and for forest plots) come from ``escalc`` with 1/2 added to every cell of a table with a
  zero cell (``add=1/2, to="only0"``) and double-zero studies dropped (``drop00=True``).

``add``, ``to`` and ``drop00`` take one value (applied to the per-study yi/vi; the tables keep
metafor's defaults ``0``, ``"none"``, ``False``) or a pair ``(for yi/vi, for the tables)``,
exactly like metafor's arguments.

Every function takes 1-D arrays (one meta-analysis) or 2-D arrays (one row per meta-analysis,
NaN where a study is absent) through the same code path; a 1-D call returns Python floats and
1-D per-study arrays.

References
----------
Mantel N, Haenszel W (1959). Statistical aspects of the analysis of data from retrospective
studies of disease. J Natl Cancer Inst 22:719-748.
Robins J, Breslow N, Greenland S (1986). Estimators of the Mantel-Haenszel variance consistent in
both sparse data and large-strata limiting models. Biometrics 42:311-323.
Greenland S, Robins JM (1985). Estimation of a common effect parameter from sparse follow-up
data. Biometrics 41:55-68.
Sato T, Greenland S, Robins JM (1989). On the variance estimator for the Mantel-Haenszel risk
difference. Biometrics 45:1323-1324.
Breslow NE, Day NE (1980). Statistical Methods in Cancer Research, Vol. I: The analysis of
case-control studies. IARC Sci Publ 32, section 4.4.
Tarone RE (1985). On heterogeneity tests based on efficient scores. Biometrika 72:91-95.
Yusuf S, Peto R, Lewis J, Collins R, Sleight P (1985). Beta blockade during and after myocardial
infarction: an overview of the randomized trials. Prog Cardiovasc Dis 27:335-371.
Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw
36(3):1-48.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from scipy import stats

from plateau.errors import PlateauError
from plateau.meta._common import ReadOnlyArrays
from plateau.meta._resultdict import check_level, dataclass_dict, fmt, fmt_p

__all__ = [
    "MantelHaenszelResult",
    "PetoResult",
    "mantel_haenszel",
    "peto",
]

MH_MEASURES = ("OR", "RR", "RD", "IRR", "IRD")
_TO_VALUES = ("all", "only0", "if0all", "none")


# --------------------------------------------------------------------------- input handling


def _pair(value: Any, second: Any, name: str) -> tuple[Any, Any]:
    """metafor's convention: one value -> (value, default for the tables); two -> as given."""
    if isinstance(value, (list, tuple, np.ndarray)):
        values = list(value)
        if len(values) == 1:
            return values[0], second
        if len(values) != 2:
            raise PlateauError(f"{name} must be one value or a pair, got {value!r}")
        return values[0], values[1]
    return value, second


def _check_options(
    add: Any, to: Any, drop00: Any
) -> tuple[tuple[float, float], tuple[str, str], tuple[bool, bool]]:
    add_pair = _pair(add, 0.0, "add")
    to_pair = _pair(to, "none", "to")
    drop_pair = _pair(drop00, False, "drop00")
    adds = []
    for value in add_pair:
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise PlateauError(f"add must be a non-negative number, got {value!r}") from None
        if not np.isfinite(value) or value < 0:
            raise PlateauError(f"add must be a non-negative number, got {value!r}")
        adds.append(value)
    for value in to_pair:
        if value not in _TO_VALUES:
            raise PlateauError(f"to must be one of {', '.join(_TO_VALUES)}; got {value!r}")
    return (
        (adds[0], adds[1]),
        (str(to_pair[0]), str(to_pair[1])),
        (bool(drop_pair[0]), bool(drop_pair[1])),
    )


def _as_counts(named: dict[str, Any]) -> tuple[dict[str, np.ndarray], bool]:
    """Convert the named count arrays to 2-D float arrays of one common shape.

    Returns the arrays and whether the input was a batch (2-D).
    """
    arrays: dict[str, np.ndarray] = {}
    ndim = None
    shape = None
    for name, value in named.items():
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise PlateauError(f"{name} must be numeric") from None
        if arr.ndim not in (1, 2):
            raise PlateauError(
                f"{name} must be a 1-D (one meta-analysis) or 2-D array (one row "
                f"per meta-analysis); got {arr.ndim} dimensions"
            )
        if ndim is None:
            ndim, shape = arr.ndim, arr.shape
        elif arr.shape != shape:
            first = next(iter(named))
            raise PlateauError(
                f"{name} has shape {arr.shape} but {first} has shape {shape}: "
                "all inputs must have the same length"
            )
        arrays[name] = arr
    batch = ndim == 2
    if not batch:
        arrays = {name: arr[None, :] for name, arr in arrays.items()}
    if arrays[next(iter(arrays))].shape[1] == 0:
        raise PlateauError("no studies given (k = 0)")
    if np.any([np.isinf(arr).any() for arr in arrays.values()]):
        bad = [name for name, arr in arrays.items() if np.isinf(arr).any()]
        raise PlateauError(f"{', '.join(bad)} contain infinite values")
    return arrays, batch


def _where(arrays: dict[str, np.ndarray], mask: np.ndarray, batch: bool) -> str:
    row, col = np.argwhere(mask)[0]
    return f"study {col + 1}" + (f" of row {row}" if batch else "")


def _present_mask(arrays: dict[str, np.ndarray], batch: bool) -> np.ndarray:
    """Studies present in each row: all fields finite.

    A study with some fields missing is omitted with a warning (metafor: "Tables with NAs
    omitted from model fitting"); a study with every field NaN is simply absent (batch padding).
    """
    finite = {name: np.isfinite(arr) for name, arr in arrays.items()}
    present = np.logical_and.reduce(list(finite.values()))
    anyfinite = np.logical_or.reduce(list(finite.values()))
    partial = anyfinite & ~present
    if partial.any():
        row, col = np.argwhere(partial)[0]
        missing = [name for name, f in finite.items() if not f[row, col]]
        count = int(partial.sum())
        warnings.warn(
            f"{count} stud{'y' if count == 1 else 'ies'} with missing values omitted "
            f"(first: {_where(arrays, partial, batch)}, missing {', '.join(missing)})",
            RuntimeWarning,
            stacklevel=4,
        )
    empty = ~present.any(axis=1)
    if empty.any():
        row = int(np.flatnonzero(empty)[0])
        raise PlateauError("no studies present" + (f" in row {row}" if batch else "") + " (k = 0)")
    return cast("np.ndarray", present)


def _tables(
    ai: Any, bi: Any, ci: Any, di: Any, n1i: Any, n2i: Any
) -> tuple[dict[str, np.ndarray], np.ndarray, bool]:
    if ai is None or ci is None:
        raise PlateauError("ai and ci (event counts) are required for 2x2 tables")
    if bi is None and n1i is None:
        raise PlateauError("give bi (non-events, group 1) or n1i (size of group 1)")
    if di is None and n2i is None:
        raise PlateauError("give di (non-events, group 2) or n2i (size of group 2)")
    named = {"ai": ai, "ci": ci}
    named["bi" if bi is not None else "n1i"] = bi if bi is not None else n1i
    named["di" if di is not None else "n2i"] = di if di is not None else n2i
    arrays, batch = _as_counts(named)
    present = _present_mask(arrays, batch)
    a, c = arrays["ai"], arrays["ci"]
    b = arrays["bi"] if "bi" in arrays else arrays["n1i"] - a
    d = arrays["di"] if "di" in arrays else arrays["n2i"] - c
    for name, arr in (("ai", a), ("bi", b), ("ci", c), ("di", d)):
        bad = present & (arr < 0)
        if bad.any():
            derived = {"bi": "n1i - ai", "di": "n2i - ci"}
            what = name if name in arrays else f"{name} = {derived[name]}"
            raise PlateauError(f"negative count in {what} at {_where(arrays, bad, batch)}")
    for name, size in (("n1i", a + b), ("n2i", c + d)):
        bad = present & (size <= 0)
        if bad.any():
            raise PlateauError(f"group size {name} is zero at {_where(arrays, bad, batch)}")
    nan = np.nan
    tabs = {
        key: np.where(present, val, nan)
        for key, val in (("ai", a), ("bi", b), ("ci", c), ("di", d))
    }
    return tabs, present, batch


def _person_time(
    x1i: Any, x2i: Any, t1i: Any, t2i: Any
) -> tuple[dict[str, np.ndarray], np.ndarray, bool]:
    for name, value in (("x1i", x1i), ("x2i", x2i), ("t1i", t1i), ("t2i", t2i)):
        if value is None:
            raise PlateauError(
                f"{name} is required for incidence-rate measures "
                "(x1i, x2i events; t1i, t2i person-times)"
            )
    arrays, batch = _as_counts({"x1i": x1i, "x2i": x2i, "t1i": t1i, "t2i": t2i})
    present = _present_mask(arrays, batch)
    for name in ("x1i", "x2i"):
        bad = present & (arrays[name] < 0)
        if bad.any():
            raise PlateauError(f"negative count in {name} at {_where(arrays, bad, batch)}")
    for name in ("t1i", "t2i"):
        bad = present & (arrays[name] <= 0)
        if bad.any():
            raise PlateauError(f"person-time {name} must be > 0 at {_where(arrays, bad, batch)}")
    nan = np.nan
    return {key: np.where(present, val, nan) for key, val in arrays.items()}, present, batch


def _add_correction(
    cells: list[np.ndarray], present: np.ndarray, add: float, to: str
) -> list[np.ndarray]:
    """metafor's continuity correction: add ``add`` to all cells (``all``), to the cells of
    tables with a zero (``only0``), or to all tables of an analysis if any has a zero
    (``if0all``); ``none`` leaves the counts alone."""
    if to == "none" or add == 0:
        return cells
    if to == "all":
        return [cell + add for cell in cells]
    has_zero = np.logical_or.reduce([cell == 0 for cell in cells]) & present
    if to == "if0all":
        has_zero = np.broadcast_to(has_zero.any(axis=1, keepdims=True), has_zero.shape)
    return [np.where(has_zero, cell + add, cell) for cell in cells]


def _escalc_tables(
    measure: str,
    tabs: dict[str, np.ndarray],
    present: np.ndarray,
    add: float,
    to: str,
    drop00: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-study yi, vi as metafor's ``escalc`` (measures OR, RR, RD with vtype LS, PETO)."""
    a, b, c, d = tabs["ai"], tabs["bi"], tabs["ci"], tabs["di"]
    keep = present.copy()
    if drop00:
        keep &= ~(((a == 0) & (c == 0)) | ((b == 0) & (d == 0)))
    a, b, c, d = (np.where(keep, x, np.nan) for x in (a, b, c, d))
    a, b, c, d = _add_correction([a, b, c, d], keep, add, to)
    n1, n2 = a + b, c + d
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = a / n1, c / n2
        if measure == "OR":
            yi = np.log(p1 / (1 - p1)) - np.log(p2 / (1 - p2))
            vi = 1 / a + 1 / b + 1 / c + 1 / d
        elif measure == "RR":
            yi = np.log(p1) - np.log(p2)
            vi = 1 / a - 1 / n1 + 1 / c - 1 / n2
        elif measure == "RD":
            yi = p1 - p2
            vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
        else:  # PETO
            ni = n1 + n2
            xt, yt = a + c, b + d
            ei = xt * n1 / ni
            var = xt * yt * (n1 / ni) * (n2 / ni) / (ni - 1)
            yi = (a - ei) / var
            vi = 1 / var
    return _recode_infinite(yi, vi)


def _recode_infinite(yi: np.ndarray, vi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """escalc recodes +-inf yi or vi (a zero cell left uncorrected) to missing."""
    bad = np.isinf(yi) | np.isinf(vi) | np.isnan(yi) | np.isnan(vi)
    return np.where(bad, np.nan, yi), np.where(bad, np.nan, vi)


def _escalc_rates(
    measure: str,
    tabs: dict[str, np.ndarray],
    present: np.ndarray,
    add: float,
    to: str,
    drop00: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-study yi, vi as metafor's ``escalc`` for IRR (log rate ratio) and IRD."""
    x1, x2, t1, t2 = tabs["x1i"], tabs["x2i"], tabs["t1i"], tabs["t2i"]
    keep = present.copy()
    if drop00:
        keep &= ~((x1 == 0) & (x2 == 0))
    x1, x2 = (np.where(keep, x, np.nan) for x in (x1, x2))
    x1, x2 = _add_correction([x1, x2], keep, add, to)
    with np.errstate(divide="ignore", invalid="ignore"):
        ir1, ir2 = x1 / t1, x2 / t2
        if measure == "IRR":
            yi = np.log(ir1) - np.log(ir2)
            vi = 1 / x1 + 1 / x2
        else:
            yi = ir1 - ir2
            vi = ir1 / t1 + ir2 / t2
    return _recode_infinite(yi, vi)


def _rowsum(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Row sums over the studies in ``mask`` (NaN/inf elsewhere ignored, inside propagated)."""
    return cast("np.ndarray", np.sum(np.where(mask, values, 0.0), axis=1))


def _heterogeneity(
    yi: np.ndarray, vi: np.ndarray, beta: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cochran's Q around the MH estimate with metafor's I2 = 100 (Q - df)/Q and H2 = Q/df."""
    valid = ~np.isnan(yi) & ~np.isnan(vi)
    k_yi = valid.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        wi = 1 / vi
        q = np.maximum(0.0, _rowsum(wi * (yi - beta[:, None]) ** 2, valid))
        q = np.where(np.isnan(beta), np.nan, q)
        df = k_yi - 1
        q_pval = stats.chi2.sf(q, np.maximum(df, 1))
        i2 = np.maximum(0.0, 100 * (q - df) / q)
        h2 = q / df
    single = k_yi <= 1
    q = np.where(single, 0.0, q)
    q_pval = np.where(single, 1.0, q_pval)
    i2 = np.where(single, 0.0, i2)
    h2 = np.where(single, 1.0, h2)
    return q, df, q_pval, i2, h2, k_yi


def _wald(
    beta: np.ndarray, se: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    crit = stats.norm.isf((1 - level) / 2)
    with np.errstate(invalid="ignore"):
        zval = beta / se
        pval = 2 * stats.norm.sf(np.abs(zval))
    return zval, pval, beta - crit * se, beta + crit * se


def _out(value: np.ndarray, batch: bool, integer: bool = False) -> Any:
    if batch:
        return np.asarray(value)
    item = np.asarray(value).reshape(-1)[0]
    return int(item) if integer else float(item)


def _rows_text(rows: np.ndarray, batch: bool) -> str:
    if not batch:
        return ""
    shown = ", ".join(str(r) for r in rows[:10]) + (", ..." if len(rows) > 10 else "")
    return f" (rows {shown})"


# --------------------------------------------------------------------------- Mantel-Haenszel


@dataclass(frozen=True)
class MantelHaenszelResult(ReadOnlyArrays):
    """Mantel-Haenszel common-effect estimate, as metafor's ``rma.mh``.

    ``estimate``, ``ci_low`` and ``ci_high`` are on the log scale for OR, RR and IRR (exponentiate
    for the ratio) and on the raw scale for RD and IRD.  For a batch every scalar field is an
    array with one entry per row and every per-study field an array of shape ``(B, k)``.

    Attributes
    ----------
    measure, level, correct : the options used.
    estimate, se, zval, pval, ci_low, ci_high : pooled estimate, its standard error
        (Robins-Breslow-Greenland for OR, Greenland-Robins for RR and IRR, Sato-Greenland-Robins
        for RD), Wald z test and confidence interval.
    q, q_df, q_pval, i2, h2 : Cochran's Q of the escalc yi/vi around the MH estimate, with
        ``q_df = k_yi - 1``, I2 = max(0, 100 (Q - df)/Q), H2 = Q/df.
    cmh, cmh_pval : Mantel-Haenszel test of no association (OR: hypergeometric variance with
        N_i - 1; metafor's ``MH`` element; IRR: the Mantel-Haenszel rate test); NaN for RR, RD,
        IRD.
    cochran_cmh, cochran_cmh_pval : Cochran's (1954) version with binomial variance (N_i in the
        denominator; metafor's ``CO`` element, which metafor's print labels
        "Cochran-Mantel-Haenszel Test"), OR only.
    breslow_day, breslow_day_pval, tarone, tarone_pval : tests of homogeneity of the odds ratio
        on ``k_pos - 1`` degrees of freedom (OR only).
    k : tables used; k_yi : studies with a yi/vi (Q's df + 1); k_pos : tables entering the
        Breslow-Day test.
    weights : Mantel-Haenszel weights in percent (NaN for absent studies).
    yi, vi : per-study escalc estimates and sampling variances (NaN where dropped).
    """

    measure: str
    estimate: Any
    se: Any
    zval: Any
    pval: Any
    ci_low: Any
    ci_high: Any
    q: Any
    q_df: Any
    q_pval: Any
    i2: Any
    h2: Any
    cmh: Any
    cmh_pval: Any
    cochran_cmh: Any
    cochran_cmh_pval: Any
    breslow_day: Any
    breslow_day_pval: Any
    tarone: Any
    tarone_pval: Any
    k: Any
    k_yi: Any
    k_pos: Any
    weights: np.ndarray
    yi: np.ndarray
    vi: np.ndarray
    level: float
    correct: bool

    def to_dict(self) -> dict[str, Any]:
        """All fields, JSON-ready (NaN becomes None)."""
        return dataclass_dict(self)

    def summary(self) -> str:
        """A short text in the spirit of metafor's printout (first row of a batch)."""

        def first(value: Any) -> Any:
            arr = np.asarray(value, dtype=float)
            return arr.reshape(-1)[0] if arr.ndim else float(arr)

        pct = round(self.level * 100)
        lines = [
            f"Equal-effects model, Mantel-Haenszel method (measure {self.measure}, "
            f"k = {int(first(self.k))})"
        ]
        if np.ndim(self.estimate):
            lines[0] += f" [row 0 of a batch of {np.size(self.estimate)}]"
        lines.append(
            f"  estimate {fmt(first(self.estimate))} (se {fmt(first(self.se))}), "
            f"{pct}% CI {fmt(first(self.ci_low))} to {fmt(first(self.ci_high))}, "
            f"z = {fmt(first(self.zval), 2)}, p = {fmt_p(first(self.pval))}"
        )
        if self.measure in ("OR", "RR", "IRR"):
            lines.append(
                f"  {self.measure} {fmt(np.exp(first(self.estimate)))}, {pct}% CI "
                f"{fmt(np.exp(first(self.ci_low)))} to "
                f"{fmt(np.exp(first(self.ci_high)))}"
            )
        lines.append(
            f"  Q({int(first(self.q_df))}) = {fmt(first(self.q))}, "
            f"p = {fmt_p(first(self.q_pval))}; I2 = {fmt(first(self.i2), 2)}%, "
            f"H2 = {fmt(first(self.h2))}"
        )
        if self.measure in ("OR", "IRR"):
            lines.append(
                f"  CMH = {fmt(first(self.cmh))}, df = 1, p = {fmt_p(first(self.cmh_pval))}"
            )
        if self.measure == "OR":
            lines.append(
                f"  Breslow-Day = {fmt(first(self.breslow_day))}, "
                f"p = {fmt_p(first(self.breslow_day_pval))}; Tarone = "
                f"{fmt(first(self.tarone))}, p = {fmt_p(first(self.tarone_pval))}"
            )
        return "\n".join(lines)


def mantel_haenszel(
    ai: Any = None,
    bi: Any = None,
    ci: Any = None,
    di: Any = None,
    *,
    n1i: Any = None,
    n2i: Any = None,
    x1i: Any = None,
    x2i: Any = None,
    t1i: Any = None,
    t2i: Any = None,
    measure: str = "OR",
    add: float | Sequence[float] = 0.5,
    to: str | Sequence[str] = "only0",
    drop00: bool | Sequence[bool] = True,
    correct: bool = True,
    level: float = 0.95,
) -> MantelHaenszelResult:
    r"""Mantel-Haenszel pooling of 2x2 tables (OR, RR, RD) or person-time data (IRR, IRD).

    Equal to metafor's ``rma.mh`` (3.8-1).  For table :math:`i` with cells
    :math:`a_i, b_i` (group 1 events / non-events), :math:`c_i, d_i` (group 2),
    :math:`n_{1i} = a_i + b_i`, :math:`n_{2i} = c_i + d_i`, :math:`N_i = n_{1i} + n_{2i}`:

    * OR (Mantel & Haenszel 1959): :math:`\hat\psi = R/S`, :math:`R = \sum a_i d_i/N_i`,
      :math:`S = \sum b_i c_i/N_i`, with the Robins-Breslow-Greenland (1986) variance
      :math:`\mathrm{Var}(\log\hat\psi) = \tfrac12\big[\sum P_iR_i/R^2 + \sum(P_iS_i+Q_iR_i)/(RS)
      + \sum Q_iS_i/S^2\big]`, :math:`P_i = (a_i+d_i)/N_i`, :math:`Q_i = (b_i+c_i)/N_i`,
      :math:`R_i = a_id_i/N_i`, :math:`S_i = b_ic_i/N_i`.
    * RR (Greenland & Robins 1985): :math:`R = \sum a_i n_{2i}/N_i`,
      :math:`S = \sum c_i n_{1i}/N_i`, :math:`\mathrm{Var}(\log RR) =
      \sum (n_{1i}n_{2i}(a_i+c_i)/N_i^2 - a_ic_i/N_i)/(RS)`.
    * RD (Greenland & Robins 1985; variance of Sato, Greenland & Robins 1989):
      :math:`\hat\delta = \sum (a_in_{2i} - c_in_{1i})/N_i \,/\, \sum n_{1i}n_{2i}/N_i`.
    * IRR and IRD (Greenland & Robins 1985) with events :math:`x_{1i}, x_{2i}` and person-times
      :math:`t_{1i}, t_{2i}`, :math:`T_i = t_{1i}+t_{2i}`: :math:`R = \sum x_{1i}t_{2i}/T_i`,
      :math:`S = \sum x_{2i}t_{1i}/T_i`, :math:`\mathrm{Var}(\log IRR) =
      \sum t_{1i}t_{2i}(x_{1i}+x_{2i})/T_i^2/(RS)`.

    Tests: Cochran-Mantel-Haenszel :math:`(|\sum a_i - n_{1i}m_{1i}/N_i| - c)^2 /
    \sum n_{1i}n_{2i}m_{1i}m_{2i}/(N_i^2(N_i-1))` with :math:`m_{1i} = a_i+c_i`,
    :math:`m_{2i} = b_i+d_i` and continuity correction :math:`c = 1/2` if ``correct``
    (Mantel & Haenszel 1959); Breslow-Day (Breslow & Day 1980) :math:`\sum (a_i - \tilde
    a_i)^2/\mathrm{Var}(a_i;\hat\psi)` with :math:`\tilde a_i` the fitted count under the
    common MH odds ratio, and Tarone's (1985) correction
    :math:`BD - (\sum a_i - \tilde a_i)^2 / \sum \mathrm{Var}(a_i;\hat\psi)`, both on
    ``k_pos - 1`` df (tables with :math:`\tilde a_i > 0` and both outcomes observed).

    Parameters
    ----------
    ai, bi, ci, di : 2x2 cells (OR, RR, RD); ``bi``/``di`` may be replaced by ``n1i``/``n2i``.
    x1i, x2i, t1i, t2i : events and person-times (IRR, IRD).
    measure : ``"OR"``, ``"RR"``, ``"RD"``, ``"IRR"`` or ``"IRD"``.
    add, to, drop00 : zero-cell handling as metafor (see the module docstring).
    correct : continuity correction of the CMH test.
    level : confidence level (fraction).

    Notes
    -----
    A pooled ratio is undefined when one of :math:`R`, :math:`S` is zero (for RR/IRR: no events
    in one group); metafor then returns NA, and so does this function (NaN, with a warning).
    """
    if measure not in MH_MEASURES:
        raise PlateauError(
            f"unknown measure {measure!r} for Mantel-Haenszel pooling; "
            f"use one of {', '.join(MH_MEASURES)}"
        )
    level = check_level(level)
    adds, tos, drops = _check_options(add, to, drop00)
    if measure in ("OR", "RR", "RD"):
        if any(v is not None for v in (x1i, x2i, t1i, t2i)):
            raise PlateauError(
                f"measure {measure} takes 2x2 counts (ai, bi, ci, di or n1i, n2i),"
                " not x1i/x2i/t1i/t2i"
            )
        tabs, present, batch = _tables(ai, bi, ci, di, n1i, n2i)
        yi, vi = _escalc_tables(measure, tabs, present, adds[0], tos[0], drops[0])
    else:
        if any(v is not None for v in (ai, bi, ci, di, n1i, n2i)):
            raise PlateauError(f"measure {measure} takes x1i, x2i, t1i, t2i, not 2x2 counts")
        tabs, present, batch = _person_time(x1i, x2i, t1i, t2i)
        yi, vi = _escalc_rates(measure, tabs, present, adds[0], tos[0], drops[0])

    nrow = present.shape[0]
    nan_row = np.full(nrow, np.nan)
    cmh, cmh_p, co, co_p = nan_row.copy(), nan_row.copy(), nan_row.copy(), nan_row.copy()
    bd, bd_p, ta, ta_p = nan_row.copy(), nan_row.copy(), nan_row.copy(), nan_row.copy()
    k_pos = np.full(nrow, np.nan)
    undefined = np.zeros(nrow, dtype=bool)

    with np.errstate(divide="ignore", invalid="ignore"):
        if measure in ("OR", "RR", "RD"):
            used = present.copy()
            a, b, c, d = tabs["ai"], tabs["bi"], tabs["ci"], tabs["di"]
            if drops[1]:
                used &= ~(((a == 0) & (c == 0)) | ((b == 0) & (d == 0)))
            a, b, c, d = (np.where(used, x, np.nan) for x in (a, b, c, d))
            a, b, c, d = _add_correction([a, b, c, d], used, adds[1], tos[1])
            n1, n2 = a + b, c + d
            big_n = n1 + n2
            if measure == "OR":
                p_i = a / big_n + d / big_n
                q_i = b / big_n + c / big_n
                r_i = (a / big_n) * d
                s_i = (b / big_n) * c
                r_sum, s_sum = _rowsum(r_i, used), _rowsum(s_i, used)
                undefined = (r_sum == 0) | (s_sum == 0)
                psi = r_sum / s_sum
                beta = np.log(psi)
                se = np.sqrt(
                    0.5
                    * (
                        _rowsum(p_i * r_i, used) / r_sum**2
                        + _rowsum(p_i * s_i + q_i * r_i, used) / (r_sum * s_sum)
                        + _rowsum(q_i * s_i, used) / s_sum**2
                    )
                )
                weights_raw = (b / big_n) * c
                xt, yt = a + c, b + d
                cc = 0.5 if correct else 0.0
                dev = np.abs(_rowsum(a - (n1 / big_n) * xt, used)) - cc
                no_test = (_rowsum(xt, used) == 0) | (_rowsum(yt, used) == 0)
                co = dev**2 / _rowsum((n1 / big_n) * (n2 / big_n) * (xt * (yt / big_n)), used)
                cmh = dev**2 / _rowsum(
                    (n1 / big_n) * (n2 / big_n) * (xt * (yt / (big_n - 1))), used
                )
                co = np.where(no_test, np.nan, co)
                cmh = np.where(no_test, np.nan, cmh)
                co_p = stats.chi2.sf(co, 1)
                cmh_p = stats.chi2.sf(cmh, 1)
                bd, ta, k_pos = _breslow_day(a, b, c, d, used, psi, undefined)
                df_bd = k_pos - 1
                ok = df_bd >= 1
                bd_p = np.where(ok, stats.chi2.sf(bd, np.maximum(df_bd, 1)), np.nan)
                ta_p = np.where(ok, stats.chi2.sf(ta, np.maximum(df_bd, 1)), np.nan)
            elif measure == "RR":
                r_sum = _rowsum(a * (n2 / big_n), used)
                s_sum = _rowsum(c * (n1 / big_n), used)
                undefined = (_rowsum(a, used) == 0) | (_rowsum(c, used) == 0)
                beta = np.log(r_sum / s_sum)
                se = np.sqrt(
                    _rowsum((n1 / big_n) * (n2 / big_n) * (a + c) - (a / big_n) * c, used)
                    / (r_sum * s_sum)
                )
                weights_raw = (c / big_n) * (a + b)
            else:  # RD
                denom = _rowsum(n1 * (n2 / big_n), used)
                beta = _rowsum(a * (n2 / big_n) - c * (n1 / big_n), used) / denom
                se = np.sqrt(
                    (
                        beta
                        * _rowsum(
                            c * (n1 / big_n) ** 2
                            - a * (n2 / big_n) ** 2
                            + (n1 / big_n) * (n2 / big_n) * (n2 - n1) / 2,
                            used,
                        )
                        + _rowsum(a * (n2 - c) / big_n + c * (n1 - a) / big_n, used) / 2
                    )
                    / denom**2
                )
                weights_raw = (n1 / big_n) * (c + d)
        else:
            used = present.copy()
            x1, x2, t1, t2 = tabs["x1i"], tabs["x2i"], tabs["t1i"], tabs["t2i"]
            if drops[1]:
                used &= ~((x1 == 0) & (x2 == 0))
            x1, x2 = (np.where(used, x, np.nan) for x in (x1, x2))
            x1, x2 = _add_correction([x1, x2], used, adds[1], tos[1])
            big_t = t1 + t2
            if measure == "IRR":
                r_sum = _rowsum(x1 * (t2 / big_t), used)
                s_sum = _rowsum(x2 * (t1 / big_t), used)
                undefined = (_rowsum(x1, used) == 0) | (_rowsum(x2, used) == 0)
                beta = np.log(r_sum / s_sum)
                se = np.sqrt(
                    _rowsum((t1 / big_t) * (t2 / big_t) * (x1 + x2), used) / (r_sum * s_sum)
                )
                weights_raw = (x2 / big_t) * t1
                xt = x1 + x2
                no_test = _rowsum(xt, used) == 0
                cc = 0.5 if correct else 0.0
                cmh = (np.abs(_rowsum(x1 - xt * (t1 / big_t), used)) - cc) ** 2 / _rowsum(
                    xt * (t1 / big_t) * (t2 / big_t), used
                )
                cmh = np.where(no_test, np.nan, cmh)
                cmh_p = stats.chi2.sf(cmh, 1)
            else:  # IRD
                denom = _rowsum((t1 / big_t) * t2, used)
                beta = _rowsum((x1 * t2 - x2 * t1) / big_t, used) / denom
                se = (
                    np.sqrt(_rowsum(((t1 / big_t) * t2) ** 2 * (x1 / t1**2 + x2 / t2**2), used))
                    / denom
                )
                weights_raw = (t1 / big_t) * t2

        beta = np.where(undefined, np.nan, beta)
        se = np.where(undefined, np.nan, se)
        zval, pval, ci_low, ci_high = _wald(beta, se, level)
        weights = np.where(used, weights_raw, np.nan)
        weights = 100 * weights / _rowsum(weights, used)[:, None]

    q, q_df, q_pval, i2, h2, k_yi = _heterogeneity(yi, vi, beta)
    if undefined.any():
        rows = np.flatnonzero(undefined)
        warnings.warn(
            f"Mantel-Haenszel {measure} undefined{_rows_text(rows, batch)}: no events "
            "(or no non-events) in one group across all studies; estimate is NaN, as "
            "metafor's NA",
            RuntimeWarning,
            stacklevel=2,
        )
    k = used.sum(axis=1)

    def per_study(x: Any) -> Any:
        return x if batch else x[0]

    return MantelHaenszelResult(
        measure=measure,
        estimate=_out(beta, batch),
        se=_out(se, batch),
        zval=_out(zval, batch),
        pval=_out(pval, batch),
        ci_low=_out(ci_low, batch),
        ci_high=_out(ci_high, batch),
        q=_out(q, batch),
        q_df=_out(q_df, batch, True),
        q_pval=_out(q_pval, batch),
        i2=_out(i2, batch),
        h2=_out(h2, batch),
        cmh=_out(cmh, batch),
        cmh_pval=_out(cmh_p, batch),
        cochran_cmh=_out(co, batch),
        cochran_cmh_pval=_out(co_p, batch),
        breslow_day=_out(bd, batch),
        breslow_day_pval=_out(bd_p, batch),
        tarone=_out(ta, batch),
        tarone_pval=_out(ta_p, batch),
        k=_out(k, batch, True),
        k_yi=_out(k_yi, batch, True),
        k_pos=_out(
            np.nan_to_num(k_pos, nan=0.0) if measure == "OR" else k_pos, batch, measure == "OR"
        ),
        weights=per_study(weights),
        yi=per_study(yi),
        vi=per_study(vi),
        level=level,
        correct=bool(correct),
    )


def _breslow_day(a: Any, b: Any, c: Any, d: Any, used: Any, psi: Any, undefined: Any) -> Any:
    """Breslow-Day and Tarone statistics around the MH odds ratio ``psi`` (one per row).

    The fitted cell :math:`\\tilde a_i` solves :math:`\\tilde a_i(N_i - n_{1i} - m_{1i} +
    \\tilde a_i) = \\psi (n_{1i} - \\tilde a_i)(m_{1i} - \\tilde a_i)`, the root
    :math:`(A - \\sqrt{A^2 - 4 n_{1i} m_{1i} \\psi(\\psi - 1)})/(2(\\psi - 1))` with
    :math:`A = \\psi(n_{1i} + m_{1i}) + n_{2i} - m_{1i}` (or :math:`n_{1i} m_{1i}/N_i` if
    :math:`\\psi = 1`), exactly as metafor computes it.
    """
    n1, n2 = a + b, c + d
    big_n = n1 + n2
    xt, yt = a + c, b + d
    psi_col = psi[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        big_a = psi_col * (n1 + xt) + (n2 - xt)
        big_b = np.sqrt(big_a**2 - 4 * n1 * xt * psi_col * (psi_col - 1))
        n11 = np.where(psi_col == 1, (n1 / big_n) * xt, (big_a - big_b) / (2 * (psi_col - 1)))
        pos = used & (n11 > 0) & (xt > 0) & (yt > 0)
        n12 = n1 - n11
        n21 = xt - n11
        n22 = n11 - n1 - xt + big_n
        inv_var = 1 / n11 + 1 / n12 + 1 / n21 + 1 / n22
        bd = np.maximum(0.0, _rowsum((a - n11) ** 2 / inv_var**-1, pos))
        ta = np.maximum(0.0, bd - _rowsum(a - n11, pos) ** 2 / _rowsum(inv_var**-1, pos))
    k_pos = pos.sum(axis=1).astype(float)
    bd = np.where(undefined, np.nan, bd)
    ta = np.where(undefined, np.nan, ta)
    k_pos = np.where(undefined, 0.0, k_pos)
    return bd, ta, k_pos


# --------------------------------------------------------------------------- Peto


@dataclass(frozen=True)
class PetoResult(ReadOnlyArrays):
    """Peto's one-step log odds ratio, as metafor's ``rma.peto``.

    ``estimate``, ``ci_low``, ``ci_high`` are log odds ratios.  ``q`` is Peto's heterogeneity
    statistic :math:`\\sum (O_i - E_i)^2/V_i - (\\sum O_i - E_i)^2/\\sum V_i` with
    ``q_df = k_yi - 1``; I2 and H2 as for the MH model (0 and 1 when fewer than two tables are
    informative).  ``weights`` are :math:`V_i` in percent; ``yi``/``vi`` the per-study Peto log
    odds ratios and variances from escalc (for forest plots).
    """

    estimate: Any
    se: Any
    zval: Any
    pval: Any
    ci_low: Any
    ci_high: Any
    q: Any
    q_df: Any
    q_pval: Any
    i2: Any
    h2: Any
    k: Any
    k_yi: Any
    k_pos: Any
    weights: np.ndarray
    yi: np.ndarray
    vi: np.ndarray
    level: float
    measure: str = "PETO"

    def to_dict(self) -> dict[str, Any]:
        """All fields, JSON-ready (NaN becomes None)."""
        return dataclass_dict(self)

    def summary(self) -> str:
        """A short text in the spirit of metafor's printout (first row of a batch)."""

        def first(value: Any) -> Any:
            arr = np.asarray(value, dtype=float)
            return arr.reshape(-1)[0] if arr.ndim else float(arr)

        pct = round(self.level * 100)
        head = f"Equal-effects model, Peto's method (k = {int(first(self.k))})"
        if np.ndim(self.estimate):
            head += f" [row 0 of a batch of {np.size(self.estimate)}]"
        return "\n".join(
            [
                head,
                f"  log OR {fmt(first(self.estimate))} (se {fmt(first(self.se))}), {pct}% CI "
                f"{fmt(first(self.ci_low))} to {fmt(first(self.ci_high))}, "
                f"z = {fmt(first(self.zval), 2)}, p = {fmt_p(first(self.pval))}",
                f"  OR {fmt(np.exp(first(self.estimate)))}, {pct}% CI "
                f"{fmt(np.exp(first(self.ci_low)))} to {fmt(np.exp(first(self.ci_high)))}",
                f"  Q({int(first(self.q_df))}) = {fmt(first(self.q))}, "
                f"p = {fmt_p(first(self.q_pval))}; I2 = {fmt(first(self.i2), 2)}%, "
                f"H2 = {fmt(first(self.h2))}",
            ]
        )


def peto(
    ai: Any = None,
    bi: Any = None,
    ci: Any = None,
    di: Any = None,
    *,
    n1i: Any = None,
    n2i: Any = None,
    add: float | Sequence[float] = 0.5,
    to: str | Sequence[str] = "only0",
    drop00: bool | Sequence[bool] = True,
    level: float = 0.95,
) -> PetoResult:
    r"""Peto's one-step pooled log odds ratio (Yusuf, Peto et al. 1985), as metafor's ``rma.peto``.

    With :math:`O_i = a_i`, :math:`E_i = m_{1i} n_{1i}/N_i` and hypergeometric variance
    :math:`V_i = m_{1i} m_{2i} n_{1i} n_{2i} / (N_i^2 (N_i - 1))` (:math:`m_{1i} = a_i + c_i`,
    :math:`m_{2i} = b_i + d_i`):

    .. math:: \log\hat\psi = \frac{\sum (O_i - E_i)}{\sum V_i}, \qquad
              \mathrm{SE} = 1/\sqrt{\sum V_i}.

    Heterogeneity: :math:`Q = \sum (O_i-E_i)^2/V_i - (\sum O_i-E_i)^2/\sum V_i` over tables with
    :math:`V_i > 0`, on ``k_yi - 1`` df (``k_yi``: studies with an escalc Peto yi).  Tables are
    used as given (no correction by default; double-zero tables have :math:`V_i = 0`).  Raises
    :class:`PlateauError` when :math:`\sum V_i = 0` (one outcome never occurred), as metafor
    does; in a batch such rows are NaN with a warning.
    """
    level = check_level(level)
    adds, tos, drops = _check_options(add, to, drop00)
    tabs, present, batch = _tables(ai, bi, ci, di, n1i, n2i)
    yi, vi = _escalc_tables("PETO", tabs, present, adds[0], tos[0], drops[0])
    used = present.copy()
    a, b, c, d = tabs["ai"], tabs["bi"], tabs["ci"], tabs["di"]
    if drops[1]:
        used &= ~(((a == 0) & (c == 0)) | ((b == 0) & (d == 0)))
    a, b, c, d = (np.where(used, x, np.nan) for x in (a, b, c, d))
    a, b, c, d = _add_correction([a, b, c, d], used, adds[1], tos[1])
    n1, n2 = a + b, c + d
    big_n = n1 + n2
    xt, yt = a + c, b + d
    with np.errstate(divide="ignore", invalid="ignore"):
        e_i = xt * n1 / big_n
        v_i = xt * yt * (n1 / big_n) * (n2 / big_n) / (big_n - 1)
        v_sum = _rowsum(v_i, used)
        degenerate = v_sum == 0
        if degenerate.any():
            if not batch:
                raise PlateauError(
                    "one of the two outcomes never occurred in any of the tables: "
                    "Peto's method cannot be used"
                )
            warnings.warn(
                "Peto's method undefined"
                + _rows_text(np.flatnonzero(degenerate), True)
                + ": one outcome never occurred; estimate is NaN",
                RuntimeWarning,
                stacklevel=2,
            )
        o_minus_e = _rowsum(a - e_i, used)
        beta = np.where(degenerate, np.nan, o_minus_e / v_sum)
        se = np.where(degenerate, np.nan, np.sqrt(1 / v_sum))
        zval, pval, ci_low, ci_high = _wald(beta, se, level)
        informative = used & (v_i > 0)
        k_pos = informative.sum(axis=1)
        q = np.maximum(
            0.0,
            _rowsum((a - e_i) ** 2 / v_i, informative) - o_minus_e**2 / _rowsum(v_i, informative),
        )
        k_yi = (~np.isnan(yi) & ~np.isnan(vi)).sum(axis=1)
        q_df = k_yi - 1
        several = k_pos > 1
        # p on the reported q_df; with q_df = 0 (one table with an escalc yi but two or more
        # informative tables) chi^2_0 is a point mass at 0, as metafor's pchisq(QE, df = 0)
        q_pval = np.where(
            several,
            np.where(q_df >= 1, stats.chi2.sf(q, np.maximum(q_df, 1)), np.where(q > 0, 0.0, 1.0)),
            1.0,
        )
        i2 = np.where(several, np.maximum(0.0, 100 * (q - q_df) / q), 0.0)
        h2 = np.where(several, q / q_df, 1.0)
        q = np.where(degenerate, np.nan, q)
        weights = np.where(used, v_i, np.nan)
        weights = 100 * weights / v_sum[:, None]

    def per_study(x: Any) -> Any:
        return x if batch else x[0]

    return PetoResult(
        estimate=_out(beta, batch),
        se=_out(se, batch),
        zval=_out(zval, batch),
        pval=_out(pval, batch),
        ci_low=_out(ci_low, batch),
        ci_high=_out(ci_high, batch),
        q=_out(q, batch),
        q_df=_out(q_df, batch, True),
        q_pval=_out(q_pval, batch),
        i2=_out(i2, batch),
        h2=_out(h2, batch),
        k=_out(used.sum(axis=1), batch, True),
        k_yi=_out(k_yi, batch, True),
        k_pos=_out(k_pos, batch, True),
        weights=per_study(weights),
        yi=per_study(yi),
        vi=per_study(vi),
        level=level,
    )
