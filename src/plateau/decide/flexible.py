"""Flexible no-maintenance curves fitted to published landmarks, and their uncertainty.

Data
----
Every published landmark of the control arms (a median ``m``: ``S(m) = 0.5``; an x-year rate
``S(t)``), each with the arm size ``n``.  On the log cumulative hazard scale a landmark is
``y = ln(-ln S(t))`` with approximate sampling variance (binomial variance of ``S`` with ``n``
patients, delta method)::

    var(y) = (1 - S) / (n S (ln S)^2)

which gives arm sizes their weight (a median of an arm of 300 weighs as much as one of 300 at
any other time; a rate near 0 or 1 weighs less).  Censoring makes the true variance larger, so
these weights are optimistic; between-trial heterogeneity is absorbed below.

Model (Royston & Parmar, Stat Med 2002;21:2175)
-----------------------------------------------
``ln H0(t) = g0 + g1 x + sum_j g_{j+1} v_j(x)``, ``x = ln t``, with restricted cubic spline terms
``v_j(x) = (x - k_j)_+^3 - l_j (x - k_min)_+^3 - (1 - l_j)(x - k_max)_+^3``,
``l_j = (k_max - k_j) / (k_max - k_min)`` (linear beyond the boundary knots, so the tails are
Weibull).  The number of parameters follows ``T``, the smaller of the landmarks' numbers of
distinct times and of distinct survival levels (medians of several trials are all at S = 0.5:
their spread is between trials, not the shape of one curve):
``T >= 4``: one interior knot at the median of the log times (3 parameters);
``T = 2-3``: Weibull (``g0 + g1 x``); ``T = 1``: exponential (``g1 = 1`` fixed).  The
exponential (``ln H0 = g0 + ln t``, i.e. a constant hazard ``e^{g0}``) is also the sensitivity
option.  A fit whose cumulative hazard is not increasing over (0, 20 years] falls back to the
next simpler model (said so in ``note``).

Estimation: weighted least squares with weights ``1/var(y)``; multiplicative overdispersion
``phi = max(1, RSS_w / (K - p))`` (quasi-likelihood; McCullagh & Nelder, *Generalized Linear
Models*, 2nd ed. 1989, section 9.2) absorbs between-trial heterogeneity when there are more
landmarks ``K`` than parameters ``p``.  Coefficient covariance ``phi (X'WX)^-1``; uncertainty by
parametric simulation ``g ~ Normal(g_hat, phi (X'WX)^-1)`` (exact for a linear model in ``y``,
the same as the delta method but carried through every nonlinear summary).

Summaries
---------
``S0(t) = exp(-H0(t))``; a hazard multiplier ``M`` (prognostic adjustment) and a hazard ratio
``HR`` (proportional hazards) give ``S(t) = exp(-M HR H0(t)) = S0(t)^(M HR)``.  Restricted mean
survival ``RMST(tau) = int_0^tau S(u) du`` by composite Simpson's rule on an even grid
(:func:`rmst_grid`), checked against the closed form ``(1 - e^{-h tau}) / h`` for exponential
curves in the tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from plateau.errors import PlateauError

GRID_INTERVALS = 120  #: Simpson intervals over [0, tau] (even); error checked in the tests
_MONOTONE_CHECK_MONTHS = np.geomspace(0.25, 240.0, 200)


@dataclass(frozen=True)
class Landmark:
    """One published point of a control arm: ``S(months) = survival``, with its arm size."""

    trial_id: str
    trial_name: str
    comparison_id: str
    outcome: str  #: PFS, EFS, TTP or OS as reported
    kind: str  #: "median" or "rate"
    months: float
    survival: float  #: 0-1 (0.5 for a median)
    n: float
    report: str
    citation: str
    link: str | None
    location: str | None

    def __post_init__(self) -> None:
        if not 0.0 < self.survival < 1.0:
            raise PlateauError(
                f"{self.trial_id}: landmark survival must be strictly between 0 and 1 "
                f"(got {self.survival})"
            )
        if not self.months > 0 or not self.n > 0:
            raise PlateauError(f"{self.trial_id}: landmark needs months > 0 and n > 0")

    @property
    def y(self) -> float:
        """``ln(-ln S)``: the log cumulative hazard at ``months``."""
        return math.log(-math.log(self.survival))

    @property
    def var_y(self) -> float:
        """``(1 - S) / (n S (ln S)^2)`` (binomial variance of S, delta method)."""
        s = self.survival
        return (1.0 - s) / (self.n * s * math.log(s) ** 2)

    def text(self) -> str:
        what = (
            f"median {self.months:g} months"
            if self.kind == "median"
            else f"{100 * self.survival:g}% at {self.months:g} months"
        )
        return f"{self.trial_name} control arm: {self.outcome} {what} (n = {self.n:.0f})"

    def to_dict(self) -> dict:
        return {
            "trial_id": self.trial_id,
            "trial_name": self.trial_name,
            "comparison_id": self.comparison_id,
            "outcome": self.outcome,
            "kind": self.kind,
            "months": self.months,
            "survival_percent": 100 * self.survival,
            "n": self.n,
            "report": self.report,
            "citation": self.citation,
            "link": self.link,
            "location": self.location,
            "text": self.text(),
        }


def spline_basis(t, knots: tuple[float, ...], model: str) -> np.ndarray:
    """Design matrix of ``ln H0`` at times ``t`` (months; t > 0) for ``model``.

    ``exponential``: no free slope (column ``[1]``, the offset ``ln t`` is added in
    :meth:`FlexibleFit.log_cumhaz`); ``weibull``: ``[1, ln t]``; ``spline``: ``[1, ln t, v_1..]``
    with restricted cubic spline terms on ``knots`` (log months, boundary knots first and last).
    """
    x = np.log(np.asarray(t, dtype=float))
    cols = [np.ones_like(x)]
    if model == "exponential":
        return np.stack(cols, axis=-1)
    cols.append(x)
    if model == "spline":
        kmin, kmax = knots[0], knots[-1]
        for k in knots[1:-1]:
            lam = (kmax - k) / (kmax - kmin)
            cols.append(
                np.clip(x - k, 0, None) ** 3
                - lam * np.clip(x - kmin, 0, None) ** 3
                - (1 - lam) * np.clip(x - kmax, 0, None) ** 3
            )
    return np.stack(cols, axis=-1)


@dataclass(frozen=True)
class FlexibleFit:
    """A fitted control-arm curve: model, knots, coefficients, covariance and landmarks."""

    model: str  #: "spline", "weibull" or "exponential"
    knots: tuple[float, ...]
    coef: np.ndarray
    cov: np.ndarray
    phi: float
    landmarks: tuple[Landmark, ...]
    requested: str  #: "flexible" or "exponential"
    note: str = ""
    _extra: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for a in (self.coef, self.cov):
            a.setflags(write=False)

    @property
    def n_parameters(self) -> int:
        return int(self.coef.shape[0])

    def basis(self, t) -> np.ndarray:
        return spline_basis(t, self.knots, self.model)

    def log_cumhaz(self, t, coef: np.ndarray | None = None) -> np.ndarray:
        """``ln H0(t)``; ``coef`` may be a (n, p) array of draws (rows) -> (n, len(t))."""
        t = np.asarray(t, dtype=float)
        X = self.basis(t)
        c = self.coef if coef is None else np.asarray(coef)
        # einsum, not @: no BLAS thread start-up for these small products
        out = np.einsum("np,...p->n...", c, X) if c.ndim == 2 else np.einsum("...p,p->...", X, c)
        if self.model == "exponential":
            out = out + np.log(t)
        return out

    def survival(self, t, multiplier: float = 1.0) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        s = np.exp(-multiplier * np.exp(self.log_cumhaz(np.where(t > 0, t, 1.0))))
        return np.where(t > 0, s, 1.0)

    def median_months(self, multiplier: float = 1.0) -> float | None:
        """Time where ``S = 0.5``, i.e. ``ln H0(t) = ln(ln 2 / M)`` (H0 is increasing): located on
        a fine log-time grid, then linear interpolation in log time; None beyond 50 years."""
        t = np.geomspace(1e-2, 600.0, 4001)
        lh = self.log_cumhaz(t)
        target = math.log(math.log(2.0) / multiplier)
        i = int(np.searchsorted(lh, target))
        if i >= t.size:
            return None
        if i == 0:
            return float(t[0])
        x0, x1 = math.log(t[i - 1]), math.log(t[i])
        f = (target - lh[i - 1]) / (lh[i] - lh[i - 1])
        return math.exp(x0 + f * (x1 - x0))

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` coefficient draws from Normal(coef, cov) (rows)."""
        if not np.any(self.cov):
            return np.tile(self.coef, (n, 1))
        return rng.multivariate_normal(self.coef, self.cov, size=n, method="cholesky")

    def predict_y(self, t) -> tuple[np.ndarray, np.ndarray]:
        """``ln H0(t)`` and its standard error (delta method, linear in the coefficients)."""
        X = self.basis(np.asarray(t, dtype=float))
        y = self.log_cumhaz(t)
        se = np.sqrt(np.einsum("ij,jk,ik->i", X, self.cov, X))
        return y, se

    def standardised_residuals(self) -> np.ndarray:
        """``(y_i - yhat_i) / sqrt(phi var_i)`` for the fitted landmarks."""
        t = np.array([lm.months for lm in self.landmarks])
        y = np.array([lm.y for lm in self.landmarks])
        v = np.array([lm.var_y for lm in self.landmarks])
        return (y - self.log_cumhaz(t)) / np.sqrt(self.phi * v)

    def to_dict(self) -> dict:
        fitted = self.survival([lm.months for lm in self.landmarks])
        return {
            "model": self.model,
            "requested": self.requested,
            "knots_months": [math.exp(k) for k in self.knots],
            "coefficients": self.coef.tolist(),
            "overdispersion_phi": self.phi,
            "n_parameters": self.n_parameters,
            "n_landmarks": len(self.landmarks),
            "median_months": self.median_months(),
            "note": self.note,
            "landmarks": [
                {**lm.to_dict(), "fitted_percent": 100 * float(f)}
                for lm, f in zip(self.landmarks, fitted, strict=True)
            ],
        }


