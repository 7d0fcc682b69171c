"""Decision snapshots (the plain dicts of :mod:`plateau.decide`) stored with the patient's record.

The decision-support engine calls :func:`save_snapshot` to pin what was decided, on which
evidence version, at the start of maintenance (``kind='maintenance_start'``) or later; the
timeline sets the first snapshot against the observed course.
"""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from plateau.errors import PlateauError
from plateau.store import audit
from plateau.store.models import Decision, Patient, User

KINDS = ("maintenance_start", "review", "stop")


def save_snapshot(
    session: Session,
    patient_id: int,
    snapshot: dict,
    *,
    kind: str = "maintenance_start",
    decision_date: dt.date | None = None,
    evidence_version: str | None = None,
    user: User | None = None,
    ip: str = "",
) -> Decision:
    """Store a decision snapshot for the patient with internal id ``patient_id``; audited as a
    write.

    ``snapshot`` must be JSON-serialisable; its ``evidence_version`` key is used when the argument
    is not given.  ``decision_date`` defaults to the snapshot's ``date`` key, else today.
    """
    if kind not in KINDS:
        raise PlateauError(f"kind: unknown decision kind {kind!r}; allowed: {', '.join(KINDS)}")
    if session.get(Patient, patient_id) is None:
        raise PlateauError(f"patient_id: no patient {patient_id}")
    try:
        snapshot = json.loads(json.dumps(snapshot, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise PlateauError(f"snapshot: not JSON-serialisable ({exc})") from None
    if decision_date is None and isinstance(snapshot.get("date"), str):
        try:
            decision_date = dt.date.fromisoformat(snapshot["date"][:10])
        except ValueError:
            raise PlateauError(f"snapshot.date: {snapshot['date']!r} is not an ISO date") from None
    row = Decision(
        patient_id=patient_id,
        kind=kind,
        decision_date=decision_date or dt.date.today(),
        evidence_version=evidence_version or snapshot.get("evidence_version"),
        snapshot=snapshot,
        created_by=user.id if user else None,
    )
    session.add(row)
    session.flush()
    audit.record(
        session, user, "create", f"decision {row.id} ({kind})", patient_id=patient_id, ip=ip
    )
    return row


def snapshots(session: Session, patient_id: int) -> list[Decision]:
    return list(
        session.scalars(
            select(Decision)
            .where(Decision.patient_id == patient_id)
            .order_by(Decision.decision_date, Decision.id)
        )
    )


def find_patient(session: Session, external_id: str) -> Patient | None:
    """The stored patient with the clinic's identifier ``external_id`` (None if absent)."""
    return session.scalar(select(Patient).where(Patient.external_id == external_id))


class PatientDecisionStore:
    """The records database as a :class:`plateau.decide.store.SnapshotStore` for one patient:
    the same ``save`` / ``load`` / ``ids`` interface as the decision aid's in-memory store, with
    snapshots kept behind login, pinned to the patient and audited."""

    def __init__(self, db, patient_id: int, *, user_id: int | None = None, ip: str = "") -> None:
        self.db, self.patient_id, self.user_id, self.ip = db, patient_id, user_id, ip

    def save(self, snapshot: dict) -> str:
        from plateau.decide.store import snapshot_id

        with self.db.session(write=True) as session:
            user = session.get(User, self.user_id) if self.user_id else None
            save_snapshot(session, self.patient_id, snapshot, user=user, ip=self.ip)
        return snapshot_id(snapshot)

    def _all(self) -> dict[str, dict]:
        from plateau.decide.store import snapshot_id

        with self.db.session() as session:
            return {
                snapshot_id(d.snapshot): d.snapshot for d in snapshots(session, self.patient_id)
            }

    def load(self, ident: str) -> dict:
        found = self._all().get(ident)
        if found is None:
            raise KeyError(ident)
        return found

    def ids(self) -> list[str]:
        return sorted(self._all())
