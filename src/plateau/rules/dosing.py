"""Maintenance dose rules as cited tables: lenalidomide, bortezomib, thalidomide, ixazomib.

Single source for both :mod:`plateau.monitor` and :mod:`plateau.decide`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from plateau.errors import PlateauError
from plateau.rules.citations import (
    ASH_EDU_2010,
    BORTEZOMIB_PN,
    BORTEZOMIB_TOX,
    COCKCROFT_GAULT,
    NINLARO_UK_AE,
    NINLARO_UK_DOSE,
    REVLIMID_HCP,
    REVLIMID_US_PI,
    REVLIMID_US_PI_OLD,
    TOURMALINE_MM3,
    UKMF_THAL,
    Rule,
)

RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule(
            "len-start",
            "start lenalidomide maintenance after haematologic recovery: ANC >= 1.0 and/or "
            "platelets >= 75 x10^9/L; 10 mg daily days 1-28",
            REVLIMID_US_PI,
            "2 Dosage: Maintenance Therapy Following Auto-HSCT",
            "C2",
        ),
        Rule(
            "len-escalate",
            "after 3 cycles of maintenance the dose can be increased to 15 mg once daily if "
            "tolerated",
            REVLIMID_US_PI,
            "2 Dosage: Maintenance Therapy Following Auto-HSCT",
            "C2",
        ),
        Rule(
            "len-anc",
            "ANC < 0.5 x10^9/L: interrupt, follow CBC weekly; ANC back >= 0.5: resume at the next lower "
            "dose; at 5 mg: resume 5 mg days 1-21; do not dose below 5 mg days 1-21",
            REVLIMID_HCP,
            "Maintenance therapy dose modifications",
            "C2",
        ),
        Rule(
            "len-ladder",
            "maintenance dose ladder 15 -> 10 -> 5 mg (days 1-28) -> 5 mg days 1-21 (derived; no "
            "explicit maintenance dose-reduction table was read)",
            REVLIMID_HCP,
            "Maintenance therapy dose modifications",
            "UNCONFIRMED",
        ),
        Rule(
            "len-platelets",
            "platelets < 30 x10^9/L: interrupt; back >= 30: resume at the next lower dose (read in "
            "the combination-therapy table; maintenance table not read)",
            REVLIMID_US_PI,
            "Table 1 (combination therapy)",
            "UNCONFIRMED",
        ),
        Rule(
            "len-other-g34",
            "other grade 3/4 toxicity judged related: hold, restart at the next lower dose when "
            "resolved to <= grade 2",
            REVLIMID_US_PI_OLD,
            "2 Dosage: Other Grade 3/4 Toxicities in MM",
            "C2",
        ),
        Rule(
            "len-renal",
            "CLcr < 60 mL/min: starting-dose adjustment recommended (renally excreted); maintenance "
            "doses by CLcr not read, so no dose is suggested",
            REVLIMID_US_PI_OLD,
            "2 Dosage: Starting Dose Adjustment for Renal Impairment",
            "C2",
        ),
        Rule(
            "btz-pn",
            "bortezomib neuropathy: G1 no action; G1 with pain or G2 -> 1.0 mg/m2; G2 with pain or G3 -> "
            "withhold, restart 0.7 mg/m2; G4 -> discontinue",
            BORTEZOMIB_PN,
            "Table 1",
            "C2",
        ),
        Rule(
            "btz-tox",
            "bortezomib: withhold at grade 3 non-haematological or grade 4 haematological toxicity; "
            "restart 25% lower (1.3 -> 1.0 -> 0.7 mg/m2)",
            BORTEZOMIB_TOX,
            "Dose Modification and Reinitiation",
            "C2",
        ),
        Rule(
            "thal-pn",
            "thalidomide: stop if symptoms of peripheral neuropathy occur (CTCAE grade >= 2)",
            UKMF_THAL,
            "1. Peripheral neuropathy",
            "C2",
        ),
        Rule(
            "thal-pn-steps",
            "thalidomide neuropathy dose steps by grade (label/IMWG) could not be read",
            UKMF_THAL,
            "1. Peripheral neuropathy",
            "UNCONFIRMED",
        ),
        Rule(
            "thal-duration",
            "thalidomide should not be given for > 18 months without careful neuropathy "
            "monitoring and a low threshold to stop",
            ASH_EDU_2010,
            "abstract",
            "C1",
        ),
        Rule(
            "ixa-escalate",
            "ixazomib maintenance 3 mg days 1, 8, 15 of 28-day cycles, 4 mg from cycle 5 if "
            "tolerated during cycles 1-4",
            TOURMALINE_MM3,
            "abstract",
            "C1",
        ),
        Rule(
            "ixa-heme",
            "platelets < 30 and/or ANC < 0.5 x10^9/L: withhold ixazomib until recovery",
            NINLARO_UK_AE,
            "Myelosuppression",
            "C2",
        ),
        Rule(
            "ixa-ladder",
            "ixazomib dose steps 4 -> 3 -> 2.3 mg (capsule strengths; maintenance steps not read)",
            NINLARO_UK_DOSE,
            "dose reduction steps",
            "UNCONFIRMED",
        ),
        Rule(
            "ixa-renal",
            "ixazomib: start at 3 mg if CLcr < 30 mL/min or ESRD on dialysis",
            NINLARO_UK_DOSE,
            "Dose Modification",
            "C2",
        ),
        Rule(
            "crcl-cockcroft-gault",
            "CLcr = (140 - age) x weight / (72 x SCr mg/dL), x 0.85 for women",
            COCKCROFT_GAULT,
            "Cockcroft-Gault formula",
            "C2",
        ),
    )
}


@dataclass(frozen=True)
class DosingConfig:
    """Thresholds of the dose rules (defaults = cited values)."""

    len_anc_hold: float = 0.5
    len_platelet_hold: float = 30.0
    len_platelet_rule: bool = True  # UNCONFIRMED for maintenance; reported when it fires
    len_start_anc: float = 1.0
    len_start_platelets: float = 75.0
    len_escalation_days: int = 84  # 3 cycles of 28 days
    len_renal_clcr: float = 60.0
    btz_heme_anc: float = 0.5  # grade 4 neutropenia
    btz_heme_platelets: float = 25.0  # grade 4 thrombocytopenia
    ixa_anc_hold: float = 0.5
    ixa_platelet_hold: float = 30.0
    ixa_escalation_days: int = 112  # 4 cycles of 28 days
    ixa_renal_clcr: float = 30.0
    thal_max_days: int = 548  # 18 months

    def to_dict(self) -> dict:
        return asdict(self)


LADDERS = {
    "lenalidomide": (
        (15.0, "daily days 1-28"),
        (10.0, "daily days 1-28"),
        (5.0, "daily days 1-28"),
        (5.0, "daily days 1-21"),
    ),
    "bortezomib": ((1.3, "mg/m2"), (1.0, "mg/m2"), (0.7, "mg/m2")),
    "ixazomib": ((4.0, "days 1, 8, 15"), (3.0, "days 1, 8, 15"), (2.3, "days 1, 8, 15")),
    "thalidomide": ((100.0, "daily"), (50.0, "daily")),
}


def cockcroft_gault(age, weight_kg, creatinine_mg_dl, female) -> np.ndarray:
    """Creatinine clearance (mL/min) by Cockcroft-Gault; vectorised; NaN where inputs are missing.

    >>> round(float(cockcroft_gault(65, 80, 1.1, False)), 1)
    75.8
    """
    age, w, scr = (np.asarray(x, dtype=float) for x in (age, weight_kg, creatinine_mg_dl))
    if np.any(scr <= 0):
        raise PlateauError("creatinine must be > 0 mg/dL for Cockcroft-Gault")
    clcr = (140.0 - age) * w / (72.0 * scr)
    return np.where(np.asarray(female, dtype=bool), 0.85 * clcr, clcr)


def bortezomib_neuropathy_action(grade, with_pain) -> tuple[np.ndarray, np.ndarray]:
    """Bortezomib neuropathy table (rule ``btz-pn``), vectorised over grade and pain.

    G1 without pain: no action; G1 with pain or G2: reduce to 1.0 mg/m2; G2 with pain or G3:
    withhold, restart at 0.7 mg/m2 when resolved; G4: discontinue.  Returns ``(action, dose)``
    with action in ``none|reduce|withhold|discontinue`` and dose in mg/m2 (NaN where none).

    >>> bortezomib_neuropathy_action(2, False)
    (array('reduce', dtype='<U11'), array(1.))
    """
    g = np.asarray(grade)
    pain = np.asarray(with_pain, dtype=bool)
    action = np.select(
        [g >= 4, (g == 3) | ((g == 2) & pain), (g == 2) | ((g == 1) & pain)],
        ["discontinue", "withhold", "reduce"],
        "none",
    )
    dose = np.select([action == "withhold", action == "reduce"], [0.7, 1.0], np.nan)
    return action, dose


def renal_restriction(agent: str, crcl: float | None, dialysis: bool, config=None) -> str | None:
    """Id of the renal rule that restricts ``agent`` at this creatinine clearance, else None.

    Thresholds come from :class:`DosingConfig` (lenalidomide ``len_renal_clcr``, ixazomib
    ``ixa_renal_clcr``): one table for monitoring and decision support.
    """
    cfg = config or DosingConfig()
    if agent == "lenalidomide" and (dialysis or (crcl is not None and crcl < cfg.len_renal_clcr)):
        return "len-renal"
    if agent == "ixazomib" and (dialysis or (crcl is not None and crcl < cfg.ixa_renal_clcr)):
        return "ixa-renal"
    return None
