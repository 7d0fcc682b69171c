"""Q-TWiST identities, threshold analysis and harms projected to the benefits' horizon."""

from __future__ import annotations

import math

import numpy as np
import pytest

from plateau.decide import decide
from plateau.decide.quality import (
    incidence_per_month,
    project,
    qtwist,
    qtwist_partition,
    threshold_table,
)
from plateau.errors import PlateauError
from plateau.evidence import load_bundled

N = 400
POST = {"age": 60, "sex": "male", "transplant_status": "post_asct", "response": "VGPR"}


@pytest.fixture(scope="module")
def base():
    return load_bundled()


@pytest.fixture(scope="module")
def post(base):
    return decide(POST, base, n_sims=N, seed=3)


def test_partition_sums_to_the_restricted_mean_os(post):
    for option in post.options:
        q = option.qtwist
        assert q is not None or not option.os.available
        if q is None:
            continue
        assert q.tox + q.twist + q.rel == pytest.approx(q.os_months, abs=1e-9)
        assert min(q.tox, q.twist, q.rel) >= 0
        # the restricted mean OS of the partition is the option's OS restricted mean
        assert q.os_months == pytest.approx(option.os.rmst.months_with, rel=1e-12)
        u = q.utilities
        assert q.qtwist.estimate == pytest.approx(
            u["u_tox"] * q.tox + q.twist + u["u_rel"] * q.rel, rel=1e-12
        )
        assert q.qtwist.low <= q.qtwist.estimate <= q.qtwist.high


def test_observation_gains_nothing(post, base):
    obs = post.option("observation")
    assert obs.qtwist.gain is None and obs.qtwist.threshold is None
    assert obs.pfs.rmst.gain.estimate == 0.0 and obs.os.rmst.gain.estimate == 0.0
    # an option identical to observation (HR 1, same toxicity) gains exactly nothing
    tox, twist, rel = qtwist_partition(30.0, 45.0, 0.2, 1.0)
    d = threshold_table(0.0, 0.0, 0.0)
    assert d["max_gain_months"] == 0.0 == d["min_gain_months"]
    assert float(qtwist(tox, twist, rel, 0.5, 0.5)) == pytest.approx(0.5 * 0.2 + 29.8 + 7.5)


def test_threshold_table_is_the_linear_gain():
    """dQ = dTWiST + u_TOX dTOX + u_REL dREL, by hand at three corners."""
    t = threshold_table(6.0, 0.4, -8.0)
    g = np.array(t["gain_months"])
    assert g[0, 0] == pytest.approx(6.0)  # u_TOX = u_REL = 0
    assert g[10, 10] == pytest.approx(6.0 + 0.4 - 8.0)  # both 1
    assert g[5, 5] == pytest.approx(6.0 + 0.2 - 4.0)
    # break-even u_REL at u_TOX = 0.5: (6 + 0.2) / 8 = 0.775
    assert t["u_rel_break_even"][5] == pytest.approx(0.775)
    assert t["u_rel_break_even"][0] == pytest.approx(0.75)


def test_q_twist_gain_matches_its_components_and_threshold(post):
    obs = post.option("observation").qtwist
    for option in post.options[1:]:
        q = option.qtwist
        if q is None:
            continue
        d_tw, d_tox, d_rel = q.twist - obs.twist, q.tox - obs.tox, q.rel - obs.rel
        u = q.utilities
        assert q.gain.estimate == pytest.approx(
            d_tw + u["u_tox"] * d_tox + u["u_rel"] * d_rel, abs=1e-9
        )
        assert np.array(q.threshold["gain_months"])[5, 5] == pytest.approx(q.gain.estimate)
        assert q.relative_gain == pytest.approx(q.gain.estimate / obs.os_months)


def test_utilities_are_user_settable_and_validated(base):
    a = decide(POST, base, n_sims=N, seed=3, u_tox=0.0, u_rel=1.0, tox_months=2.0)
    q = a.option("lenalidomide").qtwist
    assert q.utilities == {"u_tox": 0.0, "u_rel": 1.0, "tox_months": 2.0}
    assert q.qtwist.estimate == pytest.approx(q.twist + q.rel)
    with pytest.raises(PlateauError, match="u_tox: a utility must be between 0 and 1"):
        decide(POST, base, n_sims=N, u_tox=1.5)
    with pytest.raises(PlateauError, match="tox_months"):
        decide(POST, base, n_sims=N, tox_months=-1)


def test_projection_of_a_proportion_by_hand():
    """A trial: 10% of patients over 36 months of exposure -> lambda = -ln(0.9)/36 per month;
    a patient with 60 months of exposure: 1 - 0.9^(60/36) = 16.05%."""
    lam = incidence_per_month(0.10, 36.0)
    assert float(lam) == pytest.approx(-math.log(0.9) / 36)
    assert float(project(lam, 60.0)) == pytest.approx(1 - 0.9 ** (60 / 36), rel=1e-12)
    assert float(project(lam, 36.0)) == pytest.approx(0.10, rel=1e-12)


def test_harms_are_projected_to_the_decision_horizon(post):
    spm = [
        h
        for h in post.option("lenalidomide").harms
        if h.term == "second_primary_malignancy" and h.projected_with is not None
    ]
    assert spm, "lenalidomide second cancers should be projected"
    for h in spm:
        assert h.projected_horizon_years == post.rmst_horizon_years
        p = h.projected_with
        assert p.low <= p.estimate <= p.high
        assert "survival time" in h.projection_basis
        # same horizon as the trial's follow-up -> the trial's own number (checked via basis):
        # the projection grows with exposure, so 5-year numbers differ from the trial's
        assert p.estimate != pytest.approx(h.with_per_100)
    # horizon = trial follow-up reproduces the trial's proportion for the trial population
    calgb = next(h for h in spm if h.trial_id == "CALGB100104")
    assert calgb.horizon_months and calgb.n_with == 231


