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
from matplotlib.font_manager import FontProperties  # noqa: E402
from matplotlib.patches import Polygon  # noqa: E402
from matplotlib.textpath import TextToPath  # noqa: E402

from plateau.evidence.vocabulary import format_interval, format_ratio, format_ratio_ci  # noqa: E402

DAGGER = "\u2020"
EN_DASH = "\u2013"


@dataclass(frozen=True)
class ForestRow:
    """One study: ratio estimate with its CI on the natural (ratio) scale.

    ``n_experimental``/``n_control`` (and the events, where reported) fill the two arm columns;
    ``n_text`` is the older single "N" column, used only when no arm numbers are given.
    """

    label: str
    estimate: float
    ci_low: float
    ci_high: float
    weight_percent: float | None = None
    n_text: str = ""
    approximate: bool = False
    note: str = ""
    events_experimental: int | None = None
    n_experimental: int | None = None
    events_control: int | None = None
    n_control: int | None = None


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
    effect_test: str = ""  #: "Test for overall effect: z = -4.93, p < 0.001"
    n_experimental: int | None = None
    n_control: int | None = None
    events_experimental: int | None = None
    events_control: int | None = None


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
    arm_labels: tuple[str, str] = ("Maintenance", "Control")
    #: the printed report's layout: 7.6 pt text (7 pt for the small lines, never below 7 pt
    #: printed), tighter rows, a narrower axis, test lines running under the axis (on white)
    compact: bool = False

    @property
    def has_arm_columns(self) -> bool:
        return any(
            r.n_experimental is not None or r.n_control is not None
            for g in self.groups
            for r in g.rows
        )

    @property
    def has_events(self) -> bool:
        return any(
            r.events_experimental is not None or r.events_control is not None
            for g in self.groups
            for r in g.rows
        )

    @property
    def description(self) -> str:
        """A plain-text account of the plot (SVG ``<desc>``, screen readers)."""
        parts = []
        for g in self.groups:
            for r in g.rows:
                parts.append(
                    f"{r.label}: {self.measure_label} {_fmt_ci(r.estimate, r.ci_low, r.ci_high)}"
                )
            if g.diamond:
                d = g.diamond
                parts.append(
                    f"{g.title or ''} {d.label}: {_fmt_ci(d.estimate, d.ci_low, d.ci_high)}".strip()
                )
        if self.overall:
            o = self.overall
            parts.append(
                f"{o.label}: {self.measure_label} {_fmt_ci(o.estimate, o.ci_low, o.ci_high)}"
            )
            parts += [t for t in (o.heterogeneity, o.effect_test) if t]
        if self.subgroup_test:
            parts.append(self.subgroup_test)
        return f"Forest plot, {self.level_percent}% confidence intervals; " + "; ".join(parts) + "."


#: font sizes in points; at the SVG's natural size (1 pt = 1.33 px) the smallest is 11.3 px
FONT = 9.5
FONT_SMALL = 8.5
FONT_TITLE = 11.5
ROW = 0.23  #: row height, inches
PLOT_WIDTH = 2.9  #: the axis, inches
GAP = 0.22  #: between columns, inches
MAX_LABEL = 200  #: labels are never shortened below this (kept for callers)
#: the compact (printed report) sizes: text, small text, row height, axis width, gap
COMPACT = (7.6, 7.0, 0.13, 2.0, 0.1)


def _fit(label: str, limit: int = MAX_LABEL) -> str:
    """Labels are shown in full (the layout widens the column); only absurd lengths are cut."""
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "\u2026"


def _fmt_ratio(value: float) -> str:
    return format_ratio(value)


def _fmt_ci(est: float, lo: float, hi: float) -> str:
    return format_ratio_ci(est, lo, hi)


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


_MEASURER = TextToPath()


def _width(text: str, size: float = FONT, bold: bool = False) -> float:
    """Rendered width of ``text`` in inches (DejaVu Sans, matplotlib's default font)."""
    if not text:
        return 0.0
    prop = FontProperties(size=size, weight="bold" if bold else "normal")
    return _MEASURER.get_text_width_height_descent(text, prop, ismath=False)[0] / 72.0


