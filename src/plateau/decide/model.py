"""Absolute effects from a baseline survival curve and a hazard ratio (NumPy, vectorised).

The decision engine's baselines are fitted by :mod:`plateau.decide.flexible` (every landmark,
spline/Weibull/exponential); this module keeps the closed-form exponential helpers (the
sensitivity model and the oracle the quadrature is tested against), NNT and the simulation
helpers.  The pooled single-point exponential below is the earlier model, kept for reference.

Model
-----
* **Baseline (control-arm) curve**: exponential, ``S0(t) = exp(-h0 t)`` (t in months).  Each
  control arm contributes the constant hazard implied by one published point: a median ``m``
  gives ``h = ln 2 / m``; an x-year event-free rate ``S`` at ``t`` months gives ``h = -ln S / t``.
  The log hazards are pooled by random effects (REML, :func:`plateau.meta.pool`) with sampling
  variance ``1/d`` (the variance of the log of an exponential-rate estimate from ``d`` events;
  Collett, *Modelling Survival Data in Medical Research*, 3rd ed. 2015, section 5.1), where ``d``
  is the control arm's reported number of events, else the events implied by the point itself
  (``n/2`` at the median, ``n (1 - S)`` at an x-year rate): a conservative count, since more
  events occur over the whole follow-up.  With one arm the pooled value is that arm's.
* **Risk-group adjustment** (optional): ``S0_patient(t) = S0(t)^M`` with a multiplier ``M`` on
  the baseline hazard (see :mod:`plateau.rules.decision`).
* **Treatment**: proportional hazards, ``S1(t) = S0(t)^HR`` (the GRADE convention for
  time-to-event outcomes; Skoetz et al., J Clin Epidemiol 2020;118:124), so under the
  exponential baseline ``h1 = HR h0``.
* **Restricted mean survival time** to horizon ``tau``:
  ``RMST = int_0^tau S(u) du = (1 - exp(-h tau)) / h``;
  the gain is ``RMST(HR h0) - RMST(h0)`` (Royston & Parmar, BMC Med Res Methodol 2013;13:152).
* **NNT** at ``t``: ``1 / (S1(t) - S0(t))`` when the difference is positive (Altman & Andersen,
  BMJ 1999;319:1492 for survival outcomes); undefined otherwise.
* **Uncertainty** by simulation: ``log HR ~ Normal(mu, se^2 + tau^2)``, the random-effects
  predictive distribution of the effect in a new setting (Higgins, Thompson & Spiegelhalter,
  J R Stat Soc A 2009;172:137; a normal rather than a t reference, a choice that narrows the
  interval when k is small), and ``log h0 ~ Normal(mu_h, se_h^2 + tau_h^2)`` likewise for the
  baseline, independently; intervals are the 2.5th and 97.5th percentiles of the simulated
  quantities.  Point estimates use the central values (not simulation medians), so identities
  such as ``HR = 1 => no difference`` hold exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from plateau.errors import PlateauError

LN2 = math.log(2.0)


def survival_exponential(hazard, t):
    """``S(t) = exp(-h t)``; broadcasts ``hazard`` (per month) against ``t`` (months)."""
    return np.exp(-np.multiply.outer(np.asarray(hazard, dtype=float), np.asarray(t, dtype=float)))


def treated_survival(s0, hr):
    """Proportional hazards: ``S1 = S0 ** HR`` (elementwise, broadcasting)."""
    return np.power(np.asarray(s0, dtype=float), np.asarray(hr, dtype=float))


def rmst_exponential(hazard, tau):
    """Restricted mean survival to ``tau`` months of ``S(t) = exp(-h t)``: ``(1 - e^{-h tau}) / h``.

    ``h -> 0`` gives ``tau`` (computed with ``-expm1`` for accuracy).
    """
    h = np.asarray(hazard, dtype=float)
    tau = float(tau)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = -np.expm1(-h * tau) / h
    return np.where(h * tau < 1e-12, tau, out)


def nnt(s0, s1):
    """Number needed to treat for one more event-free patient at a horizon; NaN if S1 <= S0."""
    diff = np.asarray(s1, dtype=float) - np.asarray(s0, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(diff > 0, 1.0 / np.where(diff > 0, diff, 1.0), np.nan)


def hazard_from_median(median_months: float) -> float:
    """Exponential hazard with median ``m``: ``ln 2 / m`` (per month)."""
    if not median_months > 0:
        raise PlateauError(f"median must be > 0 months (got {median_months})")
    return LN2 / median_months


def hazard_from_rate(rate_percent: float, months: float) -> float:
    """Exponential hazard through ``S(t) = rate/100``: ``-ln(rate/100) / t`` (per month)."""
    if not 0 < rate_percent < 100 or not months > 0:
        raise PlateauError(
            f"an x-year rate must be strictly between 0 and 100% at t > 0 (got {rate_percent}% "
            f"at {months} months)"
        )
    return -math.log(rate_percent / 100.0) / months


@dataclass(frozen=True)
class BaselinePoint:
    """One control arm's published point and the constant hazard it implies."""

    trial_id: str
    trial_name: str
    comparison_id: str
    outcome: str  #: PFS, EFS, TTP or OS as reported
    kind: str  #: "median" or "rate"
    months: float  #: the median, or the time point of the rate
    value: float  #: median (months) or rate (percent)
    n_control: float | None  #: control-arm size (total / arms when only the total is known)
    events: float  #: events used for the sampling variance (reported, or implied by the point)
    events_reported: bool
    citation: str
    link: str | None
    location: str | None

    @property
    def hazard(self) -> float:
        return (
            hazard_from_median(self.value)
            if self.kind == "median"
            else hazard_from_rate(self.value, self.months)
        )

    def text(self) -> str:
        what = (
            f"median {self.value:g} months"
            if self.kind == "median"
            else f"{self.value:g}% at {self.months:g} months"
        )
        return f"{self.trial_name} control arm: {self.outcome} {what}"

    def to_dict(self) -> dict:
        return {
            "trial_id": self.trial_id,
            "trial_name": self.trial_name,
            "comparison_id": self.comparison_id,
            "outcome": self.outcome,
            "kind": self.kind,
            "months": self.months,
            "value": self.value,
            "n_control": self.n_control,
            "events": self.events,
            "events_reported": self.events_reported,
            "hazard_per_month": self.hazard,
            "citation": self.citation,
            "link": self.link,
            "location": self.location,
            "text": self.text(),
        }


