"""CTCAE v5.0 boundary values for every graded term ("<A - B" = value < A and >= B)."""

from __future__ import annotations

import numpy as np
import pytest

from plateau.errors import PlateauError
from plateau.monitor import ctcae as C


@pytest.mark.parametrize(
    "analyte,lln,cases",
    [
        (
            "anc",
            2.0,
            [(0.49, 4), (0.5, 3), (0.99, 3), (1.0, 2), (1.49, 2), (1.5, 1), (1.99, 1), (2.0, 0)],
        ),
        # admiral test vectors (docs/clinical-rules.md section 2): 24 -> 4, 25 -> 3, 49 -> 3,
        # 50 -> 2, 74 -> 2, 75 -> 1 (LLN 100)
        (
            "platelets",
            100.0,
            [(24, 4), (25, 3), (49, 3), (50, 2), (74, 2), (75, 1), (99, 1), (100, 0)],
        ),
        (
            "wbc",
            4.0,
            [(0.99, 4), (1.0, 3), (1.99, 3), (2.0, 2), (2.99, 2), (3.0, 1), (3.99, 1), (4.0, 0)],
        ),
        ("hemoglobin", 12.0, [(7.99, 3), (8.0, 2), (9.99, 2), (10.0, 1), (11.99, 1), (12.0, 0)]),
    ],
)
def test_decreased_terms_boundaries(analyte, lln, cases):
    values = [v for v, _ in cases]
    got = C.grade_lab(analyte, values, lln=np.full(len(values), lln)).tolist()
    assert got == [g for _, g in cases]


def test_creatinine_uln_boundaries():
    uln = 1.0
    vals = [1.0, 1.01, 1.5, 1.51, 3.0, 3.01, 6.0, 6.01]
    assert C.grade_lab("creatinine", vals, uln=np.full(8, uln), use_baseline=False).tolist() == [
        0,
        1,
        1,
        2,
        2,
        3,
        3,
        4,
    ]


def test_creatinine_baseline_criterion_applies_above_uln_only():
    # baseline 0.5, ULN 1.2: 1.3 is > 1.5 x baseline (0.75) and > 3 x baseline (1.5)? no -> grade 2
    # by baseline
    g = C.grade_creatinine([0.9, 1.3, 1.6], 1.2, baseline=0.5)
    assert g.tolist() == [0, 2, 3]  # 0.9 below ULN: 0 although 1.8 x baseline; 1.6 > 3.0 x 0.5
    assert C.grade_creatinine([1.3], 1.2, baseline=0.5, use_baseline=False).tolist() == [1]


def test_default_reference_limits_used_when_missing():
    assert C.grade_lab("anc", [1.8]).tolist() == [1]  # default LLN 2.0 (DESIGN)
    assert C.grade_lab("anc", [1.8], lln=[1.7]).tolist() == [0]


def test_unknown_lab_term():
    with pytest.raises(PlateauError, match="no CTCAE lab term for analyte 'kappa_flc'"):
        C.grade_lab("kappa_flc", [10.0])


def test_neuropathy_grades():
    assert C.grade_neuropathy(False) == 1
    assert C.grade_neuropathy(True) == 2
    assert C.grade_neuropathy(True, "instrumental") == 2
    assert C.grade_neuropathy(True, "self_care") == 3
    assert C.grade_neuropathy(True, life_threatening=True) == 4
    assert C.grade_neuropathy(True, death=True, motor=True) == 5
    with pytest.raises(PlateauError, match="no grade 5"):
        C.grade_neuropathy(True, death=True)


@pytest.mark.parametrize("stools,grade", [(0, 0), (1, 1), (3, 1), (4, 2), (6, 2), (7, 3), (10, 3)])
def test_diarrhea_stool_boundaries(stools, grade):
    assert C.grade_diarrhea(stools) == grade


def test_diarrhea_other_criteria():
    assert C.grade_diarrhea(2, adl="instrumental") == 2
    assert C.grade_diarrhea(2, hospitalization=True) == 3
    assert C.grade_diarrhea(2, life_threatening=True) == 4
    assert C.grade_diarrhea(2, death=True) == 5


def test_fatigue():
    assert (C.grade_fatigue(True), C.grade_fatigue(False), C.grade_fatigue(False, "self_care")) == (
        1,
        2,
        3,
    )


@pytest.mark.parametrize(
    "bsa,symptoms,grade",
    [
        (9.9, "none", 1),
        (10, "none", 2),
        (30, "severe", 2),
        (30.1, "mild", 2),
        (30.1, "moderate", 3),
        (50, "severe", 3),
    ],
)
def test_rash_bsa_boundaries(bsa, symptoms, grade):
    assert C.grade_rash(bsa, symptoms) == grade


def test_thromboembolic():
    assert [C.grade_thromboembolic(i) for i in ("none", "medical", "urgent")] == [1, 2, 3]
    assert C.grade_thromboembolic("urgent", unstable=True) == 4
    assert C.grade_thromboembolic("urgent", death=True) == 5


def test_event_terms_have_cited_rules():
    for t in list(C.EVENT_TERMS.values()) + list(C.LAB_TERMS.values()):
        assert t.rule.tag == "C1" and "CTCAE v5.0" in t.rule.source.title
