"""Selection rules: who is included, what each contributes, and the reason for every exclusion."""

from __future__ import annotations

import math

import numpy as np
import pytest

from plateau.analysis import AnalysisSpec, SensitivitySpec, run_analysis, select, spec_from_dict
from plateau.errors import PlateauError
from plateau.meta import pool


def _reasons(selection):
    return {e.trial_id: e.reason for e in selection.exclusions}


def test_every_trial_is_either_included_or_excluded_with_a_reason(base):
    spec = AnalysisSpec(
        outcome="disease_control", agents=("lenalidomide",), settings=("post_asct",)
    )
    selection = select(spec, base)
    included = {c.trial_id for c in selection.contributions}
    excluded = _reasons(selection)
    assert included | set(excluded) == {t.id for t in base.trials}
    assert not included & set(excluded)
    assert all(excluded.values())
    assert excluded["THAL-A"] == "comparison main tests thalidomide, not lenalidomide"
    assert excluded["LEN-OLD"] == "setting non_transplant not selected"
    assert excluded["LEN-PKG"] == "comparison main is induction maintenance package (not selected)"
    assert "LEN-NOCI" in included  # HR with a p-value bound: approximate, conservative


def test_disease_control_takes_pfs_then_efs_then_ttp(base):
    spec = AnalysisSpec(
        outcome="disease_control", agents=("lenalidomide",), settings=("post_asct",)
    )
    by_trial = {c.trial_id: c for c in select(spec, base).contributions}
    assert by_trial["LEN-A"].outcome == "PFS"
    assert by_trial["LEN-EFS"].outcome == "EFS"
    only_pfs = AnalysisSpec(outcome="PFS", agents=("lenalidomide",), settings=("post_asct",))
    reasons = _reasons(select(only_pfs, base))
    assert reasons["LEN-EFS"] == "comparison main: no PFS"


def test_log_hr_and_se_from_hr_and_ci(base):
    spec = AnalysisSpec(outcome="PFS", trials=("LEN-A",))
    (c,) = select(spec, base).contributions
    assert c.yi == pytest.approx(math.log(0.5), abs=1e-15)
    assert c.sei == pytest.approx(
        (math.log(0.625) - math.log(0.4)) / (2 * 1.959963984540054), rel=1e-12
    )
    assert c.derivation == "hr_ci" and not c.approximate


def test_medians_with_events_are_used_but_flagged_approximate(base):
    spec = AnalysisSpec(outcome="PFS", trials=("LEN-MED",))
    (c,) = select(spec, base).contributions
    assert c.derivation == "medians" and c.approximate
    # exponential model: HR = median_control / median_experimental, var = 1/E1 + 1/E2
    assert c.yi == pytest.approx(math.log(20 / 40), rel=1e-12)
    assert c.sei == pytest.approx(math.sqrt(1 / 60 + 1 / 90), rel=1e-12)
    strict = spec.model_copy(update={"sensitivity": SensitivitySpec(exclude_approximate=True)})
    assert _reasons(select(strict, base))["LEN-MED"] == (
        "comparison main: PFS effect is approximate (medians and events, exponential model "
        "(approximate))"
    )


def test_hr_with_p_value_bound_gives_a_conservative_approximate_se(base):
    spec = AnalysisSpec(outcome="PFS", trials=("LEN-NOCI",))
    (c,) = select(spec, base).contributions
    assert c.derivation == "hr_p_bound" and c.approximate
    # p < 0.001 taken at the bound: z = 3.2905, se = |ln 0.6| / z (larger than the true se)
    assert c.sei == pytest.approx(abs(math.log(0.6)) / 3.2905267314918945, rel=1e-9)
    strict = spec.model_copy(update={"sensitivity": SensitivitySpec(exclude_approximate=True)})
    assert "approximate" in _reasons(select(strict, base))["LEN-NOCI"]


def test_fallback_to_earlier_report_is_flagged_and_off_with_latest_only(base):
    spec = AnalysisSpec(outcome="PFS", trials=("LEN-UPD",))
    (c,) = select(spec, base).contributions
    assert c.earlier_report and c.estimate == pytest.approx(0.5)
    latest = spec.model_copy(update={"sensitivity": SensitivitySpec(latest_only=True)})
    assert "only in an earlier report" in _reasons(select(latest, base))["LEN-UPD"]


def test_primary_sources_only_excludes_secondary(base):
    spec = AnalysisSpec(
        outcome="PFS",
        trials=("LEN-SEC", "LEN-A"),
        sensitivity=SensitivitySpec(primary_sources_only=True),
    )
    selection = select(spec, base)
    assert [c.trial_id for c in selection.contributions] == ["LEN-A"]
    assert _reasons(selection)["LEN-SEC"] == "comparison main: PFS read from a secondary source"