@dataclass(frozen=True)
class BaselineFit:
    """Pooled log hazard of the control arms: ``mu`` with ``se`` and between-trial ``tau2``."""

    log_hazard: float
    se: float
    tau2: float
    points: tuple[BaselinePoint, ...]

    @property
    def hazard(self) -> float:
        return math.exp(self.log_hazard)

    @property
    def median_months(self) -> float:
        return LN2 / self.hazard

    @property
    def predictive_sd(self) -> float:
        return math.sqrt(self.se**2 + self.tau2)

    def to_dict(self) -> dict:
        return {
            "model": "exponential",
            "hazard_per_month": self.hazard,
            "log_hazard": self.log_hazard,
            "se": self.se,
            "tau2": self.tau2,
            "median_months": self.median_months,
            "points": [p.to_dict() for p in self.points],
        }


def fit_baseline(points: list[BaselinePoint] | tuple[BaselinePoint, ...]) -> BaselineFit:
    """Pool the control arms' log hazards (REML random effects; one arm: its own value)."""
    points = tuple(points)
    if not points:
        raise PlateauError("no control-arm median or x-year rate to fit a baseline curve")
    yi = np.array([math.log(p.hazard) for p in points])
    vi = np.array([1.0 / p.events for p in points])
    if len(points) == 1:
        return BaselineFit(float(yi[0]), math.sqrt(float(vi[0])), 0.0, points)
    from plateau.meta import pool

    result = pool(yi, vi, method="REML")
    return BaselineFit(float(result.estimate), float(result.se), float(result.tau2), points)


def simulate_normal(rng: np.random.Generator, mean: float, sd: float, n: int) -> np.ndarray:
    """``n`` draws from Normal(mean, sd); sd = 0 gives ``n`` copies of the mean."""
    if sd <= 0:
        return np.full(n, float(mean))
    return rng.normal(mean, sd, size=n)


def interval(draws: np.ndarray, level: float = 0.95) -> tuple[Any, Any]:
    """Equal-tailed percentile interval of simulated draws (along axis 0)."""
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail], axis=0)
    return low, high
