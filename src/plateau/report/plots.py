"""Plots of analysis results: forest plots (via :mod:`plateau.report.forest`) and funnel plots."""

from __future__ import annotations

import html
import io
import itertools
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from plateau.analysis.run import AnalysisResult, PooledEffect, StudyResult  # noqa: E402
from plateau.errors import PlateauError  # noqa: E402
from plateau.evidence.vocabulary import KINDS, format_p, label, labels  # noqa: E402
from plateau.report.forest import (  # noqa: E402
    ForestDiamond,
    ForestGroup,
    ForestPlot,
    ForestRow,
    draw_forest,
    save_forest,
)


def _level_label(by: str | None, level: str) -> str:
    """A subgroup heading in words (one vocabulary: :mod:`plateau.evidence.vocabulary`)."""
    if by == "agent":
        return " + ".join(label("agent", a) for a in level.split("+")).capitalize()
    if by is not None and by in KINDS:
        return label(by, level, capital=True)
    return level.replace("_", " ").replace("+", " + ").capitalize()


def _row(study: StudyResult) -> ForestRow:
    c = study.contribution
    n = f"{c.n_experimental}/{c.n_control}" if c.n_experimental and c.n_control else ""
    name = c.primary_label or c.label
    label = name if c.outcome in ("PFS", "OS") or c.measure != "HR" else f"{name} [{c.outcome}]"
    return ForestRow(
        label,
        c.estimate,
        study.ci_low,
        study.ci_high,
        study.weight_percent,
        n,
        c.approximate or c.earlier_report,
        events_experimental=c.display_events[0],
        n_experimental=c.n_experimental,
        events_control=c.display_events[1],
        n_control=c.n_control,
    )


def effect_test_text(pooled: PooledEffect) -> str:
    """``Test for overall effect: z = -4.93, p < 0.001`` (t with k-1 df under Hartung-Knapp)."""
    if not pooled.se or not math.isfinite(pooled.se):
        return ""
    stat = pooled.log_estimate / pooled.se
    name = "z" if pooled.test == "z" else f"t({pooled.k - 1})"
    p = format_p(pooled.pval)
    p_text = f"p < {p[1:]}" if p.startswith("<") else f"p = {p}"
    return f"Test for overall effect: {name} = {stat:.2f}, {p_text}"


def _sum(values) -> int | None:
    values = list(values)
    return None if not values or any(v is None for v in values) else sum(values)


def _diamond(label: str, pooled: PooledEffect, with_pi: bool, studies=()) -> ForestDiamond:
    n = f"{pooled.n_patients}" if pooled.n_patients else ""
    contributions = [s.contribution for s in studies]
    return ForestDiamond(
        label,
        pooled.estimate,
        pooled.ci_low,
        pooled.ci_high,
        pooled.pi_low if with_pi else None,
        pooled.pi_high if with_pi else None,
        pooled.heterogeneity_text() if pooled.k > 1 else "",
        n,
        effect_test=effect_test_text(pooled),
        n_experimental=_sum(c.n_experimental for c in contributions),
        n_control=_sum(c.n_control for c in contributions),
        events_experimental=_sum(c.display_events[0] for c in contributions),
        events_control=_sum(c.display_events[1] for c in contributions),
    )


def arm_labels(result: AnalysisResult) -> tuple[str, str]:
    """Column headers of the two arms: "Maintenance"/"Control" when every comparison is
    maintenance against observation, placebo or an older maintenance; else "Experimental"."""
    kinds = {s.contribution.comparison_kind for s in result.studies} or {
        k.value for k in result.spec.comparison_kinds
    }
    if kinds <= {"maintenance_vs_control", "maintenance_vs_active"}:
        return ("Maintenance", "Control")
    return ("Experimental", "Control")


def _outcome_words(spec) -> str:
    if spec.outcome == "disease_control":
        return "PFS (else EFS, else TTP)"
    return spec.outcome_label


