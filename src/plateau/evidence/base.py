"""Loading, querying and exporting the evidence base.

* :func:`load_bundled` - the trial files shipped in ``plateau/evidence/data/trials/``.
* :func:`load_path` - a user's evidence: a folder of YAML/JSON trial files, one YAML/JSON file
  (a trial, a list of trials, or ``{"trials": [...]}``), or a CSV in the record format written
  by :func:`to_csv`.  Validated exactly like the bundled base; any error raises
  :class:`plateau.errors.EvidenceError` naming file, trial and field.
* :class:`EvidenceBase` - ``.trials``, ``.trial(id)``, ``.estimates(...)``,
  ``.adverse_events(...)`` (flat records joined with trial, arm and source information) and
  ``.version`` (SHA-256 over the canonical JSON of all trials: the *evidence version*).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from plateau.errors import EvidenceError
from plateau.evidence.schema import (
    AdverseEvent,
    AgeGroup,
    Agent,
    Arm,
    Comparison,
    ComparisonKind,
    ControlType,
    Estimate,
    EstimateStatus,
    Outcome,
    RandomisationPoint,
    Setting,
    Source,
    SourceKind,
    Trial,
)
from plateau.evidence.validation import Issue, ValidationReport, check_trial, parse_trial

__all__ = [
    "AdverseEventRecord",
    "BUNDLED_DIR",
    "EstimateRecord",
    "EvidenceBase",
    "check_path",
    "load_bundled",
    "load_path",
    "to_csv",
    "to_json",
    "trial_to_yaml",
]

BUNDLED_DIR = Path(__file__).resolve().parent / "data" / "trials"
_TRIAL_SUFFIXES = (".yaml", ".yml", ".json")


# --------------------------------------------------------------------------------------------
# records returned by queries
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EstimateRecord:
    """An estimate with its trial, comparison, arms and source (one row of a query)."""

    trial: Trial
    comparison: Comparison
    estimate: Estimate
    experimental_arm: Arm
    control_arm: Arm
    source: Source

    @property
    def tested_agents(self) -> list[Agent]:
        return self.trial.tested_agents(self.comparison)

    def summary(self) -> str:
        e = self.estimate
        effect = ""
        if e.hr is not None:
            effect = f"HR {e.hr:g}" + (f" [{e.ci_low:g}, {e.ci_high:g}]" if e.has_hr_ci else "")
        elif e.median_experimental is not None or e.median_control is not None:
            effect = f"median {e.median_experimental} vs {e.median_control} mo"
        return (
            f"{self.trial.id} {self.comparison.id} {e.outcome.value}: {effect or 'no HR'} "
            f"({e.report}; {e.status.value})"
        )

    def to_dict(self) -> dict[str, Any]:
        """Flat JSON-ready row (the columns of ``plateau evidence export --format rows``)."""
        t, c, e, x, k, s = (
            self.trial,
            self.comparison,
            self.estimate,
            self.experimental_arm,
            self.control_arm,
            self.source,
        )
        row: dict[str, Any] = {
            "trial_id": t.id,
            "trial_name": t.name,
            "setting": t.comparison_setting(c).value,
            "age_group": t.comparison_age_group(c).value,
            "randomisation_point": t.randomisation_point.value,
            "comparison_id": c.id,
            "overlaps_with": ";".join(c.overlaps_with),
            "comparison_kind": c.kind.value,
            "control_type": c.control_type.value,
            "tested_agents": ";".join(a.value for a in self.tested_agents),
            "experimental_arm": x.id,
            "experimental_treatment": x.treatment.value,
            "experimental_regimen": x.regimen,
            "n_experimental_randomised": x.n_randomised,
            "control_arm": k.id,
            "control_treatment": k.treatment.value,
            "control_regimen": k.regimen,
            "n_control_randomised": k.n_randomised,
        }
        row.update({f: _plain(v) for f, v in e.model_dump().items()})
        parsed = e.p_value_parsed
        row["p_relation"], row["p_number"] = parsed if parsed else (None, None)
        row["source_kind"] = s.kind.value
        row["source_citation"] = citation(s)
        row["source_pmid"] = s.pmid
        row["source_doi"] = s.doi
        row["source_url"] = s.url
        row["source_location"] = s.location
        return row


@dataclass(frozen=True)
class AdverseEventRecord:
    trial: Trial
    comparison: Comparison
    adverse_event: AdverseEvent
    experimental_arm: Arm
    control_arm: Arm
    source: Source

    def summary(self) -> str:
        a = self.adverse_event
        return f"{self.trial.id} {a.term.value} grade {a.grade}"

    def to_dict(self) -> dict[str, Any]:
        t, c, a = self.trial, self.comparison, self.adverse_event
        row: dict[str, Any] = {
            "trial_id": t.id,
            "setting": t.comparison_setting(c).value,
            "age_group": t.comparison_age_group(c).value,
            "comparison_id": c.id,
            "comparison_kind": c.kind.value,
            "experimental_treatment": self.experimental_arm.treatment.value,
            "control_treatment": self.control_arm.treatment.value,
            "n_experimental_randomised": self.experimental_arm.n_randomised,
            "n_control_randomised": self.control_arm.n_randomised,
        }
        row.update({f: _plain(v) for f, v in a.model_dump().items()})
        row["ctcae_term"] = a.ctcae_term
        row["source_citation"] = citation(self.source)
        row["source_kind"] = self.source.kind.value
        return row


def citation(source: Source) -> str:
    """``Attal M, N Engl J Med 366:1782 (2012), PMID 22571202`` style one-liner."""
    parts = [p for p in (source.first_author, source.journal) if p]
    text = ", ".join(parts)
    if source.year and str(source.year) not in text:
        text += f" ({source.year})"
    ids = []
    if source.pmid:
        ids.append(f"PMID {source.pmid}")
    if source.doi:
        ids.append(f"doi:{source.doi}")
    if not ids and source.url:
        ids.append(source.url)
    return "; ".join(p for p in [text.strip(), ", ".join(ids)] if p)


def _plain(value: Any) -> Any:
    if hasattr(value, "value") and not isinstance(value, (int, float, str)):
        return value.value
    if isinstance(value, str) and hasattr(value, "value"):
        return value.value
    if isinstance(value, list):
        return ";".join(str(_plain(v)) for v in value)
    return value


def _as_set(value: Any, enum_type: type[Enum]) -> set[Any] | None:
    """Normalise a filter (None, a value, or an iterable of values) to a set of enum members."""
    if value is None:
        return None
    values = [value] if isinstance(value, (str, enum_type)) else list(value)
    result = set()
    for v in values:
        try:
            result.add(enum_type(v))
        except ValueError:
            allowed = ", ".join(m.value for m in enum_type)
            raise EvidenceError(
                f"unknown {enum_type.__name__.lower()} {v!r}; allowed: {allowed}"
            ) from None
    return result


# --------------------------------------------------------------------------------------------
# the base
# --------------------------------------------------------------------------------------------


class EvidenceBase:
    """A validated collection of trials."""

    def __init__(
        self,
        trials: Iterable[Trial],
        files: dict[str, str] | None = None,
        warnings: Iterable[Issue] = (),
        origin: str = "",
    ) -> None:
        self.trials: tuple[Trial, ...] = tuple(sorted(trials, key=lambda t: t.id))
        self.files = dict(files or {})
        self.warnings: tuple[Issue, ...] = tuple(warnings)
        self.origin = origin
        self._by_id = {t.id: t for t in self.trials}
        if len(self._by_id) != len(self.trials):
            raise EvidenceError("duplicate trial ids in the evidence base")
        self._version: str | None = None

    def __len__(self) -> int:
        return len(self.trials)

    def __iter__(self) -> Iterator[Trial]:
        return iter(self.trials)

    def __repr__(self) -> str:
        return f"EvidenceBase({len(self.trials)} trials, version {self.version[:12]})"

    @property
    def version(self) -> str:
        """SHA-256 (hex) of the canonical JSON of all trials, sorted by id."""
        if self._version is None:
            payload = json.dumps(
                [t.model_dump(mode="json") for t in self.trials],
                sort_keys=True,
                separators=(",", ":"),
                ensure_ascii=False,
            )
            self._version = hashlib.sha256(payload.encode("utf-8")).hexdigest()
        return self._version

    def trial(self, trial_id: str) -> Trial:
        try:
            return self._by_id[trial_id]
        except KeyError:
            folded = {k.lower().replace("-", "").replace("_", ""): k for k in self._by_id}
            key = trial_id.lower().replace("-", "").replace("_", "")
            if key in folded:
                return self._by_id[folded[key]]
            raise EvidenceError(
                f"unknown trial {trial_id!r}; known trials: {', '.join(self._by_id)}"
            ) from None

    # -- queries ----------------------------------------------------------------------------

    def _comparisons(
        self,
        *,
        trial: Any = None,
        agent: Any = None,
        setting: Any = None,
        age_group: Any = None,
        comparison_kind: Any = None,
        control_type: Any = None,
        randomisation_point: Any = None,
        treatment: Any = None,
        era: str | None = None,
    ) -> Iterator[tuple[Trial, Comparison, Arm, Arm]]:
        trials = _as_trial_ids(trial)
        agents = _as_set(agent, Agent)
        settings = _as_set(setting, Setting)
        ages = _as_set(age_group, AgeGroup)
        kinds = _as_set(comparison_kind, ComparisonKind)
        controls = _as_set(control_type, ControlType)
        points = _as_set(randomisation_point, RandomisationPoint)
        from plateau.evidence.schema import Treatment

        treatments = _as_set(treatment, Treatment)
        if trials is not None:
            for tid in trials:
                self.trial(tid)  # unknown ids are an error, not an empty result
        for t in self.trials:
            if trials is not None and t.id not in {self.trial(x).id for x in trials}:
                continue
            if points is not None and t.randomisation_point not in points:
                continue
            if era is not None and t.era != era:
                continue
            for c in t.comparisons:
                if settings is not None and t.comparison_setting(c) not in settings:
                    continue
                if ages is not None and t.comparison_age_group(c) not in ages:
                    continue
                if kinds is not None and c.kind not in kinds:
                    continue
                if controls is not None and c.control_type not in controls:
                    continue
                if agents is not None and not agents & set(t.tested_agents(c)):
                    continue
                x, k = t.arm(c.experimental_arm), t.arm(c.control_arm)
                if treatments is not None and not treatments & {x.treatment, k.treatment}:
                    continue
                yield t, c, x, k

    def estimates(
        self,
        *,
        trial: str | Iterable[str] | None = None,
        agent: Any = None,
        setting: Any = None,
        age_group: Any = None,
        outcome: Any = None,
        comparison_kind: Any = None,
        control_type: Any = None,
        randomisation_point: Any = None,
        treatment: Any = None,
        era: str | None = None,
        latest_only: bool = True,
        with_hr_ci: bool = False,
        fallback_to_earlier_hr: bool = False,
        include_subgroups: bool = False,
        include_approximate: bool = True,
        include_derived: bool = True,
        primary_only: bool = False,
    ) -> list[EstimateRecord]:
        """Estimates matching every filter given, as :class:`EstimateRecord` rows.

        Filters take a value or a list of values.  ``agent`` matches the agents a comparison
        *tests* (experimental minus control agents, or the comparison's ``tested_agents``);
        ``treatment`` matches either arm's normalised treatment.  ``latest_only`` keeps the
        ``latest``/``latest_available`` estimate of each comparison x outcome x subgroup x
        detail; with ``with_hr_ci`` only estimates with HR and CI are kept, and with
        ``fallback_to_earlier_hr`` a latest estimate without HR+CI is replaced by the most
        recent earlier report of the same key that has one.  Subgroups are excluded unless
        ``include_subgroups``.
        """
        outcomes = _as_set(outcome, Outcome)
        rows: list[EstimateRecord] = []
        for t, c, x, k in self._comparisons(
            trial=trial,
            agent=agent,
            setting=setting,
            age_group=age_group,
            comparison_kind=comparison_kind,
            control_type=control_type,
            randomisation_point=randomisation_point,
            treatment=treatment,
            era=era,
        ):
            candidates = [e for e in t.estimates if e.comparison == c.id]
            if outcomes is not None:
                candidates = [e for e in candidates if e.outcome in outcomes]
            if not include_subgroups:
                candidates = [e for e in candidates if e.subgroup is None]
            if latest_only:
                chosen = []
                groups: dict[tuple[Any, ...], list[Estimate]] = {}
                for e in candidates:
                    groups.setdefault((e.outcome, e.subgroup, e.outcome_detail), []).append(e)
                for group in groups.values():
                    latest = [e for e in group if e.status != EstimateStatus.superseded]
                    pick = latest[0] if latest else None
                    if fallback_to_earlier_hr and (pick is None or not pick.has_hr_ci):
                        with_ci = [e for e in group if e.has_hr_ci]
                        if with_ci:
                            pick = max(with_ci, key=lambda e: _recency(t, e))
                    if pick is not None:
                        chosen.append(pick)
                candidates = [e for e in candidates if any(e is p for p in chosen)]
            if with_hr_ci:
                candidates = [e for e in candidates if e.has_hr_ci]
            if not include_approximate:
                candidates = [e for e in candidates if not e.approximate]
            if not include_derived:
                candidates = [e for e in candidates if not e.derived]
            for e in candidates:
                s = t.source(e.source)
                if primary_only and s.kind != SourceKind.primary:
                    continue
                rows.append(EstimateRecord(t, c, e, x, k, s))
        return rows

    def adverse_events(
        self,
        *,
        trial: Any = None,
        agent: Any = None,
        setting: Any = None,
        age_group: Any = None,
        comparison_kind: Any = None,
        term: Any = None,
        treatment: Any = None,
    ) -> list[AdverseEventRecord]:
        """Adverse events matching the filters (same semantics as :meth:`estimates`)."""
        from plateau.evidence.schema import AdverseEventTerm

        terms = _as_set(term, AdverseEventTerm)
        rows = []
        for t, c, x, k in self._comparisons(
            trial=trial,
            agent=agent,
            setting=setting,
            age_group=age_group,
            comparison_kind=comparison_kind,
            treatment=treatment,
        ):
            for a in t.adverse_events:
                if a.comparison != c.id or (terms is not None and a.term not in terms):
                    continue
                rows.append(AdverseEventRecord(t, c, a, x, k, t.source(a.source)))
        return rows

    def summary(self) -> str:
        n_est = sum(len(t.estimates) for t in self.trials)
        return f"{len(self.trials)} trials, {n_est} estimates, evidence version {self.version[:12]}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "evidence_version": self.version,
            "trials": [t.model_dump(mode="json", exclude_defaults=False) for t in self.trials],
        }


def _as_trial_ids(value: Any) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


def _recency(trial: Trial, estimate: Estimate) -> tuple[int, float]:
    source = trial.source(estimate.source)
    return (source.year or 0, estimate.median_followup_months or 0.0)


# --------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------


def _read_structured(path: Path) -> list[Any]:
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise EvidenceError(
            f"{path.name}: cannot be parsed: {' '.join(str(exc).split())}"
        ) from None
    if isinstance(data, dict) and "trials" in data and "id" not in data:
        data = data["trials"]
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list):
        return data
    raise EvidenceError(f"{path.name}: expected a trial mapping or a list of trials")


def _collect(path: Path) -> tuple[list[tuple[str, Any, dict[Any, Any] | None]], int]:
    """(file label, raw trial, csv row map) for every trial under ``path``; number of files."""
    if not path.exists():
        raise EvidenceError(f"{path}: no such file or folder")
    if path.is_dir():
        files = sorted(
            p for p in path.rglob("*") if p.suffix.lower() in _TRIAL_SUFFIXES + (".csv",)
        )
        if not files:
            raise EvidenceError(
                f"{path}: no .yaml, .yml, .json or .csv evidence files in this folder"
            )
    else:
        files = [path]
    out: list[tuple[str, Any, dict[Any, Any] | None]] = []
    for f in files:
        label = f.name
        if f.suffix.lower() == ".csv":
            for raw, rows in _trials_from_csv(f.read_text(encoding="utf-8"), label):
                out.append((label, raw, rows))
        elif f.suffix.lower() in _TRIAL_SUFFIXES:
            for raw in _read_structured(f):
                out.append((label, raw, None))
        else:
            raise EvidenceError(f"{f.name}: unsupported file type (use .yaml, .yml, .json or .csv)")
    return out, len(files)


def check_path(path: str | Path) -> tuple[ValidationReport, list[Trial]]:
    """Validate everything under ``path`` without raising on invalid trials."""
    path = Path(path)
    collected, n_files = _collect(path)
    issues: list[Issue] = []
    trials: list[Trial] = []
    seen: dict[str, str] = {}
    for label, raw, rows in collected:
        trial, schema_issues = parse_trial(raw, label, rows)
        issues.extend(schema_issues)
        if trial is None:
            continue
        if trial.id in seen:
            issues.append(
                Issue(
                    "error",
                    label,
                    trial.id,
                    "id",
                    f"trial id {trial.id!r} is also defined in {seen[trial.id]}",
                )
            )
            continue
        seen[trial.id] = label
        issues.extend(check_trial(trial, label, rows))
        stem = Path(label).stem
        if (
            rows is None
            and path.is_dir()
            and stem != trial.id
            and len(collected) > 1
            and sum(1 for lab, _, _ in collected if lab == label) == 1
        ):
            issues.append(
                Issue(
                    "warning",
                    label,
                    trial.id,
                    "id",
                    f"file name {label!r} does not match the trial id {trial.id!r}",
                )
            )
        trials.append(trial)
    n_trials = len(
        {
            (label, str(raw.get("id")) if isinstance(raw, dict) else i)
            for i, (label, raw, _) in enumerate(collected)
        }
    )
    return ValidationReport(tuple(issues), n_files, n_trials, str(path)), trials


def load_path(path: str | Path) -> EvidenceBase:
    """Load and validate a user's evidence; raise :class:`EvidenceError` on the first error.

    The message names the file, trial and field of the first error and how many there are;
    ``plateau evidence validate PATH`` lists them all.
    """
    report, trials = check_path(path)
    if report.errors:
        first = report.errors[0]
        more = len(report.errors) - 1
        suffix = (
            f" (and {more} more error{'s' if more > 1 else ''}; run `plateau evidence validate`)"
            if more
            else ""
        )
        raise EvidenceError(f"{first}{suffix}")
    files: dict[str, str] = {}
    return EvidenceBase(trials, files, report.warnings, origin=str(path))


@lru_cache(maxsize=1)
def load_bundled() -> EvidenceBase:
    """The evidence base shipped with plateau (validated; cached)."""
    return load_path(BUNDLED_DIR)


# --------------------------------------------------------------------------------------------
# export / import
# --------------------------------------------------------------------------------------------


def to_json(base: EvidenceBase) -> str:
    """Lossless JSON: ``{"evidence_version": ..., "trials": [...]}`` (loadable by load_path)."""
    return json.dumps(base.to_dict(), indent=2, ensure_ascii=False) + "\n"


_RECORDS: tuple[tuple[str, type[BaseModel], str | None], ...] = (
    ("trial", Trial, None),
    ("source", Source, "sources"),
    ("arm", Arm, "arms"),
    ("comparison", Comparison, "comparisons"),
    ("estimate", Estimate, "estimates"),
    ("adverse_event", AdverseEvent, "adverse_events"),
)
_NESTED = {"arms", "comparisons", "estimates", "adverse_events", "sources"}
_LIST_FIELDS = {"registry_ids", "agents", "induction_agents", "tested_agents", "overlaps_with"}
_EMPTY_LIST = "(none)"


def _columns() -> list[str]:
    columns = ["record", "trial_id"]
    for _, model, _ in _RECORDS:
        for name in model.model_fields:
            if name not in _NESTED and name not in columns:
                columns.append(name)
    return columns


CSV_COLUMNS = _columns()


def _cell(name: str, value: Any) -> str:
    if value is None:
        return ""
    if name in _LIST_FIELDS:
        return "; ".join(str(_plain(v)) for v in value) if value else _EMPTY_LIST
    value = _plain(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def to_csv(base: EvidenceBase) -> str:
    """Lossless record table: one row per trial, source, arm, comparison, estimate, adverse
    event (column ``record``), all keyed by ``trial_id``; loadable by :func:`load_path`."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for trial in base.trials:
        for record, model, attr in _RECORDS:
            items = [trial] if attr is None else getattr(trial, attr)
            for item in items:
                row = {"record": record, "trial_id": trial.id}
                for name in model.model_fields:
                    if name in _NESTED:
                        continue
                    row[name] = _cell(name, getattr(item, name))
                writer.writerow(row)
    return buffer.getvalue()


def _trials_from_csv(
    text: str, label: str
) -> list[tuple[dict[str, Any], dict[tuple[str, int], int]]]:
    reader = csv.DictReader(io.StringIO(text))
    missing = {"record", "trial_id"} - set(reader.fieldnames or [])
    if missing:
        raise EvidenceError(
            f"{label}: missing column(s) {', '.join(sorted(missing))}; "
            "expected the format written by `plateau evidence export --format csv`"
        )
    known = set(CSV_COLUMNS)
    unknown = [c for c in reader.fieldnames or [] if c not in known]
    if unknown:
        raise EvidenceError(f"{label}: unknown column(s) {', '.join(unknown)}")
    models = {record: (model, attr) for record, model, attr in _RECORDS}
    trials: dict[str, dict[str, Any]] = {}
    rows_of: dict[str, dict[tuple[str, int], int]] = {}
    for line, row in enumerate(reader, start=2):
        record = (row.get("record") or "").strip()
        trial_id = (row.get("trial_id") or "").strip()
        if record not in models:
            raise EvidenceError(
                f"{label}: row {line}: record {record!r} is not one of {', '.join(models)}"
            )
        if not trial_id:
            raise EvidenceError(f"{label}: row {line}: trial_id is empty")
        model, attr = models[record]
        item: dict[str, Any] = {}
        for name in model.model_fields:
            if name in _NESTED:
                continue
            cell = (row.get(name) or "").strip()
            if cell == "":
                continue
            if name in _LIST_FIELDS:
                item[name] = (
                    [] if cell == _EMPTY_LIST else [v.strip() for v in cell.split(";") if v.strip()]
                )
            else:
                item[name] = cell
        trial = trials.setdefault(
            trial_id,
            {
                "id": trial_id,
                "sources": [],
                "arms": [],
                "comparisons": [],
                "estimates": [],
                "adverse_events": [],
            },
        )
        rows = rows_of.setdefault(trial_id, {})
        if attr is None:
            if "_trial_row" in trial:
                raise EvidenceError(
                    f"{label}: row {line}: trial {trial_id} has a second trial record "
                    f"(first on row {trial['_trial_row']})"
                )
            trial["_trial_row"] = line
            if item.get("id", trial_id) != trial_id:
                raise EvidenceError(
                    f"{label}: row {line}: id {item['id']!r} differs from trial_id {trial_id!r}"
                )
            trial.update(item)
        else:
            rows[(attr, len(trial[attr]))] = line
            trial[attr].append(item)
    out = []
    for trial_id, trial in trials.items():
        if "_trial_row" not in trial:
            raise EvidenceError(f"{label}: trial {trial_id} has rows but no 'trial' record")
        trial.pop("_trial_row")
        out.append((trial, rows_of[trial_id]))
    return out


def trial_to_yaml(trial: Trial) -> str:
    """Human-readable YAML of one trial (fields in schema order, defaults omitted)."""
    data = trial.model_dump(mode="json", exclude_defaults=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
