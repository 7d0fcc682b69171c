"""Published pooled analyses (pairwise, network and individual-patient-data meta-analyses).

A :class:`Synthesis` is one publication; each of its :class:`SynthesisEstimate` rows is one pooled
hazard ratio for one question (agent or comparison, outcome, setting).  They are evidence in
their own right: analyses show every matching row beside plateau's own pool
(:func:`plateau.analysis.published.matching_syntheses`), and the decision aid prefers an
individual-patient-data estimate where one answers its question (docs/evidence.md, "Published
syntheses").

Bundled entries live in ``data/syntheses.yaml``.  Every number was read in the publication or a
report of it; ``location`` says where, ``confidence`` how directly: ``C1`` the paper itself (its
abstract or full text), ``C2`` a secondary report of it (news, review, registry page), ``C3`` not
confirmed in any text read.  A synthesis whose pooled numbers could not be read has no
estimates and says so in ``note``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from plateau.errors import EvidenceError
from plateau.evidence.schema import Agent, ComparisonKind, Setting

__all__ = ["Synthesis", "SynthesisEstimate", "load_syntheses", "SYNTHESES_FILE"]

SYNTHESES_FILE = Path(__file__).resolve().parent / "data" / "syntheses.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SynthesisEstimate(_Model):
    """One pooled hazard ratio: maintenance with ``agent`` (or an agent class) vs control."""

    outcome: Literal["PFS", "OS", "EFS", "PFS_EFS"]
    #: the setting the pooled trials come from; None = trials of every setting pooled together
    setting: Setting | None = None
    agent: Agent | None = None  #: the tested agent; None = a class (e.g. all IMiDs)
    agent_class: str | None = None  #: e.g. "IMiD (thalidomide or lenalidomide)"
    agents: list[Agent] = Field(default_factory=list)  #: the members of ``agent_class``
    kinds: list[ComparisonKind] = Field(
        default_factory=lambda: [ComparisonKind.maintenance_vs_control]
    )
    comparator: str = "observation or placebo"
    hr: float = Field(gt=0)
    ci_low: float | None = Field(default=None, gt=0)
    ci_high: float | None = Field(default=None, gt=0)
    interval: Literal["CI", "CrI"] = "CI"
    p_value: str | None = None
    k: int | None = Field(default=None, gt=0)  #: trials pooled
    n_patients: int | None = Field(default=None, gt=0)
    #: trial ids of the evidence base that the synthesis pooled (others in ``trials_other``)
    trials: list[str] = Field(default_factory=list)
    trials_other: list[str] = Field(default_factory=list)
    location: str  #: where in the paper the number was read
    confidence: Literal["C1", "C2", "C3"]
    note: str | None = None

    @model_validator(mode="after")
    def _ci(self) -> SynthesisEstimate:
        if (self.ci_low is None) != (self.ci_high is None):
            raise ValueError("give both ci_low and ci_high, or neither")
        if (
            self.ci_low is not None
            and self.ci_high is not None
            and not (self.ci_low <= self.hr <= self.ci_high)
        ):
            raise ValueError("hr must lie inside its interval")
        if self.agent is None and not (self.agent_class and self.agents):
            raise ValueError("give the agent, or the agent_class with its agents")
        return self

    @property
    def agent_set(self) -> frozenset[Agent]:
        return frozenset([self.agent] if self.agent else self.agents)

    @property
    def agent_label(self) -> str:
        return self.agent.value if self.agent else str(self.agent_class)

    @property
    def interval_text(self) -> str:
        if self.ci_low is None:
            return "interval not read"
        from plateau.evidence.vocabulary import format_interval

        return format_interval(self.ci_low, self.ci_high)


class Synthesis(_Model):
    """A published pooled analysis and where it was read."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$")
    short: str  #: "McCarthy 2017"
    citation: str
    pmid: str | None = None
    pmcid: str | None = None
    doi: str | None = None
    url: str | None = None  #: where the text was read
    design: Literal["ipd", "aggregate", "network"]
    model: str  #: e.g. "random effects (DerSimonian-Laird)", "Bayesian network meta-analysis"
    estimates: list[SynthesisEstimate] = Field(default_factory=list)
    note: str | None = None

    @model_validator(mode="after")
    def _locatable(self) -> Synthesis:
        if not (self.pmid or self.pmcid or self.doi or self.url):
            raise ValueError("a synthesis needs at least one of pmid, pmcid, doi or url")
        return self

    @property
    def design_label(self) -> str:
        return {
            "ipd": "individual-patient-data meta-analysis",
            "aggregate": "meta-analysis of published results",
            "network": "network meta-analysis",
        }[self.design]


def parse_syntheses(data: object, origin: str) -> tuple[Synthesis, ...]:
    if not isinstance(data, list):
        raise EvidenceError(f"{origin}: expected a list of syntheses")
    out = []
    for i, row in enumerate(data):
        try:
            out.append(Synthesis.model_validate(row))
        except ValidationError as exc:
            name = row.get("id", f"entry {i + 1}") if isinstance(row, dict) else f"entry {i + 1}"
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            raise EvidenceError(f"{origin}: synthesis {name}: {problems}") from None
    ids = [s.id for s in out]
    if len(set(ids)) != len(ids):
        raise EvidenceError(f"{origin}: duplicate synthesis ids")
    return tuple(out)


@lru_cache(maxsize=1)
def load_syntheses() -> tuple[Synthesis, ...]:
    """The bundled published syntheses (validated, cached)."""
    text = SYNTHESES_FILE.read_text(encoding="utf-8")
    return parse_syntheses(yaml.safe_load(text), str(SYNTHESES_FILE.name))
