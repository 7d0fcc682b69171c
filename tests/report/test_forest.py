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
        "0.48 [0.36, 0.63]",
        "55.0%",
        "231/229",
        "Overall (REML)",
        "[0.25, 0.97]",
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
