"""Events on hazard-ratio forest plots are display-only.

A source that reports events beside a hazard ratio (IFM 2005-02's PFS in the US label's updated
analysis, cut-off March 2015: HR 0.53 with 191/307 vs 248/307 progressions or deaths, as the
bundled evidence records it from its cited secondary source) gets its events in the forest plot's
events/N columns (web SVG, report, CLI PNG, CLI table).  The events enter
no computation: every pooled number and every decision-aid number is identical with and without
them, which is what the second test proves by removing them from the selection's output.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from plateau.analysis import builtin_specs, run_analysis
from plateau.analysis import selection as selection_module
from plateau.decide import decide
from plateau.evidence import load_bundled
from plateau.report.plots import forest_from_result, forest_svg

SPEC = "lenalidomide-pfs-post-asct"
PROFILES = (
    {"age": 60, "sex": "female", "transplant_status": "post_asct", "response": "VGPR"},
    {"age": 70, "sex": "male", "transplant_status": "not_eligible", "response": "VGPR"},
)


@pytest.fixture(scope="module")
def base():
    return load_bundled()


def _without_display_events(monkeypatch):
    """The selection as it was before the display change: no reported events carried."""
    original = selection_module._normalise_direction

    def stripped(c, contribution):
        return dataclasses.replace(
            original(c, contribution),
            reported_events_experimental=None,
            reported_events_control=None,
        )

    monkeypatch.setattr(selection_module, "_normalise_direction", stripped)


def _numbers(base) -> dict:
    out = {}
    for analysis_id, spec in builtin_specs().items():
        d = run_analysis(spec, base).to_dict()
        out[analysis_id] = {
            key: d[key]
            for key in (
                "pooled",
                "subgroups",
                "subgroup_test",
                "absolute_effect",
                "certainty_signals",
            )
        }
        out[analysis_id]["studies"] = [
            {k: s[k] for k in ("estimate", "ci_low", "ci_high", "log_estimate", "se", "weight")}
            for s in d["studies"]
        ]
    return out


def _decisions(base) -> list[str]:
    return [
        json.dumps(
            decide(p, base, n_sims=300, seed=3, created_at="2026-01-01T00:00:00Z").to_dict(),
            sort_keys=True,
            default=str,
        )
        for p in PROFILES
    ]


def test_reported_events_are_shown_in_the_forest_plot(base):
    result = run_analysis(builtin_specs()[SPEC], base)
    ifm = [s for s in result.studies if s.contribution.trial_id == "IFM2005-02"]
    assert ifm, "IFM 2005-02 is in the lenalidomide post-ASCT PFS analysis"
    c = ifm[0].contribution
    assert c.events_experimental is None and c.events_control is None  # not used to compute
    assert c.display_events == (191, 248)
    plot = forest_from_result(result)
    row = next(r for g in plot.groups for r in g.rows if r.label.startswith("IFM 2005-02"))
    assert (row.events_experimental, row.n_experimental) == (191, 307)
    assert (row.events_control, row.n_control) == (248, 307)
    svg = forest_svg(result)
    assert "191/307" in svg and "248/307" in svg and "events/N" in svg


def test_pooled_and_decision_numbers_are_identical_without_the_display_events(base, monkeypatch):
    with_events = _numbers(base)
    decisions_with = _decisions(base)
    svg_with = forest_svg(run_analysis(builtin_specs()[SPEC], base))
    _without_display_events(monkeypatch)
    without = _numbers(base)
    svg_without = forest_svg(run_analysis(builtin_specs()[SPEC], base))
    assert "191/307" in svg_with and "191/307" not in svg_without  # the change is real
    assert any(v["pooled"] for v in without.values())  # numbers were compared, not Nones
    assert with_events == without
    assert decisions_with == _decisions(base)
