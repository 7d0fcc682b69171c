"""Alerts as a state machine: open -> acknowledged -> resolved, or superseded; never deleted.

* Identity: :func:`identity` = SHA-256 of (patient, rule, assessment date) - never the message
  text, so a reworded message keeps the alert (and its acknowledgement).
* Transitions: :data:`TRANSITIONS`; each writes an audit entry naming the alert, the old and the
  new state (``update`` by a user, ``monitor`` for the engine's own supersede / re-open).
* The engine's recomputation (:func:`sync`) never deletes: an open alert the engine no longer
  raises becomes ``superseded``; a superseded alert raised again re-opens.
* The inbox (:func:`inbox`) filters, groups (same patient + rule + state: one row with the count
  and the newest date), sorts (severity, newest first) and pages in SQL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from plateau.errors import PlateauError
from plateau.store import audit, security
from plateau.store.models import ALERT_STATES, Alert, User, utcnow

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("acknowledged", "resolved", "superseded"),
    "acknowledged": ("resolved", "superseded"),
    "resolved": (),
    "superseded": ("open",),
}
USER_TARGETS = ("acknowledged", "resolved")  #: what a user may move an alert to
SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}
PER_PAGE_MAX = 200


def identity(patient_id: int, rule: str, assessment: str | dt.date | None) -> str:
    """The stable identity of an alert: patient + rule + assessment date (not the message)."""
    day = assessment.isoformat() if isinstance(assessment, dt.date) else (assessment or "")
    return hashlib.sha256(f"{patient_id}|{rule}|{day}".encode()).hexdigest()


def transition(
    session: Session,
    alert: Alert,
    to: str,
    *,
    user: User | None,
    ip: str = "",
    reason: str = "",
) -> bool:
    """Move ``alert`` to state ``to`` (audited); False when it is already there."""
    if to not in ALERT_STATES:
        raise PlateauError(f"status: one of {', '.join(ALERT_STATES)}")
    if alert.status == to:
        return False
    if to not in TRANSITIONS.get(alert.status, ()):
        raise PlateauError(f"status: an alert that is {alert.status} cannot become {to}")
    now = utcnow()
    before = alert.status
    alert.status = to
    if to == "acknowledged":
        alert.acknowledged_by, alert.acknowledged_at = (user.id if user else None), now
    elif to == "resolved":
        alert.resolved_by, alert.resolved_at = (user.id if user else None), now
    elif to == "superseded":
        alert.superseded_at = now
    audit.record(
        session,
        user,
        "update" if user else "monitor",
        f"alert {alert.id}: {before} -> {to}",
        patient_id=alert.patient_id,
        ip=ip,
        detail=reason[:500],
        username=None if user else "monitor",
    )
    return True


def sync(session: Session, patient_ids: list[int], engine_rows: list[dict]) -> int:
    """Store the engine's alerts for these patients; returns how many are open afterwards.

    New identities are created ``open`` (audited); stored open/acknowledged alerts the engine no
    longer raises become ``superseded``; superseded ones raised again re-open.  Nothing is deleted.
    """
    wanted: dict[str, tuple[int, dict]] = {}
    for row in engine_rows:
        p_id = int(row["patient_id"])
        wanted[identity(p_id, str(row.get("rule") or ""), row.get("date"))] = (p_id, row)
    stored = {
        a.fingerprint: a
        for a in session.scalars(select(Alert).where(Alert.patient_id.in_(patient_ids)))
    }
    for fp, old in stored.items():
        if fp not in wanted and old.status in ("open", "acknowledged"):
            transition(
                session, old, "superseded", user=None, reason="no longer raised by the engine"
            )
    new: list[Alert] = []
    for fp, (p_id, row) in wanted.items():
        alert = stored.get(fp)
        message = str(row.get("message") or "")
        if alert is not None:
            if alert.status == "superseded":
                transition(session, alert, "open", user=None, reason="raised again by the engine")
            alert.message = message  # rewording keeps the identity
            alert.severity = str(row.get("severity") or alert.severity)
            alert.citation = str(row.get("citation") or alert.citation)
            continue
        date = row.get("date")
        alert = Alert(
            patient_id=p_id,
            fingerprint=fp,
            date=dt.date.fromisoformat(date) if date else None,
            severity=str(row.get("severity") or "low"),
            message=message,
            rule=str(row.get("rule") or ""),
            tag=str(row.get("tag") or ""),
            citation=str(row.get("citation") or ""),
            status="open",
        )
        session.add(alert)
        new.append(alert)
    session.flush()
    for alert in new:
        audit.record(
            session,
            None,
            "monitor",
            f"alert {alert.id}: raised ({alert.rule})",
            patient_id=alert.patient_id,
            username="monitor",
        )
    return sum(
        1
        for fp in wanted
        if fp not in stored or stored[fp].status in ("open",)  # re-opened ones are open now
    )


@dataclass(frozen=True)
class InboxGroup:
    """One inbox row: the alerts of one patient and rule in one state (newest first)."""

    patient_id: int
    rule: str
    status: str
    severity: str
    count: int
    newest_date: dt.date | None
    alert_id: int  #: the newest alert of the group
    alert_ids: tuple[int, ...]
    message: str
    tag: str


@dataclass(frozen=True)
class InboxPage:
    groups: tuple[InboxGroup, ...]
    total_groups: int
    total_alerts: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total_groups // self.per_page))


def inbox(
    session: Session,
    user: User,
    *,
    status: str = "open",
    severity: str | None = None,
    rule: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> InboxPage:
    """The alerts ``user`` may see, grouped, filtered, sorted and paged in SQL."""
    if status not in (*ALERT_STATES, "all"):
        raise PlateauError(f"status: one of {', '.join((*ALERT_STATES, 'all'))}")
    if severity and severity not in SEVERITY_RANK:
        raise PlateauError("severity: one of high, medium, low")
    if page < 1 or page > 1_000_000:
        raise PlateauError("page: a page number from 1")
    per_page = max(1, min(per_page, PER_PAGE_MAX))
    scope = security.patient_scope(session, user).with_only_columns(
        security.Patient.id
    )  # a subquery of visible patient ids
    where: list[ColumnElement[bool]] = [Alert.patient_id.in_(scope)]
    if status != "all":
        where.append(Alert.status == status)
    if severity:
        where.append(Alert.severity == severity)
    if rule:
        where.append(Alert.rule == rule[:80])
    rank = case(*((Alert.severity == k, v) for k, v in SEVERITY_RANK.items()), else_=3)
    grouped = (
        select(
            Alert.patient_id,
            Alert.rule,
            Alert.status,
            func.min(rank).label("rank"),
            func.count(Alert.id).label("n"),
            func.max(Alert.date).label("newest"),
            func.max(Alert.id).label("last_id"),
        )
        .where(*where)
        .group_by(Alert.patient_id, Alert.rule, Alert.status)
    ).subquery()
    total_groups, total_alerts = session.execute(
        select(func.count(), func.coalesce(func.sum(grouped.c.n), 0))
    ).one()
    rows = session.execute(
        select(grouped)
        .order_by(
            grouped.c.rank,
            grouped.c.newest.desc().nulls_last(),
            grouped.c.patient_id,
            grouped.c.rule,
        )
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    groups = []
    for r in rows:
        members = session.execute(
            select(Alert.id, Alert.date, Alert.message, Alert.tag, Alert.severity)
            .where(
                *where,
                Alert.patient_id == r.patient_id,
                Alert.rule == r.rule,
                Alert.status == r.status,
            )
            .order_by(Alert.date.desc().nulls_last(), Alert.id.desc())
        ).all()
        head = members[0]
        groups.append(
            InboxGroup(
                patient_id=r.patient_id,
                rule=r.rule,
                status=r.status,
                severity=head.severity,
                count=int(r.n),
                newest_date=head.date,
                alert_id=head.id,
                alert_ids=tuple(m.id for m in members),
                message=head.message,
                tag=head.tag,
            )
        )
    return InboxPage(tuple(groups), int(total_groups), int(total_alerts), page, per_page)
