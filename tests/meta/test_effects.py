"""Effect sizes: escalc against metafor 3.8.1 (fixtures: validation/metafor/core.R, closed forms,
1e-12 relative) and the hazard-ratio conversions against hand-worked values.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from metafor_fixtures import as_array, assert_close, load_fixture

from plateau.errors import PlateauError
from plateau.meta import MetaWarning
from plateau.meta.effects import (
    escalc,
    log_hr_from_ci,
    log_hr_from_medians,
    log_hr_from_oe,
    log_hr_from_p,
    log_hr_from_p_events,
)

ESC = load_fixture("core_escalc")["escalc"]


@pytest.mark.parametrize("case", ESC, ids=lambda c: f"{c['name']}-{c['measure']}")
def test_escalc_matches_metafor(case):
    args = {
        k: (np.array(v, dtype=float) if isinstance(v, list) else v) for k, v in case["args"].items()
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetaWarning)
        res = escalc(case["measure"], **args)
    assert_close(
        res.yi,
        as_array(case["yi"]),
        rtol=1e-12,
        atol=1e-15,
        what=f"{case['name']} {case['measure']} yi",
    )
    assert_close(
        res.vi,
        as_array(case["vi"]),
        rtol=1e-12,
        atol=1e-15,
        what=f"{case['name']} {case['measure']} vi",
    )


def test_escalc_undefined_values_warn_and_are_nan_in_both():
    with pytest.warns(MetaWarning, match="undefined"):
        res = escalc("OR", ai=[0, 3], bi=[10, 7], ci=[2, 4], di=[8, 6], add=0)
    assert math.isnan(res.yi[0]) and math.isnan(res.vi[0])
    assert np.isfinite(res.yi[1])


def test_escalc_rejects_bad_input():
    with pytest.raises(PlateauError, match="unknown measure"):
        escalc("SMD", ai=[1], bi=[2], ci=[3], di=[4])
    with pytest.raises(PlateauError, match="larger than the group sizes"):
        escalc("RR", ai=[5], n1i=[3], ci=[1], n2i=[4])
    with pytest.raises(PlateauError, match="non-negative"):
        escalc("OR", ai=[-1], bi=[2], ci=[3], di=[4])


def test_log_hr_from_ci_hand_worked():
    # HR 0.75 (95% CI 0.60 to 0.94): se = (ln 0.94 - ln 0.60) / (2 x 1.959964) = 0.4489502 /
    # 3.919928 = 0.1145302
    res = log_hr_from_ci(0.75, 0.60, 0.94)
    assert res.yi == pytest.approx(-0.2876821, abs=1e-7)
    assert math.sqrt(res.vi) == pytest.approx(0.1145302, abs=1e-7)
    assert res.approximate is False
    # a 90% CI of the same width implies a larger se: 0.4489502 / (2 x 1.644854) = 0.1364712
    assert math.sqrt(log_hr_from_ci(0.75, 0.60, 0.94, level=0.90).vi) == pytest.approx(
        0.1364712, abs=1e-7
    )


def test_log_hr_from_p_hand_worked():
    # HR 0.80, p = 0.05: z = 1.959964, se = 0.2231436 / 1.959964 = 0.1138509
    res = log_hr_from_p(0.80, 0.05)
    assert math.sqrt(res.vi) == pytest.approx(0.1138509, abs=1e-7)
    with pytest.raises(PlateauError, match="hr = 1"):
        log_hr_from_p(1.0, 0.5)


def test_log_hr_from_oe_matches_pignon_convention():
    # dat.pignon2000 study 1: O-E = -1.8, V = 14.5 -> ln HR = -0.1241379, var = 0.0689655
    res = log_hr_from_oe(-1.8, 14.5)
    assert res.yi == pytest.approx(-0.12413793, abs=1e-8)
    assert res.vi == pytest.approx(0.06896552, abs=1e-8)


def test_log_hr_from_p_events_hand_worked():
    # p = 0.01, D = 200 events, 1:1: V = 50, z = 2.575829, O-E = -2.575829 x 7.071068 = -18.21386,
    # ln HR = -18.21386/50 = -0.3642773, var = 0.02
    res = log_hr_from_p_events(0.01, 200)
    assert res.yi == pytest.approx(-0.3642773, abs=1e-7)
    assert res.vi == pytest.approx(0.02, abs=1e-15)
    assert res.approximate is True
    assert log_hr_from_p_events(0.01, 200, favours_experimental=False).yi == pytest.approx(
        0.3642773, abs=1e-7
    )
    # 2:1 allocation: V = 200 x 2/9 = 44.444, ln HR = -2.575829/sqrt(44.444) = -0.3863744
    assert log_hr_from_p_events(0.01, 200, allocation_ratio=2).yi == pytest.approx(
        -0.3863744, abs=1e-7
    )


def test_log_hr_from_medians_hand_worked():
    # medians 30 vs 20 months, 100 and 120 events: HR = 20/30, var = 1/100 + 1/120 = 0.0183333
    res = log_hr_from_medians(30, 20, 100, 120)
    assert res.yi == pytest.approx(math.log(2 / 3), abs=1e-15)
    assert res.vi == pytest.approx(0.0183333333, abs=1e-9)
    assert res.approximate is True


def test_hr_conversions_are_vectorised_and_validate():
    res = log_hr_from_ci([0.75, 1.2], [0.6, 0.9], [0.94, 1.6])
    assert res.yi.shape == (2,) and res.approximate.shape == (2,)
    with pytest.raises(PlateauError, match="inside"):
        log_hr_from_ci(0.5, 0.6, 0.94)
    with pytest.raises(PlateauError, match="smaller"):
        log_hr_from_ci(0.75, 0.94, 0.6)
    with pytest.raises(PlateauError, match="> 0"):
        log_hr_from_ci(0.75, 0.0, 0.94)
