"""Which trials an analysis includes, what each contributes, and why the others are excluded.

Rules, applied to every trial of the evidence base in order (the first that fails gives the
exclusion reason):

1. ``trials`` / ``exclude_trials`` of the spec.
2. Setting, age group and randomisation point of the trial.  **Mixed-population trials** (setting
   ``mixed``, e.g. Myeloma XI, GIMEMA RV-MM-PI-209) under a setting filter that does not name
   ``mixed``: the estimate of the subgroup in the wanted setting (``subgroup_setting``) where the
   base has one; otherwise the whole-trial estimate, flagged *mixed population* (not allowed with
   ``exclude_mixed_population``).  Every entry point (CLI, API, web, built-ins, report, networks,
   decision aid) goes through this rule; :func:`mixed_population_note` is the one line that says
   which trials entered this way.
3. Comparisons of the selected kinds and control types whose *tested agents* include one of the
   spec's agents; with ``exclude_packages`` no induction + maintenance packages, with
   ``exclude_active_controls`` only observation/placebo controls.
4. Outcome: the whole randomised population (no subgroup estimates); for disease control the first
   of PFS, EFS, TTP (spec order) with a usable estimate.
5. Report: the latest report (status ``latest``/``latest_available``); if it has no usable effect,
   the most recent earlier report that has one, flagged *earlier report* (not allowed with
   ``latest_only``).  Among several latest estimates of one outcome (e.g. MM-015's PFS from
   randomisation and its landmark PFS from the start of maintenance) the estimate of the outcome
   as the trial defines it (no ``outcome_detail``) comes first, then variants in alphabetical
   order of ``outcome_detail``: the choice never depends on the order of the file
   (:func:`ordered_estimates`).
6. Effect: log HR and its SE, from, in order of preference, HR with CI; log HR with SE; O-E and V;
   HR with an exact p-value; then, flagged *approximate* (not allowed with
   ``exclude_approximate``), HR with a p-value bound such as "p<0.001" taken at the bound (the SE
   is then an upper limit, so the trial is under- rather than over-weighted), the p-value with the
   number of events, and per-arm medians with events under an exponential model (Parmar et al.,
   Stat Med 1998;17:2815; Tierney et al., Trials 2007;8:16); an HR printed without CI or p (e.g.
   "HR = 1") with the events per arm, printed or estimated from x-year rates and arm sizes
   (var = 1/d_e + 1/d_c); and x-year rates with arm sizes alone (ln HR = ln(-ln S_e) - ln(-ln S_c),
   Parmar 1998; Williamson et al., Stat Med 2002;21:3337).  Events estimated from x-year rates
   assume every patient was followed to x years, so they are used only when the report's median
   follow-up reaches the time point (else the derivation is not sound for the data and the trial
   is listed as missing with that reason).
7. ``primary_sources_only``: the estimate's source must be the trial's own publication.
8. No patient counts twice: comparisons that share an arm, or that the evidence declares
   overlapping (``overlaps_with``, e.g. Myeloma IX's combined and pathway-specific analyses), are
   never used together.  Comparisons of one population (a pathway) are preferred, then every further
   comparison that shares no patient with those already chosen; the others are listed as excluded.
   Setting and age group are those of the comparison when the evidence gives them (e.g. the
   intensive pathway is post-ASCT), else the trial's.
9. Direction: duration-strategy comparisons (same drug, different duration) are turned to
   *longer vs shorter* (``longer_arm``) before anything pools or plots them: HR -> 1/HR, arms and
   counts swapped, flagged ``direction_normalised``.

**Missing trials**: a trial whose comparison matches the question (setting, age group, kind,
control, agent) but that contributes nothing for the outcome is an :class:`Exclusion` with
``missing = True``, its size and the reason; results list them prominently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from plateau.analysis.spec import AnalysisSpec
from plateau.evidence.base import EvidenceBase, citation
from plateau.evidence.schema import (
    AdverseEvent,
    Arm,
    Comparison,
    ComparisonKind,
    ControlType,
    Estimate,
    EstimateStatus,
    Outcome,
    Setting,
    SourceKind,
    Trial,
)
from plateau.meta import effects

DERIVATION_LABELS = {
    "hr_ci": "HR with CI",
    "log_hr_se": "log HR with SE",
    "oe_v": "O-E and V (log-rank)",
    "hr_p": "HR with exact p-value",
    "hr_p_bound": "HR with a p-value bound such as p<0.001 (conservative SE, approximate)",
    "p_events": "p-value and number of events (approximate)",
    "medians": "medians and events, exponential model (approximate)",
    "counts": "events per arm",
    "percent_counts": "events derived from percentages and arm sizes (approximate)",
    "odds_ratio_ci": "odds ratio with CI",
    "hr_events": "HR as printed, variance from events per arm, 1/d_e + 1/d_c (approximate)",
    "hr_rates": "HR as printed, variance from events estimated from x-year rates and arm sizes "
    "(approximate)",
    "rates": "x-year rates and arm sizes, proportional hazards (approximate)",
}
DERIVATION_SHORT = {
    "hr_ci": "HR + CI",
    "log_hr_se": "log HR + SE",
    "oe_v": "O-E, V",
    "hr_p": "HR + p",
    "hr_p_bound": "HR + p bound",
    "p_events": "p + events",
    "medians": "medians + events",
    "counts": "counts",
    "percent_counts": "percentages",
    "odds_ratio_ci": "OR + CI",
    "hr_events": "HR + events",
    "hr_rates": "HR + x-year rates",
    "rates": "x-year rates",
}
APPROXIMATE_DERIVATIONS = {
    "hr_p_bound",
    "p_events",
    "medians",
    "percent_counts",
    "hr_events",
    "hr_rates",
    "rates",
}


@dataclass(frozen=True)
class SourceRef:
    """Where a number was read."""

    citation: str
    pmid: str | None
    doi: str | None
    url: str | None
    location: str | None
    kind: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "citation": self.citation,
            "pmid": self.pmid,
            "doi": self.doi,
            "url": self.url,
            "location": self.location,
            "kind": self.kind,
        }

    @property
    def link(self) -> str | None:
        if self.pmid:
            return f"https://pubmed.ncbi.nlm.nih.gov/{self.pmid}/"
        if self.doi:
            return f"https://doi.org/{self.doi}"
        return self.url


@dataclass(frozen=True)
class Contribution:
    """One trial's contribution to an analysis: an effect on the log scale with its SE."""

    trial_id: str
    trial_name: str
    label: str
    comparison_id: str
    comparison_kind: str
    control_type: str
    setting: str
    age_group: str
    randomisation_point: str
    tested_agents: tuple[str, ...]
    experimental: str
    control: str
    outcome: str
    measure: str  #: "HR", "RR" or "OR"
    yi: float  #: log effect
    sei: float
    n_experimental: int | None
    n_control: int | None
    derivation: str
    approximate: bool
    earlier_report: bool
    report: str
    status: str
    median_followup_months: float | None
    source: SourceRef
    events_experimental: int | None = None
    events_control: int | None = None
    #: whole-trial estimate of a mixed-population trial used under a setting filter
    mixed_population: bool = False
    #: the subgroup whose estimate is used (e.g. "transplant-eligible"), None = whole comparison
    population: str | None = None
    #: a duration-strategy comparison turned to longer vs shorter (HR inverted, arms swapped)
    direction_normalised: bool = False
    outcome_detail: str | None = None
    #: the estimate is the subgroup of a mixed-population trial in the wanted setting
    setting_subgroup: bool = False
    primary_label: str = ""  #: the study named after its own publication (forest plots)
    #: display only: the events per arm the publication reports beside a hazard ratio, for the
    #: forest plot's events/N columns. Never read by a computation (pooling, absolute effects
    #: and the decision aid use ``events_experimental``/``events_control``, which stay None
    #: where the HR did not come from events).
    reported_events_experimental: int | None = None
    reported_events_control: int | None = None

    @property
    def display_events(self) -> tuple[int | None, int | None]:
        """Events per arm to show (experimental, control): the counts the effect was computed
        from, else the counts the publication reports beside the estimate."""
        if self.events_experimental is not None or self.events_control is not None:
            return self.events_experimental, self.events_control
        return self.reported_events_experimental, self.reported_events_control

    @property
    def estimate(self) -> float:
        return math.exp(self.yi)

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        from statistics import NormalDist

        z = NormalDist().inv_cdf(1 - (1 - level) / 2)
        return math.exp(self.yi - z * self.sei), math.exp(self.yi + z * self.sei)

    @property
    def n_total(self) -> int | None:
        if self.n_experimental is None or self.n_control is None:
            return None
        return self.n_experimental + self.n_control

    def group_value(self, by: str) -> str:
        if by == "agent":
            return "+".join(self.tested_agents) or "none"
        return str(getattr(self, by))


