"""Dose-rule examples on small inline tables and on the example CSVs."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from plateau.monitor import dosing as D
from plateau.monitor import engine
from plateau.monitor import io as mio

EX = Path(__file__).resolve().parents[2] / "examples" / "monitor"


def _run(labs, patients, events=None):
    L = mio.read_labs(io.StringIO(labs)).frame
    P = mio.read_patients(io.StringIO(patients)).frame
    E = mio.read_events(io.StringIO(events)).frame if events else None
    return engine.assess(L, P, E).to_dict()


HDR = "patient_id,date,analyte,value,unit\n"
LEN15 = "patient_id,maintenance_start,agent,dose_mg\nX,2025-01-01,lenalidomide,15\n"


def test_cockcroft_gault_vectors():
    # docs/clinical-rules.md section 3.6: 75.8, 74.1 and "80.9" for the woman; by hand
    # (140-45)*65/(72*0.9)*0.85 = 80.9992, so the calculator page truncated: we check the exact
    # value
    got = D.cockcroft_gault([65, 60, 45], [80, 80, 65], [1.1, 1.2, 0.9], [False, False, True])
    assert [round(float(x), 1) for x in got[:2]] == [75.8, 74.1]
    assert float(got[2]) == pytest.approx(95 * 65 / 64.8 * 0.85, rel=1e-12)


def test_lenalidomide_anc_ladder_down_to_floor():
    labs = HDR + "".join(
        f"X,{d},anc,{v},10*9/L\n"
        for d, v in [
            ("2025-02-01", 0.4),
            ("2025-02-08", 0.6),  # hold, resume 10 mg
            ("2025-03-01", 0.3),
            ("2025-03-08", 0.7),  # hold, resume 5 mg D1-28
            ("2025-04-01", 0.2),
            ("2025-04-08", 0.8),  # hold, resume 5 mg D1-21
            ("2025-05-01", 0.1),
            ("2025-05-08", 0.9),
        ]
    )  # hold, resume 5 mg D1-21 (floor)
    acts = [
        (a["date"], a["action"], a["dose"], a["schedule"])
        for a in _run(labs, LEN15)[0]["dose_actions"]
    ]
    assert acts == [
        ("2025-02-01", "hold", None, ""),
        ("2025-02-08", "resume", 10.0, "daily days 1-28"),
        ("2025-03-01", "hold", None, ""),
        ("2025-03-08", "resume", 5.0, "daily days 1-28"),
        ("2025-04-01", "hold", None, ""),
        ("2025-04-08", "resume", 5.0, "daily days 1-21"),
        ("2025-05-01", "hold", None, ""),
        ("2025-05-08", "resume", 5.0, "daily days 1-21"),
    ]


def test_anc_exactly_half_is_not_a_hold_and_alert_cites_label():
    p = _run(HDR + "X,2025-02-01,anc,0.5,10*9/L\nX,2025-03-01,anc,0.49,10*9/L\n", LEN15)[0]
    assert [(a["date"], a["action"]) for a in p["dose_actions"]] == [("2025-03-01", "hold")]
    assert p["dose_actions"][0]["rule"] == "len-anc" and p["dose_actions"][0]["tag"] == "C2"
    msgs = [a["message"] for a in p["alerts"]]
    assert "grade 4 neutropenia on 2025-03-01: hold lenalidomide per label" in msgs


def test_platelet_hold_is_reported_unconfirmed():
    p = _run(HDR + "X,2025-02-01,platelets,29,10*9/L\nX,2025-02-08,platelets,30,10*9/L\n", LEN15)[0]
    assert [(a["action"], a["dose"]) for a in p["dose_actions"]] == [
        ("hold", None),
        ("resume", 10.0),
    ]
    assert "len-platelets" in [u["rule"] for u in p["unconfirmed_rules_used"]]


def test_bortezomib_neuropathy_table():
    pats = "patient_id,maintenance_start,agent,dose_mg\nB,2025-01-01,bortezomib,1.3\n"
    ev = (
        "patient_id,date,term,grade,with_pain\nB,2025-02-01,peripheral_sensory_neuropathy,1,no\n"
        "B,2025-03-01,peripheral_sensory_neuropathy,1,yes\nB,2025-04-01,peripheral_sensory_neuropathy,3,no\n"
        "B,2025-05-01,peripheral_sensory_neuropathy,4,no\n"
    )
    p = _run(HDR + "B,2025-01-01,serum_m_protein,2,g/dL\n", pats, ev)[0]
    assert [(a["date"], a["action"], a["dose"]) for a in p["dose_actions"]] == [
        ("2025-03-01", "reduce", 1.0),
        ("2025-04-01", "withhold", 0.7),
        ("2025-05-01", "discontinue", None),
    ]


def test_thalidomide_stops_on_symptomatic_neuropathy():
    pats = "patient_id,maintenance_start,agent,dose_mg\nT,2025-01-01,thalidomide,50\n"
    ev = (
        "patient_id,date,term,grade\n"
        "T,2025-02-01,peripheral_sensory_neuropathy,1\n"
        "T,2025-03-01,peripheral_sensory_neuropathy,2\n"
    )
    p = _run(HDR + "T,2025-01-01,serum_m_protein,2,g/dL\n", pats, ev)[0]
    assert [(a["date"], a["action"]) for a in p["dose_actions"]] == [("2025-03-01", "stop")]
    assert "thal-pn-steps" in [u["rule"] for u in p["unconfirmed_rules_used"]]


def test_examples_escalation_renal_and_start_criteria():
    labs = mio.read_labs(EX / "labs.csv").frame
    pats = mio.read_patients(EX / "patients.csv").frame
    out = {p["patient_id"]: p for p in engine.assess(labs, pats).to_dict()}
    assert [(a["action"], a["dose"]) for a in out["P01"]["dose_actions"]] == [
        ("consider escalation", 15.0)
    ]
    assert [(a["action"], a["dose"]) for a in out["P18"]["dose_actions"]] == [
        ("consider escalation", 4.0)
    ]
    renal = out["P19"]["dose_actions"][0]
    # woman, 78 y, 55 kg, SCr 1.6: (140-78)*55/(72*1.6)*0.85 = 25.16 mL/min
    # label maintenance column: CLcr < 30 not requiring dialysis -> 2.5 mg once daily
    assert renal["action"] == "start at renal dose" and renal["reason"].startswith(
        "CLcr 25.2 mL/min"
    )
    assert renal["dose"] == 2.5 and renal["rule"] == "len-renal-maintenance"
    assert not any(a["action"] == "consider escalation" for a in out["P19"]["dose_actions"])
    assert any(
        a["message"].startswith("lenalidomide start criteria not met: platelets 60")
        for a in out["P19"]["alerts"]
    )


@pytest.mark.parametrize("dose,level", [(15, 0), (10, 1), (5, 2), (7.5, 2), (25, 0)])
def test_start_level(dose, level):
    import numpy as np

    assert (
        D.start_level(np.array(["lenalidomide"], dtype=object), np.array([float(dose)]))[0] == level
    )
