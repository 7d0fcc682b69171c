""" "Which maintenance?" networks built from the evidence base.

For a setting (post-ASCT or non-transplant) and an outcome (PFS or OS), every pure maintenance
comparison (kinds ``maintenance_vs_control``, ``maintenance_vs_active``, ``head_to_head`` and
``add_on``; not induction-maintenance packages, duration strategies or tandem-ASCT questions)
contributes its latest hazard ratio (``EvidenceBase.estimates`` with ``latest_only`` and
``fallback_to_earlier_hr``; whole randomised population, no subgroups).  PFS networks use PFS,
or EFS/TTP when a trial reports no PFS (flagged per edge).  Arms are mapped to network nodes by
their normalised treatment (:data:`NODE_OF`): placebo and observation are one node, thalidomide
combinations are "thalidomide-based", bortezomib combinations "bortezomib-based", and so on.

Comparisons of one trial that share an arm become one multi-arm study.  The HR of the pair that
was not reported is implied by the others (consistency within the trial), and the covariance of
the two reported log HRs is the variance of the shared arm, approximated by 1/(events in the
shared arm) when reported, else by half the smaller of the two variances (the arm's share under
equal allocation); such studies are flagged ``approximate_covariance``.

Every connected sub-network with at least two treatments is analysed with
:func:`plateau.meta.network.nma` (random effects, REML; reference observation/placebo when it
is in the sub-network).  The result lists, for each edge, the trials behind it with their HR,
CI and source citation.

Sanity reference: Gay F, et al. Maintenance treatment and survival in patients with myeloma: a
systematic review and network meta-analysis. JAMA Oncol 2018;4(10):1389-1397.
doi:10.1001/jamaoncol.2018.2961, PMID 30098165 (:data:`PUBLISHED_REFERENCE`); second reference: the
Bayesian NMA of lenalidomide, ixazomib and daratumumab maintenance in Blood Neoplasia 1(4),
article 100042.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from plateau.errors import PlateauError
from plateau.evidence import EvidenceBase, load_bundled, vocabulary
from plateau.evidence.base import citation
from plateau.evidence.schema import ComparisonKind, Setting, Treatment
from plateau.meta.network import NetworkResult, connected_components, network_data, nma

OBSERVATION = "observation/placebo"

#: normalised arm treatment -> network node
NODE_OF: dict[Treatment, str] = {
    Treatment.observation: OBSERVATION,
    Treatment.placebo: OBSERVATION,
    Treatment.thalidomide: "thalidomide",
    Treatment.thalidomide_prednisolone: "thalidomide-based",
    Treatment.thalidomide_prednisone: "thalidomide-based",
    Treatment.thalidomide_dexamethasone: "thalidomide-based",
    Treatment.thalidomide_interferon: "thalidomide-based",
    Treatment.thalidomide_pamidronate: "thalidomide-based",
    Treatment.lenalidomide: "lenalidomide",
    Treatment.lenalidomide_prednisone: "lenalidomide-based",
    Treatment.lenalidomide_dexamethasone: "lenalidomide-based",
    Treatment.bortezomib: "bortezomib-based",
    Treatment.bortezomib_thalidomide: "bortezomib-based",
    Treatment.bortezomib_prednisone: "bortezomib-based",
    Treatment.ixazomib: "ixazomib",
    Treatment.ixazomib_lenalidomide_dexamethasone: "ixazomib + lenalidomide",
    Treatment.daratumumab: "daratumumab",
    Treatment.daratumumab_lenalidomide: "daratumumab + lenalidomide",
    Treatment.carfilzomib_lenalidomide: "carfilzomib + lenalidomide",
    Treatment.carfilzomib_lenalidomide_dexamethasone: "carfilzomib + lenalidomide",
    Treatment.interferon: "interferon",
    Treatment.prednisone: "corticosteroid",
    Treatment.prednisolone: "corticosteroid",
    Treatment.dexamethasone: "corticosteroid",
    Treatment.pamidronate: "pamidronate",
    Treatment.melphalan_prednisone: "melphalan-prednisone",
    Treatment.second_transplant: "second ASCT",
}

MAINTENANCE_KINDS = (
    ComparisonKind.maintenance_vs_control,
    ComparisonKind.maintenance_vs_active,
    ComparisonKind.head_to_head,
    ComparisonKind.add_on,
)
OUTCOME_FALLBACKS = {"PFS": ("PFS", "EFS", "TTP"), "OS": ("OS",)}

#: published NMA of maintenance used as a directional sanity check (HR vs no maintenance)
PUBLISHED_REFERENCE: dict[str, Any] = {
    "citation": "Gay F, Jackson G, Rosiñol L, et al. Maintenance treatment and survival in "
    "patients with myeloma: a systematic review and network meta-analysis. JAMA Oncol "
    "2018;4(10):1389-1397.",
    "doi": "10.1001/jamaoncol.2018.2961",
    "pmid": "30098165",
    "pmcid": "PMC6233774",
    "population": "newly diagnosed myeloma, 11 phase 3 trials, 5073 patients, transplant and "
    "non-transplant; no maintenance/placebo as common comparator",
    # numbers as reported in the abstract and secondary coverage (cancertherapyadvisor.com,
    # 2018): not re-read from the paper's figures (unconfirmed against the full text)
    "PFS": {"lenalidomide": (0.39, 0.28, 0.53), "lenalidomide-based": (0.47, 0.39, 0.55)},
    "OS": {"lenalidomide": (0.76, 0.51, 1.16)},
    "second_reference": {
        # title words from the article URL; authors and year not re-read (unconfirmed)
        "citation": "Lenalidomide, ixazomib, or daratumumab maintenance ... (Bayesian NMA of 9 "
        "RCTs). Blood Neoplasia vol. 1(4), article 100042.",
        "url": "https://ashpublications.org/bloodneoplasia/article/1/4/100042/517804",
        # transplant-eligible patients, PFS vs placebo, HR (95% credible interval), abstract
        "PFS_post_asct": {
            "lenalidomide": [0.46, 0.36, 0.56],
            "daratumumab": [0.49, 0.32, 0.76],
            "ixazomib": [0.72, 0.46, 1.12],
        },
    },
    "statements": [
        "lenalidomide-based maintenance gave the largest PFS benefit",
        "interferon alone was the only maintenance without a PFS benefit",
        "lenalidomide alone ranked best for OS",
    ],
}


@dataclass(frozen=True)
class EdgeTrial:
    """One trial's contribution to an edge: the reported HR of experimental vs control."""

    trial_id: str
    trial_name: str
    comparison_id: str
    experimental: str  # node
    control: str  # node
    outcome: str  # outcome actually used (PFS, EFS, TTP, OS)
    hr: float
    ci_low: float
    ci_high: float
    log_hr: float
    se_log_hr: float
    report: str
    citation: str
    flags: tuple[str, ...] = ()
    events_experimental: int | None = None
    events_control: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class SubNetwork:
    """One connected sub-network and its NMA (None when it has a single edge-less node)."""

    treatments: tuple[str, ...]
    reference: str
    result: NetworkResult | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "treatments": list(self.treatments),
            "reference": self.reference,
            "nma": self.result.to_dict() if self.result is not None else None,
        }


