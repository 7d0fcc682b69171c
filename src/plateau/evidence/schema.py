"""The evidence schema: trials, arms, comparisons, effect estimates, adverse events, sources.

One :class:`Trial` per randomised trial (one YAML file each in ``data/trials/``).  Every number
in a trial references a :class:`Source` of the same trial by its ``id``; the source says where
in the publication the number was read (``location``) and whether the publication is the
trial's own report (``kind: primary``) or a review/news report of it (``kind: secondary``).

Conventions
-----------
* A hazard ratio (``hr``) is always *experimental arm vs control arm* of its comparison: HR < 1
  favours the experimental arm.  When a paper reported the inverse, the stored value is
  ``1/HR`` (CI limits swapped and inverted), ``derived: true`` and ``direction`` says what was
  printed.
* Times are in months; x-year rates and binary proportions are percentages (0-100).
* ``status``: ``latest`` (the latest report found), ``superseded`` (a later report of the same
  comparison and outcome is in the base), ``latest_available`` (a later report exists but its
  numbers were not read).  Exactly one estimate per trial x comparison x outcome x population
  (``subgroup``) x ``outcome_detail`` is ``latest`` or ``latest_available``.
* Enumerations are closed: an unknown agent, outcome, setting... is rejected with its allowed
  values.
"""

from __future__ import annotations

import math
import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "Agent",
    "AdverseEvent",
    "AdverseEventTerm",
    "AgeGroup",
    "Arm",
    "Comparison",
    "ComparisonKind",
    "ControlType",
    "Estimate",
    "EstimateStatus",
    "MeasuredFrom",
    "Outcome",
    "RandomisationPoint",
    "Setting",
    "Source",
    "SourceKind",
    "Treatment",
    "Trial",
    "parse_p_value",
]


class _StrEnum(StrEnum):
    """String enum whose str() and format() give the value (base of the schema vocabularies)."""


class Setting(_StrEnum):
    """Treatment setting of the randomised population."""

    post_asct = "post_asct"  #: after high-dose therapy with autologous stem-cell transplant
    non_transplant = "non_transplant"  #: transplant-ineligible / conventional chemotherapy
    mixed = "mixed"  #: both (e.g. Myeloma XI, GIMEMA RV-MM-PI-209 after ASCT or MPR)


class AgeGroup(_StrEnum):
    younger = "younger"  #: typically <= 65-70 y, transplant-eligible
    older = "older"  #: typically >= 65 y, transplant-ineligible
    all = "all"  #: no upper age limit or both


class RandomisationPoint(_StrEnum):
    at_maintenance = "at_maintenance"  #: maintenance itself randomised after induction/ASCT
    at_diagnosis = "at_diagnosis"  #: whole strategy (induction + maintenance) randomised upfront


class Agent(_StrEnum):
    thalidomide = "thalidomide"
    lenalidomide = "lenalidomide"
    pomalidomide = "pomalidomide"
    bortezomib = "bortezomib"
    ixazomib = "ixazomib"
    carfilzomib = "carfilzomib"
    daratumumab = "daratumumab"
    isatuximab = "isatuximab"
    elotuzumab = "elotuzumab"
    interferon_alpha = "interferon_alpha"
    prednisone = "prednisone"
    prednisolone = "prednisolone"
    dexamethasone = "dexamethasone"
    melphalan = "melphalan"
    high_dose_melphalan = "high_dose_melphalan"
    cyclophosphamide = "cyclophosphamide"
    vincristine = "vincristine"
    doxorubicin = "doxorubicin"
    carmustine = "carmustine"
    pamidronate = "pamidronate"


class Treatment(_StrEnum):
    """Normalised maintenance treatment of an arm (the node of a network meta-analysis)."""

    observation = "observation"
    placebo = "placebo"
    thalidomide = "thalidomide"
    thalidomide_prednisolone = "thalidomide_prednisolone"
    thalidomide_prednisone = "thalidomide_prednisone"
    thalidomide_dexamethasone = "thalidomide_dexamethasone"
    thalidomide_interferon = "thalidomide_interferon"
    thalidomide_pamidronate = "thalidomide_pamidronate"
    lenalidomide = "lenalidomide"
    lenalidomide_prednisone = "lenalidomide_prednisone"
    lenalidomide_dexamethasone = "lenalidomide_dexamethasone"
    bortezomib = "bortezomib"
    bortezomib_thalidomide = "bortezomib_thalidomide"
    bortezomib_prednisone = "bortezomib_prednisone"
    ixazomib = "ixazomib"
    ixazomib_lenalidomide_dexamethasone = "ixazomib_lenalidomide_dexamethasone"
    daratumumab = "daratumumab"
    daratumumab_lenalidomide = "daratumumab_lenalidomide"
    carfilzomib_lenalidomide = "carfilzomib_lenalidomide"
    carfilzomib_lenalidomide_dexamethasone = "carfilzomib_lenalidomide_dexamethasone"
    interferon = "interferon"
    prednisone = "prednisone"
    prednisolone = "prednisolone"
    dexamethasone = "dexamethasone"
    pamidronate = "pamidronate"
    melphalan_prednisone = "melphalan_prednisone"
    second_transplant = "second_transplant"  #: control of tandem-ASCT comparisons