def _wls(X, y, w):
    XtW = X.T * w
    xtwx = XtW @ X
    coef = np.linalg.solve(xtwx, XtW @ y)
    return coef, np.linalg.inv(xtwx)


def _monotone(fit_model: str, knots, coef) -> bool:
    lh = spline_basis(_MONOTONE_CHECK_MONTHS, knots, fit_model) @ coef
    if fit_model == "exponential":
        return True
    return bool(np.all(np.diff(lh) > 0))


def fit_landmarks(landmarks, model: str = "flexible") -> FlexibleFit:
    """Fit the control-arm curve to ``landmarks`` (``model`` = "flexible" or "exponential")."""
    landmarks = tuple(landmarks)
    if not landmarks:
        raise PlateauError("no control-arm median or x-year rate to fit a baseline curve")
    if model not in ("flexible", "exponential"):
        raise PlateauError(f"baseline model must be 'flexible' or 'exponential' (got {model!r})")
    t = np.array([lm.months for lm in landmarks])
    y = np.array([lm.y for lm in landmarks])
    w = 1.0 / np.array([lm.var_y for lm in landmarks])
    # shape needs both distinct times and distinct survival levels: medians alone (all at
    # S = 0.5) differ between trials, not along one curve, so they identify no shape
    distinct = min(
        len(np.unique(np.round(t, 1))),
        len(np.unique(np.round([lm.survival for lm in landmarks], 3))),
    )
    logt = np.log(t)
    if model == "exponential" or distinct == 1:
        candidates = ["exponential"]
    elif distinct <= 3:
        candidates = ["weibull", "exponential"]
    else:
        candidates = ["spline", "weibull", "exponential"]
    notes = []
    if model == "flexible" and distinct == 1:
        notes.append(
            "one landmark time or survival level only: exponential (constant hazard) is all "
            "it supports"
        )
    for name in candidates:
        knots: tuple[float, ...] = ()
        if name == "spline":
            knots = (float(logt.min()), float(np.median(logt)), float(logt.max()))
        X = spline_basis(t, knots, name)
        offset = logt if name == "exponential" else 0.0
        coef, xtwx_inv = _wls(X, y - offset, w)
        if not _monotone(name, knots, coef):
            notes.append(f"{name} fit had a decreasing cumulative hazard: simpler model used")
            continue
        k, p = len(landmarks), X.shape[1]
        resid = y - offset - X @ coef
        phi = max(1.0, float(np.sum(w * resid**2)) / (k - p)) if k > p else 1.0
        if k <= p:
            notes.append(
                "as many parameters as landmarks: between-trial spread cannot be estimated"
            )
        return FlexibleFit(
            name, knots, coef, phi * xtwx_inv, phi, landmarks, model, "; ".join(notes)
        )
    raise PlateauError("no baseline model could be fitted to the landmarks")  # pragma: no cover


def simpson_weights(tau: float, intervals: int = GRID_INTERVALS) -> tuple[np.ndarray, np.ndarray]:
    """Grid ``0..tau`` and composite Simpson weights (``intervals`` even)."""
    if intervals % 2:
        raise PlateauError("Simpson's rule needs an even number of intervals")
    grid = np.linspace(0.0, float(tau), intervals + 1)
    w = np.ones(intervals + 1)
    w[1:-1:2], w[2:-1:2] = 4.0, 2.0
    return grid, w * (tau / intervals) / 3.0


def rmst_grid(survival_on_grid: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``int_0^tau S`` from values on the Simpson grid (last axis).

    ``einsum`` rather than ``@``: no BLAS threads, whose start-up dominated on a loaded machine.
    """
    return np.einsum("...j,j->...", np.asarray(survival_on_grid), weights)
