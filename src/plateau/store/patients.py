"""Records queries: the patient list (identified or de-identified by the user's permissions)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plateau.store import security
from plateau.store.models import Alert, CareTeam, LabResult, Patient, TreatmentLine, User


def patient_rows(
    session: Session, user: User, q: str | None = None, limit: int = 500
) -> list[dict]:
    """The patients ``user`` may see with open-alert counts, start and last result.

    Identified users get the clinic's identifier, name and dates; others the pseudonym and days.
    """
    identified = security.identified(user)
    order = (
        Patient.external_id if identified else Patient.pseudonym
    )  # no hint of the identifiers' order
    query = security.patient_scope(session, user).order_by(order).limit(limit)
    if q and identified:
        query = query.where(
            Patient.external_id.contains(q.strip()[:120]) | Patient.name.contains(q.strip()[:120])
        )
    patients = list(session.scalars(query))
    ids = [p.id for p in patients]
    badges: dict[int, dict[str, int]] = {}
    for pid, severity, n in session.execute(
        select(Alert.patient_id, Alert.severity, func.count(Alert.id))
        .where(Alert.patient_id.in_(ids), Alert.status == "open")
        .group_by(Alert.patient_id, Alert.severity)
    ):
        badges.setdefault(pid, {})[severity] = n
    lines = {}
    for ln in session.scalars(
        select(TreatmentLine)
        .where(TreatmentLine.patient_id.in_(ids), TreatmentLine.kind == "maintenance")
        .order_by(TreatmentLine.start_date)
    ):
        lines[ln.patient_id] = ln
    last = dict(
        session.execute(
            select(LabResult.patient_id, func.max(LabResult.date))
            .where(LabResult.patient_id.in_(ids))
            .group_by(LabResult.patient_id)
        ).all()
    )
    teams = dict(session.execute(select(CareTeam.id, CareTeam.name)).all())
    rows = []
    for p in patients:
        ln = lines.get(p.id)
        row = {
            "id": p.id,
            "label": p.external_id if identified else p.pseudonym,
            "name": p.name if identified else None,
            "team": teams.get(p.care_team_id, ""),
            "agent": ln.agent if ln else "",
            "badges": badges.get(p.id, {}),
            "alerts": sum(badges.get(p.id, {}).values()),
        }
        if identified:
            row["start"] = ln.start_date.isoformat() if ln else ""
            row["last_result"] = last[p.id].isoformat() if p.id in last else ""
        else:
            row["start"] = "day 0" if ln else ""
            row["last_result"] = (
                f"day {(last[p.id] - ln.start_date).days}" if ln and p.id in last else ""
            )
        rows.append(row)
    return rows