def plot_title(spec) -> str:
    """A title that says what was pooled, once.

    Built-in analyses keep their title, with the outcome added only when the title does not
    already name it; a custom analysis ("Custom analysis") is described by its selection:
    ``Lenalidomide vs observation or placebo, after ASCT: OS``.
    """
    outcome = _outcome_words(spec)
    title = (spec.title or "").strip()
    if title and title.lower() not in ("custom analysis", "custom"):
        named = {
            o for o in ("PFS", "EFS", "TTP", "OS", "PFS2") if o in title.replace("/", " ").split()
        }
        if spec.outcome == "disease_control" and named & {"PFS", "EFS", "TTP"}:
            return title
        if spec.outcome in named or spec.outcome_label.lower() in title.lower():
            return title
        return f"{title}: {outcome}"
    agents = labels("agent", spec.agents, sep=" or ") if spec.agents else "Maintenance"
    kinds = [k.value for k in spec.comparison_kinds]
    versus = {
        ("maintenance_vs_control",): "vs observation or placebo",
        ("maintenance_vs_active",): "vs an older active maintenance",
    }.get(tuple(kinds), "(" + labels("comparison_kind", kinds, sep="; ") + ")" if kinds else "")
    where = labels("setting", spec.settings, sep=" or ") if spec.settings else ""
    head = " ".join(x for x in (agents[:1].upper() + agents[1:], versus) if x)
    return f"{head}{', ' + where if where else ''}: {outcome}"


def forest_from_result(result: AnalysisResult, *, in_report: bool = False) -> ForestPlot:
    """The forest plot of an analysis: subgroups (if any), overall diamond with PI, tests.

    ``in_report``: the living report prints the title above the plot, the evidence version and
    the column and weight conventions once, so the figure leaves them out and is drawn compact
    (8 pt text, 7.2 pt small lines: a shorter, narrower figure, fewer pages)."""
    if not result.studies:
        raise PlateauError(f"analysis {result.spec.id}: no trial included, nothing to plot")
    spec = result.spec
    model = f"{spec.model.method}{', Hartung-Knapp' if spec.model.test != 'z' else ''}"
    by = spec.subgroup_by.value if spec.subgroup_by else None
    order = {s.contribution.trial_id: s for s in result.studies}
    if result.subgroups:
        groups = []
        for sub in result.subgroups:
            studies = [order[s.contribution.trial_id] for s in sub.studies]
            rows = [_row(s) for s in studies]
            diamond = (
                _diamond(f"Subtotal ({model})", sub.pooled, with_pi=False, studies=studies)
                if sub.pooled.k > 1
                else None
            )
            groups.append(ForestGroup(_level_label(by, sub.level), rows, diamond))
    else:
        groups = [ForestGroup(None, [_row(s) for s in result.studies])]
    overall = (
        _diamond(
            f"Overall ({model})",
            result.pooled,
            with_pi=result.pooled.pi_low is not None,
            studies=result.studies,
        )
        if result.pooled and result.pooled.k > 1
        else None
    )
    notes = []
    if any(s.contribution.earlier_report for s in result.studies):
        notes.append(
            "\u2020 approximate input (HR derived from medians or a p-value) or an earlier "
            "report used because the latest has no usable HR; open marker."
        )
    if any(s.contribution.source.kind != "primary" for s in result.studies):
        read = [
            (s.contribution.primary_label or s.contribution.label).split(" (")[0]
            for s in result.studies
            if s.contribution.source.kind != "primary"
        ]
        notes.append(
            "Studies are named after their own publication; the numbers of "
            + ", ".join(read)
            + " were read from a secondary source (see the table of included trials)."
        )
    # the report states the column and weight conventions once, before its first plot
    if not in_report:
        if any(s.contribution.display_events != (None, None) for s in result.studies):
            notes.append(
                "Events/N: events where the publication reports them (\u2013 where it does not) "
                "over patients randomised."
            )
        else:
            notes.append("N: patients randomised per arm (\u2013 where not reported).")
    version = "" if in_report else f"Evidence version {result.evidence_version[:12]}; "
    if spec.model.method in ("EE", "FE"):
        notes.append(f"{version}common-effect weights.")
    elif not in_report:
        notes.append(
            f"{version}weights from the random-effects model; squares proportional to weight."
        )
    measure = result.measure
    left, right = ("favours maintenance", "favours control")
    if arm_labels(result)[0] == "Experimental":
        left, right = ("favours experimental", "favours control")
    if spec.outcome == "adverse_event":
        left, right = ("fewer events with maintenance", "more events with maintenance")
    elif spec.outcome in ("CR", "VGPR_or_better", "MRD_negativity", "ORR"):
        left, right = ("favours control", "favours maintenance")
    return ForestPlot(
        title="" if in_report else plot_title(spec),
        groups=groups,
        overall=overall,
        measure_label=measure,
        favours_left=left,
        favours_right=right,
        subgroup_test=result.subgroup_test.text() if result.subgroup_test else "",
        footnotes=tuple(notes),
        level_percent=round(100 * spec.model.level),
        arm_labels=arm_labels(result),
        compact=in_report,
    )


def save_result_forest(result: AnalysisResult, path: str | Path) -> Path:
    return save_forest(forest_from_result(result), path)


