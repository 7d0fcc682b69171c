"""Forest plots: every label, number and marker the reader relies on is in the drawing."""

from __future__ import annotations

import pytest

from plateau.errors import PlateauError
from plateau.report.forest import (
    DAGGER,
    ForestDiamond,
    ForestGroup,
    ForestPlot,
    ForestRow,
    _axis_limits,
    save_forest,
)


def _plot(**overrides):
    rows = [
        ForestRow("Alpha 2012", 0.48, 0.36, 0.63, 55.0, "231/229"),
        ForestRow("Beta 2014", 0.52, 0.30, 0.90, 45.0, "126/125", approximate=True),
    ]
    base = dict(
        title="Illustrative PFS",
        groups=[ForestGroup("Post-ASCT", rows, ForestDiamond("Subtotal", 0.49, 0.39, 0.62))],
        overall=ForestDiamond(
            "Overall (REML)", 0.49, 0.39, 0.62, 0.25, 0.97, "Heterogeneity: tau2 = 0.00, I2 = 0%"
        ),
        subgroup_test="Test for subgroup differences: not applicable",
    )
    base.update(overrides)
    return ForestPlot(**base)


def test_svg_contains_rows_numbers_weights_and_direction(tmp_path):
    svg = save_forest(_plot(), tmp_path / "f.svg").read_text()
    for text in [
        "Alpha 2012",
        "Beta 2014" + DAGGER,
        "0.48 (0.36\u20130.63)",
        "55.0%",
        "231/229",
        "Overall (REML)",
        "(0.25\u20130.97)",
        "favours maintenance",
        "favours control",
        "Heterogeneity",
        "approximate input",
    ]:
        assert text in svg, text


def test_png_and_pdf_are_written(tmp_path):
    png = save_forest(_plot(), tmp_path / "f.png")
    pdf = save_forest(_plot(), tmp_path / "f.pdf")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_unknown_format_is_a_clear_error(tmp_path):
    with pytest.raises(PlateauError, match=r"\.svg, \.png or \.pdf"):
        save_forest(_plot(), tmp_path / "f.gif")


def test_axis_covers_all_intervals_and_clips_extremes():
    lo, hi = _axis_limits(_plot())
    assert lo <= 0.25 and hi >= 1.0
    wide = _plot(
        groups=[ForestGroup(None, [ForestRow("Wide", 1.0, 0.001, 900.0, 100.0)])], overall=None
    )
    assert _axis_limits(wide) == (0.05, 20.0)


def _arm_plot(label="A trial with a long name that earlier versions cut off (Author 2020)"):
    rows = [
        ForestRow(
            label,
            0.61,
            0.46,
            0.80,
            60.0,
            events_experimental=80,
            n_experimental=231,
            events_control=120,
            n_control=229,
        ),
        ForestRow("Short (B 2019)", 0.77, 0.53, 1.13, 40.0, n_experimental=166, n_control=166),
    ]
    overall = ForestDiamond(
        "Overall (REML)",
        0.68,
        0.55,
        0.84,
        heterogeneity="Heterogeneity: I\u00b2 = 0%",
        effect_test="Test for overall effect: z = -3.54, p < 0.001",
        n_experimental=397,
        n_control=395,
    )
    return ForestPlot("Lenalidomide vs placebo: OS", [ForestGroup(None, rows)], overall)


def test_arm_headers_events_full_labels_and_overall_test(tmp_path):
    import re

    long = "A trial with a long name that earlier versions cut off (Author 2020)"
    svg = save_forest(_arm_plot(long), tmp_path / "f.svg").read_text()
    for text in [
        long,
        "Maintenance",
        "Control",
        "events/N",
        "80/231",
        "120/229",
        "\u2013/166",
        "Test for overall effect: z = -3.54",
        "397",
        "Heterogeneity",
    ]:
        assert text in svg, text
    assert "\u2026" not in svg  # nothing truncated
    sizes = [float(x) for x in re.findall(r"font-size: ([0-9.]+)px", svg)]
    assert sizes and min(sizes) >= 8.5  # >= 11.3 px at the SVG's natural size (1 pt = 4/3 px)


def test_inline_svg_has_title_and_description():
    from plateau.report.forest import draw_forest
    from plateau.report.plots import figure_svg

    plot = _arm_plot()
    svg = figure_svg(draw_forest(plot), title=plot.title, description=plot.description)
    head = svg[: svg.index(">") + 1]
    assert 'role="img"' in head and "aria-labelledby" in head
    assert "<title id=" in svg and "Lenalidomide vs placebo: OS</title>" in svg
    assert "<desc id=" in svg and "Short (B 2019): HR 0.77 (0.53\u20131.13)" in svg
