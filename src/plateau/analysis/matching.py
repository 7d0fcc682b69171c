"""Published syntheses that answer an analysis' question, and the decision aid's choice.

Kept apart from :mod:`plateau.analysis.published` (which runs analyses) so that
:mod:`plateau.analysis.run` can attach the matches to every result without an import cycle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from plateau.analysis.spec import AnalysisSpec
from plateau.evidence.base import EvidenceBase
from plateau.evidence.syntheses import Synthesis, SynthesisEstimate, load_syntheses
from plateau.evidence.vocabulary import label, labels

#: outcomes of an analysis spec -> outcomes of a published synthesis that answer it
_OUTCOME_MATCH = {
    "disease_control": ("PFS", "PFS_EFS", "EFS"),
    "PFS": ("PFS", "PFS_EFS"),
    "EFS": ("EFS", "PFS_EFS"),
    "TTP": (),
    "OS": ("OS",),
}


@dataclass(frozen=True)
class PublishedMatch:
    """A published pooled estimate that answers (or nearly answers) an analysis' question.

    ``exact``: one agent, the same setting(s), a comparison kind of the analysis.  Otherwise the
    estimate pools a class of agents, other settings or other comparison kinds and is shown as
    related evidence, labelled so.
    """

    synthesis: Synthesis
    estimate: SynthesisEstimate
    exact: bool

    @property
    def is_ipd(self) -> bool:
        return self.synthesis.design == "ipd"

    def text(self) -> str:
        """``published: McCarthy 2017, IPD of 3 trials: OS 0.75 (0.63–0.90) after ASCT (C2)``."""
        e, s = self.estimate, self.synthesis
        design = {"ipd": "IPD", "aggregate": "meta-analysis", "network": "network MA"}[s.design]
        of = f" of {e.k} trials" if e.k else ""
        where = label("setting", e.setting) if e.setting else "all settings"
        interval = f" ({e.interval_text})" if e.ci_low is not None else " (interval not read)"
        kind = "" if self.exact else " [related: " + self.why_related() + "]"
        return (
            f"published: {s.short}, {design}{of}: {e.outcome.replace('_', '/')} HR {e.hr:.2f}"
            f"{interval}{' ' + e.interval if e.interval == 'CrI' else ''}, {e.agent_label}, "
            f"{where}, vs {e.comparator} ({e.confidence}){kind}"
        )

    def why_related(self) -> str:
        e = self.estimate
        reasons = []
        if e.agent is None:
            reasons.append(f"pools {e.agent_class}")
        if e.setting is None:
            reasons.append("pools all settings")
        if any(k.value != "maintenance_vs_control" for k in e.kinds):
            reasons.append("includes " + labels("comparison_kind", e.kinds))
        return "; ".join(reasons) or "close match"

    def to_dict(self) -> dict[str, Any]:
        e, s = self.estimate, self.synthesis
        return {
            "synthesis": s.id,
            "short": s.short,
            "citation": s.citation,
            "pmid": s.pmid,
            "doi": s.doi,
            "url": s.url,
            "design": s.design,
            "model": s.model,
            "outcome": e.outcome,
            "setting": e.setting.value if e.setting else None,
            "agent": e.agent_label,
            "comparator": e.comparator,
            "hr": e.hr,
            "ci_low": e.ci_low,
            "ci_high": e.ci_high,
            "interval": e.interval,
            "p_value": e.p_value,
            "k": e.k,
            "n_patients": e.n_patients,
            "trials": list(e.trials),
            "location": e.location,
            "confidence": e.confidence,
            "exact": self.exact,
            "text": self.text(),
        }


def matching_syntheses(
    spec: AnalysisSpec, base: EvidenceBase | None = None, syntheses=None
) -> tuple[PublishedMatch, ...]:
    """Published pooled estimates that answer ``spec``'s question.

    Rule: time-to-event outcome that the synthesis reports (PFS for disease control, OS for OS);
    one of the spec's agents among the agents pooled; a comparison kind of the spec among the
    synthesis's kinds; with a setting filter, only estimates of one of those settings; without
    one, every setting (each labelled).  Exact matches (one agent, one setting or no setting
    filter, maintenance-vs-control kinds only) first, IPD before aggregate before network.
    """
    wanted = _OUTCOME_MATCH.get(spec.outcome, ())
    if not wanted or not spec.agents:
        return ()
    agents = set(spec.agents)
    kinds = set(spec.comparison_kinds)
    out = []
    for s in syntheses if syntheses is not None else load_syntheses():
        for e in s.estimates:
            if e.outcome not in wanted or not (e.agent_set & agents):
                continue
            if not (set(e.kinds) & kinds):
                continue
            if spec.settings and (e.setting is None or e.setting not in spec.settings):
                continue
            exact = (
                e.agent is not None
                and set(e.kinds) <= kinds
                and (e.setting is not None or not spec.settings)
                and e.outcome == wanted[0]
            )
            out.append(PublishedMatch(s, e, exact))
    order = {"ipd": 0, "aggregate": 1, "network": 2}
    out.sort(key=lambda m: (not m.exact, order[m.synthesis.design], m.synthesis.short))
    return tuple(out)


def decision_effect(result: Any) -> tuple[str, float, float, str] | None:
    """The relative effect the decision aid uses: ``(source, log HR, SE, label)``.

    Rule (docs/evidence.md, "Published syntheses"): an individual-patient-data meta-analysis
    that answers the question exactly (same agent, setting, outcome and comparison kind, with a
    95% CI) is preferred to plateau's pool of published aggregate results, because it uses
    every trial's patient-level data at a common cut-off; plateau's own pool is shown beside it.
    Otherwise plateau's pool.  None when neither exists.
    """
    from statistics import NormalDist

    for m in result.published:
        e = m.estimate
        if m.exact and m.is_ipd and e.ci_low is not None and e.interval == "CI":
            # SE from the wider half of the printed CI (rounding makes printed CIs slightly
            # asymmetric on the log scale): the interval used is never narrower than the paper's
            z = NormalDist().inv_cdf(0.975)
            half = max(math.log(e.hr / e.ci_low), math.log(e.ci_high / e.hr))
            return ("published_ipd", math.log(e.hr), half / z, m.synthesis.short)
    if result.pooled is None:
        return None
    p = result.pooled
    return ("plateau", p.log_estimate, p.se, f"plateau pool of {p.k} trials")


__all__ = ["PublishedMatch", "matching_syntheses", "decision_effect"]
