"""Approximate log HRs from published summaries, file-order independence, direction rules.

Expected values are worked by hand from the published formulas (Parmar et al., Stat Med
1998;17:2815; Tierney et al., Trials 2007;8:16; Williamson et al., Stat Med 2002;21:3337), not
from plateau's output.
"""

from __future__ import annotations

import math

import pytest

from plateau.analysis import AnalysisSpec, run_analysis
from plateau.analysis.selection import ordered_estimates, time_to_event_effect
from plateau.evidence import load_bundled
from plateau.evidence.base import EvidenceBase
from plateau.evidence.schema import Estimate
from plateau.meta import effects


@pytest.fixture(scope="module")
def base():
    return load_bundled()


def _estimate(**fields) -> Estimate:
    data = {"comparison": "c", "outcome": "OS", "source": "s", "report": "r", "status": "latest"}
    return Estimate.model_validate({**data, **fields})


def test_hr_with_events_per_arm_parmar():
    # HR 0.80 printed without CI; 120 and 150 events: var(ln HR) = 1/120 + 1/150 = 0.015
    es = effects.log_hr_from_hr_events(0.80, 120, 150)
    assert es.yi == pytest.approx(-0.2231435513, abs=1e-10)
    assert es.vi == pytest.approx(0.015, abs=1e-12)
    assert es.approximate


def test_hr_equal_to_one_with_total_events_tierney():
    # "HR = 1" with 100 + 100 events: ln HR = 0, var = 4/D = 4/200 = 0.02 (Tierney 2007, 1:1)
    es = effects.log_hr_from_hr_events(1.0, 100, 100)
    assert es.yi == 0.0
    assert math.sqrt(es.vi) == pytest.approx(0.1414213562, abs=1e-10)


def test_survival_at_one_time_point_parmar_williamson():
    # 5-year survival 68% vs 67%, 307 patients per arm (IFM 2005-02's printed OS)
    # S_e = S_c^HR => HR = ln(0.68)/ln(0.67) = 0.385662481 / 0.400477566 = 0.963006
    es = effects.log_hr_from_survival(0.68, 0.67, 307, 307)
    assert math.exp(es.yi) == pytest.approx(0.385662481 / 0.400477566, rel=1e-8)
    # events by 5 years: 307 x 0.32 = 98.24 and 307 x 0.33 = 101.31
    assert es.vi == pytest.approx(1 / 98.24 + 1 / 101.31, rel=1e-12)


def test_ifm_2005_02_os_enters_with_hr_one_and_events_from_rates(base):
    r = run_analysis(
        AnalysisSpec(outcome="OS", agents=("lenalidomide",), trials=("IFM2005-02",)), base
    )
    [s] = r.studies
    c = s.contribution
    assert c.derivation == "hr_rates" and c.approximate
    assert c.yi == 0.0
    # var = 1/98.24 + 1/101.31 = 0.0100179 + 0.0098707 = 0.0200498 (hand)
    assert c.sei == pytest.approx(math.sqrt(0.0101791531 + 0.0098706939), abs=1e-9)


def test_rates_beyond_follow_up_are_not_used():
    e = _estimate(
        rate_experimental=60.0,
        rate_control=50.0,
        rate_timepoint_months=60.0,
        median_followup_months=36.0,
    )
    assert time_to_event_effect(e, 100, 100) is None
    e_ok = e.model_copy(update={"median_followup_months": 61.0})
    yi, se, how = time_to_event_effect(e_ok, 100, 100)
    assert how == "rates"
    assert yi == pytest.approx(math.log(math.log(0.6) / math.log(0.5)), abs=1e-12)
    assert se == pytest.approx(math.sqrt(1 / 40 + 1 / 50), abs=1e-12)


def test_no_approximate_switch_turns_ifm_into_a_missing_trial(base):
    spec = AnalysisSpec(
        outcome="OS",
        agents=("lenalidomide",),
        settings=("post_asct",),
        sensitivity={"exclude_approximate": True},
    )
    r = run_analysis(spec, base)
    missing = {e.trial_id: e for e in r.missing}
    assert "IFM2005-02" in missing
    assert missing["IFM2005-02"].n_randomised == 614
    assert "approximate" in missing["IFM2005-02"].reason


def test_mm015_latest_pfs_does_not_depend_on_file_order(base):
    trial = base.trial("MM-015")
    spec = AnalysisSpec(outcome="PFS", agents=("lenalidomide",), trials=("MM-015",))
    results = []
    for estimates in (trial.estimates, list(reversed(trial.estimates))):
        shuffled = EvidenceBase([trial.model_copy(update={"estimates": estimates})])
        [s] = run_analysis(spec, shuffled).studies
        results.append((s.contribution.comparison_id, round(s.contribution.estimate, 6)))
        # the trial's own PFS definition (from randomisation) before the landmark variant
        assert s.contribution.outcome_detail is None
    assert results[0] == results[1] == ("MPRR_vs_MPR", 0.49)