class ComparisonKind(_StrEnum):
    maintenance_vs_control = "maintenance_vs_control"  #: vs observation / placebo / no maintenance
    maintenance_vs_active = (
        "maintenance_vs_active"  #: vs an older active maintenance (IFN, steroid)
    )
    head_to_head = "head_to_head"  #: one modern maintenance vs another
    add_on = "add_on"  #: X + backbone vs the same backbone
    induction_maintenance_package = "induction_maintenance_package"  #: randomised at diagnosis
    duration_strategy = "duration_strategy"  #: same drug, different duration / stopping rule
    dose_strategy = "dose_strategy"  #: same drug, different dose or schedule (e.g. 25 vs 5 mg)
    other = "other"  #: e.g. single ASCT + maintenance vs tandem ASCT


class ControlType(_StrEnum):
    observation = "observation"
    placebo = "placebo"
    active = "active"


class Outcome(_StrEnum):
    PFS = "PFS"
    EFS = "EFS"
    TTP = "TTP"
    OS = "OS"
    PFS2 = "PFS2"
    DFS = "DFS"  #: disease-free / relapse-free survival
    response_duration = "response_duration"  #: duration of response / plateau phase
    OS_after_progression = "OS_after_progression"
    CR = "CR"  #: complete response or better (definition in outcome_detail)
    VGPR_or_better = "VGPR_or_better"
    ORR = "ORR"
    MRD_negativity = "MRD_negativity"
    response_upgrade = "response_upgrade"  #: deepening of response during maintenance


TIME_TO_EVENT_OUTCOMES = frozenset(
    {
        Outcome.PFS,
        Outcome.EFS,
        Outcome.TTP,
        Outcome.OS,
        Outcome.PFS2,
        Outcome.DFS,
        Outcome.response_duration,
        Outcome.OS_after_progression,
    }
)
BINARY_OUTCOMES = frozenset(set(Outcome) - TIME_TO_EVENT_OUTCOMES)


class EstimateStatus(_StrEnum):
    latest = "latest"
    superseded = "superseded"
    latest_available = "latest_available"


class MeasuredFrom(_StrEnum):
    maintenance_randomisation = "maintenance_randomisation"
    diagnosis_randomisation = "diagnosis_randomisation"  #: randomisation at diagnosis
    diagnosis = "diagnosis"
    start_of_treatment = "start_of_treatment"
    start_of_maintenance = "start_of_maintenance"
    transplant = "transplant"
    response_onset = "response_onset"
    progression = "progression"
    not_stated = "not_stated"


class SourceKind(_StrEnum):
    primary = "primary"  #: the trial's own publication or congress abstract
    secondary = "secondary"  #: review, meta-analysis table, news report of a presentation


class AdverseEventTerm(_StrEnum):
    """Closed vocabulary; ``ctcae_term`` gives the CTCAE v5 term where one exists."""

    peripheral_neuropathy = "peripheral_neuropathy"
    neurological_toxicity = "neurological_toxicity"
    venous_thromboembolism = "venous_thromboembolism"
    neutropenia = "neutropenia"
    thrombocytopenia = "thrombocytopenia"
    anaemia = "anaemia"
    cytopenias = "cytopenias"
    infection = "infection"
    pneumonia = "pneumonia"
    rash = "rash"
    fatigue = "fatigue"
    diarrhoea = "diarrhoea"
    nausea = "nausea"
    vomiting = "vomiting"
    gastrointestinal = "gastrointestinal"
    second_primary_malignancy = "second_primary_malignancy"
    any_adverse_event = "any_adverse_event"
    any_non_haematologic = "any_non_haematologic"
    any_haematologic = "any_haematologic"
    discontinuation_due_to_ae = "discontinuation_due_to_ae"
    death_on_study = "death_on_study"