@dataclass(frozen=True)
class MaintenanceNetwork:
    """A "which maintenance?" network: its evidence, sub-networks and their NMAs."""

    setting: str
    outcome: str
    edges: tuple[EdgeTrial, ...]
    studies: tuple[tuple[str, tuple[tuple[str, str, str, float, float], ...]], ...]
    subnetworks: tuple[SubNetwork, ...]
    excluded: tuple[tuple[str, str], ...]  # (trial/comparison, reason)
    evidence_version: str
    reference_publication: dict[str, Any] = field(default_factory=lambda: dict(PUBLISHED_REFERENCE))

    @property
    def main(self) -> SubNetwork | None:
        """The sub-network containing observation/placebo (else the largest)."""
        for s in self.subnetworks:
            if OBSERVATION in s.treatments and s.result is not None:
                return s
        return next((s for s in self.subnetworks if s.result is not None), None)

    def edge_trials(self) -> dict[tuple[str, str], list[EdgeTrial]]:
        """Trials behind each edge (unordered node pair, sorted)."""
        out: dict[tuple[str, str], list[EdgeTrial]] = {}
        for e in self.edges:
            a, b = sorted((e.experimental, e.control))
            out.setdefault((a, b), []).append(e)
        return out

    def pairs(self) -> dict[str, list]:
        """The NMA input in pairwise format (study, treat1, treat2, TE, seTE)."""
        cols: dict[str, list] = {"study": [], "treat1": [], "treat2": [], "TE": [], "seTE": []}
        for _, rows in self.studies:
            for s, a, b, te, se in rows:
                for k, v in zip(cols, (s, a, b, te, se), strict=True):
                    cols[k].append(v)
        return cols

    def summary(self) -> str:
        lines = [
            f"Which maintenance? {self.setting}, {self.outcome}: {len(self.studies)} studies, "
            f"{len(self.edges)} reported comparisons"
        ]
        for (a, b), trials in sorted(self.edge_trials().items()):
            lines.append(
                f"  {a} -- {b}: "
                + ", ".join(
                    f"{t.trial_id} HR {t.hr:.2f} ({t.ci_low:.2f}-{t.ci_high:.2f})" for t in trials
                )
            )
        for s in self.subnetworks:
            lines.append(f"Sub-network: {', '.join(s.treatments)}")
            if s.result is not None:
                for name, vs in s.result.effects_vs(s.reference).items():
                    lines.append(
                        f"  {name} vs {s.reference}: HR {math.exp(vs['estimate']):.2f} "
                        f"({math.exp(vs['ci_low']):.2f}-{math.exp(vs['ci_high']):.2f})"
                    )
        for what, why in self.excluded:
            lines.append(f"Excluded {what}: {why}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "setting": self.setting,
            "outcome": self.outcome,
            "evidence_version": self.evidence_version,
            "edges": [e.to_dict() for e in self.edges],
            "edge_trials": [
                {"treatments": list(k), "trials": [t.trial_id for t in v]}
                for k, v in sorted(self.edge_trials().items())
            ],
            "pairs": self.pairs(),
            "subnetworks": [s.to_dict() for s in self.subnetworks],
            "excluded": [{"item": w, "reason": r} for w, r in self.excluded],
            "reference_publication": json.loads(json.dumps(self.reference_publication)),
        }


