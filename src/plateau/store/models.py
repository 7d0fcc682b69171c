"""The clinical-records schema (SQLAlchemy 2 declarative models).

One row per thing a clinic records: users and their roles, care teams, patients, treatment lines
(maintenance regimens) with their dose history, lab results (LOINC code, UCUM unit), adverse
events (CTCAE v5.0 term and grade), QoL questionnaires (EORTC QLQ-C30/MY20 items), decision
snapshots (from :mod:`plateau.decide`), alerts (from :mod:`plateau.monitor`), import batches,
login sessions and the append-only audit log.

Natural keys make imports idempotent: a lab result is identified by (patient, date, analyte), an
adverse event by (patient, date, term), a questionnaire by (patient, date, instrument), a dose
record by (line, date).  Re-importing the same data therefore updates nothing and creates no
duplicate.  Dates are ISO ``date`` values; timestamps are timezone-aware UTC.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ROLES = ("admin", "clinician", "researcher", "reviewer")  # reviewer: signs off FAQ entries only


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, dt.datetime: DateTime(timezone=True)}


class CareTeam(Base):
    __tablename__ = "care_teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    members: Mapped[list[User]] = relationship(secondary="team_members", back_populates="teams")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))  # one of ROLES
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    teams: Mapped[list[CareTeam]] = relationship(secondary="team_members", back_populates="members")


class TeamMember(Base):
    __tablename__ = "team_members"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    team_id: Mapped[int] = mapped_column(
        ForeignKey("care_teams.id", ondelete="CASCADE"), primary_key=True
    )


class LoginSession(Base):
    """A server-side login session; the cookie holds a random token, the table only its SHA-256."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]

    user: Mapped[User] = relationship()


