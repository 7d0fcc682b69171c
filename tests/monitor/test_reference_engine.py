"""Property test: the vectorised engine and the row-by-row reference engine agree on every output.

Random registries (hypothesis) of a few patients each: every disease type (serum, urine, FLC-only,
marrow-only, non-measurable), values drawn near the rule boundaries, units other than the
canonical one, gaps and missing analytes, lab reference limits, diagnosis dates before or after
the first assessment, lenalidomide/ixazomib/no maintenance with ladder doses, age/sex/weight
(creatinine clearance) or not, dialysis, blood counts that open and close holds, a stop date.
The reference (:mod:`tests.monitor.reference_engine`) is the oracle; the regression snapshot
only guards against unintended change.
"""

from __future__ import annotations

import datetime as dt
import io
import math

import reference_engine as R  # tests/monitor is on sys.path (rootdir-relative import)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from plateau.monitor import engine
from plateau.monitor import io as mio
from plateau.rules import units as U

BOUNDARY = {
    "serum_m_protein": [0.0, 0.1, 0.4, 0.5, 0.9, 1.0, 1.5, 2.0, 2.5, 4.0, 5.0, 6.0],
    "urine_m_protein": [0.0, 50.0, 99.0, 100.0, 199.0, 200.0, 400.0, 600.0],
    "kappa_flc": [0.5, 1.0, 1.5, 2.0, 5.0, 9.9, 10.0, 10.5, 20.0, 50.0],
    "lambda_flc": [0.5, 1.0, 1.2, 2.0, 5.0, 10.5, 20.0],
    "bm_plasma_cells": [0.0, 4.0, 5.0, 9.0, 10.0, 15.0, 20.0, 30.0, 40.0, 60.0],
    "anc": [0.3, 0.49, 0.5, 0.6, 1.0, 1.49, 1.5, 2.0, 3.0],
    "platelets": [10.0, 24.0, 25.0, 29.0, 30.0, 49.0, 50.0, 75.0, 150.0, 250.0],
    "wbc": [0.9, 1.0, 2.0, 3.0, 4.0, 6.0],
    "hemoglobin": [7.9, 8.0, 9.9, 10.0, 11.0, 12.0, 13.0, 14.0],
    "creatinine": [0.6, 0.9, 1.0, 1.2, 1.5, 1.8, 2.0, 3.0, 3.6, 4.0, 7.2],
    "calcium": [9.0, 10.2, 10.3, 11.5, 11.6, 12.5, 13.5, 13.6],
    "plasmacytoma_spd": [0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 9.0],
}
QUAL = ("serum_ife", "urine_ife", "bm_clonal_cells", "new_bone_lesion", "new_plasmacytoma")
# alternative units: (unit, divisor from canonical): value_in_unit = canonical / divisor
ALT = {
    "serum_m_protein": ("g/L", 0.1),
    "urine_m_protein": ("g/24h", 1000.0),
    "kappa_flc": ("mg/L", 0.1),
    "lambda_flc": ("mg/L", 0.1),
    "anc": ("/uL", 1e-3),
    "platelets": ("/uL", 1e-3),
    "hemoglobin": ("g/L", 0.1),
    "creatinine": ("umol/L", 1.0 / 88.42),
    "calcium": ("mmol/L", 4.0078),
    "plasmacytoma_spd": ("mm2", 0.01),
}
EPOCH = dt.date(2020, 1, 1)


