"""CTCAE v5.0 grading tables (NCI CTCAE v5.0, 27 Nov 2017): lab and event terms, cited rules.

Evaluation lives in :mod:`plateau.monitor.ctcae`.
"""

from __future__ import annotations

from dataclasses import dataclass

from plateau.rules.citations import CTCAE_V5, PLATEAU, Rule


@dataclass(frozen=True)
class LabTerm:
    term: str
    meddra: int
    analyte: str
    cutoffs: tuple[
        tuple[int, float], ...
    ]  # (grade, bound): "value < bound" (low terms) or "value > bound" (high terms), highest first
    rule: Rule
    direction: str = "low"  # "low": decreased terms (grade 1 < LLN); "high": grade 1 > ULN


@dataclass(frozen=True)
class EventTerm:
    term: str
    meddra: int
    grades: tuple[int, ...]
    rule: Rule


def _r(term: str, text: str) -> Rule:
    return Rule(f"ctcae-{term}", text, CTCAE_V5, f"term '{term.replace('_', ' ')}'", "C1")


LAB_TERMS: dict[str, LabTerm] = {
    t.term: t
    for t in (
        LabTerm(
            "neutrophil_count_decreased",
            10029366,
            "anc",
            ((4, 0.5), (3, 1.0), (2, 1.5)),
            _r(
                "neutrophil_count_decreased",
                "G1 <LLN-1.5; G2 <1.5-1.0; G3 <1.0-0.5; G4 <0.5 x10^9/L",
            ),
        ),
        LabTerm(
            "platelet_count_decreased",
            10035528,
            "platelets",
            ((4, 25.0), (3, 50.0), (2, 75.0)),
            _r(
                "platelet_count_decreased",
                "G1 <LLN-75.0; G2 <75.0-50.0; G3 <50.0-25.0; G4 <25.0 x10^9/L",
            ),
        ),
        LabTerm(
            "white_blood_cell_decreased",
            10049182,
            "wbc",
            ((4, 1.0), (3, 2.0), (2, 3.0)),
            _r(
                "white_blood_cell_decreased",
                "G1 <LLN-3.0; G2 <3.0-2.0; G3 <2.0-1.0; G4 <1.0 x10^9/L",
            ),
        ),
        LabTerm(
            "anemia",
            10002272,
            "hemoglobin",
            ((3, 8.0), (2, 10.0)),
            _r("anemia", "Hgb G1 <LLN-10.0; G2 <10.0-8.0; G3 <8.0 g/dL (G4/G5 are clinical)"),
        ),
        LabTerm(
            "creatinine_increased",
            10011368,
            "creatinine",
            ((4, 6.0), (3, 3.0), (2, 1.5), (1, 1.0)),
            _r(
                "creatinine_increased",
                "G1 >ULN-1.5xULN; G2 >1.5-3.0xbaseline or >1.5-3.0xULN; G3 >3.0xbaseline or "
                ">3.0-6.0xULN; G4 >6.0xULN",
            ),
        ),
        LabTerm(
            "hypercalcemia",
            10020587,
            "calcium",
            ((4, 13.5), (3, 12.5), (2, 11.5)),
            _r(
                "hypercalcemia",
                "corrected serum calcium G1 >ULN-11.5; G2 >11.5-12.5; G3 >12.5-13.5; "
                "G4 >13.5 mg/dL (mmol/L: >ULN-2.9; >2.9-3.1; >3.1-3.4; >3.4)",
            ),
            "high",
        ),
    )
}
LAB_TERM_BY_ANALYTE = {t.analyte: t for t in LAB_TERMS.values()}

