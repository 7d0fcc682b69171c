"""Worked IMWG cases on the documented example CSVs (examples/monitor), plus small inline cases.

Expected values are computed by hand from the thresholds in docs/clinical-rules.md section 1
(see comments)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from plateau.monitor import engine
from plateau.monitor import io as mio
from plateau.monitor.imwg import ImwgConfig

EX = Path(__file__).resolve().parents[2] / "examples" / "monitor"


@pytest.fixture(scope="module")
def result():
    labs = mio.read_labs(EX / "labs.csv").frame
    pats = mio.read_patients(EX / "patients.csv").frame
    ev = mio.read_events(EX / "events.csv").frame
    return {p["patient_id"]: p for p in engine.assess(labs, pats, ev).to_dict()}


def responses(p):
    return [(a["date"], a["response"]) for a in p["assessments"]]


@pytest.mark.parametrize(
    "pid,best,measurable",
    [
        ("P01", "VGPR", "serum"),  # 3.0 -> 0.2 g/dL (93%), urine 80 < 100
        ("P02", "PR", "serum"),  # 3.0 -> 1.4 (53%), urine 30 < 200
        ("P03", "MR", "serum"),  # 3.0 -> 2.0 (33%), urine 400 -> 150 (62.5%)
        ("P04", "SD", "serum"),  # 3.0 -> 2.6 (13%)
        ("P05", "CR", "serum"),  # IFE negative, marrow 3%, FLC ratio 3.5 abnormal -> not sCR
        ("P06", "sCR", "serum"),  # + normal ratio 1.25 and no clonal cells
        ("P10", "PR", "flc"),  # dFLC 79 -> 30 (62%)
        ("P13", "PR", "marrow"),  # marrow 40% -> 15% (62.5%), baseline >= 30%
        ("P14", "PR", "urine"),  # urine 800 -> 150 (< 200), serum 0.5 not measurable
    ],
)
def test_best_response_each_category(result, pid, best, measurable):
    assert result[pid]["best_response"] == best
    assert result[pid]["measurable_by"] == measurable
    assert result[pid]["best_response_date"] == "2025-03-01"
    assert result[pid]["baseline_date"] == "2024-12-15"


def test_confirmed_pd_date_is_first_of_two(result):
    p = result["P07"]  # nadir 0.4 -> 0.95 (+0.55 >= 0.5, +137%) -> 1.0
    assert responses(p)[-2:] == [("2025-06-01", "PD"), ("2025-07-01", "PD")]
    assert p["progression_date"] == "2025-06-01"
    assert p["best_response"] == "PR"  # 1.5 -> 0.4 (73%) on two assessments
    assert any(a["message"].startswith("progression (IMWG) on 2025-06-01") for a in p["alerts"])
    assert "imwg-progression-date" in [u["rule"] for u in p["unconfirmed_rules_used"]]


def test_rise_over_25_percent_missing_absolute_threshold_is_not_pd(result):
    p = result["P08"]  # nadir 0.4 -> 0.8: +100% but +0.4 < 0.5 g/dL
    assert p["progression_date"] is None
    assert "PD" not in [r for _, r in responses(p)]


def test_high_nadir_rule(result):
    p = result["P09"]  # nadir 5.2 -> 6.2: +19% < 25% but +1.0 >= 1 g/dL with nadir >= 5
    assert p["progression_date"] == "2025-06-01"
    assert p["assessments"][1]["pd_criteria"] == ["serum_high_nadir"]
    assert "imwg-pd-high-nadir-reference" in [u["rule"] for u in p["unconfirmed_rules_used"]]


def test_flc_only_progression(result):
    p = result["P10"]  # dFLC nadir 8 -> 19 (+11 > 10 mg/dL, +137%) -> 21
    assert p["progression_date"] == "2025-09-01"
    assert p["assessments"][2]["pd_criteria"] == ["flc"]


def test_unconfirmed_pd(result):
    p = result["P11"]  # nadir 1.0 -> 1.6 at the last assessment only
    assert p["progression_date"] is None
    assert p["assessments"][-1] == {
        "date": "2025-06-01",
        "response": "PD",
        "confirmed": False,
        "pd_criteria": ["serum"],
        "note": "PD criteria met, not (yet) confirmed",
    }
    assert any("possible progression on 2025-06-01" in a["message"] for a in p["alerts"])


def test_missing_assessment_is_skipped_for_confirmation(result):
    p = result["P12"]  # PD 06-01, urine-only date 07-01 (serum missing: NE), PD 08-01
    assert responses(p) == [
        ("2025-03-01", "PR"),
        ("2025-06-01", "PD"),
        ("2025-07-01", "NE"),
        ("2025-08-01", "PD"),
    ]
    assert p["progression_date"] == "2025-06-01"


def test_new_lesion_progression(result):
    p = result["P15"]
    assert p["progression_date"] == "2025-06-01"
    assert p["assessments"][1]["pd_criteria"] == ["lesion"]


def test_ife_negative_with_abnormal_flc_is_cr_not_scr(result):
    assert result["P05"]["best_response"] == "CR"
    assert result["P06"]["best_response"] == "sCR"


def test_every_rule_in_output_is_cited(result):
    for p in result.values():
        for r in p["citations"] + p["unconfirmed_rules_used"]:
            assert (
                r["source"]
                and r["where"]
                and r["tag"] in ("C1", "C2", "C3", "UNCONFIRMED", "DESIGN")
            )
        for a in p["alerts"] + p["dose_actions"]:
            assert a["citation"] and a["tag"]
        assert all(r["tag"] in ("UNCONFIRMED", "DESIGN", "C3") for r in p["unconfirmed_rules_used"])


def _labs(text):
    return mio.read_labs(io.StringIO(text)).frame


def test_cr_without_marrow_is_downgraded_to_vgpr():
    labs = _labs(
        "patient_id,date,analyte,value,unit\n"
        "X,2025-01-01,serum_m_protein,2.0,g/dL\n"
        "X,2025-03-01,serum_m_protein,0,g/dL\nX,2025-03-01,serum_ife,negative,\nX,2025-03-01,urine_ife,negative,\n"
        "X,2025-04-01,serum_m_protein,0,g/dL\nX,2025-04-01,serum_ife,negative,\nX,2025-04-01,urine_ife,negative,\n"
    )
    p = engine.assess(labs, config=engine.MonitorConfig(baseline="diagnosis")).to_dict()[0]
    assert p["best_response"] == "VGPR"
    assert "not evaluable for CR" in p["assessments"][0]["note"]
    assert "imwg-downgrade" in [c["rule"] for c in p["citations"]]


def test_serum_pd_boundary_exactly_half_gram_and_operator_switch():
    text = (
        "patient_id,date,analyte,value,unit\n"
        "X,2025-01-01,serum_m_protein,2.0,g/dL\nX,2025-02-01,serum_m_protein,1.0,g/dL\n"
        "X,2025-03-01,serum_m_protein,1.5,g/dL\nX,2025-04-01,serum_m_protein,1.5,g/dL\n"
    )
    p = engine.assess(_labs(text), config=engine.MonitorConfig(baseline="diagnosis")).to_dict()[0]
    assert p["progression_date"] == "2025-03-01"  # +0.5 >= 0.5 (2006/2011 operator)
    assert "imwg-pd-serum-operator" in [u["rule"] for u in p["unconfirmed_rules_used"]]
    strict = engine.MonitorConfig(baseline="diagnosis", imwg=ImwgConfig(pd_serum_inclusive=False))
    assert engine.assess(_labs(text), config=strict).to_dict()[0]["progression_date"] is None


def test_baseline_choice_changes_reference():
    text = (
        "patient_id,date,analyte,value,unit\n"
        "X,2024-06-01,serum_m_protein,4.0,g/dL\nX,2024-12-01,serum_m_protein,1.0,g/dL\n"
        "X,2025-03-01,serum_m_protein,0.9,g/dL\nX,2025-06-01,serum_m_protein,0.9,g/dL\n"
    )
    pats = mio.read_patients(
        io.StringIO(
            "patient_id,maintenance_start,agent,dose_mg,diagnosis_date\n"
            "X,2025-01-01,lenalidomide,10,2024-06-01\n"
        )
    ).frame
    dx = engine.assess(
        _labs(text), pats, config=engine.MonitorConfig(baseline="diagnosis")
    ).to_dict()[0]
    mt = engine.assess(
        _labs(text), pats, config=engine.MonitorConfig(baseline="maintenance")
    ).to_dict()[0]
    assert (dx["baseline_date"], dx["best_response"]) == ("2024-06-01", "PR")  # 4.0 -> 0.9 = 77.5%
    assert (mt["baseline_date"], mt["best_response"]) == ("2024-12-01", "SD")  # 1.0 -> 0.9 = 10%


def test_patient_without_measurable_disease():
    labs = _labs(
        "patient_id,date,analyte,value,unit\nX,2025-01-01,serum_m_protein,0.3,g/dL\n"
        "X,2025-02-01,serum_m_protein,0.2,g/dL\n"
    )
    p = engine.assess(labs, config=engine.MonitorConfig(baseline="diagnosis")).to_dict()[0]
    assert p["measurable_by"] is None and p["best_response"] is None
    assert p["assessments"] == [{"date": "2025-02-01", "response": "NE", "confirmed": False}]
