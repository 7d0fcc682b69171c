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
    DARZALEX_DOSE,
    NINLARO_UK_AE,
    NINLARO_UK_DOSE,
    PLATEAU,
    REVLIMID_HCP,
    REVLIMID_US_PI,
    REVLIMID_US_PI_2021,
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
            "ANC < 0.5 x10^9/L: interrupt, follow CBC weekly; ANC back >= 0.5: resume at the "
            "next lower "
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
            "CLcr < 60 mL/min (Cockcroft-Gault) or dialysis: lenalidomide dose adjustment for "
            "renal impairment recommended (renally excreted); a renal restriction: no escalation",
            REVLIMID_US_PI_OLD,
            "2 Dosage: Starting Dose Adjustment for Renal Impairment",
            "C2",
        ),
        Rule(
            "renal-recompute",
            "creatinine clearance is recomputed (Cockcroft-Gault) at every creatinine measured "
            "during maintenance, with the age at maintenance start plus the years elapsed and the "
            "latest weight; a fall into a lower renal band is a new renal restriction",
            PLATEAU,
            "plateau.rules.dosing.renal_dose",
            "DESIGN",
        ),
        Rule(
            "no-escalation-under-restriction",
            "escalation is never suggested while a restriction applies: a renal restriction, a "
            "hold or dose reduction, a grade >= 3 toxicity, a thromboembolic event of grade >= 2 "
            "or confirmed progression on or before the escalation date",
            PLATEAU,
            "plateau.monitor.signal.dose_actions",
            "DESIGN",
        ),
        Rule(
            "line-ends-at-progression",
            "confirmed progression ends the maintenance line (induction, transplant and "
            "maintenance form one line; progression starts a new one, Rajkumar et al., Blood "
            "2015;126:921, not read here): no resumption or escalation is proposed after it",
            PLATEAU,
            "plateau.monitor.signal.dose_actions",
            "DESIGN",
        ),
        Rule(
            "dose-after-stop",
            "no dose action (hold, resume, escalation, reduction, line end) and no dose alert "
            "after the patient's stop_date (the date maintenance was stopped): the label's dose "
            "adjustments apply during maintenance therapy; later results are still assessed for "
            "response, progression and CTCAE grades",
            PLATEAU,
            "plateau.monitor.signal.dose_actions",
            "DESIGN",
        ),
        Rule(
            "len-vte",
            "lenalidomide: significantly increased risk of deep-vein thrombosis, pulmonary "
            "embolism, myocardial infarction and stroke (boxed warning); anti-thrombotic "
            "prophylaxis recommended; plateau alerts on a thromboembolic event of CTCAE grade >= 2",
            REVLIMID_US_PI_2021,
            "boxed warning; 5.4",
            "C2",
        ),
        Rule(
            "btz-pn",
            "bortezomib neuropathy: G1 no action; G1 with pain or G2 -> 1.0 mg/m2; G2 with "
            "pain or G3 -> "
            "withhold, restart 0.7 mg/m2; G4 -> discontinue",
            BORTEZOMIB_PN,
            "Table 1",
            "C2",
        ),
        Rule(
            "btz-tox",
            "bortezomib: withhold at grade 3 non-haematological or grade 4 haematological "
            "toxicity; "
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
            "platelets < 30 and/or ANC < 0.5 x10^9/L: withhold ixazomib until recovery; first "
            "occurrence: resume ixazomib at the most recent dose; each further occurrence: resume "
            "at the next lower dose",
            NINLARO_UK_AE,
            "Myelosuppression",
            "C2",
        ),
        Rule(
            "ixa-pn",
            "ixazomib neuropathy: G1 with pain or G2: withhold until <= G1 without pain, resume at "
            "the most recent dose; G2 with pain or G3: withhold until <= G1, resume at the next "
            "lower dose; G4: discontinue (label table not read in full)",
            NINLARO_UK_AE,
            "Peripheral neuropathy (text truncated)",
            "UNCONFIRMED",
        ),
        Rule(
            "ixa-nonheme",
            "ixazomib: other grade 3/4 non-haematological toxicity (e.g. diarrhoea, rash): "
            "withhold until <= grade 1 or baseline, resume at the next lower dose (label table "
            "not read in full)",
            NINLARO_UK_AE,
            "dose modification (SmPC referenced)",
            "UNCONFIRMED",
        ),
        Rule(
            "dara-no-reduction",
            "daratumumab: no dose reductions are recommended; dose delay may be required to allow "
            "recovery of blood counts in haematological toxicity",
            DARZALEX_DOSE,
            "Summary (dose adjustments)",
            "C2",
        ),
        Rule(
            "dara-irr",
            "daratumumab infusion-related reaction of any grade: interrupt the infusion and manage "
            "symptoms; management may require a lower infusion rate or discontinuation",
            DARZALEX_DOSE,
            "Summary (infusion-related reactions)",
            "C2",
        ),
        Rule(
            "dara-irr-g4",
            "daratumumab: grade 4 (life-threatening) infusion-related reaction: discontinue "
            "permanently (label table not read)",
            DARZALEX_DOSE,
            "Summary (infusion-related reactions)",
            "UNCONFIRMED",
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
            "ixazomib: 3 mg if CLcr < 30 mL/min or ESRD on dialysis (not dialysable: without "
            "regard to dialysis timing); a renal restriction: no escalation to 4 mg",
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
    len_severe_clcr: float = 30.0
    thal_max_days: int = 548  # 18 months
    vte_alert_grade: int = 2

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


LABEL_DOSE_RANGES: dict[str, tuple[tuple[float, float], ...]] = {
    # agent -> accepted dose intervals (mg; bortezomib mg/m2; daratumumab mg/kg IV or mg SC)
    "lenalidomide": ((2.5, 15.0),),  # maintenance: 10 -> 15 mg; renal 5 / 2.5 mg
    "bortezomib": ((0.7, 1.3),),  # 1.3 -> 1.0 -> 0.7 mg/m2
    "ixazomib": ((2.3, 4.0),),  # 4 -> 3 -> 2.3 mg
    "thalidomide": ((50.0, 200.0),),
    "daratumumab": ((8.0, 16.0), (1800.0, 1800.0)),  # 16 mg/kg IV (8 + 8 split), 1800 mg SC
}
RULES["label-dose-range"] = Rule(
    "label-dose-range",
    "a maintenance dose outside the label's dose steps is rejected as an input error "
    "(lenalidomide 2.5-15 mg, bortezomib 0.7-1.3 mg/m2, ixazomib 2.3-4 mg, thalidomide 50-200 "
    "mg, daratumumab 16 mg/kg IV or 1800 mg SC)",
    PLATEAU,
    "plateau.rules.dosing.LABEL_DOSE_RANGES (from the dose tables cited above)",
    "DESIGN",
)


def dose_in_label_range(agent, dose) -> np.ndarray:
    """Vectorised: is each dose inside its agent's :data:`LABEL_DOSE_RANGES` (NaN and other
    agents: True)?"""
    a = np.asarray(agent, dtype=object)
    d = np.asarray(dose, dtype=float)
    ok = np.ones(len(d), dtype=bool)
    for name, ranges in LABEL_DOSE_RANGES.items():
        m = (a == name) & ~np.isnan(d)
        if m.any():
            inside = np.zeros(int(m.sum()), dtype=bool)
            for lo, hi in ranges:
                inside |= (d[m] >= lo - 1e-9) & (d[m] <= hi + 1e-9)
            ok[m] = inside
    return ok


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


RENAL_BANDS = ("normal", "moderate", "severe", "dialysis")  # codes 0..3; -1 = unknown
"""Renal bands of the dose tables: ``normal`` CLcr >= 60, ``moderate`` 30 <= CLcr < 60, ``severe``
CLcr < 30 not on dialysis, ``dialysis`` end-stage renal disease requiring dialysis."""

RENAL_DOSES: dict[tuple[str, str], tuple[float, str, str]] = {
    # (agent, band) -> (dose mg, schedule, rule id); bands not listed carry no renal adjustment
    ("lenalidomide", "moderate"): (5.0, "once daily days 1-28", "len-renal-maintenance"),
    ("lenalidomide", "severe"): (2.5, "once daily days 1-28", "len-renal-maintenance"),
    ("lenalidomide", "dialysis"): (
        2.5,
        "once daily days 1-28; on dialysis days after dialysis",
        "len-renal-maintenance",
    ),
    ("ixazomib", "severe"): (3.0, "days 1, 8, 15", "ixa-renal"),
    ("ixazomib", "dialysis"): (
        3.0,
        "days 1, 8, 15; without regard to the timing of dialysis",
        "ixa-renal",
    ),
}


@dataclass(frozen=True)
class RenalDoseStep:
    """The renal dose of one agent at one creatinine clearance (``dose`` None: no renal change).

    ``rule_id`` names the cited rule of the dose (``None`` when kidney function restricts
    nothing); ``restriction`` the rule id of the restriction itself (``len-renal``/``ixa-renal``),
    under which no escalation may be suggested.
    """

    agent: str
    band: str
    crcl: float | None
    dialysis: bool
    dose: float | None
    schedule: str
    rule_id: str | None
    restriction: str | None

    @property
    def tag(self) -> str | None:
        return RULES[self.rule_id].tag if self.rule_id else None

    def citation(self) -> str | None:
        return RULES[self.rule_id].citation() if self.rule_id else None

    def summary(self) -> str:
        where = (
            "on dialysis"
            if self.dialysis
            else ("CLcr unknown" if self.crcl is None else f"CLcr {self.crcl:.1f} mL/min")
        )
        if self.dose is None:
            return f"{self.agent}, {where}: no renal dose adjustment"
        return (
            f"{self.agent}, {where} ({self.band}): {self.dose:g} mg {self.schedule} "
            f"[{self.rule_id}, {self.tag}]"
        )

    def to_dict(self) -> dict:
        return {
            "agent": self.agent,
            "band": self.band,
            "crcl": self.crcl,
            "dialysis": self.dialysis,
            "dose": self.dose,
            "schedule": self.schedule,
            "rule": self.rule_id,
            "restriction": self.restriction,
            "tag": self.tag,
            "citation": self.citation(),
        }


def renal_band_code(crcl, dialysis, config=None) -> np.ndarray:
    """Vectorised renal band code: 0 normal, 1 moderate, 2 severe, 3 dialysis, -1 unknown CLcr.

    Boundaries as the label tables write them: ``30 <= CLcr < 60`` moderate, ``CLcr < 30`` severe.
    """
    cfg = config or DosingConfig()
    c = np.asarray(crcl, dtype=float)
    d = np.asarray(dialysis, dtype=bool)
    with np.errstate(invalid="ignore"):
        code = np.select(
            [d, np.isnan(c), c < cfg.len_severe_clcr, c < cfg.len_renal_clcr], [3, -1, 2, 1], 0
        )
    return code.astype(np.int8)


def renal_dose_step(
    agent: str, crcl: float | None, dialysis: bool = False, config=None
) -> RenalDoseStep:
    """The label's renal dose of a maintenance agent at this creatinine clearance (mL/min), as
    numbers (the monitoring engine's view; :func:`renal_dose` gives decision support's text).

    Lenalidomide (maintenance after auto-HSCT; rule ``len-renal-maint``, UNCONFIRMED cell values):
    30 <= CLcr < 60: 5 mg once daily; CLcr < 30 not on dialysis: 2.5 mg once daily; dialysis:
    2.5 mg once daily, after dialysis on dialysis days.  Ixazomib (``ixa-renal``, C2): 3 mg at
    CLcr < 30 or on dialysis.  Other agents and CLcr >= 60: no renal change (``dose`` None).

    >>> renal_dose_step("lenalidomide", 45.0).dose
    5.0
    >>> renal_dose_step("ixazomib", 28.0).summary()
    'ixazomib, CLcr 28.0 mL/min (severe): 3 mg days 1, 8, 15 [ixa-renal, C2]'
    >>> renal_dose_step("lenalidomide", 75.0).rule_id is None
    True
    """
    c = None if crcl is None or (isinstance(crcl, float) and np.isnan(crcl)) else float(crcl)
    code = int(renal_band_code(np.nan if c is None else c, bool(dialysis), config))
    band = "unknown" if code < 0 else RENAL_BANDS[code]
    restriction = renal_restriction(agent, c, bool(dialysis), config)
    hit = RENAL_DOSES.get((agent, band))
    if hit is None:
        return RenalDoseStep(agent, band, c, bool(dialysis), None, "", None, restriction)
    dose, schedule, rule_id = hit
    return RenalDoseStep(agent, band, c, bool(dialysis), dose, schedule, rule_id, restriction)


def renal_restriction(agent: str, crcl: float | None, dialysis: bool, config=None) -> str | None:
    """Id of the renal rule that restricts ``agent`` at this creatinine clearance, else None.

    Thresholds come from :class:`DosingConfig` (lenalidomide ``len_renal_clcr``, ixazomib
    ``ixa_renal_clcr``): one table for monitoring and decision support.  While a restriction
    applies no escalation is suggested (rule ``no-escalation-under-restriction``); the dose to
    give is :func:`renal_dose_step` (numbers) or :func:`renal_dose` (text).
    """
    cfg = config or DosingConfig()
    if agent == "lenalidomide" and (dialysis or (crcl is not None and crcl < cfg.len_renal_clcr)):
        return "len-renal"
    if agent == "ixazomib" and (dialysis or (crcl is not None and crcl < cfg.ixa_renal_clcr)):
        return "ixa-renal"
    return None


# --------------------------------------------------------------------------------------------
# renal dose of maintenance (label tables)
# --------------------------------------------------------------------------------------------

RULES["len-renal-maintenance"] = Rule(
    "len-renal-maintenance",
    "lenalidomide maintenance after auto-HSCT by CLcr: >= 60 mL/min 10 mg daily; 30-59 mL/min "
    "5 mg daily; < 30 mL/min not on dialysis 2.5 mg daily; on dialysis 2.5 mg daily, after "
    "dialysis on dialysis days (US label renal table, recalled; the table itself was not read "
    "in the sources available: check the current label)",
    REVLIMID_US_PI,
    "2 Dosage: Dosage Modifications for Renal Impairment (maintenance row)",
    "C3",
)


@dataclass(frozen=True)
class RenalDose:
    agent: str
    dose: str
    rule_id: str
    restricted: bool  #: a lower starting dose than the usual one applies

    def to_dict(self) -> dict:
        return {**asdict(self), "rule": RULES[self.rule_id].to_dict()}


def renal_dose(agent: str, crcl: float | None, dialysis: bool) -> RenalDose | None:
    """Starting maintenance dose of ``agent`` for a creatinine clearance (mL/min) and dialysis.

    Lenalidomide: rule ``len-renal-maintenance``; ixazomib: rule ``ixa-renal`` (3 mg below
    30 mL/min or on dialysis, else 4 mg after the 3 mg lead-in of ``ixa-escalate``).  None when
    renal function is unknown or the agent has no renal rule here.  The doses and bands come
    from :data:`RENAL_DOSES` through :func:`renal_dose_step` (one table for monitoring and
    decision support).
    """
    if crcl is None and not dialysis:
        return None
    if agent not in ("lenalidomide", "ixazomib"):
        return None
    step = renal_dose_step(agent, 0.0 if crcl is None else float(crcl), dialysis)
    if step.dose is None:
        if agent == "lenalidomide":
            return RenalDose(
                agent, "10 mg once daily (usual starting dose)", "len-renal-maintenance", False
            )
        return RenalDose(agent, "3 mg, then 4 mg from cycle 5 if tolerated", "ixa-escalate", False)
    assert step.rule_id is not None
    if agent == "lenalidomide":
        text = f"{step.dose:g} mg once daily"
        if step.band == "dialysis":
            text += ", after dialysis on dialysis days"
    else:
        text = f"{step.dose:g} mg on days 1, 8 and 15"
    return RenalDose(agent, text, step.rule_id, True)
