"""Result objects of a decision: frozen dataclasses with ``summary()`` and ``to_dict()``.

All people counts are **per 100 patients** (one denominator for benefits and harms, IPDAS);
every horizon is stated.  ``to_dict()`` output is plain JSON (floats, strings, lists, None) and
is what a snapshot stores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

OUTCOME_WORDS = {
    "PFS": ("alive without their myeloma getting worse", "progression-free"),
    "OS": ("alive", "alive"),
}


def _f(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def people(value: float) -> int:
    """Whole people of 100 (round half away from zero, so 2.5 -> 3 and -2.5 -> -3)."""
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def grade_words(grade: str) -> str:
    """Plain words for a CTCAE grade as reported (``3-4`` -> ``grade 3-4, severe``)."""
    if grade == "any":
        return "any grade"
    if grade == "not_stated":
        return "grade not stated"
    if grade.startswith(">="):
        return f"grade {grade[2:]} or worse"
    low = int(grade.split("-")[0])
    return f"grade {grade}" + (", severe" if low >= 3 else "")


def _signed_words(value: int) -> str:
    if value == 0:
        return "no difference"
    return f"{abs(value)} {'more' if value > 0 else 'fewer'}"


@dataclass(frozen=True)
class Per100:
    """A number of people per 100 with its 95% simulation interval."""

    estimate: float
    low: float
    high: float

    def to_dict(self) -> dict[str, Any]:
        return {"estimate": _f(self.estimate), "low": _f(self.low), "high": _f(self.high)}

    def between(self) -> str:
        """``between 18 and 31 of 100`` (whole people)."""
        return f"between {people(self.low)} and {people(self.high)} of 100"

    def difference_between(self) -> str:
        """``between 18 and 31 more`` / ``between 8 fewer and 5 more`` (whole people per 100)."""
        low, high = people(self.low), people(self.high)
        if low >= 0 and high >= 0:
            return f"between {low} and {high} more" if low != high else f"{_signed_words(low)}"
        if low <= 0 and high <= 0:
            return (
                f"between {abs(high)} and {abs(low)} fewer"
                if low != high
                else f"{_signed_words(low)}"
            )
        return f"between {abs(low)} fewer and {high} more"


@dataclass(frozen=True)
class HorizonResult:
    """Event-free people per 100 without and with the option at one horizon."""

    horizon_years: float
    months: float
    without: Per100
    with_option: Per100
    difference: Per100
    nnt: float | None
    beyond_follow_up: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "horizon_years": self.horizon_years,
            "months": self.months,
            "without_per_100": self.without.to_dict(),
            "with_per_100": self.with_option.to_dict(),
            "difference_per_100": self.difference.to_dict(),
            "nnt": _f(self.nnt),
            "beyond_follow_up": self.beyond_follow_up,
        }


@dataclass(frozen=True)
class RMSTGain:
    """Restricted mean event-free months gained over ``horizon_years``."""

    horizon_years: float
    months_without: float
    months_with: float
    gain: Per100  #: here in months, not people

    def to_dict(self) -> dict[str, Any]:
        return {
            "horizon_years": self.horizon_years,
            "months_without": _f(self.months_without),
            "months_with": _f(self.months_with),
            "estimate": _f(self.gain.estimate),
            "low": _f(self.gain.low),
            "high": _f(self.gain.high),
        }


@dataclass(frozen=True)
class OutcomeResult:
    """PFS or OS of one option: the relative effect used, the baseline, and absolute numbers."""

    outcome: str
    available: bool
    reason: str | None = None
    hazard_ratio: dict[str, Any] | None = None
    trials: tuple[dict[str, Any], ...] = ()
    horizons: tuple[HorizonResult, ...] = ()
    rmst: RMSTGain | None = None
    subgroup_notes: tuple[str, ...] = ()

    def at(self, years: float) -> HorizonResult | None:
        return next((h for h in self.horizons if h.horizon_years == years), None)

    def plain(self, years: float, option_label: str) -> str:
        """One plain-language sentence for a horizon."""
        if not self.available:
            return f"{self.outcome}: no estimate ({self.reason})"
        h = self.at(years)
        if h is None:
            return f"{self.outcome}: no estimate at {years:g} years"
        words = OUTCOME_WORDS[self.outcome][0]
        when = f"{years:g} year{'s' if years != 1 else ''}"
        diff = people(h.difference.estimate)
        return (
            f"After {when}, about {people(h.with_option.estimate)} of 100 people taking "
            f"{option_label} "
            f"would be {words}, compared with {people(h.without.estimate)} of 100 without "
            "maintenance: "
            f"{_signed_words(diff)} ({h.difference.difference_between()})."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "available": self.available,
            "reason": self.reason,
            "hazard_ratio": self.hazard_ratio,
            "trials": list(self.trials),
            "horizons": [h.to_dict() for h in self.horizons],
            "rmst": self.rmst.to_dict() if self.rmst else None,
            "subgroup_notes": list(self.subgroup_notes),
        }


@dataclass(frozen=True)
class Harm:
    """One harm of one option from one trial, per 100 patients, over the trial's follow-up."""

    term: str
    label: str
    grade_target: str
    grade_reported: str
    matches_target_grade: bool
    trial_id: str
    trial_name: str
    with_per_100: float | None
    without_per_100: float | None
    unit: str  #: "per 100 patients" or "per 100 patient-years"
    timeframe: str
    horizon_months: float | None
    citation: str
    link: str | None
    location: str | None
    subgroup: str | None = None
    statement: str | None = None
    note: str | None = None
    n_with: float | None = None
    n_without: float | None = None
    projected_with: Per100 | None = None  #: per 100 at projected_horizon_years
    projected_without: Per100 | None = None
    projected_horizon_years: float | None = None
    projection_basis: str | None = None

    @property
    def grade_words(self) -> str:
        return grade_words(self.grade_reported)

    @property
    def difference_per_100(self) -> float | None:
        if self.with_per_100 is None or self.without_per_100 is None:
            return None
        return self.with_per_100 - self.without_per_100

    def text(self) -> str:
        if self.with_per_100 is None:
            return f"{self.label}: {self.statement or 'no number reported'} ({self.trial_name})"
        without = (
            f" vs {self.without_per_100:.0f} without maintenance"
            if self.without_per_100 is not None
            else " (control arm not reported)"
        )
        return (
            f"{self.label} ({self.grade_words}): {self.with_per_100:.0f}{without} {self.unit}, "
            f"{self.timeframe} ({self.trial_name})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "term": self.term,
            "label": self.label,
            "grade_target": self.grade_target,
            "grade_reported": self.grade_reported,
            "grade_words": self.grade_words,
            "matches_target_grade": self.matches_target_grade,
            "trial_id": self.trial_id,
            "trial_name": self.trial_name,
            "with_per_100": _f(self.with_per_100),
            "without_per_100": _f(self.without_per_100),
            "difference_per_100": _f(self.difference_per_100),
            "unit": self.unit,
            "timeframe": self.timeframe,
            "horizon_months": _f(self.horizon_months),
            "citation": self.citation,
            "link": self.link,
            "location": self.location,
            "subgroup": self.subgroup,
            "statement": self.statement,
            "note": self.note,
            "n_with": _f(self.n_with),
            "n_without": _f(self.n_without),
            "projected": (
                {
                    "horizon_years": self.projected_horizon_years,
                    "with_per_100": self.projected_with.to_dict(),
                    "without_per_100": (
                        self.projected_without.to_dict() if self.projected_without else None
                    ),
                    "basis": self.projection_basis,
                }
                if self.projected_with is not None
                else None
            ),
            "text": self.text(),
        }


