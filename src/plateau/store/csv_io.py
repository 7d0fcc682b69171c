"""CSV import and export in the monitoring format (see the README, "Monitoring").

Files: ``patients.csv``, ``labs.csv``, ``events.csv``, ``qlq.csv`` exactly as
:mod:`plateau.monitor.io` reads them, and an optional ``doses.csv``
(``patient_id,date,action,dose[,unit]``; action = start/change/hold/resume/stop) for the dose
history of the maintenance line.  Every row of every file is checked and every bad row is
reported; nothing is returned for writing while any problem remains.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import math
from typing import Any, cast

import numpy as np
import pandas as pd

from plateau.errors import PlateauError
from plateau.monitor import io as mio
from plateau.rules import units as U
from plateau.store import codes
from plateau.store.records import DoseIn, EventIn, ImportData, LabIn, LineIn, PatientIn, QolIn

KINDS = ("patients", "labs", "events", "qlq", "doses")
DOSE_ACTIONS = ("start", "change", "hold", "resume", "stop")


def _decode(name: str, content: bytes | str, problems: list[str]) -> str | None:
    if isinstance(content, str):
        return content
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(f"{name}: not UTF-8 text (byte {exc.start})")
        return None


def _day(value: Any) -> dt.date:
    """:func:`_date` of a field the monitoring reader has already required."""
    return cast(dt.date, _date(value))


def _date(value: Any) -> dt.date | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return None
    return pd.Timestamp(value).date()


def _float(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _read(reader, name: str, text: str, problems: list[str]):
    try:
        table = reader(io.StringIO(text), skip_bad_rows=True, name=name)
    except PlateauError as exc:
        problems.append(str(exc))
        return None
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        problems.append(
            f"{name}: not a readable CSV file "
            f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
        )
        return None
    problems.extend(str(b) for b in table.bad_rows)
    return table.frame.assign(file_row=list(table.rows))  # each row's number in the file


def _where(name: str, row: int) -> str:
    """Where a row is, in the words of :class:`plateau.monitor.io.BadRow`."""
    return f"{name}: row {row} (line {row + 1})"


def _dupes(
    frame: pd.DataFrame, keys: list[str], name: str, problems: list[str], field: str
) -> pd.DataFrame:
    """Identical repeated rows are dropped; the same key with different values is a problem
    naming the rows and the first field that differs (``field`` if none can be told)."""
    frame = frame.drop_duplicates(subset=[c for c in frame.columns if c != "file_row"])
    dup = frame.duplicated(keys, keep=False)
    if dup.any():
        for key, grp in frame[dup].groupby(keys, sort=False):
            key = key if isinstance(key, tuple) else (key,)
            shown = ", ".join(
                f"{k}={_date(v) if 'date' in k else v}" for k, v in zip(keys, key, strict=True)
            )
            rows = [int(r) for r in grp["file_row"]]
            others = ", ".join(str(r) for r in rows[:-1])
            differ = [
                c
                for c in grp.columns
                if c not in (*keys, "file_row") and grp[c].astype(str).nunique() > 1
            ]
            what = differ[0] if differ else field
            problems.append(
                f"{_where(name, rows[-1])}, field '{what}': conflicts with row(s) {others} "
                f"(same {shown}, different {what})"
            )
    return frame


def read_csv(files: dict[str, tuple[str, bytes | str]]) -> ImportData:
    """Read CSV files given as ``{kind: (file name, content)}`` with kind in :data:`KINDS`."""
    data = ImportData(format="csv")
    problems = data.problems
    unknown = [k for k in files if k not in KINDS]
    if unknown:
        problems.append(f"files: unknown kind(s) {', '.join(unknown)}; allowed: {', '.join(KINDS)}")
    if not files:
        problems.append("files: no file given")
    for kind, (name, content) in files.items():
        raw = content.encode() if isinstance(content, str) else content
        data.files[name] = hashlib.sha256(raw).hexdigest()
        text = _decode(name, content, problems)
        if text is None or kind not in KINDS:
            continue
        if kind == "patients":
            frame = _read(mio.read_patients, name, text, problems)
            if frame is None:
                continue
            for r in frame.itertuples(index=False):
                src = _where(name, r.file_row)
                data.patients.append(
                    PatientIn(
                        external_id=r.patient_id,
                        source=src,
                        sex=r.sex or None,
                        age=_float(r.age),
                        weight_kg=_float(r.weight_kg),
                        dialysis=bool(r.dialysis),
                        diagnosis_date=_date(r.diagnosis_date),
                    )
                )
                start = _day(r.maintenance_start)
                if r.agent != "none":
                    data.lines.append(LineIn(r.patient_id, src, r.agent, start, _date(r.stop_date)))
                    unit = "mg/m2" if r.agent == "bortezomib" else "mg"
                    data.doses.append(
                        DoseIn(
                            r.patient_id,
                            src,
                            r.agent,
                            start,
                            start,
                            "start",
                            _float(r.dose_mg),
                            unit,
                        )
                    )
        elif kind == "labs":
            frame = _read(mio.read_labs, name, text, problems)
            if frame is None:
                continue
            frame = _dupes(frame, ["patient_id", "date", "analyte"], name, problems, "value")
            for r in frame.itertuples(index=False):
                a = U.ANALYTES[r.analyte]
                loinc = codes.EXPORT.get(r.analyte)
                data.labs.append(
                    LabIn(
                        r.patient_id,
                        _where(name, r.file_row),
                        _day(r.date),
                        r.analyte,
                        float(r.value),
                        a.canonical_unit,
                        _float(r.lln),
                        _float(r.uln),
                        loinc.code if loinc else None,
                    )
                )
        elif kind == "events":
            frame = _read(mio.read_events, name, text, problems)
            if frame is None:
                continue
            frame = _dupes(frame, ["patient_id", "date", "term"], name, problems, "grade")
            for r in frame.itertuples(index=False):
                data.events.append(
                    EventIn(
                        r.patient_id,
                        _where(name, r.file_row),
                        _day(r.date),
                        r.term,
                        int(r.grade),
                        bool(r.with_pain),
                    )
                )
        elif kind == "qlq":
            frame = _read(mio.read_qlq, name, text, problems)
            if frame is None:
                continue
            frame = _dupes(frame, ["patient_id", "date"], name, problems, "answers")
            items = [c for c in frame.columns if c not in ("patient_id", "date", "file_row")]
            for r in frame.to_dict("records"):
                answers = {c: int(r[c]) for c in items if not np.isnan(r[c])}
                data.qol.append(
                    QolIn(r["patient_id"], _where(name, r["file_row"]), _day(r["date"]), answers)
                )
        elif kind == "doses":
            _read_doses(name, text, data)
    return data


def _read_doses(name: str, text: str, data: ImportData) -> None:
    problems = data.problems
    try:
        rows = list(csv.DictReader(io.StringIO(text), skipinitialspace=True))
    except csv.Error as exc:
        problems.append(f"{name}: not a readable CSV file ({exc})")
        return
    header = [
        h.strip()
        for h in (rows[0].keys() if rows else next(csv.reader(io.StringIO(text)), []))
        if h is not None
    ]
    missing = [c for c in ("patient_id", "date", "action", "dose") if c not in header]
    if missing:
        problems.append(
            f"{name}: missing column(s) {', '.join(repr(c) for c in missing)}; "
            "expected header patient_id,date,action,dose[,unit]"
        )
        return
    seen: dict[Any, Any] = {}
    for i, row in enumerate(rows, start=1):
        row = {
            (k or "").strip(): (v or "").strip() if isinstance(v, str) else ""
            for k, v in row.items()
        }
        where = _where(name, i)
        pid = row.get("patient_id", "")
        if not pid:
            problems.append(f"{where}, field 'patient_id': missing patient_id")
            continue
        try:
            date = dt.date.fromisoformat(row.get("date", ""))
        except ValueError:
            problems.append(
                f"{where}, field 'date': unparseable date {row.get('date', '')!r} (expected "
                "YYYY-MM-DD)"
            )
            continue
        action = row.get("action", "").lower()
        if action not in DOSE_ACTIONS:
            problems.append(
                f"{where}, field 'action': unknown action {row.get('action', '')!r} "
                f"(known: {', '.join(DOSE_ACTIONS)})"
            )
            continue
        dose = None
        if row.get("dose", ""):
            try:
                dose = float(row["dose"])
            except ValueError:
                dose = math.nan
            if not math.isfinite(dose) or not 0 <= dose <= 1000:
                problems.append(f"{where}, field 'dose': {row['dose']!r} is not a dose 0-1000")
                continue
        elif action in ("start", "change"):
            problems.append(f"{where}, field 'dose': a dose is required for {action}")
            continue
        unit = row.get("unit") or "mg"
        if unit not in ("mg", "mg/m2"):
            problems.append(f"{where}, field 'unit': unknown unit {unit!r} (mg or mg/m2)")
            continue
        key = (pid, date, action)
        if key in seen:
            if seen[key][0] != (dose, unit):
                problems.append(
                    f"{where}, field 'dose': conflicts with row {seen[key][1]} (same patient, "
                    "date and action, different dose or unit)"
                )
            continue
        seen[key] = ((dose, unit), i)
        data.doses.append(DoseIn(pid, where, "", None, date, action, dose, unit))