def test_packages_and_active_controls_can_be_excluded(base, make_trial):
    spec = AnalysisSpec(
        outcome="PFS",
        agents=("lenalidomide",),
        comparison_kinds=("maintenance_vs_control", "induction_maintenance_package"),
    )
    assert "LEN-PKG" in {c.trial_id for c in select(spec, base).contributions}
    strict = spec.model_copy(update={"sensitivity": SensitivitySpec(exclude_packages=True)})
    assert "LEN-PKG" in _reasons(select(strict, base))


def test_pooled_result_equals_pool_on_the_selected_effects(base):
    spec = AnalysisSpec(
        outcome="PFS",
        agents=("lenalidomide",),
        settings=("post_asct",),
        sensitivity=SensitivitySpec(exclude_approximate=True),
    )
    result = run_analysis(spec, base)
    yi = np.array([s.contribution.yi for s in result.studies])
    vi = np.array([s.contribution.sei for s in result.studies]) ** 2
    direct = pool(yi, vi, method="REML")
    assert result.pooled.estimate == pytest.approx(math.exp(direct.estimate), rel=1e-12)
    assert result.pooled.ci_low == pytest.approx(math.exp(direct.ci_low), rel=1e-12)
    assert result.pooled.tau2 == pytest.approx(direct.tau2, abs=1e-12)
    assert sum(s.weight_percent for s in result.studies) == pytest.approx(100)
    assert result.pooled.n_patients == 200 * len(result.studies)
    assert result.to_dict()["pooled"]["k"] == len(result.studies)


def test_subgroups_by_setting_and_test_for_differences(base):
    spec = AnalysisSpec(
        outcome="PFS",
        agents=("lenalidomide",),
        subgroup_by="setting",
        sensitivity=SensitivitySpec(exclude_approximate=True),
    )
    result = run_analysis(spec, base)
    levels = {s.level: s for s in result.subgroups}
    assert set(levels) == {"post_asct", "non_transplant"}
    old = levels["non_transplant"].pooled
    assert old.k == 1 and old.estimate == pytest.approx(0.75)
    # Q_between by hand: two subgroup estimates, inverse-variance weights
    theta = np.array([levels["post_asct"].pooled.log_estimate, old.log_estimate])
    w = 1 / np.array([levels["post_asct"].pooled.se, old.se]) ** 2
    q = np.sum(w * (theta - np.sum(w * theta) / np.sum(w)) ** 2)
    assert result.subgroup_test.q_between == pytest.approx(q, rel=1e-12)
    assert result.subgroup_test.df == 1


def test_adverse_event_risk_ratio_from_counts(base):
    spec = AnalysisSpec(
        outcome="adverse_event", adverse_event="neutropenia", adverse_event_grade=">=3"
    )
    result = run_analysis(spec, base)
    (study,) = result.studies
    assert study.contribution.trial_id == "LEN-B"
    assert study.contribution.estimate == pytest.approx(4.0)  # 40/100 vs 10/100
    assert study.contribution.sei == pytest.approx(math.sqrt(1 / 40 - 1 / 100 + 1 / 10 - 1 / 100))
    reasons = _reasons(select(spec, base))
    assert reasons["LEN-A"] == "comparison main: no neutropenia reported"


def test_no_match_gives_no_pooled_result_and_unknown_trial_is_an_error(base):
    result = run_analysis(AnalysisSpec(outcome="OS", agents=("daratumumab",)), base)
    assert result.pooled is None and not result.studies and len(result.excluded) == len(base.trials)
    with pytest.raises(PlateauError, match="unknown trial 'NOPE'"):
        select(AnalysisSpec(trials=("NOPE",)), base)


def test_spec_errors_name_the_field():
    with pytest.raises(PlateauError, match=r"model\.method"):
        spec_from_dict({"model": {"method": "XX"}})
    with pytest.raises(PlateauError, match=r"agents\.0"):
        spec_from_dict({"agents": ["aspirin"]})
    with pytest.raises(PlateauError, match="needs adverse_event"):
        spec_from_dict({"outcome": "adverse_event"})


def test_absolute_effect_follows_proportional_hazards(base):
    spec = AnalysisSpec(outcome="PFS", trials=("LEN-A",), baseline_risk_per_1000=500)
    result = run_analysis(spec, base)
    # S1 = S0^HR: 1 - 0.5**0.5 = 0.2929 -> 207 fewer per 1,000
    assert result.absolute.with_treatment_per_1000 == pytest.approx(1000 * (1 - 0.5**0.5))
    assert result.absolute.difference_per_1000 == pytest.approx(1000 * (1 - 0.5**0.5) - 500)