def figure_svg(fig, *, title: str = "", description: str = "", tight: bool = True) -> str:
    """A matplotlib figure as an inline SVG string (text kept as text); closes the figure.

    With ``title``/``description`` the SVG carries ``<title>`` and ``<desc>`` (role="img",
    aria-labelledby) so that screen readers announce it.  ``tight=False`` keeps the figure's
    own size: a figure laid out in inches (``fig.dpi_scale_trans``, as the forest plot is) must
    not be cropped, since cropping moves the axes but not the texts placed in inches.
    """
    buffer = io.StringIO()
    try:
        with matplotlib.rc_context({"svg.fonttype": "none"}):
            fig.savefig(buffer, format="svg", bbox_inches="tight" if tight else None)
    finally:
        plt.close(fig)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    if title or description:
        svg = accessible_svg(svg, title, description)
    return svg


_SVG_IDS = itertools.count(1)


def accessible_svg(svg: str, title: str, description: str = "") -> str:
    """Insert ``<title>``/``<desc>`` as the first children of the root ``<svg>``."""
    n = next(_SVG_IDS)
    tid, did = f"svg-title-{n}", f"svg-desc-{n}"
    close = svg.index(">")
    labelled = f' role="img" aria-labelledby="{tid}{" " + did if description else ""}"'
    head = svg[:close] + labelled + svg[close]
    inner = f'<title id="{tid}">{html.escape(title)}</title>'
    if description:
        inner += f'<desc id="{did}">{html.escape(description)}</desc>'
    return head + inner + svg[close + 1 :]


def forest_svg(result: AnalysisResult, *, in_report: bool = False) -> str:
    """The forest plot as an SVG string (for HTML pages and reports), with title and desc."""
    plot = forest_from_result(result, in_report=in_report)
    svg = figure_svg(
        draw_forest(plot),
        title=plot.title or f"Forest plot: {plot_title(result.spec)}",
        description=plot.description,
        tight=False,  # laid out in inches: cropping would shift the markers against the rows
    )
    if plot.compact:  # the report's screen style enlarges it (text >= 11 px on screen)
        svg = svg.replace("<svg ", '<svg class="compact" ', 1)
    return svg


def funnel_svg(result: AnalysisResult, egger: tuple[float, float] | None = None) -> str:
    """Funnel plot (log ratio against standard error, y inverted) with the pseudo 95% region.

    ``egger`` = (intercept, slope) of Egger's regression y_i = b0 + b1 se_i (metafor's
    ``regtest(model="lm", predictor="sei")`` parametrisation) draws the fitted line.
    """
    yi = np.array([s.contribution.yi for s in result.studies])
    se = np.array([s.contribution.sei for s in result.studies])
    centre = (
        result.pooled.log_estimate if result.pooled else float(np.average(yi, weights=1 / se**2))
    )
    # printed at its natural size in the report: text 7.5-8 pt
    fig, ax = plt.subplots(figsize=(1.55, 1.3), dpi=100)  # six to a printed row
    top = max(se.max() * 1.1, 0.05)
    grid = np.linspace(0, top, 50)
    ax.fill_betweenx(grid, centre - 1.96 * grid, centre + 1.96 * grid, color="#eef2f7", zorder=0)
    ax.plot(centre - 1.96 * grid, grid, color="#8c959f", lw=0.8, ls="--")
    ax.plot(centre + 1.96 * grid, grid, color="#8c959f", lw=0.8, ls="--")
    ax.axvline(centre, color="#c00000", lw=1)
    marker_face = ["white" if s.contribution.approximate else "#1f4e79" for s in result.studies]
    ax.scatter(yi, se, c=marker_face, edgecolors="#1f4e79", zorder=3, s=36)
    if egger is not None:
        b0, b1 = egger
        # brown: the report's funnel appendix names the line (a legend does not fit the plot)
        ax.plot(b0 + b1 * grid, grid, color="#8a5a00", lw=1.2, label="Egger regression line")
    ax.set_ylim(top, 0)
    ticks = [
        t
        for t in (0.1, 0.2, 0.25, 0.5, 1, 2, 4, 5, 10)
        if ax.get_xlim()[0] <= math.log(t) <= ax.get_xlim()[1]
    ]
    ax.set_xticks([math.log(t) for t in ticks])
    ax.set_xticklabels([f"{t:g}" for t in ticks])
    ax.tick_params(labelsize=7)
    ax.set_xlabel(f"{result.measure} (log scale)", fontsize=7)
    ax.set_ylabel("SE of log " + result.measure, fontsize=7)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return figure_svg(fig, title=f"Funnel plot: {result.spec.title}")
