"""Flexible baselines: landmark fits, held-out landmarks, RMST by quadrature vs closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from plateau.decide.engine import _landmarks
from plateau.decide.flexible import (
    Landmark,
    fit_landmarks,
    rmst_grid,
    simpson_weights,
    spline_basis,
)
from plateau.decide.model import rmst_exponential
from plateau.errors import PlateauError
from plateau.evidence import load_bundled


@pytest.fixture(scope="module")
def base():
    return load_bundled()


def _lm(months, survival, n, trial="T", kind="rate"):
    return Landmark(trial, trial, "c", "PFS", kind, months, survival, n, "r", "cite", None, None)


def _weibull_landmarks(scale=30.0, shape=1.4, n=400):
    """Landmarks read off a known Weibull S(t) = exp(-(t/scale)^shape)."""
    out = []
    for i, t in enumerate((6.0, 12.0, 24.0, 36.0, 60.0)):
        out.append(_lm(t, math.exp(-((t / scale) ** shape)), n, trial=f"T{i}"))
    return out


def test_rmst_by_quadrature_equals_the_exponential_closed_form():
    for h in (0.005, 0.02, 0.03, 0.1):
        for tau in (12.0, 60.0, 180.0):
            grid, w = simpson_weights(tau)
            assert float(rmst_grid(np.exp(-h * grid), w)) == pytest.approx(
                float(rmst_exponential(h, tau)),
                abs=1e-4,  # months
            )


def test_rmst_by_quadrature_matches_adaptive_quadrature_on_a_weibull():
    # shape < 1 has an infinite hazard at 0: the hardest case for a fixed grid
    for shape in (0.8, 1.0, 1.6):
        s = lambda t, k=shape: math.exp(-((t / 30.0) ** k))  # noqa: E731
        exact, _ = integrate.quad(s, 0, 60, epsabs=1e-12)
        grid, w = simpson_weights(60.0)
        approx = float(rmst_grid(np.exp(-((grid / 30.0) ** shape)), w))
        assert approx == pytest.approx(exact, abs=2e-3)  # months


def test_an_exact_weibull_is_recovered():
    fit = fit_landmarks(_weibull_landmarks())
    # 5 distinct times -> spline with one interior knot; a Weibull lies in its span
    assert fit.model == "spline"
    assert np.allclose(fit.coef[:2], [-1.4 * math.log(30.0), 1.4], atol=1e-9)
    assert abs(fit.coef[2]) < 1e-9 and fit.phi == 1.0
    assert fit.survival(48.0) == pytest.approx(math.exp(-((48 / 30) ** 1.4)), rel=1e-9)
    assert fit.median_months() == pytest.approx(30 * math.log(2) ** (1 / 1.4), rel=1e-4)


def test_model_follows_the_number_of_landmark_times():
    assert fit_landmarks([_lm(20, 0.5, 300, kind="median")]).model == "exponential"
    two = fit_landmarks([_lm(20, 0.5, 300), _lm(60, 0.2, 300)])
    assert two.model == "weibull" and two.n_parameters == 2
    assert fit_landmarks(_weibull_landmarks(), "exponential").model == "exponential"
    with pytest.raises(PlateauError, match="no control-arm median"):
        fit_landmarks([])
    with pytest.raises(PlateauError, match="strictly between 0 and 1"):
        _lm(12, 1.0, 100)


def test_exponential_single_landmark_reproduces_the_point():
    fit = fit_landmarks([_lm(9.4, 0.5, 281, kind="median")])
    assert fit.survival(9.4) == pytest.approx(0.5, rel=1e-12)
    assert fit.survival(24.0) == pytest.approx(math.exp(-math.log(2) / 9.4 * 24), rel=1e-12)


def test_spline_basis_is_linear_beyond_the_boundary_knots():
    knots = (math.log(10), math.log(25), math.log(60))
    x = spline_basis(np.array([80.0, 120.0, 200.0]), knots, "spline")[:, 2]
    lx = np.log([80.0, 120.0, 200.0])
    slope1 = (x[1] - x[0]) / (lx[1] - lx[0])
    slope2 = (x[2] - x[1]) / (lx[2] - lx[1])
    assert slope1 == pytest.approx(slope2, rel=1e-9)


@pytest.mark.parametrize("setting", ["post_asct", "non_transplant"])
@pytest.mark.parametrize("outcome", ["PFS", "OS"])
def test_bundled_fits_reproduce_their_landmarks_within_sampling_error(base, setting, outcome):
    landmarks, _ = _landmarks(base, setting, outcome)
    fit = fit_landmarks(landmarks)
    z = fit.standardised_residuals()
    # within sampling error (inflated by the estimated between-trial overdispersion phi)
    assert np.all(np.abs(z) < 2.58), (fit.model, z)
    # and every fitted survival is a probability with H increasing
    t = np.geomspace(0.5, 180, 50)
    s = fit.survival(t)
    assert np.all((s > 0) & (s < 1)) and np.all(np.diff(s) < 0)


def test_held_out_landmarks_fall_within_their_prediction_interval(base):
    """Leave each post-ASCT landmark out in turn; predict it from the others (95% interval of
    the fitted curve, widened by the held-out point's own sampling variance and phi).

    One known exception, asserted as such: CASSIOPEIA's observation arm (after VTd +/-
    daratumumab induction and consolidation; median PFS 45.8 months) lives longer than the
    other trials' control arms (medians 21-29 months), so the others do not predict it; with it
    in, the fit's overdispersion phi carries this between-trial spread into every interval."""
    checked = 0
    for outcome in ("PFS", "OS"):
        landmarks, _ = _landmarks(base, "post_asct", outcome)
        for i, held in enumerate(landmarks):
            rest = landmarks[:i] + landmarks[i + 1 :]
            fit = fit_landmarks(rest)
            y, se = fit.predict_y([held.months])
            z = (held.y - y[0]) / math.sqrt(se[0] ** 2 + fit.phi * held.var_y)
            if held.trial_id == "CASSIOPEIA-P2":
                assert z < -3, z
                continue
            assert abs(z) < 1.96, (outcome, held.text(), fit.model, z)
            checked += 1
    assert checked >= 6
    with_it = fit_landmarks(_landmarks(base, "post_asct", "PFS")[0])
    assert with_it.phi > 10


def test_flexible_post_asct_os_is_not_the_exponential_early_drop(base):
    """The reviewer's point: an exponential through the 5-year OS puts 1-year OS at ~91%; the
    landmarks (5-year rates, a 7-year median) support a Weibull with rising hazard instead."""
    landmarks, _ = _landmarks(base, "post_asct", "OS")
    flexible, expo = fit_landmarks(landmarks), fit_landmarks(landmarks, "exponential")
    assert flexible.model == "weibull" and flexible.coef[1] > 1.2
    assert expo.survival(12.0) == pytest.approx(0.914, abs=0.005)
    assert flexible.survival(12.0) > 0.95
