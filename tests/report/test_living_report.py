"""The living report people read: navigable, one appendix of exclusions, sources once, numbered."""

from __future__ import annotations

import re

import pytest

from plateau.evidence import load_bundled
from plateau.report.living import (
    _ranges,
    analysis_numbers,
    build_items,
    excluded_appendix,
    render_html,
    sources_appendix,
)


@pytest.fixture(scope="module")
def built():
    base = load_bundled()
    return base, build_items(base)


def test_every_exclusion_is_in_the_one_appendix(built):
    """Each (trial, analysis) exclusion appears under its trial, with the analysis number."""
    base, sections = built
    numbers = analysis_numbers(sections)
    rows = {r["trial_id"]: r for r in excluded_appendix(base, sections)}
    for _, items in sections:
        for item in items:
            number = int(numbers[item.result.spec.id][1:])
            for e in item.result.excluded:
                cells = [ids for _, ids in rows[e.trial_id]["reasons"]]
                covered = set()
                for ids in cells:
                    for part in ids:
                        lo, _, hi = part.partition("\u2013")
                        covered |= set(range(int(lo[1:]), int((hi or lo)[1:]) + 1))
                assert number in covered, (e.trial_id, item.result.spec.id)


def test_the_appendix_merges_reasons_that_differ_only_in_the_agent(built):
    base, sections = built
    rows = {r["trial_id"]: r for r in excluded_appendix(base, sections)}
    reasons = [reason for reason, _ in rows["ALLG_MM6"]["reasons"]]
    merged = [r for r in reasons if "not the agent analysed" in r]
    assert len(merged) == 1 and "lenalidomide" in merged[0] and "bortezomib" in merged[0]
    total = sum(len(r["reasons"]) for r in rows.values())
    raw = sum(len(item.result.excluded) for _, items in sections for item in items)
    assert total < raw / 3  # the old per-analysis lists repeated each trial ~20 times


def test_ranges_compress_consecutive_numbers():
    assert _ranges(["A6", "A7", "A8", "A10", "A1"]) == ["A1", "A6\u2013A8", "A10"]


def test_sources_appendix_lists_each_result_once(built):
    _, sections = built
    rows = sources_appendix(sections)
    keys = [
        (
            r["contribution"].trial_id,
            r["contribution"].outcome,
            r["contribution"].source.citation,
            r["contribution"].comparison_id,
            r["contribution"].derivation,
        )
        for r in rows
    ]
    assert len(keys) == len(set(keys))
    used = sum(len(item.result.studies) for _, items in sections for item in items)
    assert sum(len(r["analyses"]) for r in rows) == used


def test_web_report_links_back_into_the_app_and_to_its_pdf(built):
    base, sections = built
    html = render_html(base, sections, app_nav=True, pdf_href="/report.pdf")
    assert 'class="app-nav"' in html and 'href="/analyses"' in html and 'href="/report.pdf"' in html
    assert 'id="appendix-excluded"' in html and 'id="appendix-sources"' in html
    # no per-analysis "Excluded trials" lists any more: one appendix
    assert html.count("Excluded trials (") == 0
    file_html = render_html(base, sections, pdf_href="report.pdf")
    assert 'class="app-nav"' not in file_html and 'href="report.pdf"' in file_html


def test_pdf_is_landscape_and_forest_text_is_not_tiny(built):
    base, sections = built
    html = render_html(base, sections)
    assert "size: A4 landscape" in html
    sizes = [float(x) for x in re.findall(r"font-size: ([0-9.]+)px", html)]
    # forest, funnel and network text in the SVGs: printed at natural size, so >= 7 pt on paper
    # (test_report_pdf.py checks every glyph of the PDF itself)
    assert min(sizes) >= 7.0
