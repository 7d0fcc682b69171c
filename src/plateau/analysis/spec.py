"""Declarative analysis specifications: which evidence, which outcome, which model.

An :class:`AnalysisSpec` says what to pool and how; :func:`plateau.analysis.run_analysis` turns
it into a result.  Specs are pydantic models, so they load from YAML, TOML or JSON files
(:func:`load_spec`) and from the web API, and every bad field is named in the error.

Outcome rule for disease control
--------------------------------
Trials report PFS, EFS or TTP as their disease-control endpoint.  With ``outcome:
disease_control`` (alias ``PFS`` with ``disease_control_fallback: true``) each trial contributes
the *first* of ``disease_control_order`` (default PFS, then EFS, then TTP) for which it has a
usable estimate, and the study row says which one it used.  IMWG's 2012 meta-analysis pooled
PFS and EFS in this way ("PFS/EFS", Ludwig et al., Blood 2012;119(13):3003, abstract).
"""

from __future__ import annotations

import json
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from plateau.errors import PlateauError
from plateau.evidence.schema import (
    AdverseEventTerm,
    AgeGroup,
    Agent,
    ComparisonKind,
    ControlType,
    Outcome,
    RandomisationPoint,
    Setting,
)

METHODS = ("EE", "FE", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM", "PMM")
TESTS = ("z", "knha", "adhoc")
DISEASE_CONTROL: tuple[Literal["PFS", "EFS", "TTP"], ...] = ("PFS", "EFS", "TTP")


class SubgroupBy(StrEnum):
    agent = "agent"
    setting = "setting"
    age_group = "age_group"
    randomisation_point = "randomisation_point"
    comparison_kind = "comparison_kind"
    control_type = "control_type"


class ModelSpec(BaseModel):
    """The statistical model: tau² estimator, test and interval level (metafor's names)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal["EE", "FE", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM", "PMM"] = (
        "REML"
    )
    test: Literal["z", "knha", "adhoc"] = "z"
    level: float = Field(0.95, gt=0.5, lt=1.0)
    prediction: Literal["metafor", "t_k1", "t_k2"] = "metafor"


class SensitivitySpec(BaseModel):
    """Restrictions used for sensitivity analyses (all off = the main analysis)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    latest_only: bool = False  #: no fallback to an earlier report when the latest has no usable HR
    exclude_approximate: bool = (
        False  #: no approximate HRs (medians, p-values, x-year rates, HR w/o CI)
    )
    exclude_packages: bool = False  #: no induction + maintenance packages
    exclude_active_controls: bool = False  #: only observation / placebo controls
    primary_sources_only: bool = False  #: no numbers read from reviews or news reports
    #: with a setting filter: drop mixed-population trials that have no estimate for the setting's
    #: subgroup (by default their whole-trial estimate is used, flagged "mixed population")
    exclude_mixed_population: bool = False


class AnalysisSpec(BaseModel):
    """What to pool and how.

    Filters left empty mean "any".  ``agents`` match the agents a comparison *tests*
    (experimental minus control, e.g. daratumumab in daratumumab + lenalidomide vs
    lenalidomide).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field("custom", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", max_length=80)
    title: str = Field("Custom analysis", max_length=300)
    description: str | None = None
    outcome: Literal[
        "disease_control",
        "PFS",
        "EFS",
        "TTP",
        "OS",
        "PFS2",
        "CR",
        "VGPR_or_better",
        "MRD_negativity",
        "ORR",
        "adverse_event",
    ] = "disease_control"
    disease_control_order: tuple[Literal["PFS", "EFS", "TTP"], ...] = DISEASE_CONTROL
    adverse_event: AdverseEventTerm | None = None  #: with outcome adverse_event
    adverse_event_grade: Literal["any", ">=3"] = ">=3"
    agents: tuple[Agent, ...] = ()
    settings: tuple[Setting, ...] = ()
    age_groups: tuple[AgeGroup, ...] = ()
    randomisation_points: tuple[RandomisationPoint, ...] = ()
    #: default: the agent added as maintenance, against observation/placebo or on top of the same
    #: maintenance backbone -- the question the built-ins, the home page and the report answer
    comparison_kinds: tuple[ComparisonKind, ...] = (
        ComparisonKind.maintenance_vs_control,
        ComparisonKind.add_on,
    )
    control_types: tuple[ControlType, ...] = ()
    trials: tuple[str, ...] = ()  #: restrict to these trial ids
    exclude_trials: tuple[str, ...] = ()
    subgroup_by: SubgroupBy | None = None
    model: ModelSpec = ModelSpec()
    sensitivity: SensitivitySpec = SensitivitySpec()
    baseline_risk_per_1000: float | None = Field(None, gt=0, lt=1000)  #: for absolute effects

    @field_validator("disease_control_order")
    @classmethod
    def _order(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value or len(set(value)) != len(value):
            raise ValueError("must list PFS, EFS and/or TTP, each once")
        return value

    @model_validator(mode="after")
    def _ae_needs_term(self) -> AnalysisSpec:
        if self.outcome == "adverse_event" and self.adverse_event is None:
            raise ValueError("outcome adverse_event needs adverse_event (the term to pool)")
        if self.outcome != "adverse_event" and self.adverse_event is not None:
            raise ValueError("adverse_event is only used with outcome adverse_event")
        return self

    @property
    def outcomes_considered(self) -> tuple[Outcome, ...]:
        """Outcomes a trial may contribute, in order of preference."""
        if self.outcome == "disease_control":
            return tuple(Outcome(o) for o in self.disease_control_order)
        if self.outcome == "adverse_event":
            return ()
        return (Outcome(self.outcome),)

    @property
    def is_time_to_event(self) -> bool:
        return self.outcome in ("disease_control", "PFS", "EFS", "TTP", "OS", "PFS2")

    @property
    def outcome_label(self) -> str:
        if self.outcome == "disease_control":
            return "/".join(self.disease_control_order)
        if self.outcome == "adverse_event" and self.adverse_event is not None:
            return (
                f"{self.adverse_event.value.replace('_', ' ')} (grade {self.adverse_event_grade})"
            )
        return self.outcome


def spec_from_dict(data: dict, origin: str = "analysis spec") -> AnalysisSpec:
    """Validate ``data`` as an :class:`AnalysisSpec`; errors name the field and the origin."""
    try:
        return AnalysisSpec.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(spec)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise PlateauError(f"{origin}: {problems}") from None


def load_spec(path: str | Path) -> AnalysisSpec:
    """Load a spec from a ``.yaml``/``.yml``, ``.toml`` or ``.json`` file."""
    path = Path(path)
    if not path.is_file():
        raise PlateauError(f"{path}: no such analysis spec file")
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    try:
        if suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        elif suffix == ".toml":
            data = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            raise PlateauError(f"{path}: analysis specs are .yaml, .yml, .toml or .json files")
    except (yaml.YAMLError, tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise PlateauError(f"{path}: cannot parse: {exc}") from None
    if not isinstance(data, dict):
        raise PlateauError(
            f"{path}: an analysis spec is a mapping of fields, not {type(data).__name__}"
        )
    return spec_from_dict(data, origin=str(path))
