"""Each bad record produces its precise message (file, trial, field, what is wrong)."""

from __future__ import annotations

import pytest

from plateau.errors import EvidenceError
from plateau.evidence import check_path, load_path, parse_p_value


def _messages(folder) -> tuple[list[str], list[str]]:
    report, _ = check_path(folder)
    return [str(i) for i in report.errors], [str(i) for i in report.warnings]


def test_good_trial_loads_without_issues(good_trial, write_trial):
    folder = write_trial(good_trial)
    errors, warnings = _messages(folder)
    assert errors == [] and warnings == []
    base = load_path(folder)
    assert [t.id for t in base.trials] == ["DEMO-1"]


def test_hr_outside_ci_names_file_trial_and_field(good_trial, write_trial):
    good_trial["estimates"][0].update(hr=0.48, ci_low=0.5, ci_high=0.7)
    errors, _ = _messages(write_trial(good_trial))
    assert errors == [
        "DEMO-1.yaml: trial DEMO-1: estimates[0].ci_low: HR 0.48 lies outside its CI [0.5, 0.7]"
    ]


def test_hr_above_ci_reports_upper_limit(good_trial, write_trial):
    good_trial["estimates"][1].update(hr=1.2, ci_low=0.55, ci_high=1.16)
    errors, _ = _messages(write_trial(good_trial))
    assert errors == [
        "DEMO-1.yaml: trial DEMO-1: estimates[1].ci_high: HR 1.2 lies outside its CI [0.55, 1.16]"
    ]


def test_asymmetric_ci_is_a_warning_not_an_error(good_trial, write_trial):
    good_trial["estimates"][0].update(hr=0.6, ci_low=0.45, ci_high=0.95)  # typo-like upper limit
    errors, warnings = _messages(write_trial(good_trial))
    assert errors == []
    assert len(warnings) == 1
    assert warnings[0].startswith(
        "DEMO-1.yaml: trial DEMO-1: estimates[0].hr: HR 0.6 is not at the centre of its CI "
        "[0.45, 0.95] on the log scale"
    )


def test_symmetric_ci_within_rounding_gives_no_warning(good_trial, write_trial):
    # CALGB 100104 updated TTP: 0.57 (0.46-0.71), printed to two decimals
    good_trial["estimates"][0].update(hr=0.57, ci_low=0.46, ci_high=0.71)
    errors, warnings = _messages(write_trial(good_trial))
    assert errors == [] and warnings == []


@pytest.mark.parametrize(
    "path, value, expected",
    [
        (
            ("arms", 0, "agents"),
            ["lenalidomid"],
            "arms[0].agents[0]: unknown agent 'lenalidomid'; allowed: ",
        ),
        (
            ("estimates", 0, "outcome"),
            "PFS3",
            "estimates[0].outcome: unknown outcome 'PFS3'; allowed: ",
        ),
        (("setting",), "post-ASCT", "setting: unknown setting 'post-ASCT'; allowed: "),
        (
            ("comparisons", 0, "kind"),
            "maintenance",
            "comparisons[0].kind: unknown kind 'maintenance'; allowed: ",
        ),
    ],
)
def test_unknown_vocabulary_is_rejected(good_trial, write_trial, path, value, expected):
    target = good_trial
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    errors, _ = _messages(write_trial(good_trial))
    assert len(errors) == 1
    assert errors[0].startswith(f"DEMO-1.yaml: trial DEMO-1: {expected}")


def test_unknown_field_is_rejected(good_trial, write_trial):
    good_trial["estimates"][0]["hazard_ratio"] = 0.6
    errors, _ = _messages(write_trial(good_trial))
    assert errors == [
        "DEMO-1.yaml: trial DEMO-1: estimates[0].hazard_ratio: unknown field (value 0.6)"
    ]


def test_number_without_source(good_trial, write_trial):
    del good_trial["arms"][1]["n_source"]
    errors, _ = _messages(write_trial(good_trial))
    assert errors == ["DEMO-1.yaml: trial DEMO-1: arms[1].n_source: n_randomised 100 has no source"]


