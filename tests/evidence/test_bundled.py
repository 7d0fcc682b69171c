"""The bundled evidence base: validates with zero errors, every number cited, queries behave."""

from __future__ import annotations

import shutil

import pytest
import yaml

from plateau.errors import EvidenceError
from plateau.evidence import BUNDLED_DIR, check_path, load_bundled, load_path


@pytest.fixture(scope="module")
def base():
    return load_bundled()


def test_bundled_base_validates_with_zero_errors():
    report, trials = check_path(BUNDLED_DIR)
    assert [str(e) for e in report.errors] == []
    assert report.n_files == len(list(BUNDLED_DIR.glob("*.yaml"))) == len(trials)


def test_one_file_per_trial_named_after_its_id():
    for path in BUNDLED_DIR.glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert isinstance(data, dict), path.name
        assert data["id"] == path.stem


def test_every_shared_trial_is_carried(base):
    """Every trial id of the shared curation tables is in the base (Myeloma IX pathways are
    comparisons of MRC_MYIX)."""
    shared = {
        "IFM9902",
        "HOVON50",
        "TUNISIA_ABDELKEFI",
        "TT2",
        "ALLG_MM6",
        "MRC_MYIX",
        "NCIC_MY10",
        "BRAZIL_GBRAM",
        "GEM05MENOS65",
        "HOVON49",
        "NMSG12",
        "LUDWIG2010_CEMSG",
        "BMTCTN0102",
        "GIMEMA_MPT",
        "TURKISH_MPT",
        "MRC_IFN_PLATEAU",
        "BELCH1988",
        "ITALIAN_IFN_MANDELLI",
        "DUTCH_IFN_MP",
        "SWEDISH_IFN_WESTIN",
        "RMH_IFN_HDT",
        "NCIC_MY7",
        "NCIC_IFN_BROWMAN",
        "SWOG_IFN_SALMON",
        "SWOG9210",
        "AUSTRIAN_IFN_LUDWIG",
        "CALGB100104",
        "IFM2005-02",
        "MM-015",
        "RV-MM-PI-209",
        "MyelomaXI",
        "HOVON65-GMMG-HD4",
        "GEM05MAS65",
        "GIMEMA-VMPT-VT",
        "TOURMALINE-MM3",
        "TOURMALINE-MM4",
        "CASSIOPEIA-P2",
        "AURIGA",
        "ATLAS",
        "GMMG-MM5",
        "GEM2014MAIN",
        "HOVON87-NMSG18",
        "EMN01",
        "E1A06",
    }
    assert shared <= {t.id for t in base.trials}
    myix = base.trial("MRC_MYIX")
    assert {c.id for c in myix.comparisons} == {"combined", "intensive", "non_intensive"}
    assert set(myix.comparison("combined").overlaps_with) == {"intensive", "non_intensive"}


def test_every_number_cites_an_existing_source(base):
    for trial in base.trials:
        ids = {s.id for s in trial.sources}
        for estimate in trial.estimates:
            assert estimate.source in ids
        for event in trial.adverse_events:
            assert event.source in ids
        for arm in trial.arms:
            assert (arm.n_randomised is None) == (arm.n_source is None), (trial.id, arm.id)
            assert arm.n_source is None or arm.n_source in ids


def test_published_values_are_carried_exactly(base):
    calgb = base.estimates(trial="CALGB100104", outcome="TTP")
    assert [(r.estimate.hr, r.estimate.ci_low, r.estimate.ci_high) for r in calgb] == [
        (0.57, 0.46, 0.71)
    ]
    assert calgb[0].source.pmid == "28826616"
    mm3 = base.estimates(trial="TOURMALINE-MM3", outcome="OS")[0].estimate
    assert (mm3.hr, mm3.ci_low, mm3.ci_high, mm3.p_value) == (1.025, 0.789, 1.332, "0.850")


def test_inverted_hazard_ratios_are_flagged_derived(base):
    e1a06 = base.estimates(trial="E1A06", outcome="PFS")[0].estimate
    assert e1a06.derived and "0.84 (0.64-1.09)" in e1a06.direction
    assert e1a06.hr == pytest.approx(1 / 0.84, abs=5e-5)
    assert e1a06.ci_low == pytest.approx(1 / 1.09, abs=5e-5) and e1a06.ci_high == pytest.approx(
        1 / 0.64, abs=5e-5
    )
    myix = base.estimates(trial="MRC_MYIX", outcome="PFS", comparison_kind="maintenance_vs_control")
    combined = [r for r in myix if r.comparison.id == "combined"][0].estimate
    assert combined.derived and combined.hr == pytest.approx(1 / 1.44, abs=5e-5)


