"""Renal dosing, escalation safety and the end of the maintenance line, from the labels.

Worked cases written from the documents, not from the engine's output:

* Revlimid US PI, renal table, maintenance after auto-HSCT column: 30 <= CLcr < 60 mL/min
  5 mg once daily; CLcr < 30 not on dialysis 2.5 mg once daily; on dialysis 2.5 mg once daily
  (after dialysis on dialysis days).  CLcr by Cockcroft-Gault (140 - age) x weight / (72 x SCr).
* Revlimid maintenance: 10 mg days 1-28, may rise to 15 mg after 3 cycles if tolerated.
* NINLARO (UK HCP, SmPC): 3 mg at CLcr < 30 or ESRD on dialysis; platelets < 30 or ANC < 0.5:
  withhold; first occurrence resume at the most recent dose, later ones at the next lower dose.
  TOURMALINE-MM3: 3 mg, 4 mg from cycle 5 if tolerated.
* Progression ends the line of therapy: no resumption after confirmed progression.
"""

from __future__ import annotations

import io

import pytest

from plateau.monitor import engine
from plateau.monitor import io as mio
from plateau.rules.dosing import renal_dose_step, renal_restriction

HDR = "patient_id,date,analyte,value,unit\n"
PHDR = "patient_id,maintenance_start,agent,dose_mg,age,sex,weight_kg,dialysis\n"


def _run(labs: str, patients: str, events: str | None = None) -> dict:
    L = mio.read_labs(io.StringIO(HDR + labs)).frame
    P = mio.read_patients(io.StringIO(PHDR + patients)).frame
    E = mio.read_events(io.StringIO(events)).frame if events else None
    return {p["patient_id"]: p for p in engine.assess(L, P, E).to_dict()}


def _acts(p: dict) -> list[tuple]:
    return [(a["date"], a["action"], a["dose"]) for a in p["dose_actions"]]


def _counts(pid: str, dates: list[str]) -> str:
    """Normal blood counts on ``dates`` and a serum M-protein follow-up past the escalation dates
    (escalation needs evidence of tolerance and follow-up up to the decision date)."""
    counts = "".join(f"{pid},{d},anc,2.0,10*9/L\n{pid},{d},platelets,200,10*9/L\n" for d in dates)
    return (
        counts
        + f"{pid},2024-12-01,serum_m_protein,2.0,g/dL\n{pid},2025-05-10,serum_m_protein,0.9,g/dL\n"
    )


# age 68, 60 kg, man: CLcr = 72 * 60 / (72 * SCr) = 60 / SCr exactly
@pytest.mark.parametrize(
    "scr,band,dose",
    [
        (1.0, "normal", None),  # CLcr 60.0: not < 60, no adjustment
        (1.2, "moderate", 5.0),  # 50.0
        (2.0, "moderate", 5.0),  # 30.0: 30 <= CLcr < 60
        (2.5, "severe", 2.5),  # 24.0
    ],
)
def test_lenalidomide_renal_dose_at_each_boundary(scr, band, dose):
    crcl = 60.0 / scr
    rd = renal_dose_step("lenalidomide", crcl, False)
    assert (rd.band, rd.dose) == (band, dose)
    assert (renal_restriction("lenalidomide", crcl, False) is not None) == (dose is not None)
    labs = f"X,2025-01-01,creatinine,{scr},mg/dL\n" + _counts("X", ["2025-02-01", "2025-03-20"])
    p = _run(labs, "X,2025-01-02,lenalidomide,10,68,M,60,no\n")["X"]
    acts = _acts(p)
    if dose is None:
        assert acts == [("2025-03-27", "consider escalation", 15.0)]  # start + 84 days
    else:
        assert acts == [("2025-01-02", "start at renal dose", dose)]  # and no escalation
        assert p["dose_actions"][0]["rule"] == "len-renal-maintenance"
        assert any(r["rule"] == "len-renal-maintenance" for r in p["unconfirmed_rules_used"])


def test_lenalidomide_dialysis_dose_after_dialysis():
    rd = renal_dose_step("lenalidomide", None, True)
    assert rd.dose == 2.5 and "after dialysis" in rd.schedule and rd.restriction == "len-renal"
    p = _run(_counts("D", ["2025-02-01"]), "D,2025-01-02,lenalidomide,10,60,M,70,yes\n")["D"]
    assert _acts(p) == [("2025-01-02", "start at renal dose", 2.5)]
    assert "after dialysis" in p["dose_actions"][0]["schedule"]


def test_crcl_fall_during_maintenance_reduces_dose_and_blocks_escalation():
    # man, 65 y, 80 kg: SCr 1.1 at start -> CLcr (75)(80)/(72*1.1) = 75.8 mL/min (normal);
    # SCr 3.0 on day 40 -> (140 - 65.11)(80)/(216) = 27.7 mL/min: CLcr < 30 -> 2.5 mg
    labs = "F,2025-01-01,creatinine,1.1,mg/dL\nF,2025-02-10,creatinine,3.0,mg/dL\n" + _counts(
        "F", ["2025-02-01", "2025-03-30"]
    )
    p = _run(labs, "F,2025-01-01,lenalidomide,10,65,M,80,no\n")["F"]
    assert _acts(p) == [("2025-02-10", "reduce dose (renal)", 2.5)]
    assert p["dose_actions"][0]["reason"].startswith("CLcr 27.7 mL/min")