def test_estimate_citing_unknown_source(good_trial, write_trial):
    good_trial["estimates"][1]["source"] = "paper2"
    errors, _ = _messages(write_trial(good_trial))
    assert errors == [
        "DEMO-1.yaml: trial DEMO-1: estimates[1].source: unknown source 'paper2' (sources: paper)"
    ]


def test_estimate_without_source_field(good_trial, write_trial):
    del good_trial["estimates"][0]["source"]
    errors, _ = _messages(write_trial(good_trial))
    assert errors == ["DEMO-1.yaml: trial DEMO-1: estimates[0].source: required field is missing"]


def test_source_must_be_locatable(good_trial, write_trial):
    del good_trial["sources"][0]["pmid"]
    errors, _ = _messages(write_trial(good_trial))
    assert errors == [
        "DEMO-1.yaml: trial DEMO-1: sources[0]: a source needs at least one of pmid, pmcid, doi or "
        "url"
    ]


def test_arm_size_must_be_positive(good_trial, write_trial):
    good_trial["arms"][0]["n_randomised"] = 0
    good_trial.pop("n_randomised_total")
    good_trial.pop("n_randomised_total_source")
    errors, _ = _messages(write_trial(good_trial))
    assert errors == ["DEMO-1.yaml: trial DEMO-1: arms[0].n_randomised: must be positive, got 0"]


def test_arm_sizes_exceeding_total(good_trial, write_trial):
    good_trial["n_randomised_total"] = 150
    errors, _ = _messages(write_trial(good_trial))
    assert errors == [
        "DEMO-1.yaml: trial DEMO-1: arms: arm sizes sum to 200, more than n_randomised_total 150"
    ]


def test_arm_sizes_below_total_is_a_warning(good_trial, write_trial):
    good_trial["n_randomised_total"] = 210
    errors, warnings = _messages(write_trial(good_trial))
    assert errors == []
    assert warnings == [
        "DEMO-1.yaml: trial DEMO-1: arms: arm sizes sum to 200, fewer than n_randomised_total 210 "
        "(different sources or populations?)"
    ]


def test_events_exceeding_arm_size(good_trial, write_trial):
    good_trial["estimates"][0]["events_control"] = 101
    errors, _ = _messages(write_trial(good_trial))
    assert errors == [
        "DEMO-1.yaml: trial DEMO-1: estimates[0].events_control: 101 events among 100 patients"
    ]


def test_two_latest_estimates_for_one_outcome(good_trial, write_trial):
    extra = dict(good_trial["estimates"][0], report="update", hr=0.55, ci_low=0.42, ci_high=0.72)
    good_trial["estimates"].append(extra)
    errors, _ = _messages(write_trial(good_trial))
    assert errors == [
        "DEMO-1.yaml: trial DEMO-1: estimates[2].status: 2 estimates are marked latest for "
        "comparison len_vs_obs x PFS (estimates 0, 2): exactly one may be"
    ]


def test_superseded_without_latest(good_trial, write_trial):
    good_trial["estimates"][1]["status"] = "superseded"
    errors, _ = _messages(write_trial(good_trial))
    assert errors == [
        "DEMO-1.yaml: trial DEMO-1: estimates[1].status: no estimate is marked latest for "
        "comparison len_vs_obs x OS"
    ]


def test_latest_is_per_subgroup(good_trial, write_trial):
    sub = dict(
        good_trial["estimates"][0],
        subgroup="high-risk cytogenetics",
        hr=0.7,
        ci_low=0.4,
        ci_high=1.22,
    )
    sub.pop("events_experimental"), sub.pop("events_control")
    good_trial["estimates"].append(sub)
    errors, _ = _messages(write_trial(good_trial))
    assert errors == []


def test_binary_outcome_cannot_carry_hr(good_trial, write_trial):
    good_trial["estimates"][1]["outcome"] = "CR"
    errors, _ = _messages(write_trial(good_trial))
    assert errors == [
        "DEMO-1.yaml: trial DEMO-1: estimates[1].hr: outcome CR is binary: a hazard ratio does not "
        "belong to it"
    ]