class Patient(Base):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(
        String(120), unique=True
    )  #: the clinic's identifier (MRN)
    pseudonym: Mapped[str] = mapped_column(String(20), unique=True)  #: shown to researchers
    care_team_id: Mapped[int | None] = mapped_column(ForeignKey("care_teams.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(1))  # M / F
    age: Mapped[float | None] = mapped_column(Float)  #: age at the start of maintenance (years)
    weight_kg: Mapped[float | None] = mapped_column(Float)
    dialysis: Mapped[bool] = mapped_column(Boolean, default=False)
    diagnosis_date: Mapped[dt.date | None] = mapped_column(Date)
    #: bumped by every import that changes the patient's data (stored monitoring results of an
    #: older version are recomputed)
    data_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    care_team: Mapped[CareTeam | None] = relationship()
    lines: Mapped[list[TreatmentLine]] = relationship(
        back_populates="patient", order_by="TreatmentLine.start_date"
    )


class TreatmentLine(Base):
    """A line of therapy; ``kind = 'maintenance'`` is the maintenance regimen the monitor
    follows."""

    __tablename__ = "treatment_lines"
    __table_args__ = (
        UniqueConstraint("patient_id", "kind", "start_date", name="uq_line_patient_kind_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))  # induction / consolidation / maintenance
    agent: Mapped[str] = mapped_column(String(40))
    start_date: Mapped[dt.date] = mapped_column(Date)
    stop_date: Mapped[dt.date | None] = mapped_column(Date)

    patient: Mapped[Patient] = relationship(back_populates="lines")
    doses: Mapped[list[DoseRecord]] = relationship(
        back_populates="line", order_by="(DoseRecord.date, DoseRecord.id)"
    )


class DoseRecord(Base):
    """Dose history of a line: start, reductions, holds (interruptions), resumptions, stop."""

    __tablename__ = "dose_records"
    __table_args__ = (
        UniqueConstraint("line_id", "date", "action", name="uq_dose_line_date_action"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(
        ForeignKey("treatment_lines.id", ondelete="CASCADE"), index=True
    )
    date: Mapped[dt.date] = mapped_column(Date)
    action: Mapped[str] = mapped_column(String(20))  # start / change / hold / resume / stop
    dose: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(20), default="mg")  # UCUM: mg, mg/m2

    line: Mapped[TreatmentLine] = relationship(back_populates="doses")


class LabResult(Base):
    __tablename__ = "lab_results"
    __table_args__ = (
        UniqueConstraint("patient_id", "date", "analyte", name="uq_lab_patient_date_analyte"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    date: Mapped[dt.date] = mapped_column(Date)
    analyte: Mapped[str] = mapped_column(String(40))  #: plateau.rules.units analyte name
    loinc: Mapped[str | None] = mapped_column(String(20))
    value: Mapped[float] = mapped_column(Float)  #: canonical unit (1/0 for positive/negative)
    unit: Mapped[str] = mapped_column(String(20))  #: canonical UCUM unit ("" for qualitative)
    lln: Mapped[float | None] = mapped_column(Float)
    uln: Mapped[float | None] = mapped_column(Float)


class AdverseEvent(Base):
    __tablename__ = "adverse_events"
    __table_args__ = (
        UniqueConstraint("patient_id", "date", "term", name="uq_ae_patient_date_term"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    date: Mapped[dt.date] = mapped_column(Date)
    term: Mapped[str] = mapped_column(String(80))  #: CTCAE v5.0 term (plateau.monitor.ctcae)
    grade: Mapped[int] = mapped_column(Integer)
    with_pain: Mapped[bool] = mapped_column(Boolean, default=False)


class QolResponse(Base):
    __tablename__ = "qol_responses"
    __table_args__ = (
        UniqueConstraint("patient_id", "date", "instrument", name="uq_qol_patient_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    date: Mapped[dt.date] = mapped_column(Date)
    instrument: Mapped[str] = mapped_column(String(40), default="QLQ-C30+MY20")
    items: Mapped[dict[str, Any]] = mapped_column(
        JSON
    )  #: {"q1": 1, ..., "my20": 2}; missing items absent


class Decision(Base):
    """A decision-support snapshot (plain dict from :mod:`plateau.decide`) pinned to an evidence
    version."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40), default="maintenance_start")
    decision_date: Mapped[dt.date | None] = mapped_column(Date)
    evidence_version: Mapped[str | None] = mapped_column(String(80))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


ALERT_STATES = ("open", "acknowledged", "resolved", "superseded")


class Alert(Base):
    """An alert of the monitoring engine: a state machine, never deleted.

    ``fingerprint`` is the alert's stable identity: SHA-256 of (patient, rule, assessment date),
    never of the message text, so rewording a message keeps its acknowledgements.  States:
    open -> acknowledged -> resolved, or superseded (the engine no longer raises it after the
    data changed; raised again it re-opens).  Every transition writes an audit entry.
    """

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_status_severity_date", "status", "severity", "date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    date: Mapped[dt.date | None] = mapped_column(Date)
    severity: Mapped[str] = mapped_column(String(10))
    message: Mapped[str] = mapped_column(Text)
    rule: Mapped[str] = mapped_column(String(80))
    tag: Mapped[str] = mapped_column(String(20))
    citation: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="open")  # one of ALERT_STATES
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[dt.datetime | None]
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[dt.datetime | None]
    superseded_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LabResultVersion(Base):
    """An earlier value of a lab result, kept when an import corrects it (history, never lost)."""

    __tablename__ = "lab_result_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_result_id: Mapped[int] = mapped_column(
        ForeignKey("lab_results.id", ondelete="CASCADE"), index=True
    )
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(20))
    lln: Mapped[float | None] = mapped_column(Float)
    uln: Mapped[float | None] = mapped_column(Float)
    loinc: Mapped[str | None] = mapped_column(String(20))
    replaced_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    replaced_by_batch: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))


class MonitorResult(Base):
    """The monitoring engine's output for one patient, stored when the patient's data change.

    Valid while ``data_version`` equals the patient's; the timeline then reads it instead of
    re-running the engine.  Derived data: it can always be recomputed from the records.
    """

    __tablename__ = "monitor_results"

    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True
    )
    data_version: Mapped[int] = mapped_column(Integer)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    computed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ImportBatch(Base):
    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    format: Mapped[str] = mapped_column(String(10))  # csv / fhir
    files: Mapped[dict[str, Any]] = mapped_column(JSON)  # file name -> sha256
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)  # table -> rows created
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Append-only: database triggers reject UPDATE and DELETE (see the initial migration)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_at", "at"), Index("ix_audit_patient", "patient_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(Integer)  # no FK: the log outlives users
    username: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(
        String(30)
    )  # read / list / create / update / export / import / login ...
    resource: Mapped[str] = mapped_column(
        String(200)
    )  # what: e.g. "timeline", "fhir-export", "/records"
    patient_id: Mapped[int | None] = mapped_column(
        Integer
    )  # internal id (no FK: survives deletion)
    ip: Mapped[str] = mapped_column(String(64), default="")
    outcome: Mapped[str] = mapped_column(String(20), default="ok")  # ok / denied / failed
    detail: Mapped[str] = mapped_column(Text, default="")


class FaqReview(Base):
    """A sign-off of a living-FAQ entry on one evidence version (append-only review history).

    ``fingerprints`` holds what each referenced result looked like (plateau.faq.refs); the entry
    is current while today's fingerprints have not moved beyond the staleness rules.
    """

    __tablename__ = "faq_reviews"
    __table_args__ = (Index("ix_faq_reviews_entry", "entry_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(80))
    evidence_version: Mapped[str] = mapped_column(String(64))
    fingerprints: Mapped[dict[str, Any]] = mapped_column(JSON)
    user_id: Mapped[int | None] = mapped_column(Integer)  # no FK: the history outlives users
    username: Mapped[str] = mapped_column(String(80))
    reviewer_name: Mapped[str] = mapped_column(String(120))
    reviewer_role: Mapped[str] = mapped_column(String(120))
    reviewer_affiliation: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
