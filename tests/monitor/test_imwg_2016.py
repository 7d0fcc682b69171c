"""IMWG details resolved against the criteria texts, as worked cases at their boundaries.

Sources (as cited in plateau.rules.imwg): Durie et al. 2006 / Rajkumar et al. 2011 uniform
response criteria (VGPR: >= 90% serum reduction plus urine < 100 mg/24h; PR: >= 50%; marrow PR
>= 50% fall with baseline >= 30%); Kumar et al. 2016 (PD by marrow: absolute increase >= 10
percentage points, only without measurable M-protein and FLC); IMWG PCL table (FLC-only VGPR:
>= 90% fall in dFLC); CIBMTR (marrow results need no confirmation; report the next lower level
when a criterion is missing); clinical relapse (CRAB): hypercalcaemia >= 11.5 mg/dL, haemoglobin
fall >= 2 g/dL, creatinine rise >= 2 mg/dL, new lesions.  Induction, transplant and maintenance
are one line of therapy: the response baseline is the pre-treatment (diagnosis) one.
"""

from __future__ import annotations

import io

import pytest

from plateau.monitor import engine
from plateau.monitor import io as mio
from plateau.monitor.imwg import ImwgConfig

HDR = "patient_id,date,analyte,value,unit\n"
PHDR = "patient_id,maintenance_start,agent,dose_mg,diagnosis_date\n"


def _run(labs: str, patients: str | None = None, **cfg) -> dict:
    L = mio.read_labs(io.StringIO(HDR + labs)).frame
    P = mio.read_patients(io.StringIO(PHDR + patients)).frame if patients else None
    config = engine.MonitorConfig(**cfg)
    return {p["patient_id"]: p for p in engine.assess(L, P, config=config).to_dict()}


def _resp(p: dict) -> list[tuple]:
    return [(a["date"], a["response"]) for a in p["assessments"]]


TRANSPLANT = (
    "T,2024-01-02,serum_m_protein,4.0,g/dL\n"  # diagnosis
    "T,2024-05-01,serum_m_protein,1.0,g/dL\n"  # after induction
    "T,2024-09-01,serum_m_protein,0.4,g/dL\n"  # maintenance start (after transplant)
    "T,2024-11-01,serum_m_protein,0.38,g/dL\n"
    "T,2025-01-01,serum_m_protein,0.35,g/dL\n"
)
TPAT = "T,2024-09-01,lenalidomide,10,2024-01-02\n"


def test_default_baseline_is_diagnosis_and_a_transplant_patient_has_a_response():
    p = _run(TRANSPLANT, TPAT)["T"]
    assert p["baseline_date"] == "2024-01-02"
    assert p["baseline_basis"].startswith("diagnosis")
    assert p["measurable_by"] == "serum"
    # 1.0/4.0: -75% PR; 0.4: -90% VGPR (>= 90%); 0.38, 0.35: VGPR
    assert _resp(p) == [
        ("2024-05-01", "PR"),
        ("2024-09-01", "VGPR"),
        ("2024-11-01", "VGPR"),
        ("2025-01-01", "VGPR"),
    ]
    assert p["best_response"] == "VGPR"


def test_maintenance_baseline_is_an_explicit_option_and_says_so():
    p = _run(TRANSPLANT, TPAT, baseline="maintenance")["T"]
    assert p["baseline_date"] == "2024-09-01"
    assert p["baseline_basis"].startswith("maintenance start")
    assert p["measurable_by"] is None  # 0.4 g/dL < 1 g/dL: not measurable from there
    assert p["best_response"] is None


def test_no_diagnosis_date_uses_the_first_assessment_and_says_so():
    p = _run(TRANSPLANT, "T,2024-09-01,lenalidomide,10,\n")["T"]
    assert p["baseline_date"] == "2024-01-02"
    assert p["baseline_basis"] == "first assessment (no diagnosis date given)"


