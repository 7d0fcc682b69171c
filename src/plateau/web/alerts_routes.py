"""The alerts inbox (grouped, filtered, sorted and paged in SQL) and alert transitions.

``GET /records/alerts?status=open&severity=high&rule=...&page=2`` lists groups of alerts (same
patient, rule and state); ``POST /records/alerts/{id}/ack`` and ``/resolve`` move one alert,
``POST /records/alerts/ack`` acknowledges many (``alert_ids``).  Every transition is audited by
:mod:`plateau.store.alerts`; nothing is deleted.  Researchers see the projection only (pseudonym,
day since the start of maintenance, rule, severity, state: no message, no alert id).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from starlette.exceptions import HTTPException

from plateau.errors import PlateauError
from plateau.store import alerts as store_alerts
from plateau.store import security
from plateau.store.models import ALERT_STATES, Alert, Patient
from plateau.store.projection import maintenance_starts
from plateau.web.auth import (
    DbId,
    Viewer,
    audit_now,
    check_csrf,
    current_user,
    database,
    listed,
    require,
    viewer,
)
from plateau.web.pages import page

router = APIRouter()
MAX_BULK = 500


def _rows(session, v: Viewer, result: store_alerts.InboxPage) -> list[dict]:
    ids = sorted({g.patient_id for g in result.groups})
    patients = {p.id: p for p in session.scalars(select(Patient).where(Patient.id.in_(ids)))}
    starts = maintenance_starts(session, ids)
    rows = []
    for g in result.groups:
        p = patients[g.patient_id]
        if v.identified:
            rows.append(
                {
                    "patient_id": p.id,
                    "ref": str(p.id),
                    "label": p.external_id,
                    "date": g.newest_date.isoformat() if g.newest_date else "",
                    "message": g.message,
                    "alert_id": g.alert_id,
                    "alert_ids": ",".join(str(i) for i in g.alert_ids),
                }
            )
        else:
            start = starts.get(p.id)
            day = (g.newest_date - start).days if g.newest_date and start else None
            rows.append(
                {
                    "patient_id": p.id,  # for the audit entry only; never rendered
                    "ref": p.pseudonym,
                    "label": p.pseudonym,
                    "date": f"day {day}" if day is not None else "",
                    "message": "",
                    "alert_id": None,
                    "alert_ids": "",
                }
            )
        rows[-1].update(severity=g.severity, status=g.status, rule=g.rule, tag=g.tag, count=g.count)
    return rows


@router.get("/records/alerts", response_class=HTMLResponse, include_in_schema=False)
def alerts_inbox(
    request: Request,
    status: str = "open",
    severity: str | None = None,
    rule: str | None = None,
    page_no: int = Query(1, alias="page", ge=1, le=1_000_000),
    v: Viewer = Depends(viewer),
):
    with database(request).session() as session:
        result = store_alerts.inbox(
            session,
            current_user(session, v),
            status=status,
            severity=severity or None,
            rule=rule or None,
            page=page_no,
        )
        rows = _rows(session, v, result)
    listed(request, v, [r["patient_id"] for r in rows], "alerts inbox")
    return page(
        request,
        "records_alerts.html",
        title="Alerts",
        active_nav="/records",
        rows=rows,
        viewer=v,
        status=status,
        severity=severity or "",
        states=(*ALERT_STATES, "all"),
        inbox=result,
    )


def _transition(request: Request, v: Viewer, alert_ids: list[int], to: str) -> int:
    """Move these alerts (all visible to ``v``, else 404 and nothing changes); audited."""
    require(v, "alerts.transition")
    db = database(request)
    with db.session(write=True) as session:
        user = current_user(session, v)
        alerts = list(session.scalars(select(Alert).where(Alert.id.in_(alert_ids))))
        patients = {
            p.id: p
            for p in session.scalars(
                select(Patient).where(Patient.id.in_({a.patient_id for a in alerts}))
            )
        }
        visible = [
            a
            for a in alerts
            if a.patient_id in patients and security.can_see(session, user, patients[a.patient_id])
        ]
        if len(visible) != len(set(alert_ids)):
            denied = sorted({a.patient_id for a in alerts} - {a.patient_id for a in visible})
            session.rollback()
            audit_now(
                request,
                v,
                "update",
                f"alert {to}",
                denied or [None],
                outcome="denied",
                detail="not found or outside the user's care teams",
            )
            raise HTTPException(404, "no such alert in your care teams")
        changed = 0
        for alert in visible:
            try:
                changed += store_alerts.transition(session, alert, to, user=user, ip=v.ip)
            except PlateauError:
                if len(visible) == 1:
                    raise
        return changed


def _ids(raw: str) -> list[int]:
    try:
        ids = [int(x) for x in raw.replace(",", " ").split()]
    except ValueError:
        raise PlateauError("alert_ids: whole numbers separated by commas") from None
    if not ids or len(ids) > MAX_BULK or any(not 0 < i < 2**63 for i in ids):
        raise PlateauError(f"alert_ids: between 1 and {MAX_BULK} alert ids")
    return ids


@router.post("/records/alerts/ack", include_in_schema=False)
def acknowledge_many(
    request: Request,
    csrf_token: str = Form(""),
    alert_ids: str = Form(""),
    v: Viewer = Depends(viewer),
):
    check_csrf(csrf_token, v.csrf)
    _transition(request, v, _ids(alert_ids), "acknowledged")
    return RedirectResponse("/records/alerts", status_code=303)


@router.post("/records/alerts/{alert_id}/ack", include_in_schema=False)
def acknowledge(
    request: Request, alert_id: DbId, csrf_token: str = Form(""), v: Viewer = Depends(viewer)
):
    check_csrf(csrf_token, v.csrf)
    _transition(request, v, _ids(str(alert_id)), "acknowledged")
    return RedirectResponse("/records/alerts", status_code=303)


@router.post("/records/alerts/{alert_id}/resolve", include_in_schema=False)
def resolve(
    request: Request, alert_id: DbId, csrf_token: str = Form(""), v: Viewer = Depends(viewer)
):
    check_csrf(csrf_token, v.csrf)
    _transition(request, v, _ids(str(alert_id)), "resolved")
    return RedirectResponse("/records/alerts", status_code=303)