def test_ixazomib_severe_renal_impairment_3mg_and_no_escalation_to_4mg():
    assert renal_dose_step("ixazomib", 29.9, False).dose == 3.0
    assert renal_dose_step("ixazomib", 30.0, False).dose is None  # no adjustment at CLcr >= 30
    assert renal_dose_step("ixazomib", 45.0, False).rule_id is None
    labs = "I,2025-01-01,creatinine,2.5,mg/dL\n" + _counts("I", ["2025-02-01", "2025-05-01"])
    p = _run(labs, "I,2025-01-02,ixazomib,3,68,M,60,no\n")["I"]  # CLcr 24.0
    assert _acts(p) == [("2025-01-02", "start at renal dose", 3.0)]
    # moderate impairment (CLcr 30-60) does not restrict ixazomib: escalation from cycle 5
    labs = "J,2025-01-01,creatinine,1.5,mg/dL\n" + _counts("J", ["2025-02-01", "2025-05-01"])
    p = _run(labs, "J,2025-01-02,ixazomib,3,68,M,60,no\n")["J"]  # CLcr 40.0
    assert _acts(p) == [("2025-04-24", "consider escalation", 4.0)]  # start + 112 days


def test_ixazomib_platelet_hold_first_resume_at_most_recent_dose_then_lower():
    labs = (
        "K,2025-01-01,creatinine,0.8,mg/dL\n"
        "K,2025-02-01,platelets,25,10*9/L\n"
        "K,2025-02-08,platelets,40,10*9/L\n"
        "K,2025-03-01,platelets,20,10*9/L\n"
        "K,2025-03-08,platelets,60,10*9/L\n"
    )
    p = _run(labs, "K,2025-01-02,ixazomib,4,68,M,60,no\n")["K"]
    assert _acts(p) == [
        ("2025-02-01", "hold", None),
        ("2025-02-08", "resume", 4.0),  # first occurrence: most recent dose
        ("2025-03-01", "hold", None),
        ("2025-03-08", "resume", 3.0),  # second: next lower dose
    ]


def test_progression_ends_the_line_no_resume_no_escalation():
    # serum M-protein 2.0 (baseline) -> 0.5 -> 1.1 -> 1.2 (PD: +0.6 >= 0.5 and >= 25% of the
    # nadir, confirmed at the next assessment); an ANC hold opened before progression
    # recovers after it: no "resume", the line ends on the progression date
    labs = (
        "M,2024-12-01,serum_m_protein,2.0,g/dL\n"
        "M,2025-02-01,serum_m_protein,0.5,g/dL\n"
        "M,2025-03-01,serum_m_protein,1.1,g/dL\n"
        "M,2025-03-29,serum_m_protein,1.2,g/dL\n"
        "M,2025-02-20,anc,0.4,10*9/L\n"
        "M,2025-04-10,anc,1.5,10*9/L\n"
    )
    p = _run(labs, "M,2025-01-01,lenalidomide,10,60,M,70,no\n")["M"]
    assert p["progression_date"] == "2025-03-01"
    assert _acts(p) == [
        ("2025-02-20", "hold", None),
        ("2025-03-01", "maintenance line ends", None),
    ]
    assert not any(a["action"] in ("resume", "consider escalation") for a in p["dose_actions"])


def test_lenalidomide_grade2_thromboembolic_event_alert_and_no_escalation():
    events = "patient_id,date,term,grade\nV,2025-02-15,thromboembolic_event,2\n"
    labs = "V,2025-01-01,creatinine,0.8,mg/dL\n" + _counts("V", ["2025-02-01", "2025-03-20"])
    p = _run(labs, "V,2025-01-02,lenalidomide,10,60,M,70,no\n", events)["V"]
    assert any(a["rule"] == "len-vte" and a["severity"] == "high" for a in p["alerts"])
    assert not any(a["action"] == "consider escalation" for a in p["dose_actions"])


def test_ixazomib_grade3_neuropathy_and_diarrhoea_next_lower_dose():
    events = (
        "patient_id,date,term,grade,with_pain\n"
        "N,2025-02-15,peripheral_sensory_neuropathy,3,no\n"
        "N,2025-04-15,diarrhea,3,no\n"
    )
    labs = "N,2025-01-01,creatinine,0.8,mg/dL\n"
    p = _run(labs, "N,2025-01-02,ixazomib,4,60,M,70,no\n", events)["N"]
    assert [(a["date"], a["action"], a["dose"], a["rule"]) for a in p["dose_actions"]] == [
        ("2025-02-15", "withhold", 3.0, "ixa-pn"),
        ("2025-04-15", "withhold", 2.3, "ixa-nonheme"),
    ]


def test_daratumumab_infusion_reactions_and_no_dose_reduction():
    events = (
        "patient_id,date,term,grade\n"
        "R,2025-02-01,infusion_related_reaction,2\n"
        "R,2025-03-01,infusion_related_reaction,4\n"
    )
    labs = "R,2025-01-10,platelets,20,10*9/L\n"
    p = _run(labs, "R,2025-01-02,daratumumab,16,60,M,70,no\n", events)["R"]
    assert [(a["action"], a["dose"]) for a in p["dose_actions"]] == [
        ("interrupt infusion", None),
        ("discontinue", None),
    ]
    assert any(a["rule"] == "dara-no-reduction" for a in p["alerts"])
