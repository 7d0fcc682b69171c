"""CTCAE v5.0 grades: from laboratory values (vectorised) and for reported adverse events.

Source: NCI CTCAE v5.0 (27 Nov 2017), sheet "CTCAE v5.0 Clean Copy" — tag C1 (read from the
official spreadsheet; see ``docs/clinical-rules.md`` section 2).  Range semantics: a
grade written "<A - B" means ``value < A`` and ``value >= B``; the grade is the highest whose
bound is met, so for neutrophils (10^9/L)::

    grade 4: anc < 0.5;  grade 3: anc < 1.0;  grade 2: anc < 1.5;  grade 1: anc < LLN;  else 0

Grade 1 needs the lab's lower limit of normal (LLN; upper limit ULN for creatinine).  When a
result carries no ``lln``/``uln`` the defaults in :class:`ReferenceLimits` are used and the
output lists the DESIGN rule ``ctcae-default-reference-limits``.

Creatinine increased has two parallel criteria for grades 2 and 3 (x ULN and x baseline); the
spreadsheet does not say how to combine them.  plateau takes the higher of the two grades, and
applies the baseline criterion only to values above the ULN (UNCONFIRMED rule
``ctcae-creatinine-baseline``; switch it off with ``use_baseline=False``).
"""

from __future__ import annotations

import numpy as np

from plateau.errors import PlateauError
from plateau.rules.ctcae import (  # the cited rule table (single home: plateau.rules)
    EVENT_TERMS,
    HEMATOLOGIC_TERMS,
    LAB_TERM_BY_ANALYTE,
    LAB_TERMS,
    NEUROPATHY_TERMS,
    RULE_CREATININE_BASELINE,
    RULE_DEFAULT_LIMITS,
    EventTerm,
    LabTerm,
    ReferenceLimits,
)

__all__ = [  # re-exported table names used by the evaluation code
    "EVENT_TERMS",
    "EventTerm",
    "HEMATOLOGIC_TERMS",
    "LAB_TERMS",
    "LAB_TERM_BY_ANALYTE",
    "LabTerm",
    "NEUROPATHY_TERMS",
    "RULE_CREATININE_BASELINE",
    "RULE_DEFAULT_LIMITS",
    "ReferenceLimits",
]


REL_TOL = 1e-9
"""Relative tolerance of every boundary comparison (rule ``ctcae-boundary-tolerance``).

A boundary written as a multiple of a reference limit (1.5 x ULN) or reached through a unit
conversion is computed in binary floating point: 1.5 * 1.2 = 1.7999999999999998, so a plain
``1.8 > 1.5 * 1.2`` grades creatinine 1.8 mg/dL (ULN 1.2) as G2 where CTCAE says G1 (``>1.5``
starts G2).  Every comparison below treats values within ``REL_TOL`` of the boundary as equal
to it; no laboratory reports 10 significant digits, so no real value is moved across a boundary.
"""


def _tol(bound) -> np.ndarray:
    b = np.asarray(bound, dtype=float)
    return REL_TOL * np.maximum(1.0, np.abs(b))


def lt(value, bound) -> np.ndarray:
    """``value < bound``, strictly below by more than the tolerance."""
    return np.asarray(value, dtype=float) < np.asarray(bound, dtype=float) - _tol(bound)


def gt(value, bound) -> np.ndarray:
    """``value > bound``, strictly above by more than the tolerance.

    >>> bool(gt(1.8, 1.5 * 1.2)), bool(1.8 > 1.5 * 1.2)
    (False, True)
    """
    return np.asarray(value, dtype=float) > np.asarray(bound, dtype=float) + _tol(bound)


def grade_low(values, cutoffs, lln) -> np.ndarray:
    """Grade a "decreased" term: highest grade g with ``value < bound_g``; grade 1 if ``value <
    LLN``.

    ``values`` and ``lln`` are arrays (or scalars) in the canonical unit; NaN values grade 0.
    """
    v = np.asarray(values, dtype=float)
    grade = np.where(lt(v, lln), 1, 0).astype(np.int8)
    for g, bound in sorted(cutoffs, key=lambda c: c[0]):  # ascending so the highest grade wins
        grade = np.where(lt(v, bound), np.int8(g), grade)
    return grade.astype(np.int8)


