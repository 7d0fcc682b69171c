"""One vocabulary: codes read back from what people type, words for every code, one format."""

from __future__ import annotations

import pytest

from plateau.errors import PlateauError
from plateau.evidence import vocabulary as v
from plateau.evidence.schema import (
    AdverseEventTerm,
    Agent,
    ComparisonKind,
    EstimateStatus,
    Outcome,
    Setting,
    Treatment,
)


@pytest.mark.parametrize(
    "enum,kind",
    [
        (Setting, "setting"),
        (Agent, "agent"),
        (Treatment, "treatment"),
        (ComparisonKind, "comparison_kind"),
        (EstimateStatus, "status"),
        (Outcome, "outcome"),
        (AdverseEventTerm, "adverse_event"),
    ],
)
def test_every_code_has_words_without_underscores(enum, kind):
    for member in enum:
        text = v.label(kind, member)
        assert text and "_" not in text, (kind, member, text)
        assert v.parse(kind, text) == member.value  # the label reads back as the code
        assert v.parse(kind, member.value) == member.value


def test_the_raw_codes_named_in_the_complaints_read_as_words():
    assert v.label("setting", "post_asct") == "after ASCT"
    assert v.label("agent", "interferon_alpha") == "interferon alfa"
    assert v.label("status", "latest_available") == "latest available report"
    assert v.label("treatment", "carfilzomib_lenalidomide") == "carfilzomib + lenalidomide"
    assert v.label("setting", "non_transplant", capital=True) == "Without transplant"


@pytest.mark.parametrize(
    "text,code",
    [
        ("post-ASCT", "post_asct"),
        ("POST_ASCT", "post_asct"),
        ("non-transplant", "non_transplant"),
        ("transplant-ineligible", "non_transplant"),
        ("mixed", "mixed"),
    ],
)
def test_settings_as_people_write_them(text, code):
    assert v.parse("setting", text) == code


def test_typos_name_the_field_and_suggest():
    with pytest.raises(
        PlateauError, match=r"--agent: unknown value 'lenalidomde'; did you mean 'lenalidomide'\?"
    ):
        v.parse("agent", "lenalidomde", field="--agent")
    with pytest.raises(PlateauError, match="choose from"):
        v.parse("setting", "zzz")


def test_one_format_for_ratios_intervals_and_p_values():
    assert v.format_ratio_ci(0.5312, 0.4701, 0.6149) == "0.53 (0.47\u20130.61)"
    assert v.format_ratio_ci(0.53, 0.47, 0.61, measure="HR") == "HR 0.53 (0.47\u20130.61)"
    assert v.format_ratio_ci(0.56) == "0.56 (no CI)"
    assert v.format_ratio_ci(None) == ""
    assert v.format_interval(0.45, 1.37) == "0.45\u20131.37"
    assert (
        v.format_p(0.0004) == "<0.001"
        and v.format_p(0.053) == "0.053"
        and v.format_p(0.22) == "0.22"
    )


def test_web_report_and_cli_print_the_same_interval():
    """The same pooled HR reads the same in the analysis summary (CLI/API) and the templates."""
    from plateau.analysis import builtin_spec, run_analysis
    from plateau.evidence import load_bundled

    result = run_analysis(builtin_spec("imwg2012-thalidomide-pfs"), load_bundled())
    p = result.pooled
    text = v.format_ratio_ci(p.estimate, p.ci_low, p.ci_high)
    assert text in result.summary()
    assert v.TEMPLATE_FILTERS["ratio_ci"](p.estimate, p.ci_low, p.ci_high) == text
