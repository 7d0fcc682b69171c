"""One vocabulary for what plateau shows people: labels of the evidence codes and one number format.

Every entry point (web pages, CLI tables, the living report, the decision handout, plots) turns
the schema's codes (``post_asct``, ``interferon_alpha``, ``latest_available`` ...) into words with
:func:`label`, reads what a person typed back into a code with :func:`parse` (``post-ASCT``,
``after ASCT``, ``Post_ASCT`` all mean ``post_asct``; a typo gets "did you mean"), and prints a
ratio with its interval with :func:`format_ratio_ci` so that the same number looks the same
everywhere: ``0.53 (0.47–0.61)``.

The codes themselves stay the stable interface (files, JSON, URLs); only what a reader sees
changes.  Labels are lower case so they read inside a sentence; :func:`label` with
``capital=True`` gives the form for the start of a line or a table cell heading.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from plateau.errors import PlateauError
from plateau.evidence.schema import (
    AdverseEventTerm,
    AgeGroup,
    Agent,
    ComparisonKind,
    ControlType,
    EstimateStatus,
    MeasuredFrom,
    Outcome,
    RandomisationPoint,
    Setting,
    SourceKind,
    Treatment,
)

__all__ = [
    "KINDS",
    "OUTCOME_NAMES",
    "did_you_mean",
    "format_interval",
    "format_p",
    "format_ratio",
    "format_ratio_ci",
    "label",
    "labels",
    "parse",
    "parse_many",
    "treatment_label",
]

SETTING: dict[str, str] = {
    Setting.post_asct.value: "after ASCT",
    Setting.non_transplant.value: "without transplant",
    Setting.mixed.value: "mixed (with and without ASCT)",
}
AGE_GROUP: dict[str, str] = {
    AgeGroup.younger.value: "younger",
    AgeGroup.older.value: "older",
    AgeGroup.all.value: "all ages",
}
RANDOMISATION: dict[str, str] = {
    RandomisationPoint.at_maintenance.value: "at maintenance",
    RandomisationPoint.at_diagnosis.value: "at diagnosis (induction and maintenance)",
}
_AGENT_SPECIAL = {
    Agent.interferon_alpha.value: "interferon alfa",
    Agent.high_dose_melphalan.value: "high-dose melphalan",
}
AGENT: dict[str, str] = {a.value: _AGENT_SPECIAL.get(a.value, a.value) for a in Agent}
_TREATMENT_SPECIAL = {
    Treatment.second_transplant.value: "second ASCT",
    Treatment.interferon.value: "interferon alfa",
    Treatment.thalidomide_interferon.value: "thalidomide + interferon alfa",
    Treatment.melphalan_prednisone.value: "melphalan + prednisone",
}
TREATMENT: dict[str, str] = {
    t.value: _TREATMENT_SPECIAL.get(t.value, t.value.replace("_", " + ")) for t in Treatment
}
_COMPARISON_KIND_WORDS: dict[str, str] = {
    ComparisonKind.maintenance_vs_control.value: "maintenance vs observation or placebo",
    ComparisonKind.maintenance_vs_active.value: "maintenance vs an older active maintenance",
    ComparisonKind.head_to_head.value: "head-to-head",
    ComparisonKind.add_on.value: "add-on to a maintenance backbone",
    ComparisonKind.induction_maintenance_package.value: "induction + maintenance package",
    ComparisonKind.duration_strategy.value: "duration strategy",
    ComparisonKind.other.value: "other design",
}
#: every kind of the schema has words (new kinds read as their code with spaces until named here)
COMPARISON_KIND: dict[str, str] = {
    k.value: _COMPARISON_KIND_WORDS.get(k.value, k.value.replace("_", " ")) for k in ComparisonKind
}
CONTROL_TYPE: dict[str, str] = {
    ControlType.observation.value: "observation",
    ControlType.placebo.value: "placebo",
    ControlType.active.value: "active control",
}
#: short names (tables, plot columns); OUTCOME_NAMES has the words written out
OUTCOME: dict[str, str] = {
    Outcome.PFS.value: "PFS",
    Outcome.EFS.value: "EFS",
    Outcome.TTP.value: "TTP",
    Outcome.OS.value: "OS",
    Outcome.PFS2.value: "PFS2",
    Outcome.DFS.value: "DFS",
    Outcome.response_duration.value: "duration of response",
    Outcome.OS_after_progression.value: "OS after progression",
    Outcome.CR.value: "CR or better",
    Outcome.VGPR_or_better.value: "VGPR or better",
    Outcome.ORR.value: "overall response",
    Outcome.MRD_negativity.value: "MRD negativity",
    Outcome.response_upgrade.value: "response upgrade",
    "disease_control": "PFS, else EFS, else TTP",
    "adverse_event": "adverse event",
}
OUTCOME_NAMES: dict[str, str] = {
    "PFS": "progression-free survival",
    "EFS": "event-free survival",
    "TTP": "time to progression",
    "OS": "overall survival",
    "PFS2": "progression-free survival on next-line therapy",
    "DFS": "disease-free survival",
    "disease_control": "disease control (PFS, else EFS, else TTP)",
}
STATUS: dict[str, str] = {
    EstimateStatus.latest.value: "latest report",
    EstimateStatus.superseded.value: "earlier report",
    EstimateStatus.latest_available.value: "latest available report",
}
MEASURED_FROM: dict[str, str] = {
    m.value: m.value.replace("_", " ").replace("asct", "ASCT") for m in MeasuredFrom
} | {MeasuredFrom.not_stated.value: "not stated"}
SOURCE_KIND: dict[str, str] = {
    SourceKind.primary.value: "primary source",
    SourceKind.secondary.value: "secondary source",
}
_AE_SPECIAL = {
    AdverseEventTerm.any_non_haematologic.value: "any non-haematological adverse event",
    AdverseEventTerm.any_haematologic.value: "any haematological adverse event",
    AdverseEventTerm.discontinuation_due_to_ae.value: "discontinuation due to adverse events",
    AdverseEventTerm.second_primary_malignancy.value: "second primary malignancy",
    AdverseEventTerm.gastrointestinal.value: "gastrointestinal adverse events",
}
ADVERSE_EVENT: dict[str, str] = {
    t.value: _AE_SPECIAL.get(t.value, t.value.replace("_", " ")) for t in AdverseEventTerm
}

KINDS: Mapping[str, Mapping[str, str]] = {
    "setting": SETTING,
    "age_group": AGE_GROUP,
    "randomisation_point": RANDOMISATION,
    "agent": AGENT,
    "treatment": TREATMENT,
    "comparison_kind": COMPARISON_KIND,
    "control_type": CONTROL_TYPE,
    "outcome": OUTCOME,
    "status": STATUS,
    "measured_from": MEASURED_FROM,
    "source_kind": SOURCE_KIND,
    "adverse_event": ADVERSE_EVENT,
}

#: other ways people write a code (compared after :func:`_key` normalisation)
ALIASES: dict[str, dict[str, str]] = {
    "setting": {
        "postasct": "post_asct",
        "asct": "post_asct",
        "transplant": "post_asct",
        "aftertransplant": "post_asct",
        "nonasct": "non_transplant",
        "notransplant": "non_transplant",
        "transplantineligible": "non_transplant",
        "noneligible": "non_transplant",
        "notransplanteligible": "non_transplant",
        "ineligible": "non_transplant",
        "both": "mixed",
    },
    "agent": {
        "interferon": "interferon_alpha",
        "ifn": "interferon_alpha",
        "interferonalfa": "interferon_alpha",
        "len": "lenalidomide",
        "thal": "thalidomide",
        "bort": "bortezomib",
        "dara": "daratumumab",
        "hdm": "high_dose_melphalan",
    },
    "comparison_kind": {
        "control": "maintenance_vs_control",
        "vscontrol": "maintenance_vs_control",
        "active": "maintenance_vs_active",
        "h2h": "head_to_head",
        "headtohead": "head_to_head",
        "addon": "add_on",
        "package": "induction_maintenance_package",
        "duration": "duration_strategy",
    },
    "outcome": {
        "cr": "CR",
        "vgpr": "VGPR_or_better",
        "mrd": "MRD_negativity",
        "diseasecontrol": "disease_control",
    },
    "age_group": {"young": "younger", "old": "older", "elderly": "older", "any": "all"},
}


def _key(text: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


def _code(value: object) -> str:
    return str(getattr(value, "value", value))


def label(kind: str, value: object, *, capital: bool = False) -> str:
    """The words for ``value`` (a code or enum member) of ``kind`` (a key of :data:`KINDS`).

    Unknown codes come back with underscores turned into spaces, never as an error: a label is
    for reading, and a new code must not break a page.
    """
    if value is None or value == "":
        return ""
    code = _code(value)
    table = KINDS.get(kind)
    if table is None:
        raise KeyError(f"unknown vocabulary {kind!r}; one of {', '.join(KINDS)}")
    text = table.get(code) or code.replace("_", " ")
    return text[:1].upper() + text[1:] if capital else text


def labels(kind: str, values: Iterable[object], *, sep: str = ", ") -> str:
    """Several labels joined (``lenalidomide, interferon alfa``)."""
    return sep.join(label(kind, v) for v in values)


def treatment_label(value: object, *, capital: bool = False) -> str:
    return label("treatment", value, capital=capital)


def did_you_mean(text: str, choices: Iterable[str]) -> str | None:
    """The closest of ``choices`` to ``text`` (case and punctuation ignored), or None."""
    options = {_key(c): c for c in choices}
    match = difflib.get_close_matches(_key(text), list(options), n=1, cutoff=0.6)
    return options[match[0]] if match else None


def parse(kind: str, text: str, *, extra: Iterable[str] = (), field: str | None = None) -> str:
    """The code of ``kind`` that ``text`` names: a code, its label or an alias, in any case,
    with hyphens, spaces or underscores (``post-ASCT`` -> ``post_asct``).  ``extra`` codes are
    accepted as well (``disease_control``).  Anything else raises a :class:`PlateauError` that
    names ``field``, lists the choices and suggests the closest one.
    """
    table = KINDS[kind]
    codes = [c for c in table if c not in ("disease_control", "adverse_event")] + list(extra)
    wanted = _key(text)
    for code in codes:
        if wanted in (_key(code), _key(table.get(code, code))):
            return code
    alias = ALIASES.get(kind, {}).get(wanted)
    if alias is not None and alias in codes:
        return alias
    name = field or kind.replace("_", " ")
    hint = did_you_mean(text, codes + [table.get(c, c) for c in codes])
    suggestion = ""
    if hint is not None:
        hint_code = next((c for c in codes if hint in (c, table.get(c))), hint)
        suggestion = f"; did you mean {hint_code!r}?"
    raise PlateauError(
        f"{name}: unknown value {text!r}{suggestion} (choose from: {', '.join(codes)})"
    )


def parse_many(kind: str, texts: Iterable[str] | None, **kwargs: Any) -> list[str]:
    """:func:`parse` for each item; comma-separated items are split (``PFS,OS``)."""
    out: list[str] = []
    for text in texts or ():
        for part in str(text).split(","):
            if part.strip():
                out.append(parse(kind, part.strip(), **kwargs))
    return out


# --- numbers --------------------------------------------------------------------------------

EN_DASH = "\u2013"


def format_ratio(value: float | None, digits: int = 2) -> str:
    """A hazard or risk ratio: two decimals (``0.53``); large values without decimals."""
    if value is None or not math.isfinite(value):
        return "NA"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}f}"


def format_interval(low: float | None, high: float | None, digits: int = 2) -> str:
    """An interval: ``0.47–0.61`` (en dash; the same in every medium)."""
    return f"{format_ratio(low, digits)}{EN_DASH}{format_ratio(high, digits)}"


def format_ratio_ci(
    estimate: float | None,
    low: float | None = None,
    high: float | None = None,
    *,
    measure: str | None = None,
    digits: int = 2,
    no_ci: str = "no CI",
) -> str:
    """A ratio with its interval, the one format plateau prints: ``0.53 (0.47–0.61)``;
    with ``measure``: ``HR 0.53 (0.47–0.61)``.  Without an interval: ``0.56 (no CI)``;
    without an estimate: ``""``.
    """
    if estimate is None:
        return ""
    head = f"{measure} " if measure else ""
    if low is None or high is None:
        return f"{head}{format_ratio(estimate, digits)}" + (f" ({no_ci})" if no_ci else "")
    return f"{head}{format_ratio(estimate, digits)} ({format_interval(low, high, digits)})"


def format_p(value: float | None) -> str:
    """A p-value: ``<0.001``, three decimals below 0.1, else two."""
    if value is None or not math.isfinite(value):
        return "NA"
    if value < 0.001:
        return "<0.001"
    return f"{value:.3f}" if value < 0.1 else f"{value:.2f}"


def _label_filter(value: object, kind: str, capital: bool = False) -> str:
    return label(kind, value, capital=capital)


def _labels_filter(values: Iterable[object], kind: str, sep: str = ", ") -> str:
    return labels(kind, values, sep=sep)


#: template filters (web pages, the living report, the handout): ``{{ s | label("setting") }}``,
#: ``{{ e.hr | ratio_ci(e.ci_low, e.ci_high) }}``, ``{{ p | pvalue }}``
TEMPLATE_FILTERS = {
    "label": _label_filter,
    "labels": _labels_filter,
    "ratio_ci": format_ratio_ci,
    "ratio": format_ratio,
    "interval": format_interval,
    "pvalue": format_p,
}