def test_ordered_estimates_rule_is_explicit():
    plain = _estimate(outcome="PFS", hr=0.49)
    landmark = _estimate(outcome="PFS", hr=0.34, outcome_detail="landmark from maintenance")
    old = _estimate(outcome="PFS", hr=0.6, status="superseded")
    from plateau.evidence.schema import Source, Trial  # noqa: F401 (documenting the types)

    class _T:  # the recency key reads the source year
        @staticmethod
        def source(_):
            return type("S", (), {"year": 2010})()

    for order in ([landmark, plain, old], [old, plain, landmark], [plain, old, landmark]):
        assert ordered_estimates(_T, order) == [plain, landmark, old]


def test_duration_comparisons_are_longer_vs_shorter(base):
    spec = AnalysisSpec(
        outcome="OS",
        agents=("lenalidomide",),
        comparison_kinds=("duration_strategy",),
        trials=("GMMG-MM5",),
    )
    [s] = run_analysis(spec, base).studies
    c = s.contribution
    # printed: LEN-CR (shorter) vs LEN-2Y HR 1.42; longer vs shorter = 1/1.42
    assert c.estimate == pytest.approx(1 / 1.42, rel=1e-12)
    assert c.direction_normalised and c.experimental == "LEN_2Y" and c.control == "LEN_CR"
    # FIRST: the experimental arm (continuous Rd) is the longer therapy; nothing is inverted.
    # Its printed PFS has medians only, so a made-up HR with CI stands in for the check.
    trial = base.trial("FIRST")
    assert trial.comparison("Rdcont_vs_Rd18").longer_arm == "Rd_cont"
    extra = Estimate.model_validate(
        {
            "comparison": "Rdcont_vs_Rd18",
            "outcome": "EFS",
            "source": trial.sources[0].id,
            "report": "test",
            "status": "latest",
            "hr": 0.7,
            "ci_low": 0.6,
            "ci_high": 0.82,
        }
    )
    one = EvidenceBase([trial.model_copy(update={"estimates": [*trial.estimates, extra]})])
    first = AnalysisSpec(
        outcome="EFS", agents=("lenalidomide",), comparison_kinds=("duration_strategy",)
    )
    [f] = run_analysis(first, one).studies
    assert not f.contribution.direction_normalised
    assert f.contribution.experimental == "Rd_cont" and f.contribution.estimate == 0.7


def test_setting_subgroup_of_a_mixed_trial_is_preferred(base):
    trial = base.trial("MyelomaXI")
    whole = next(
        e for e in trial.estimates if e.outcome.value == "OS" and e.status.value == "latest"
    )
    sub = Estimate.model_validate(
        {
            **whole.model_dump(),
            "subgroup": "transplant-eligible",
            "subgroup_setting": "post_asct",
            "hr": 0.69,
            "ci_low": 0.52,
            "ci_high": 0.93,
            "n_experimental": 100,
            "n_control": 90,
        }
    )
    one = EvidenceBase([trial.model_copy(update={"estimates": [*trial.estimates, sub]})])
    spec = AnalysisSpec(outcome="OS", agents=("lenalidomide",), settings=("post_asct",))
    [s] = run_analysis(spec, one).studies
    c = s.contribution
    assert c.estimate == pytest.approx(0.69) and c.setting == "post_asct"
    assert c.setting_subgroup and not c.mixed_population
    assert (c.n_experimental, c.n_control) == (100, 90)
    # with the switch on, the subgroup still enters (it is the setting's own estimate)
    strict = spec.model_copy(update={"sensitivity": {"exclude_mixed_population": True}})
    strict = AnalysisSpec.model_validate(strict.model_dump())
    assert len(run_analysis(strict, one).studies) == 1


def test_mixed_asked_explicitly_next_to_a_setting_is_still_flagged(base):
    plain = run_analysis(
        AnalysisSpec(outcome="OS", agents=("lenalidomide",), settings=("post_asct",)), base
    )
    both = run_analysis(
        AnalysisSpec(outcome="OS", agents=("lenalidomide",), settings=("post_asct", "mixed")),
        base,
    )
    assert both.pooled.estimate == pytest.approx(plain.pooled.estimate, rel=1e-12)
    assert both.notes == plain.notes and "Myeloma XI" in both.notes[0]
