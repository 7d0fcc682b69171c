"""Normalised records to import: what the CSV and FHIR readers produce and the writer stores.

A reader never touches the database: it returns :class:`ImportData` with every problem it found
(``problems``; one line per bad row or entry, naming the file and row/entry and field).  The
writer (:func:`plateau.store.importer.apply`) adds the problems only the database can reveal
(a patient unknown or outside the user's care teams) and writes nothing unless the list is empty.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from plateau.errors import PlateauError


@dataclass(frozen=True)
class PatientIn:
    external_id: str
    source: str  #: "patients.csv row 3" / "entry 0 (Patient)"
    name: str | None = None
    birth_date: dt.date | None = None
    sex: str | None = None
    age: float | None = None
    weight_kg: float | None = None
    dialysis: bool | None = None
    diagnosis_date: dt.date | None = None


@dataclass(frozen=True)
class LineIn:
    external_id: str
    source: str
    agent: str
    start_date: dt.date
    stop_date: dt.date | None = None
    kind: str = "maintenance"


@dataclass(frozen=True)
class DoseIn:
    external_id: str
    source: str
    agent: str
    line_start: (
        dt.date | None
    )  #: the line's start when known (CSV patients / FHIR), else the patient's latest line
    date: dt.date
    action: str  #: start / change / hold / resume / stop
    dose: float | None
    unit: str = "mg"


@dataclass(frozen=True)
class LabIn:
    external_id: str
    source: str
    date: dt.date
    analyte: str
    value: float  #: canonical unit
    unit: str  #: canonical unit
    lln: float | None = None
    uln: float | None = None
    loinc: str | None = None


@dataclass(frozen=True)
class EventIn:
    external_id: str
    source: str
    date: dt.date
    term: str
    grade: int
    with_pain: bool = False


@dataclass(frozen=True)
class QolIn:
    external_id: str
    source: str
    date: dt.date
    items: dict


@dataclass
class ImportData:
    format: str  #: csv / fhir
    files: dict = field(default_factory=dict)  #: name -> sha256
    patients: list[PatientIn] = field(default_factory=list)
    lines: list[LineIn] = field(default_factory=list)
    doses: list[DoseIn] = field(default_factory=list)
    labs: list[LabIn] = field(default_factory=list)
    events: list[EventIn] = field(default_factory=list)
    qol: list[QolIn] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def external_ids(self) -> set[str]:
        ids: set[str] = set()
        for rows in (self.patients, self.lines, self.doses, self.labs, self.events, self.qol):
            ids.update(r.external_id for r in rows)
        return ids

    def sources(self) -> dict[str, tuple[str, int]]:
        """Per patient identifier: the first row (file and row, or entry) that names it, and
        how many rows name it."""
        out: dict[str, tuple[str, int]] = {}
        for rows in (self.patients, self.lines, self.doses, self.labs, self.events, self.qol):
            for r in rows:
                first, n = out.get(r.external_id, (r.source, 0))
                out[r.external_id] = (first, n + 1)
        return out

    def patient_field(self, source: str) -> str:
        """The field of the row at ``source`` that names the patient."""
        if self.format != "fhir":
            return "patient_id"
        return "identifier" if source.endswith("(Patient)") else "subject"

    def n_rows(self) -> int:
        return sum(
            len(x)
            for x in (self.patients, self.lines, self.doses, self.labs, self.events, self.qol)
        )


class ImportRejected(PlateauError):
    """An import with problems: nothing was written; ``problems`` lists every bad row or entry."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        head = f"import rejected, nothing written: {len(self.problems)} problem(s)"
        shown = "; ".join(self.problems[:5]) + (" ..." if len(self.problems) > 5 else "")
        super().__init__(f"{head}: {shown}")


@dataclass(frozen=True)
class ImportSummary:
    """What an accepted import did."""

    batch_id: int
    format: str
    created: dict
    updated: dict
    unchanged: int
    patients: tuple[int, ...]  #: internal ids of the patients touched

    def summary(self) -> str:
        created = ", ".join(f"{v} {k}" for k, v in self.created.items() if v) or "nothing new"
        updated = ", ".join(f"{v} {k}" for k, v in self.updated.items() if v) or "none"
        return (
            f"import {self.batch_id} ({self.format}): created {created}; updated {updated}; "
            f"{self.unchanged} row(s) already present; {len(self.patients)} patient(s)"
        )

    def to_dict(self) -> dict:
        return {
            "batch_id": self.batch_id,
            "format": self.format,
            "created": dict(self.created),
            "updated": dict(self.updated),
            "unchanged": self.unchanged,
            "patients": list(self.patients),
        }