@dataclass(frozen=True)
class Exclusion:
    """A trial (or one of its comparisons) that contributes nothing, and why.

    ``missing``: the trial randomised the comparison asked about (setting, age group, kind,
    control and agent match) but gives nothing usable for this outcome; ``n_randomised`` is the
    size of that comparison (both arms) when known.
    """

    trial_id: str
    trial_name: str
    reason: str
    missing: bool = False
    n_randomised: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "trial_id": self.trial_id,
            "trial_name": self.trial_name,
            "reason": self.reason,
            "missing": self.missing,
            "n_randomised": self.n_randomised,
        }

    def text(self) -> str:
        size = f", {self.n_randomised} patients" if self.n_randomised else ""
        return f"{self.trial_name}{size}: {self.reason}"


@dataclass(frozen=True)
class Selection:
    contributions: tuple[Contribution, ...]
    exclusions: tuple[Exclusion, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def missing(self) -> tuple[Exclusion, ...]:
        return tuple(e for e in self.exclusions if e.missing)


def mixed_population_note(contributions, names: dict[str, str] | None = None) -> str | None:
    """The one line that says which trials entered with a whole-trial estimate of a mixed
    population (or with a setting subgroup of one), or None.  ``names``: short trial names."""
    names = names or {}

    def short(c) -> str:
        return names.get(c.trial_id, c.trial_name)

    whole = [short(c) for c in contributions if c.mixed_population]
    sub = [f"{short(c)} ({c.population})" for c in contributions if c.setting_subgroup]
    parts = []
    if whole:
        parts.append(
            "Mixed population (transplant and non-transplant patients), whole-trial estimate "
            f"used: {', '.join(dict.fromkeys(whole))} (switch: exclude mixed-population trials)"
        )
    if sub:
        parts.append(f"setting subgroup of a mixed-population trial used: {', '.join(sub)}")
    return "; ".join(parts) + "." if parts else None


def _source_ref(trial: Trial, source_id: str) -> SourceRef:
    s = trial.source(source_id)
    return SourceRef(citation(s), s.pmid, s.doi, s.url, s.location, s.kind.value)


def _label(trial: Trial, source_id: str, comparison: Comparison) -> str:
    """``Myeloma IX (Morgan 2013)``; the comparison id is added when the trial has several."""
    s = trial.source(source_id)
    name = trial.acronym or trial.name
    if len(trial.comparisons) > 1:
        name = f"{name}, {comparison.id.replace('_', ' ')}"
    who = s.first_author.split()[0].rstrip(",") if s.first_author else None
    if who and s.year:
        return f"{name} ({who} {s.year})"
    return name


def _primary_label(trial: Trial, source_id: str, comparison: Comparison) -> str:
    """The study as a forest plot names it: after the trial's own publication.

    When the number was read from a secondary source (a review, a label), the trial's latest
    primary source is cited instead (``source`` still says where the number was read); a long
    name keeps its part before the first parenthesis.  ``label`` stays as it was: other parts
    (the FAQ's review fingerprints) use it as an identity.
    """
    s = trial.source(source_id)
    if s.kind != SourceKind.primary:
        primaries = [p for p in trial.sources if p.kind == SourceKind.primary and p.year]
        if primaries:
            s = max(primaries, key=lambda p: p.year or 0)
    name = trial.acronym or trial.name.split(" (")[0]
    if len(trial.comparisons) > 1:
        name = f"{name}, {comparison.id.replace('_', ' ')}"
    who = s.first_author.split()[0].rstrip(",") if s.first_author else None
    if who and s.year:
        return f"{name} ({who} {s.year})"
    return name


def _rates_sound(e: Estimate) -> bool:
    """Events from x-year rates assume follow-up to x years: the median follow-up must reach it."""
    return (
        e.rate_timepoint_months is not None
        and e.median_followup_months is not None
        and e.median_followup_months >= e.rate_timepoint_months
    )


def _rates_usable(e: Estimate, n_e: int | None, n_c: int | None) -> bool:
    return (
        e.rate_experimental is not None
        and e.rate_control is not None
        and 0 < e.rate_experimental < 100
        and 0 < e.rate_control < 100
        and bool(n_e)
        and bool(n_c)
    )


def time_to_event_effect(
    e: Estimate, n_experimental: int | None = None, n_control: int | None = None
) -> tuple[float, float, str] | None:
    """``(log HR, SE, derivation)`` from an estimate, or None if it has no usable effect.

    ``n_experimental``/``n_control`` (the randomised arm sizes) are used with x-year rates when
    the estimate does not give its own analysed numbers.
    """
    n_e = e.n_experimental or n_experimental
    n_c = e.n_control or n_control
    if e.has_hr_ci:
        es = effects.log_hr_from_ci(e.hr, e.ci_low, e.ci_high, level=e.ci_level)
        return float(es.yi), math.sqrt(float(es.vi)), "hr_ci"
    if e.log_hr is not None and e.se_log_hr is not None:
        return e.log_hr, e.se_log_hr, "log_hr_se"
    if e.o_minus_e is not None and e.variance is not None:
        es = effects.log_hr_from_oe(e.o_minus_e, e.variance)
        return float(es.yi), math.sqrt(float(es.vi)), "oe_v"
    p_relation, p_number = e.p_value_parsed or ("", math.nan)
    exact_p = p_relation == "=" and 0 < p_number < 1
    if e.hr is not None and exact_p and e.hr != 1:
        es = effects.log_hr_from_p(e.hr, p_number)
        return float(es.yi), math.sqrt(float(es.vi)), "hr_p"
    bound = p_relation in ("<", "<=") and 0 < p_number < 1
    if e.hr is not None and bound and e.hr != 1:
        # the true p is below the bound, so |z| is above z(bound): the SE from the bound is an
        # upper limit and the study gets less weight than it deserves (conservative)
        es = effects.log_hr_from_p(e.hr, p_number)
        return float(es.yi), math.sqrt(float(es.vi)), "hr_p_bound"
    events = None
    if e.events_experimental is not None and e.events_control is not None:
        events = e.events_experimental + e.events_control
    if exact_p and events:
        favours = _direction(e)
        if favours is not None:
            es = effects.log_hr_from_p_events(p_number, events, favours_experimental=favours)
            return float(es.yi), math.sqrt(float(es.vi)), "p_events"
    if e.hr is not None and e.events_experimental and e.events_control:
        es = effects.log_hr_from_hr_events(e.hr, e.events_experimental, e.events_control)
        return float(es.yi), math.sqrt(float(es.vi)), "hr_events"
    if (
        e.median_experimental
        and e.median_control
        and not e.median_experimental_not_reached
        and not e.median_control_not_reached
        and e.events_experimental
        and e.events_control
    ):
        es = effects.log_hr_from_medians(
            e.median_experimental, e.median_control, e.events_experimental, e.events_control
        )
        return float(es.yi), math.sqrt(float(es.vi)), "medians"
    if _rates_usable(e, n_e, n_c) and _rates_sound(e):
        s_e, s_c = float(e.rate_experimental or 0) / 100, float(e.rate_control or 0) / 100
        d_e = float(effects.events_from_survival(s_e, n_e))
        d_c = float(effects.events_from_survival(s_c, n_c))
        if e.hr is not None:
            es = effects.log_hr_from_hr_events(e.hr, d_e, d_c)
            return float(es.yi), math.sqrt(float(es.vi)), "hr_rates"
        es = effects.log_hr_from_survival(s_e, s_c, n_e, n_c)
        return float(es.yi), math.sqrt(float(es.vi)), "rates"
    return None


def _direction(e: Estimate) -> bool | None:
    """Whether the experimental arm did better, from the HR, medians or rates printed."""
    if e.hr is not None and e.hr != 1:
        return e.hr < 1
    if (
        e.median_experimental is not None
        and e.median_control is not None
        and e.median_experimental != e.median_control
    ):
        return e.median_experimental > e.median_control
    if e.median_experimental_not_reached and not e.median_control_not_reached:
        return True
    if (
        e.rate_experimental is not None
        and e.rate_control is not None
        and e.rate_experimental != e.rate_control
    ):
        return e.rate_experimental > e.rate_control
    return None


def _why_unusable(e: Estimate, n_e: int | None = None, n_c: int | None = None) -> str:
    parsed = e.p_value_parsed
    if (
        e.rate_timepoint_months is not None
        and _rates_usable(e, e.n_experimental or n_e, e.n_control or n_c)
        and not _rates_sound(e)
    ):
        follow = (
            f"median follow-up {e.median_followup_months:g} months"
            if e.median_followup_months is not None
            else "no median follow-up stated"
        )
        return (
            f"only x-year rates at {e.rate_timepoint_months:g} months ({follow}): events by that "
            "time cannot be estimated soundly, no approximate HR derived"
        )
    if e.hr is not None and not e.has_hr_ci:
        if parsed is None:
            return "HR without CI and without an exact p-value"
        return f"HR without CI; p {e.p_value} gives no usable bound"
    if parsed is not None and parsed[0] != "=":
        return f"only p {e.p_value} (an inequality) without HR or CI"
    if e.median_experimental or e.median_control:
        return "medians without numbers of events (no HR, CI or SE)"
    return "no HR, CI, SE or O-E/V"


def _binary_counts(e_events, e_n, c_events, c_n, e_pct, c_pct, x: Arm, k: Arm):
    """Counts per arm; from percentages and randomised arm sizes when counts are missing."""
    if None not in (e_events, e_n, c_events, c_n):
        return (e_events, e_n, c_events, c_n), "counts"
    n_e = e_n or x.n_randomised
    n_c = c_n or k.n_randomised
    if None not in (e_pct, c_pct, n_e, n_c):
        return (round(e_pct * n_e / 100), n_e, round(c_pct * n_c / 100), n_c), "percent_counts"
    return None, None


def _grade_matches(grade: str, wanted: str) -> bool:
    if wanted == "any":
        return grade == "any"
    # grade >= 3: "3", "4", "5", "3-4", "3-5", ">=3", "4-5"
    if grade.startswith(">="):
        return int(grade[2:]) >= 3
    if "-" in grade:
        low, _high = (int(v) for v in grade.split("-"))
        return low >= 3
    return grade.isdigit() and int(grade) >= 3


def select(spec: AnalysisSpec, base: EvidenceBase) -> Selection:
    """Apply the rules of this module to every trial of ``base``."""
    for trial_id in (*spec.trials, *spec.exclude_trials):
        base.trial(trial_id)  # unknown ids are an error, named
    wanted_trials = {base.trial(t).id for t in spec.trials}
    dropped_trials = {base.trial(t).id for t in spec.exclude_trials}
    contributions: list[Contribution] = []
    exclusions: list[Exclusion] = []
    for trial in base.trials:
        outcome = _select_trial(spec, trial, wanted_trials, dropped_trials)
        if isinstance(outcome, Exclusion):
            exclusions.append(outcome)
        else:
            chosen, others = outcome
            contributions.extend(chosen)
            exclusions.extend(others)
    names = {t.id: t.acronym or t.name for t in base.trials}
    note = mixed_population_note(contributions, names)
    return Selection(tuple(contributions), tuple(exclusions), (note,) if note else ())


def _overlap(trial: Trial, a: Comparison, b: Comparison) -> bool:
    """Whether two comparisons share patients: a common arm, or declared ``overlaps_with``."""
    return (
        bool({a.experimental_arm, a.control_arm} & {b.experimental_arm, b.control_arm})
        or b.id in a.overlaps_with
        or a.id in b.overlaps_with
    )


def _comparison_size(trial: Trial, c: Comparison) -> int | None:
    x, k = trial.arm(c.experimental_arm), trial.arm(c.control_arm)
    if x.n_randomised is None or k.n_randomised is None:
        return None
    return x.n_randomised + k.n_randomised


def _select_trial(spec, trial: Trial, wanted_trials, dropped_trials):
    def excluded(reason: str, missing: bool = False, n: int | None = None) -> Exclusion:
        return Exclusion(trial.id, trial.name, reason, missing, n or trial.n_randomised_total)

    if wanted_trials and trial.id not in wanted_trials:
        return excluded("not among the trials selected")
    if trial.id in dropped_trials:
        return excluded("excluded by the analysis (exclude_trials)")
    if spec.randomisation_points and trial.randomisation_point not in spec.randomisation_points:
        return excluded(
            f"randomised {trial.randomisation_point.value.replace('_', ' ')}, not selected"
        )
    kinds = set(spec.comparison_kinds)
    if spec.sensitivity.exclude_packages:
        kinds.discard(ComparisonKind.induction_maintenance_package)
    controls = set(spec.control_types)
    if spec.sensitivity.exclude_active_controls:
        controls = (controls or set(ControlType)) - {ControlType.active}
    reasons: list[str] = []
    qualifying: list[tuple[Comparison, tuple[Setting, ...] | None]] = []
    many = len(trial.comparisons) > 1
    for c in trial.comparisons:
        tested = trial.tested_agents(c)
        setting, age = trial.comparison_setting(c), trial.comparison_age_group(c)
        prefix = f"comparison {c.id}: " if many else ""
        wanted_settings: tuple[Setting, ...] | None = None
        if spec.settings and setting not in spec.settings:
            if setting != Setting.mixed:
                reasons.append(f"{prefix}setting {setting.value} not selected")
                continue
            # mixed population under a setting filter: the setting's subgroup, else whole trial
            wanted_settings = tuple(spec.settings)
        if spec.age_groups and age not in spec.age_groups:
            reasons.append(f"{prefix}age group {age.value} not selected")
        elif kinds and c.kind not in kinds:
            reasons.append(f"comparison {c.id} is {c.kind.value.replace('_', ' ')} (not selected)")
        elif controls and c.control_type not in controls:
            reasons.append(
                f"comparison {c.id} has an {c.control_type.value} control (not selected)"
            )
        elif spec.agents and not set(spec.agents) & set(tested):
            tested_text = ", ".join(a.value for a in tested) or "no agent"
            reasons.append(
                f"comparison {c.id} tests {tested_text}, not "
                f"{', '.join(a.value for a in spec.agents)}"
            )
        else:
            qualifying.append((c, wanted_settings))
    if not qualifying:
        return excluded("; ".join(reasons) if reasons else "no comparison")
    found: list[tuple[Comparison, Contribution]] = []
    missing_reasons: list[str] = []
    switched_off = False
    for c, wanted_settings in qualifying:
        result = _contribution(spec, trial, c, wanted_settings)
        if isinstance(result, Contribution):
            found.append((c, result))
            continue
        text, by_switch = result
        switched_off = switched_off or by_switch
        missing_reasons.append(f"comparison {c.id}: {text}")
    if not found:
        sizes = [_comparison_size(trial, c) for c, _ in qualifying]
        n = max((v for v in sizes if v), default=None)
        return excluded("; ".join(missing_reasons), missing=not switched_off, n=n)
    # comparisons of one population first (e.g. Myeloma IX's pathways before the combined one),
    # then greedily every further comparison that shares no patient with those chosen
    found.sort(
        key=lambda pair: (
            pair[0].setting is None and pair[0].age_group is None,
            trial.comparisons.index(pair[0]),
        )
    )
    chosen: list[tuple[Comparison, Contribution]] = []
    extra: list[Exclusion] = []
    for c, contribution in found:
        clash = next((o for o, _ in chosen if _overlap(trial, c, o)), None)
        if clash is None:
            chosen.append((c, contribution))
        else:
            extra.append(
                excluded(
                    f"comparison {c.id} not used: it shares patients with comparison "
                    f"{clash.id} (no patient counts twice)"
                )
            )
    return [contribution for _, contribution in chosen], extra


def ordered_estimates(trial: Trial, estimates: list[Estimate]) -> list[Estimate]:
    """Estimates of one comparison x outcome in the order selection tries them.

    Current reports (``latest``/``latest_available``) first, then superseded ones, most recent
    first.  Within each, the outcome as the trial defines it (no ``outcome_detail``) before
    variants such as a landmark analysis, then alphabetically by ``outcome_detail`` and report:
    an explicit rule, so the choice never depends on the order of the evidence file.
    """

    def detail_key(e: Estimate) -> tuple:
        return (e.outcome_detail is not None, e.outcome_detail or "", e.report)

    current = sorted(
        (e for e in estimates if e.status != EstimateStatus.superseded), key=detail_key
    )
    earlier = sorted(
        (e for e in estimates if e.status == EstimateStatus.superseded),
        key=lambda e: (tuple(-v for v in _recency(trial, e)), *detail_key(e)),
    )
    return current + earlier


def _contribution(
    spec: AnalysisSpec,
    trial: Trial,
    c: Comparison,
    wanted_settings: tuple[Setting, ...] | None = None,
) -> Contribution | tuple[str, bool]:
    """The comparison's contribution, or ``(reason, excluded by a switch)``."""
    x, k = trial.arm(c.experimental_arm), trial.arm(c.control_arm)
    common: dict[str, Any] = dict(
        trial_id=trial.id,
        trial_name=trial.name,
        comparison_id=c.id,
        comparison_kind=c.kind.value,
        control_type=c.control_type.value,
        setting=trial.comparison_setting(c).value,
        age_group=trial.comparison_age_group(c).value,
        randomisation_point=trial.randomisation_point.value,
        tested_agents=tuple(a.value for a in trial.tested_agents(c)),
        experimental=x.id,
        control=k.id,
        n_experimental=x.n_randomised,
        n_control=k.n_randomised,
    )
    if spec.outcome == "adverse_event":
        if wanted_settings is not None and spec.sensitivity.exclude_mixed_population:
            return _MIXED_SWITCH, True
        result = _adverse_event_contribution(spec, trial, c, x, k, common)
        if isinstance(result, str):
            return result, False
        if wanted_settings is not None:
            result = replace(result, mixed_population=True)
        return result
    problems: list[str] = []
    by_switch = False
    for outcome in spec.outcomes_considered:
        of_outcome = [e for e in trial.estimates if e.comparison == c.id and e.outcome == outcome]
        # (estimates, population mode): the setting's subgroup of a mixed trial, then the whole
        candidates: list[tuple[list[Estimate], str]] = []
        if wanted_settings is not None:
            subgroup = [e for e in of_outcome if e.subgroup_setting in wanted_settings]
            if subgroup:
                candidates.append((subgroup, "setting_subgroup"))
            whole = [e for e in of_outcome if e.subgroup is None]
            if spec.sensitivity.exclude_mixed_population:
                if not subgroup:
                    problems.append(_MIXED_SWITCH)
                    by_switch = True
                    continue
            elif whole:
                candidates.append((whole, "mixed"))
        else:
            whole = [e for e in of_outcome if e.subgroup is None]
            # "mixed" asked for explicitly next to a setting: included, and still flagged
            flagged = trial.comparison_setting(c) == Setting.mixed and any(
                s != Setting.mixed for s in spec.settings
            )
            if whole:
                candidates.append((whole, "mixed" if flagged else "whole"))
        if not candidates:
            problems.append(f"no {outcome.value}")
            continue
        for estimates, mode in candidates:
            result = _time_to_event_contribution(
                spec, trial, c, x, k, common, outcome, estimates, mode
            )
            if isinstance(result, Contribution):
                return result
            text, switch = result
            problems.append(text)
            by_switch = by_switch or switch
    reason = "; ".join(dict.fromkeys(problems)) if problems else "no usable estimate"
    return reason, by_switch and all(p == _MIXED_SWITCH for p in problems)


_MIXED_SWITCH = (
    "mixed population (transplant and non-transplant patients) without an estimate for the "
    "selected setting; excluded by 'exclude mixed-population trials'"
)


def _time_to_event_contribution(spec, trial, c, x, k, common, outcome, estimates, mode):
    latest = [e for e in estimates if e.status != EstimateStatus.superseded]
    first = f"no usable {outcome.value} estimate"
    for position, e in enumerate(ordered_estimates(trial, estimates)):
        if (
            spec.sensitivity.primary_sources_only
            and trial.source(e.source).kind != SourceKind.primary
        ):
            if position == 0:
                first = f"{outcome.value} read from a secondary source"
            continue
        subgroup_n = mode == "setting_subgroup"
        n_e = e.n_experimental if subgroup_n else (e.n_experimental or x.n_randomised)
        n_c = e.n_control if subgroup_n else (e.n_control or k.n_randomised)
        effect = (
            time_to_event_effect(e, n_e, n_c) if spec.is_time_to_event else _binary_effect(e, x, k)
        )
        if effect is None:
            if position == 0:
                first = f"latest {outcome.value} report has {_why_unusable(e, n_e, n_c)}"
            continue
        yi, sei, derivation = effect[:3]
        approximate = derivation in APPROXIMATE_DERIVATIONS or e.approximate
        earlier = e.status == EstimateStatus.superseded and bool(latest)
        if earlier and spec.sensitivity.latest_only:
            return (
                f"{outcome.value} has a usable effect only in an earlier report "
                "(latest reports only)",
                False,
            )
        if approximate and spec.sensitivity.exclude_approximate:
            return (
                f"{outcome.value} effect is approximate ({DERIVATION_LABELS[derivation]})",
                False,
            )
        counts = effect[3] if len(effect) > 3 else (None, None, None, None)
        contribution = Contribution(
            **{**common, "n_experimental": n_e, "n_control": n_c},
            label=_label(trial, e.source, c),
            primary_label=_primary_label(trial, e.source, c),
            outcome=outcome.value,
            measure="HR" if spec.is_time_to_event else "RR",
            yi=yi,
            sei=sei,
            derivation=derivation,
            approximate=approximate,
            earlier_report=earlier,
            report=e.report,
            status=e.status.value,
            median_followup_months=e.median_followup_months,
            source=_source_ref(trial, e.source),
            events_experimental=counts[0],
            events_control=counts[2],
            reported_events_experimental=e.events_experimental,
            reported_events_control=e.events_control,
            mixed_population=mode == "mixed",
            population=e.subgroup,
            setting_subgroup=mode == "setting_subgroup",
            outcome_detail=e.outcome_detail,
        )
        if mode == "setting_subgroup":
            contribution = replace(contribution, setting=e.subgroup_setting.value)
        return _normalise_direction(c, contribution)
    return first, False


def _normalise_direction(c: Comparison, contribution: Contribution) -> Contribution:
    """Duration-strategy comparisons as longer vs shorter therapy (rule 9)."""
    if c.kind != ComparisonKind.duration_strategy or c.longer_arm != c.control_arm:
        return contribution
    return replace(
        contribution,
        yi=-contribution.yi,
        experimental=contribution.control,
        control=contribution.experimental,
        n_experimental=contribution.n_control,
        n_control=contribution.n_experimental,
        events_experimental=contribution.events_control,
        events_control=contribution.events_experimental,
        reported_events_experimental=contribution.reported_events_control,
        reported_events_control=contribution.reported_events_experimental,
        direction_normalised=True,
    )


def _recency(trial: Trial, e: Estimate) -> tuple:
    s = trial.source(e.source)
    return (s.year or 0, e.median_followup_months or 0.0)


def _binary_effect(e: Estimate, x: Arm, k: Arm):
    """log RR (with metafor's 1/2 correction for zero cells) from counts per arm."""
    counts, derivation = _binary_counts(
        e.events_experimental,
        e.n_experimental,
        e.events_control,
        e.n_control,
        e.percent_experimental,
        e.percent_control,
        x,
        k,
    )
    if counts is None:
        return None
    ai, n1, ci, n2 = counts
    es = effects.escalc("RR", ai=[ai], n1i=[n1], ci=[ci], n2i=[n2])
    return float(es.yi[0]), math.sqrt(float(es.vi[0])), derivation, counts


def _adverse_event_contribution(spec, trial, c, x, k, common) -> Contribution | str:
    events: list[AdverseEvent] = [
        a for a in trial.adverse_events if a.comparison == c.id and a.term == spec.adverse_event
    ]
    if not events:
        return f"no {spec.adverse_event.value.replace('_', ' ')} reported"
    matching = [a for a in events if _grade_matches(a.grade, spec.adverse_event_grade)]
    if not matching:
        grades = ", ".join(sorted({a.grade for a in events}))
        return f"{spec.adverse_event.value.replace('_', ' ')} reported only as grade {grades}"
    for a in matching:
        if (
            spec.sensitivity.primary_sources_only
            and trial.source(a.source).kind != SourceKind.primary
        ):
            continue
        counts, derivation = _binary_counts(
            a.events_experimental,
            a.n_experimental,
            a.events_control,
            a.n_control,
            a.percent_experimental,
            a.percent_control,
            x,
            k,
        )
        if counts is None:
            continue
        if derivation in APPROXIMATE_DERIVATIONS and spec.sensitivity.exclude_approximate:
            return "adverse-event counts derived from percentages (approximate)"
        ai, n1, ci, n2 = counts
        es = effects.escalc("RR", ai=[ai], n1i=[n1], ci=[ci], n2i=[n2])
        return Contribution(
            **{**common, "n_experimental": n1, "n_control": n2},
            label=_label(trial, a.source, c),
            primary_label=_primary_label(trial, a.source, c),
            outcome=f"{a.term.value} grade {a.grade}",
            measure="RR",
            yi=float(es.yi[0]),
            sei=math.sqrt(float(es.vi[0])),
            derivation=derivation,
            approximate=derivation in APPROXIMATE_DERIVATIONS,
            earlier_report=False,
            report=a.term_as_reported or a.term.value,
            status="latest",
            median_followup_months=None,
            source=_source_ref(trial, a.source),
            events_experimental=ai,
            events_control=ci,
        )
    return "adverse event without counts or percentages per arm"


__all__ = [
    "Contribution",
    "Exclusion",
    "Selection",
    "SourceRef",
    "select",
    "mixed_population_note",
    "ordered_estimates",
    "time_to_event_effect",
    "DERIVATION_LABELS",
    "Outcome",
]
