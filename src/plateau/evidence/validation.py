"""Validation of trials: schema errors and the cross-field rules a schema cannot express.

Every :class:`Issue` names the file, the trial and the field, e.g.
``IFM2005-02.yaml: trial IFM2005-02: estimates[3].ci_high: HR 0.48 lies outside its CI [0.5, 0.7]``.

Rules (errors unless marked *warning*):

* schema: required fields, closed vocabularies (agent, treatment, outcome, setting, ...),
  unknown fields, value ranges;
* references: every arm, comparison and source referenced exists; ids are unique; every
  number has a source (estimates and adverse events name one; ``n_randomised`` needs
  ``n_source``);
* rates: x-year rates without ``rate_timepoint_months`` (*warning*);
* hazard ratios: CI limits come together and bracket the HR; the CI is symmetric around the HR
  on the log scale within the rounding of the printed digits (*warning*: asymmetry usually
  betrays a typo); binary outcomes carry no HR; ``log_hr``/``se_log_hr`` and
  ``o_minus_e``/``variance`` come in pairs;
* arm sizes: positive; their sum does not exceed ``n_randomised_total`` (*warning* when it is
  smaller); events never exceed the patients they are counted in;
* reports: exactly one ``latest`` or ``latest_available`` estimate per trial x comparison x
  outcome x subgroup x outcome_detail;
* consistency: ``maintenance_vs_control`` comparisons have an observation/placebo control whose
  arm treatment matches ``control_type``; derived values say what was printed (``direction``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from plateau.evidence.schema import (
    BINARY_OUTCOMES,
    ComparisonKind,
    ControlType,
    EstimateStatus,
    Treatment,
    Trial,
)

__all__ = ["Issue", "ValidationReport", "parse_trial", "check_trial", "format_location"]


@dataclass(frozen=True)
class Issue:
    """One validation finding."""

    severity: str  # "error" | "warning"
    file: str
    trial: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: trial {self.trial}"
        if self.field:
            where += f": {self.field}"
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        return {
            "severity": self.severity,
            "file": self.file,
            "trial": self.trial,
            "field": self.field,
            "message": self.message,
        }


@dataclass(frozen=True)
class ValidationReport:
    """All findings of one validation run."""

    issues: tuple[Issue, ...]
    n_files: int
    n_trials: int
    path: str = ""

    @property
    def errors(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity == "error")

    @property
    def warnings(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity == "warning")

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        return (
            f"{self.n_trials} trials in {self.n_files} files: "
            f"{len(self.errors)} errors, {len(self.warnings)} warnings"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "n_files": self.n_files,
            "n_trials": self.n_trials,
            "errors": [i.to_dict() for i in self.errors],
            "warnings": [i.to_dict() for i in self.warnings],
        }


def format_location(loc: tuple[Any, ...], row_of: dict[tuple[str, int], int] | None = None) -> str:
    """``('estimates', 3, 'ci_high')`` -> ``estimates[3].ci_high`` (with ``(row N)`` for CSV)."""
    text = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            text += f"[{part}]"
            if row_of and i > 0 and (str(loc[i - 1]), part) in row_of:
                text += f" (row {row_of[(str(loc[i - 1]), part)]})"
        else:
            text += ("." if text else "") + str(part)
    return text


def _pydantic_message(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    value = error.get("input")
    if kind == "enum":
        expected = error.get("ctx", {}).get("expected", "")
        name = (
            str(error["loc"][-1])
            if not isinstance(error["loc"][-1], int)
            else str(error["loc"][-2])
        )
        return (
            f"unknown {name.rstrip('s') if name.endswith('agents') else name} {value!r}; "
            f"allowed: {expected}"
        )
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return f"unknown field (value {value!r})"
    message = str(error.get("msg", "invalid value"))
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if kind not in ("model_type",) and value is not None and not isinstance(value, (dict, list)):
        message += f" (got {value!r})"
    return message


def parse_trial(
    raw: Any, file: str, row_of: dict[tuple[str, int], int] | None = None
) -> tuple[Trial | None, list[Issue]]:
    """Validate one raw mapping against :class:`Trial`; schema errors become issues."""
    trial_id = str(raw.get("id", "?")) if isinstance(raw, dict) else "?"
    if not isinstance(raw, dict):
        return None, [Issue("error", file, trial_id, "", "a trial must be a mapping of fields")]
    try:
        return Trial.model_validate(raw), []
    except ValidationError as exc:
        issues = [
            Issue(
                "error",
                file,
                trial_id,
                format_location(tuple(e["loc"]), row_of),
                _pydantic_message(dict(e)),
            )
            for e in exc.errors()
        ]
        return None, issues


def _decimals(value: float) -> int:
    exponent = Decimal(repr(float(value))).normalize().as_tuple().exponent
    return max(0, -int(exponent))


def _rounding_tolerance(value: float) -> float:
    """Half a unit in the last printed digit, on the log scale (d ln x = dx / x).

    A stored float loses trailing zeros (0.60 is stored as 0.6), and ratios are printed with
    two decimals or more, so at least two decimals are assumed.
    """
    return float(0.5 * 10 ** (-max(2, _decimals(value))) / value)


def ci_asymmetry(ratio: float, low: float, high: float) -> tuple[float, float]:
    """Return ``(|ln ratio - (ln low + ln high)/2|, tolerance)``.

    The tolerance is the largest deviation that rounding of the three printed numbers can
    produce: ``t(ratio) + (t(low) + t(high)) / 2`` with ``t(x) = 0.5 * 10^-d / x`` for a value
    printed with ``d`` decimals (at least 2), plus 1e-9 for floating point.
    """
    midpoint = (math.log(low) + math.log(high)) / 2
    deviation = abs(math.log(ratio) - midpoint)
    tolerance = (
        _rounding_tolerance(ratio) + (_rounding_tolerance(low) + _rounding_tolerance(high)) / 2
    )
    return deviation, tolerance + 1e-9


def _check_ratio_ci(
    add: Callable[[str, str, str], None],
    where: str,
    name: str,
    ratio: float | None,
    low: float | None,
    high: float | None,
    derived: bool,
) -> None:
    low_field, high_field = (
        f"{where}.{name}_ci_low" if name != "hr" else f"{where}.ci_low",
        (f"{where}.{name}_ci_high" if name != "hr" else f"{where}.ci_high"),
    )
    label = "HR" if name == "hr" else "odds ratio"
    if (low is None) != (high is None):
        add("error", low_field if low is None else high_field, f"{label} CI needs both limits")
        return
    if low is None or high is None:
        return
    if ratio is None:
        add("error", f"{where}.{name}", f"a CI [{low}, {high}] is given without its {label}")
        return
    if not low < high:
        add("error", high_field, f"CI upper limit {high} is not above its lower limit {low}")
        return
    if ratio < low:
        add("error", low_field, f"{label} {ratio} lies outside its CI [{low}, {high}]")
        return
    if ratio > high:
        add("error", high_field, f"{label} {ratio} lies outside its CI [{low}, {high}]")
        return
    deviation, tolerance = ci_asymmetry(ratio, low, high)
    if derived:
        tolerance = max(tolerance, 0.02)
    if deviation > tolerance:
        add(
            "warning",
            f"{where}.{name}",
            f"{label} {ratio} is not at the centre of its CI [{low}, {high}] on the log scale "
            f"(off by {deviation:.3f}, rounding allows {tolerance:.3f}): check for a typo",
        )


def check_trial(
    trial: Trial, file: str, row_of: dict[tuple[str, int], int] | None = None
) -> list[Issue]:
    """Cross-field rules of one schema-valid trial (see module docstring)."""
    issues: list[Issue] = []

    def add(severity: str, where: str, message: str) -> None:
        issues.append(Issue(severity, file, trial.id, where, message))

    def loc(collection: str, index: int, name: str | None = None) -> str:
        parts: tuple[Any, ...] = (collection, index) + ((name,) if name else ())
        return format_location(parts, row_of)

    # -- unique ids and references -------------------------------------------------------
    source_ids = [s.id for s in trial.sources]
    arm_ids = [a.id for a in trial.arms]
    comparison_ids = [c.id for c in trial.comparisons]
    for collection, ids in (
        ("sources", source_ids),
        ("arms", arm_ids),
        ("comparisons", comparison_ids),
    ):
        seen: set[str] = set()
        for i, ident in enumerate(ids):
            if ident in seen:
                add("error", loc(collection, i, "id"), f"duplicate id {ident!r}")
            seen.add(ident)
    if len(trial.arms) < 2:
        add("error", "arms", f"a randomised trial needs at least two arms, found {len(trial.arms)}")
    if not trial.comparisons:
        add("error", "comparisons", "no comparison defined")
    used_sources: set[str] = set()

    def ref_source(where: str, source_id: str | None) -> None:
        if source_id is None:
            return
        used_sources.add(source_id)
        if source_id not in source_ids:
            add("error", where, f"unknown source {source_id!r} (sources: {', '.join(source_ids)})")

    if trial.n_randomised_total is not None and trial.n_randomised_total_source is None:
        add("error", "n_randomised_total_source", "n_randomised_total has no source")
    ref_source("n_randomised_total_source", trial.n_randomised_total_source)

    arms = {a.id: a for a in trial.arms}
    for i, arm in enumerate(trial.arms):
        if arm.n_randomised is not None:
            if arm.n_randomised <= 0:
                add(
                    "error",
                    loc("arms", i, "n_randomised"),
                    f"must be positive, got {arm.n_randomised}",
                )
            if arm.n_source is None:
                add(
                    "error",
                    loc("arms", i, "n_source"),
                    f"n_randomised {arm.n_randomised} has no source",
                )
        elif arm.n_source is not None:
            add("error", loc("arms", i, "n_source"), "n_source given without n_randomised")
        ref_source(loc("arms", i, "n_source"), arm.n_source)
    arm_sizes = [a.n_randomised for a in trial.arms]
    if trial.n_randomised_total is not None and all(n is not None and n > 0 for n in arm_sizes):
        total = sum(arm_sizes)  # type: ignore[arg-type]
        if total > trial.n_randomised_total:
            add(
                "error",
                "arms",
                f"arm sizes sum to {total}, more than n_randomised_total "
                f"{trial.n_randomised_total}",
            )
        elif total < trial.n_randomised_total:
            add(
                "warning",
                "arms",
                f"arm sizes sum to {total}, fewer than n_randomised_total "
                f"{trial.n_randomised_total} (different sources or populations?)",
            )

    comparisons = {c.id: c for c in trial.comparisons}
    for i, comparison in enumerate(trial.comparisons):
        for side in ("experimental_arm", "control_arm"):
            arm_id = getattr(comparison, side)
            if arm_id not in arms:
                add(
                    "error",
                    loc("comparisons", i, side),
                    f"unknown arm {arm_id!r} (arms: {', '.join(arm_ids)})",
                )
        for other in comparison.overlaps_with:
            if other not in comparison_ids or other == comparison.id:
                add(
                    "error", loc("comparisons", i, "overlaps_with"), f"unknown comparison {other!r}"
                )
        control = arms.get(comparison.control_arm)
        if (
            comparison.kind == ComparisonKind.maintenance_vs_control
            and comparison.control_type == ControlType.active
        ):
            add(
                "error",
                loc("comparisons", i, "control_type"),
                "a maintenance_vs_control comparison needs an observation or placebo control",
            )
        if control is not None:
            expected = {
                ControlType.observation: {Treatment.observation},
                ControlType.placebo: {Treatment.placebo},
            }.get(comparison.control_type)
            if expected is not None and control.treatment not in expected:
                add(
                    "error",
                    loc("comparisons", i, "control_type"),
                    f"control_type {comparison.control_type.value} but control arm "
                    f"{control.id!r} has treatment {control.treatment.value}",
                )
            if expected is None and control.treatment in (Treatment.observation, Treatment.placebo):
                add(
                    "error",
                    loc("comparisons", i, "control_type"),
                    f"control_type active but control arm {control.id!r} has treatment "
                    f"{control.treatment.value}",
                )

    def arm_n(comparison_id: str, side: str) -> int | None:
        comparison = comparisons.get(comparison_id)
        if comparison is None:
            return None
        arm = arms.get(getattr(comparison, side))
        return arm.n_randomised if arm else None

    # -- estimates --------------------------------------------------------------------------
    latest: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    all_keys: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    number_fields = (
        "hr",
        "log_hr",
        "o_minus_e",
        "p_value",
        "events_experimental",
        "events_control",
        "median_experimental",
        "median_control",
        "rate_experimental",
        "rate_control",
        "percent_experimental",
        "percent_control",
        "odds_ratio",
        "ci_low",
        "ci_high",
        "se_log_hr",
        "variance",
    )
    for i, est in enumerate(trial.estimates):
        where = loc("estimates", i)
        if est.comparison not in comparisons:
            add(
                "error",
                loc("estimates", i, "comparison"),
                f"unknown comparison {est.comparison!r} (comparisons: {', '.join(comparison_ids)})",
            )
        ref_source(loc("estimates", i, "source"), est.source)
        if not any(getattr(est, f) is not None for f in number_fields) and not (
            est.median_experimental_not_reached or est.median_control_not_reached
        ):
            add("error", where, "estimate carries no number")
        if est.outcome in BINARY_OUTCOMES and (est.hr is not None or est.log_hr is not None):
            add(
                "error",
                loc("estimates", i, "hr"),
                f"outcome {est.outcome.value} is binary: a hazard ratio does not belong to it",
            )
        _check_ratio_ci(
            lambda s, f, m: add(s, f, m), where, "hr", est.hr, est.ci_low, est.ci_high, est.derived
        )
        _check_ratio_ci(
            lambda s, f, m: add(s, f, m),
            where,
            "odds_ratio",
            est.odds_ratio,
            est.odds_ratio_ci_low,
            est.odds_ratio_ci_high,
            est.derived,
        )
        if (est.log_hr is None) != (est.se_log_hr is None):
            add(
                "error",
                loc("estimates", i, "se_log_hr" if est.se_log_hr is None else "log_hr"),
                "log_hr and se_log_hr come together",
            )
        if (est.o_minus_e is None) != (est.variance is None):
            add(
                "error",
                loc("estimates", i, "variance" if est.variance is None else "o_minus_e"),
                "o_minus_e and variance come together",
            )
        if (
            est.hr is not None
            and est.log_hr is not None
            and abs(math.log(est.hr) - est.log_hr) > 0.01
        ):
            add(
                "error",
                loc("estimates", i, "log_hr"),
                f"log_hr {est.log_hr} disagrees with ln(HR {est.hr}) = {math.log(est.hr):.4f}",
            )
        if (
            est.rate_experimental is not None or est.rate_control is not None
        ) and est.rate_timepoint_months is None:
            add(
                "warning",
                loc("estimates", i, "rate_timepoint_months"),
                "x-year rates without their timepoint cannot feed an analysis",
            )
        if est.median_experimental is not None and est.median_experimental_not_reached:
            add(
                "error",
                loc("estimates", i, "median_experimental"),
                "a median cannot be both given and not reached",
            )
        if est.median_control is not None and est.median_control_not_reached:
            add(
                "error",
                loc("estimates", i, "median_control"),
                "a median cannot be both given and not reached",
            )
        if est.derived and not (est.direction or est.note):
            add(
                "error",
                loc("estimates", i, "direction"),
                "a derived value must say what was printed (direction or note)",
            )
        for side, short in (("experimental", "experimental_arm"), ("control", "control_arm")):
            events = getattr(est, f"events_{side}")
            n = getattr(est, f"n_{side}") or (
                arm_n(est.comparison, short) if est.subgroup is None else None
            )
            if events is not None and n is not None and n > 0 and events > n:
                add(
                    "error",
                    loc("estimates", i, f"events_{side}"),
                    f"{events} events among {n} patients",
                )
            analysed = getattr(est, f"n_{side}")
            randomised = arm_n(est.comparison, short)
            if analysed is not None and randomised is not None and analysed > randomised:
                add(
                    "error",
                    loc("estimates", i, f"n_{side}"),
                    f"{analysed} analysed exceeds the {randomised} randomised to the arm",
                )
        key = (est.comparison, est.outcome.value, est.subgroup or "", est.outcome_detail or "")
        all_keys[key].append(i)
        if est.status in (EstimateStatus.latest, EstimateStatus.latest_available):
            latest[key].append(i)
    for key, indices in all_keys.items():
        label = (
            f"comparison {key[0]} x {key[1]}"
            + (f" [{key[2]}]" if key[2] else "")
            + (f" ({key[3]})" if key[3] else "")
        )
        chosen = latest.get(key, [])
        if len(chosen) > 1:
            add(
                "error",
                loc("estimates", chosen[1], "status"),
                f"{len(chosen)} estimates are marked latest for {label} "
                f"(estimates {', '.join(str(j) for j in chosen)}): exactly one may be",
            )
        elif not chosen:
            add(
                "error",
                loc("estimates", indices[0], "status"),
                f"no estimate is marked latest for {label}",
            )

    # -- adverse events ---------------------------------------------------------------------
    for i, ae in enumerate(trial.adverse_events):
        if ae.comparison not in comparisons:
            add(
                "error",
                loc("adverse_events", i, "comparison"),
                f"unknown comparison {ae.comparison!r} (comparisons: {', '.join(comparison_ids)})",
            )
        ref_source(loc("adverse_events", i, "source"), ae.source)
        numbers = (
            ae.events_experimental,
            ae.events_control,
            ae.percent_experimental,
            ae.percent_control,
            ae.rate_per_100_patient_years_experimental,
            ae.rate_per_100_patient_years_control,
        )
        if all(v is None for v in numbers) and not ae.statement:
            add(
                "error",
                loc("adverse_events", i),
                "adverse event carries neither a number nor a statement",
            )
        for side, short in (("experimental", "experimental_arm"), ("control", "control_arm")):
            events = getattr(ae, f"events_{side}")
            n = getattr(ae, f"n_{side}")
            pct = getattr(ae, f"percent_{side}")
            if events is not None and n is not None:
                if events > n:
                    add(
                        "error",
                        loc("adverse_events", i, f"events_{side}"),
                        f"{events} events among {n} patients",
                    )
                elif pct is not None and abs(100 * events / n - pct) > 0.6:
                    add(
                        "warning",
                        loc("adverse_events", i, f"percent_{side}"),
                        f"{pct}% disagrees with {events}/{n} = {100 * events / n:.1f}%",
                    )
            randomised = arm_n(ae.comparison, short)
            if n is not None and randomised is not None and n > randomised:
                add(
                    "warning",
                    loc("adverse_events", i, f"n_{side}"),
                    f"safety population {n} exceeds the {randomised} randomised to the arm",
                )

    for i, source in enumerate(trial.sources):
        if source.id not in used_sources:
            add(
                "warning",
                loc("sources", i, "id"),
                f"source {source.id!r} is not cited by any number",
            )
    return issues
