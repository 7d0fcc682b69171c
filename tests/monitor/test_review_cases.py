"""Independent clinical review cases for ``plateau monitor assess``.

Every expectation below was written from the primary document (quoted in each test's
docstring), not from plateau's code or output. plateau is treated as a black box through its
CLI: a tiny registry is written to ``tmp_path``, ``plateau monitor assess ... --format json`` is
run in a subprocess and the JSON is checked.

Documents:
* Kumar S et al. International Myeloma Working Group consensus criteria for response and minimal
  residual disease assessment in multiple myeloma. Lancet Oncol 2016;17:e328-e346 (Table,
  "IMWG criteria for response assessment including criteria for MRD", rows PR, VGPR, MR, PD,
  clinical relapse, relapse from CR).
* Durie BGM et al. International uniform response criteria for multiple myeloma. Leukemia
  2006;20:1467-73 (Table 3 and its footnotes), as tabulated in Rajkumar SV et al. Blood
  2011;117:4691 (Table 1) and Kyle & Rajkumar, Leukemia 2009;23:3 (Table 5).
* NCI Common Terminology Criteria for Adverse Events v5.0 (2017): Investigations (creatinine
  increased, neutrophil count decreased, platelet count decreased), Blood and lymphatic system
  disorders (anemia), Metabolism (hypercalcemia), Vascular (thromboembolic event).
* REVLIMID (lenalidomide) US prescribing information, section 2 (maintenance therapy following
  auto-HSCT; dose adjustments for haematologic toxicities during MM maintenance therapy; renal
  impairment table, maintenance column) and boxed warning (venous and arterial thromboembolism).
* NINLARO (ixazomib) US prescribing information, section 2 (Table: dose modification guidelines;
  dose reduction steps 4 -> 3 -> 2.3 mg; renal impairment: 3 mg for CLcr < 30 mL/min or ESRD).
* VELCADE (bortezomib) US prescribing information, section 2 (Table: recommended dose modification
  for bortezomib-related neuropathic pain and/or peripheral sensory or motor neuropathy).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PLATEAU = str(Path(sys.executable).parent / "plateau")

LAB_HEADER = "patient_id,date,analyte,value,unit,lln,uln"
PAT_HEADER = "patient_id,maintenance_start,agent,dose_mg,diagnosis_date,stop_date,age,sex,weight_kg"
EVT_HEADER = "patient_id,date,term,grade,with_pain"

DIAG = "2024-06-01"
BASE = "2024-05-20"  # last assessment on or before the diagnosis date
START = "2025-01-01"
UNIT = {
    "serum_m_protein": "g/dL",
    "urine_m_protein": "mg/24h",
    "kappa_flc": "mg/dL",
    "lambda_flc": "mg/dL",
    "bm_plasma_cells": "%",
    "anc": "10*9/L",
    "platelets": "10*9/L",
    "wbc": "10*9/L",
    "hemoglobin": "g/dL",
    "creatinine": "mg/dL",
    "calcium": "mg/dL",
    "serum_ife": "",
    "urine_ife": "",
    "new_bone_lesion": "",
}


def lab(pid: str, date: str, analyte: str, value: object, lln: str = "", uln: str = "") -> str:
    return f"{pid},{date},{analyte},{value},{UNIT[analyte]},{lln},{uln}"


def pat(
    pid: str,
    agent: str = "lenalidomide",
    dose: object = 10,
    age: int = 60,
    sex: str = "M",
    weight: object = 72,
    diag: str = DIAG,
) -> str:
    return f"{pid},{START},{agent},{dose},{diag},,{age},{sex},{weight}"


def run(
    tmp: Path,
    labs: list[str],
    patients: list[str] | None = None,
    events: list[str] | None = None,
    baseline: str | None = None,
) -> subprocess.CompletedProcess[str]:
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "labs.csv").write_text("\n".join([LAB_HEADER, *labs]) + "\n", encoding="utf-8")
    args = [PLATEAU, "monitor", "assess", "--labs", str(tmp / "labs.csv"), "--format", "json"]
    if patients is not None:
        (tmp / "patients.csv").write_text(
            "\n".join([PAT_HEADER, *patients]) + "\n", encoding="utf-8"
        )
        args += ["--patients", str(tmp / "patients.csv")]
    if events is not None:
        (tmp / "events.csv").write_text("\n".join([EVT_HEADER, *events]) + "\n", encoding="utf-8")
        args += ["--events", str(tmp / "events.csv")]
    if baseline:
        args += ["--baseline", baseline]
    return subprocess.run(args, capture_output=True, text=True, timeout=300)


def assess(
    tmp: Path, labs: list[str], patients: list[str] | None = None, **kw: object
) -> dict[str, dict]:
    proc = run(tmp, labs, patients, **kw)  # type: ignore[arg-type]
    assert proc.returncode == 0, proc.stderr
    return {p["patient_id"]: p for p in json.loads(proc.stdout)}


def response_on(p: dict, date: str) -> dict:
    hits = [a for a in p["assessments"] if a["date"] == date]
    assert hits, f"no assessment on {date}: {p['assessments']}"
    return hits[0]


def grade(p: dict, term: str, date: str) -> int:
    hits = [c["grade"] for c in p["ctcae"] if c["term"] == term and c["date"] == date]
    return max(hits) if hits else 0


def actions(p: dict) -> list[dict]:
    return list(p["dose_actions"])


def is_hold(a: dict) -> bool:
    return any(w in a["action"].lower() for w in ("hold", "interrupt", "withhold"))


def is_escalation(a: dict) -> bool:
    return "escalat" in a["action"].lower() or "increase" in a["action"].lower()


# --------------------------------------------------------------------------------------------
# Shared registries (one CLI run per topic keeps the 2-core machine free)
# --------------------------------------------------------------------------------------------

_CACHE: dict[str, dict[str, dict]] = {}


def _serum_course(pid: str, values: list[tuple[str, float]], urine: float | None = 50) -> list[str]:
    rows = []
    for date, v in values:
        rows.append(lab(pid, date, "serum_m_protein", v))
        if urine is not None:
            rows.append(lab(pid, date, "urine_m_protein", urine))
    return rows


F = ["2025-02-01", "2025-03-01", "2025-04-01", "2025-05-01", "2025-06-01", "2025-07-01"]


@pytest.fixture(scope="module")
def imwg(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    if "imwg" in _CACHE:
        return _CACHE["imwg"]
    labs: list[str] = []
    pats: list[str] = []

    def add(pid: str, rows: list[str]) -> None:
        labs.extend(rows)
        pats.append(pat(pid))

    # PR at exactly 50 %, MR at 49 %
    add("PR50", _serum_course("PR50", [(BASE, 3.0), (F[1], 1.5), (F[2], 1.5)]))
    add("MR49", _serum_course("MR49", [(BASE, 3.0), (F[1], 1.53), (F[2], 1.53)]))
    # VGPR at exactly 90 %, PR at 89 %
    add("VG90", _serum_course("VG90", [(BASE, 3.0), (F[1], 0.3), (F[2], 0.3)]))
    add("VG89", _serum_course("VG89", [(BASE, 3.0), (F[1], 0.33), (F[2], 0.33)]))
    # VGPR-level serum fall but no urine study at the follow-up assessments
    add(
        "VGNOURINE",
        [
            lab("VGNOURINE", BASE, "serum_m_protein", 3.0),
            lab("VGNOURINE", BASE, "urine_m_protein", 50),
        ]
        + [lab("VGNOURINE", d, "serum_m_protein", 0.2) for d in (F[1], F[2])],
    )
    # urine measurability at 200 vs 199 mg/24h (serum not measurable)
    add(
        "U200",
        _serum_course("U200", [(BASE, 0.5)], urine=200)
        + _serum_course("U200", [(F[1], 0.5), (F[2], 0.5)], urine=90),
    )
    add(
        "U199",
        _serum_course("U199", [(BASE, 0.5)], urine=199)
        + _serum_course("U199", [(F[1], 0.5), (F[2], 0.5)], urine=90),
    )
    # serum PD: nadir 1.0 -> +0.5 (50 %) confirmed;  -> +0.49 not
    add(
        "PD050",
        _serum_course("PD050", [(BASE, 3.0), (F[0], 1.0), (F[1], 1.0), (F[2], 1.5), (F[3], 1.5)]),
    )
    add(
        "PD049",
        _serum_course("PD049", [(BASE, 3.0), (F[0], 1.0), (F[1], 1.0), (F[2], 1.49), (F[3], 1.49)]),
    )
    # absolute >= 0.5 but relative < 25 %: nadir 2.4 -> 2.95 (+0.55, +22.9 %)
    add(
        "PDREL",
        _serum_course("PDREL", [(BASE, 5.0), (F[0], 2.4), (F[1], 2.4), (F[2], 2.95), (F[3], 2.95)]),
    )
    # unconfirmed PD: one rise, then back down
    add(
        "PDONCE",
        _serum_course("PDONCE", [(BASE, 3.0), (F[0], 1.0), (F[1], 1.0), (F[2], 1.6), (F[3], 1.0)]),
    )
    # high nadir: nadir 5.0 (baseline 10) -> 6.0 (+1.0, +20 %) PD; -> 5.9 not
    add(
        "HN10",
        _serum_course("HN10", [(BASE, 10.0), (F[0], 5.0), (F[1], 5.0), (F[2], 6.0), (F[3], 6.0)]),
    )
    add(
        "HN09",
        _serum_course("HN09", [(BASE, 10.0), (F[0], 5.0), (F[1], 5.0), (F[2], 5.9), (F[3], 5.9)]),
    )

    # FLC-only disease (serum 0.3 g/dL, urine 50 mg/24h at baseline), kappa involved, lambda 1.0
    def flc(pid: str, kappas: list[tuple[str, float]]) -> list[str]:
        rows = [lab(pid, BASE, "serum_m_protein", 0.3), lab(pid, BASE, "urine_m_protein", 50)]
        for d, k in kappas:
            rows += [lab(pid, d, "kappa_flc", k), lab(pid, d, "lambda_flc", 1.0)]
        return rows

    # dFLC 79 -> 20 (nadir) -> 30 (+10, not > 10) ; -> 30.5 (+10.5) PD
    add("FLC10", flc("FLC10", [(BASE, 80), (F[0], 21), (F[1], 21), (F[2], 31), (F[3], 31)]))
    add("FLC105", flc("FLC105", [(BASE, 80), (F[0], 21), (F[1], 21), (F[2], 31.5), (F[3], 31.5)]))
    # measurable by serum; FLC rises > 25 % and > 10 mg/dL while serum is stable: no PD
    add(
        "SERFLC",
        _serum_course("SERFLC", [(BASE, 2.0), (F[0], 0.8), (F[1], 0.8), (F[2], 0.8), (F[3], 0.8)])
        + [
            lab("SERFLC", d, "kappa_flc", k)
            for d, k in [(BASE, 5), (F[1], 5), (F[2], 30), (F[3], 30)]
        ]
        + [lab("SERFLC", d, "lambda_flc", 1.0) for d in (BASE, F[1], F[2], F[3])],
    )

    # marrow-only disease: serum 0.2, urine 20, kappa 1.2/lambda 1.0 (FLC not measurable)
    def marrow(pid: str, bm: list[tuple[str, float]]) -> list[str]:
        rows = [
            lab(pid, BASE, "serum_m_protein", 0.2),
            lab(pid, BASE, "urine_m_protein", 20),
            lab(pid, BASE, "kappa_flc", 1.2),
            lab(pid, BASE, "lambda_flc", 1.0),
        ]
        return rows + [lab(pid, d, "bm_plasma_cells", v) for d, v in bm]

    add("BMPD", marrow("BMPD", [(BASE, 40), (F[1], 15), (F[3], 25)]))
    add("BMLOW", marrow("BMLOW", [(BASE, 40), (F[1], 5), (F[3], 9.9)]))
    # relapse from CR is not progression: CR (IFE negative, marrow < 5 %), then IFE positive at 0.2
    # g/dL
    cr = "CRREL"
    add(
        cr,
        _serum_course(cr, [(BASE, 2.0)], urine=50)
        + [lab(cr, BASE, "serum_ife", "positive"), lab(cr, BASE, "urine_ife", "positive")]
        + [
            row
            for d in (F[0], F[1])
            for row in (
                lab(cr, d, "serum_m_protein", 0),
                lab(cr, d, "urine_m_protein", 0),
                lab(cr, d, "serum_ife", "negative"),
                lab(cr, d, "urine_ife", "negative"),
                lab(cr, d, "bm_plasma_cells", 2),
            )
        ]
        + [
            row
            for d in (F[3], F[4])
            for row in (
                lab(cr, d, "serum_m_protein", 0.2),
                lab(cr, d, "urine_m_protein", 0),
                lab(cr, d, "serum_ife", "positive"),
                lab(cr, d, "urine_ife", "negative"),
            )
        ],
    )
    # new bone lesion (serum stable)
    add(
        "LESION",
        _serum_course("LESION", [(BASE, 2.0), (F[0], 0.9), (F[1], 0.9), (F[2], 0.9), (F[3], 0.9)])
        + [
            lab("LESION", F[2], "new_bone_lesion", "yes"),
            lab("LESION", F[3], "new_bone_lesion", "yes"),
        ],
    )
    # baseline: 3.0 at diagnosis, 0.2 at maintenance start and afterwards
    add(
        "BASEDX",
        _serum_course("BASEDX", [(BASE, 3.0), ("2024-12-20", 0.2), (F[1], 0.2), (F[2], 0.2)]),
    )
    _CACHE["imwg"] = assess(tmp_path_factory.mktemp("imwg"), labs, pats)
    return _CACHE["imwg"]


# --------------------------------------------------------------------------------------------
# IMWG response
# --------------------------------------------------------------------------------------------


def test_pr_at_exactly_50_percent(imwg: dict[str, dict]) -> None:
    """Kumar 2016 (Lancet Oncol) response table, PR: ">=50% reduction of serum M-protein plus
    reduction in 24 h urinary M-protein by >=90% or to <200 mg per 24 h" (Durie 2006 Table 3 and
    Rajkumar 2011 Table 1 identical). 3.0 -> 1.5 g/dL is exactly 50 %; urine 50 mg/24h is < 200.
    Two consecutive assessments (Durie 2006 footnote a) -> confirmed PR."""
    p = imwg["PR50"]
    assert response_on(p, F[1])["response"] == "PR"
    assert p["best_response"] == "PR"


def test_49_percent_is_mr_not_pr(imwg: dict[str, dict]) -> None:
    """Kumar 2016 response table, MR: ">=25% but <=49% reduction of serum M-protein"; PR needs
    >=50 %. 3.0 -> 1.53 g/dL is a 49 % fall: MR, not PR (urine not measurable at baseline)."""
    p = imwg["MR49"]
    assert response_on(p, F[1])["response"] == "MR"
    assert p["best_response"] == "MR"


def test_vgpr_at_exactly_90_percent(imwg: dict[str, dict]) -> None:
    """Kumar 2016 / Durie 2006 VGPR: ">=90% reduction in serum M-protein plus urine M-protein
    level <100 mg per 24 h". 3.0 -> 0.3 g/dL is exactly 90 %, urine 50 mg/24h -> VGPR."""
    p = imwg["VG90"]
    assert response_on(p, F[1])["response"] == "VGPR"
    assert p["best_response"] == "VGPR"