CTCAE_TERMS: dict[AdverseEventTerm, str | None] = {
    AdverseEventTerm.peripheral_neuropathy: "Peripheral sensory neuropathy",
    AdverseEventTerm.neurological_toxicity: None,
    AdverseEventTerm.venous_thromboembolism: "Thromboembolic event",
    AdverseEventTerm.neutropenia: "Neutrophil count decreased",
    AdverseEventTerm.thrombocytopenia: "Platelet count decreased",
    AdverseEventTerm.anaemia: "Anemia",
    AdverseEventTerm.cytopenias: None,
    AdverseEventTerm.infection: "Infections and infestations (SOC)",
    AdverseEventTerm.pneumonia: "Lung infection",
    AdverseEventTerm.rash: "Rash maculo-papular",
    AdverseEventTerm.fatigue: "Fatigue",
    AdverseEventTerm.diarrhoea: "Diarrhea",
    AdverseEventTerm.nausea: "Nausea",
    AdverseEventTerm.vomiting: "Vomiting",
    AdverseEventTerm.gastrointestinal: "Gastrointestinal disorders (SOC)",
    AdverseEventTerm.second_primary_malignancy: "Neoplasms benign, malignant and unspecified (SOC)",
    AdverseEventTerm.any_adverse_event: None,
    AdverseEventTerm.any_non_haematologic: None,
    AdverseEventTerm.any_haematologic: None,
    AdverseEventTerm.discontinuation_due_to_ae: None,
    AdverseEventTerm.death_on_study: "Death NOS",
}

_GRADE = re.compile(r"^(any|not_stated|[1-5]|[1-5]-[1-5]|>=[1-5])$")
_P_VALUE = re.compile(r"^\s*(?:p\s*)?(<=|>=|<|>|=)?\s*(\d*\.?\d+(?:[eE]-?\d+)?)\s*$", re.IGNORECASE)
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")

Identifier = Annotated[str, Field(pattern=_ID.pattern, max_length=80)]
NonNegative = Annotated[float, Field(ge=0)]
Percent = Annotated[float, Field(ge=0, le=100)]
Months = Annotated[float, Field(ge=0)]


def parse_p_value(text: str | None) -> tuple[str, float] | None:
    """Parse a printed p-value into ``(relation, value)``.

    ``"<0.001"`` -> ``("<", 0.001)``; ``"0.03"`` -> ``("=", 0.03)``.  Text that is not a single
    number (``"NS"``, ``"0.07 (univariate); 0.03 (multivariate)"``) returns ``None``: it is kept
    as printed but cannot feed a calculation.
    """
    if text is None:
        return None
    match = _P_VALUE.match(str(text))
    if not match:
        return None
    relation = match.group(1) or "="
    value = float(match.group(2))
    if not 0.0 <= value <= 1.0:
        return None
    return relation, value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class Source(_Model):
    """A publication (or congress abstract, or report of one) from which numbers were read."""

    id: Identifier
    kind: SourceKind
    first_author: str | None = None
    year: int | None = Field(default=None, ge=1950, le=2100)
    journal: str | None = None  #: journal with volume/pages as read, or congress
    title: str | None = None
    pmid: str | None = Field(default=None, pattern=r"^\d{1,9}$")
    pmcid: str | None = Field(default=None, pattern=r"^PMC\d+$")
    doi: str | None = Field(default=None, pattern=r"^10\.\d{4,9}/\S+$")
    url: str | None = None  #: where the text was read
    location: str | None = None  #: where in the paper: abstract, Table 2, Figure 3 ...
    note: str | None = None

    @model_validator(mode="after")
    def _locatable(self) -> Source:
        if not (self.pmid or self.doi or self.url or self.pmcid):
            raise ValueError("a source needs at least one of pmid, pmcid, doi or url")
        return self


class Arm(_Model):
    """One randomised arm.  ``agents`` are the agents of the maintenance phase; for
    induction + maintenance packages, ``induction_agents`` lists the randomised induction."""

    id: Identifier
    label: str
    regimen: str
    treatment: Treatment
    agents: list[Agent] = Field(default_factory=list)
    induction_agents: list[Agent] = Field(default_factory=list)
    dose: str | None = None
    schedule: str | None = None
    duration: str | None = None
    n_randomised: int | None = Field(default=None)
    n_source: str | None = None  #: source id for n_randomised
    note: str | None = None

    @field_validator("agents", "induction_agents")
    @classmethod
    def _unique_agents(cls, value: list[Agent]) -> list[Agent]:
        if len(set(value)) != len(value):
            raise ValueError("agents are listed more than once")
        return value