def _select_edges(base: EvidenceBase, setting: Setting, outcome: str, include_mixed: bool):
    wanted = OUTCOME_FALLBACKS[outcome]
    settings = [setting] + ([Setting.mixed] if include_mixed else [])
    rows = base.estimates(
        setting=[setting, Setting.mixed],
        outcome=list(wanted),
        comparison_kind=list(MAINTENANCE_KINDS),
        latest_only=True,
        fallback_to_earlier_hr=True,
        include_subgroups=True,
    )
    by_comp: dict[tuple[str, str], list] = {}
    for r in rows:
        mixed = r.trial.comparison_setting(r.comparison) == Setting.mixed
        if r.estimate.subgroup is not None and not (
            mixed and r.estimate.subgroup_setting == setting
        ):
            continue
        by_comp.setdefault((r.trial.id, r.comparison.id), []).append(r)
    edges: list[EdgeTrial] = []
    excluded: list[tuple[str, str]] = []
    for (tid, cid), recs in sorted(by_comp.items()):
        # a mixed-population trial: its subgroup for this setting, else the whole trial (rule 2
        # of plateau.analysis.selection), unless mixed trials are excluded
        subgroup = [r for r in recs if r.estimate.subgroup_setting == setting]
        if subgroup:
            recs = subgroup
        elif Setting.mixed not in settings and any(
            r.trial.comparison_setting(r.comparison) == Setting.mixed for r in recs
        ):
            excluded.append((f"{tid}/{cid}", "mixed population without a subgroup estimate"))
            continue
        # the outcome as the trial defines it before variants (e.g. landmark analyses): the
        # explicit outcome_detail rule of plateau.analysis.selection.ordered_estimates
        recs = sorted(
            recs,
            key=lambda r: (r.estimate.outcome_detail is not None, r.estimate.outcome_detail or ""),
        )
        recs = [r for r in recs if r.estimate.outcome_detail is None] or recs
        recs.sort(key=lambda r: wanted.index(r.estimate.outcome.value))
        chosen = next((r for r in recs if r.estimate.log_hr_and_se() is not None), None)
        if chosen is None:
            excluded.append((f"{tid}/{cid}", f"no hazard ratio with CI or SE for {outcome}"))
            continue
        a = NODE_OF[chosen.experimental_arm.treatment]
        b = NODE_OF[chosen.control_arm.treatment]
        if a == b:
            excluded.append((f"{tid}/{cid}", f"both arms map to the node {a!r}"))
            continue
        log_hr, se = chosen.estimate.log_hr_and_se()
        e = chosen.estimate
        flags = []
        if e.outcome.value != outcome:
            flags.append(f"{e.outcome.value} used for {outcome}")
        if e.status.value != "latest":
            flags.append(vocabulary.label("status", e.status))
        if e.approximate:
            flags.append("approximate")
        if e.adjusted:
            flags.append("adjusted HR")
        if e.subgroup_setting is not None:
            flags.append(f"setting subgroup: {e.subgroup}")
        elif chosen.trial.comparison_setting(chosen.comparison) == Setting.mixed:
            flags.append("mixed setting")
        hr = e.hr if e.hr is not None else math.exp(log_hr)
        z = 1.959963984540054
        lo = e.ci_low if e.ci_low is not None else math.exp(log_hr - z * se)
        hi = e.ci_high if e.ci_high is not None else math.exp(log_hr + z * se)
        edges.append(
            EdgeTrial(
                tid,
                chosen.trial.name,
                cid,
                a,
                b,
                e.outcome.value,
                float(hr),
                float(lo),
                float(hi),
                float(log_hr),
                float(se),
                e.report,
                citation(chosen.source),
                tuple(flags),
                e.events_experimental,
                e.events_control,
            )
        )
    return edges, excluded


