"""Stored records -> the monitoring engine (:mod:`plateau.monitor`) -> alerts and timelines.

:func:`frames` rebuilds, for a set of patients, the exact input tables of
:func:`plateau.monitor.engine.assess` (canonical units, ``patient_id`` = the internal id as text,
so no identifier enters the engine's messages).  :func:`refresh_alerts` stores the engine's
alerts through the alert state machine (:mod:`plateau.store.alerts`; nothing is deleted).
:func:`timeline` gathers everything the patient timeline shows.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from plateau.monitor import engine as E
from plateau.monitor import qol as Q
from plateau.store.models import (
    AdverseEvent,
    Alert,
    Decision,
    LabResult,
    MonitorResult,
    Patient,
    QolResponse,
    TreatmentLine,
    utcnow,
)

MAINTENANCE = "maintenance"
REFRESH_CHUNK = 100  #: patients per write transaction when recomputing after an import


def _latest_lines(session: Session, ids: list[int]) -> dict[int, TreatmentLine]:
    out: dict[int, TreatmentLine] = {}
    for ln in session.scalars(
        select(TreatmentLine)
        .where(TreatmentLine.patient_id.in_(ids), TreatmentLine.kind == MAINTENANCE)
        .order_by(TreatmentLine.start_date)
    ):
        out[ln.patient_id] = ln  # the latest maintenance line
    return out


def current_dose(line: TreatmentLine, today: dt.date | None = None) -> float:
    """The latest dose given up to ``today`` (a planned future change is not the current dose)."""
    today = today or dt.date.today()
    doses = [
        d.dose
        for d in line.doses
        if d.dose is not None and d.action in ("start", "change", "resume") and d.date <= today
    ]
    return float(doses[-1]) if doses else float("nan")


def frames(session: Session, ids: list[int]) -> dict[str, pd.DataFrame]:
    """Input tables of the monitoring engine for these patients."""
    ids = list(ids)
    patients = {p.id: p for p in session.scalars(select(Patient).where(Patient.id.in_(ids)))}
    lines = _latest_lines(session, ids)
    prow = []
    for p_id, p in patients.items():
        ln = lines.get(p_id)
        prow.append(
            {
                "patient_id": str(p_id),
                "maintenance_start": pd.Timestamp(ln.start_date) if ln else pd.NaT,
                "diagnosis_date": pd.Timestamp(p.diagnosis_date) if p.diagnosis_date else pd.NaT,
                "stop_date": pd.Timestamp(ln.stop_date) if ln and ln.stop_date else pd.NaT,
                "agent": ln.agent if ln else "none",
                "dose_mg": current_dose(ln) if ln else np.nan,
                "age": p.age if p.age is not None else np.nan,
                "sex": p.sex or "",
                "weight_kg": p.weight_kg if p.weight_kg is not None else np.nan,
                "dialysis": bool(p.dialysis),
            }
        )
    pcols = [
        "patient_id",
        "maintenance_start",
        "diagnosis_date",
        "stop_date",
        "agent",
        "dose_mg",
        "age",
        "sex",
        "weight_kg",
        "dialysis",
    ]
    pframe = pd.DataFrame(prow, columns=pcols)
    for c in ("maintenance_start", "diagnosis_date", "stop_date"):
        pframe[c] = pd.to_datetime(pframe[c])
    labs = session.execute(
        select(
            LabResult.patient_id,
            LabResult.date,
            LabResult.analyte,
            LabResult.value,
            LabResult.lln,
            LabResult.uln,
        )
        .where(LabResult.patient_id.in_(ids))
        .order_by(LabResult.patient_id, LabResult.date)
    ).all()
    lframe = pd.DataFrame(labs, columns=["patient_id", "date", "analyte", "value", "lln", "uln"])
    lframe["patient_id"] = lframe["patient_id"].astype(str)
    lframe["date"] = pd.to_datetime(lframe["date"])
    for c in ("value", "lln", "uln"):
        lframe[c] = lframe[c].astype(float)
    events = session.execute(
        select(
            AdverseEvent.patient_id,
            AdverseEvent.date,
            AdverseEvent.term,
            AdverseEvent.grade,
            AdverseEvent.with_pain,
        ).where(AdverseEvent.patient_id.in_(ids))
    ).all()
    eframe = pd.DataFrame(events, columns=["patient_id", "date", "term", "grade", "with_pain"])
    eframe["patient_id"] = eframe["patient_id"].astype(str)
    eframe["date"] = pd.to_datetime(eframe["date"])
    eframe["grade"] = eframe["grade"].astype(int)
    eframe["with_pain"] = eframe["with_pain"].astype(bool)
    qrows = []
    for q in session.scalars(
        select(QolResponse)
        .where(QolResponse.patient_id.in_(ids))
        .order_by(QolResponse.patient_id, QolResponse.date)
    ):
        qrows.append(
            {
                "patient_id": str(q.patient_id),
                "date": pd.Timestamp(q.date),
                **{k: float(v) for k, v in q.items.items()},
            }
        )
    qframe = pd.DataFrame(qrows)
    if len(qframe):
        from plateau.monitor.io import C30_ITEMS, MY20_ITEMS

        has_my = any(c in qframe.columns for c in MY20_ITEMS)
        for c in C30_ITEMS + (MY20_ITEMS if has_my else ()):
            if c not in qframe.columns:
                qframe[c] = np.nan
    return {"patients": pframe, "labs": lframe, "events": eframe, "qlq": qframe}


def assess(session: Session, ids: list[int]):
    """Run the monitoring engine on the stored records of these patients: (MonitorResult,
    QolResult|None)."""
    f = frames(session, ids)
    qol = None
    if len(f["qlq"]):
        starts = {
            r.patient_id: r.maintenance_start
            for r in f["patients"].itertuples()
            if not pd.isna(r.maintenance_start)
        }
        qol = Q.assess_qol(f["qlq"], baseline_dates=starts)
    result = E.assess(f["labs"], f["patients"], f["events"], qol=qol)
    return result, qol


def _payloads(result, qol, ids: list[int]) -> dict[int, dict]:
    """Per patient: the engine's output as the timeline shows it (``monitor``) and QoL points."""
    from plateau.meta._common import jsonable

    monitored = {p["patient_id"]: p for p in result.to_dict()}
    points: dict[str, list] = {}
    if qol is not None and len(qol.scores):
        for r in qol.scores.to_dict("records"):
            points.setdefault(str(r["patient_id"]), []).append(
                {
                    "date": r["date"],
                    "QL2": None if pd.isna(r.get("QL2")) else float(r["QL2"]),
                    "FA": None if pd.isna(r.get("FA")) else float(r["FA"]),
                }
            )
    return {
        i: jsonable({"monitor": monitored.get(str(i)), "qol": points.get(str(i), [])}) for i in ids
    }