def test_same_number_through_to_dict(post):
    d = post.to_dict()
    lena = next(o for o in d["options"] if o["option"] == "lenalidomide")
    q = lena["qtwist"]
    assert q["tox_months"] + q["twist_months"] + q["rel_months"] == pytest.approx(q["os_months"])
    assert d["utilities"] == {"u_tox": 0.5, "u_rel": 0.5, "tox_months": 1.0}
    assert d["baseline_model"] == "flexible"
    assert d["values"]["respondents"] == 736


def test_mrd_adjustment_by_hand(base):
    """MRD-negative vs positive HR (Munshi 2020: PFS 0.33) with 53.7% MRD-negative in the trial
    population: multiplier 0.33 / (0.537 x 0.33 + 0.463) = 0.5136 (negative) and
    1 / 0.64021 = 1.5620 (positive); their mixture is the population (p M- + (1-p) M+ = 1)."""
    from plateau.rules import decision as R

    neg, pos = R.mrd_multiplier("negative", "PFS"), R.mrd_multiplier("positive", "PFS")
    assert neg == pytest.approx(0.33 / (0.537 * 0.33 + 0.463), rel=1e-12)
    assert 0.537 * neg + 0.463 * pos == pytest.approx(1.0, rel=1e-12)
    d = decide({**POST, "mrd_status": "negative"}, base, n_sims=N, seed=3)
    adj = d.baselines["PFS"]["adjustments"]
    assert [a["by"] for a in adj] == ["MRD"] and adj[0]["rule"]["tag"] == "C2"
    plain = decide(POST, base, n_sims=N, seed=3)
    s_neg = d.option("observation").pfs.at(3.0).without.estimate / 100
    s_all = plain.option("observation").pfs.at(3.0).without.estimate / 100
    assert s_neg == pytest.approx(s_all**neg, rel=1e-9)


def test_lenalidomide_renal_dose_table():
    from plateau.rules.dosing import renal_dose

    assert renal_dose("lenalidomide", None, False) is None
    assert renal_dose("lenalidomide", 75, False).restricted is False
    assert renal_dose("lenalidomide", 59.9, False).dose == "5 mg once daily"
    assert renal_dose("lenalidomide", 30, False).dose == "5 mg once daily"
    assert renal_dose("lenalidomide", 29.9, False).dose == "2.5 mg once daily"
    assert renal_dose("lenalidomide", 50, True).dose.startswith("2.5 mg once daily, after dialysis")
    assert renal_dose("ixazomib", 29, False).dose.startswith("3 mg")
    assert renal_dose("daratumumab", 20, False) is None


def test_reported_quality_of_life_is_shown_with_its_source(post):
    lena = post.option("lenalidomide").hrqol
    assert {h["study"] for h in lena} == {"Connect MM registry", "LenaMain"}
    ixa = post.option("ixazomib").hrqol
    assert ixa[0]["study"] == "TOURMALINE-MM3" and "31880006" in ixa[0]["citation"]
    for option in post.options[1:]:
        for h in option.hrqol:
            assert h["url"].startswith("http") and h["tag"] in ("C1", "C2")


def test_effect_modifier_is_shown_not_applied(post):
    dara = post.option("daratumumab")
    flag = next(f for f in dara.flags if f.rule["rule"] == "cassiopeia-induction-modifier")
    assert flag.level == "info" and flag.rule["tag"] == "C2"
    # not applied: the HR used is the whole-trial pooled one
    assert dara.pfs.hazard_ratio["estimate"] == pytest.approx(0.49, abs=1e-9)


def test_imwg_vte_risk_factors_set_the_prophylaxis(base):
    """IMWG (Leukemia 2008 abstract): <= 1 risk factor -> aspirin; >= 2 -> LMWH."""

    def advice(**kw):
        d = decide({**POST, **kw}, base, n_sims=N)
        return {s["topic"]: s for s in d.option("lenalidomide").safety}["blood clots"]

    assert advice()["advice"].startswith("Thromboprophylaxis: aspirin (0 risk factors")
    one = advice(diabetes=True)
    assert one["advice"].startswith(
        "Thromboprophylaxis: aspirin (1 risk factor for clots: diabetes"
    )
    two = advice(diabetes=True, central_venous_catheter=True)
    assert two["advice"].startswith("Thromboprophylaxis: low-molecular-weight heparin")
    assert "(2 risk factors for clots" in two["advice"]
    assert "central venous catheter" in two["advice"] and two["short"].startswith("Clots: LMWH")
    with pytest.raises(PlateauError, match="diabetes"):
        decide({**POST, "diabetes": "maybe"}, base, n_sims=N)


def test_riss_and_mrd_are_not_multiplied_together(base):
    both = decide({**POST, "r_iss_stage": "III", "mrd_status": "positive"}, base, n_sims=N)
    mrd = decide({**POST, "mrd_status": "positive"}, base, n_sims=N)
    from plateau.rules import decision as R

    for outcome in ("PFS", "OS"):
        assert both.baselines[outcome]["hazard_multiplier"] == pytest.approx(
            R.mrd_multiplier("positive", outcome)
        )
        assert both.baselines[outcome]["hazard_multiplier"] == pytest.approx(
            mrd.baselines[outcome]["hazard_multiplier"]
        )
    assert any(f.rule["rule"] == "riss-mrd-not-both" for f in both.flags)
    riss = decide({**POST, "r_iss_stage": "III"}, base, n_sims=N)
    assert riss.baselines["PFS"]["hazard_multiplier"] == pytest.approx(
        R.riss_multiplier("III", "PFS")
    )