def _arm_text(events: int | None, n: int | None, with_events: bool = True) -> str:
    if not with_events:
        return str(n) if n is not None else EN_DASH
    if n is None and events is None:
        return "\u2013"
    if events is None:
        return f"\u2013/{n}"
    return f"{events}/{n if n is not None else EN_DASH}"


def _wrap(text: str, width_in: float, size: float) -> list[str]:
    """Greedy word wrap of ``text`` to ``width_in`` inches."""
    words, lines, line = text.split(), [], ""
    for word in words:
        trial = f"{line} {word}".strip()
        if line and _width(trial, size) > width_in:
            lines.append(line)
            line = word
        else:
            line = trial
    if line:
        lines.append(line)
    return lines or [""]


def draw_forest(plot: ForestPlot) -> Figure:
    """Draw ``plot`` and return the matplotlib Figure (the caller saves or closes it).

    Columns: study | [maintenance events/N | control events/N] or [N] | the plot | ratio (CI) |
    weight.  Column widths follow the longest text so nothing is cut; text sizes are at least
    8.5 pt (11 px at the SVG's natural size).
    """
    font, font_small, row_h, plot_w, gap = (
        COMPACT if plot.compact else (FONT, FONT_SMALL, ROW, PLOT_WIDTH, GAP)
    )

    def _w(text: str, bold: bool = False) -> float:
        return _width(text, font, bold)

    lines: list[tuple[str, Any]] = []  # (kind, payload) top to bottom
    for group in plot.groups:
        if group.title:
            lines.append(("header", group.title))
        for row in group.rows:
            lines.append(("row", row))
        if group.diamond:
            lines.append(("diamond", group.diamond))
            tests = [t for t in (group.diamond.heterogeneity, group.diamond.effect_test) if t]
            if plot.compact and tests:  # one line under the subtotal: "...; overall effect ..."
                lines.append(("text", "; ".join(tests)))
            else:
                lines += [("text", t) for t in tests]
        lines.append(("gap", None))
    if plot.overall:
        lines.append(("diamond", plot.overall))
        if plot.overall.pi_low is not None:
            lines.append(("pi", plot.overall))
        if plot.overall.heterogeneity:
            lines.append(("text", plot.overall.heterogeneity))
        if plot.overall.effect_test:
            lines.append(("text", plot.overall.effect_test))
    if plot.subgroup_test:
        lines.append(("text", plot.subgroup_test))
    while lines and lines[-1][0] == "gap":
        lines.pop()

    arms = plot.has_arm_columns
    ev = plot.has_events
    rows = [p for k, p in lines if k == "row"]
    diamonds = [p for k, p in lines if k == "diamond"]
    any_approx = any(r.approximate for r in rows)

    # --- column widths (inches) from the texts they hold -----------------------------------
    indent = 0.12
    label_w = max(
        [_w(f"{r.label}{DAGGER if r.approximate else ''}") + indent for r in rows]
        + [_w(d.label, bold=True) for d in diamonds]
        + [_w(str(p), bold=True) for k, p in lines if k == "header"]
        + [_w("Prediction interval") + indent, _w("Study", bold=True)]
    )
    if arms:
        exp_cells = [_arm_text(r.events_experimental, r.n_experimental, ev) for r in rows]
        ctl_cells = [_arm_text(r.events_control, r.n_control, ev) for r in rows]
        exp_cells += [str(d.n_experimental) for d in diamonds if d.n_experimental]
        ctl_cells += [str(d.n_control) for d in diamonds if d.n_control]
        arm_w = [
            max([_w(c) for c in exp_cells] + [_w(plot.arm_labels[0], bold=True), _w("events/N")]),
            max([_w(c) for c in ctl_cells] + [_w(plot.arm_labels[1], bold=True), _w("events/N")]),
        ]
    else:
        texts = [r.n_text for r in rows] + [d.n_text for d in diamonds]
        arm_w = [max([_w(t, bold=True) for t in texts] + [_w("N", bold=True)])]
    ci_head = f"{plot.measure_label} ({plot.level_percent}% CI)"
    ci_w = max(
        [_w(_fmt_ci(r.estimate, r.ci_low, r.ci_high)) for r in rows]
        + [_w(_fmt_ci(d.estimate, d.ci_low, d.ci_high), bold=True) for d in diamonds]
        + [_w(ci_head, bold=True)]
    )
    weight_w = _w("Weight", bold=True)
    numbers_w = sum(arm_w) + gap * len(arm_w)
    # free text lines (heterogeneity, tests) run under the label and number columns
    text_w = max([_width(str(p), font_small) + indent for k, p in lines if k == "text"] + [0])
    if not plot.compact:
        label_w = max(label_w, text_w - numbers_w)
    else:  # the lines may run under the axis, on a white ground that hides its lines
        label_w = max(label_w, text_w - numbers_w - plot_w - gap)
    margin = 0.03 if plot.compact else 0.1  # the printed page has its own margins
    x_label = margin
    x_arms = []
    x = x_label + label_w + gap
    for w in arm_w:
        x += w
        x_arms.append(x)  # right edges
        x += gap
    x_plot = x
    x_ci = x_plot + plot_w + gap
    x_weight = x_ci + ci_w + gap + weight_w  # right edge
    width = x_weight + margin

    # --- heights ------------------------------------------------------------------------------
    title_lines = _wrap(plot.title, width - 2 * margin, FONT_TITLE) if plot.title else []
    notes = list(plot.footnotes)
    if any_approx and not any(n.startswith(DAGGER) for n in notes):
        notes.insert(
            0,
            f"{DAGGER} approximate input (e.g. HR derived from medians or a p-value); open marker.",
        )
    note_lines = [ln for n in notes for ln in _wrap(n, width - 2 * margin, font_small)]
    head_h = 0.22 * len(title_lines) + (0.04 if plot.compact else 0.12) + (2 if arms else 1) * row_h
    axis_h = 0.43 if plot.compact else 0.62  # ticks and the favours label
    note_h = 0.14 if plot.compact else 0.19
    notes_h = note_h * len(note_lines) + (0.1 if note_lines else 0)
    body_h = row_h * max(len(lines), 1)
    height = margin + head_h + body_h + axis_h + notes_h + margin

    fig = plt.figure(figsize=(width, height), dpi=100)
    inch = fig.dpi_scale_trans
    body_top = height - margin - head_h
    body_bottom = body_top - body_h
    ax = fig.add_axes((x_plot / width, body_bottom / height, plot_w / width, body_h / height))
    lo, hi = _axis_limits(plot)
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(len(lines) - 0.5, -0.5)
    ticks = _ticks(lo, hi)
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{t:g}" for t in ticks], fontsize=font_small)
    ax.minorticks_off()
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_yticks([])
    ax.axvline(1.0, color="black", linewidth=0.8)
    if plot.overall:
        ax.axvline(plot.overall.estimate, color="grey", linewidth=0.7, linestyle=(0, (4, 3)))
    ax.set_xlabel(
        f"\u2190 {plot.favours_left}    {plot.measure_label}    {plot.favours_right} \u2192",
        fontsize=font_small,
    )

    def y_of(i: float) -> float:
        return body_top - (i + 0.5) * row_h

    def put(x, y, text, *, size=None, ha="left", bold=False, **kw):
        fig.text(
            x,
            y,
            text,
            transform=inch,
            fontsize=font if size is None else size,
            ha=ha,
            va="center",
            fontweight="bold" if bold else "normal",
            **kw,
        )

    # title and column headers
    for j, line in enumerate(title_lines):
        put(x_label, height - margin - 0.11 - 0.22 * j, line, size=FONT_TITLE, bold=True)
    head_y = body_top + 0.5 * row_h
    put(x_label, head_y, "Study", bold=True)
    if arms:
        for x_right, name in zip(x_arms, plot.arm_labels, strict=True):
            put(x_right, head_y + row_h, name, ha="right", bold=True)
            put(
                x_right,
                head_y,
                "events/N" if ev else "N",
                ha="right",
                size=font_small,
                color="#333333",
            )
    else:
        put(x_arms[0], head_y, "N", ha="right", bold=True)
    put(x_ci, head_y, ci_head, bold=True)
    put(x_weight, head_y, "Weight", ha="right", bold=True)
    fig.add_artist(
        plt.Line2D(
            [margin, width - margin],
            [body_top, body_top],
            transform=inch,
            color="#888888",
            linewidth=0.6,
        )
    )

    max_w = max([r.weight_percent or 0 for r in rows] + [1e-9])
    for i, (kind, payload) in enumerate(lines):
        y = y_of(i)
        if kind == "header":
            put(x_label, y, _fit(str(payload)), bold=True)
        elif kind == "row":
            row = payload
            mark = DAGGER if row.approximate else ""
            put(x_label + indent, y, f"{_fit(row.label)}{mark}")
            if arms:
                put(
                    x_arms[0],
                    y,
                    _arm_text(row.events_experimental, row.n_experimental, ev),
                    ha="right",
                )
                put(x_arms[1], y, _arm_text(row.events_control, row.n_control, ev), ha="right")
            else:
                put(x_arms[0], y, row.n_text, ha="right")
            put(x_ci, y, _fmt_ci(row.estimate, row.ci_low, row.ci_high))
            if row.weight_percent is not None:
                put(x_weight, y, f"{row.weight_percent:.1f}%", ha="right")
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
            d: ForestDiamond = payload
            put(x_label, y, d.label, bold=True)
            if arms:
                if d.n_experimental:
                    put(
                        x_arms[0],
                        y,
                        _arm_text(
                            d.events_experimental,
                            d.n_experimental,
                            ev and d.events_experimental is not None,
                        ),
                        ha="right",
                        bold=True,
                    )
                if d.n_control:
                    put(
                        x_arms[1],
                        y,
                        _arm_text(
                            d.events_control, d.n_control, ev and d.events_control is not None
                        ),
                        ha="right",
                        bold=True,
                    )
            else:
                put(x_arms[0], y, d.n_text, ha="right", bold=True)
            put(x_ci, y, _fmt_ci(d.estimate, d.ci_low, d.ci_high), bold=True)
            if d.weight_percent is not None:
                put(x_weight, y, f"{d.weight_percent:.1f}%", ha="right", bold=True)
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
            put(x_label + indent, y, "Prediction interval", style="italic")
            put(x_ci, y, f"({format_interval(d.pi_low, d.pi_high)})", style="italic")
            if d.pi_low is not None and d.pi_high is not None:
                _draw_ci(ax, i, d.pi_low, d.pi_high, lo, hi, colour="#c00000", width=2.5)
        elif kind == "text":
            ground = (
                {"bbox": {"facecolor": "white", "edgecolor": "none", "pad": 0.6}, "zorder": 4}
                if plot.compact
                else {}
            )
            put(x_label + indent, y, str(payload), size=font_small, color="#333333", **ground)
    for j, line in enumerate(note_lines):
        put(
            x_label,
            margin + 0.1 + note_h * (len(note_lines) - j - 1),
            line,
            size=font_small,
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


def _metadata(plot: ForestPlot, suffix: str) -> dict | None:
    if suffix == "svg":
        return {"Title": plot.title, "Description": plot.description}
    if suffix == "pdf":
        return {"Title": plot.title, "Subject": plot.description[:1000]}
    return {"Title": plot.title, "Description": plot.description}


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
                path,
                format=suffix,
                dpi=150 if suffix == "png" else None,
                metadata=_metadata(plot, suffix),
            )
    finally:
        plt.close(fig)
    return path