def stored_result(session: Session, patient: Patient) -> dict | None:
    """The stored engine output of ``patient`` if it is of the current data version."""
    row = session.get(MonitorResult, patient.id)
    if row is None or row.data_version != (patient.data_version or 0):
        return None
    return row.result


def _store(session: Session, ids: list[int], engine_rows: list[dict], payloads: dict) -> int:
    from plateau.store import alerts

    opened = alerts.sync(session, ids, [r for r in engine_rows if int(r["patient_id"]) in ids])
    versions = dict(
        session.execute(select(Patient.id, Patient.data_version).where(Patient.id.in_(ids))).all()
    )
    session.execute(delete(MonitorResult).where(MonitorResult.patient_id.in_(ids)))
    session.execute(
        insert(MonitorResult),
        [
            {
                "patient_id": i,
                "data_version": versions.get(i) or 0,
                "result": payloads[i],
                "computed_at": utcnow(),
            }
            for i in ids
        ],
    )
    return opened


def refresh_alerts(session: Session, ids: list[int]) -> int:
    """Recompute these patients in the caller's transaction: alerts (state machine, nothing
    deleted) and the stored monitoring results; returns the number of open alerts."""
    ids = sorted(set(ids))
    if not ids:
        return 0
    result, qol = assess(session, ids)
    return _store(session, ids, result.alerts.to_dict("records"), _payloads(result, qol, ids))