Row = tuple[str, str, str, float, float]  #: (study, treat1, treat2, TE, seTE)


def _studies(
    edges: list[EdgeTrial], excluded: list[tuple[str, str]]
) -> tuple[list[tuple[str, tuple[Row, ...]]], list[EdgeTrial]]:
    """Group edges into studies; comparisons of one trial sharing an arm form a multi-arm study."""
    by_trial: dict[str, list[EdgeTrial]] = {}
    for e in edges:
        by_trial.setdefault(e.trial_id, []).append(e)
    studies: list[tuple[str, tuple[Row, ...]]] = []
    flagged: set[int] = set()
    for tid, es in by_trial.items():
        # connected groups of comparisons within the trial (by shared nodes)
        groups: list[list[EdgeTrial]] = []
        for e in es:
            hit = [
                g
                for g in groups
                if any({e.experimental, e.control} & {x.experimental, x.control} for x in g)
            ]
            merged = [e] + [x for g in hit for x in g]
            groups = [g for g in groups if g not in hit] + [merged]
        for gi, g in enumerate(groups):
            label = tid if len(groups) == 1 else f"{tid}:{gi + 1}"
            nodes = sorted({n for e in g for n in (e.experimental, e.control)})
            if len(g) == 1:
                e = g[0]
                studies.append(
                    (label, ((label, e.experimental, e.control, e.log_hr, e.se_log_hr),))
                )
                continue
            if len(g) != len(nodes) - 1:
                for e in g:
                    excluded.append(
                        (
                            f"{e.trial_id}/{e.comparison_id}",
                            "comparisons of this trial form a loop or repeat a node pair",
                        )
                    )
                continue
            # star or chain of comparisons: arm effects and variances along a spanning tree
            theta = {nodes[0]: 0.0}
            var_arm: dict[str, float] = {}
            pending = list(g)
            while pending:
                for e in list(pending):
                    if e.control in theta and e.experimental not in theta:
                        theta[e.experimental] = theta[e.control] + e.log_hr
                    elif e.experimental in theta and e.control not in theta:
                        theta[e.control] = theta[e.experimental] - e.log_hr
                    elif not (e.experimental in theta and e.control in theta):
                        continue
                    pending.remove(e)
            # shared-arm variances: 1/events when reported, else half the smaller variance
            degree = {n: sum(n in (e.experimental, e.control) for e in g) for n in nodes}
            for n in nodes:
                if degree[n] < 2:
                    continue
                inc = [e for e in g if n in (e.experimental, e.control)]
                smallest = min(e.se_log_hr**2 for e in inc)
                events = []
                for e in inc:
                    d = e.events_control if e.control == n else e.events_experimental
                    if d:
                        events.append(d)
                v = 1.0 / events[0] if events and 1.0 / events[0] < smallest else smallest / 2
                var_arm[n] = v
            for e in g:
                for n, m in ((e.experimental, e.control), (e.control, e.experimental)):
                    if n not in var_arm and m in var_arm:
                        var_arm[n] = e.se_log_hr**2 - var_arm[m]
            rows: list[Row] = []
            for i, a in enumerate(nodes):
                for b in nodes[i + 1 :]:
                    rows.append(
                        (label, a, b, theta[a] - theta[b], math.sqrt(var_arm[a] + var_arm[b]))
                    )
            studies.append((label, tuple(rows)))
            flagged.update(id(e) for e in g)
    edges_out = [
        replace(e, flags=e.flags + ("multi-arm: approximate covariance",))
        if id(e) in flagged
        else e
        for e in edges
    ]
    return studies, edges_out


