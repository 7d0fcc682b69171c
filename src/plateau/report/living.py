"""The living evidence report: every built-in analysis on the current evidence, as HTML and PDF.

``write_report(base, out_dir)`` writes ``index.html`` (self-contained: styles and plots inline,
links only to the publications) and ``report.pdf`` (WeasyPrint renders the same HTML), and
``results.json`` with every analysis result, all stamped with the evidence version.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from plateau import __version__
from plateau.analysis import BUILTIN_GROUPS, AnalysisResult, builtin_specs, run_analysis
from plateau.analysis.selection import DERIVATION_LABELS
from plateau.evidence.vocabulary import TEMPLATE_FILTERS
from plateau.evidence.base import EvidenceBase
from plateau.report.plots import forest_svg, funnel_svg

TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class ReportItem:
    result: AnalysisResult
    forest_svg: str | None
    funnel_svg: str | None
    egger: str | None


def small_study_text(result: AnalysisResult) -> tuple[str | None, tuple[float, float] | None]:
    """Egger's regression test (metafor ``regtest(model="lm")``) where k >= 3, as text and line.

    The line is y = b0 + b1 * se with b0 the limit estimate (se -> 0) and b1 the slope, in the
    coordinates of the funnel plot (log ratio against standard error).
    """
    k = len(result.studies)
    if k < 3:
        return None, None
    import numpy as np

    from plateau.meta.bias import egger_test

    yi = np.array([s.contribution.yi for s in result.studies])
    vi = np.array([s.contribution.sei for s in result.studies]) ** 2
    test = egger_test(yi, vi, model="lm", predictor="sei")
    caveat = " With fewer than 10 trials the test has little power." if k < 10 else ""
    text = (
        f"Egger's regression test (weighted regression on the standard error, metafor regtest "
        f'model="lm"): t({test.df:g}) = {test.zval:.2f}, p = {test.pval:.3f}.{caveat}'
    )
    return text, (float(test.limit_estimate), float(test.slope))


def build_items(
    base: EvidenceBase, spec_ids: list[str] | None = None
) -> list[tuple[str, list[ReportItem]]]:
    specs = builtin_specs()
    sections = []
    for group, ids in BUILTIN_GROUPS.items():
        items = []
        for analysis_id in ids:
            if spec_ids is not None and analysis_id not in spec_ids:
                continue
            result = run_analysis(specs[analysis_id], base)
            forest = forest_svg(result) if result.studies else None
            egger, line = small_study_text(result) if result.studies else (None, None)
            funnel = funnel_svg(result, line) if len(result.studies) >= 3 else None
            items.append(ReportItem(result, forest, funnel, egger))
        if items:
            sections.append((group, items))
    return sections


def published_comparisons(base: EvidenceBase):
    from plateau.analysis.published import PUBLISHED, compare_with_published
    from plateau.errors import PlateauError

    out = []
    for published_id in PUBLISHED:
        try:
            out.append(compare_with_published(published_id, base))
        except PlateauError:
            continue  # none of its trials has a usable estimate in this evidence base
    return out


def render_html(base: EvidenceBase, sections, networks=None, published=None) -> str:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"])
    )
    env.filters.update(TEMPLATE_FILTERS)
    template = env.get_template("report.html")
    return template.render(
        sections=sections,
        version=__version__,
        evidence_version=base.version,
        n_trials=len(base.trials),
        n_estimates=sum(len(t.estimates) for t in base.trials),
        generated=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        derivations=DERIVATION_LABELS,
        networks=networks or [],
        published=published if published is not None else published_comparisons(base),
    )


def write_report(
    base: EvidenceBase, out_dir: str | Path, *, pdf: bool = True, spec_ids: list[str] | None = None
) -> dict[str, Path]:
    """Write index.html, results.json and (with ``pdf``) report.pdf into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    from plateau.report.networks import network_items

    sections = build_items(base, spec_ids)
    networks = network_items(base)
    published = published_comparisons(base)
    html = render_html(base, sections, networks, published)
    paths = {"html": out / "index.html", "json": out / "results.json"}
    paths["html"].write_text(html, encoding="utf-8")
    payload = {
        "evidence_version": base.version,
        "plateau_version": __version__,
        "analyses": [item.result.to_dict() for _, items in sections for item in items],
        "networks": [n.network.to_dict() for n in networks],
        "published_comparisons": [c.to_dict() for c in published],
    }
    paths["json"].write_text(json.dumps(payload, indent=1), encoding="utf-8")
    if pdf:
        from weasyprint import HTML

        paths["pdf"] = out / "report.pdf"
        HTML(string=html, base_url=str(out)).write_pdf(paths["pdf"])
    return paths