def test_89_percent_is_pr_not_vgpr(imwg: dict[str, dict]) -> None:
    """Kumar 2016 / Durie 2006 VGPR needs >=90 % serum reduction: 3.0 -> 0.33 (89 %) is PR."""
    p = imwg["VG89"]
    assert response_on(p, F[1])["response"] == "PR"
    assert p["best_response"] == "PR"


def test_vgpr_requires_urine_study_even_if_urine_not_measurable_at_baseline(
    imwg: dict[str, dict],
) -> None:
    """Durie 2006 Table 5 (nature.com/articles/2404284), VGPR row: "Serum and urine M-component
    detectable by immunofixation but not on electrophoresis or >=90% or greater reduction in serum
    M-component plus urine M-component <100 mg per 24 h" (Rajkumar 2011 Table 1, Kumar 2016
    identical): the urine condition is part of VGPR itself. Footnote a of the same table (as I read
    the published table; the stored copy is truncated after its first sentence): "VGPR and CR
    categories also require serum and urine studies regardless of whether disease at baseline was
    measurable on serum, urine both or either". A 93 % serum fall with no urine study at the
    follow-up assessments therefore cannot be VGPR: "urine <100 mg per 24 h" is unverified."""
    p = imwg["VGNOURINE"]
    assert p["best_response"] != "VGPR"
    assert response_on(p, F[1])["response"] not in ("VGPR", "CR", "sCR")


def test_urine_200_mg_is_measurable_199_is_not(imwg: dict[str, dict]) -> None:
    """Kumar 2016, measurable disease: "urine M-protein >=200 mg/24 h" (Durie 2006 and
    Rajkumar 2011 identical). Serum 0.5 g/dL (< 1 g/dL) is not measurable in either patient."""
    assert "urine" in str(imwg["U200"]["measurable_by"])
    assert "urine" not in str(imwg["U199"]["measurable_by"])


def test_serum_pd_at_exactly_half_gram_increase(imwg: dict[str, dict]) -> None:
    """Kumar 2016 PD: "Increase of 25% from lowest confirmed response value in ... Serum M-protein
    (absolute increase must be >=0.5 g/dL)"; Durie 2006 / Rajkumar 2011 Table 1 "(absolute increase
    must be >= 0.5 g/dL)". Nadir 1.0 -> 1.5 (+0.5, +50 %) on two consecutive assessments (Durie
    2006: "All relapse categories require two consecutive assessments") -> confirmed PD."""
    p = imwg["PD050"]
    assert response_on(p, F[2])["response"] == "PD"
    assert p["progression_date"] is not None


def test_serum_increase_of_049_is_not_pd(imwg: dict[str, dict]) -> None:
    """Kumar 2016 PD serum criterion (absolute increase must be >=0.5 g/dL): nadir 1.0 -> 1.49 is
    +0.49 g/dL (+49 %) -> not PD."""
    p = imwg["PD049"]
    assert all(a["response"] != "PD" for a in p["assessments"])
    assert p["progression_date"] is None


def test_serum_pd_needs_25_percent_as_well_as_half_gram(imwg: dict[str, dict]) -> None:
    """Kumar 2016 PD: "Increase of 25% from lowest confirmed response value" AND "(absolute increase
    must be >=0.5 g/dL)". Nadir 2.4 -> 2.95 is +0.55 g/dL but only +22.9 % -> not PD (nadir 2.4 < 5,
    so the >=1 g/dL high-nadir criterion does not apply)."""
    p = imwg["PDREL"]
    assert all(a["response"] != "PD" for a in p["assessments"])
    assert p["progression_date"] is None


def test_single_pd_value_is_not_confirmed_progression(imwg: dict[str, dict]) -> None:
    """Durie 2006 Table 3 footnote: "All relapse categories require two consecutive assessments
    made at any time before classification as relapse or disease progression". Nadir 1.0, one
    value 1.6, then back to 1.0: no confirmed progression."""
    p = imwg["PDONCE"]
    assert p["progression_date"] is None
    assert not any(a["response"] == "PD" and a["confirmed"] for a in p["assessments"])


def test_high_nadir_increase_of_one_gram_is_pd(imwg: dict[str, dict]) -> None:
    """Kumar 2016 PD: "Serum M-protein increase >=1 g/dL, if the lowest M component was >=5 g/dL"
    (Durie 2006 footnote: increases of >=1 g/dL "are sufficient to define relapse if starting
    M-component is >=5 g/dL"; here both baseline 10 and nadir 5.0 are >= 5, so both versions
    agree). Nadir 5.0 -> 6.0 (+1.0 g/dL, only +20 %) twice -> PD."""
    p = imwg["HN10"]
    assert response_on(p, F[2])["response"] == "PD"
    assert p["progression_date"] is not None


def test_high_nadir_increase_below_one_gram_is_not_pd(imwg: dict[str, dict]) -> None:
    """Kumar 2016 PD high-nadir criterion (>=1 g/dL when the lowest M component was >=5 g/dL):
    nadir 5.0 -> 5.9 (+0.9 g/dL, +18 %) is not PD by either serum criterion."""
    p = imwg["HN09"]
    assert all(a["response"] != "PD" for a in p["assessments"])
    assert p["progression_date"] is None


def test_flc_pd_needs_more_than_10_mg_dl(imwg: dict[str, dict]) -> None:
    """Kumar 2016 PD: "In patients without measurable serum and urine M-protein levels, the
    difference between involved and uninvolved FLC levels (absolute increase must be >10 mg/dL)"
    (Rajkumar 2011 Table 1 identical). dFLC nadir 20 -> 30 mg/dL is exactly +10 (+50 %): not PD;
    20 -> 30.5 (+10.5) on two assessments: PD."""
    assert imwg["FLC10"]["progression_date"] is None
    assert all(a["response"] != "PD" for a in imwg["FLC10"]["assessments"])
    p = imwg["FLC105"]
    assert response_on(p, F[2])["response"] == "PD"
    assert p["progression_date"] is not None


def test_flc_rise_is_not_pd_when_serum_is_measurable(imwg: dict[str, dict]) -> None:
    """Kumar 2016 PD FLC criterion applies only "In patients without measurable serum and urine
    M-protein levels" (Durie 2006: "Only in patients without measurable serum and urine M-protein
    levels"). Serum 2.0 g/dL at baseline (measurable), stable at 0.8; dFLC 4 -> 29 mg/dL: no PD."""
    p = imwg["SERFLC"]
    assert p["progression_date"] is None
    assert all(a["response"] != "PD" for a in p["assessments"])


def test_marrow_only_pr_and_pd(imwg: dict[str, dict]) -> None:
    """Kumar 2016 PR: "If serum and urine M-protein are unmeasurable, and serum-free light assay is
    also unmeasurable, >=50% reduction in plasma cells is required in place of M-protein, provided
    baseline bone marrow plasma-cell percentage was >=30%" -> 40 % -> 15 % is PR (Durie 2006:
    "Bone marrow assessments need not be confirmed"). PD: "In patients without measurable serum
    and urine M-protein levels and without measurable involved FLC levels, bone marrow
    plasma-cell percentage irrespective of baseline status (absolute increase must be >=10%)"
    with the 25 % increase from nadir: 15 -> 25 % (+10 points, +67 %) is PD under both the 2016
    (+10 points) and 2006 (absolute % >= 10) readings."""
    p = imwg["BMPD"]
    assert "marrow" in str(p["measurable_by"])
    assert response_on(p, F[1])["response"] == "PR"
    assert response_on(p, F[3])["response"] == "PD"


def test_marrow_only_small_rise_is_not_pd(imwg: dict[str, dict]) -> None:
    """Kumar 2016 PD marrow criterion (absolute increase must be >=10%); Durie 2006 ("absolute %
    must be >=10%"). 5 % -> 9.9 % is +4.9 points and below 10 % absolute: not PD in either
    reading."""
    p = imwg["BMLOW"]
    assert response_on(p, F[3])["response"] != "PD"
    assert p["progression_date"] is None


def test_relapse_from_cr_is_not_progression(imwg: dict[str, dict]) -> None:
    """Kumar 2016 response table, relapse from CR ("Reappearance of serum or urine M-protein by
    immunofixation or electrophoresis") with the note that relapse from CR is "to be used only if
    the end point is disease-free survival"; the Farydak/IMWG note: "patients with CR must also
    meet the criteria for progressive disease ... to be classified as progressive disease for the
    purposes of calculating time to progression and PFS". CR, then IFE positive at 0.2 g/dL
    (+0.2 g/dL from nadir 0): no progression date."""
    p = imwg["CRREL"]
    assert response_on(p, F[1])["response"] in ("CR", "sCR")
    assert p["progression_date"] is None


def test_new_bone_lesion_is_pd(imwg: dict[str, dict]) -> None:
    """Kumar 2016 PD: "Appearance of a new lesion(s)" (Durie 2006: "Definite development of new
    bone lesions or soft tissue plasmacytomas"). Serum stable; a new lesion on two assessments."""
    p = imwg["LESION"]
    assert response_on(p, F[2])["response"] == "PD"
    assert p["progression_date"] is not None


def test_default_baseline_is_pre_treatment(imwg: dict[str, dict]) -> None:
    """Durie 2006 / Kumar 2016 response criteria are reductions from the pre-treatment value;
    Rajkumar 2011 defines a line of therapy as including induction, transplant and maintenance
    (planned treatment approach). Baseline 3.0 g/dL at diagnosis, 0.2 at maintenance start: the
    93 % fall (urine 50 mg/24h) is VGPR against the diagnosis baseline."""
    p = imwg["BASEDX"]
    assert p["baseline_date"] == BASE
    assert response_on(p, F[1])["response"] == "VGPR"


