"""The alerts inbox and alert acknowledgement."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

from plateau.errors import PlateauError
from plateau.store import audit, security
from plateau.store.models import Alert, Patient, TreatmentLine
from plateau.store.projection import deidentify_text
from plateau.web.auth import (
    Viewer,
    check_csrf,
    current_user,
    database,
    listed,
    require,
    viewer,
    visible_patient,
)
from plateau.web.pages import page

router = APIRouter()


@router.get("/records/alerts", response_class=HTMLResponse, include_in_schema=False)
def alerts_inbox(request: Request, status: str = "open", v: Viewer = Depends(viewer)):
    if status not in ("open", "acknowledged", "all"):
        raise PlateauError("status: one of open, acknowledged, all")
    with database(request).session() as session:
        user = current_user(session, v)
        scope = security.patient_scope(session, user).subquery()
        query = (
            select(Alert, Patient)
            .join(Patient, Patient.id == Alert.patient_id)
            .where(Alert.patient_id.in_(select(scope.c.id)))
        )
        if status != "all":
            query = query.where(Alert.status == status)
        order = {"high": 0, "medium": 1, "low": 2}
        rows = []
        starts = {
            ln.patient_id: ln.start_date
            for ln in session.scalars(
                select(TreatmentLine)
                .where(TreatmentLine.kind == "maintenance")
                .order_by(TreatmentLine.start_date)
            )
        }
        for alert, patient in session.execute(query.limit(1000)).all():
            start = starts.get(patient.id)
            rows.append(
                {
                    "id": alert.id,
                    "patient_id": patient.id,
                    "label": patient.external_id if v.identified else patient.pseudonym,
                    "date": (alert.date.isoformat() if alert.date else "")
                    if v.identified
                    else (f"day {(alert.date - start).days}" if alert.date and start else ""),
                    "severity": alert.severity,
                    "status": alert.status,
                    "message": alert.message
                    if v.identified
                    else deidentify_text(alert.message, start),
                    "rule": alert.rule,
                    "tag": alert.tag,
                }
            )
        rows.sort(key=lambda r: (order.get(r["severity"], 3), r["label"], r["date"]))
    listed(request, v, rows, "alerts inbox")
    return page(
        request,
        "records_alerts.html",
        title="Alerts",
        active_nav="/records",
        rows=rows,
        viewer=v,
        status=status,
    )


@router.post("/records/alerts/{alert_id}/ack", include_in_schema=False)
def acknowledge(
    request: Request, alert_id: int, csrf_token: str = Form(""), v: Viewer = Depends(viewer)
):
    check_csrf(csrf_token, v.csrf)
    require(v, "alerts.transition")
    from starlette.exceptions import HTTPException

    from plateau.store.models import utcnow

    with database(request).session() as session:
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise HTTPException(404, "no such alert")
        patient_id = alert.patient_id
        visible_patient(request, session, v, patient_id, "alert acknowledge")
    with database(request).session(write=True) as session:
        alert = session.get(Alert, alert_id)
        alert.status = "acknowledged"
        alert.acknowledged_by = v.user_id
        alert.acknowledged_at = utcnow()
        audit.record(
            session,
            current_user(session, v),
            "update",
            f"alert {alert.id} acknowledged",
            patient_id=patient_id,
            ip=v.ip,
        )
    return RedirectResponse("/records/alerts", status_code=303)