class Comparison(_Model):
    """Which arm against which, and what kind of question it answers."""

    id: Identifier
    experimental_arm: str
    control_arm: str
    kind: ComparisonKind
    control_type: ControlType
    #: agents whose effect the comparison isolates; default: experimental minus control agents
    tested_agents: list[Agent] | None = None
    #: population of this comparison when it differs from the trial's (e.g. one pathway)
    setting: Setting | None = None
    age_group: AgeGroup | None = None
    #: comparisons sharing patients with this one: never pool them together
    overlaps_with: list[str] = Field(default_factory=list)
    #: duration_strategy comparisons: the arm with the longer (or continuous) therapy.  Analyses
    #: normalise every duration comparison to longer vs shorter before pooling or plotting.
    longer_arm: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _two_arms(self) -> Comparison:
        if self.experimental_arm == self.control_arm:
            raise ValueError("experimental_arm and control_arm are the same arm")
        if self.longer_arm is not None and self.longer_arm not in (
            self.experimental_arm,
            self.control_arm,
        ):
            raise ValueError(
                f"longer_arm {self.longer_arm!r} is neither the experimental nor the control arm"
            )
        if self.kind == ComparisonKind.duration_strategy and self.longer_arm is None:
            raise ValueError(
                "a duration_strategy comparison needs longer_arm (the arm with the longer therapy)"
            )
        return self


class Estimate(_Model):
    """One effect estimate: comparison x outcome x (sub)population x report.

    Any of: ``hr`` with ``ci_low``/``ci_high`` (level ``ci_level``); ``log_hr`` with
    ``se_log_hr``; ``o_minus_e`` with ``variance`` (Peto); ``p_value`` (text as printed) with
    ``events_*``; per-arm medians (months); per-arm x-year rates (percent) with
    ``rate_timepoint_months``; for binary outcomes ``events_*``/``n_*`` counts, ``percent_*``,
    and an odds ratio with CI when printed.
    """

    comparison: str
    outcome: Outcome
    outcome_detail: str | None = None  #: e.g. "MRD 10^-5 by 12 months", "censored at allo-SCT"
    subgroup: str | None = None  #: None = whole randomised population of the comparison
    #: the setting of a subgroup of a mixed-population trial (e.g. Myeloma XI's transplant-eligible
    #: patients = post_asct): analyses of one setting use it instead of the whole-trial estimate
    subgroup_setting: Setting | None = None
    source: str
    report: str  #: which report, e.g. "primary analysis (NEJM 2012)"
    data_cutoff: str | None = None
    median_followup_months: Months | None = None
    status: EstimateStatus
    measured_from: MeasuredFrom = MeasuredFrom.not_stated

    hr: float | None = Field(default=None, gt=0)
    ci_low: float | None = Field(default=None, gt=0)
    ci_high: float | None = Field(default=None, gt=0)
    ci_level: float = Field(default=0.95, gt=0, lt=1)
    log_hr: float | None = None
    se_log_hr: float | None = Field(default=None, gt=0)
    o_minus_e: float | None = None
    variance: float | None = Field(default=None, gt=0)
    p_value: str | None = None
    adjusted: bool = False  #: HR from a multivariable model

    events_experimental: int | None = Field(default=None, ge=0)
    events_control: int | None = Field(default=None, ge=0)
    n_experimental: int | None = Field(default=None, gt=0)  #: analysed, when != randomised
    n_control: int | None = Field(default=None, gt=0)

    median_experimental: Months | None = None
    median_control: Months | None = None
    median_experimental_not_reached: bool = False
    median_control_not_reached: bool = False

    rate_experimental: Percent | None = None
    rate_control: Percent | None = None
    rate_timepoint_months: Months | None = None

    percent_experimental: Percent | None = None  #: binary outcomes (response, MRD)
    percent_control: Percent | None = None
    odds_ratio: float | None = Field(default=None, gt=0)
    odds_ratio_ci_low: float | None = Field(default=None, gt=0)
    odds_ratio_ci_high: float | None = Field(default=None, gt=0)

    derived: bool = False  #: the stored value was computed (e.g. inverted) from what was printed
    direction: str | None = None  #: what the paper printed when derived
    approximate: bool = False  #: value read approximately (e.g. from a figure or "about")
    note: str | None = None

    @model_validator(mode="after")
    def _setting_subgroup(self) -> Estimate:
        if self.subgroup_setting is not None and self.subgroup is None:
            raise ValueError("subgroup_setting needs subgroup (the subgroup as printed)")
        return self

    @field_validator("p_value", mode="before")
    @classmethod
    def _p_as_text(cls, value: object) -> object:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return repr(float(value)) if not float(value).is_integer() else str(value)
        return value

    @property
    def p_value_parsed(self) -> tuple[str, float] | None:
        return parse_p_value(self.p_value)

    @property
    def has_hr_ci(self) -> bool:
        return self.hr is not None and self.ci_low is not None and self.ci_high is not None

    def log_hr_and_se(self) -> tuple[float, float] | None:
        """log HR and its standard error, from whichever representation is present.

        HR with CI: ``se = (ln ci_high - ln ci_low) / (2 z)``, ``z = Phi^-1(1 - (1-level)/2)``;
        log HR with SE as given; Peto O-E and V: ``log HR = (O-E)/V``, ``se = 1/sqrt(V)``
        (Yusuf et al., Prog Cardiovasc Dis 1985).  Returns None when none is present.
        """
        from statistics import NormalDist

        if self.hr is not None and self.ci_low is not None and self.ci_high is not None:
            z = NormalDist().inv_cdf(1 - (1 - self.ci_level) / 2)
            return (math.log(self.hr), (math.log(self.ci_high) - math.log(self.ci_low)) / (2 * z))
        if self.log_hr is not None and self.se_log_hr is not None:
            return (self.log_hr, self.se_log_hr)
        if self.o_minus_e is not None and self.variance is not None:
            return (self.o_minus_e / self.variance, 1 / math.sqrt(self.variance))
        return None