@dataclass(frozen=True)
class QTwist:
    """Quality-adjusted time of one option over the horizon (months; see decide.quality)."""

    horizon_years: float
    tox: float
    twist: float
    rel: float
    os_months: float  #: restricted mean overall survival = tox + twist + rel
    p_tox: float  #: chance of a grade >= 3 adverse event over the horizon
    qtwist: Per100  #: months, with its 95% simulation interval
    gain: Per100 | None  #: vs observation (None for observation itself)
    relative_gain: float | None  #: gain / observation's restricted mean OS
    threshold: dict[str, Any] | None
    utilities: dict[str, float]
    toxicity_sources: tuple[dict[str, Any], ...] = ()
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "horizon_years": self.horizon_years,
            "tox_months": _f(self.tox),
            "twist_months": _f(self.twist),
            "rel_months": _f(self.rel),
            "os_months": _f(self.os_months),
            "p_tox": _f(self.p_tox),
            "qtwist_months": self.qtwist.to_dict(),
            "gain_months": self.gain.to_dict() if self.gain else None,
            "relative_gain": _f(self.relative_gain) if self.relative_gain is not None else None,
            "threshold": self.threshold,
            "utilities": dict(self.utilities),
            "toxicity_sources": list(self.toxicity_sources),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Flag:
    """A safety flag raised by the profile, with the rule it applies (source and confidence tag)."""

    level: str  #: "stop", "caution" or "info"
    message: str
    rule: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "message": self.message, "rule": dict(self.rule)}

    def summary(self) -> str:
        return (
            f"[{self.level}] {self.message} ({self.rule.get('source')}, {self.rule.get('where')} "
            f"[{self.rule.get('tag')}])"
        )


@dataclass(frozen=True)
class Burden:
    """How the option is taken, for how long, and clinic visits, with where each was read."""

    route: str | None
    route_text: str
    route_source: str | None
    regimens: tuple[dict[str, Any], ...]
    duration_text: str
    visits_text: str
    visits_per_year: float | None
    preference_notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "route": self.route,
            "route_text": self.route_text,
            "route_source": self.route_source,
            "regimens": list(self.regimens),
            "duration_text": self.duration_text,
            "visits_text": self.visits_text,
            "visits_per_year": _f(self.visits_per_year),
            "preference_notes": list(self.preference_notes),
        }


