"""The decision engine on the bundled evidence: identities, a hand-computed worked example,
harms, flags, snapshots and reproducibility (plateau.decide.engine)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from plateau.decide import DecisionStore, decide, load_profile, parse_profile, reproduce
from plateau.errors import PlateauError
from plateau.evidence import load_bundled

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "profiles"
N = 400  # modest simulation size: tests stay fast; intervals are still ordered
NON_TRANSPLANT = {"age": 70, "sex": "male", "transplant_status": "not_eligible", "response": "VGPR"}


@pytest.fixture(scope="module")
def base():
    return load_bundled()


@pytest.fixture(scope="module")
def frail(base):
    return decide(load_profile(EXAMPLES / "frail-78-not-eligible.json"), base, n_sims=N, seed=1)


@pytest.fixture(scope="module")
def fit60(base):
    return decide(
        load_profile(EXAMPLES / "fit-60-post-asct-vgpr.json"),
        base,
        n_sims=N,
        seed=1,
        horizon_years=8,
    )


@pytest.fixture(scope="module")
def plain_nt(base):
    return decide(NON_TRANSPLANT, base, n_sims=N, seed=1)


def test_every_option_obeys_s1_equals_s0_to_the_hr(fit60, frail):
    for decision in (fit60, frail):
        for option in decision.options:
            for outcome in (option.pfs, option.os):
                if not outcome.available:
                    continue
                hr = 1.0 if option.is_reference else outcome.hazard_ratio["estimate"]
                for h in outcome.horizons:
                    s0, s1 = h.without.estimate / 100, h.with_option.estimate / 100
                    assert s1 == pytest.approx(s0**hr, rel=1e-12)
                    assert h.difference.low <= h.difference.estimate <= h.difference.high
                    assert h.without.low <= h.without.estimate <= h.without.high


def test_observation_is_the_reference_with_no_difference(fit60):
    obs = fit60.option("observation")
    assert obs.is_reference and obs.harms == () and obs.burden is None
    for h in obs.pfs.horizons + obs.os.horizons:
        assert h.difference.estimate == 0.0 and h.nnt is None
    assert obs.pfs.rmst.gain.estimate == 0.0


def test_same_baseline_for_every_option(fit60):
    reference = [h.without.estimate for h in fit60.option("observation").pfs.horizons]
    for option in fit60.options:
        if option.pfs.available:
            assert [h.without.estimate for h in option.pfs.horizons] == reference


def test_horizons_include_the_users(fit60, frail):
    assert fit60.horizons_years == (1.0, 3.0, 5.0, 8.0) and fit60.rmst_horizon_years == 8.0
    assert frail.horizons_years == (1.0, 3.0, 5.0) and frail.rmst_horizon_years == 5.0


def test_worked_example_ixazomib_non_transplant(plain_nt):
    """Hand computation from TOURMALINE-MM4 (Dimopoulos, J Clin Oncol 2020;38:4030): control median
    PFS 9.4 months (the only modern non-transplant control arm measured from maintenance
    randomisation), PFS HR 0.659.  Exponential: S0(12) = exp(-12 ln2 / 9.4) = 0.412768;
    S1(12) = 0.412768^0.659 = 0.558149; 14.5 more per 100 at 1 year; NNT 1/0.145381 = 6.88."""
    ixa = plain_nt.option("ixazomib")
    h = ixa.pfs.at(1.0)
    assert h.without.estimate == pytest.approx(41.27683, abs=1e-4)
    assert h.with_option.estimate == pytest.approx(55.81495, abs=1e-4)
    assert h.difference.estimate == pytest.approx(14.53811, abs=1e-4)
    assert h.nnt == pytest.approx(6.8785, abs=1e-3)
    assert ixa.pfs.hazard_ratio["estimate"] == pytest.approx(0.659)
    assert [t["trial_id"] for t in ixa.pfs.trials] == ["TOURMALINE-MM4"]
    # OS HR 1.09 (0.861-1.381): no benefit; the interval spans zero difference
    os5 = ixa.os.at(5.0)
    assert os5.difference.estimate < 0 < os5.difference.high and os5.nnt is None


def test_riss_adjustment_changes_baseline_not_relative_effect(base):
    plain = decide(NON_TRANSPLANT, base, n_sims=N, seed=1)
    staged = decide(
        {**NON_TRANSPLANT, "r_iss_stage": "III", "iss_stage": "III"}, base, n_sims=N, seed=1
    )
    p0 = plain.option("observation").os.at(5.0).without.estimate / 100
    s0 = staged.option("observation").os.at(5.0).without.estimate / 100
    assert s0 == pytest.approx(p0**2.171187, rel=1e-5)  # M_III for OS (test_model)
    assert (
        staged.option("lenalidomide").os.hazard_ratio
        == plain.option("lenalidomide").os.hazard_ratio
    )


def test_options_per_setting(fit60, frail):
    assert [o.option for o in fit60.options][0] == "observation"
    post = {o.option for o in fit60.options}
    non = {o.option for o in frail.options}
    assert {"lenalidomide", "ixazomib", "daratumumab"} <= post
    assert "daratumumab" not in non and {"lenalidomide", "ixazomib"} <= non
    missing = {m["option"]: m["reason"] for m in frail.not_available}
    assert missing["daratumumab"] == (
        "no trial comparing daratumumab maintenance with observation or placebo in this setting"
    )
    assert not fit60.option("daratumumab").os.available
    assert "no OS" in fit60.option("daratumumab").os.reason


def test_harms_come_from_the_trials_with_citations(fit60, frail):
    len_post = fit60.option("lenalidomide")
    spm = [
        h
        for h in len_post.harms
        if h.term == "second_primary_malignancy" and h.trial_id == "CALGB100104"
    ]
    assert len(spm) == 1
    # McCarthy, NEJM 2012: 18/231 vs 6/229
    assert spm[0].with_per_100 == pytest.approx(100 * 18 / 231)
    assert spm[0].without_per_100 == pytest.approx(100 * 6 / 229)
    assert spm[0].horizon_months == 34.0 and "N Engl J Med" in spm[0].citation
    # the Myeloma XI subgroup (non-eligible, > 74 y) is used only for patients in it
    assert not any(h.subgroup for h in len_post.harms)
    len_frail = frail.option("lenalidomide")
    sub = [h for h in len_frail.harms if h.subgroup]
    assert [(h.trial_id, h.with_per_100, h.without_per_100) for h in sub] == [
        ("MyelomaXI", 17.3, 6.5)
    ]
    assert "Infection" in len_frail.harms_not_reported


def test_flags_cite_their_rules(frail, base):
    len_flags = {f.rule["rule"]: f for f in frail.option("lenalidomide").flags}
    assert len_flags["vte-imwg"].rule["tag"] == "C1"
    assert "frailty-outcomes" in len_flags and "spm-evidence" in len_flags
    thal = {f.rule["rule"] for f in frail.option("thalidomide").flags}
    assert "thal-duration" in thal  # neuropathy grade 1
    pn2 = decide({**NON_TRANSPLANT, "neuropathy_grade": 2, "crcl_ml_min": 25}, base, n_sims=N)
    flags = {o.option: {f.rule["rule"]: f.level for f in o.flags} for o in pn2.options}
    if "thalidomide" in flags:
        assert flags["thalidomide"]["thal-pn"] == "stop"
    safety = {o.option: {s["rule"]["rule"]: s for s in o.safety} for o in pn2.options}
    assert safety["ixazomib"]["ixa-renal"]["advice"].endswith("3 mg on days 1, 8 and 15")
    assert safety["lenalidomide"]["len-renal-maintenance"]["advice"].endswith("2.5 mg once daily")
    for option in pn2.options:
        for f in option.flags:
            assert f.rule["source"] and f.rule["tag"] in ("C1", "C2", "C3", "UNCONFIRMED", "DESIGN")


def test_safety_worked_example_frail_patient(frail):
    """Example C by hand: Cockcroft-Gault (140 - 78) x 58 / (72 x 1.4) x 0.85 = 30.5 mL/min ->
    lenalidomide maintenance 5 mg daily (label renal table, CLcr 30-59); VTE risk factors:
    history of VTE and age 78 = 2 -> LMWH (IMWG, Leukemia 2008 abstract: aspirin for <= 1 risk
    factor, LMWH for >= 2)."""
    safety = {s["topic"]: s for s in frail.option("lenalidomide").safety}
    assert (
        "creatinine clearance 30 mL/min: starting dose 5 mg once daily"
        in (safety["kidney function"]["advice"])
    )
    clot = safety["blood clots"]
    assert clot["advice"].startswith("Thromboprophylaxis: low-molecular-weight heparin")
    assert "2 risk factors" in clot["advice"] and "boxed warning" in clot["advice"]
    assert clot["rule"]["tag"] == "C1"
    assert {r["rule"] for r in clot["more_rules"]} == {"vte-age-threshold", "len-boxed-vte"}
    one = decide({**NON_TRANSPLANT, "age": 60}, n_sims=N)
    advice = {s["topic"]: s for s in one.option("lenalidomide").safety}["blood clots"]["advice"]
    assert advice.startswith("Thromboprophylaxis: aspirin (0 risk factors")


def test_burden_and_preferences(fit60):
    dara = fit60.option("daratumumab").burden
    assert dara.route == "injection" and dara.visits_per_year == pytest.approx(6.5)
    assert any("preference for tablets" in n for n in dara.preference_notes)
    assert fit60.option("lenalidomide").burden.route == "oral"


def test_sources_cover_every_number(fit60):
    for option in fit60.options:
        used = " | ".join(s["used_for"] for s in option.sources)
        for outcome in (option.pfs, option.os):
            for t in outcome.trials:
                assert t["label"] in used
        for h in option.harms:
            assert h.trial_name in used
        assert "without maintenance" in used


def test_to_dict_is_json_with_the_required_keys(fit60):
    data = json.loads(json.dumps(fit60.to_dict()))
    assert data["evidence_version"] == load_bundled().version
    for option in data["options"]:
        assert {"option", "pfs", "os", "rmst_gain_months", "harms", "flags", "sources"} <= set(
            option
        )
        if option["pfs"]["available"]:
            years = [h["horizon_years"] for h in option["pfs"]["horizons"]]
            assert years == [1.0, 3.0, 5.0, 8.0]
            h = option["pfs"]["horizons"][0]
            assert set(h["difference_per_100"]) == {"estimate", "low", "high"}
    assert "Lenalidomide maintenance" in fit60.summary()


def test_same_seed_same_numbers_and_reproduce(base, tmp_path):
    profile = parse_profile(NON_TRANSPLANT)
    a = decide(profile, base, n_sims=N, seed=7, created_at="2025-01-01T00:00:00+00:00").to_dict()
    b = decide(profile, base, n_sims=N, seed=7, created_at="2025-01-01T00:00:00+00:00").to_dict()
    assert a == b
    c = decide(profile, base, n_sims=N, seed=8, created_at="2025-01-01T00:00:00+00:00").to_dict()
    assert c != a
    store = DecisionStore(tmp_path / "decisions")
    ident = store.save(a)
    assert store.save(a) == ident and store.ids() == [ident]
    loaded = store.load(ident)
    assert loaded == json.loads(json.dumps(a))
    assert reproduce(loaded, base).to_dict() == loaded
    with pytest.raises(KeyError):
        store.load("0" * 16)
    with pytest.raises(PlateauError, match="is not 16 hexadecimal digits"):
        store.load("../etc/passwd")
    with pytest.raises(PlateauError, match="differs from the loaded evidence"):
        reproduce({**loaded, "evidence_version": "abc"}, base)


def test_bad_horizon_and_simulation_size(base):
    with pytest.raises(
        PlateauError, match=r"horizon_years: must be between 0.5 and 15 years \(got 40\)"
    ):
        decide(NON_TRANSPLANT, base, horizon_years=40)
    with pytest.raises(PlateauError, match="n_sims: must be a whole number >= 100"):
        decide(NON_TRANSPLANT, base, n_sims=10)


def test_uncertainty_widens_with_heterogeneity(fit60):
    """The simulated HR interval is the predictive one: at least as wide as the CI."""
    for option in fit60.options:
        hr = option.pfs.hazard_ratio
        if hr is None:
            continue
        lo, hi = hr["simulated_from"]["interval_95"]
        assert lo <= hr["ci_low"] * (1 + 1e-9) and hi >= hr["ci_high"] * (1 - 1e-9)
        assert math.isclose(
            hr["simulated_from"]["sd"] ** 2, hr["se"] ** 2 + (hr["tau2"] or 0.0), rel_tol=1e-12
        )
