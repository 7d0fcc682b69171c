"""The forest plot's marks sit on the rows of their labels in the SVG that pages and report embed.

The plot is laid out in inches (texts through ``fig.dpi_scale_trans``, marks in an axes placed
by figure fraction); cropping the saved SVG to a tight bounding box moved the axes but not the
texts, so squares, diamonds and prediction-interval lines could be drawn most of a row off the
labels they belong to.  The check reads the SVG geometry: the prediction-interval line (the only
mark drawn in #c00000 at 2.5 pt) must lie on the row of the text "Prediction interval", i.e.
within half a row of the text's vertical centre.
"""

from __future__ import annotations

import re

import pytest

from plateau.analysis import builtin_specs, run_analysis
from plateau.evidence import load_bundled
from plateau.report.forest import COMPACT, ROW
from plateau.report.plots import forest_svg

#: with a prediction interval: subgroups (where the shift showed) and a plain pooled analysis
SPECS = ("imwg2012-thalidomide-os", "lenalidomide-pfs-post-asct")


@pytest.fixture(scope="module")
def base():
    return load_bundled()


def _pi_offset(svg: str) -> float:
    """Vertical distance (pt) between the PI line and the centre of its label's text."""
    label = re.search(
        r'<text style="[^"]*font-size: ([\d.]+)px;[^"]*" x="[\d.]+" y="([\d.]+)"[^>]*>'
        r"Prediction interval<",
        svg,
    )
    assert label, "the PI row is labelled"
    size, baseline = float(label.group(1)), float(label.group(2))
    centre = baseline - 0.36 * size  # va="center": DejaVu Sans' mid-height above the baseline
    lines = re.findall(
        r'<path d="M [\d.]+ ([\d.]+) \s*L [\d.]+ ([\d.]+) \s*"[^>]*'
        r"stroke: #c00000; stroke-width: 2\.5",
        svg,
    )
    assert len(lines) == 1, "one prediction-interval line"
    y1, y2 = map(float, lines[0])
    assert y1 == y2
    return abs(y1 - centre)


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("in_report", [False, True], ids=["page", "printed report"])
def test_prediction_interval_line_is_on_its_row(base, spec, in_report):
    result = run_analysis(builtin_specs()[spec], base)
    assert result.pooled is not None and result.pooled.pi_low is not None
    svg = forest_svg(result, in_report=in_report)
    row_pt = 72 * (COMPACT[2] if in_report else ROW)
    assert _pi_offset(svg) < 0.5 * row_pt