@dataclass(frozen=True)
class OptionResult:
    """One option (observation or a maintenance agent) for one patient."""

    option: str
    label: str
    is_reference: bool
    pfs: OutcomeResult
    os: OutcomeResult
    harms: tuple[Harm, ...]
    harms_not_reported: tuple[str, ...]
    flags: tuple[Flag, ...]
    burden: Burden | None
    sources: tuple[dict[str, Any], ...]
    qtwist: QTwist | None = None
    safety: tuple[dict[str, Any], ...] = ()
    hrqol: tuple[dict[str, Any], ...] = ()

    @property
    def rmst_gain_months(self) -> dict[str, Any]:
        return {
            name: (o.rmst.to_dict() if o.available and o.rmst else None)
            for name, o in (("pfs", self.pfs), ("os", self.os))
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "option": self.option,
            "label": self.label,
            "is_reference": self.is_reference,
            "pfs": self.pfs.to_dict(),
            "os": self.os.to_dict(),
            "rmst_gain_months": self.rmst_gain_months,
            "harms": [h.to_dict() for h in self.harms],
            "harms_not_reported": list(self.harms_not_reported),
            "flags": [f.to_dict() for f in self.flags],
            "burden": self.burden.to_dict() if self.burden else None,
            "sources": list(self.sources),
            "qtwist": self.qtwist.to_dict() if self.qtwist else None,
            "safety": list(self.safety),
            "hrqol": list(self.hrqol),
        }

    def summary(self, years: float = 5) -> str:
        lines = [self.label]
        for outcome in (self.pfs, self.os):
            at = outcome.at(years)
            lines.append(
                "  " + outcome.plain(years, self.label.lower())
                if not self.is_reference
                else f"  {outcome.outcome}: "
                + (
                    f"{people(at.without.estimate)} of 100 at {years:g} years "
                    f"({at.without.between()})"
                    if outcome.available and at is not None
                    else "no baseline"
                )
            )
        q = self.qtwist
        if q is not None:
            lines.append(
                f"  Quality-adjusted time over {q.horizon_years:g} years: "
                f"{q.qtwist.estimate:.1f} months"
                + (
                    f" ({q.gain.estimate:+.1f} vs observation, {q.gain.low:+.1f} to "
                    f"{q.gain.high:+.1f})"
                    if q.gain
                    else ""
                )
                + f" [toxicity {q.tox:.1f}, without symptoms or toxicity {q.twist:.1f}, after "
                f"progression {q.rel:.1f}]"
            )
        for s in self.safety:
            lines.append(f"  * {s['advice']}")
        for f in self.flags:
            lines.append(f"  ! {f.message}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Decision:
    """Everything one decision produced, pinned to the evidence version and engine settings."""

    profile: dict[str, Any]
    evidence_version: str
    plateau_version: str
    created_at: str
    setting: str
    horizons_years: tuple[float, ...]
    rmst_horizon_years: float
    n_sims: int
    seed: int
    baselines: dict[str, Any]
    options: tuple[OptionResult, ...]
    not_available: tuple[dict[str, str], ...]
    flags: tuple[Flag, ...]
    assumptions: tuple[str, ...]
    derived: dict[str, Any] = field(default_factory=dict)
    baseline_model: str = "flexible"
    utilities: dict[str, float] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)

    def option(self, name: str) -> OptionResult:
        for o in self.options:
            if o.option == name:
                return o
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "evidence_version": self.evidence_version,
            "plateau_version": self.plateau_version,
            "created_at": self.created_at,
            "profile": dict(self.profile),
            "derived": dict(self.derived),
            "setting": self.setting,
            "horizons_years": list(self.horizons_years),
            "rmst_horizon_years": self.rmst_horizon_years,
            "simulation": {"n_sims": self.n_sims, "seed": self.seed},
            "baseline_model": self.baseline_model,
            "utilities": dict(self.utilities),
            "values": dict(self.values),
            "baselines": self.baselines,
            "options": [o.to_dict() for o in self.options],
            "not_available": list(self.not_available),
            "flags": [f.to_dict() for f in self.flags],
            "assumptions": list(self.assumptions),
        }

    def summary(self) -> str:
        years = self.rmst_horizon_years
        lines = [
            f"Decision support for: {self.derived.get('profile_summary', '')}",
            f"Setting: {self.setting}; evidence version {self.evidence_version[:12]}; "
            f"people per 100 at {years:g} years",
        ]
        for o in self.options:
            lines.append(o.summary(years))
        for item in self.not_available:
            lines.append(f"Not shown: {item['label']}: {item['reason']}")
        return "\n".join(lines)