@pytest.mark.parametrize(
    "kappa,response",
    [
        (5.9, "VGPR"),  # dFLC 4.9 from 49: exactly 90% fall
        (6.0, "PR"),  # dFLC 5.0: 89.8%
        (25.5, "PR"),  # dFLC 24.5: exactly 50%
        (25.6, "SD"),  # 49.8%
    ],
)
def test_flc_only_vgpr_and_pr(kappa, response):
    labs = (
        "F,2024-01-01,serum_m_protein,0.2,g/dL\n"
        "F,2024-01-01,kappa_flc,50,mg/dL\n"  # ratio 50: kappa involved, 50 > 10 mg/dL
        "F,2024-01-01,lambda_flc,1.0,mg/dL\n"
        f"F,2024-03-01,kappa_flc,{kappa},mg/dL\nF,2024-03-01,lambda_flc,1.0,mg/dL\n"
        f"F,2024-04-01,kappa_flc,{kappa},mg/dL\nF,2024-04-01,lambda_flc,1.0,mg/dL\n"
    )
    p = _run(labs)["F"]
    assert p["measurable_by"] == "flc"
    assert _resp(p) == [("2024-03-01", response), ("2024-04-01", response)]
    assert p["best_response"] == response


def test_marrow_only_pr_needs_no_second_marrow():
    labs = (
        "B,2024-01-01,serum_m_protein,0.3,g/dL\n"
        "B,2024-01-01,bm_plasma_cells,40,%\n"
        "B,2024-04-01,bm_plasma_cells,20,%\n"  # 50% fall from a baseline >= 30%
        "B,2024-05-01,serum_m_protein,0.3,g/dL\n"  # no marrow: not evaluable for marrow disease
    )
    p = _run(labs)["B"]
    assert p["measurable_by"] == "marrow"
    assert p["assessments"][0] == {"date": "2024-04-01", "response": "PR", "confirmed": True}
    assert p["best_response"] == "PR"
    assert "imwg-marrow-no-confirmation" in [c["rule"] for c in p["citations"]]


def _marrow_course(values, serum="0.3") -> str:
    days = ["2024-01-01", "2024-03-01", "2024-05-01", "2024-07-01"]
    rows = [f"M,{d},bm_plasma_cells,{v},%\n" for d, v in zip(days, values, strict=True)]
    return f"M,2024-01-01,serum_m_protein,{serum},g/dL\n" + "".join(rows)


@pytest.mark.parametrize(
    "values,mode,progression",
    [
        ((40, 20, 30, 31), "2016", "2024-05-01"),  # +10 points from the nadir 20 (and +50%)
        ((40, 20, 29, 29.5), "2016", None),  # +9 points
        ((40, 4, 10, 10), "2016", None),  # +6 points: no PD in 2016 ...
        ((40, 4, 10, 10), "2011", "2024-05-01"),  # ... but 'absolute percentage >= 10%' in 2011
    ],
)
def test_marrow_progression_2016_absolute_increase(values, mode, progression):
    cfg = ImwgConfig(pd_marrow_mode=mode)
    p = _run(_marrow_course(values), imwg=cfg)["M"]
    assert p["progression_date"] == progression


def test_marrow_rule_not_applied_with_measurable_m_protein():
    labs = (
        "S,2024-01-01,serum_m_protein,2.0,g/dL\nS,2024-01-01,bm_plasma_cells,40,%\n"
        "S,2024-03-01,serum_m_protein,0.9,g/dL\nS,2024-03-01,bm_plasma_cells,5,%\n"
        "S,2024-05-01,serum_m_protein,0.9,g/dL\nS,2024-05-01,bm_plasma_cells,30,%\n"
        "S,2024-07-01,serum_m_protein,0.9,g/dL\nS,2024-07-01,bm_plasma_cells,35,%\n"
    )
    p = _run(labs)["S"]
    assert p["measurable_by"] == "serum"
    assert p["progression_date"] is None


def test_vgpr_needs_the_urine_measurable_at_baseline_to_be_retested():
    base = "U,2024-01-01,serum_m_protein,2.0,g/dL\nU,2024-01-01,urine_m_protein,500,mg/24h\n"
    no_urine = (
        base + "U,2024-04-01,serum_m_protein,0.1,g/dL\nU,2024-06-01,serum_m_protein,0.1,g/dL\n"
    )
    p = _run(no_urine)["U"]
    assert [a["response"] for a in p["assessments"]] == ["PR", "PR"]
    assert "urine (measurable at baseline) not re-tested" in p["assessments"][0]["note"]
    assert p["best_response"] == "PR"
    with_urine = (
        base
        + "U,2024-04-01,serum_m_protein,0.1,g/dL\nU,2024-04-01,urine_m_protein,80,mg/24h\n"
        + "U,2024-06-01,serum_m_protein,0.1,g/dL\nU,2024-06-01,urine_m_protein,90,mg/24h\n"
    )
    p = _run(with_urine)["U"]
    assert [a["response"] for a in p["assessments"]] == ["VGPR", "VGPR"]
    assert "note" not in p["assessments"][0]