@st.composite
def patient(draw, pid: str):
    kind = draw(st.sampled_from(["serum", "urine", "flc", "marrow", "none", "mixed"]))
    agent = draw(st.sampled_from(["lenalidomide", "lenalidomide", "ixazomib", "none"]))
    dose = {
        "lenalidomide": draw(st.sampled_from([10.0, 15.0, 15.0, 5.0])),
        "ixazomib": draw(st.sampled_from([3.0, 4.0])),
        "none": math.nan,
    }[agent]
    n_visits = draw(st.integers(2, 7))
    gaps = draw(st.lists(st.integers(7, 70), min_size=n_visits, max_size=n_visits))
    first = draw(st.integers(0, 400))
    days, d = [], first
    for g in gaps:
        days.append(d)
        d += g
    start = days[0] + draw(st.integers(-30, 60))
    diag_mode = draw(st.sampled_from(["before", "at", "after", "none"]))
    diagnosis = {
        "before": days[0] - 5,
        "at": days[0],
        "after": days[0] + draw(st.integers(1, 60)),
        "none": None,
    }[diag_mode]
    if diagnosis is not None:  # never after the start of maintenance (read_patients rejects it)
        diagnosis = min(diagnosis, start)
    disease = {
        "serum": ["serum_m_protein"],
        "urine": ["urine_m_protein"],
        "flc": ["kappa_flc", "lambda_flc"],
        "marrow": ["bm_plasma_cells"],
        "none": ["serum_m_protein"],
        "mixed": ["serum_m_protein", "urine_m_protein", "kappa_flc", "lambda_flc"],
    }[kind]
    labs = []
    for i, day in enumerate(days):
        present = [a for a in disease if draw(st.booleans()) or i == 0]
        extra = draw(
            st.lists(
                st.sampled_from(
                    ["urine_m_protein", "serum_ife", "urine_ife", "bm_plasma_cells"]
                    + ["bm_clonal_cells", "new_bone_lesion", "new_plasmacytoma", "kappa_flc"]
                    + ["anc", "platelets", "wbc", "hemoglobin", "creatinine", "calcium"]
                    + ["anc", "platelets", "creatinine", "plasmacytoma_spd"]
                ),
                max_size=6,
                unique=True,
            )
        )
        for a in dict.fromkeys(present + extra):
            if a in ("new_bone_lesion", "new_plasmacytoma") and draw(st.integers(0, 2)) > 0:
                continue
            if a in QUAL:
                labs.append((day, a, float(draw(st.booleans())), math.nan, math.nan))
                continue
            v = draw(st.sampled_from(BOUNDARY[a]))
            if kind == "none" and a == "serum_m_protein":
                v = min(v, 0.9)
            lln = uln = math.nan
            if a in ("anc", "platelets", "hemoglobin", "wbc") and draw(st.integers(0, 3)) == 0:
                lln = {"anc": 1.8, "platelets": 140.0, "hemoglobin": 11.5, "wbc": 3.5}[a]
            if a in ("creatinine", "calcium") and draw(st.integers(0, 3)) == 0:
                uln = {"creatinine": draw(st.sampled_from([1.1, 1.2, 1.3])), "calcium": 10.4}[a]
            labs.append((day, a, v, lln, uln))
        # blood counts between visits (holds and resumes)
        if agent != "none" and draw(st.integers(0, 3)) > 0:
            for cday in sorted({day + draw(st.integers(1, 3)), day + draw(st.integers(4, 6))}):
                for a in ("anc", "platelets"):
                    if draw(st.integers(0, 2)) > 0:
                        v = draw(st.sampled_from(BOUNDARY[a]))
                        labs.append((cday, a, v, math.nan, math.nan))
    has_cg = draw(st.integers(0, 3)) > 0
    # maintenance stopped (patients.csv stop_date) in one patient of three, anywhere from the
    # start to after the last result
    stop = (
        start + draw(st.integers(0, max(days[-1] - start, 0) + 10))
        if draw(st.integers(0, 2)) == 0
        else None
    )
    return R.Patient(
        pid=pid,
        agent=agent,
        dose=dose,
        start=start,
        diagnosis=diagnosis,
        age=float(draw(st.sampled_from([45, 60, 68, 78]))) if has_cg else math.nan,
        sex=draw(st.sampled_from(["F", "M"])) if has_cg else "",
        weight=float(draw(st.sampled_from([55, 60, 80]))) if has_cg else math.nan,
        dialysis=draw(st.integers(0, 9)) == 0,
        labs=labs,
        stop=stop,
    )


@st.composite
def registry(draw):
    n = draw(st.integers(1, 4))
    pats = [draw(patient(f"P{i}")) for i in range(n)]
    alt = draw(st.booleans())
    return pats, alt


def _date(day: int) -> str:
    return (EPOCH + dt.timedelta(days=int(day))).isoformat()


def _fmt(x: float) -> str:
    return "" if math.isnan(x) else repr(float(x))