EVENT_TERMS: dict[str, EventTerm] = {
    t.term: t
    for t in (
        EventTerm(
            "peripheral_sensory_neuropathy",
            10034620,
            (1, 2, 3, 4),
            _r(
                "peripheral_sensory_neuropathy",
                "G1 asymptomatic; G2 moderate, limiting instrumental ADL; "
                "G3 severe, limiting self-care ADL; G4 life-threatening (grade 5 deleted in v5.0)",
            ),
        ),
        EventTerm(
            "peripheral_motor_neuropathy",
            10034580,
            (1, 2, 3, 4, 5),
            _r(
                "peripheral_motor_neuropathy",
                "G1 asymptomatic; G2 moderate, limiting instrumental ADL; "
                "G3 severe, limiting self-care ADL; G4 life-threatening; G5 death",
            ),
        ),
        EventTerm(
            "thromboembolic_event",
            10043565,
            (1, 2, 3, 4, 5),
            _r(
                "thromboembolic_event",
                "G1 intervention not indicated; G2 medical intervention indicated; "
                "G3 urgent intervention indicated; G4 haemodynamic/neurologic instability; G5 "
                "death",
            ),
        ),
        EventTerm(
            "diarrhea",
            10012727,
            (1, 2, 3, 4, 5),
            _r(
                "diarrhea",
                "G1 <4 stools/day over baseline; G2 4-6; G3 >=7 or hospitalisation or "
                "limiting self-care ADL; G4 life-threatening; G5 death",
            ),
        ),
        EventTerm(
            "fatigue",
            10016256,
            (1, 2, 3),
            _r(
                "fatigue",
                "G1 relieved by rest; G2 not relieved by rest, limiting instrumental ADL; "
                "G3 not relieved by rest, limiting self-care ADL",
            ),
        ),
        EventTerm(
            "rash_maculo_papular",
            10037868,
            (1, 2, 3),
            _r(
                "rash_maculo_papular",
                "G1 <10% BSA; G2 10-30% BSA or >30% with mild symptoms, limiting "
                "instrumental ADL; G3 >30% BSA with moderate/severe symptoms, limiting self-care "
                "ADL",
            ),
        ),
        EventTerm(
            "constipation", 10010774, (1, 2, 3, 4, 5), _r("constipation", "CTCAE v5.0 constipation")
        ),
        EventTerm(
            "febrile_neutropenia",
            10016288,
            (3, 4, 5),
            _r("febrile_neutropenia", "G3 ANC <1.0 with fever"),
        ),
        EventTerm("nausea", 10028813, (1, 2, 3), _r("nausea", "CTCAE v5.0 nausea")),
        EventTerm("vomiting", 10047700, (1, 2, 3, 4, 5), _r("vomiting", "CTCAE v5.0 vomiting")),
        EventTerm("paresthesia", 10033987, (1, 2, 3), _r("paresthesia", "CTCAE v5.0 paresthesia")),
        EventTerm("neuralgia", 10029223, (1, 2, 3), _r("neuralgia", "CTCAE v5.0 neuralgia")),
        EventTerm(
            "somnolence", 10041349, (1, 2, 3, 4, 5), _r("somnolence", "CTCAE v5.0 somnolence")
        ),
        EventTerm(
            "sinus_bradycardia",
            10040741,
            (1, 2, 3, 4, 5),
            _r("sinus_bradycardia", "CTCAE v5.0 sinus bradycardia"),
        ),
        EventTerm(
            "infusion_related_reaction",
            10051792,
            (1, 2, 3, 4, 5),
            _r("infusion_related_reaction", "CTCAE v5.0 infusion related reaction"),
        ),
    )
}

NEUROPATHY_TERMS = ("peripheral_sensory_neuropathy", "peripheral_motor_neuropathy")
HEMATOLOGIC_TERMS = (
    "neutrophil_count_decreased",
    "platelet_count_decreased",
    "white_blood_cell_decreased",
    "anemia",
    "febrile_neutropenia",
)

RULE_DEFAULT_LIMITS = Rule(
    "ctcae-default-reference-limits",
    "when a result has no lab reference limit, grade 1 uses a default LLN/ULN "
    "(ANC 2.0, platelets 150, WBC 4.0 x10^9/L; Hb 12.0 g/dL; creatinine ULN 1.2 mg/dL; "
    "calcium ULN 10.2 mg/dL)",
    PLATEAU,
    "plateau.rules.ctcae.ReferenceLimits",
    "DESIGN",
)
RULE_CALCIUM_SI = Rule(
    "ctcae-calcium-si",
    "calcium reported in mmol/L is converted to mg/dL (x 4.0078) and graded on the mg/dL "
    "thresholds; CTCAE's separate mmol/L thresholds (2.9/3.1/3.4) differ slightly (11.5 mg/dL = "
    "2.87 mmol/L); the value must be the albumin-corrected calcium",
    PLATEAU,
    "plateau.monitor.ctcae.grade_lab",
    "DESIGN",
)
RULE_TOLERANCE = Rule(
    "ctcae-boundary-tolerance",
    "boundaries are compared with a relative tolerance of 1e-9 so that a value equal to a "
    "multiple of the ULN/LLN (1.8 = 1.5 x 1.2) or to a converted threshold is not graded past "
    "the boundary by binary rounding",
    PLATEAU,
    "plateau.monitor.ctcae",
    "DESIGN",
)
RULE_CREATININE_BASELINE = Rule(
    "ctcae-creatinine-baseline",
    "creatinine increased: grade = max(xULN grade, xbaseline grade), the baseline criterion "
    "applied only above the ULN (combination not stated in CTCAE v5.0)",
    CTCAE_V5,
    "term 'creatinine increased' (combination of the two criteria)",
    "UNCONFIRMED",
)


@dataclass(frozen=True)
class ReferenceLimits:
    """Default reference limits (canonical units) used when a lab result carries none (DESIGN)."""

    anc_lln: float = 2.0
    platelets_lln: float = 150.0
    wbc_lln: float = 4.0
    hemoglobin_lln: float = 12.0
    creatinine_uln: float = 1.2
    calcium_uln: float = 10.2

    def default_for(self, analyte: str) -> float:
        return {
            "anc": self.anc_lln,
            "platelets": self.platelets_lln,
            "wbc": self.wbc_lln,
            "hemoglobin": self.hemoglobin_lln,
            "creatinine": self.creatinine_uln,
            "calcium": self.calcium_uln,
        }[analyte]

    def to_dict(self) -> dict:
        return dict(self.__dict__)
