"""The "which maintenance?" networks as report items: graph, forest vs reference, ranking, edges.

Shared by the living report and the web app's Networks page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from plateau.analysis.network import MaintenanceNetwork, which_maintenance
from plateau.evidence.base import EvidenceBase
from plateau.evidence.vocabulary import label
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

    @property
    def main(self):
        return self.network.main


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


def network_items(base: EvidenceBase) -> list[NetworkItem]:
    """One item per built-in network (post-ASCT and non-transplant; PFS and OS)."""
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
                    treatments, edges, title=title, components=components, reference="observation"
                )
            )
            main = network.main
            if main is not None and main.result is not None:
                forest = figure_svg(
                    forest_vs_reference(main.result, title=f"{title}: HR vs {main.reference}")
                )
        items.append(
            NetworkItem(
                f"nma-{setting}-{outcome.lower()}", title, network, graph, forest, _ranking(network)
            )
        )
    return items