def test_control_type_must_match_control_arm(good_trial, write_trial):
    good_trial["comparisons"][0]["control_type"] = "placebo"
    errors, _ = _messages(write_trial(good_trial))
    assert errors == [
        "DEMO-1.yaml: trial DEMO-1: comparisons[0].control_type: control_type placebo but control "
        "arm 'obs' has treatment observation"
    ]


def test_maintenance_vs_control_needs_inactive_control(good_trial, write_trial):
    good_trial["arms"][1].update(treatment="interferon", agents=["interferon_alpha"])
    good_trial["comparisons"][0]["control_type"] = "active"
    errors, _ = _messages(write_trial(good_trial))
    assert errors == [
        "DEMO-1.yaml: trial DEMO-1: comparisons[0].control_type: a maintenance_vs_control "
        "comparison needs an observation or placebo control"
    ]


def test_comparison_with_unknown_arm(good_trial, write_trial):
    good_trial["comparisons"][0]["control_arm"] = "placebo"
    errors, _ = _messages(write_trial(good_trial))
    assert errors == [
        "DEMO-1.yaml: trial DEMO-1: comparisons[0].control_arm: unknown arm 'placebo' (arms: len, "
        "obs)"
    ]


def test_derived_value_must_say_what_was_printed(good_trial, write_trial):
    good_trial["estimates"][0]["derived"] = True
    errors, _ = _messages(write_trial(good_trial))
    assert errors == [
        "DEMO-1.yaml: trial DEMO-1: estimates[0].direction: a derived value must say what was "
        "printed (direction or note)"
    ]


def test_ci_without_hr(good_trial, write_trial):
    del good_trial["estimates"][1]["hr"]
    errors, _ = _messages(write_trial(good_trial))
    assert errors == [
        "DEMO-1.yaml: trial DEMO-1: estimates[1].hr: a CI [0.55, 1.16] is given without its HR"
    ]


def test_bad_grade(good_trial, write_trial):
    good_trial["adverse_events"][0]["grade"] = "III"
    errors, _ = _messages(write_trial(good_trial))
    assert errors == [
        "DEMO-1.yaml: trial DEMO-1: adverse_events[0].grade: grade 'III' is not one of: any, "
        "not_stated, 1..5, a range like 3-4, or >=3 (got 'III')"
    ]


def test_duplicate_trial_ids_across_files(good_trial, write_trial, tmp_path):
    folder = write_trial(good_trial)
    (folder / "copy.yaml").write_text((folder / "DEMO-1.yaml").read_text())
    errors, _ = _messages(folder)
    assert errors == [
        "copy.yaml: trial DEMO-1: id: trial id 'DEMO-1' is also defined in DEMO-1.yaml"
    ]


def test_load_path_raises_first_error_with_count(good_trial, write_trial):
    good_trial["estimates"][0].update(hr=0.48, ci_low=0.5, ci_high=0.7)
    good_trial["arms"][0]["n_randomised"] = 0
    with pytest.raises(EvidenceError) as info:
        load_path(write_trial(good_trial))
    message = str(info.value)
    assert message.startswith("DEMO-1.yaml: trial DEMO-1: ")
    assert message.endswith("(and 1 more error; run `plateau evidence validate`)")


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(EvidenceError, match="no such file or folder"):
        load_path(tmp_path / "nowhere")


def test_unparseable_yaml(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: [unclosed\n")
    with pytest.raises(EvidenceError, match=r"^bad\.yaml: cannot be parsed"):
        load_path(bad)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("<0.001", ("<", 0.001)),
        ("0.03", ("=", 0.03)),
        ("P = .12", ("=", 0.12)),
        ("<=0.05", ("<=", 0.05)),
        ("NS", None),
        ("0.07 (univariate); 0.03 (multivariate)", None),
        ("1.5", None),
        (None, None),
    ],
)
def test_parse_p_value_keeps_the_inequality(text, expected):
    assert parse_p_value(text) == expected
