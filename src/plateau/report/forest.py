"""Forest plots of publication quality (matplotlib; SVG, PNG, PDF).

The plot is drawn from a plain description (:class:`ForestPlot`) so that any analysis result
can be shown: study rows (N, ratio [95% CI], weight), optional subgroups each with its own
diamond and heterogeneity line, an overall diamond with its prediction interval, the
heterogeneity line (tau², I², Q and its p-value), the test for subgroup differences, and a log
axis labelled with the direction of benefit.  Inputs that were approximated (for example a hazard
ratio derived from medians) carry a dagger and a footnote.

Layout follows the conventions of RevMan and of R's ``meta::forest``/``metafor::forest``:
squares with area proportional to the study's weight, horizontal CI lines with arrows where they
leave the axis, diamonds spanning the pooled CI, a dashed line at the pooled estimate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Polygon  # noqa: E402

DAGGER = "\u2020"


@dataclass(frozen=True)
class ForestRow:
    """One study: ratio estimate with its CI on the natural (ratio) scale."""

    label: str
    estimate: float
    ci_low: float
    ci_high: float
    weight_percent: float | None = None
    n_text: str = ""
    approximate: bool = False
    note: str = ""


@dataclass(frozen=True)
class ForestDiamond:
    """A pooled estimate (subgroup or overall) with optional prediction interval."""

    label: str
    estimate: float
    ci_low: float
    ci_high: float
    pi_low: float | None = None
    pi_high: float | None = None
    heterogeneity: str = ""
    n_text: str = ""
    weight_percent: float | None = None


@dataclass(frozen=True)
class ForestGroup:
    """A block of rows with an optional subgroup diamond."""

    title: str | None
    rows: Sequence[ForestRow]
    diamond: ForestDiamond | None = None


@dataclass(frozen=True)
class ForestPlot:
    """Everything a forest plot shows."""

    title: str
    groups: Sequence[ForestGroup]
    overall: ForestDiamond | None = None
    measure_label: str = "HR"
    favours_left: str = "favours maintenance"
    favours_right: str = "favours control"
    subgroup_test: str = ""
    footnotes: Sequence[str] = field(default_factory=tuple)
    level_percent: int = 95


MAX_LABEL = 44


def _fit(label: str, limit: int = MAX_LABEL) -> str:
    """Shorten a label that would run into the N column (the full name is in the tables)."""
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "\u2026"


def _fmt_ratio(value: float) -> str:
    if value is None or not math.isfinite(value):
        return "NA"
    return f"{value:.2f}" if value < 100 else f"{value:.0f}"


def _fmt_ci(est: float, lo: float, hi: float) -> str:
    return f"{_fmt_ratio(est)} [{_fmt_ratio(lo)}, {_fmt_ratio(hi)}]"


NICE_BOUNDS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0)


def _axis_limits(plot: ForestPlot) -> tuple[float, float]:
    """Nice bounds covering every CI (and the PI), clipped to [0.05, 20] so that one very wide
    interval does not squash the plot (clipped intervals get arrows)."""
    values: list[float | None] = []
    for group in plot.groups:
        for row in group.rows:
            values += [row.ci_low, row.ci_high]
        if group.diamond:
            values += [group.diamond.ci_low, group.diamond.ci_high]
    if plot.overall:
        values += [plot.overall.ci_low, plot.overall.ci_high]
        if plot.overall.pi_low is not None:
            values += [plot.overall.pi_low, plot.overall.pi_high]
    finite = [v for v in values if v is not None and math.isfinite(v) and v > 0]
    lo = max(min(finite + [0.5]), 0.05)
    hi = min(max(finite + [2.0]), 20.0)
    lo = max(b for b in NICE_BOUNDS if b <= lo)
    hi = min(b for b in NICE_BOUNDS if b >= hi)
    return lo, hi


def _ticks(lo: float, hi: float) -> list[float]:
    narrow = (0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5)
    wide = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)
    pool = narrow if hi / lo <= 10 else wide
    return [t for t in pool if lo <= t <= hi]


def draw_forest(plot: ForestPlot) -> Figure:
    """Draw ``plot`` and return the matplotlib Figure (the caller saves or closes it)."""
    lines: list[tuple[str, Any]] = []  # (kind, payload) top to bottom
    for group in plot.groups:
        if group.title:
            lines.append(("header", group.title))
        for row in group.rows:
            lines.append(("row", row))
        if group.diamond:
            lines.append(("diamond", group.diamond))
            if group.diamond.heterogeneity:
                lines.append(("text", group.diamond.heterogeneity))
        lines.append(("gap", None))
    if plot.overall:
        lines.append(("diamond", plot.overall))
        if plot.overall.pi_low is not None:
            lines.append(("pi", plot.overall))
        if plot.overall.heterogeneity:
            lines.append(("text", plot.overall.heterogeneity))
    if plot.subgroup_test:
        lines.append(("text", plot.subgroup_test))

    n_lines = len(lines)
    height = 1.6 + 0.27 * (n_lines + 2) + 0.2 * len(plot.footnotes)
    fig = plt.figure(figsize=(11.0, height), dpi=100)
    # columns in figure fractions: study | N | [plot] | ratio [CI] | weight
    ax = fig.add_axes(
        (
            0.36,
            0.55 / height + 0.2 * len(plot.footnotes) / height + 0.35 / height,
            0.34,
            (0.27 * (n_lines + 1)) / height,
        )
    )
    lo, hi = _axis_limits(plot)
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(n_lines + 0.5, -0.5)
    ticks = _ticks(lo, hi)
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{t:g}" for t in ticks], fontsize=8)
    ax.minorticks_off()
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_yticks([])
    ax.axvline(1.0, color="black", linewidth=0.8)
    if plot.overall:
        ax.axvline(plot.overall.estimate, color="grey", linewidth=0.7, linestyle=(0, (4, 3)))
    ax.set_xlabel(
        f"{plot.favours_left}   \u2190   {plot.measure_label}   \u2192   {plot.favours_right}",
        fontsize=8.5,
    )

    def fig_y(i: float) -> float:
        # data y -> figure fraction via the axes transform
        return fig.transFigure.inverted().transform(ax.transData.transform((1.0, i)))[1]

    col_label, col_n, col_ci, col_w = 0.015, 0.33, 0.72, 0.97
    top = fig_y(-0.9)
    fig.text(col_label, top, "Study", fontsize=9, fontweight="bold", va="center")
    fig.text(col_n, top, "N", fontsize=9, fontweight="bold", va="center", ha="right")
    fig.text(
        col_ci,
        top,
        f"{plot.measure_label} [{plot.level_percent}% CI]",
        fontsize=9,
        fontweight="bold",
        va="center",
    )
    fig.text(col_w, top, "Weight", fontsize=9, fontweight="bold", va="center", ha="right")
    fig.suptitle(
        plot.title, x=col_label, y=1 - 0.12 / height, ha="left", fontsize=11, fontweight="bold"
    )

    max_w = max([r.weight_percent or 0 for g in plot.groups for r in g.rows] + [1e-9])
    any_approx = False
    for i, (kind, payload) in enumerate(lines):
        y = fig_y(i)
        if kind == "header":
            fig.text(
                col_label,
                y,
                _fit(str(payload), MAX_LABEL + 6),
                fontsize=9,
                fontweight="bold",
                va="center",
            )
        elif kind == "row":
            row = payload
            mark = DAGGER if row.approximate else ""
            any_approx |= row.approximate
            fig.text(col_label + 0.01, y, f"{_fit(row.label)}{mark}", fontsize=8.5, va="center")
            fig.text(col_n, y, row.n_text, fontsize=8.5, va="center", ha="right")
            fig.text(
                col_ci, y, _fmt_ci(row.estimate, row.ci_low, row.ci_high), fontsize=8.5, va="center"
            )
            if row.weight_percent is not None:
                fig.text(
                    col_w, y, f"{row.weight_percent:.1f}%", fontsize=8.5, va="center", ha="right"
                )
            _draw_ci(ax, i, row.ci_low, row.ci_high, lo, hi)
            size = 3.0 + 9.0 * math.sqrt((row.weight_percent or max_w * 0.3) / max_w)
            colour = "#555555" if row.approximate else "#1f4e79"
            ax.plot(
                [row.estimate],
                [i],
                marker="s",
                markersize=size,
                color=colour,
                zorder=3,
                markerfacecolor=colour if not row.approximate else "white",
                markeredgewidth=1.2,
            )
        elif kind == "diamond":
            d = payload
            fig.text(col_label, y, d.label, fontsize=8.5, fontweight="bold", va="center")
            fig.text(col_n, y, d.n_text, fontsize=8.5, fontweight="bold", va="center", ha="right")
            fig.text(
                col_ci,
                y,
                _fmt_ci(d.estimate, d.ci_low, d.ci_high),
                fontsize=8.5,
                fontweight="bold",
                va="center",
            )
            if d.weight_percent is not None:
                fig.text(
                    col_w,
                    y,
                    f"{d.weight_percent:.1f}%",
                    fontsize=8.5,
                    fontweight="bold",
                    va="center",
                    ha="right",
                )
            ax.add_patch(
                Polygon(
                    [
                        (max(d.ci_low, lo), i),
                        (d.estimate, i - 0.32),
                        (min(d.ci_high, hi), i),
                        (d.estimate, i + 0.32),
                    ],
                    closed=True,
                    facecolor="#c00000",
                    edgecolor="#800000",
                    zorder=3,
                )
            )
        elif kind == "pi":
            d = payload
            fig.text(
                col_label + 0.01, y, "Prediction interval", fontsize=8, va="center", style="italic"
            )
            fig.text(
                col_ci,
                y,
                f"[{_fmt_ratio(d.pi_low)}, {_fmt_ratio(d.pi_high)}]",
                fontsize=8,
                va="center",
                style="italic",
            )
            _draw_ci(ax, i, d.pi_low, d.pi_high, lo, hi, colour="#c00000", width=2.5)
        elif kind == "text":
            fig.text(col_label + 0.01, y, str(payload), fontsize=7.5, va="center", color="#333333")
    notes = list(plot.footnotes)
    if any_approx and not any(n.startswith(DAGGER) for n in notes):
        notes.insert(
            0,
            f"{DAGGER} approximate input (e.g. HR derived from medians or a p-value); open marker.",
        )
    for j, note in enumerate(notes):
        fig.text(
            col_label,
            (0.12 + 0.2 * (len(notes) - j - 1)) / height,
            note,
            fontsize=7,
            color="#333333",
        )
    return fig


def _draw_ci(
    ax,
    y: float,
    low: float,
    high: float,
    lo: float,
    hi: float,
    colour: str = "black",
    width: float = 1.1,
) -> None:
    left, right = max(low, lo), min(high, hi)
    ax.plot([left, right], [y, y], color=colour, linewidth=width, zorder=2, solid_capstyle="butt")
    if low < lo:
        ax.annotate(
            "",
            xy=(lo, y),
            xytext=(lo * 1.25, y),
            arrowprops=dict(arrowstyle="-|>", color=colour, lw=width, mutation_scale=7),
        )
    if high > hi:
        ax.annotate(
            "",
            xy=(hi, y),
            xytext=(hi / 1.25, y),
            arrowprops=dict(arrowstyle="-|>", color=colour, lw=width, mutation_scale=7),
        )


def save_forest(plot: ForestPlot, path: str | Path) -> Path:
    """Draw ``plot`` and save it; the format follows the suffix (.svg, .png, .pdf)."""
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in {"svg", "png", "pdf"}:
        from plateau.errors import PlateauError

        raise PlateauError(f"{path}: plot format must be .svg, .png or .pdf, not '.{suffix}'")
    fig = draw_forest(plot)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with matplotlib.rc_context({"svg.fonttype": "none"}):  # real, selectable text in SVG
            fig.savefig(
                path, format=suffix, dpi=150 if suffix == "png" else None, bbox_inches="tight"
            )
    finally:
        plt.close(fig)
    return path
