"""The "which maintenance?" networks as report items: graph, forest vs reference, ranking, edges.

Shared by the living report and the web app's Networks page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from plateau.analysis.network import MaintenanceNetwork, which_maintenance
from plateau.evidence.base import EvidenceBase
from plateau.evidence.vocabulary import format_ratio_ci, label
from plateau.report.network_plots import forest_vs_reference, network_graph
from plateau.report.plots import figure_svg


@dataclass(frozen=True)
class NetworkItem:
    key: str
    title: str
    network: MaintenanceNetwork
    graph_svg: str | None
    forest_svg: str | None
    ranking: tuple[dict[str, Any], ...]
    league: tuple[tuple[str, ...], ...] = ()  #: header row, then one row per treatment
    strength: tuple[dict[str, Any], ...] = ()  #: evidence behind each treatment

    @property
    def main(self):
        return self.network.main


def _trial_patients(base: EvidenceBase, trial_id: str, comparison_id: str) -> int | None:
    try:
        trial = base.trial(trial_id)
        comparison = trial.comparison(comparison_id)
    except KeyError:
        return None
    sizes = [
        trial.arm(comparison.experimental_arm).n_randomised,
        trial.arm(comparison.control_arm).n_randomised,
    ]
    return None if any(n is None for n in sizes) else sum(sizes)  # type: ignore[arg-type]


def _open_label(base: EvidenceBase, trial_id: str, comparison_id: str) -> bool:
    """No placebo in the comparison: observation or an active control (open-label designs)."""
    try:
        return base.trial(trial_id).comparison(comparison_id).control_type.value != "placebo"
    except KeyError:
        return True


def evidence_strength(network: MaintenanceNetwork, base: EvidenceBase) -> dict[str, dict[str, Any]]:
    """What each treatment's place in the network rests on.

    For every node: the trials that randomised it (``trials``), their patients (``patients``,
    None when an arm size is missing), how many compare it without placebo (``open_label``:
    observation or active control), whether it is compared directly with the reference
    (``direct``), the edges that rest on a single trial (``single_trial_edges``) and a
    one-line ``caution`` in words.
    """
    main = network.main
    reference = main.reference if main is not None else None
    edges = network.edge_trials()
    out: dict[str, dict[str, Any]] = {}
    nodes = sorted({t for pair in edges for t in pair})
    for node in nodes:
        touching = {pair: trials for pair, trials in edges.items() if node in pair}
        seen: dict[tuple[str, str], Any] = {}
        for trials in touching.values():
            for t in trials:
                seen.setdefault((t.trial_id, t.comparison_id), t)
        patients = [_trial_patients(base, tid, cid) for tid, cid in seen]
        open_label = sum(_open_label(base, tid, cid) for tid, cid in seen)
        single = [
            " \u2013 ".join(pair)
            for pair, trials in touching.items()
            if len({t.trial_id for t in trials}) == 1
        ]
        direct = reference is not None and tuple(sorted((node, reference))) in edges
        n_trials = len({tid for tid, _ in seen})
        known = [n for n in patients if n is not None]
        words = [f"{n_trials} trial{'s' if n_trials != 1 else ''}"]
        if known:
            words.append(
                f"{sum(known)} patients"
                + (" (some arm sizes not reported)" if len(known) < len(patients) else "")
            )
        if open_label:
            words.append(
                "all open-label" if open_label == len(seen) else f"{open_label} open-label"
            )
        if node != reference and not direct:
            words.append(f"no direct comparison with {reference} (indirect only)")
        if single:
            words.append(
                "single-trial edge" + ("s" if len(single) > 1 else "") + ": " + "; ".join(single)
            )
        out[node] = {
            "treatment": node,
            "trials": n_trials,
            "patients": sum(known) if known else None,
            "patients_complete": len(known) == len(patients),
            "open_label": open_label,
            "comparisons": len(seen),
            "direct": direct,
            "single_trial_edges": tuple(single),
            "weak": n_trials <= 1 or (bool(known) and sum(known) < 500),
            "caution": ", ".join(words),
        }
    return out


def league_table(result, *, digits: int = 2) -> tuple[tuple[str, ...], ...]:
    """The league table on the HR scale, rows and columns in P-score order; the diagonal names the
    treatment and each cell below it is the HR of the column treatment versus the row treatment
    (HR < 1 favours the column treatment, the one ranked higher)."""
    lg = result.league
    order = [name for name, _ in result.ranking()]
    index = {t: i for i, t in enumerate(lg.treatments)}
    header = ("", *order)
    rows = []
    for r, a in enumerate(order):
        cells = [a]
        for c, b in enumerate(order):
            if c == r:
                cells.append(a)
            elif c < r:
                i, j = index[b], index[a]  # column treatment b versus row treatment a
                cells.append(
                    format_ratio_ci(
                        math.exp(lg.estimate[i, j]),
                        math.exp(lg.ci_low[i, j]),
                        math.exp(lg.ci_high[i, j]),
                    )
                )
            else:
                cells.append("")
        rows.append(tuple(cells))
    return (header, *rows)


def _ranking(network: MaintenanceNetwork) -> tuple[dict[str, Any], ...]:
    main = network.main
    if main is None or main.result is None:
        return ()
    result = main.result
    vs = result.effects_vs(main.reference)
    rows = []
    for name, score in sorted(
        zip(result.treatments, result.p_scores, strict=True), key=lambda t: -t[1]
    ):
        row = {"treatment": name, "p_score": float(score)}
        if name in vs:
            row.update(
                hr=math.exp(vs[name]["estimate"]),
                ci_low=math.exp(vs[name]["ci_low"]),
                ci_high=math.exp(vs[name]["ci_high"]),
            )
        rows.append(row)
    return tuple(rows)


def network_items(base: EvidenceBase, *, compact: bool = False) -> list[NetworkItem]:
    """One item per built-in network (post-ASCT and non-transplant; PFS and OS).

    ``compact``: the printed report's smaller figures (text 7.5-8 pt at natural size), so that
    graph and forest stand side by side without being shrunk."""
    items = []
    for (setting, outcome), network in which_maintenance(base).items():
        title = f"Which maintenance {label('setting', setting)}? {label('outcome', outcome)}"
        graph = forest = None
        if network.edges:
            treatments = sorted({t for e in network.edges for t in (e.experimental, e.control)})
            edges = {
                pair: [t.trial_id for t in trials] for pair, trials in network.edge_trials().items()
            }
            components = [s.treatments for s in network.subnetworks]
            graph = figure_svg(
                network_graph(
                    treatments,
                    edges,
                    # printed: the section heading above the figure carries the title
                    title="" if compact else title,
                    components=components,
                    reference="observation",
                    compact=compact,
                ),
                title=f"Network graph: {title}",
                description="Nodes are treatments; an edge joins two treatments compared in a "
                "randomised trial and lists the trials: "
                + "; ".join(f"{a} \u2013 {b}: {', '.join(t)}" for (a, b), t in edges.items()),
            )
            main = network.main
            if main is not None and main.result is not None:
                vs = main.result.effects_vs(main.reference)
                forest = figure_svg(
                    forest_vs_reference(
                        main.result,
                        title="" if compact else f"{title}: HR vs {main.reference}",
                        compact=compact,
                    ),
                    title=f"{title}: hazard ratio of each treatment versus {main.reference}",
                    description="; ".join(
                        f"{t}: HR "
                        + format_ratio_ci(
                            math.exp(v["estimate"]), math.exp(v["ci_low"]), math.exp(v["ci_high"])
                        )
                        for t, v in vs.items()
                    ),
                )
        main = network.main
        strength = evidence_strength(network, base) if network.edges else {}
        ranking = tuple(
            {**row, "evidence": strength.get(row["treatment"], {})} for row in _ranking(network)
        )
        league = league_table(main.result) if main is not None and main.result is not None else ()
        items.append(
            NetworkItem(
                f"nma-{setting}-{outcome.lower()}",
                title,
                network,
                graph,
                forest,
                ranking,
                league,
                tuple(strength.values()),
            )
        )
    return items