def test_new_bone_lesion_is_carried_forward_and_confirms_progression():
    labs = (
        "L,2024-01-01,serum_m_protein,2.0,g/dL\n"
        "L,2024-03-01,serum_m_protein,0.9,g/dL\n"
        "L,2024-05-01,serum_m_protein,0.9,g/dL\nL,2024-05-01,new_bone_lesion,yes,\n"
        "L,2024-07-01,serum_m_protein,0.9,g/dL\n"  # not re-imaged: the lesion is still there
    )
    p = _run(labs)["L"]
    assert p["progression_date"] == "2024-05-01"
    assert p["assessments"][2]["pd_criteria"] == ["lesion"]
    assert any(a["rule"] == "imwg-clinical-relapse" for a in p["alerts"])


@pytest.mark.parametrize(
    "analyte,start,later,unit,alert",
    [
        ("calcium", 9.5, 11.5, "mg/dL", True),  # >= 11.5 mg/dL
        ("calcium", 9.5, 11.4, "mg/dL", False),
        ("calcium", 9.5, 12.0, "mg/dL", True),
        ("hemoglobin", 13.0, 11.0, "g/dL", True),  # fall of 2.0
        ("hemoglobin", 13.0, 11.1, "g/dL", False),  # fall of 1.9
        ("creatinine", 1.0, 3.0, "mg/dL", True),  # rise of 2.0
        ("creatinine", 1.0, 2.9, "mg/dL", False),
    ],
)
def test_clinical_relapse_crab_laboratory_criteria(analyte, start, later, unit, alert):
    labs = (
        f"C,2024-01-01,serum_m_protein,2.0,g/dL\nC,2024-03-01,{analyte},{start},{unit}\n"
        f"C,2024-06-01,{analyte},{later},{unit}\n"
    )
    p = _run(labs, "C,2024-03-01,lenalidomide,10,2024-01-01\n")["C"]
    crab = [a for a in p["alerts"] if a["rule"] == "imwg-clinical-relapse"]
    assert bool(crab) is alert
    if alert:
        assert crab[0]["date"] == "2024-06-01" and crab[0]["severity"] == "high"


@pytest.mark.parametrize("spd,response", [(2.0, "PR"), (2.1, "SD"), (0.0, "PR")])
def test_plasmacytoma_present_at_baseline_must_shrink_by_half_for_pr(spd, response):
    # Durie 2006: "if present at baseline, >= 50% reduction in the size of soft tissue
    # plasmacytomas is also required" (SPD 4.0 -> 2.0 cm2 is exactly 50%)
    labs = (
        "Q,2024-01-01,serum_m_protein,2.0,g/dL\nQ,2024-01-01,plasmacytoma_spd,4.0,cm2\n"
        f"Q,2024-03-01,serum_m_protein,0.8,g/dL\nQ,2024-03-01,plasmacytoma_spd,{spd},cm2\n"
        "Q,2024-04-01,serum_m_protein,0.8,g/dL\n"  # no new imaging: the last SPD stands
    )
    p = _run(labs)["Q"]
    assert [a["response"] for a in p["assessments"]] == [response, response]


@pytest.mark.parametrize("spd,progression", [(3.0, "2024-05-01"), (2.9, None)])
def test_plasmacytoma_growing_half_above_its_nadir_is_progression(spd, progression):
    labs = (
        "G,2024-01-01,serum_m_protein,2.0,g/dL\nG,2024-01-01,plasmacytoma_spd,4.0,cm2\n"
        "G,2024-03-01,serum_m_protein,2.0,g/dL\nG,2024-03-01,plasmacytoma_spd,2.0,cm2\n"
        f"G,2024-05-01,serum_m_protein,2.0,g/dL\nG,2024-05-01,plasmacytoma_spd,{spd},cm2\n"
        f"G,2024-07-01,serum_m_protein,2.0,g/dL\nG,2024-07-01,plasmacytoma_spd,{spd},cm2\n"
    )
    p = _run(labs)["G"]
    assert p["progression_date"] == progression
