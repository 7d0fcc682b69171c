"""Run an analysis spec on an evidence base: selection -> plateau.meta -> result objects.

Effects are pooled on the log scale (log HR for time-to-event outcomes, log RR for response and
adverse-event counts) with :func:`plateau.meta.pool`; results are reported back on the ratio
scale.  Subgroups use separate tau² per subgroup and the test for subgroup differences of R
``meta`` (``tau.common = FALSE``): Q_between = sum_g w_g (theta_g - theta_bar)², w_g = 1/se_g², on
G - 1 df (Borenstein et al., Introduction to Meta-Analysis, 2009, ch. 19).

Absolute effects (GRADE summary-of-findings style): at a baseline risk r0 of an event by a time
point, the risk with maintenance is r1 = 1 - (1 - r0)^HR for hazard ratios (proportional hazards:
S1 = S0^HR) and r1 = r0 * RR for risk ratios; the difference per 1,000 is 1000 (r1 - r0), with
its interval from the CI of the ratio.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from plateau.analysis.selection import (
    DERIVATION_LABELS,
    Contribution,
    Exclusion,
    Selection,
    select,
)
from plateau.analysis.spec import AnalysisSpec
from plateau.errors import PlateauError
from plateau.evidence.base import EvidenceBase
from plateau.evidence.schema import Outcome
from plateau.evidence.vocabulary import format_interval, format_p, format_ratio_ci
from plateau.meta import pool
from plateau.meta._common import jsonable


@dataclass(frozen=True)
class PooledEffect:
    """A pooled ratio (HR or RR) with its intervals and heterogeneity, on the ratio scale."""

    estimate: float
    ci_low: float
    ci_high: float
    pi_low: float | None
    pi_high: float | None
    log_estimate: float
    se: float
    pval: float
    tau2: float | None
    i2: float | None
    q: float | None
    q_df: int | None
    q_pval: float | None
    k: int
    n_patients: int | None
    method: str
    test: str

    def to_dict(self) -> dict[str, Any]:
        return {key: jsonable(value) for key, value in self.__dict__.items()}

    def heterogeneity_text(self) -> str:
        if self.k < 2:
            return "Heterogeneity: not applicable (one trial)"
        return (
            f"Heterogeneity: \u03c4\u00b2 = {self.tau2:.3f}, I\u00b2 = {self.i2:.0f}%, "
            f"Q = {self.q:.2f} (df = {self.q_df}), p = {_p(self.q_pval)}"
        )


@dataclass(frozen=True)
class StudyResult:
    """One included trial with its weight in the pooled estimate (percent)."""

    contribution: Contribution
    weight_percent: float | None
    ci_low: float
    ci_high: float

    def to_dict(self) -> dict[str, Any]:
        c = self.contribution
        return {
            "trial_id": c.trial_id,
            "trial_name": c.trial_name,
            "label": c.label,
            "comparison_id": c.comparison_id,
            "comparison_kind": c.comparison_kind,
            "outcome": c.outcome,
            "measure": c.measure,
            "estimate": c.estimate,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "log_estimate": c.yi,
            "se": c.sei,
            "weight": jsonable(self.weight_percent),
            "n_experimental": c.n_experimental,
            "n_control": c.n_control,
            "derivation": c.derivation,
            "derivation_label": DERIVATION_LABELS[c.derivation],
            "approximate": c.approximate,
            "mixed_population": c.mixed_population,
            "population": c.population,
            "direction_normalised": c.direction_normalised,
            "outcome_detail": c.outcome_detail,
            "earlier_report": c.earlier_report,
            "report": c.report,
            "setting": c.setting,
            "age_group": c.age_group,
            "tested_agents": list(c.tested_agents),
            "source": c.source.to_dict() | {"link": c.source.link},
        }


@dataclass(frozen=True)
class SubgroupResult:
    level: str
    pooled: PooledEffect
    studies: tuple[StudyResult, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "pooled": self.pooled.to_dict(),
            "trial_ids": [s.contribution.trial_id for s in self.studies],
        }


@dataclass(frozen=True)
class SubgroupTest:
    q_between: float
    df: int
    pval: float

    def text(self) -> str:
        return (
            f"Test for subgroup differences: Q = {self.q_between:.2f}, df = {self.df}, "
            f"p = {_p(self.pval)}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {"q_between": self.q_between, "df": self.df, "pval": self.pval}


@dataclass(frozen=True)
class AbsoluteEffect:
    """Events per 1,000 patients without and with maintenance at a stated baseline risk."""

    baseline_per_1000: float
    timepoint_months: float | None
    basis: str
    with_treatment_per_1000: float
    difference_per_1000: float
    difference_ci: tuple[float, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline_per_1000": self.baseline_per_1000,
            "timepoint_months": self.timepoint_months,
            "basis": self.basis,
            "with_treatment_per_1000": self.with_treatment_per_1000,
            "difference_per_1000": self.difference_per_1000,
            "difference_ci": list(self.difference_ci),
        }

    def short_text(self) -> str:
        """``191 fewer per 1,000 by 36 mo (117 to 263 fewer)``."""

        def word(value: float) -> str:
            return f"{abs(value):.0f} {'fewer' if value < 0 else 'more'}"

        lo, hi = sorted(self.difference_ci, key=abs)
        when = f" by {self.timepoint_months:g} mo" if self.timepoint_months else ""
        return f"{word(self.difference_per_1000)} per 1,000{when} ({word(lo)} to {word(hi)})"

    def text(self) -> str:
        direction = "fewer" if self.difference_per_1000 < 0 else "more"
        lo, hi = sorted(self.difference_ci)
        when = f" by {self.timepoint_months:g} months" if self.timepoint_months else ""
        return (
            f"{abs(self.difference_per_1000):.0f} {direction} patients with an event per "
            f"1,000{when} "
            f"({lo:+.0f} to {hi:+.0f}); baseline {self.baseline_per_1000:.0f} per 1,000 "
            f"({self.basis})"
        )


@dataclass(frozen=True)
class AnalysisResult:
    """Everything an analysis produced, with the evidence version that produced it."""

    spec: AnalysisSpec
    evidence_version: str
    studies: tuple[StudyResult, ...]
    excluded: tuple[Exclusion, ...]
    pooled: PooledEffect | None
    subgroups: tuple[SubgroupResult, ...] = ()
    subgroup_test: SubgroupTest | None = None
    absolute: AbsoluteEffect | None = None
    signals: tuple[str, ...] = field(default_factory=tuple)
    #: one-line notes every view shows (e.g. which trials entered as a mixed population)
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: published pooled / IPD analyses answering the same question (plateau.analysis.published)
    published: tuple[Any, ...] = field(default_factory=tuple)

    @property
    def missing(self) -> tuple[Exclusion, ...]:
        """Trials that randomised the comparison asked about but contribute nothing here."""
        return tuple(e for e in self.excluded if e.missing)

    def missing_text(self) -> str | None:
        """``Missing: IFM 2005-02 (614 patients): ...`` or None."""
        if not self.missing:
            return None
        return (
            "Missing (randomised this comparison, nothing usable for this outcome): "
            + "; ".join(e.text() for e in self.missing)
        )

    @property
    def measure(self) -> str:
        return (
            self.studies[0].contribution.measure
            if self.studies
            else ("HR" if self.spec.is_time_to_event else "RR")
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "analysis": self.spec.id,
            "title": self.spec.title,
            "outcome": self.spec.outcome_label,
            "measure": self.measure,
            "spec": self.spec.model_dump(mode="json"),
            "evidence_version": self.evidence_version,
            "pooled": self.pooled.to_dict() if self.pooled else None,
            "subgroups": [s.to_dict() for s in self.subgroups],
            "subgroup_test": self.subgroup_test.to_dict() if self.subgroup_test else None,
            "studies": [s.to_dict() for s in self.studies],
            "excluded": [e.to_dict() for e in self.excluded],
            "missing": [e.to_dict() for e in self.missing],
            "notes": list(self.notes),
            "published": [p.to_dict() for p in self.published],
            "absolute_effect": self.absolute.to_dict() if self.absolute else None,
            "certainty_signals": list(self.signals),
        }

    def summary(self) -> str:
        lines = [f"{self.spec.title} [{self.spec.outcome_label}]"]
        p = self.pooled
        if p is None:
            lines.append("no pooled estimate: no trial matches the selection")
        else:
            pi = f"; PI {format_interval(p.pi_low, p.pi_high)}" if p.pi_low is not None else ""
            lines.append(
                f"{self.measure} {format_ratio_ci(p.estimate, p.ci_low, p.ci_high)}{pi}, "
                f"k = {p.k}, {p.n_patients or 'unknown number of'} patients, {p.method}/{p.test}"
            )
            lines.append(p.heterogeneity_text())
        for s in self.subgroups:
            lines.append(
                f"  {s.level}: {self.measure} "
                f"{format_ratio_ci(s.pooled.estimate, s.pooled.ci_low, s.pooled.ci_high)}"
                f", k = {s.pooled.k}"
            )
        if self.subgroup_test:
            lines.append(self.subgroup_test.text())
        lines.extend(self.notes)
        for p in self.published:
            lines.append(p.text())
        missing = self.missing_text()
        if missing:
            lines.append(missing)
        lines.append(
            f"{len(self.studies)} trials included, {len(self.excluded)} excluded; "
            f"evidence version {self.evidence_version[:12]}"
        )
        return "\n".join(lines)


_p = format_p  # one p-value format (plateau.evidence.vocabulary)


def _n_patients(contributions) -> int | None:
    totals = [c.n_total for c in contributions]
    return None if any(t is None for t in totals) else sum(totals)


def pool_contributions(
    contributions: tuple[Contribution, ...] | list[Contribution], spec: AnalysisSpec
) -> tuple[PooledEffect, tuple[StudyResult, ...]]:
    """Pool log effects; one trial gives its own estimate (no heterogeneity, no PI)."""
    m = spec.model
    yi = np.array([c.yi for c in contributions])
    sei = np.array([c.sei for c in contributions])
    if len(contributions) == 0:
        raise PlateauError(f"analysis {spec.id}: nothing to pool")
    if len(contributions) == 1:
        c = contributions[0]
        lo, hi = c.interval(m.level)
        from statistics import NormalDist

        pval = 2 * (1 - NormalDist().cdf(abs(c.yi / c.sei)))
        pooled = PooledEffect(
            c.estimate,
            lo,
            hi,
            None,
            None,
            c.yi,
            c.sei,
            pval,
            None,
            None,
            None,
            None,
            None,
            1,
            c.n_total,
            m.method,
            m.test,
        )
        return pooled, (StudyResult(c, 100.0, lo, hi),)
    r = pool(yi, sei**2, method=m.method, test=m.test, level=m.level, prediction=m.prediction)
    equal = m.method in ("EE", "FE")
    pooled = PooledEffect(
        estimate=math.exp(r.estimate),
        ci_low=math.exp(r.ci_low),
        ci_high=math.exp(r.ci_high),
        pi_low=None if equal else math.exp(r.pi_low),
        pi_high=None if equal else math.exp(r.pi_high),
        log_estimate=r.estimate,
        se=r.se,
        pval=r.pval,
        tau2=r.tau2,
        i2=r.i2,
        q=r.q,
        q_df=int(r.q_df),
        q_pval=r.q_pval,
        k=int(r.k),
        n_patients=_n_patients(contributions),
        method=m.method,
        test=m.test,
    )
    studies = tuple(
        StudyResult(c, float(w), *c.interval(m.level))
        for c, w in zip(contributions, r.weights, strict=True)
    )
    return pooled, studies


def _subgroups(selection: Selection, spec: AnalysisSpec) -> Any:
    assert spec.subgroup_by is not None  # the caller checks
    by = spec.subgroup_by.value
    levels: dict[str, list[Contribution]] = {}
    for c in selection.contributions:
        levels.setdefault(c.group_value(by), []).append(c)
    results = []
    for level, members in sorted(levels.items()):
        pooled, studies = pool_contributions(members, spec)
        results.append(SubgroupResult(level, pooled, studies))
    test = None
    if len(results) > 1:
        from scipy import stats

        theta = np.array([s.pooled.log_estimate for s in results])
        w = 1 / np.array([s.pooled.se for s in results]) ** 2
        theta_bar = np.sum(w * theta) / np.sum(w)
        q_between = float(np.sum(w * (theta - theta_bar) ** 2))
        df = len(results) - 1
        test = SubgroupTest(q_between, df, float(stats.chi2.sf(q_between, df)))
    return tuple(results), test


def baseline_from_controls(
    spec: AnalysisSpec, base: EvidenceBase, contributions: tuple[Contribution, ...]
) -> tuple[float, float, str] | None:
    """Baseline risk (per 1,000) from the control arms of the included trials.

    Uses the control-arm x-year event-free rates printed for the outcome of each included
    trial, at the time point most trials report; the baseline is their median event risk
    (100 - rate).  Returns ``(per_1000, timepoint_months, basis)`` or None.
    """
    by_time: dict[float, list[tuple[str, float]]] = {}
    for c in contributions:
        trial = base.trial(c.trial_id)
        for e in trial.estimates:
            if (
                e.comparison == c.comparison_id
                and e.outcome.value == c.outcome
                and e.subgroup is None
                and e.rate_control is not None
                and e.rate_timepoint_months
            ):
                by_time.setdefault(e.rate_timepoint_months, []).append((trial.id, e.rate_control))
                break
    if not by_time:
        return None
    timepoint, rows = max(by_time.items(), key=lambda item: (len(item[1]), -item[0]))
    risk = statistics.median(100 - rate for _, rate in rows) * 10
    trials = ", ".join(t for t, _ in rows)
    return risk, timepoint, f"median control-arm risk at {timepoint:g} months in {trials}"


def absolute_effect(
    pooled: PooledEffect,
    measure: str,
    baseline_per_1000: float,
    timepoint: float | None,
    basis: str,
) -> AbsoluteEffect:
    r0 = baseline_per_1000 / 1000

    def risk(ratio: float) -> float:
        if measure == "HR":
            return 1 - (1 - r0) ** ratio
        return min(1.0, r0 * ratio)

    r1 = risk(pooled.estimate)
    lo, hi = risk(pooled.ci_low), risk(pooled.ci_high)
    return AbsoluteEffect(
        baseline_per_1000,
        timepoint,
        basis,
        1000 * r1,
        1000 * (r1 - r0),
        (1000 * (lo - r0), 1000 * (hi - r0)),
    )


def certainty_signals(
    result_pooled: PooledEffect | None, studies: tuple[StudyResult, ...]
) -> tuple[str, ...]:
    """Plain statements a GRADE assessor would look at (not a GRADE rating)."""
    out = []
    if result_pooled and result_pooled.k >= 2:
        if result_pooled.i2 is not None and result_pooled.i2 >= 50:
            out.append(f"substantial heterogeneity (I\u00b2 = {result_pooled.i2:.0f}%)")
        pi_low, pi_high = result_pooled.pi_low, result_pooled.pi_high
        if pi_low is not None and pi_high is not None and pi_low < 1 < pi_high:
            out.append("the prediction interval includes no effect")
    approx = [s.contribution.trial_id for s in studies if s.contribution.approximate]
    if approx:
        out.append(f"approximate inputs: {', '.join(approx)}")
    mixed = [s.contribution.trial_id for s in studies if s.contribution.mixed_population]
    if mixed:
        out.append(f"mixed-population trials (whole-trial estimate): {', '.join(mixed)}")
    secondary = [
        s.contribution.trial_id for s in studies if s.contribution.source.kind == "secondary"
    ]
    if secondary:
        out.append(f"numbers from secondary sources: {', '.join(secondary)}")
    earlier = [s.contribution.trial_id for s in studies if s.contribution.earlier_report]
    if earlier:
        out.append(f"earlier report used (latest has no usable effect): {', '.join(earlier)}")
    packages = [
        s.contribution.trial_id
        for s in studies
        if s.contribution.comparison_kind == "induction_maintenance_package"
    ]
    if packages:
        out.append(f"induction + maintenance packages: {', '.join(packages)}")
    if 0 < len(studies) < 10:
        out.append(
            f"only {len(studies)} trial{'s' if len(studies) != 1 else ''}: small-study "
            "effects cannot be assessed reliably (fewer than 10)"
        )
    return tuple(out)


def run_analysis(spec: AnalysisSpec, base: EvidenceBase) -> AnalysisResult:
    """Select, pool and summarise.  No trial matching is not an error: ``pooled`` is None."""
    selection = select(spec, base)
    contributions = selection.contributions
    from plateau.analysis.matching import matching_syntheses

    published = matching_syntheses(spec, base)
    if not contributions:
        return AnalysisResult(
            spec, base.version, (), selection.exclusions, None, published=published
        )
    pooled, studies = pool_contributions(contributions, spec)
    subgroups, test = _subgroups(selection, spec) if spec.subgroup_by else ((), None)
    absolute = None
    if spec.baseline_risk_per_1000 is not None:
        absolute = absolute_effect(
            pooled,
            studies[0].contribution.measure,
            spec.baseline_risk_per_1000,
            None,
            "stated in the analysis",
        )
    elif studies[0].contribution.measure == "HR":
        found = baseline_from_controls(spec, base, contributions)
        if found:
            absolute = absolute_effect(pooled, "HR", *found)
    return AnalysisResult(
        spec=spec,
        evidence_version=base.version,
        studies=studies,
        excluded=selection.exclusions,
        pooled=pooled,
        subgroups=subgroups,
        subgroup_test=test,
        absolute=absolute,
        signals=certainty_signals(pooled, studies),
        notes=selection.notes,
        published=published,
    )


__all__ = [
    "AnalysisResult",
    "PooledEffect",
    "StudyResult",
    "SubgroupResult",
    "SubgroupTest",
    "AbsoluteEffect",
    "run_analysis",
    "pool_contributions",
    "Outcome",
]