class AdverseEvent(_Model):
    """Adverse events of one comparison: counts per arm, or percentages kept as printed."""

    comparison: str
    term: AdverseEventTerm
    term_as_reported: str | None = None
    grade: str  #: "any", "3", "3-4", ">=3", "not_stated"
    subgroup: str | None = None  #: None = whole safety population
    report: str | None = None
    phase: Literal["maintenance", "whole_regimen", "not_stated"] = "not_stated"
    events_experimental: int | None = Field(default=None, ge=0)
    n_experimental: int | None = Field(default=None, gt=0)
    events_control: int | None = Field(default=None, ge=0)
    n_control: int | None = Field(default=None, gt=0)
    percent_experimental: Percent | None = None
    percent_control: Percent | None = None
    rate_per_100_patient_years_experimental: NonNegative | None = None
    rate_per_100_patient_years_control: NonNegative | None = None
    statement: str | None = None  #: qualitative statement when no number was printed
    source: str
    note: str | None = None

    @field_validator("grade")
    @classmethod
    def _grade(cls, value: str) -> str:
        if not _GRADE.match(value):
            raise ValueError(
                f"grade {value!r} is not one of: any, not_stated, 1..5, a range like 3-4, or >=3"
            )
        return value

    @property
    def ctcae_term(self) -> str | None:
        return CTCAE_TERMS[self.term]


class Trial(_Model):
    """One randomised trial with its arms, comparisons, estimates, adverse events and sources."""

    id: Identifier
    name: str
    acronym: str | None = None
    registry_ids: list[str] = Field(default_factory=list)
    setting: Setting
    setting_detail: str | None = None
    age_group: AgeGroup
    age_description: str | None = None
    randomisation_point: RandomisationPoint
    randomisation_detail: str | None = None
    era: Literal["early", "modern"] | None = None
    n_randomised_total: int | None = Field(default=None, gt=0)
    n_randomised_total_source: str | None = None
    arms: list[Arm]
    comparisons: list[Comparison]
    estimates: list[Estimate] = Field(default_factory=list)
    adverse_events: list[AdverseEvent] = Field(default_factory=list)
    sources: list[Source]
    notes: str | None = None

    def arm(self, arm_id: str) -> Arm:
        for arm in self.arms:
            if arm.id == arm_id:
                return arm
        raise KeyError(arm_id)

    def comparison(self, comparison_id: str) -> Comparison:
        for comparison in self.comparisons:
            if comparison.id == comparison_id:
                return comparison
        raise KeyError(comparison_id)

    def source(self, source_id: str) -> Source:
        for source in self.sources:
            if source.id == source_id:
                return source
        raise KeyError(source_id)

    def comparison_setting(self, comparison: Comparison) -> Setting:
        return comparison.setting or self.setting

    def comparison_age_group(self, comparison: Comparison) -> AgeGroup:
        return comparison.age_group or self.age_group

    def tested_agents(self, comparison: Comparison) -> list[Agent]:
        """Agents whose effect ``comparison`` isolates (explicit, else experimental - control)."""
        if comparison.tested_agents is not None:
            return list(comparison.tested_agents)
        experimental = self.arm(comparison.experimental_arm)
        control = self.arm(comparison.control_arm)
        return [a for a in experimental.agents if a not in control.agents]