def refresh_patients(db, ids: list[int], chunk: int = REFRESH_CHUNK) -> None:
    """Recompute these patients, ``chunk`` at a time: the engine runs in a READ transaction (no
    lock held), then a short write transaction stores alerts and results for the patients whose
    data did not change meanwhile (those are recomputed by the import that changed them)."""
    ids = sorted(set(ids))
    for k in range(0, len(ids), chunk):
        part = ids[k : k + chunk]
        with db.session() as session:
            before = dict(
                session.execute(
                    select(Patient.id, Patient.data_version).where(Patient.id.in_(part))
                ).all()
            )
            result, qol = assess(session, part)
            rows = result.alerts.to_dict("records")
            payloads = _payloads(result, qol, part)
        with db.session(write=True) as session:
            # FOR UPDATE (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers): two
            # refreshes of one patient (two imports close together) store one after the other,
            # the second seeing the first's alerts, instead of both inserting the same alert
            now = dict(
                session.execute(
                    select(Patient.id, Patient.data_version)
                    .where(Patient.id.in_(part))
                    .order_by(Patient.id)
                    .with_for_update()
                ).all()
            )
            same = [i for i in part if i in now and now[i] == before.get(i)]
            if same:
                _store(session, same, rows, payloads)


def stale_patients(session: Session) -> list[int]:
    """Patients whose stored monitoring results are missing or of an older data version."""
    return list(
        session.scalars(
            select(Patient.id)
            .outerjoin(MonitorResult, MonitorResult.patient_id == Patient.id)
            .where(
                (MonitorResult.patient_id.is_(None))
                | (MonitorResult.data_version != Patient.data_version)
            )
        )
    )


def refresh_stale(db, chunk: int = REFRESH_CHUNK) -> int:
    """Recompute every stale patient (e.g. after a crash between an import and its refresh)."""
    with db.session() as session:
        ids = stale_patients(session)
    refresh_patients(db, ids, chunk)
    return len(ids)


def timeline(session: Session, patient: Patient) -> dict:
    """Everything the timeline shows for one patient, JSON-ready (dates as ISO text)."""
    stored = stored_result(session, patient)
    if stored is None:  # not computed yet for this version of the data: run the engine now
        result, qol = assess(session, [patient.id])
        stored = _payloads(result, qol, [patient.id])[patient.id]
    monitored, qol_points = stored["monitor"], stored["qol"]
    lines = _latest_lines(session, [patient.id])
    line = lines.get(patient.id)
    labs = session.execute(
        select(LabResult.date, LabResult.analyte, LabResult.value, LabResult.unit)
        .where(LabResult.patient_id == patient.id)
        .order_by(LabResult.date)
    ).all()
    series: dict[str, list] = {}
    for date, analyte, value, unit in labs:
        series.setdefault(analyte, []).append(
            {"date": date.isoformat(), "value": float(value), "unit": unit}
        )
    doses = []
    for ln in patient.lines:
        for d in ln.doses:
            doses.append(
                {
                    "date": d.date.isoformat(),
                    "action": d.action,
                    "dose": d.dose,
                    "unit": d.unit,
                    "agent": ln.agent,
                }
            )
    decision = session.scalar(
        select(Decision)
        .where(Decision.patient_id == patient.id)
        .order_by(Decision.decision_date, Decision.id)
        .limit(1)
    )
    alerts = session.scalars(
        select(Alert).where(Alert.patient_id == patient.id).order_by(Alert.date)
    ).all()
    return {
        "maintenance": {
            "agent": line.agent,
            "start": line.start_date.isoformat(),
            "stop": line.stop_date.isoformat() if line.stop_date else None,
            "current_dose": current_dose(line),
        }
        if line
        else None,
        "series": series,
        "monitor": monitored,
        "doses": doses,
        "qol": qol_points,
        "decision": (
            {
                "id": decision.id,
                "date": decision.decision_date.isoformat() if decision.decision_date else None,
                "evidence_version": decision.evidence_version,
                "snapshot": decision.snapshot,
            }
            if decision
            else None
        ),
        "alerts": [
            {
                "id": a.id,
                "date": a.date.isoformat() if a.date else None,
                "severity": a.severity,
                "message": a.message,
                "status": a.status,
                "rule": a.rule,
                "tag": a.tag,
            }
            for a in alerts
        ],
    }
