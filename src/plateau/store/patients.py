"""Records queries: the patient list (identified or de-identified by the user's permissions)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plateau.store import security
from plateau.store.models import Alert, CareTeam, LabResult, Patient, TreatmentLine, User

PER_PAGE = 200


@dataclass(frozen=True)
class PatientPage:
    """One page of the patient list; ``patient_ids`` (internal) are for the audit log only."""

    rows: list[dict]
    patient_ids: list[int]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def notice(self) -> str:
        if self.total <= self.per_page:
            return ""
        first = (self.page - 1) * self.per_page + 1
        last = min(self.total, self.page * self.per_page)
        return f"patients {first}-{last} of {self.total} (page {self.page} of {self.pages})"


def patient_page(
    session: Session,
    user: User,
    q: str | None = None,
    *,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> PatientPage:
    """The patients ``user`` may see, one page, with open-alert counts, start and last result.

    Identified users get the clinic's identifier, name and dates; others the projection
    (pseudonym as the patient's reference, days since the start of maintenance).
    """
    identified = security.identified(user)
    per_page = max(1, min(per_page, 1000))
    order = (
        Patient.external_id if identified else Patient.pseudonym
    )  # no hint of the identifiers' order
    query = security.patient_scope(session, user)
    if q and identified:
        term = q.strip()[:120]
        query = query.where(Patient.external_id.contains(term) | Patient.name.contains(term))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    query = query.order_by(order, Patient.id).limit(per_page).offset((page - 1) * per_page)
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
        line = lines.get(p.id)
        row = {
            "id": p.id if identified else p.pseudonym,
            "label": p.external_id if identified else p.pseudonym,
            "name": p.name if identified else None,
            "team": teams.get(p.care_team_id, ""),
            "agent": line.agent if line else "",
            "badges": badges.get(p.id, {}),
            "alerts": sum(badges.get(p.id, {}).values()),
        }
        if identified:
            row["start"] = line.start_date.isoformat() if line else ""
            row["last_result"] = last[p.id].isoformat() if p.id in last else ""
        else:
            row["start"] = "day 0" if line else ""
            row["last_result"] = (
                f"day {(last[p.id] - line.start_date).days}" if line and p.id in last else ""
            )
        rows.append(row)
    return PatientPage(rows, ids, int(total), page, per_page)
