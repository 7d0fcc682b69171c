"""Effect sizes and their sampling variances.

Hazard ratios (time-to-event outcomes; Parmar, Torri & Stewart 1998, Stat Med 17:2815-34,
doi:10.1002/(SICI)1097-0258(19981230)17:24<2815::AID-SIM110>3.0.CO;2-8; Tierney et al. 2007,
Trials 8:16, doi:10.1186/1745-6215-8-16):

* from HR and its CI:  y = ln HR,  se = (ln U - ln L) / (2 z_{(1+level)/2})
* from HR and a two-sided p-value: se = |ln HR| / z_{1-p/2}
* from the log-rank O - E and its variance V:  y = (O - E)/V,  var = 1/V  (Peto's one-step)
* from a two-sided p-value and the total number of events D (Parmar 1998, "indirect" method):
  V = D r/(1+r)^2 (r = allocation ratio, 1:1 gives D/4),  O - E = +-z_{1-p/2} sqrt(V),
  y = (O - E)/V,  var = 1/V; the sign is negative when the experimental arm is favoured.
  Flagged approximate (it assumes the allocation ratio and a log-rank p-value).
* from per-arm medians under exponential survival (hazard = ln 2 / median):
  HR = median_control / median_experimental, var(ln HR) = 1/d_e + 1/d_c (d = events per arm).
  Flagged approximate: only valid when survival is close to exponential (Tierney 2007 warns).
* from a printed HR without CI or p-value and the events per arm: y = ln HR,
  var(ln HR) = 1/d_e + 1/d_c (Parmar 1998, the variance of the log hazard ratio when the
  log-rank variance is approximated by the events; with 1:1 allocation and d_e = d_c = D/2 this is
  4/D, Tierney 2007).  Flagged approximate.
* from x-year survival proportions per arm S_e, S_c and arm sizes (Parmar 1998 "survival at a
  single time point"; Williamson et al., Stat Med 2002;21:3337): under proportional hazards
  S_e = S_c^HR, so ln HR = ln(-ln S_e) - ln(-ln S_c); events by x years d_i = n_i (1 - S_i)
  (every patient followed to x years), var = 1/d_e + 1/d_c.  Flagged approximate; sound only when
  most patients were followed to the time point (the caller checks median follow-up >= x).

2x2 tables and rates follow metafor's ``escalc`` (Viechtbauer 2010), including its zero-cell
conventions: ``add=1/2`` is added to all cells of the tables (or counts) with a zero
(``to="only0"``), double-zero studies are kept (``drop00=False``):

* RR: ln(p1/p2), var = 1/a - 1/n1 + 1/c - 1/n2
* OR: ln(ad/bc), var = 1/a + 1/b + 1/c + 1/d
* RD: p1 - p2, var = p1 q1/n1 + p2 q2/n2
* PETO (Yusuf et al. 1985): (a - E)/V, var = 1/V with E = (a+c) n1/N, V = (a+c)(b+d) n1 n2/(N^2
  (N-1))
* IRR: ln(x1/t1) - ln(x2/t2), var = 1/x1 + 1/x2;  IRD: x1/t1 - x2/t2, var = x1/t1^2 + x2/t2^2
* PR: x/n, var = p(1-p)/n;  PLO: logit(x/n), var = 1/x + 1/(n-x)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from scipy import stats

from plateau.errors import PlateauError
from plateau.meta._common import MetaWarning, ReadOnlyArrays, jsonable

__all__ = [
    "EffectSizes",
    "log_hr_from_ci",
    "log_hr_from_p",
    "log_hr_from_oe",
    "log_hr_from_p_events",
    "log_hr_from_medians",
    "log_hr_from_hr_events",
    "log_hr_from_survival",
    "escalc",
    "ESCALC_MEASURES",
]

ESCALC_MEASURES = ("RR", "OR", "RD", "PETO", "IRR", "IRD", "PR", "PLO")


@dataclass(frozen=True)
class EffectSizes(ReadOnlyArrays):
    """Effect sizes ``yi`` with sampling variances ``vi`` (arrays shaped like the input)."""

    yi: Any
    vi: Any
    measure: str
    approximate: Any

    @property
    def sei(self) -> np.ndarray:
        return cast("np.ndarray", np.sqrt(self.vi))

    def to_dict(self) -> dict[str, Any]:
        return {
            "yi": jsonable(np.asarray(self.yi)),
            "vi": jsonable(np.asarray(self.vi)),
            "measure": self.measure,
            "approximate": jsonable(np.asarray(self.approximate)),
        }

    def summary(self) -> str:
        yi = np.atleast_1d(self.yi)
        approx = int(np.sum(np.atleast_1d(self.approximate)))
        return f"{yi.size} effect size(s), measure {self.measure}" + (
            f", {approx} approximate" if approx else ""
        )


def _arr(
    name: Any, value: Any, positive: Any = False, nonneg: Any = False, prob: Any = False
) -> np.ndarray:
    try:
        a = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise PlateauError(f"{name} must be numeric; got {value!r}") from None
    if not np.all(np.isfinite(a)):
        raise PlateauError(f"{name} must be finite; got {value!r}")
    if positive and np.any(a <= 0):
        raise PlateauError(f"{name} must be > 0; got {value!r}")
    if nonneg and np.any(a < 0):
        raise PlateauError(f"{name} must be >= 0; got {value!r}")
    if prob and np.any((a <= 0) | (a >= 1)):
        raise PlateauError(f"{name} must be a probability strictly between 0 and 1; got {value!r}")
    return a


def _out(yi: Any, vi: Any, measure: Any, approximate: Any) -> EffectSizes:
    yi = np.asarray(yi, dtype=float)
    vi = np.asarray(vi, dtype=float)
    approx = np.broadcast_to(np.asarray(approximate, dtype=bool), yi.shape).copy()
    if yi.ndim == 0:
        return EffectSizes(float(yi), float(vi), measure, bool(approx))
    return EffectSizes(yi, vi, measure, approx)


def log_hr_from_ci(hr: Any, ci_low: Any, ci_high: Any, level: float = 0.95) -> EffectSizes:
    """ln HR and its variance from HR and its (1 - alpha) CI (Parmar 1998; Tierney 2007, eq.
    1-2)."""
    hr, lo, hi = (
        _arr("hr", hr, positive=True),
        _arr("ci_low", ci_low, positive=True),
        _arr("ci_high", ci_high, positive=True),
    )
    if not (0 < level < 1):
        raise PlateauError(f"level must be in (0, 1); got {level!r}")
    if np.any(lo >= hi):
        raise PlateauError("ci_low must be smaller than ci_high")
    if np.any((hr < lo) | (hr > hi)):
        raise PlateauError("hr must lie inside its confidence interval [ci_low, ci_high]")
    z = stats.norm.isf((1 - level) / 2)
    se = (np.log(hi) - np.log(lo)) / (2 * z)
    return _out(np.log(hr), se**2, "logHR", False)


def log_hr_from_p(hr: Any, p_value: Any) -> EffectSizes:
    """ln HR and its variance from HR and a two-sided p-value: se = |ln HR| / z_{1-p/2} (Tierney
    2007)."""
    hr = _arr("hr", hr, positive=True)
    p = _arr("p_value", p_value, prob=True)
    if np.any(hr == 1):
        raise PlateauError(
            "hr = 1 carries no information about the standard error; use the CI or O-E/V instead"
        )
    z = stats.norm.isf(p / 2)
    se = np.abs(np.log(hr)) / z
    return _out(np.log(hr), se**2, "logHR", False)


def log_hr_from_oe(o_minus_e: Any, variance: Any) -> EffectSizes:
    """ln HR = (O - E)/V, var = 1/V from the log-rank statistics (Parmar 1998, eq. 2; Peto's
    method)."""
    oe = _arr("o_minus_e", o_minus_e)
    V = _arr("variance", variance, positive=True)
    return _out(oe / V, 1 / V, "logHR", False)


def log_hr_from_p_events(
    p_value: Any, events: Any, favours_experimental: bool = True, allocation_ratio: float = 1.0
) -> EffectSizes:
    """ln HR from a two-sided log-rank p-value and the total number of events (Parmar 1998, eq.
    6-7).

    V = D r/(1 + r)^2 (r = n_experimental/n_control; D/4 for 1:1), |O - E| = z_{1-p/2} sqrt(V),
    ln HR = (O - E)/V (negative when ``favours_experimental``), var = 1/V.  Approximate.
    """
    p = _arr("p_value", p_value, prob=True)
    d = _arr("events", events, positive=True)
    r = _arr("allocation_ratio", allocation_ratio, positive=True)
    V = d * r / (1 + r) ** 2
    oe = stats.norm.isf(p / 2) * np.sqrt(V) * np.where(np.asarray(favours_experimental), -1.0, 1.0)
    return _out(oe / V, 1 / V, "logHR", True)


def log_hr_from_medians(
    median_experimental: Any, median_control: Any, events_experimental: Any, events_control: Any
) -> EffectSizes:
    """Approximate ln HR from per-arm medians under exponential survival (hazard = ln 2/median).

    ln HR = ln(median_control) - ln(median_experimental), var = 1/d_e + 1/d_c.  Always flagged
    approximate: the exponential model rarely holds exactly (Tierney 2007).
    """
    me = _arr("median_experimental", median_experimental, positive=True)
    mc = _arr("median_control", median_control, positive=True)
    de = _arr("events_experimental", events_experimental, positive=True)
    dc = _arr("events_control", events_control, positive=True)
    return _out(np.log(mc) - np.log(me), 1 / de + 1 / dc, "logHR", True)


def log_hr_from_hr_events(hr: Any, events_experimental: Any, events_control: Any) -> EffectSizes:
    """ln HR as printed with var = 1/d_e + 1/d_c (Parmar 1998; 4/D for equal events).

    For a hazard ratio printed without CI or exact p-value (e.g. "HR = 1") when the events per arm
    are known or estimated.  Always flagged approximate.
    """
    hr = _arr("hr", hr, positive=True)
    de = _arr("events_experimental", events_experimental, positive=True)
    dc = _arr("events_control", events_control, positive=True)
    return _out(np.log(hr), 1 / de + 1 / dc, "logHR", True)


def events_from_survival(survival: Any, n: Any) -> np.ndarray:
    """Events by the time point if every patient was followed to it: d = n (1 - S)."""
    s = _arr("survival", survival, prob=True)
    n = _arr("n", n, positive=True)
    return np.asarray(n * (1 - s), dtype=float)


def log_hr_from_survival(
    survival_experimental: Any, survival_control: Any, n_experimental: Any, n_control: Any
) -> EffectSizes:
    """Approximate ln HR from x-year survival proportions (0-1) and arm sizes.

    Proportional hazards: S_e = S_c^HR, so ln HR = ln(-ln S_e) - ln(-ln S_c) (Parmar 1998,
    section 4.3; Williamson 2002).  Events d_i = n_i (1 - S_i), var = 1/d_e + 1/d_c.  Always
    flagged approximate.
    """
    se_ = _arr("survival_experimental", survival_experimental, prob=True)
    sc = _arr("survival_control", survival_control, prob=True)
    de = events_from_survival(se_, n_experimental)
    dc = events_from_survival(sc, n_control)
    return _out(np.log(-np.log(se_)) - np.log(-np.log(sc)), 1 / de + 1 / dc, "logHR", True)


def _counts(name: Any, value: Any) -> np.ndarray | None:
    if value is None:
        return None
    a = np.asarray(value, dtype=float)
    if np.any(np.isnan(a)):
        raise PlateauError(f"{name} has missing values")
    if np.any(a < 0) or not np.all(np.isfinite(a)):
        raise PlateauError(f"{name} must hold finite non-negative counts")
    return a


def _row_any(mask: Any) -> np.ndarray:
    """'if0all' applies per analysis: per row of a 2-D input, over everything for 1-D."""
    if mask.ndim >= 2:
        return np.broadcast_to(mask.any(axis=-1, keepdims=True), mask.shape)
    return np.broadcast_to(mask.any(), mask.shape)


def _correct(cells: Any, zero: Any, add: Any, to: Any) -> list[np.ndarray]:
    if to == "none" or add == 0:
        return cast("list[np.ndarray]", cells)
    if to == "all":
        sel = np.ones_like(zero, dtype=bool)
    elif to == "only0":
        sel = zero
    else:  # if0all
        sel = _row_any(zero)
    return [c + add * sel for c in cells]


def escalc(
    measure: str,
    *,
    ai: Any = None,
    bi: Any = None,
    ci: Any = None,
    di: Any = None,
    n1i: Any = None,
    n2i: Any = None,
    x1i: Any = None,
    x2i: Any = None,
    t1i: Any = None,
    t2i: Any = None,
    xi: Any = None,
    ni: Any = None,
    mi: Any = None,
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = False,
) -> EffectSizes:
    """Effect sizes for 2x2 tables, incidence rates and proportions, as metafor's ``escalc``.

    ``measure``: "RR", "OR", "RD", "PETO" (ai, bi/n1i, ci, di/n2i); "IRR", "IRD" (x1i, t1i, x2i,
    t2i);
    "PR", "PLO" (xi and ni or mi).  Zero cells: ``add`` is added where ``to`` says ("only0": tables
    with a zero cell, "all", "if0all": all tables if any has a zero, "none"); ``drop00=True`` sets
    studies with no events (or only events) in both arms to NaN.  Values that are undefined
    (e.g. ln 0 with ``add=0``) become NaN in both yi and vi, with a :class:`MetaWarning`.
    """
    if measure not in ESCALC_MEASURES:
        raise PlateauError(
            f"unknown measure {measure!r}; choose one of {', '.join(ESCALC_MEASURES)}"
        )
    if to not in ("only0", "all", "if0all", "none"):
        raise PlateauError(
            f"unknown zero-cell rule to={to!r}; choose 'only0', 'all', 'if0all' or 'none'"
        )
    if not (np.isfinite(add) and add >= 0):
        raise PlateauError(f"add must be a finite number >= 0; got {add!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure in ("RR", "OR", "RD", "PETO"):
            a, c = _counts("ai", ai), _counts("ci", ci)
            if a is None or c is None:
                raise PlateauError(
                    f"measure {measure} needs ai and ci (events) plus bi/di or n1i/n2i"
                )
            b = (
                _counts("bi", bi)
                if bi is not None
                else (None if n1i is None else _counts("n1i", n1i) - a)
            )
            d = (
                _counts("di", di)
                if di is not None
                else (None if n2i is None else _counts("n2i", n2i) - c)
            )
            if b is None or d is None:
                raise PlateauError(f"measure {measure} needs bi or n1i, and di or n2i")
            a, b, c, d = np.broadcast_arrays(a, b, c, d)
            if np.any(b < 0) or np.any(d < 0):
                raise PlateauError(
                    "event counts larger than the group sizes (ai > n1i or ci > n2i)"
                )
            drop = (
                ((a == 0) & (c == 0)) | ((b == 0) & (d == 0)) if drop00 else np.zeros(a.shape, bool)
            )
            zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
            a, b, c, d = _correct([a, b, c, d], zero, add, to)
            n1, n2 = a + b, c + d
            p1, p2 = a / n1, c / n2
            if measure == "RR":
                yi, vi = np.log(p1) - np.log(p2), 1 / a - 1 / n1 + 1 / c - 1 / n2
            elif measure == "OR":
                yi, vi = (
                    np.log(p1 / (1 - p1)) - np.log(p2 / (1 - p2)),
                    1 / a + 1 / b + 1 / c + 1 / d,
                )
            elif measure == "RD":
                yi, vi = p1 - p2, p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
            else:
                N = n1 + n2
                E = (a + c) * n1 / N
                V = (a + c) * (b + d) * (n1 / N) * (n2 / N) / (N - 1)
                yi, vi = (a - E) / V, 1 / V
        elif measure in ("IRR", "IRD"):
            x1, x2 = _counts("x1i", x1i), _counts("x2i", x2i)
            if x1 is None or x2 is None or t1i is None or t2i is None:
                raise PlateauError(f"measure {measure} needs x1i, t1i, x2i and t2i")
            t1 = _arr("t1i", t1i, positive=True)
            t2 = _arr("t2i", t2i, positive=True)
            x1, x2, t1, t2 = np.broadcast_arrays(x1, x2, t1, t2)
            drop = (x1 == 0) & (x2 == 0) if drop00 else np.zeros(x1.shape, bool)
            zero = (x1 == 0) | (x2 == 0)
            x1, x2 = _correct([x1, x2], zero, add, to)
            r1, r2 = x1 / t1, x2 / t2
            if measure == "IRR":
                yi, vi = np.log(r1) - np.log(r2), 1 / x1 + 1 / x2
            else:
                yi, vi = r1 - r2, r1 / t1 + r2 / t2
        else:
            x = _counts("xi", xi)
            if x is None or (ni is None and mi is None):
                raise PlateauError(f"measure {measure} needs xi and ni (or mi = non-events)")
            m = cast(np.ndarray, _counts("mi", mi) if mi is not None else _counts("ni", ni))
            if mi is None:
                m = m - x
            x, m = np.broadcast_arrays(x, m)
            if np.any(m < 0):
                raise PlateauError("xi larger than ni")
            if np.any(x + m <= 0):
                raise PlateauError("ni must be > 0")
            drop = np.zeros(x.shape, bool)
            zero = (x == 0) | (m == 0)
            x, m = _correct([x, m], zero, add, to)
            n = x + m
            p = x / n
            if measure == "PR":
                yi, vi = p, p * (1 - p) / n
            else:
                yi, vi = np.log(p / (1 - p)), 1 / x + 1 / m
    yi = np.where(drop, np.nan, yi)
    vi = np.where(drop, np.nan, vi)
    undefined = ~drop & (~np.isfinite(yi) | ~np.isfinite(vi))
    if np.any(undefined):
        where = np.argwhere(undefined)[:8].tolist()
        warnings.warn(
            f"{measure} is undefined (e.g. a log of 0 without a zero-cell correction) at index "
            f"{where}; yi and vi set to NaN there",
            MetaWarning,
            stacklevel=2,
        )
        yi = np.where(undefined, np.nan, yi)
        vi = np.where(undefined, np.nan, vi)
    return _out(yi, vi, measure, False)