def grade_high(values, cutoffs, uln) -> np.ndarray:
    """Grade an "increased" term with absolute cut-offs: highest g with ``value > bound_g``; grade 1
    if ``value > ULN`` (hypercalcaemia: G1 >ULN-11.5, G2 >11.5-12.5, G3 >12.5-13.5, G4 >13.5 mg/dL).

    >>> cut = ((4, 13.5), (3, 12.5), (2, 11.5))
    >>> grade_high([10.3, 11.5, 11.6, 12.5, 12.6, 13.5, 13.6], cut, 10.2).tolist()
    [1, 1, 2, 2, 3, 3, 4]
    """
    v = np.asarray(values, dtype=float)
    grade = np.where(gt(v, uln), 1, 0).astype(np.int8)
    for g, bound in sorted(cutoffs, key=lambda c: c[0]):
        grade = np.where(gt(v, bound), np.int8(g), grade)
    return grade.astype(np.int8)


def grade_creatinine(values, uln, baseline=None, use_baseline: bool = True) -> np.ndarray:
    """Creatinine increased (CTCAE v5.0).

    x ULN: G1 > ULN, G2 > 1.5 ULN, G3 > 3.0 ULN, G4 > 6.0 ULN.
    x baseline (if ``use_baseline`` and the value is > ULN): G2 > 1.5 baseline, G3 > 3.0 baseline.
    The result is the higher of the two (UNCONFIRMED combination, see module docstring).
    Comparisons are tolerance-aware (:data:`REL_TOL`): 1.8 with ULN 1.2 is G1, not G2.

    >>> grade_creatinine([1.8, 1.81, 3.6, 3.61, 7.2, 7.21], 1.2, use_baseline=False).tolist()
    [1, 2, 2, 3, 3, 4]
    """
    v = np.asarray(values, dtype=float)
    u = np.asarray(uln, dtype=float)
    g = np.zeros(np.broadcast(v, u).shape, dtype=np.int8)
    for grade, mult in ((1, 1.0), (2, 1.5), (3, 3.0), (4, 6.0)):
        g = np.where(gt(v, mult * u), np.int8(grade), g)
    if use_baseline and baseline is not None:
        b = np.asarray(baseline, dtype=float)
        gb = np.zeros_like(g)
        gb = np.where(gt(v, 1.5 * b), np.int8(2), gb)
        gb = np.where(gt(v, 3.0 * b), np.int8(3), gb)
        gb = np.where(gt(v, u), gb, np.int8(0))
        g = np.maximum(g, gb)
    return g.astype(np.int8)


def grade_lab(
    analyte: str,
    values,
    lln=None,
    uln=None,
    baseline=None,
    limits: ReferenceLimits = ReferenceLimits(),
    use_baseline: bool = True,
) -> np.ndarray:
    """Grade lab values of one analyte (anc, platelets, wbc, hemoglobin, creatinine, calcium),
    canonical units.

    NaN reference limits fall back to ``limits`` (DESIGN defaults).

    >>> grade_lab("anc", [0.49, 0.5, 0.99, 1.0, 1.49, 1.5]).tolist()
    [4, 3, 3, 2, 2, 1]
    """
    if analyte not in LAB_TERM_BY_ANALYTE:
        raise PlateauError(
            f"no CTCAE lab term for analyte {analyte!r}; "
            f"graded analytes: {', '.join(LAB_TERM_BY_ANALYTE)}"
        )
    v = np.asarray(values, dtype=float)
    default = limits.default_for(analyte)
    if analyte == "creatinine":
        u = (
            np.full(v.shape, default)
            if uln is None
            else np.where(np.isnan(np.asarray(uln, float)), default, uln)
        )
        return grade_creatinine(v, u, baseline, use_baseline)
    term = LAB_TERM_BY_ANALYTE[analyte]
    if term.direction == "high":
        u = (
            np.full(v.shape, default)
            if uln is None
            else np.where(np.isnan(np.asarray(uln, float)), default, uln)
        )
        return grade_high(v, term.cutoffs, u)
    low = (
        np.full(v.shape, default)
        if lln is None
        else np.where(np.isnan(np.asarray(lln, float)), default, lln)
    )
    return grade_low(v, LAB_TERM_BY_ANALYTE[analyte].cutoffs, low)


