"""Identities and hand-computed worked examples of the decision model (plateau.decide.model)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from plateau.decide.model import (
    BaselinePoint,
    fit_baseline,
    hazard_from_median,
    hazard_from_rate,
    nnt,
    rmst_exponential,
    survival_exponential,
    treated_survival,
)
from plateau.errors import PlateauError
from plateau.rules import decision as rules


def test_hr_one_gives_no_difference():
    s0 = survival_exponential(0.03, [12, 36, 60, 120])
    assert np.array_equal(treated_survival(s0, 1.0), s0)
    h = 0.03
    assert float(rmst_exponential(h * 1.0, 60) - rmst_exponential(h, 60)) == 0.0
    assert np.all(np.isnan(nnt(s0, treated_survival(s0, 1.0))))


def test_s1_is_s0_to_the_hr_and_equals_the_exponential_with_scaled_hazard():
    t = np.array([6.0, 12.0, 36.0, 60.0])
    for hr in (0.3, 0.5, 0.75, 1.2):
        s0 = survival_exponential(0.02, t)
        assert np.allclose(treated_survival(s0, hr), np.exp(-0.02 * hr * t), rtol=0, atol=1e-15)


def test_benefit_is_monotone_in_hr():
    hrs = np.linspace(0.2, 1.8, 33)
    s0 = float(survival_exponential(math.log(2) / 30, 36))
    gains = treated_survival(s0, hrs) - s0
    assert np.all(np.diff(gains) < 0)  # smaller HR -> larger benefit
    rmst_gain = rmst_exponential(0.02 * hrs, 60) - rmst_exponential(0.02, 60)
    assert np.all(np.diff(rmst_gain) < 0)
    assert gains[hrs < 1].min() > 0 and gains[hrs > 1].max() < 0


def test_worked_example_mccarthy_2017_pfs_and_rmst():
    """McCarthy et al., J Clin Oncol 2017;35:3279 (lenalidomide meta-analysis): control median PFS
    23.5 months, PFS HR 0.48.  By hand (exponential): h0 = ln2/23.5 = 0.029496/month;
    S0(36) = exp(-36 h0) = 0.3458, S1(36) = 0.3458^0.48 = 0.6007 (35% -> 60% progression-free at
    3 years); RMST over 60 months (1 - e^{-60h})/h:
    28.13 months without, 40.43 with (about 12 extra progression-free months)."""
    h0 = hazard_from_median(23.5)
    assert h0 == pytest.approx(0.0294955, rel=1e-5)
    s0 = float(survival_exponential(h0, 36))
    assert s0 == pytest.approx(0.345818, abs=1e-6)
    assert float(treated_survival(s0, 0.48)) == pytest.approx(0.600685, abs=1e-6)
    assert float(rmst_exponential(h0, 60)) == pytest.approx(28.1270, abs=1e-4)
    assert float(rmst_exponential(h0 * 0.48, 60)) == pytest.approx(40.4269, abs=1e-4)


def test_worked_example_os_seven_years():
    """Same paper: OS HR 0.75; with 7-year control OS 50%: 0.5^0.75 = 0.5946 (about 9-10 more
    alive per 100), NNT = 1/(0.5946 - 0.5) = 10.6."""
    s1 = float(treated_survival(0.5, 0.75))
    assert s1 == pytest.approx(0.594604, abs=1e-6)
    assert float(nnt(0.5, s1)) == pytest.approx(10.571, abs=1e-3)


def test_rmst_limits():
    assert float(rmst_exponential(0.0, 60)) == 60.0
    assert float(rmst_exponential(1e-14, 60)) == 60.0
    # large hazard: RMST ~ 1/h
    assert float(rmst_exponential(10.0, 60)) == pytest.approx(0.1)


def test_hazard_from_rate_and_errors():
    # Myeloma XI control arm: 3-year OS 75.8% -> h = -ln(0.758)/36
    assert hazard_from_rate(75.8, 36) == pytest.approx(-math.log(0.758) / 36, rel=1e-15)
    with pytest.raises(PlateauError, match="strictly between 0 and 100"):
        hazard_from_rate(100, 36)
    with pytest.raises(PlateauError, match="median must be > 0"):
        hazard_from_median(0)


def _point(trial, median, n, events=None):
    return BaselinePoint(
        trial,
        trial,
        "c",
        "PFS",
        "median",
        median,
        median,
        n,
        events or n / 2,
        events is not None,
        "cite",
        None,
        None,
    )


def test_fit_baseline_single_arm_is_that_arm():
    """TOURMALINE-MM4 control arm (Dimopoulos, J Clin Oncol 2020): median PFS 9.4 months, 281
    placebo patients -> log h = ln(ln2/9.4), se = 1/sqrt(140.5)."""
    fit = fit_baseline([_point("MM4", 9.4, 281)])
    assert fit.hazard == pytest.approx(math.log(2) / 9.4, rel=1e-14)
    assert fit.se == pytest.approx(1 / math.sqrt(140.5), rel=1e-14)
    assert fit.tau2 == 0.0 and fit.median_months == pytest.approx(9.4)


def test_fit_baseline_equal_arms_pool_to_the_common_value():
    fit = fit_baseline([_point("A", 20.0, 200), _point("B", 20.0, 300)])
    assert fit.median_months == pytest.approx(20.0, rel=1e-9)
    assert fit.tau2 == pytest.approx(0.0, abs=1e-10)
    # common-effect SE: 1/sqrt(100 + 150)
    assert fit.se == pytest.approx(1 / math.sqrt(250), rel=1e-6)


def test_fit_baseline_needs_points():
    with pytest.raises(PlateauError, match="no control-arm"):
        fit_baseline([])


def test_riss_multipliers_by_hand():
    """R-ISS (Palumbo, JCO 2015): stages 871/1894/295 of 3060; 5-year OS 82/62/40%.
    S_all = (871*.82 + 1894*.62 + 295*.40)/3060 = 0.655719; M_III = ln .40 / ln 0.655719 =
    2.17119."""
    assert rules.riss_multiplier("III", "OS") == pytest.approx(2.171187, abs=1e-6)
    assert rules.riss_multiplier("I", "OS") == pytest.approx(0.470237, abs=1e-6)
    # PFS 55/36/24%: S_all = 0.402513; M_II = ln .36 / ln .402513 = 1.122659
    assert rules.riss_multiplier("II", "PFS") == pytest.approx(1.122659, abs=1e-6)
    # the cohort-weighted mean survival is reproduced: sum p_s * S_all^M_s == S_all
    for outcome, column in (("OS", 1), ("PFS", 2)):
        s_all = sum(
            p * s / 100 for p, *rest in rules.RISS_TABLE.values() for s in [rest[column - 1]]
        )
        assert sum(
            p * s_all ** rules.riss_multiplier(stage, outcome)
            for stage, (p, *_) in rules.RISS_TABLE.items()
        ) == pytest.approx(s_all, abs=1e-12)
