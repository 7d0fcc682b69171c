"""Published pooled results, reproduced from the evidence base as a check.

McCarthy et al. pooled the patient-level data of the three placebo/observation-controlled trials of
lenalidomide maintenance after ASCT (CALGB 100104, GIMEMA RV-MM-PI-209, IFM 2005-02; J Clin Oncol
2017;35(29):3279).  plateau cannot reproduce an individual-patient-data analysis exactly from
aggregate data; :func:`compare_with_published` pools the same trials' published HRs and reports
how far the two are apart and why.

Expected reasons for differences (listed with every comparison):

* IPD with a common, later data cut-off (McCarthy: median follow-up about 6.6 years) versus each
  trial's latest published report;
* PFS as defined in the IPD analysis for all three trials, versus CALGB 100104's published primary
  end point (time to progression) when no PFS HR is in the base;
* GIMEMA RV-MM-PI-209: McCarthy used only the patients randomised to ASCT, the base holds the
  whole maintenance randomisation (after ASCT or MPR);
* a stratified Cox model on pooled IPD versus random-effects pooling of published log HRs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from plateau.analysis.matching import (  # noqa: F401 (re-exported)
    PublishedMatch,
    decision_effect,
    matching_syntheses,
)
from plateau.analysis.run import AnalysisResult, run_analysis
from plateau.analysis.spec import AnalysisSpec
from plateau.errors import PlateauError
from plateau.evidence.base import EvidenceBase

MCCARTHY_TRIALS = ("CALGB100104", "IFM2005-02", "RV-MM-PI-209")
MCCARTHY_SOURCE = {
    "citation": "McCarthy PL, Holstein SA, Petrucci MT, et al. Lenalidomide maintenance after "
    "autologous stem-cell transplantation in newly diagnosed multiple myeloma: a meta-analysis. "
    "J Clin Oncol 2017;35(29):3279-3289.",
    "pmid": "28742454",
    # PFS HR 0.48 (0.41-0.55) read in the abstract; OS HR 0.75 (0.63-0.90), P = .001, read in
    # secondary sources (NCI PDQ, a Springer news report) because the abstract excerpt stopped
    # before it (curation log: docs/evidence.md, "Reference values")
    "url": "https://nebraska.pure.elsevier.com/en/publications/lenalidomide-maintenance-after-autologous-stem-cell-transplantati",
    "location": "abstract (PFS); NCI PDQ and news report (OS, secondary)",
}
DIFFERENCES = (
    "McCarthy pooled individual patient data at a common later cut-off (median follow-up about "
    "6.6 years); plateau pools each trial's latest published HR.",
    "CALGB 100104 contributes its published time to progression (its primary end point) when the "
    "base has no PFS HR; the IPD analysis used PFS for all three trials.",
    "For GIMEMA RV-MM-PI-209 McCarthy used only the patients randomised to ASCT; the base holds "
    "the whole maintenance randomisation (after ASCT or MPR).",
    "A stratified Cox model on pooled IPD is not the same estimator as random-effects pooling of "
    "published log hazard ratios.",
)


@dataclass(frozen=True)
class PublishedResult:
    id: str
    outcome: str
    hr: float
    ci_low: float
    ci_high: float
    trials: tuple[str, ...]
    source: dict[str, Any] = field(default_factory=dict)

    def spec(self) -> AnalysisSpec:
        return AnalysisSpec(
            id=f"published-{self.id}",
            title=f"Reproducing {self.id}",
            outcome="disease_control" if self.outcome == "PFS" else self.outcome,
            agents=("lenalidomide",),
            trials=self.trials,
            description="Same trials as the published meta-analysis; latest published HRs.",
        )


PUBLISHED: dict[str, PublishedResult] = {
    "mccarthy2017-pfs": PublishedResult(
        "mccarthy2017-pfs", "PFS", 0.48, 0.41, 0.55, MCCARTHY_TRIALS, MCCARTHY_SOURCE
    ),
    "mccarthy2017-os": PublishedResult(
        "mccarthy2017-os", "OS", 0.75, 0.63, 0.90, MCCARTHY_TRIALS, MCCARTHY_SOURCE
    ),
}


@dataclass(frozen=True)
class PublishedComparison:
    published: PublishedResult
    result: AnalysisResult
    log_ratio_difference: float  #: log(HR plateau) - log(HR published)
    intervals_overlap: bool
    same_direction: bool
    trials_included: tuple[str, ...]
    trials_missing: tuple[tuple[str, str], ...] = ()  #: (trial id, why it could not contribute)
    differences: tuple[str, ...] = DIFFERENCES

    def to_dict(self) -> dict[str, Any]:
        p, r = self.published, self.result.pooled
        assert r is not None  # a comparison is made only when the analysis pooled
        return {
            "published": {
                "id": p.id,
                "outcome": p.outcome,
                "hr": p.hr,
                "ci_low": p.ci_low,
                "ci_high": p.ci_high,
                "trials": list(p.trials),
                "source": p.source,
            },
            "plateau": {
                "hr": r.estimate,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
                "k": r.k,
                "trials": list(self.trials_included),
                "outcomes_used": [s.contribution.outcome for s in self.result.studies],
            },
            "ratio_of_hrs": math.exp(self.log_ratio_difference),
            "intervals_overlap": self.intervals_overlap,
            "same_direction": self.same_direction,
            "evidence_version": self.result.evidence_version,
            "differences": list(self.differences),
            "trials_missing": [{"trial_id": t, "reason": why} for t, why in self.trials_missing],
        }

    def summary(self) -> str:
        p, r = self.published, self.result.pooled
        assert r is not None  # a comparison is made only when the analysis pooled
        return (
            f"{p.id}: published HR {p.hr:.2f} ({p.ci_low:.2f}-{p.ci_high:.2f}); plateau "
            f"{r.estimate:.2f} ({r.ci_low:.2f}-{r.ci_high:.2f}) from "
            f"{', '.join(self.trials_included)}; "
            f"ratio {math.exp(self.log_ratio_difference):.2f}; intervals "
            f"{'overlap' if self.intervals_overlap else 'do not overlap'}"
            + "".join(f"; {t} missing ({why})" for t, why in self.trials_missing)
        )


def compare_with_published(published_id: str, base: EvidenceBase) -> PublishedComparison:
    try:
        published = PUBLISHED[published_id]
    except KeyError:
        raise PlateauError(
            f"unknown published result {published_id!r}; known: {', '.join(PUBLISHED)}"
        ) from None
    result = run_analysis(published.spec(), base)
    if result.pooled is None:
        raise PlateauError(
            f"{published_id}: none of {', '.join(published.trials)} has a usable "
            f"{published.outcome} estimate in the evidence base"
        )
    r = result.pooled
    return PublishedComparison(
        published=published,
        result=result,
        log_ratio_difference=math.log(r.estimate) - math.log(published.hr),
        intervals_overlap=r.ci_low <= published.ci_high and published.ci_low <= r.ci_high,
        same_direction=(r.estimate < 1) == (published.hr < 1),
        trials_included=tuple(s.contribution.trial_id for s in result.studies),
        trials_missing=tuple(
            (e.trial_id, e.reason) for e in result.excluded if e.trial_id in published.trials
        ),
    )