def test_query_lenalidomide_post_asct_disease_control(base):
    rows = base.estimates(
        agent="lenalidomide",
        setting="post_asct",
        outcome=["PFS", "TTP"],
        comparison_kind="maintenance_vs_control",
    )
    assert {(r.trial.id, r.estimate.outcome.value) for r in rows} == {
        ("CALGB100104", "TTP"),
        ("IFM2005-02", "PFS"),
    }
    assert all(r.estimate.status.value != "superseded" for r in rows)


def test_query_by_comparison_setting_splits_myeloma_ix(base):
    rows = base.estimates(trial="MRC_MYIX", setting="post_asct")
    assert {r.comparison.id for r in rows} == {"intensive"}
    assert {r.comparison.id for r in base.estimates(trial="MRC_MYIX", setting="mixed")} == {
        "combined"
    }


def test_latest_only_and_fallback_to_earlier_hr(base):
    latest = base.estimates(trial="HOVON65-GMMG-HD4", outcome="OS")
    assert [(r.estimate.hr, r.estimate.rate_experimental) for r in latest] == [(None, 36)]
    everything = base.estimates(trial="HOVON65-GMMG-HD4", outcome="OS", latest_only=False)
    assert len(everything) == 3
    fallback = base.estimates(
        trial="HOVON65-GMMG-HD4", outcome="OS", with_hr_ci=True, fallback_to_earlier_hr=True
    )
    assert [(r.estimate.hr, r.estimate.ci_low, r.estimate.ci_high) for r in fallback] == [
        (0.89, 0.74, 1.08)
    ]


def test_agent_matches_tested_agents_not_backbone(base):
    rows = base.estimates(agent="lenalidomide", comparison_kind="add_on", outcome="PFS")
    assert "AURIGA" not in {
        r.trial.id for r in rows
    }  # AURIGA tests daratumumab on a lenalidomide backbone
    dara = base.estimates(agent="daratumumab", outcome="PFS")
    assert {r.trial.id for r in dara} == {"AURIGA", "CASSIOPEIA-P2"}


def test_primary_only_and_subgroups(base):
    all_rows = base.estimates(latest_only=False, include_subgroups=True)
    primary = base.estimates(latest_only=False, include_subgroups=True, primary_only=True)
    assert 0 < len(primary) < len(all_rows)
    assert all(r.source.kind.value == "primary" for r in primary)
    assert any(r.estimate.subgroup for r in all_rows)
    assert not any(r.estimate.subgroup for r in base.estimates(latest_only=False))


def test_unknown_filter_values_are_errors(base):
    with pytest.raises(EvidenceError, match="unknown agent 'lenalidomid'"):
        base.estimates(agent="lenalidomid")
    with pytest.raises(EvidenceError, match="unknown trial 'NOPE'"):
        base.trial("NOPE")


def test_trial_lookup_tolerates_case_and_punctuation(base):
    assert base.trial("calgb-100104").id == "CALGB100104"


def test_flat_rows_are_json_ready(base):
    import json

    rows = [r.to_dict() for r in base.estimates(latest_only=False, include_subgroups=True)]
    json.dumps(rows)
    row = next(r for r in rows if r["trial_id"] == "CALGB100104" and r["hr"] == 0.57)
    assert row["p_relation"] == "<" and row["p_number"] == 0.0001
    assert row["n_experimental_randomised"] == 231 and row["control_treatment"] == "placebo"


def test_adverse_event_query(base):
    rows = base.adverse_events(term="second_primary_malignancy", trial="CALGB100104")
    assert [
        (r.adverse_event.events_experimental, r.adverse_event.events_control) for r in rows
    ] == [(18, 6)]


def test_version_is_stable_and_tracks_the_data(tmp_path, base):
    copy = tmp_path / "trials"
    shutil.copytree(BUNDLED_DIR, copy)
    assert load_path(copy).version == base.version
    path = copy / "CALGB100104.yaml"
    path.write_text(path.read_text().replace("ci_high: 0.71", "ci_high: 0.72"))
    assert load_path(copy).version != base.version
    assert len(base.version) == 64
