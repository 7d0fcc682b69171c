"""Write validated records atomically and idempotently.

:func:`apply` runs in the caller's transaction (``Database.session(write=True)``):

1. every row is checked against the database (patients must exist or be created in the same
   import; a clinician may only write to patients of their care teams; new patients need a care
   team the user belongs to); all problems are collected;
2. if any problem exists, :class:`~plateau.store.records.ImportRejected` is raised before the
   first write, and the caller's transaction rolls back;
3. rows are upserted by their natural keys (a row already stored with the same values is left
   alone; a corrected value updates the row), the import batch and one audit entry per patient
   are written, and the patients' alerts are recomputed by the monitoring engine.

A crash at any point leaves the database as it was: the whole import is one transaction.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from plateau.store import audit
from plateau.store.models import (
    AdverseEvent,
    CareTeam,
    DoseRecord,
    ImportBatch,
    LabResult,
    LabResultVersion,
    Patient,
    QolResponse,
    TreatmentLine,
    User,
)
from plateau.store.permissions import allowed
from plateau.store.records import ImportData, ImportRejected, ImportSummary
from plateau.store.security import team_ids

_PATIENT_FIELDS = ("name", "birth_date", "sex", "age", "weight_kg", "dialysis", "diagnosis_date")


def new_pseudonym(session: Session, taken: set[str] | None = None) -> str:
    """A random pseudonym ``R-XXXXXXXX`` (also the researcher's opaque id: random, so it says
    nothing about import order).  ``taken``: the pseudonyms in use (queried when not given)."""
    if taken is None:
        taken = set(session.scalars(select(Patient.pseudonym)))
    while True:
        candidate = "R-" + secrets.token_hex(4).upper()
        if candidate not in taken:
            taken.add(candidate)
            return candidate


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)), abs(float(b)))


EARLIEST = dt.date(1900, 1, 1)
PLANNED_AHEAD = dt.timedelta(days=366)  #: a line may start or stop up to a year ahead


#: the FHIR element each checked date is read from (:mod:`plateau.store.fhir_io`), by CSV name
FHIR_DATE_FIELDS = {
    ("patients", "birth_date"): "birthDate",
    ("patients", "diagnosis_date"): "onsetDateTime",
    ("lines", "maintenance_start"): "effectivePeriod.start",
    ("lines", "stop_date"): "effectivePeriod.end",
    ("doses", "date"): "effectivePeriod.start",
    ("labs", "date"): "effectiveDateTime",
    ("events", "date"): "onsetDateTime",
}


def plausibility_problems(data: ImportData, today: dt.date | None = None) -> list[str]:
    """Dates no clinic can have recorded: before 1900, results/events/QoL in the future
    (tomorrow allowed for time zones), lines and planned doses more than a year ahead.
    One problem per field, naming the file and row (CSV) or the entry (FHIR) and the field."""
    today = today or dt.date.today()
    observed_max = today + dt.timedelta(days=1)
    planned_max = today + PLANNED_AHEAD
    problems: list[str] = []

    def check(kind: str, source: str, field: str, value, latest: dt.date) -> None:
        if value is None:
            return
        if data.format == "fhir":
            field = FHIR_DATE_FIELDS.get((kind, field), field)
        if value < EARLIEST or value > latest:
            problems.append(
                f"{source}, field '{field}': implausible date {value.isoformat()} "
                f"(expected {EARLIEST.isoformat()} to {latest.isoformat()})"
            )

    for p in data.patients:
        check("patients", p.source, "birth_date", p.birth_date, today)
        check("patients", p.source, "diagnosis_date", p.diagnosis_date, observed_max)
    for ln in data.lines:
        check("lines", ln.source, "maintenance_start", ln.start_date, planned_max)
        check("lines", ln.source, "stop_date", ln.stop_date, planned_max)
        if ln.stop_date is not None and ln.start_date and ln.stop_date < ln.start_date:
            stop = "effectivePeriod.end" if data.format == "fhir" else "stop_date"
            problems.append(f"{ln.source}, field '{stop}': before the start of the line")
    for d in data.doses:  # a planned change may be recorded ahead (current_dose ignores it)
        check("doses", d.source, "date", d.date, planned_max)
    for kind, rows in (("labs", data.labs), ("events", data.events), ("qol", data.qol)):
        for r in rows:
            check(kind, r.source, "date", r.date, observed_max)
    return problems


def apply(
    session: Session,
    data: ImportData,
    user: User,
    *,
    team: str | None = None,
    ip: str = "",
    refresh: bool = True,
) -> ImportSummary:
    """Validate ``data`` against the database, then write it all (or raise ImportRejected)."""
    problems = list(data.problems) + plausibility_problems(data)
    if not allowed(user.role, "records.import"):
        raise ImportRejected([f"role: {user.role} may not import patient data"])
    if data.n_rows() == 0 and not problems:
        problems.append("files: nothing to import (no rows)")
    ext_ids = sorted(data.external_ids())
    existing = (
        {
            p.external_id: p
            # locked (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises imports): two
            # imports for one patient write one after the other, the second seeing the first's
            # rows, instead of both inserting the same result (a unique violation)
            for p in session.scalars(
                select(Patient)
                .where(Patient.external_id.in_(ext_ids))
                .order_by(Patient.id)
                .with_for_update()
            )
        }
        if ext_ids
        else {}
    )
    allowed_teams = None if allowed(user.role, "teams.all") else team_ids(session, user)
    team_row = None
    if team:
        team_row = session.scalar(select(CareTeam).where(CareTeam.name == team))
        if team_row is None or (allowed_teams is not None and team_row.id not in allowed_teams):
            # one answer for unknown and foreign teams: team names cannot be probed
            problems.append(f"team: {team!r} is not one of your care teams")
            team_row = None
    declared = {p.external_id for p in data.patients}
    sources = data.sources()

    def at(ext: str) -> str:
        """'file: row n (line m), field 'patient_id'' of the first row naming ``ext``."""
        source, n = sources.get(ext, ("import", 1))
        more = f" (and {n - 1} more row(s) naming this patient)" if n > 1 else ""
        return f"{source}, field '{data.patient_field(source)}'{more}"

    for ext in ext_ids:
        patient = existing.get(ext)
        shown = f"{ext[:40]!r}..." if len(ext) > 120 else repr(ext)
        if patient is None:
            if ext not in declared:
                problems.append(
                    f"{at(ext)}: patient {shown} is not in your care teams and not in this import"
                )
            elif team_row is None and not team:
                problems.append(
                    f"{at(ext)}: a care team (form field 'team') is required for the new "
                    f"patient {shown}"
                )
        elif allowed_teams is not None and patient.care_team_id not in allowed_teams:
            # same answer as an unknown patient: another team's identifiers cannot be probed
            problems.append(
                f"{at(ext)}: patient {shown} is not in your care teams and not in this import"
                if ext not in declared
                else f"{at(ext)}: patient {shown} is not in your care teams"
            )
        if len(ext) > 120:
            problems.append(f"{at(ext)}: patient {shown}: identifier longer than 120 characters")
    if problems:
        raise ImportRejected(problems)

    created = {k: 0 for k in ("patients", "lines", "doses", "labs", "events", "qol")}
    updated = dict(created)
    unchanged = 0
    touched: dict[str, set[str]] = {}

    def touch(ext: str, what: str) -> None:
        touched.setdefault(ext, set()).add(what)

    # patients
    taken = set(session.scalars(select(Patient.pseudonym))) if data.patients else set()
    for p in data.patients:
        row = existing.get(p.external_id)
        if row is None:
            assert team_row is not None  # checked above: a new patient needs a care team
            row = Patient(
                external_id=p.external_id,
                pseudonym=new_pseudonym(session, taken),
                care_team_id=team_row.id,
                dialysis=False,
            )
            session.add(row)
            existing[p.external_id] = row
            created["patients"] += 1
            touch(p.external_id, "create")
        changed = False
        for f in _PATIENT_FIELDS:
            value = getattr(p, f)
            if value is not None and getattr(row, f) != value:
                setattr(row, f, value)
                changed = True
        if changed and row.id is not None:
            updated["patients"] += 1
            touch(p.external_id, "update")
        elif row.id is not None:
            unchanged += 1
    session.flush()
    pid = {ext: p.id for ext, p in existing.items()}
    ids = list(pid.values())

    # treatment lines
    lines = {
        (ln.patient_id, ln.kind, ln.start_date): ln
        for ln in session.scalars(select(TreatmentLine).where(TreatmentLine.patient_id.in_(ids)))
    }
    for ln in data.lines:
        line_key = (pid[ln.external_id], ln.kind, ln.start_date)
        line_row = lines.get(line_key)
        if line_row is None:
            line_row = TreatmentLine(
                patient_id=line_key[0],
                kind=ln.kind,
                agent=ln.agent,
                start_date=ln.start_date,
                stop_date=ln.stop_date,
            )
            session.add(line_row)
            lines[line_key] = line_row
            created["lines"] += 1
            touch(ln.external_id, "create")
        elif line_row.agent != ln.agent or (
            ln.stop_date is not None and line_row.stop_date != ln.stop_date
        ):
            line_row.agent = ln.agent
            line_row.stop_date = ln.stop_date if ln.stop_date is not None else line_row.stop_date
            updated["lines"] += 1
            touch(ln.external_id, "update")
        else:
            unchanged += 1
    session.flush()

    # dose records: attach to the line with that start, else the patient's line for the agent /
    # latest line
    by_patient: dict[int, list[TreatmentLine]] = {}
    for (p_id, kind, _start), tl in lines.items():
        if kind == "maintenance":
            by_patient.setdefault(p_id, []).append(tl)
    line_ids = [ln.id for ln in lines.values()]
    doses = (
        {
            (d.line_id, d.date, d.action): d
            for d in session.scalars(select(DoseRecord).where(DoseRecord.line_id.in_(line_ids)))
        }
        if line_ids
        else {}
    )
    dose_problems = []
    for d in data.doses:
        p_id = pid[d.external_id]
        candidates = sorted(by_patient.get(p_id, []), key=lambda x: x.start_date)
        line = None
        if d.line_start is not None:
            line = lines.get((p_id, "maintenance", d.line_start))
        if line is None and d.agent:
            line = next(
                (x for x in reversed(candidates) if x.agent == d.agent and x.start_date <= d.date),
                None,
            ) or next((x for x in candidates if x.agent == d.agent), None)
        if line is None:
            line = next((x for x in reversed(candidates) if x.start_date <= d.date), None)
        if line is None:
            dose_problems.append(
                f"{d.source}, field 'date': patient {d.external_id!r} has no maintenance line on "
                f"or before {d.date}"
            )
            continue
        dose_key = (line.id, d.date, d.action)
        dose_row = doses.get(dose_key)
        if dose_row is None:
            dose_row = DoseRecord(
                line_id=line.id, date=d.date, action=d.action, dose=d.dose, unit=d.unit
            )
            session.add(dose_row)
            doses[dose_key] = dose_row
            created["doses"] += 1
            touch(d.external_id, "create")
        elif not _close(dose_row.dose, d.dose) or dose_row.unit != d.unit:
            dose_row.dose, dose_row.unit = d.dose, d.unit
            updated["doses"] += 1
            touch(d.external_id, "update")
        else:
            unchanged += 1
    if dose_problems:
        raise ImportRejected(dose_problems)

    # labs
    corrections: list[LabResultVersion] = []
    new_labs: list[dict] = []  # inserted in one executemany (an import may bring 100,000 rows)
    labs: dict[tuple, Any] = {
        (x.patient_id, x.date, x.analyte): x
        for x in session.scalars(select(LabResult).where(LabResult.patient_id.in_(ids)))
    }
    for lab in data.labs:
        key = (pid[lab.external_id], lab.date, lab.analyte)
        lab_row = labs.get(key)
        if isinstance(lab_row, dict):  # the same result twice in this import: the later one counts
            lab_row.update(value=lab.value, unit=lab.unit, lln=lab.lln, uln=lab.uln)
            continue
        if lab_row is None:
            new_labs.append(
                lab_row := {
                    "patient_id": key[0],
                    "date": lab.date,
                    "analyte": lab.analyte,
                    "loinc": lab.loinc,
                    "value": lab.value,
                    "unit": lab.unit,
                    "lln": lab.lln,
                    "uln": lab.uln,
                }
            )
            labs[key] = lab_row
            created["labs"] += 1
            touch(lab.external_id, "create")
        elif not (
            _close(lab_row.value, lab.value)
            and _close(lab_row.lln, lab.lln)
            and _close(lab_row.uln, lab.uln)
        ):
            # a correction: the earlier value is kept as a version (history, never lost)
            corrections.append(
                LabResultVersion(
                    lab_result_id=lab_row.id,
                    value=lab_row.value,
                    unit=lab_row.unit,
                    lln=lab_row.lln,
                    uln=lab_row.uln,
                    loinc=lab_row.loinc,
                )
            )
            lab_row.value, lab_row.unit, lab_row.lln, lab_row.uln = (
                lab.value,
                lab.unit,
                lab.lln,
                lab.uln,
            )
            lab_row.loinc = lab.loinc or lab_row.loinc
            updated["labs"] += 1
            touch(lab.external_id, "update")
        else:
            unchanged += 1

    if new_labs:
        session.execute(insert(LabResult), new_labs)

    events = {
        (x.patient_id, x.date, x.term): x
        for x in session.scalars(select(AdverseEvent).where(AdverseEvent.patient_id.in_(ids)))
    }
    for ev in data.events:
        ev_key = (pid[ev.external_id], ev.date, ev.term)
        ev_row = events.get(ev_key)
        if ev_row is None:
            ev_row = AdverseEvent(
                patient_id=ev_key[0],
                date=ev.date,
                term=ev.term,
                grade=ev.grade,
                with_pain=ev.with_pain,
            )
            session.add(ev_row)
            events[ev_key] = ev_row
            created["events"] += 1
            touch(ev.external_id, "create")
        elif ev_row.grade != ev.grade or ev_row.with_pain != ev.with_pain:
            ev_row.grade, ev_row.with_pain = ev.grade, ev.with_pain
            updated["events"] += 1
            touch(ev.external_id, "update")
        else:
            unchanged += 1

    qols = {
        (x.patient_id, x.date): x
        for x in session.scalars(select(QolResponse).where(QolResponse.patient_id.in_(ids)))
    }
    for q in data.qol:
        q_key = (pid[q.external_id], q.date)
        q_row = qols.get(q_key)
        if q_row is None:
            q_row = QolResponse(
                patient_id=q_key[0], date=q.date, instrument="QLQ-C30+MY20", items=dict(q.items)
            )
            session.add(q_row)
            qols[q_key] = q_row
            created["qol"] += 1
            touch(q.external_id, "create")
        elif q_row.items != q.items:
            q_row.items = dict(q.items)
            updated["qol"] += 1
            touch(q.external_id, "update")
        else:
            unchanged += 1
    session.flush()

    batch = ImportBatch(
        user_id=user.id,
        format=data.format,
        files=dict(data.files),
        counts={"created": created, "updated": updated, "unchanged": unchanged},
    )
    session.add(batch)
    session.flush()
    for version in corrections:
        version.replaced_by_batch = batch.id
        session.add(version)
    for ext in sorted(set(pid) & set(data.external_ids())):
        what = touched.get(ext, set())
        action = (
            "create" if "create" in what else ("update" if "update" in what else "import-unchanged")
        )
        audit.record(
            session,
            user,
            action,
            f"import {batch.id} ({data.format})",
            patient_id=pid[ext],
            ip=ip,
            detail=",".join(sorted(what)) or "no change",
        )
    patient_ids = tuple(sorted(pid[e] for e in data.external_ids()))
    if touched:
        # stored monitoring results of these patients are now out of date
        changed_ids = [pid[e] for e in touched]
        session.execute(
            update(Patient)
            .where(Patient.id.in_(changed_ids))
            .values(data_version=Patient.data_version + 1)
        )
    if refresh and touched:
        from plateau.store.monitoring import refresh_alerts

        refresh_alerts(session, [pid[e] for e in touched])
    return ImportSummary(batch.id, data.format, created, updated, unchanged, patient_ids)


def import_files(
    db,
    user_id: int,
    *,
    csv_files: dict | None = None,
    fhir: tuple[str, bytes] | None = None,
    team: str | None = None,
    ip: str = "",
) -> ImportSummary:
    """Read and write one import in one transaction (the CLI and the web page call this)."""
    from plateau.store.csv_io import read_csv
    from plateau.store.fhir_io import read_bundle

    data = read_bundle(*fhir) if fhir is not None else read_csv(csv_files or {})
    with db.session(write=True) as session:  # the import itself: one atomic transaction
        user = session.get(User, user_id)
        summary = apply(session, data, user, team=team, ip=ip, refresh=False)
    # then the derived data (alerts, stored monitoring results) in short per-chunk transactions,
    # so a large import never holds the write lock while the monitoring engine runs
    from plateau.store.monitoring import refresh_patients

    refresh_patients(db, list(summary.patients))
    return summary
