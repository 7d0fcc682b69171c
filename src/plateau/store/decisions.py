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


def profile_prefill(session: Session, patient: Patient) -> tuple[dict, list[str]]:
    """Decision-support form values from a stored record, and what was taken from where.

    Only what the record holds unambiguously: age at the start of maintenance, sex, weight,
    dialysis, the latest serum creatinine (mg/dL), the worst recent peripheral neuropathy grade
    (CTCAE, sensory or motor, with pain) and any thromboembolic event.  Transplant status and
    response are left for the clinician (the record does not state them as such).
    """
    from plateau.store.models import AdverseEvent, LabResult

    values: dict = {}
    notes: list[str] = []
    if patient.age is not None:
        values["age"] = str(int(patient.age))
        notes.append(f"age {int(patient.age)} (age at the start of maintenance in the record)")
    if patient.sex in ("M", "F"):
        values["sex"] = "male" if patient.sex == "M" else "female"
        notes.append("sex")
    if patient.weight_kg is not None:
        values["weight_kg"] = f"{patient.weight_kg:g}"
        notes.append(f"weight {patient.weight_kg:g} kg")
    if patient.dialysis:
        values["dialysis"] = "on"
        notes.append("on dialysis")
    creat = session.scalar(
        select(LabResult)
        .where(LabResult.patient_id == patient.id, LabResult.analyte == "creatinine")
        .order_by(LabResult.date.desc(), LabResult.id.desc())
    )
    if creat is not None:
        values["creatinine_mg_dl"] = f"{creat.value:g}"
        notes.append(f"serum creatinine {creat.value:g} mg/dL of {creat.date.isoformat()}")
    events = list(
        session.scalars(
            select(AdverseEvent)
            .where(AdverseEvent.patient_id == patient.id)
            .order_by(AdverseEvent.date, AdverseEvent.id)
        )
    )
    neuro = [
        e
        for e in events
        if e.term in ("peripheral_sensory_neuropathy", "peripheral_motor_neuropathy")
    ]
    if neuro:
        last_date = neuro[-1].date
        latest = [e for e in neuro if e.date == last_date]
        worst = max(latest, key=lambda e: e.grade)
        values["neuropathy_grade"] = str(min(int(worst.grade), 4))
        if any(e.with_pain for e in latest):
            values["neuropathic_pain"] = "on"
        notes.append(f"neuropathy grade {worst.grade} of {last_date.isoformat()}")
    if any(e.term == "thromboembolic_event" for e in events):
        values["thromboembolism_history"] = "on"
        notes.append("a thromboembolic event in the record")
    return values, notes


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