# ---- reported events: grading from clinical descriptors (scalar helpers) ----------------------

ADL_LEVELS = ("none", "instrumental", "self_care")


def _adl(adl: str) -> int:
    if adl not in ADL_LEVELS:
        raise PlateauError(f"ADL limitation must be one of {', '.join(ADL_LEVELS)}; got {adl!r}")
    return ADL_LEVELS.index(adl)


def grade_neuropathy(
    symptomatic: bool,
    adl: str = "none",
    life_threatening: bool = False,
    death: bool = False,
    motor: bool = False,
) -> int:
    """Peripheral sensory/motor neuropathy (CTCAE v5.0): asymptomatic 1; moderate, limiting
    instrumental ADL 2; severe, limiting self-care ADL 3; life-threatening 4; death 5 (motor
    only)."""
    if death:
        if not motor:
            raise PlateauError("peripheral sensory neuropathy has no grade 5 in CTCAE v5.0")
        return 5
    if life_threatening:
        return 4
    level = _adl(adl)
    if level == 2:
        return 3
    if level == 1 or symptomatic:
        return 2
    return 1


def grade_diarrhea(
    stools_over_baseline: float,
    adl: str = "none",
    hospitalization: bool = False,
    life_threatening: bool = False,
    death: bool = False,
) -> int:
    """Diarrhea: increase < 4 stools/day over baseline 1; 4-6 (or instrumental ADL) 2; >= 7,
    hospitalisation or self-care ADL 3; life-threatening 4; death 5.  No increase grades 0."""
    if stools_over_baseline < 0:
        raise PlateauError(f"stools over baseline cannot be negative: {stools_over_baseline}")
    if death:
        return 5
    if life_threatening:
        return 4
    level = _adl(adl)
    if stools_over_baseline >= 7 or hospitalization or level == 2:
        return 3
    if stools_over_baseline >= 4 or level == 1:
        return 2
    return 1 if stools_over_baseline > 0 else 0


def grade_fatigue(relieved_by_rest: bool, adl: str = "none") -> int:
    """Fatigue: relieved by rest 1; not relieved, limiting instrumental ADL 2; self-care ADL 3."""
    level = _adl(adl)
    if level == 2:
        return 3
    if not relieved_by_rest or level == 1:
        return 2
    return 1


def grade_rash(bsa_pct: float, symptoms: str = "none", adl: str = "none") -> int:
    """Rash maculo-papular: < 10% BSA 1; 10-30% BSA, or > 30% with no/mild symptoms, or
    instrumental ADL 2; > 30% BSA with moderate/severe symptoms or self-care ADL 3."""
    if not 0 <= bsa_pct <= 100:
        raise PlateauError(f"body surface area must be 0-100%: {bsa_pct}")
    if symptoms not in ("none", "mild", "moderate", "severe"):
        raise PlateauError(f"rash symptoms must be none/mild/moderate/severe; got {symptoms!r}")
    level = _adl(adl)
    if level == 2 or (bsa_pct > 30 and symptoms in ("moderate", "severe")):
        return 3
    if bsa_pct >= 10 or level == 1:
        return 2
    return 1 if bsa_pct > 0 else 0


THROMBO_INTERVENTION = ("none", "medical", "urgent")


def grade_thromboembolic(intervention: str, unstable: bool = False, death: bool = False) -> int:
    """Thromboembolic event: intervention not indicated 1; medical 2; urgent 3; haemodynamic or
    neurologic instability 4; death 5."""
    if intervention not in THROMBO_INTERVENTION:
        raise PlateauError(
            f"intervention must be one of {', '.join(THROMBO_INTERVENTION)}; got {intervention!r}"
        )
    if death:
        return 5
    if unstable:
        return 4
    return THROMBO_INTERVENTION.index(intervention) + 1