# --------------------------------------------------------------------------------------------
# IMWG clinical relapse (CRAB) alerts
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def crab(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    labs: list[str] = []
    pats: list[str] = []
    for pid, analyte, before, after in [
        ("CA116", "calcium", 9.5, 11.6),
        ("CA110", "calcium", 9.5, 11.0),
        ("HB20", "hemoglobin", 13.0, 11.0),
        ("HB19", "hemoglobin", 13.0, 11.1),
        ("CR20", "creatinine", 1.0, 3.0),
        ("CR19", "creatinine", 1.0, 2.9),
    ]:
        uln = "10.2" if analyte == "calcium" else ("1.2" if analyte == "creatinine" else "")
        lln = "12.0" if analyte == "hemoglobin" else ""
        labs += _serum_course(pid, [(BASE, 2.0), ("2024-12-20", 0.8), (F[1], 0.8), (F[2], 0.8)])
        labs += [
            lab(pid, BASE, analyte, before, lln, uln),
            lab(pid, "2024-12-20", analyte, before, lln, uln),
            lab(pid, F[1], analyte, after, lln, uln),
            lab(pid, F[2], analyte, after, lln, uln),
        ]
        pats.append(pat(pid))
    return assess(tmp_path_factory.mktemp("crab"), labs, pats)


def _relapse_alerts(p: dict) -> list[dict]:
    return [a for a in p["alerts"] if "clinical" in a["rule"] or "crab" in a["rule"].lower()]


def test_crab_calcium_alert(crab: dict[str, dict]) -> None:
    """Kumar 2016 clinical relapse: "Hypercalcaemia (>11 mg/dL)"; Durie 2006 / Rajkumar 2011:
    "Hypercalcemia (>11.5 mg/dL)". 11.6 mg/dL meets both versions -> a clinical relapse alert;
    11.0 meets neither -> none. (11.1-11.5 differs between versions and is not asserted.)"""
    assert _relapse_alerts(crab["CA116"]), crab["CA116"]["alerts"]
    assert not _relapse_alerts(crab["CA110"])


def test_crab_hemoglobin_alert(crab: dict[str, dict]) -> None:
    """Kumar 2016 clinical relapse: "Decrease in haemoglobin of >=2 g/dL not related to therapy or
    other non-myeloma-related conditions" (attribution left to the clinician). 13.0 -> 11.0 (-2.0)
    alerts; 13.0 -> 11.1 (-1.9) does not. Hb was 13.0 at diagnosis and at maintenance start, so
    the reference point does not matter."""
    assert _relapse_alerts(crab["HB20"]), crab["HB20"]["alerts"]
    assert not _relapse_alerts(crab["HB19"])


def test_crab_creatinine_alert(crab: dict[str, dict]) -> None:
    """Kumar 2016 clinical relapse: "Rise in serum creatinine by 2 mg/dL or more from the start of
    the therapy and attributable to myeloma". 1.0 -> 3.0 (+2.0) alerts; 1.0 -> 2.9 (+1.9) does not.
    Creatinine was 1.0 at diagnosis and at maintenance start."""
    assert _relapse_alerts(crab["CR20"]), crab["CR20"]["alerts"]
    assert not _relapse_alerts(crab["CR19"])


# --------------------------------------------------------------------------------------------
# CTCAE v5.0 lab grades (one result per patient, so no baseline multiple applies)
# --------------------------------------------------------------------------------------------

CTCAE_CASES = [
    # creatinine increased, ULN 1.2: G1 >ULN-1.5xULN; G2 >1.5-3.0xULN; G3 >3.0-6.0xULN; G4 >6.0xULN
    ("creatinine", 1.2, "", "1.2", "creatinine_increased", 0),
    ("creatinine", 1.21, "", "1.2", "creatinine_increased", 1),
    ("creatinine", 1.8, "", "1.2", "creatinine_increased", 1),
    ("creatinine", 1.81, "", "1.2", "creatinine_increased", 2),
    ("creatinine", 3.6, "", "1.2", "creatinine_increased", 2),
    ("creatinine", 3.61, "", "1.2", "creatinine_increased", 3),
    ("creatinine", 7.2, "", "1.2", "creatinine_increased", 3),
    ("creatinine", 7.21, "", "1.2", "creatinine_increased", 4),
    # neutrophil count decreased, LLN 2.0: G1 <LLN-1.5; G2 <1.5-1.0; G3 <1.0-0.5; G4 <0.5 x10^9/L
    ("anc", 2.0, "2.0", "", "neutrophil_count_decreased", 0),
    ("anc", 1.5, "2.0", "", "neutrophil_count_decreased", 1),
    ("anc", 1.49, "2.0", "", "neutrophil_count_decreased", 2),
    ("anc", 1.0, "2.0", "", "neutrophil_count_decreased", 2),
    ("anc", 0.99, "2.0", "", "neutrophil_count_decreased", 3),
    ("anc", 0.5, "2.0", "", "neutrophil_count_decreased", 3),
    ("anc", 0.49, "2.0", "", "neutrophil_count_decreased", 4),
    # platelet count decreased, LLN 150: G1 <LLN-75; G2 <75-50; G3 <50-25; G4 <25 x10^9/L
    ("platelets", 75, "150", "", "platelet_count_decreased", 1),
    ("platelets", 74.9, "150", "", "platelet_count_decreased", 2),
    ("platelets", 50, "150", "", "platelet_count_decreased", 2),
    ("platelets", 49.9, "150", "", "platelet_count_decreased", 3),
    ("platelets", 25, "150", "", "platelet_count_decreased", 3),
    ("platelets", 24.9, "150", "", "platelet_count_decreased", 4),
    # anemia, LLN 12.0: G1 <LLN-10.0; G2 <10.0-8.0; G3 <8.0 g/dL; G4 is clinical (not from Hb alone)
    ("hemoglobin", 10.0, "12.0", "", "anemia", 1),
    ("hemoglobin", 9.9, "12.0", "", "anemia", 2),
    ("hemoglobin", 8.0, "12.0", "", "anemia", 2),
    ("hemoglobin", 7.9, "12.0", "", "anemia", 3),
    ("hemoglobin", 5.0, "12.0", "", "anemia", 3),
    # hypercalcemia (corrected Ca), ULN 10.2: G1 >ULN-11.5; G2 >11.5-12.5; G3 >12.5-13.5; G4 >13.5
    ("calcium", 10.2, "", "10.2", "hypercalcemia", 0),
    ("calcium", 11.5, "", "10.2", "hypercalcemia", 1),
    ("calcium", 11.6, "", "10.2", "hypercalcemia", 2),
    ("calcium", 12.5, "", "10.2", "hypercalcemia", 2),
    ("calcium", 12.6, "", "10.2", "hypercalcemia", 3),
    ("calcium", 13.5, "", "10.2", "hypercalcemia", 3),
    ("calcium", 13.6, "", "10.2", "hypercalcemia", 4),
]


@pytest.fixture(scope="module")
def ctcae_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    labs: list[str] = []
    pats: list[str] = []
    for i, (analyte, value, lln, uln, _term, _g) in enumerate(CTCAE_CASES):
        pid = f"C{i:02d}"
        labs.append(lab(pid, BASE, "serum_m_protein", 2.0))
        labs.append(lab(pid, F[1], analyte, value, lln, uln))
        pats.append(pat(pid))
    return assess(tmp_path_factory.mktemp("ctcae"), labs, pats)


@pytest.mark.parametrize(
    ("i", "case"), list(enumerate(CTCAE_CASES)), ids=[f"{c[0]}={c[1]}" for c in CTCAE_CASES]
)
def test_ctcae_lab_grade_boundaries(ctcae_run: dict[str, dict], i: int, case: tuple) -> None:
    """CTCAE v5.0: Creatinine increased (Investigations) G1 ">ULN - 1.5 x ULN", G2 ">1.5 - 3.0 x
    ULN", G3 ">3.0 - 6.0 x ULN", G4 ">6.0 x ULN"; Neutrophil count decreased G1 "<LLN - 1500/mm3",
    G2 "<1500 - 1000/mm3", G3 "<1000 - 500/mm3", G4 "<500/mm3"; Platelet count decreased G1 "<LLN
    - 75,000/mm3", G2 "<75,000 - 50,000/mm3", G3 "<50,000 - 25,000/mm3", G4 "<25,000/mm3"; Anemia
    (Blood and lymphatic system disorders) G1 "Hgb <LLN - 10.0 g/dL", G2 "<10.0 - 8.0 g/dL", G3
    "<8.0
    g/dL; transfusion indicated", G4 "Life-threatening consequences" (not derivable from Hb);
    Hypercalcemia (Metabolism and nutrition) G1 "Corrected serum calcium of >ULN - 11.5 mg/dL", G2
    ">11.5 - 12.5 mg/dL", G3 ">12.5 - 13.5 mg/dL", G4 ">13.5 mg/dL". Each value sits on, or just
    past,
    a boundary."""
    analyte, value, _lln, _uln, term, expected = case
    p = ctcae_run[f"C{i:02d}"]
    assert grade(p, term, F[1]) == expected, p["ctcae"]


@pytest.fixture(scope="module")
def ctcae_baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    labs = []
    pats = []
    for pid, later in [("CB16", 1.6), ("CB31", 3.1)]:
        labs += [
            lab(pid, BASE, "serum_m_protein", 2.0),
            lab(pid, BASE, "creatinine", 1.0, "", "1.2"),
            lab(pid, F[1], "creatinine", later, "", "1.2"),
        ]
        pats.append(pat(pid))
    return assess(tmp_path_factory.mktemp("ctcaeb"), labs, pats)


def test_ctcae_creatinine_baseline_multiples(ctcae_baseline: dict[str, dict]) -> None:
    """CTCAE v5.0 Creatinine increased: G2 ">1.5 - 3.0 x baseline; >1.5 - 3.0 x ULN", G3 ">3.0 x
    baseline; >3.0 - 6.0 x ULN". Baseline 1.0 (ULN 1.2): 1.6 is 1.33 x ULN (G1 by ULN) but 1.6 x
    baseline -> G2; 3.1 is 2.6 x ULN (G2 by ULN) but 3.1 x baseline -> G3."""
    assert grade(ctcae_baseline["CB16"], "creatinine_increased", F[1]) == 2
    assert grade(ctcae_baseline["CB31"], "creatinine_increased", F[1]) == 3


# --------------------------------------------------------------------------------------------
# Lenalidomide (REVLIMID US label)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def len_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    labs: list[str] = []
    pats: list[str] = []
    events: list[str] = []

    def disease(pid: str) -> list[str]:
        return _serum_course(pid, [(BASE, 2.0), (F[1], 0.8), (F[3], 0.8), (F[5], 0.8)])

    def counts(pid: str, dates: list[str], anc: float = 3.0, plt: float = 200) -> list[str]:
        return [r for d in dates for r in (lab(pid, d, "anc", anc), lab(pid, d, "platelets", plt))]

    # renal bands at maintenance start (Cockcroft-Gault, male, 72 kg, age 80: CLcr = 60 / Cr)
    for pid, cr in [("R60", 1.0), ("R59", 1.01), ("R30", 2.0), ("R29", 2.01)]:
        labs += disease(pid) + [lab(pid, "2024-12-20", "creatinine", cr, "", "1.2")]
        labs += counts(pid, ["2024-12-20", *F])
        pats.append(pat(pid, age=80))
    # renal worsening during maintenance (age 60, 72 kg: CLcr 80 -> 50)
    labs += disease("RWORSE") + counts("RWORSE", ["2024-12-20", *F])
    labs += [lab("RWORSE", "2024-12-20", "creatinine", 1.0, "", "1.2")]
    labs += [lab("RWORSE", d, "creatinine", 1.6, "", "1.2") for d in F[1:]]
    pats.append(pat("RWORSE"))
    # escalation control: normal kidneys and counts, 10 mg, no toxicity
    labs += disease("ESC") + counts("ESC", ["2024-12-20", *F])
    labs += [lab("ESC", d, "creatinine", 1.0, "", "1.2") for d in ["2024-12-20", *F]]
    pats.append(pat("ESC"))
    # platelets 29 -> hold; back to 100 -> resume at next lower dose (10 -> 5)
    labs += disease("PLT29") + counts("PLT29", ["2024-12-20", F[0], F[2]])
    labs += [
        lab("PLT29", "2025-02-15", "platelets", 29),
        lab("PLT29", "2025-02-22", "platelets", 100),
    ]
    pats.append(pat("PLT29"))
    # platelets exactly 30: no interruption
    labs += disease("PLT30") + counts("PLT30", ["2024-12-20", F[0], F[2]])
    labs += [lab("PLT30", "2025-02-15", "platelets", 30)]
    pats.append(pat("PLT30"))
    # ANC 0.49 -> hold; 1.5 -> resume at next lower dose
    labs += disease("ANC049") + counts("ANC049", ["2024-12-20", F[0], F[2]])
    labs += [lab("ANC049", "2025-02-15", "anc", 0.49), lab("ANC049", "2025-02-22", "anc", 1.5)]
    pats.append(pat("ANC049"))
    # ANC exactly 0.5: no interruption
    labs += disease("ANC050") + counts("ANC050", ["2024-12-20", F[0], F[2]])
    labs += [lab("ANC050", "2025-02-15", "anc", 0.5)]
    pats.append(pat("ANC050"))
    # confirmed PD, then a platelet hold and recovery: nothing resumed after progression
    labs += _serum_course(
        "PDRES", [(BASE, 3.0), (F[0], 1.0), (F[1], 1.0), (F[2], 1.6), (F[3], 1.7)]
    )
    labs += counts("PDRES", ["2024-12-20", F[0]])
    labs += [
        lab("PDRES", "2025-05-15", "platelets", 25),
        lab("PDRES", "2025-05-29", "platelets", 120),
    ]
    pats.append(pat("PDRES"))
    # thromboembolic event grade 2 on lenalidomide
    labs += disease("VTE") + counts("VTE", ["2024-12-20", *F])
    events.append("VTE,2025-02-15,thromboembolic_event,2,")
    pats.append(pat("VTE"))
    return assess(tmp_path_factory.mktemp("len"), labs, pats, events=events)


def _renal_actions(p: dict) -> list[dict]:
    return [
        a for a in p["dose_actions"] if "renal" in (a["rule"] + a["action"] + a["reason"]).lower()
    ]


def test_len_renal_clcr_60_no_adjustment(len_run: dict[str, dict]) -> None:
    """REVLIMID US label, section 2, renal impairment table: adjustment starts at "Moderate renal
    impairment (30 <= CLcr < 60 mL/min)". CLcr exactly 60 mL/min (Cockcroft-Gault: (140-80) x 72 /
    (72 x 1.0)) needs no renal adjustment and keeps 10 mg."""
    p = len_run["R60"]
    assert not [a for a in _renal_actions(p) if a["dose"] is not None and a["dose"] < 10], p[
        "dose_actions"
    ]


def test_len_renal_moderate_band_is_5_mg(len_run: dict[str, dict]) -> None:
    """REVLIMID US label section 2 renal table, column "maintenance therapy following auto-HSCT":
    moderate (30 <= CLcr < 60 mL/min) 5 mg once daily. CLcr 59.4 (Cr 1.01) and exactly 30 (Cr 2.0)
    are both in the band -> 5 mg."""
    for pid in ("R59", "R30"):
        doses = {a["dose"] for a in _renal_actions(len_run[pid])}
        assert 5.0 in doses and 2.5 not in doses, (pid, len_run[pid]["dose_actions"])


def test_len_renal_severe_band_is_2_5_mg(len_run: dict[str, dict]) -> None:
    """REVLIMID US label renal table, maintenance column: severe (CLcr < 30 mL/min, not requiring
    dialysis) 2.5 mg once daily. CLcr 29.85 (Cr 2.01) -> 2.5 mg."""
    doses = {a["dose"] for a in _renal_actions(len_run["R29"])}
    assert 2.5 in doses, len_run["R29"]["dose_actions"]


def test_len_no_escalation_while_renal_restriction_applies(len_run: dict[str, dict]) -> None:
    """REVLIMID label section 2: "After 3 cycles of maintenance therapy, the dose can be increased
    to
    15 mg once daily if tolerated"; the renal table sets the dose while CLcr < 60 (brief: no
    escalation while a restriction applies). None of the renally restricted patients may be offered
    an escalation."""
    for pid in ("R59", "R30", "R29"):
        assert not [a for a in actions(len_run[pid]) if is_escalation(a)], (
            pid,
            len_run[pid]["dose_actions"],
        )


def test_len_clcr_recomputed_when_creatinine_rises(len_run: dict[str, dict]) -> None:
    """REVLIMID label renal table (maintenance column, 30 <= CLcr < 60: 5 mg). CLcr 80 at start
    (Cr 1.0, age 60, 72 kg) falls to 50 mL/min on 2025-03-01 (Cr 1.6): a 5 mg renal dose action on
    or after that date, and no escalation at the 3-cycle point (2025-03-26) or later."""
    p = len_run["RWORSE"]
    renal = [a for a in _renal_actions(p) if a["date"] >= F[1]]
    assert any(a["dose"] == 5.0 for a in renal), p["dose_actions"]
    assert not [a for a in actions(p) if is_escalation(a) and a["date"] >= F[1]], p["dose_actions"]


def test_len_escalation_offered_after_three_cycles_when_tolerated(len_run: dict[str, dict]) -> None:
    """REVLIMID label section 2 (maintenance): "After 3 cycles of maintenance therapy, the dose can
    be increased to 15 mg once daily if tolerated". Normal CLcr (80), normal counts, no toxicity:
    an increase to 15 mg is proposed, not before day 84 (2025-03-26)."""
    p = len_run["ESC"]
    esc = [a for a in actions(p) if is_escalation(a)]
    assert esc and all(a["date"] >= "2025-03-26" for a in esc), p["dose_actions"]
    assert any(a["dose"] == 15.0 for a in esc)


def test_len_platelets_below_30_hold_then_next_lower_dose(len_run: dict[str, dict]) -> None:
    """REVLIMID label section 2, dose adjustments for haematologic toxicities during MM maintenance
    therapy: platelets "Fall to <30,000/mcL: Interrupt REVLIMID treatment, follow CBC weekly";
    "Return to >=30,000/mcL: Resume REVLIMID at next lower dose, continuously for Days 1-28"
    (maintenance ladder 15 -> 10 -> 5 mg). 29 x10^9/L -> hold; recovery -> 5 mg."""
    p = len_run["PLT29"]
    assert any(is_hold(a) and a["date"] == "2025-02-15" for a in actions(p)), p["dose_actions"]
    res = [a for a in actions(p) if "resume" in a["action"].lower() and a["date"] >= "2025-02-22"]
    assert res and res[0]["dose"] == 5.0, p["dose_actions"]


def test_len_platelets_exactly_30_no_hold(len_run: dict[str, dict]) -> None:
    """REVLIMID label maintenance table interrupts only when platelets "Fall to <30,000/mcL":
    30 x10^9/L (CTCAE grade 3) is not an interruption."""
    p = len_run["PLT30"]
    assert not [a for a in actions(p) if is_hold(a)], p["dose_actions"]


def test_len_anc_below_500_hold_then_next_lower_dose(len_run: dict[str, dict]) -> None:
    """REVLIMID label section 2, maintenance haematologic table (also revlimidhcp.com maintenance
    dose modifications): ANC "<500/mcL: Interrupt REVLIMID treatment, follow CBC weekly"; "Return
    to ANC >=500/mcL: Resume REVLIMID at next lower dose continuously for Days 1-28". ANC 0.49 ->
    hold; recovery -> 5 mg."""
    p = len_run["ANC049"]
    assert any(is_hold(a) and a["date"] == "2025-02-15" for a in actions(p)), p["dose_actions"]
    res = [a for a in actions(p) if "resume" in a["action"].lower() and a["date"] >= "2025-02-22"]
    assert res and res[0]["dose"] == 5.0, p["dose_actions"]


def test_len_anc_exactly_500_no_hold(len_run: dict[str, dict]) -> None:
    """revlimidhcp.com maintenance dose modifications: "No dose adjustments required for ANC
    >=500/mcL". ANC 0.5 x10^9/L (CTCAE grade 3) -> no interruption."""
    p = len_run["ANC050"]
    assert not [a for a in actions(p) if is_hold(a)], p["dose_actions"]


def test_len_no_resume_after_confirmed_progression(len_run: dict[str, dict]) -> None:
    """REVLIMID label section 2: maintenance continues "until disease progression or unacceptable
    toxicity"; Kumar 2016 PD (nadir 1.0 -> 1.6, 1.7). After confirmed progression no resume or
    escalation of lenalidomide may be proposed (the platelet fall and recovery come after it)."""
    p = len_run["PDRES"]
    assert p["progression_date"] is not None
    later = [a for a in actions(p) if a["date"] > p["progression_date"]]
    assert not [a for a in later if "resume" in a["action"].lower() or is_escalation(a)], p[
        "dose_actions"
    ]


def test_len_thromboembolic_grade2_high_alert_and_no_escalation(len_run: dict[str, dict]) -> None:
    """REVLIMID US label boxed warning (venous and arterial thromboembolism) and 5.4; CTCAE v5.0
    Thromboembolic event grade 2 = "Medical intervention indicated". A grade 2 event on lenalidomide
    raises a high-severity alert, and no escalation is offered afterwards."""
    p = len_run["VTE"]
    assert any(
        a["severity"] == "high" and "thrombo" in a["message"].lower() for a in p["alerts"]
    ), p["alerts"]
    assert not [a for a in actions(p) if is_escalation(a) and a["date"] >= "2025-02-15"], p[
        "dose_actions"
    ]


# --------------------------------------------------------------------------------------------
# Ixazomib (NINLARO US label) and bortezomib (VELCADE US label)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pi_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    labs: list[str] = []
    pats: list[str] = []
    events: list[str] = []

    def disease(pid: str) -> list[str]:
        return _serum_course(pid, [(BASE, 2.0), (F[1], 0.8), (F[3], 0.8), (F[5], 0.8)])

    # ixazomib renal: CLcr 29.85 (Cr 2.01, 80 y, 72 kg) vs 30 (Cr 2.0), dose 4 mg
    for pid, cr in [("IXR29", 2.01), ("IXR30", 2.0)]:
        labs += disease(pid) + [lab(pid, "2024-12-20", "creatinine", cr, "", "1.2")]
        labs += [lab(pid, d, "anc", 3.0) for d in ["2024-12-20", *F]] + [
            lab(pid, d, "platelets", 200) for d in ["2024-12-20", *F]
        ]
        pats.append(pat(pid, agent="ixazomib", dose=4, age=80))
    # ixazomib at 3 mg with CLcr < 30: never escalate to 4 mg
    labs += disease("IXR3") + [
        lab("IXR3", d, "creatinine", 2.01, "", "1.2") for d in ["2024-12-20", *F]
    ]
    labs += [lab("IXR3", d, "anc", 3.0) for d in ["2024-12-20", *F]] + [
        lab("IXR3", d, "platelets", 200) for d in ["2024-12-20", *F]
    ]
    pats.append(pat("IXR3", agent="ixazomib", dose=3, age=80))
    # ixazomib thrombocytopenia: first fall -> resume at most recent dose; second -> next lower dose
    labs += disease("IXPLT") + [lab("IXPLT", d, "anc", 3.0) for d in ["2024-12-20", F[0]]]
    for d, v in [
        ("2024-12-20", 200),
        ("2025-02-01", 25),
        ("2025-02-15", 60),
        ("2025-03-01", 25),
        ("2025-03-15", 60),
    ]:
        labs.append(lab("IXPLT", d, "platelets", v))
    pats.append(pat("IXPLT", agent="ixazomib", dose=3))
    # ixazomib neuropathy
    for pid, g, pain in [("IXPN4", 4, "no"), ("IXPN1", 1, "no")]:
        labs += disease(pid)
        events.append(f"{pid},2025-02-15,peripheral_sensory_neuropathy,{g},{pain}")
        pats.append(pat(pid, agent="ixazomib", dose=3))
    # bortezomib neuropathy table
    for pid, g, pain in [
        ("BZ1N", 1, "no"),
        ("BZ1P", 1, "yes"),
        ("BZ2N", 2, "no"),
        ("BZ3", 3, "no"),
        ("BZ4", 4, "no"),
    ]:
        labs += disease(pid)
        events.append(f"{pid},2025-02-15,peripheral_sensory_neuropathy,{g},{pain}")
        pats.append(pat(pid, agent="bortezomib", dose=1.3))
    return assess(tmp_path_factory.mktemp("pi"), labs, pats, events=events)


def test_ixazomib_renal_3_mg_below_30(pi_run: dict[str, dict]) -> None:
    """NINLARO US label section 2 (dosage in renal impairment) and 8.6: "reduce the starting dose to
    3 mg in patients with severe renal impairment (creatinine clearance <30 mL/min) or end-stage
    renal disease (ESRD) requiring dialysis". CLcr 29.85 on 4 mg -> 3 mg; CLcr exactly 30 -> no
    renal reduction."""
    assert any(a["dose"] == 3.0 for a in _renal_actions(pi_run["IXR29"])), pi_run["IXR29"][
        "dose_actions"
    ]
    assert not [
        a for a in _renal_actions(pi_run["IXR30"]) if a["dose"] is not None and a["dose"] < 4
    ]


def test_ixazomib_no_escalation_with_severe_renal_impairment(pi_run: dict[str, dict]) -> None:
    """NINLARO label: 3 mg is the dose for CLcr < 30 mL/min; an escalation to 4 mg (TOURMALINE-MM3
    schedule) must not be offered while the renal restriction applies."""
    p = pi_run["IXR3"]
    assert not [a for a in actions(p) if is_escalation(a)], p["dose_actions"]


def test_ixazomib_thrombocytopenia_resume_rules(pi_run: dict[str, dict]) -> None:
    """NINLARO US label section 2, Table (dose modification guidelines), thrombocytopenia (platelet
    count <30,000/mm3): "Withhold NINLARO ... until platelet count >=30,000/mm3. Following recovery,
    ... resume NINLARO at its most recent dose. If platelet count falls to <30,000/mm3 again,
    withhold
    ... Following recovery, resume NINLARO at the next lower dose". Dose steps 4 -> 3 -> 2.3 mg.
    On 3 mg: first recovery -> 3 mg, second recovery -> 2.3 mg."""
    p = pi_run["IXPLT"]
    assert any(is_hold(a) and a["date"] == "2025-02-01" for a in actions(p)), p["dose_actions"]
    assert any(is_hold(a) and a["date"] == "2025-03-01" for a in actions(p)), p["dose_actions"]
    r1 = [
        a
        for a in actions(p)
        if "resume" in a["action"].lower() and "2025-02-01" < a["date"] <= "2025-02-15"
    ]
    r2 = [
        a
        for a in actions(p)
        if "resume" in a["action"].lower() and "2025-03-01" < a["date"] <= "2025-03-15"
    ]
    assert r1 and r1[0]["dose"] == 3.0, p["dose_actions"]
    assert r2 and r2[0]["dose"] == 2.3, p["dose_actions"]


def test_ixazomib_neuropathy_grade4_discontinue_grade1_nothing(pi_run: dict[str, dict]) -> None:
    """NINLARO US label section 2 Table, peripheral neuropathy: "Grade 4 Peripheral Neuropathy:
    Discontinue NINLARO regimen"; grade 1 without pain is not in the table (no action)."""
    p4 = pi_run["IXPN4"]
    assert any(w in a["action"].lower() for a in actions(p4) for w in ("discontinu", "stop")), p4[
        "dose_actions"
    ]
    assert not actions(pi_run["IXPN1"]), pi_run["IXPN1"]["dose_actions"]


def test_bortezomib_neuropathy_table(pi_run: dict[str, dict]) -> None:
    """VELCADE US label section 2, Table "Recommended Dose Modification for VELCADE-Related
    Neuropathic Pain and/or Peripheral Sensory or Motor Neuropathy": Grade 1 without pain: no
    action; "Grade 1 with pain or Grade 2 (interfering with function but not with activities of
    daily living)": reduce to 1 mg/m2; "Grade 2 with pain or Grade 3": withhold until resolved,
    reinitiate at 0.7 mg/m2 once per week; Grade 4: discontinue."""
    assert not actions(pi_run["BZ1N"]), pi_run["BZ1N"]["dose_actions"]
    for pid in ("BZ1P", "BZ2N"):
        assert any(a["dose"] == 1.0 for a in actions(pi_run[pid])), (
            pid,
            pi_run[pid]["dose_actions"],
        )
    bz3 = actions(pi_run["BZ3"])
    assert any(is_hold(a) for a in bz3) and any(a["dose"] == 0.7 for a in bz3), bz3
    assert any(
        w in a["action"].lower() for a in actions(pi_run["BZ4"]) for w in ("discontinu", "stop")
    ), pi_run["BZ4"]


# --------------------------------------------------------------------------------------------
# Bad input: one line naming the file, row/line and field; never a traceback
# --------------------------------------------------------------------------------------------

GOOD_LABS = [lab("B1", BASE, "serum_m_protein", 2.0), lab("B1", F[1], "serum_m_protein", 0.8)]


def _one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    msg = proc.stderr.strip()
    assert msg and "\n" not in msg, msg
    for n in needles:
        assert n.lower() in msg.lower(), (n, msg)
    return msg


def test_future_date_rejected(tmp_path: Path) -> None:
    """Brief/README bad-input rule (observation dates in the future are rejected with the file, row
    and field). Line 3 of labs.csv is dated 2099."""
    proc = run(
        tmp_path, [GOOD_LABS[0], lab("B1", "2099-01-01", "serum_m_protein", 0.8)], [pat("B1")]
    )
    _one_line_error(proc, "labs.csv", "line 3", "date")


def test_absurd_dose_rejected(tmp_path: Path) -> None:
    """REVLIMID label: maintenance doses are 5-15 mg (capsules 2.5-25 mg); 250 mg is absurd.
    patients.csv line 2, field dose_mg."""
    proc = run(tmp_path, GOOD_LABS, [pat("B1", dose=250)])
    _one_line_error(proc, "patients.csv", "line 2", "dose_mg")


def test_conflicting_duplicate_rejected(tmp_path: Path) -> None:
    """Two different serum M-protein values for the same patient and date (lines 3 and 4) cannot
    both be true: rejected naming the file."""
    proc = run(
        tmp_path,
        [
            GOOD_LABS[0],
            lab("B1", F[1], "serum_m_protein", 0.8),
            lab("B1", F[1], "serum_m_protein", 1.8),
        ],
        [pat("B1")],
    )
    _one_line_error(proc, "labs.csv", "3", "4")


def test_impossible_value_rejected(tmp_path: Path) -> None:
    """Haemoglobin 80 g/dL is physiologically impossible (CTCAE anemia scale is 8-12 g/dL; g/L
    typed as g/dL): rejected naming labs.csv, line 3 and field value."""
    proc = run(tmp_path, [GOOD_LABS[0], lab("B1", F[1], "hemoglobin", 80)], [pat("B1")])
    _one_line_error(proc, "labs.csv", "line 3", "value")


def test_semicolon_file_rejected(tmp_path: Path) -> None:
    """A semicolon-separated export (European Excel) must not be silently misread."""
    (tmp_path / "labs.csv").write_text(
        "patient_id;date;analyte;value;unit\nB1;2024-05-20;serum_m_protein;2,0;g/dL\n",
        encoding="utf-8",
    )
    (tmp_path / "patients.csv").write_text(PAT_HEADER + "\n" + pat("B1") + "\n", encoding="utf-8")
    proc = subprocess.run(
        [
            PLATEAU,
            "monitor",
            "assess",
            "--labs",
            str(tmp_path / "labs.csv"),
            "--patients",
            str(tmp_path / "patients.csv"),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    _one_line_error(proc, "labs.csv")


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"])
def test_non_utf8_file_decoded_correctly(tmp_path: Path, encoding: str) -> None:
    """README (Monitoring, bad input): "Files in Latin-1, Windows-1252 or UTF-16 are decoded". The
    labs file in Latin-1 / UTF-16 with a patient id containing a non-ASCII letter must match the
    UTF-8 patients file, and CTCAE creatinine 3.0 mg/dL (ULN 1.2, 2.5 x ULN) must be grade 2."""
    pid = "PÉ1"
    rows = [
        LAB_HEADER,
        lab(pid, BASE, "serum_m_protein", 2.0),
        lab(pid, F[1], "creatinine", 3.0, "", "1.2"),
    ]
    (tmp_path / "labs.csv").write_bytes(("\n".join(rows) + "\n").encode(encoding))
    (tmp_path / "patients.csv").write_text(PAT_HEADER + "\n" + pat(pid) + "\n", encoding="utf-8")
    proc = subprocess.run(
        [
            PLATEAU,
            "monitor",
            "assess",
            "--labs",
            str(tmp_path / "labs.csv"),
            "--patients",
            str(tmp_path / "patients.csv"),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 0, proc.stderr
    out = {p["patient_id"]: p for p in json.loads(proc.stdout)}
    assert pid in out, list(out)
    assert grade(out[pid], "creatinine_increased", F[1]) == 2


# --------------------------------------------------------------------------------------------
# Second batch: urine criteria, confirmation, nadir across the line, CR marrow, FLC measurability,
# CRAB without a reference value, lenalidomide floor, Cockcroft-Gault for women, more bad input
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def imwg2(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    labs: list[str] = []
    pats: list[str] = []

    def add(pid: str, rows: list[str]) -> None:
        labs.extend(rows)
        pats.append(pat(pid))

    def su(pid: str, pts: list[tuple[str, float, float]]) -> list[str]:
        return [
            r
            for d, s, u in pts
            for r in (lab(pid, d, "serum_m_protein", s), lab(pid, d, "urine_m_protein", u))
        ]

    # serum -53 %, urine 500 -> 300 (-40 %, still >= 200): not PR, not MR
    add("URNOPR", su("URNOPR", [(BASE, 3.0, 500), (F[1], 1.4, 300), (F[2], 1.4, 300)]))
    # urine PD: urine nadir 100 -> 300 (+200, +200 %) twice; -> 299 (+199) twice
    add(
        "UPD200",
        su(
            "UPD200",
            [
                (BASE, 2.0, 1000),
                (F[0], 0.8, 100),
                (F[1], 0.8, 100),
                (F[2], 0.8, 300),
                (F[3], 0.8, 300),
            ],
        ),
    )
    add(
        "UPD199",
        su(
            "UPD199",
            [
                (BASE, 2.0, 1000),
                (F[0], 0.8, 100),
                (F[1], 0.8, 100),
                (F[2], 0.8, 299),
                (F[3], 0.8, 299),
            ],
        ),
    )
    # unconfirmed PR followed by confirmed MR: best response MR
    add(
        "PRONCE", su("PRONCE", [(BASE, 3.0, 50), (F[1], 1.4, 50), (F[2], 1.8, 50), (F[3], 1.8, 50)])
    )
    # nadir during induction (0.6 twice), 0.8 at maintenance start, then 1.1 twice: PD from nadir
    add(
        "NADIND",
        su(
            "NADIND",
            [
                (BASE, 3.0, 50),
                ("2024-10-01", 0.6, 50),
                ("2024-11-01", 0.6, 50),
                ("2024-12-20", 0.8, 50),
                (F[1], 1.1, 50),
                (F[2], 1.1, 50),
            ],
        ),
    )
    # IFE negative serum and urine, no marrow examination: not CR
    cr = "CRNOBM"
    add(
        cr,
        su(cr, [(BASE, 2.0, 50)])
        + [lab(cr, BASE, "serum_ife", "positive"), lab(cr, BASE, "urine_ife", "positive")]
        + [
            r
            for d in (F[1], F[2])
            for r in (
                *su(cr, [(d, 0.0, 0)]),
                lab(cr, d, "serum_ife", "negative"),
                lab(cr, d, "urine_ife", "negative"),
            )
        ],
    )
    # involved FLC >= 10 mg/dL but normal ratio (kappa 12 / lambda 10 = 1.2): FLC not measurable
    add(
        "FLCNORM",
        [
            lab("FLCNORM", BASE, "serum_m_protein", 0.3),
            lab("FLCNORM", BASE, "urine_m_protein", 50),
            lab("FLCNORM", BASE, "kappa_flc", 12),
            lab("FLCNORM", BASE, "lambda_flc", 10),
            lab("FLCNORM", F[1], "kappa_flc", 5),
            lab("FLCNORM", F[1], "lambda_flc", 10),
        ],
    )
    # calcium 12.6 mg/dL during maintenance: once with no earlier calcium result (CANOREF), once
    # with a normal calcium at diagnosis (CAREF); everything else identical
    for pid, prior in (
        ("CANOREF", []),
        ("CAREF", [lab("CAREF", BASE, "calcium", 9.5, "", "10.2")]),
    ):
        add(
            pid,
            su(pid, [(BASE, 2.0, 50), (F[1], 0.8, 50), (F[2], 0.8, 50)])
            + prior
            + [lab(pid, F[1], "calcium", 12.6, "", "10.2")],
        )
    return assess(tmp_path_factory.mktemp("imwg2"), labs, pats)


def test_pr_needs_urine_criterion_when_urine_measurable(imwg2: dict[str, dict]) -> None:
    """Kumar 2016 PR: ">=50% reduction of serum M-protein plus reduction in 24 h urinary M-protein
    by
    >=90% or to <200 mg per 24 h"; MR: "... and reduction in 24-h urine M-protein by 50-89%". Serum
    -53 % but urine 500 -> 300 mg/24h (-40 %, >= 200): neither PR nor MR."""
    r = response_on(imwg2["URNOPR"], F[1])["response"]
    assert r not in ("PR", "VGPR", "CR", "sCR", "MR"), r


def test_urine_pd_at_exactly_200_mg(imwg2: dict[str, dict]) -> None:
    """Kumar 2016 PD: "Urine M-protein (absolute increase must be >=200 mg/24 h)" with the 25 %
    increase from the lowest value. Urine nadir 100 -> 300 (+200) twice: PD; -> 299 (+199): not."""
    assert response_on(imwg2["UPD200"], F[2])["response"] == "PD"
    assert imwg2["UPD200"]["progression_date"] is not None
    assert imwg2["UPD199"]["progression_date"] is None
    assert all(a["response"] != "PD" for a in imwg2["UPD199"]["assessments"])


def test_unconfirmed_pr_is_not_best_response(imwg2: dict[str, dict]) -> None:
    """Durie 2006 Table 3 footnote a / Kumar 2016: "All response categories require two consecutive
    assessments". PR (-53 %) once, then MR (-40 %) twice (1.4 -> 1.8 is +0.4 g/dL, not PD): best
    (confirmed) response is MR."""
    assert imwg2["PRONCE"]["best_response"] == "MR"


def test_pd_measured_from_nadir_reached_during_induction(imwg2: dict[str, dict]) -> None:
    """Kumar 2016 PD: "Increase of 25% from lowest confirmed response value"; induction, transplant
    and maintenance form one line (Rajkumar 2011, line of therapy), so the nadir 0.6 g/dL (twice,
    before maintenance) counts: 0.6 -> 1.1 (+0.5, +83 %) twice during maintenance is PD, although
    it is only +0.3 from the 0.8 at maintenance start."""
    p = imwg2["NADIND"]
    assert response_on(p, F[1])["response"] == "PD"
    assert p["progression_date"] is not None


def test_cr_requires_marrow(imwg2: dict[str, dict]) -> None:
    """Kumar 2016 CR: "Negative immunofixation on the serum and urine and disappearance of any soft
    tissue plasmacytomas and <5% plasma cells in bone marrow aspirates" (Durie 2006 CR identical).
    Without a marrow result the CR criteria are not met."""
    r = response_on(imwg2["CRNOBM"], F[1])["response"]
    assert r not in ("CR", "sCR"), r


def test_flc_not_measurable_with_normal_ratio(imwg2: dict[str, dict]) -> None:
    """Kumar 2016 measurable disease: "Serum FLC assay: involved FLC level >=10 mg/dL provided
    serum FLC ratio is abnormal". kappa 12 / lambda 10 (ratio 1.2, normal 0.26-1.65): not
    measurable by FLC."""
    assert "flc" not in str(imwg2["FLCNORM"]["measurable_by"]).lower()


def test_crab_calcium_alert_without_earlier_calcium(imwg2: dict[str, dict]) -> None:
    """Kumar 2016 clinical relapse: "Hypercalcaemia (>11 mg/dL)" (Durie 2006 / Rajkumar 2011:
    ">11.5 mg/dL") is an absolute threshold with no reference value, unlike the haemoglobin fall and
    creatinine rise. 12.6 mg/dL on 2025-03-01 (meets every version) must give the same
    clinical-relapse alert whether or not an earlier normal calcium exists. (Whether a single value
    alerts or only a confirmed one, Durie 2006 footnote "All relapse categories require two
    consecutive assessments", is not asserted: only that both patients are treated alike and that
    the patient with the earlier normal value is alerted, as plateau already does.)"""
    with_ref = sorted(a["date"] for a in _relapse_alerts(imwg2["CAREF"]))
    without_ref = sorted(a["date"] for a in _relapse_alerts(imwg2["CANOREF"]))
    assert with_ref, imwg2["CAREF"]["alerts"]
    assert without_ref == with_ref, (without_ref, with_ref, imwg2["CANOREF"]["alerts"])


@pytest.fixture(scope="module")
def len2(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    labs: list[str] = []
    pats: list[str] = []

    def disease(pid: str) -> list[str]:
        return _serum_course(pid, [(BASE, 2.0), (F[1], 0.8), (F[3], 0.8), (F[5], 0.8)])

    # woman, 80 y, 72 kg: CLcr = 60 x 72 x 0.85 / (72 x Cr); Cr 0.85 -> 60.0, Cr 0.86 -> 59.3
    for pid, cr in [("F60", 0.85), ("F59", 0.86)]:
        labs += disease(pid) + [lab(pid, "2024-12-20", "creatinine", cr, "", "1.2")]
        labs += [
            lab(pid, d, a, v)
            for d in ["2024-12-20", *F]
            for a, v in (("anc", 3.0), ("platelets", 200))
        ]
        pats.append(pat(pid, age=80, sex="F"))
    # on 5 mg: platelets < 30 then recovery -> 5 mg days 1-21 (floor)
    labs += disease("FLOOR5") + [lab("FLOOR5", d, "anc", 3.0) for d in ["2024-12-20", F[0], F[2]]]
    labs += [
        lab("FLOOR5", d, "platelets", v)
        for d, v in [
            ("2024-12-20", 200),
            (F[0], 200),
            ("2025-02-15", 25),
            ("2025-02-22", 100),
            (F[2], 200),
        ]
    ]
    pats.append(pat("FLOOR5", dose=5))
    return assess(tmp_path_factory.mktemp("len2"), labs, pats)


def test_cockcroft_gault_female_boundary(len2: dict[str, dict]) -> None:
    """Cockcroft-Gault (x 0.85 for women) as used by the REVLIMID label (section 2, CLcr) and its
    renal table (moderate: 30 <= CLcr < 60). Woman, 80 y, 72 kg: Cr 0.85 gives exactly 60 mL/min
    (no adjustment, 10 mg), Cr 0.86 gives 59.3 (5 mg)."""
    assert not [
        a for a in _renal_actions(len2["F60"]) if a["dose"] is not None and a["dose"] < 10
    ], len2["F60"]["dose_actions"]
    assert any(a["dose"] == 5.0 for a in _renal_actions(len2["F59"])), len2["F59"]["dose_actions"]


def test_len_floor_5mg_days_1_21(len2: dict[str, dict]) -> None:
    """REVLIMID label section 2, maintenance haematologic table: "If at the 5 mg daily dose ... Fall
    to <30,000/mcL: Interrupt ... Return to >=30,000/mcL: Resume REVLIMID at 5 mg daily for Days 1
    to
    21 of 28-day cycle. Do not dose below 5 mg daily for Days 1 to 21 of 28-day cycle"."""
    p = len2["FLOOR5"]
    assert any(is_hold(a) for a in actions(p)), p["dose_actions"]
    res = [a for a in actions(p) if "resume" in a["action"].lower()]
    assert res and res[0]["dose"] == 5.0 and "21" in res[0]["schedule"], p["dose_actions"]
    assert not [a for a in actions(p) if a["dose"] is not None and a["dose"] < 5], p["dose_actions"]


def test_unknown_analyte_rejected(tmp_path: Path) -> None:
    """Bad input: an analyte plateau does not know (typo) is named with file, line and field."""
    proc = run(tmp_path, [GOOD_LABS[0], "B1,2025-03-01,serum_m_protien,0.8,g/dL,,"], [pat("B1")])
    _one_line_error(proc, "labs.csv", "line 3", "analyte")


def test_decimal_comma_rejected(tmp_path: Path) -> None:
    """Bad input: a European decimal comma inside a quoted field ("0,8") is not a number; it must be
    rejected naming labs.csv, line 3 and field value (never read as 8 or 0)."""
    proc = run(tmp_path, [GOOD_LABS[0], 'B1,2025-03-01,serum_m_protein,"0,8",g/dL,,'], [pat("B1")])
    _one_line_error(proc, "labs.csv", "line 3", "value")


def test_missing_column_rejected(tmp_path: Path) -> None:
    """Bad input: labs.csv without the required unit column is rejected naming the field."""
    (tmp_path / "labs.csv").write_text(
        "patient_id,date,analyte,value\nB1,2024-05-20,serum_m_protein,2.0\n", encoding="utf-8"
    )
    (tmp_path / "patients.csv").write_text(PAT_HEADER + "\n" + pat("B1") + "\n", encoding="utf-8")
    proc = subprocess.run(
        [
            PLATEAU,
            "monitor",
            "assess",
            "--labs",
            str(tmp_path / "labs.csv"),
            "--patients",
            str(tmp_path / "patients.csv"),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    _one_line_error(proc, "labs.csv", "unit")


def test_same_value_in_other_unit_counts_once(tmp_path: Path) -> None:
    """README Monitoring: "an identical repeat, also in another unit, counts once". 2.0 g/dL and
    20 g/L on the same date are the same result: no error, PR at 0.8 g/dL (-60 %)."""
    rows = [
        lab("B1", BASE, "serum_m_protein", 2.0),
        "B1,2024-05-20,serum_m_protein,20,g/L,,",
        lab("B1", F[1], "serum_m_protein", 0.8),
        lab("B1", F[2], "serum_m_protein", 0.8),
    ]
    out = assess(tmp_path, rows, [pat("B1")])
    assert response_on(out["B1"], F[1])["response"] == "PR"


# --------------------------------------------------------------------------------------------
# Third batch: CTCAE boundaries reached through unit conversion, ixazomib non-haematological,
# more file-format cases
# --------------------------------------------------------------------------------------------

UNIT_CASES = [
    # (analyte, value, unit, lln, uln, term, expected grade); the lln/uln are in the row's unit
    ("creatinine", 159.12, "umol/L", "", "106.08", "creatinine_increased", 1),  # exactly 1.5 x ULN
    ("creatinine", 160.0, "umol/L", "", "106.08", "creatinine_increased", 2),
    ("creatinine", 318.24, "umol/L", "", "106.08", "creatinine_increased", 2),  # exactly 3.0 x ULN
    ("platelets", 75000, "/uL", "150000", "", "platelet_count_decreased", 1),
    ("platelets", 74999, "/uL", "150000", "", "platelet_count_decreased", 2),
    ("anc", 1500, "/uL", "2000", "", "neutrophil_count_decreased", 1),
    ("anc", 499, "/uL", "2000", "", "neutrophil_count_decreased", 4),
    ("hemoglobin", 100, "g/L", "120", "", "anemia", 1),
    ("hemoglobin", 99, "g/L", "120", "", "anemia", 2),
    ("hemoglobin", 80, "g/L", "120", "", "anemia", 2),
    ("hemoglobin", 79, "g/L", "120", "", "anemia", 3),
]


@pytest.fixture(scope="module")
def unit_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    labs: list[str] = []
    pats: list[str] = []
    for i, (analyte, value, unit, lln, uln, _t, _g) in enumerate(UNIT_CASES):
        pid = f"U{i:02d}"
        labs.append(lab(pid, BASE, "serum_m_protein", 2.0))
        labs.append(f"{pid},{F[1]},{analyte},{value},{unit},{lln},{uln}")
        pats.append(pat(pid))
    return assess(tmp_path_factory.mktemp("units"), labs, pats)


@pytest.mark.parametrize(
    ("i", "case"), list(enumerate(UNIT_CASES)), ids=[f"{c[0]}={c[1]}{c[2]}" for c in UNIT_CASES]
)
def test_ctcae_boundaries_in_other_units(unit_run: dict[str, dict], i: int, case: tuple) -> None:
    """CTCAE v5.0 boundaries as in test_ctcae_lab_grade_boundaries, given in SI / per-microlitre
    units with the lab's own limits in the same unit: creatinine 159.12 umol/L with ULN 106.08 is
    exactly 1.5 x ULN (G1, since G2 is ">1.5 - 3.0 x ULN"), 318.24 is exactly 3.0 x ULN (G2);
    platelets "<75,000/mm3" is G2, so 75,000/uL is G1; neutrophils "<500/mm3" is G4; anemia
    "<100 - 80 g/L" is G2 and "<80 g/L" G3 (CTCAE gives the g/L values itself)."""
    _a, _v, _u, _l, _h, term, expected = case
    p = unit_run[f"U{i:02d}"]
    assert grade(p, term, F[1]) == expected, p["ctcae"]


@pytest.fixture(scope="module")
def ixa2(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    labs: list[str] = []
    pats: list[str] = []
    events: list[str] = []
    pid = "IXDIA"
    labs += _serum_course(pid, [(BASE, 2.0), (F[1], 0.8), (F[3], 0.8)])
    events.append(f"{pid},2025-02-15,diarrhea,3,")
    pats.append(pat(pid, agent="ixazomib", dose=3))
    return assess(tmp_path_factory.mktemp("ixa2"), labs, pats, events=events)


def test_ixazomib_grade3_diarrhoea_withhold_then_next_lower_dose(ixa2: dict[str, dict]) -> None:
    """NINLARO US label section 2 Table, "Other Non-Hematologic Toxicities, Grade 3 or 4: Withhold
    NINLARO. Upon recovery to Grade 1 or baseline, resume NINLARO at the next lower dose" (steps
    4 -> 3 -> 2.3 mg). On 3 mg, grade 3 diarrhoea: withhold, and the resumption dose is 2.3 mg."""
    acts = actions(ixa2["IXDIA"])
    assert any(is_hold(a) for a in acts), acts
    assert any(a["dose"] == 2.3 for a in acts), acts
    assert not [
        a for a in acts if a["dose"] is not None and a["dose"] > 2.3 and a["date"] >= "2025-02-15"
    ]


def _cli(tmp: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            PLATEAU,
            "monitor",
            "assess",
            "--labs",
            str(tmp / "labs.csv"),
            "--patients",
            str(tmp / "patients.csv"),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_ambiguous_date_format_rejected(tmp_path: Path) -> None:
    """01/03/2025 is 1 March (Europe) or 3 January (US): a date that can be read two ways must be
    rejected naming labs.csv, line 3 and field date, not silently guessed."""
    proc = run(tmp_path, [GOOD_LABS[0], "B1,01/03/2025,serum_m_protein,0.8,g/dL,,"], [pat("B1")])
    _one_line_error(proc, "labs.csv", "line 3", "date")


def test_impossible_age_rejected(tmp_path: Path) -> None:
    """Age 200 years is impossible and would corrupt the Cockcroft-Gault clearance that sets the
    REVLIMID renal dose: rejected naming patients.csv, line 2 and field age."""
    proc = run(tmp_path, GOOD_LABS, [pat("B1", age=200)])
    _one_line_error(proc, "patients.csv", "line 2", "age")


@pytest.mark.parametrize("variant", ["utf-8-sig", "crlf"])
def test_excel_style_utf8_bom_and_crlf_accepted(tmp_path: Path, variant: str) -> None:
    """Excel's "CSV UTF-8" adds a byte-order mark and Windows line endings; the first column name
    must still be read as patient_id and the registry assessed (PR at 0.8 g/dL from 2.0)."""
    rows = [LAB_HEADER, *GOOD_LABS, lab("B1", F[2], "serum_m_protein", 0.8)]
    if variant == "crlf":
        (tmp_path / "labs.csv").write_bytes(("\r\n".join(rows) + "\r\n").encode("utf-8"))
    else:
        (tmp_path / "labs.csv").write_bytes(("\n".join(rows) + "\n").encode("utf-8-sig"))
    (tmp_path / "patients.csv").write_text(PAT_HEADER + "\n" + pat("B1") + "\n", encoding="utf-8")
    proc = _cli(tmp_path)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 0, proc.stderr
    out = {p["patient_id"]: p for p in json.loads(proc.stdout)}
    assert response_on(out["B1"], F[1])["response"] == "PR"


# --------------------------------------------------------------------------------------------
# Fourth batch: CR/sCR definitions, PD in a compartment that was not measurable, marrow PD with
# measurable serum, lenalidomide start criteria and dialysis, events file
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def imwg3(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    labs: list[str] = []
    pats: list[str] = []

    def add(pid: str, rows: list[str]) -> None:
        labs.extend(rows)
        pats.append(pat(pid))

    def cr_course(pid: str, kappa_after: float, clonal: bool, flc_only: bool = False) -> list[str]:
        base_s, base_k = (0.3, 80.0) if flc_only else (2.0, 4.0)
        rows = [
            lab(pid, BASE, "serum_m_protein", base_s),
            lab(pid, BASE, "urine_m_protein", 50),
            lab(pid, BASE, "serum_ife", "positive"),
            lab(pid, BASE, "urine_ife", "positive"),
            lab(pid, BASE, "kappa_flc", base_k),
            lab(pid, BASE, "lambda_flc", 1.0),
        ]
        for d in (F[1], F[2]):
            rows += [
                lab(pid, d, "serum_m_protein", 0),
                lab(pid, d, "urine_m_protein", 0),
                lab(pid, d, "serum_ife", "negative"),
                lab(pid, d, "urine_ife", "negative"),
                lab(pid, d, "kappa_flc", kappa_after),
                lab(pid, d, "lambda_flc", 1.0),
            ]
        rows.append(lab(pid, F[1], "bm_plasma_cells", 2))
        if clonal:
            rows.append(f"{pid},{F[1]},bm_clonal_cells,negative,,,")
        return rows

    # CR with normal FLC ratio (1.2) but no clonality result: CR, not sCR
    add("CRNOCLON", cr_course("CRNOCLON", 1.2, clonal=False))
    # FLC-only disease reaching IFE-negative, marrow 2 %, but FLC ratio still abnormal (3.0): not CR
    add("FLCCR", cr_course("FLCCR", 3.0, clonal=False, flc_only=True))
    # urine-only disease (serum 0.4, urine 500): serum rises 0.3 -> 0.8 (+0.5, +167 %) twice: PD
    add(
        "USERPD",
        [
            r
            for d, s, u in [
                (BASE, 0.4, 500),
                (F[0], 0.3, 40),
                (F[1], 0.3, 40),
                (F[2], 0.8, 40),
                (F[3], 0.8, 40),
            ]
            for r in (
                lab("USERPD", d, "serum_m_protein", s),
                lab("USERPD", d, "urine_m_protein", u),
            )
        ],
    )
    # serum-measurable disease, stable serum; marrow 10 % -> 30 %: no PD by marrow
    add(
        "SERBM",
        _serum_course("SERBM", [(BASE, 2.0), (F[0], 0.8), (F[1], 0.8), (F[2], 0.8), (F[3], 0.8)])
        + [lab("SERBM", F[0], "bm_plasma_cells", 10), lab("SERBM", F[2], "bm_plasma_cells", 30)],
    )
    return assess(tmp_path_factory.mktemp("imwg3"), labs, pats)


def test_scr_needs_absence_of_clonal_cells(imwg3: dict[str, dict]) -> None:
    """Kumar 2016 sCR: "CR as defined below plus normal FLC ratio and absence of clonal cells in
    bone marrow biopsy by immunohistochemistry" (Durie 2006 sCR: "Absence of clonal cells in bone
    marrow by immunohistochemistry or immunofluorescence"). IFE negative, marrow 2 %, FLC ratio
    normal, no clonality result: CR, not sCR."""
    p = imwg3["CRNOCLON"]
    assert response_on(p, F[1])["response"] == "CR"
    assert p["best_response"] == "CR"


def test_cr_in_flc_only_disease_needs_normal_ratio(imwg3: dict[str, dict]) -> None:
    """Durie 2006 Table 3 footnote to CR (Rajkumar 2011 Table 1): "In patients for whom the only
    measurable disease is by serum FLC levels, a normal FLC ratio of 0.26-1.65 in addition to CR
    criteria is required" (Kumar 2016 repeats it for CR). FLC-only disease, IFE negative, marrow
    2 %, ratio 3.0: not CR."""
    p = imwg3["FLCCR"]
    assert "flc" in str(p["measurable_by"]).lower()
    assert response_on(p, F[1])["response"] not in ("CR", "sCR")


def test_serum_pd_in_urine_only_disease(imwg3: dict[str, dict]) -> None:
    """Kumar 2016 PD: "Any one or more of the following criteria: Serum M-protein (absolute
    increase must be >=0.5 g/dL) ..." with 25 % from the lowest value; the serum criterion is not
    restricted to patients measurable in serum (only the FLC and marrow criteria are). Urine-only
    disease, serum 0.3 -> 0.8 twice: PD."""
    p = imwg3["USERPD"]
    assert response_on(p, F[2])["response"] == "PD"
    assert p["progression_date"] is not None


def test_marrow_rise_is_not_pd_when_serum_measurable(imwg3: dict[str, dict]) -> None:
    """Kumar 2016 PD marrow criterion applies only "In patients without measurable serum and urine
    M-protein levels and without measurable involved FLC levels" (Rajkumar 2011 Table 1: "Only in
    patients without measurable serum and urine M protein levels and without measurable disease by
    FLC levels"). Serum 2.0 at baseline, stable 0.8; marrow 10 -> 30 %: no PD."""
    p = imwg3["SERBM"]
    assert p["progression_date"] is None
    assert all(a["response"] != "PD" for a in p["assessments"])


PAT_HEADER_D = PAT_HEADER + ",dialysis"


@pytest.fixture(scope="module")
def len3(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    tmp = tmp_path_factory.mktemp("len3")
    labs = [LAB_HEADER]
    pats = [PAT_HEADER_D]
    for pid, anc, plt, cr, agent, dose, dial in [
        ("STOK", 1.0, 75, 1.0, "lenalidomide", 10, "no"),
        ("STBAD", 0.9, 70, 1.0, "lenalidomide", 10, "no"),
        ("LDIAL", 3.0, 200, 6.0, "lenalidomide", 10, "yes"),
        ("IDIAL", 3.0, 200, 6.0, "ixazomib", 4, "yes"),
    ]:
        labs += _serum_course(pid, [(BASE, 2.0), (F[1], 0.8), (F[2], 0.8)])
        labs += [
            lab(pid, "2024-12-20", "anc", anc),
            lab(pid, "2024-12-20", "platelets", plt),
            lab(pid, "2024-12-20", "creatinine", cr, "", "1.2"),
        ]
        pats.append(pat(pid, agent=agent, dose=dose) + f",{dial}")
    (tmp / "labs.csv").write_text("\n".join(labs) + "\n", encoding="utf-8")
    (tmp / "patients.csv").write_text("\n".join(pats) + "\n", encoding="utf-8")
    proc = _cli(tmp)
    assert proc.returncode == 0, proc.stderr
    return {p["patient_id"]: p for p in json.loads(proc.stdout)}


def _start_alerts(p: dict) -> list[dict]:
    return [a for a in p["alerts"] if "start" in (a["rule"] + a["message"]).lower()]


def test_len_start_criteria_boundaries(len3: dict[str, dict]) -> None:
    """REVLIMID label section 2 (maintenance): "initiate REVLIMID maintenance therapy after adequate
    hematologic recovery (ANC >= 1000/mcL and/or platelet counts >= 75,000/mcL)". ANC exactly 1.0
    and platelets exactly 75 x10^9/L meet it (no start alert); ANC 0.9 and platelets 70 meet
    neither (alert). (One met and one not is ambiguous under "and/or" and is not asserted.)"""
    assert not _start_alerts(len3["STOK"]), len3["STOK"]["alerts"]
    assert _start_alerts(len3["STBAD"]), len3["STBAD"]["alerts"]


def test_len_dialysis_dose(len3: dict[str, dict]) -> None:
    """REVLIMID label renal table, maintenance column: "CLcr < 30 mL/min (requiring dialysis)":
    2.5 mg once daily; on dialysis days, administer the dose following dialysis."""
    acts = _renal_actions(len3["LDIAL"])
    assert any(a["dose"] == 2.5 for a in acts), len3["LDIAL"]["dose_actions"]
    assert any("dialysis" in (a["schedule"] + a["reason"]).lower() for a in acts)


def test_ixazomib_dialysis_dose(len3: dict[str, dict]) -> None:
    """NINLARO label section 2 / 8.6: 3 mg for "end-stage renal disease (ESRD) requiring dialysis";
    NINLARO is not dialyzable and can be given without regard to the timing of dialysis."""
    acts = _renal_actions(len3["IDIAL"])
    assert any(a["dose"] == 3.0 for a in acts), len3["IDIAL"]["dose_actions"]


def test_event_grade_out_of_range_rejected(tmp_path: Path) -> None:
    """CTCAE v5.0 grades run 1-5 ("Grade 5 Death related to AE"); grade 7 in events.csv line 2 is
    rejected naming the file, line and field grade."""
    proc = run(
        tmp_path,
        GOOD_LABS,
        [pat("B1")],
        events=["B1,2025-02-15,peripheral_sensory_neuropathy,7,no"],
    )
    _one_line_error(proc, "events.csv", "line 2", "grade")


def test_event_unknown_term_rejected(tmp_path: Path) -> None:
    """An adverse-event term that is not a CTCAE v5.0 term (typo) is rejected naming events.csv,
    line 2 and field term, rather than silently ignored."""
    proc = run(tmp_path, GOOD_LABS, [pat("B1")], events=["B1,2025-02-15,neuropathyy,3,no"])
    _one_line_error(proc, "events.csv", "line 2", "term")


# --------------------------------------------------------------------------------------------
# Fifth batch: PD from a zero nadir, dose ceilings, actions outside the maintenance window
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    labs: list[str] = []
    pats: list[str] = []

    def add(pid: str, rows: list[str], prow: str | None = None) -> None:
        labs.extend(rows)
        pats.append(prow or pat(pid))

    # CR with serum 0, then 0.5 g/dL twice: PD (+0.5 absolute; any rise from 0 exceeds 25 %)
    pid = "CRPD"
    rows = [
        lab(pid, BASE, "serum_m_protein", 2.0),
        lab(pid, BASE, "urine_m_protein", 50),
        lab(pid, BASE, "serum_ife", "positive"),
        lab(pid, BASE, "urine_ife", "positive"),
    ]
    for d in (F[0], F[1]):
        rows += [
            lab(pid, d, "serum_m_protein", 0),
            lab(pid, d, "urine_m_protein", 0),
            lab(pid, d, "serum_ife", "negative"),
            lab(pid, d, "urine_ife", "negative"),
        ]
    rows.append(lab(pid, F[0], "bm_plasma_cells", 2))
    for d in (F[2], F[3]):
        rows += [
            lab(pid, d, "serum_m_protein", 0.5),
            lab(pid, d, "urine_m_protein", 0),
            lab(pid, d, "serum_ife", "positive"),
        ]
    add(pid, rows)
    # urine-only disease, urine nadir 0 -> 200 mg/24h twice: PD
    pid = "UZERO"
    add(
        pid,
        [
            r
            for d, u in [(BASE, 600), (F[0], 0), (F[1], 0), (F[2], 200), (F[3], 200)]
            for r in (lab(pid, d, "serum_m_protein", 0.3), lab(pid, d, "urine_m_protein", u))
        ],
    )
    # dose ceilings: lenalidomide 15 mg and ixazomib 4 mg are never escalated further
    for pid, agent, dose in [("LEN15", "lenalidomide", 15), ("IXA4", "ixazomib", 4)]:
        rows = _serum_course(pid, [(BASE, 2.0), (F[1], 0.8), (F[3], 0.8), (F[5], 0.8)])
        rows += [
            lab(pid, d, a, v)
            for d in ["2024-12-20", *F]
            for a, v in (("anc", 3.0), ("platelets", 200), ("creatinine", 1.0))
        ]
        add(pid, rows, pat(pid, agent=agent, dose=dose))
    # platelets 25 during induction (before maintenance): no lenalidomide maintenance hold
    pid = "PREIND"
    add(
        pid,
        _serum_course(pid, [(BASE, 2.0), (F[1], 0.8), (F[2], 0.8)])
        + [lab(pid, "2024-08-01", "platelets", 25), lab(pid, "2024-12-20", "platelets", 200)]
        + [lab(pid, "2024-12-20", "anc", 3.0)],
    )
    # stopped on 2025-03-01; platelets 25 on 2025-04-01 (F[2]): no action after the stop
    pid = "STOPPED"
    add(
        pid,
        _serum_course(pid, [(BASE, 2.0), (F[1], 0.8), (F[2], 0.8)])
        + [lab(pid, "2024-12-20", "platelets", 200), lab(pid, "2024-12-20", "anc", 3.0)]
        + [lab(pid, F[2], "platelets", 25), lab(pid, "2025-04-15", "platelets", 150)],
        f"{pid},{START},lenalidomide,10,{DIAG},2025-03-01,60,M,72",
    )
    return assess(tmp_path_factory.mktemp("edge"), labs, pats)


def test_pd_from_zero_serum_nadir_after_cr(edge: dict[str, dict]) -> None:
    """Kumar 2016 PD (serum: 25 % from the lowest value and absolute increase >= 0.5 g/dL); the
    Farydak/IMWG note: patients in CR "must also meet the criteria for progressive disease". CR
    with serum 0, then 0.5 g/dL twice: +0.5 g/dL from 0 meets both parts -> PD (a rise from a zero
    nadir must not be lost to a division by zero)."""
    p = edge["CRPD"]
    assert response_on(p, F[2])["response"] == "PD"
    assert p["progression_date"] is not None


def test_urine_pd_from_zero_nadir(edge: dict[str, dict]) -> None:
    """Kumar 2016 PD: "Urine M-protein (absolute increase must be >=200 mg/24 h)" with 25 % from the
    lowest value. Urine-only disease, urine 600 -> 0 -> 200 mg/24h twice: PD."""
    p = edge["UZERO"]
    assert response_on(p, F[2])["response"] == "PD"
    assert p["progression_date"] is not None


def test_no_escalation_beyond_label_maximum(edge: dict[str, dict]) -> None:
    """REVLIMID label section 2: maintenance starts at 10 mg and "can be increased to 15 mg once
    daily if tolerated" (15 mg is the top of the maintenance ladder); NINLARO dose steps top out at
    the 4 mg starting dose. Patients already at 15 mg / 4 mg get no escalation to a higher dose."""
    for pid, top in (("LEN15", 15.0), ("IXA4", 4.0)):
        acts = actions(edge[pid])
        assert not [a for a in acts if a["dose"] is not None and a["dose"] > top], (pid, acts)
        assert not [a for a in acts if is_escalation(a)], (pid, acts)


def test_no_maintenance_hold_for_induction_counts(edge: dict[str, dict]) -> None:
    """REVLIMID label section 2: the maintenance dose adjustments apply "During MM Maintenance
    Therapy"; a platelet count of 25 x10^9/L during induction (2024-08-01), recovered to 200 before
    maintenance, is not a lenalidomide maintenance hold."""
    acts = actions(edge["PREIND"])
    assert not [a for a in acts if is_hold(a)], acts
    assert not [a for a in acts if a["date"] < START], acts


def test_no_dose_action_after_stop_date(edge: dict[str, dict]) -> None:
    """Lenalidomide stopped on 2025-03-01 (patients.csv stop_date): a platelet fall on 2025-04-01
    and recovery on 2025-04-15 must not produce a hold/resume for a drug the patient no longer
    takes (the REVLIMID maintenance adjustments apply during therapy)."""
    acts = actions(edge["STOPPED"])
    assert not [a for a in acts if a["date"] > "2025-03-01"], acts


# --------------------------------------------------------------------------------------------
# Sixth batch: blood counts between two disease assessments do not break "consecutive"
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def interleaved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    labs: list[str] = []
    pats: list[str] = []
    # PR on 2025-03-01 and 2025-04-01 with a blood count only on 2025-03-15 between them
    pid = "PRCBC"
    labs += _serum_course(pid, [(BASE, 3.0), (F[1], 1.2), (F[2], 1.2)])
    labs += [lab(pid, "2025-03-15", "anc", 3.0), lab(pid, "2025-03-15", "platelets", 200)]
    pats.append(pat(pid))
    # PD on 2025-04-01 and 2025-05-01 (nadir 1.0 -> 1.6) with a blood count only on 2025-04-15
    pid = "PDCBC"
    labs += _serum_course(pid, [(BASE, 3.0), (F[0], 1.0), (F[1], 1.0), (F[2], 1.6), (F[3], 1.6)])
    labs += [lab(pid, "2025-04-15", "anc", 3.0), lab(pid, "2025-04-15", "platelets", 200)]
    pats.append(pat(pid))
    return assess(tmp_path_factory.mktemp("interleaved"), labs, pats)


def test_response_confirmed_across_a_blood_count_only_date(interleaved: dict[str, dict]) -> None:
    """Durie 2006 Table 5 footnote a: "All response categories require two consecutive assessments"
    - consecutive response assessments (serum/urine M-protein), so a blood count taken between
    them is not an assessment. PR (-60 %) on 2025-03-01 and 2025-04-01: confirmed PR."""
    p = interleaved["PRCBC"]
    assert p["best_response"] == "PR", p["assessments"]


def test_progression_confirmed_across_a_blood_count_only_date(interleaved: dict[str, dict]) -> None:
    """Durie 2006 footnote: "All relapse categories require two consecutive assessments"; Kumar 2016
    PD serum criterion. Nadir 1.0 -> 1.6 on 2025-04-01 and 2025-05-01, blood count only on
    2025-04-15: confirmed progression."""
    p = interleaved["PDCBC"]
    assert p["progression_date"] is not None, p["assessments"]


# --------------------------------------------------------------------------------------------
# Seventh batch: white blood cell decreased; ixazomib neutropenia
# --------------------------------------------------------------------------------------------

WBC_CASES = [(3.0, 1), (2.99, 2), (2.0, 2), (1.99, 3), (1.0, 3), (0.99, 4)]


@pytest.fixture(scope="module")
def misc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    labs: list[str] = []
    pats: list[str] = []
    for i, (v, _g) in enumerate(WBC_CASES):
        pid = f"W{i}"
        labs += [lab(pid, BASE, "serum_m_protein", 2.0), lab(pid, F[1], "wbc", v, "4.0", "")]
        pats.append(pat(pid))
    pid = "IXANC"
    labs += _serum_course(pid, [(BASE, 2.0), (F[1], 0.8), (F[3], 0.8)])
    labs += [lab(pid, d, "platelets", 200) for d in ("2024-12-20", "2025-02-01", "2025-02-15")]
    labs += [
        lab(pid, d, "anc", v)
        for d, v in [("2024-12-20", 3.0), ("2025-02-01", 0.4), ("2025-02-15", 1.2)]
    ]
    pats.append(pat(pid, agent="ixazomib", dose=3))
    return assess(tmp_path_factory.mktemp("misc"), labs, pats)


@pytest.mark.parametrize(
    ("i", "case"), list(enumerate(WBC_CASES)), ids=[str(c[0]) for c in WBC_CASES]
)
def test_ctcae_wbc_decreased(misc: dict[str, dict], i: int, case: tuple) -> None:
    """CTCAE v5.0 Investigations, White blood cell decreased: G1 "<LLN - 3000/mm3", G2 "<3000 -
    2000/mm3", G3 "<2000 - 1000/mm3", G4 "<1000/mm3" (LLN 4.0 x10^9/L here)."""
    v, expected = case
    p = misc[f"W{i}"]
    assert grade(p, "white_blood_cell_decreased", F[1]) == expected, p["ctcae"]


def test_ixazomib_neutropenia_first_resume_at_most_recent_dose(misc: dict[str, dict]) -> None:
    """NINLARO US label section 2 Table, neutropenia (ANC <500/mm3): "Withhold NINLARO ... until ANC
    is at least 500/mm3 ... Following recovery, ... resume NINLARO at its most recent dose". On
    3 mg, ANC 0.4 on 2025-02-01 -> withhold; ANC 1.2 on 2025-02-15 -> resume at 3 mg."""
    acts = actions(misc["IXANC"])
    assert any(is_hold(a) and a["date"] == "2025-02-01" for a in acts), acts
    res = [a for a in acts if "resume" in a["action"].lower()]
    assert res and res[0]["dose"] == 3.0, acts


# --------------------------------------------------------------------------------------------
# Eighth batch: FLC-only and marrow-only response boundaries (no MR outside M-protein disease)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def alt(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    labs: list[str] = []
    pats: list[str] = []

    def flc(pid: str, kappa_after: float) -> None:
        labs.extend(
            [
                lab(pid, BASE, "serum_m_protein", 0.3),
                lab(pid, BASE, "urine_m_protein", 50),
                lab(pid, BASE, "kappa_flc", 80),
                lab(pid, BASE, "lambda_flc", 1.0),
            ]
            + [
                r
                for d in (F[1], F[2])
                for r in (lab(pid, d, "kappa_flc", kappa_after), lab(pid, d, "lambda_flc", 1.0))
            ]
        )
        pats.append(pat(pid))

    def marrow(pid: str, base: float, after: float) -> None:
        labs.extend(
            [
                lab(pid, BASE, "serum_m_protein", 0.2),
                lab(pid, BASE, "urine_m_protein", 20),
                lab(pid, BASE, "kappa_flc", 1.2),
                lab(pid, BASE, "lambda_flc", 1.0),
                lab(pid, BASE, "bm_plasma_cells", base),
                lab(pid, F[1], "bm_plasma_cells", after),
            ]
        )
        pats.append(pat(pid))

    flc("FLC50", 40.5)  # dFLC 79 -> 39.5: exactly 50 %
    flc("FLC49", 41.29)  # dFLC 79 -> 40.29: 49 %
    marrow("BM375", 40, 25)  # 37.5 % fall
    marrow("BM25", 25, 10)  # 60 % fall but baseline < 30 %
    return assess(tmp_path_factory.mktemp("alt"), labs, pats)


def test_flc_only_pr_at_exactly_50_percent(alt: dict[str, dict]) -> None:
    """Kumar 2016 / Durie 2006 PR: "If the serum and urine M-protein are unmeasurable, a >=50%
    decrease in the difference between involved and uninvolved FLC levels is required in place of
    the M-protein criteria". dFLC 79 -> 39.5 mg/dL is exactly 50 %: PR."""
    assert response_on(alt["FLC50"], F[1])["response"] == "PR"


def test_flc_only_49_percent_is_neither_pr_nor_mr(alt: dict[str, dict]) -> None:
    """Kumar 2016 MR is defined only by M-protein (">=25% but <=49% reduction of serum M-protein and
    reduction in 24-h urine M-protein by 50-89%"); there is no FLC or marrow MR. dFLC -49 % in
    FLC-only disease is SD."""
    r = response_on(alt["FLC49"], F[1])["response"]
    assert r not in ("PR", "MR"), r


def test_marrow_only_partial_fall_is_not_mr(alt: dict[str, dict]) -> None:
    """Kumar 2016: marrow response exists only as PR (>=50 % reduction, baseline >=30 %); MR is an
    M-protein category. Marrow 40 -> 25 % (-37.5 %) in marrow-only disease: not PR, not MR."""
    r = response_on(alt["BM375"], F[1])["response"]
    assert r not in ("PR", "MR"), r


def test_marrow_only_pr_needs_baseline_30_percent(alt: dict[str, dict]) -> None:
    """Kumar 2016 / Durie 2006 PR: ">=50% reduction in plasma cells ... provided baseline bone
    marrow plasma-cell percentage was >=30%". Baseline 25 % -> 10 % (-60 %): not PR."""
    r = response_on(alt["BM25"], F[1])["response"]
    assert r not in ("PR", "VGPR"), r


def test_conflicting_patient_rows_rejected(tmp_path: Path) -> None:
    """Two patients.csv rows for the same patient with different doses (10 and 15 mg, lines 2 and
    3) cannot both hold: rejected naming patients.csv, not silently resolved to one of them."""
    proc = run(tmp_path, GOOD_LABS, [pat("B1", dose=10), pat("B1", dose=15)])
    _one_line_error(proc, "patients.csv")


def test_negative_value_rejected(tmp_path: Path) -> None:
    """A negative serum M-protein (-0.5 g/dL) is impossible: rejected naming labs.csv, line 3 and
    field value."""
    proc = run(tmp_path, [GOOD_LABS[0], lab("B1", F[1], "serum_m_protein", -0.5)], [pat("B1")])
    _one_line_error(proc, "labs.csv", "line 3", "value")


def test_len_no_escalation_after_cytopenic_hold_in_first_cycles(len_run: dict[str, dict]) -> None:
    """REVLIMID label section 2 (maintenance): "After 3 cycles of maintenance therapy, the dose can
    be increased to 15 mg once daily if tolerated". A hold for platelets < 30 or ANC < 0.5 x10^9/L
    in cycle 2, resumed at 5 mg, is not "tolerated": no escalation to 15 mg is offered."""
    for pid in ("PLT29", "ANC049"):
        acts = actions(len_run[pid])
        assert not [a for a in acts if a["dose"] == 15.0 or is_escalation(a)], (pid, acts)


def test_explicit_diagnosis_baseline_equals_default(tmp_path: Path) -> None:
    """One answer per question (brief): `--baseline diagnosis` is documented as the default, so the
    explicit option and no option give the same response for a patient whose maintenance-start
    value (0.2 g/dL) differs from the pre-treatment value (3.0 g/dL): VGPR (-93 %, urine 50)."""
    rows = _serum_course("BX", [(BASE, 3.0), ("2024-12-20", 0.2), (F[1], 0.2), (F[2], 0.2)])
    default = assess(tmp_path / "a", rows, [pat("BX")])
    explicit = assess(tmp_path / "b", rows, [pat("BX")], baseline="diagnosis")
    assert default["BX"]["assessments"] == explicit["BX"]["assessments"]
    assert default["BX"]["best_response"] == explicit["BX"]["best_response"] == "VGPR"
