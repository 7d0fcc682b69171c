"""Network meta-analysis plots: the evidence network graph and a forest plot versus the reference.

Drawing only (matplotlib, Agg); every number comes from :mod:`plateau.meta.network` or
:mod:`plateau.analysis.network` results.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from plateau.evidence.vocabulary import format_ratio_ci  # noqa: E402
from plateau.meta.network import NetworkResult  # noqa: E402

INK = "#1f2933"
EDGE = "#52606d"
NODE = "#2f6f9f"
REF = "#b44d12"


def network_graph(
    treatments: Sequence[str],
    edges: Mapping[tuple[str, str], Sequence[str]],
    *,
    title: str = "",
    reference: str | None = None,
    components: Sequence[Sequence[str]] | None = None,
    compact: bool = False,
) -> Figure:
    """Network graph: treatments on a circle (one circle per connected sub-network), an edge per
    directly compared pair with width proportional to its number of trials, labelled with them.

    ``edges`` maps an unordered pair of treatments to the trial labels behind it.
    ``compact``: a smaller figure with 7.5-8.5 pt text, for the printed report.
    """
    k_size = 0.64 if compact else 1.0
    fs_edge, fs_node, fs_title = (7.5, 8.0, 8.5) if compact else (8.5, 10, 11)
    comps = [list(c) for c in components] if components else [list(treatments)]
    n_comp = len(comps)
    fig_w = 4.6 * n_comp if n_comp > 1 else 7.5
    widths = [max(2, len(c)) for c in comps]
    fig, axes = plt.subplots(
        1,
        n_comp,
        # one network: narrow enough to stand beside its forest plot; sub-networks keep room
        # for their labels (the forest then follows below)
        figsize=((5.0 + 1.6 * (n_comp - 1), 5.2 * k_size) if compact else (max(fig_w, 7.5), 5.2)),
        squeeze=False,
        gridspec_kw={"width_ratios": widths},
    )
    degree: dict[str, int] = {}
    for a, b in edges:
        degree[a] = degree.get(a, 0) + 1
        degree[b] = degree.get(b, 0) + 1
    for ax, comp in zip(axes[0], comps, strict=True):
        k = len(comp)
        pos = {}
        for i, t in enumerate(comp):
            ang = math.pi / 2 - 2 * math.pi * i / max(k, 1)
            pos[t] = (math.cos(ang), math.sin(ang)) if k > 1 else (0.0, 0.0)
        for (a, b), trials in edges.items():
            if a not in pos or b not in pos:
                continue
            (x1, y1), (x2, y2) = pos[a], pos[b]
            ax.plot(
                [x1, x2],
                [y1, y2],
                color=EDGE,
                lw=1.5 + 2.0 * len(trials),
                alpha=0.7,
                zorder=1,
                solid_capstyle="round",
            )
            # label away from the busier end, so labels of a star do not meet at its hub
            f = 0.62 if degree.get(a, 0) >= degree.get(b, 0) else 0.38
            ax.text(
                x1 + f * (x2 - x1),
                y1 + f * (y2 - y1),
                "\n".join(trials),
                fontsize=fs_edge,
                color=INK,
                ha="center",
                va="center",
                zorder=3,
                bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.85),
            )
        for t, (x, y) in pos.items():
            color = REF if t == reference else NODE
            ax.scatter([x], [y], s=260, color=color, zorder=2, edgecolor="white", linewidth=1.5)
            ha = "left" if x > 0.2 else "right" if x < -0.2 else "center"
            dx = 0.12 if ha == "left" else -0.12 if ha == "right" else 0.0
            dy = 0.14 if y >= 0 else -0.14
            ax.text(
                x + dx,
                y + dy,
                t,
                fontsize=fs_node,
                color=INK,
                ha=ha,
                va="center",
                fontweight="bold",
            )
        ax.set_xlim(-1.9, 1.9)
        ax.set_ylim(-1.5, 1.5)
        ax.set_aspect("equal")
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=fs_title, color=INK)
    fig.text(
        0.01,
        0.01,
        "Edge width: number of trials; labels: trials behind each comparison."
        + ("\n" if compact else " ")
        + "Separate panels: sub-networks not connected to each other.",
        fontsize=7.2 if compact else 8.5,
        color=EDGE,
    )
    fig.tight_layout(rect=(0, 0.03, 1, 0.96))
    return fig


def forest_vs_reference(
    result: NetworkResult,
    *,
    title: str = "",
    scale: str = "HR",
    reference: str | None = None,
    compact: bool = False,
) -> Figure:
    """Forest plot of every treatment versus the reference (exponentiated when ``scale`` is a
    ratio), ordered by P-score, with the P-score printed beside each row."""
    reference = reference or result.reference
    vs = result.effects_vs(reference)
    ps = dict(zip(result.treatments, result.p_scores, strict=True))
    names = sorted(vs, key=lambda t: -ps[t])
    ratio = scale.upper() in ("HR", "OR", "RR")
    tf = math.exp if ratio else (lambda x: x)
    fs, fs_title = (7.5, 8.5) if compact else (9.0, 11.0)
    fig, ax = plt.subplots(
        figsize=(4.3, 1.0 + 0.3 * len(names)) if compact else (8.0, 1.2 + 0.45 * len(names))
    )
    for row, t in enumerate(names):
        y = len(names) - row
        est, lo, hi = tf(vs[t]["estimate"]), tf(vs[t]["ci_low"]), tf(vs[t]["ci_high"])
        ax.plot([lo, hi], [y, y], color=INK, lw=1.4)
        ax.scatter([est], [y], marker="s", s=46, color=NODE, zorder=3)
        ax.text(
            1.02,
            y,
            f"{format_ratio_ci(est, lo, hi)}   {ps[t]:.2f}",
            transform=ax.get_yaxis_transform(),
            fontsize=fs - 0.5 if not compact else fs,
            va="center",
            color=INK,
        )
    ax.axvline(1.0 if ratio else 0.0, color=EDGE, lw=1, ls="--")
    if ratio:
        ax.set_xscale("log")
        lows = [tf(vs[t]["ci_low"]) for t in names] + [1.0]
        highs = [tf(vs[t]["ci_high"]) for t in names] + [1.0]
        ticks = [
            v
            for v in (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 10)
            if min(lows) / 1.3 <= v <= max(highs) * 1.3
        ]
        ax.set_xticks(ticks)
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_yticks(range(len(names), 0, -1))
    ax.set_yticklabels(names, fontsize=fs)
    if compact:
        ax.tick_params(axis="x", labelsize=fs)
    ax.set_ylim(0.4, len(names) + 0.6)
    model = "random effects, " + result.method if result.model == "random" else "common effect"
    tau = (
        f"tau2 = {result.tau2:.3f}"
        if result.df > 0
        else "tau2 not estimable (no loops or repeated comparisons)"
    )
    ax.set_xlabel(
        f"{scale} versus {reference} ({round(result.level * 100)}% CI; {model})\n{tau}",
        fontsize=fs,
    )
    ax.text(
        1.02,
        len(names) + 0.55,
        f"{scale} ({round(result.level * 100)}% CI)   P-score",
        transform=ax.get_yaxis_transform(),
        fontsize=fs,
        va="center",
        color=EDGE,
    )
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title, fontsize=fs_title, color=INK, loc="left")
    fig.tight_layout()
    fig.subplots_adjust(right=0.62 if compact else 0.68)
    return fig


def save(fig: Figure, path: str | Path, dpi: int = 150) -> Path:
    """Write ``fig`` (PNG or SVG by suffix) and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