def _csv(pats, alt: bool):
    """labs.csv / patients.csv text; with ``alt`` some values are written in another unit.

    Returns the texts and the patients with day numbers and canonical values exactly as the
    reader computes them (value x factor), so that the reference sees the same numbers.
    """
    lab_lines = ["patient_id,date,analyte,value,unit,lln,uln"]
    canon = []
    for p in pats:
        rows = []
        for k, (day, a, v, lln, uln) in enumerate(p.labs):
            unit = U.ANALYTES[a].canonical_unit
            text, lt_, ut_ = _fmt(v), _fmt(lln), _fmt(uln)
            factor = 1.0
            if alt and a in ALT and k % 2 == 0:
                unit, factor = ALT[a]
                text = repr(v / factor)
                lt_ = "" if math.isnan(lln) else repr(lln / factor)
                ut_ = "" if math.isnan(uln) else repr(uln / factor)
            if a in QUAL:
                text, unit = ("positive" if v == 1 else "negative"), ""
            lab_lines.append(f"{p.pid},{_date(day)},{a},{text},{unit},{lt_},{ut_}")
            lln_c = math.nan if lt_ == "" else float(lt_) * factor
            uln_c = math.nan if ut_ == "" else float(ut_) * factor
            value = v if a in QUAL else float(text) * factor
            rows.append((day, a, value, lln_c, uln_c))
        canon.append(
            R.Patient(
                p.pid,
                p.agent,
                p.dose,
                p.start,
                p.diagnosis,
                p.age,
                p.sex,
                p.weight,
                p.dialysis,
                rows,
                p.stop,
            )
        )
    pat_lines = [
        "patient_id,maintenance_start,agent,dose_mg,diagnosis_date,stop_date,age,sex,weight_kg,"
        "dialysis"
    ]
    for p in pats:
        pat_lines.append(
            ",".join(
                [
                    p.pid,
                    _date(p.start),
                    p.agent,
                    "" if math.isnan(p.dose) else repr(p.dose),
                    "" if p.diagnosis is None else _date(p.diagnosis),
                    "" if p.stop is None else _date(p.stop),
                    "" if math.isnan(p.age) else repr(p.age),
                    p.sex,
                    "" if math.isnan(p.weight) else repr(p.weight),
                    "yes" if p.dialysis else "no",
                ]
            )
        )
    return "\n".join(lab_lines) + "\n", "\n".join(pat_lines) + "\n", canon


def _engine_view(p: dict) -> dict:
    return {
        "baseline_date": p["baseline_date"],
        "measurable_by": p["measurable_by"],
        "best_response": p["best_response"],
        "best_response_date": p["best_response_date"],
        "progression_date": p["progression_date"],
        "assessments": [
            (
                a["date"],
                a["response"],
                a["confirmed"],
                "+".join(a.get("pd_criteria", [])),
                a.get("note", ""),
            )
            for a in p["assessments"]
        ],
        "ctcae": sorted((g["date"], g["term"], g["grade"]) for g in p["ctcae"]),
        "dose_actions": sorted(
            (a["date"], a["action"], a["dose"], a["schedule"], a["rule"]) for a in p["dose_actions"]
        ),
    }


def _reference_view(r: dict) -> dict:
    im = r["imwg"]

    def d(x):
        return None if x is None else _date(x)

    return {
        "baseline_date": d(im["baseline_day"]),
        "measurable_by": im["measurable_by"],
        "best_response": im["best"],
        "best_response_date": d(im["best_day"]) if im["best"] is not None else None,
        "progression_date": d(im["prog_day"]),
        "assessments": [(d(a[0]),) + a[1:] for a in im["assessments"]],
        "ctcae": sorted((d(day), term, g) for day, term, g in r["ctcae"]),
        "dose_actions": sorted((d(a[0]),) + tuple(a[1:]) for a in r["dose_actions"]),
    }


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: bounded CI time
)
@given(registry())
def test_engine_agrees_with_reference(reg):
    pats, alt = reg
    labs_csv, pats_csv, canon = _csv(pats, alt)
    labs = mio.read_labs(io.StringIO(labs_csv)).frame
    patients = mio.read_patients(io.StringIO(pats_csv)).frame
    got = {p["patient_id"]: _engine_view(p) for p in engine.assess(labs, patients).to_dict()}
    want = {pid: _reference_view(r) for pid, r in R.assess(canon).items()}
    for pid in want:
        for key in want[pid]:
            assert got[pid][key] == want[pid][key], (pid, key, labs_csv, pats_csv)
