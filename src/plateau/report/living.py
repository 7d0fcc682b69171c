"""The living evidence report: every built-in analysis on the current evidence, as HTML and PDF.

``write_report(base, out_dir)`` writes ``index.html`` (self-contained: styles and plots inline,
links only to the publications) and ``report.pdf`` (WeasyPrint renders the same HTML), and
``results.json`` with every analysis result, all stamped with the evidence version.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from plateau import __version__
from plateau.analysis import BUILTIN_GROUPS, AnalysisResult, builtin_specs, run_analysis
from plateau.analysis.selection import DERIVATION_LABELS
from plateau.evidence.base import EvidenceBase
from plateau.evidence.vocabulary import TEMPLATE_FILTERS
from plateau.report.plots import forest_svg, funnel_svg

TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class ReportItem:
    result: AnalysisResult
    forest_svg: str | None
    funnel_svg: str | None
    egger: str | None

    @property
    def forest_width_pt(self) -> float:
        """The forest plot's natural width in points (0 without a plot)."""
        if not self.forest_svg:
            return 0.0
        m = re.search(r'<svg[^>]*\swidth="([0-9.]+)pt"', self.forest_svg)
        return float(m.group(1)) if m else 0.0


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
    base: EvidenceBase,
    spec_ids: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[tuple[str, list[ReportItem]]]:
    """Run every built-in analysis (or ``spec_ids``) and draw its plots; ``progress`` is called
    with each analysis' title before it runs (the CLI's progress bar)."""
    specs = builtin_specs()
    sections = []
    for group, ids in BUILTIN_GROUPS.items():
        items = []
        for analysis_id in ids:
            if spec_ids is not None and analysis_id not in spec_ids:
                continue
            if progress is not None:
                progress(specs[analysis_id].title)
            result = run_analysis(specs[analysis_id], base)
            forest = forest_svg(result, in_report=True) if result.studies else None
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


def analysis_numbers(sections) -> dict[str, str]:
    """``A1``, ``A2`` ... in report order: short names for the appendix columns."""
    ids = [item.result.spec.id for _, items in sections for item in items]
    return {analysis_id: f"A{i}" for i, analysis_id in enumerate(ids, start=1)}


_FAMILIES = (
    # "comparison X tests thalidomide, not lenalidomide" (one per agent analysed)
    (
        re.compile(r"^(comparison \S+ tests .+?), not (.+)$"),
        "{head}, not the agent analysed ({{}})",
    ),
    # "comparison X: no neutropenia reported" (one per harm analysed)
    (re.compile(r"^(comparison \S+): no (.+) reported$"), "{head}: not reported: {{}}"),
)


def _ranges(numbers: list[str]) -> list[str]:
    """``A6, A7, A8, A10`` -> ``A6\u2013A8, A10``."""
    prefix = numbers[0][0] if numbers else "A"
    values = sorted({int(n[1:]) for n in numbers})
    out: list[str] = []
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        out.append(
            f"{prefix}{values[i]}" if i == j else f"{prefix}{values[i]}\u2013{prefix}{values[j]}"
        )
        i = j + 1
    return out


def _reason_family(reason: str) -> tuple[str, str | None]:
    """Reasons that differ only in the agent or harm analysed become one line listing them."""
    for pattern, template in _FAMILIES:
        m = pattern.match(reason)
        if m:
            return template.format(head=m.group(1).replace("{", "{{").replace("}", "}}")), m.group(
                2
            )
    return reason.replace("{", "{{").replace("}", "}}"), None


def excluded_appendix(base: EvidenceBase, sections) -> list[dict]:
    """One row per trial: for each reason it was left out, the analyses that left it out.

    Replaces a list of excluded trials under every analysis (the same 40-odd trials, twenty
    times) by one table; the reasons are the analyses' own words.
    """
    numbers = analysis_numbers(sections)
    rows = []
    for trial in base.trials:
        reasons: dict[str, tuple[list[str], list[str]]] = {}  # key -> (analyses, details)
        included = []
        for _, items in sections:
            for item in items:
                r = item.result
                number = numbers[r.spec.id]
                if any(s.contribution.trial_id == trial.id for s in r.studies):
                    included.append(number)
                for e in r.excluded:
                    if e.trial_id == trial.id:
                        key, detail = _reason_family(e.reason)
                        entry = reasons.setdefault(key, ([], []))
                        entry[0].append(number)
                        if detail and detail not in entry[1]:
                            entry[1].append(detail)
        if reasons:
            rows.append(
                {
                    "trial_id": trial.id,
                    "trial_name": trial.name,
                    "included": included,
                    "reasons": sorted(
                        (
                            (key.format(", ".join(details)) if details else key, _ranges(ids))
                            for key, (ids, details) in reasons.items()
                        ),
                        key=lambda kv: -len(kv[1]),
                    ),
                }
            )
    return rows