def maintenance_network(
    setting: str = "post_asct",
    outcome: str = "PFS",
    *,
    base: EvidenceBase | None = None,
    include_mixed: bool = True,
    method: str = "REML",
) -> MaintenanceNetwork:
    """Build and analyse the "which maintenance?" network of a setting and outcome.

    Mixed-population trials follow the one selection rule of :mod:`plateau.analysis.selection`:
    the estimate of their subgroup in ``setting`` where the base has one, else the whole-trial
    estimate flagged "mixed setting"; ``include_mixed=False`` drops those without a subgroup
    estimate (the ``exclude_mixed_population`` switch of analyses).
    """
    try:
        setting_enum = Setting(setting)
    except ValueError:
        raise PlateauError(
            f"unknown setting {setting!r}; choose post_asct or non_transplant"
        ) from None
    if outcome not in OUTCOME_FALLBACKS:
        raise PlateauError(f"unknown outcome {outcome!r}; choose PFS or OS")
    base = base if base is not None else load_bundled()
    edges, excluded = _select_edges(base, setting_enum, outcome, include_mixed)
    studies, edges = _studies(edges, excluded)
    subnetworks: list[SubNetwork] = []
    if studies:
        cols: dict[str, list] = {"study": [], "treat1": [], "treat2": [], "TE": [], "seTE": []}
        for _, rows in studies:
            for r in rows:
                for k, v in zip(cols, r, strict=True):
                    cols[k].append(v)
        data = network_data(cols["study"], cols["treat1"], cols["treat2"], cols["TE"], cols["seTE"])
        for comp in connected_components(data):
            ref = OBSERVATION if OBSERVATION in comp else comp[0]
            res = nma(data, reference=ref, method=method) if len(comp) > 1 else None
            subnetworks.append(SubNetwork(tuple(comp), ref, res))
    return MaintenanceNetwork(
        setting_enum.value,
        outcome,
        tuple(edges),
        tuple(studies),
        tuple(subnetworks),
        tuple(excluded),
        base.version,
    )


def which_maintenance(
    base: EvidenceBase | None = None,
    *,
    settings: Iterable[str] = ("post_asct", "non_transplant"),
    outcomes: Iterable[str] = ("PFS", "OS"),
) -> dict[tuple[str, str], MaintenanceNetwork]:
    """The built-in networks: post-ASCT and non-transplant, PFS and OS."""
    base = base if base is not None else load_bundled()
    return {(s, o): maintenance_network(s, o, base=base) for s in settings for o in outcomes}
