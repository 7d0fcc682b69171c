"""CTCAE v5.0 grades at every boundary, written from the CTCAE v5.0 spreadsheet.

Range semantics of CTCAE: "G2 >1.5 - 3.0 x ULN" means a value above 1.5 x ULN up to and
including 3.0 x ULN; "G2 <1.5 - 1.0" (neutrophils) means below 1.5 down to and including 1.0.
A value exactly on a boundary therefore stays in the lower grade of an "increased" term and in
the lower grade of a "decreased" term.  Multiples of the ULN are computed in binary floating
point (1.5 x 1.2 = 1.7999999999999998): the engine must still grade 1.8 as G1.
"""

from __future__ import annotations

import io

import pytest

from plateau.monitor import engine
from plateau.monitor import io as mio
from plateau.monitor.ctcae import grade_lab


@pytest.mark.parametrize(
    "value,grade",
    [
        (1.2, 0),  # = ULN: not > ULN
        (1.21, 1),
        (1.8, 1),  # = 1.5 x ULN: top of G1 (the floating-point bug graded it G2)
        (1.81, 2),
        (3.6, 2),  # = 3.0 x ULN: top of G2
        (3.61, 3),
        (7.2, 3),  # = 6.0 x ULN: top of G3
        (7.21, 4),
    ],
)
def test_creatinine_multiples_of_uln(value, grade):
    assert grade_lab("creatinine", [value], uln=[1.2], use_baseline=False).tolist() == [grade]


@pytest.mark.parametrize("uln", [0.9, 1.1, 1.2, 1.3, 1.4, 1.17, 0.7])
@pytest.mark.parametrize("mult,grade_at", [(1.0, 0), (1.5, 1), (3.0, 2), (6.0, 3)])
def test_creatinine_exactly_at_each_multiple_stays_in_the_lower_grade(uln, mult, grade_at):
    # the value a lab would print for mult x ULN (rounded to 2 decimals when exact)
    value = round(mult * uln, 10)
    assert grade_lab("creatinine", [value], uln=[uln], use_baseline=False).tolist() == [grade_at]


@pytest.mark.parametrize(
    "value,grade",
    [(1.5, 1), (1.51, 2), (3.0, 2), (3.01, 3)],  # baseline 1.0, ULN 1.2
)
def test_creatinine_multiples_of_baseline(value, grade):
    # G2 >1.5-3.0 x baseline, G3 >3.0 x baseline (x ULN alone would give 1.5 -> G1, 3.01 -> G2)
    got = grade_lab("creatinine", [value], uln=[1.2], baseline=[1.0], use_baseline=True)
    assert got.tolist() == [grade]


@pytest.mark.parametrize(
    "analyte,value,grade",
    [
        ("anc", 2.0, 0),  # = LLN
        ("anc", 1.99, 1),
        ("anc", 1.5, 1),
        ("anc", 1.49, 2),
        ("anc", 1.0, 2),
        ("anc", 0.99, 3),
        ("anc", 0.5, 3),
        ("anc", 0.49, 4),
        ("platelets", 150, 0),
        ("platelets", 75, 1),
        ("platelets", 74, 2),
        ("platelets", 50, 2),
        ("platelets", 49, 3),
        ("platelets", 25, 3),
        ("platelets", 24, 4),
        ("wbc", 3.0, 1),
        ("wbc", 2.9, 2),
        ("wbc", 2.0, 2),
        ("wbc", 1.9, 3),
        ("wbc", 1.0, 3),
        ("wbc", 0.9, 4),
        ("hemoglobin", 12.0, 0),
        ("hemoglobin", 10.0, 1),
        ("hemoglobin", 9.9, 2),
        ("hemoglobin", 8.0, 2),
        ("hemoglobin", 7.9, 3),
        # hypercalcaemia (corrected calcium, mg/dL), default ULN 10.2
        ("calcium", 10.2, 0),
        ("calcium", 10.3, 1),
        ("calcium", 11.5, 1),
        ("calcium", 11.6, 2),
        ("calcium", 12.0, 2),
        ("calcium", 12.5, 2),
        ("calcium", 12.6, 3),
        ("calcium", 13.5, 3),
        ("calcium", 13.6, 4),
    ],
)
def test_absolute_boundaries(analyte, value, grade):
    assert grade_lab(analyte, [value]).tolist() == [grade]


@pytest.mark.parametrize(
    "analyte,value,unit,grade",
    [
        ("anc", "500", "/uL", 3),  # 0.5 x10^9/L: not < 0.5
        ("anc", "1500", "/uL", 1),
        ("anc", "1000", "cells/uL", 2),
        ("platelets", "25000", "/uL", 3),
        ("platelets", "75000", "/mm3", 1),
        ("hemoglobin", "80", "g/L", 2),  # 8.0 g/dL: not < 8.0
        ("hemoglobin", "100", "g/L", 1),
        ("calcium", "3.0", "mmol/L", 2),  # 12.02 mg/dL; CTCAE mmol/L: >2.9-3.1 = G2
    ],
)
def test_boundaries_after_unit_conversion(analyte, value, unit, grade):
    labs = "patient_id,date,analyte,value,unit\n" + f"X,2025-01-01,{analyte},{value},{unit}\n"
    frame = mio.read_labs(io.StringIO(labs)).frame
    assert grade_lab(analyte, frame["value"].to_numpy()).tolist() == [grade]


def test_engine_grades_creatinine_1_8_with_uln_1_2_as_grade_1():
    labs = (
        "patient_id,date,analyte,value,unit,lln,uln\n"
        "X,2025-01-01,creatinine,1.0,mg/dL,,1.2\n"
        "X,2025-02-01,creatinine,1.8,mg/dL,,1.2\n"
        "X,2025-03-01,creatinine,3.6,mg/dL,,1.2\n"
        "X,2025-04-01,creatinine,7.2,mg/dL,,1.2\n"
        "X,2025-05-01,creatinine,159,umol/L,,106\n"  # 1.5 x ULN in umol/L -> G1
    )
    frame = mio.read_labs(io.StringIO(labs)).frame
    res = engine.assess(frame, config=engine.MonitorConfig(creatinine_use_baseline=False))
    got = [(g["date"], g["grade"]) for g in res.to_dict()[0]["ctcae"]]
    assert got == [("2025-02-01", 1), ("2025-03-01", 2), ("2025-04-01", 3), ("2025-05-01", 1)]


def test_engine_grades_hypercalcaemia():
    labs = "patient_id,date,analyte,value,unit\nX,2025-01-01,calcium,12.0,mg/dL\n"
    res = engine.assess(mio.read_labs(io.StringIO(labs)).frame)
    assert [(g["term"], g["grade"]) for g in res.to_dict()[0]["ctcae"]] == [("hypercalcemia", 2)]