def published_appendix(sections) -> list[dict]:
    """Every published pooled estimate shown beside an analysis, once: its full description
    (``PublishedMatch.text()``), a number ``P1``, ``P2`` ... and the analyses it is shown with
    (the same estimates used to be printed in full under a dozen analyses)."""
    numbers = analysis_numbers(sections)
    rows: dict[str, dict] = {}
    for _, items in sections:
        for item in items:
            for m in item.result.published:
                row = rows.setdefault(
                    m.text(), {"text": m.text(), "match": m, "analyses": [], "number": ""}
                )
                row["analyses"].append(numbers[item.result.spec.id])
    for i, row in enumerate(rows.values(), start=1):
        row["number"] = f"P{i}"
    return list(rows.values())


def missing_appendix(sections) -> list[dict]:
    """Every missing trial (randomised the comparison, nothing usable for the outcome) once,
    numbered ``M1``, ``M2`` ..., with each thing it lacks and the analyses that miss it for
    that (the same trials and reasons used to be printed in full under every analysis of the
    agent). Reasons that differ only in the harm analysed are merged as in the exclusions."""
    numbers = analysis_numbers(sections)
    rows: dict[str, dict] = {}
    for _, items in sections:
        for item in items:
            for e in item.result.missing:
                size = f", {e.n_randomised} patients" if e.n_randomised else ""
                row = rows.setdefault(
                    e.trial_id,
                    {"trial_name": e.trial_name + size, "name": e.trial_name, "reasons": {}},
                )
                key, detail = _reason_family(e.reason)
                ids, details = row["reasons"].setdefault(key, ([], []))
                ids.append(numbers[item.result.spec.id])
                if detail and detail not in details:
                    details.append(detail)
    out = []
    for i, row in enumerate(rows.values(), start=1):
        out.append(
            {
                "number": f"M{i}",
                "trial_name": row["trial_name"],
                "name": row["name"],
                "reasons": [
                    (key.format(", ".join(details)) if details else key, _ranges(ids))
                    for key, (ids, details) in row["reasons"].items()
                ],
            }
        )
    return out


def sources_appendix(sections) -> list[dict]:
    """Every distinct trial result used by the analyses, once, with the analyses that use it."""
    numbers = analysis_numbers(sections)
    rows: dict[tuple, dict] = {}
    for _, items in sections:
        for item in items:
            for s in item.result.studies:
                c = s.contribution
                key = (
                    c.trial_id,
                    c.comparison_id,
                    c.outcome,
                    c.measure,
                    c.derivation,
                    c.source.citation,
                    c.source.location,
                    c.report,
                )
                row = rows.setdefault(key, {"contribution": c, "analyses": []})
                row["analyses"].append(numbers[item.result.spec.id])
    return sorted(rows.values(), key=lambda r: (r["contribution"].label, r["contribution"].outcome))


def render_html(
    base: EvidenceBase,
    sections,
    networks=None,
    published=None,
    *,
    app_nav: bool = False,
    pdf_href: str | None = None,
) -> str:
    """The report page.  ``app_nav`` adds the bar back into the web app (served at /report);
    ``pdf_href`` links the PDF of the same report (``report.pdf`` beside ``index.html``)."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"])
    )
    env.filters.update(TEMPLATE_FILTERS)
    env.filters["ranges"] = _ranges
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
        numbers=analysis_numbers(sections),
        appendix=excluded_appendix(base, sections),
        sources_appendix=sources_appendix(sections),
        published_appendix=(pa := published_appendix(sections)),
        published_numbers={row["text"]: row["number"] for row in pa},
        missing_appendix=(ma := missing_appendix(sections)),
        missing_numbers={row["name"]: row["number"] for row in ma},
        app_nav=app_nav,
        pdf_href=pdf_href,
    )


def write_report(
    base: EvidenceBase,
    out_dir: str | Path,
    *,
    pdf: bool = True,
    spec_ids: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Path]:
    """Write index.html, results.json and (with ``pdf``) report.pdf into ``out_dir``.

    ``progress`` is called with a short description before each step (analyses, networks,
    published checks, PDF)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    from plateau.report.networks import network_items

    def say(text: str) -> None:
        if progress is not None:
            progress(text)

    sections = build_items(base, spec_ids, progress=progress)
    say("network meta-analyses")
    networks = network_items(base, compact=True)
    say("published results")
    published = published_comparisons(base)
    html = render_html(base, sections, networks, published, pdf_href="report.pdf" if pdf else None)
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

        say("PDF (WeasyPrint)")
        paths["pdf"] = out / "report.pdf"
        HTML(string=html, base_url=str(out)).write_pdf(paths["pdf"])
    return paths
