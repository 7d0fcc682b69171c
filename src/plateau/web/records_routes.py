"""Clinical records in the browser: login, first-run setup, patients, timeline, alerts, import, admin.

Only these routes need a login; the evidence, analysis and decision-aid pages stay public (they
hold no patient data).  :func:`install` (called by ``create_app``) adds the router, the
security-headers middleware and the login redirect.

Security measures (see also :mod:`plateau.store.security`):

* session cookie: random token, ``HttpOnly``, ``SameSite=Strict``, ``Secure`` whenever the
  request came over HTTPS or ``WebSettings.extra["cookie_secure"]`` is true (plain HTTP is only
  for loopback use);
* CSRF: every state-changing form carries the session's CSRF token (login and setup forms use a
  double-submit cookie), checked with a constant-time comparison; SameSite=Strict is a second line;
* every read and write of patient data writes an audit entry (who, what, when, from where);
  a patient outside the user's care teams answers 404 and is audited as ``denied``;
* researchers see de-identified pages only (pseudonym, days since the start of maintenance);
* security headers on every response (CSP without inline scripts on these pages), no caching of
  patient pages; nothing about patients is written to the application log.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import re
import secrets
import threading
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import func, select

from plateau.errors import PlateauError
from plateau.store import audit, security
from plateau.store import db as store_db
from plateau.store.models import ROLES, Alert, CareTeam, LabResult, Patient, TreatmentLine, User
from plateau.store.records import ImportRejected
from plateau.web.app import page

router = APIRouter()
COOKIE = "plateau_session"
CSRF_COOKIE = "plateau_csrf"
PROTECTED_PREFIXES = ("/records", "/login", "/logout", "/setup", "/api/v1/records")
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
MAX_UPLOAD = 20 * 1024 * 1024
_DB_LOCK = threading.Lock()
_ISO_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")


class LoginRequired(Exception):
    pass


class SetupRequired(Exception):
    pass


@dataclass(frozen=True)
class Viewer:
    """The logged-in user of a request."""

    user_id: int
    username: str
    role: str
    csrf: str
    ip: str

    @property
    def identified(self) -> bool:
        return self.role in ("admin", "clinician")


def database(request: Request) -> store_db.Database:
    """The app's records database, opened (created, migrated) at start-up or on first use."""
    return database_of(request.app)


def database_of(app: FastAPI) -> store_db.Database:
    state = app.state
    if getattr(state, "records_db", None) is None:
        with _DB_LOCK:
            if getattr(state, "records_db", None) is None:
                state.records_db = store_db.open_database(state.settings.database_url)
    return state.records_db


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _cookie_secure(request: Request) -> bool:
    forced = request.app.state.settings.extra.get("cookie_secure")
    return bool(forced) if forced is not None else request.url.scheme == "https"


def viewer(request: Request) -> Viewer:
    db = database(request)
    token = request.cookies.get(COOKIE)
    with db.session() as session:
        row = security.session_for_token(session, token)
        if row is None:
            if security.user_count(session) == 0:
                raise SetupRequired()
            raise LoginRequired()
        u = row.user
        return Viewer(u.id, u.username, u.role, row.csrf_token, client_ip(request))


def check_csrf(sent: str | None, expected: str | None) -> None:
    if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise security.AccessDenied(
            "csrf_token: missing or wrong form token; reload the page and try again"
        )


def _user(session, v: Viewer) -> User:
    return session.get(User, v.user_id)


def audit_now(
    request: Request,
    v: Viewer,
    action: str,
    resource: str,
    patient_ids=(None,),
    *,
    outcome: str = "ok",
    detail: str = "",
) -> None:
    """Write audit entries in their own short write transaction, before the response is sent.

    Reads run in read-only transactions (no lock held while the page is computed); the entry is
    committed before anything is returned, so no data leaves without its audit record.
    """
    with database(request).session(write=True) as session:
        user = _user(session, v)
        for pid in patient_ids:
            audit.record(
                session,
                user,
                action,
                resource,
                patient_id=pid,
                ip=v.ip,
                outcome=outcome,
                detail=detail,
            )


def _visible_patient(request: Request, session, v: Viewer, patient_id: int, what: str) -> Patient:
    """The patient if ``v`` may see it; otherwise audit the denial and answer 404 (no existence leak)."""
    from starlette.exceptions import HTTPException

    user = _user(session, v)
    patient = session.get(Patient, patient_id)
    if patient is None or not security.can_see(session, user, patient):
        audit_now(
            request,
            v,
            "read",
            what,
            [patient_id if patient else None],
            outcome="denied",
            detail="not found or outside the user's care teams",
        )
        raise HTTPException(404, "no such patient in your care teams")
    return patient


def _deidentify_text(text: str, start) -> str:
    import datetime as dt

    if start is None:
        return _ISO_DATE.sub("[date]", text)

    def day(match):
        try:
            return f"day {(dt.date.fromisoformat(match.group(1)) - start).days}"
        except ValueError:
            return "[date]"

    return _ISO_DATE.sub(day, text)


# ---- login, setup, logout ------------------------------------------------------------------------


def _form_cookie(request: Request) -> str:
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)


def _with_form_cookie(request: Request, response: Response, token: str) -> Response:
    response.set_cookie(
        CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_cookie_secure(request),
        path="/",
    )
    return response


def _safe_next(value: str | None) -> str:
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/records"


def _login_response(request: Request, session, user: User, target: str) -> Response:
    token, _row = security.start_session(session, user)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_cookie_secure(request),
        max_age=int(security.SESSION_LIFETIME.total_seconds()),
        path="/",
    )
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.get("/setup", response_class=HTMLResponse, include_in_schema=False)
def setup_form(request: Request):
    with database(request).session() as session:
        if security.user_count(session) > 0:
            return RedirectResponse("/login", status_code=303)
    token = _form_cookie(request)
    return _with_form_cookie(
        request,
        page(request, "records_setup.html", title="First-run setup", csrf=token, error=None),
        token,
    )


@router.post("/setup", include_in_schema=False)
def setup_submit(
    request: Request,
    username: str = Form(...),
    password: str = Form(...),
    csrf_token: str = Form(""),
):
    check_csrf(csrf_token, request.cookies.get(CSRF_COOKIE))
    db = database(request)
    with db.session(write=True) as session:
        if security.user_count(session) > 0:
            return RedirectResponse("/login", status_code=303)
        try:
            user = security.create_user(session, username.strip(), password, "admin")
        except PlateauError as exc:
            session.rollback()
            token = _form_cookie(request)
            return _with_form_cookie(
                request,
                page(
                    request,
                    "records_setup.html",
                    title="First-run setup",
                    csrf=token,
                    error=str(exc),
                    status_code=422,
                ),
                token,
            )
        audit.record(session, user, "create", "first-run setup: admin user", ip=client_ip(request))
        return _login_response(request, session, user, "/records/admin")


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_form(request: Request, next: str | None = None):
    with database(request).session() as session:
        if security.user_count(session) == 0:
            return RedirectResponse("/setup", status_code=303)
    token = _form_cookie(request)
    return _with_form_cookie(
        request,
        page(request, "login.html", title="Sign in", csrf=token, error=None, next=_safe_next(next)),
        token,
    )


@router.post("/login", include_in_schema=False)
def login_submit(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    csrf_token: str = Form(""),
    next: str = Form("/records"),
):
    check_csrf(csrf_token, request.cookies.get(CSRF_COOKIE))
    error, status = None, 401
    with database(request).session(write=True) as session:
        try:
            user = security.authenticate(session, username, password, ip=client_ip(request))
        except security.RateLimited as exc:
            error, status = str(exc), 429
        except PlateauError as exc:
            error = str(exc)
        else:
            return _login_response(request, session, user, _safe_next(next))
    token = _form_cookie(request)
    return _with_form_cookie(
        request,
        page(
            request,
            "login.html",
            title="Sign in",
            csrf=token,
            error=error,
            next=_safe_next(next),
            status_code=status,
        ),
        token,
    )


@router.post("/logout", include_in_schema=False)
def logout(request: Request, csrf_token: str = Form(""), v: Viewer = Depends(viewer)):
    check_csrf(csrf_token, v.csrf)
    with database(request).session(write=True) as session:
        security.end_session(session, request.cookies.get(COOKIE))
        audit.record(session, _user(session, v), "logout", "logout", ip=v.ip)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


# ---- patients ------------------------------------------------------------------------------------


def patient_rows(session, v: Viewer, q: str | None = None, limit: int = 500) -> list[dict]:
    user = _user(session, v)
    order = (
        Patient.external_id if v.identified else Patient.pseudonym
    )  # no hint of the identifiers' order
    query = security.patient_scope(session, user).order_by(order).limit(limit)
    if q and v.identified:
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
            "label": p.external_id if v.identified else p.pseudonym,
            "name": p.name if v.identified else None,
            "team": teams.get(p.care_team_id, ""),
            "agent": ln.agent if ln else "",
            "badges": badges.get(p.id, {}),
            "alerts": sum(badges.get(p.id, {}).values()),
        }
        if v.identified:
            row["start"] = ln.start_date.isoformat() if ln else ""
            row["last_result"] = last[p.id].isoformat() if p.id in last else ""
        else:
            row["start"] = "day 0" if ln else ""
            row["last_result"] = (
                f"day {(last[p.id] - ln.start_date).days}" if ln and p.id in last else ""
            )
        rows.append(row)
    return rows


def _listed(request: Request, v: Viewer, rows: list[dict], what: str) -> None:
    """One audit entry per patient shown (in one write transaction, after the read)."""
    audit_now(request, v, "list", what, sorted({r.get("patient_id", r.get("id")) for r in rows}))


@router.get("/records", response_class=HTMLResponse, include_in_schema=False)
def records_home(request: Request, q: str | None = None, v: Viewer = Depends(viewer)):
    with database(request).session() as session:
        rows = patient_rows(session, v, q)
    _listed(request, v, rows, "patient list")
    return page(
        request,
        "records.html",
        title="Patients on maintenance",
        active_nav="/records",
        rows=rows,
        viewer=v,
        q=q or "",
    )


@router.get("/api/v1/records/patients", tags=["records"])
def api_patients(request: Request, v: Viewer = Depends(viewer)):
    """Patients the user may see (de-identified for researchers), with open-alert counts."""
    with database(request).session() as session:
        rows = patient_rows(session, v)
    _listed(request, v, rows, "patient list")
    return {"patients": rows}


def _timeline_context(session, v: Viewer, patient: Patient) -> dict:
    from plateau.store.monitoring import timeline
    from plateau.web.records_timeline import timeline_svg

    tl = timeline(session, patient)
    start = None
    if tl["maintenance"]:
        import datetime as dt

        start = dt.date.fromisoformat(tl["maintenance"]["start"])
    if not v.identified:
        tl = _deidentified_timeline(tl, start)
    observed = _observed(tl)
    return {
        "tl": tl,
        "svg": timeline_svg(tl, deidentified=not v.identified),
        "observed": observed,
        "decision_fields": _decision_fields(tl.get("decision"), v, start),
    }


def _deidentified_timeline(tl: dict, start) -> dict:
    """Every calendar date (fields and free text) becomes "day N" since the start of maintenance."""
    import datetime as dt
    import json

    if start is None:
        dates = [p["date"] for pts in tl.get("series", {}).values() for p in pts]
        start = dt.date.fromisoformat(min(dates)) if dates else None
    return json.loads(_deidentify_text(json.dumps(tl), start))


def _observed(tl: dict) -> dict:
    mon = tl.get("monitor") or {}
    ctcae = mon.get("ctcae", [])
    doses = tl.get("doses", [])
    qol = [q for q in tl.get("qol", []) if q.get("QL2") is not None]
    return {
        "best_response": mon.get("best_response"),
        "progression_date": mon.get("progression_date"),
        "time_on_maintenance_days": (mon.get("endpoints") or {}).get("time_on_maintenance_days"),
        "grade3plus": sorted({c["term"].replace("_", " ") for c in ctcae if int(c["grade"]) >= 3}),
        "holds": sum(1 for d in doses if d["action"] == "hold"),
        "dose_changes": sum(1 for d in doses if d["action"] == "change"),
        "qol_change": (round(qol[-1]["QL2"] - qol[0]["QL2"], 1) if len(qol) >= 2 else None),
    }


_IDENTIFYING_KEYS = re.compile(r"name|birth|mrn|identifier|address|phone|email|patient_id", re.I)


def _decision_fields(decision: dict | None, v: Viewer, start) -> list[tuple[str, str]]:
    if not decision:
        return []
    fields = []
    for key, value in (decision.get("snapshot") or {}).items():
        if isinstance(value, (dict, list)) or key in ("date", "evidence_version"):
            continue
        if not v.identified and _IDENTIFYING_KEYS.search(key):
            continue
        text = str(value)
        if not v.identified:
            text = _deidentify_text(text, start)
        fields.append((key.replace("_", " "), text[:300]))
    return fields[:20]


@router.get("/records/patients/{patient_id}", response_class=HTMLResponse, include_in_schema=False)
def patient_timeline(request: Request, patient_id: int, v: Viewer = Depends(viewer)):
    with database(request).session() as session:
        patient = _visible_patient(request, session, v, patient_id, "timeline")
        context = _timeline_context(session, v, patient)
        label = patient.external_id if v.identified else patient.pseudonym
        name = patient.name if v.identified else None
        team = patient.care_team.name if patient.care_team else ""
    audit_now(
        request,
        v,
        "read",
        "timeline",
        [patient_id],
        detail="identified" if v.identified else "de-identified",
    )
    return page(
        request,
        "records_patient.html",
        title=f"Patient {label}",
        active_nav="/records",
        viewer=v,
        label=label,
        name=name,
        team=team,
        patient_id=patient_id,
        **context,
    )


@router.get("/api/v1/records/patients/{patient_id}", tags=["records"])
def api_patient(request: Request, patient_id: int, v: Viewer = Depends(viewer)):
    """The timeline data of one patient (de-identified for researchers)."""
    with database(request).session() as session:
        patient = _visible_patient(request, session, v, patient_id, "timeline (api)")
        context = _timeline_context(session, v, patient)
        label = patient.external_id if v.identified else patient.pseudonym
    audit_now(request, v, "read", "timeline (api)", [patient_id])
    return {"patient": label, "timeline": context["tl"], "observed": context["observed"]}


@router.get("/records/patients/{patient_id}/fhir", tags=["records"])
def patient_fhir(request: Request, patient_id: int, v: Viewer = Depends(viewer)):
    """The patient's record as a FHIR R4 Bundle (admins and clinicians of the patient's team)."""
    from plateau.store.fhir_io import export_patient

    with database(request).session() as session:
        patient = _visible_patient(request, session, v, patient_id, "fhir export")
        if not v.identified:
            audit_now(
                request,
                v,
                "export",
                "fhir export",
                [patient_id],
                outcome="denied",
                detail="researchers see de-identified data only",
            )
            raise security.AccessDenied("role: researchers may not export identified records")
        bundle = export_patient(session, patient)
    audit_now(request, v, "export", "fhir export", [patient_id])
    return JSONResponse(
        bundle,
        media_type="application/fhir+json",
        headers={"Content-Disposition": f'attachment; filename="patient-{patient_id}.fhir.json"'},
    )


# ---- alerts --------------------------------------------------------------------------------------


@router.get("/records/alerts", response_class=HTMLResponse, include_in_schema=False)
def alerts_inbox(request: Request, status: str = "open", v: Viewer = Depends(viewer)):
    if status not in ("open", "acknowledged", "all"):
        raise PlateauError("status: one of open, acknowledged, all")
    with database(request).session() as session:
        user = _user(session, v)
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
                    else _deidentify_text(alert.message, start),
                    "rule": alert.rule,
                    "tag": alert.tag,
                }
            )
        rows.sort(key=lambda r: (order.get(r["severity"], 3), r["label"], r["date"]))
    _listed(request, v, rows, "alerts inbox")
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
    security.require_role(_viewer_user_stub(v), "admin", "clinician")
    from starlette.exceptions import HTTPException

    from plateau.store.models import utcnow

    with database(request).session() as session:
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise HTTPException(404, "no such alert")
        patient_id = alert.patient_id
        _visible_patient(request, session, v, patient_id, "alert acknowledge")
    with database(request).session(write=True) as session:
        alert = session.get(Alert, alert_id)
        alert.status = "acknowledged"
        alert.acknowledged_by = v.user_id
        alert.acknowledged_at = utcnow()
        audit.record(
            session,
            _user(session, v),
            "update",
            f"alert {alert.id} acknowledged",
            patient_id=patient_id,
            ip=v.ip,
        )
    return RedirectResponse("/records/alerts", status_code=303)


def _viewer_user_stub(v: Viewer) -> User:
    return User(id=v.user_id, username=v.username, role=v.role)


# ---- import --------------------------------------------------------------------------------------


def _teams_for(session, v: Viewer) -> list[str]:
    if v.role == "admin":
        return list(session.scalars(select(CareTeam.name).order_by(CareTeam.name)))
    user = _user(session, v)
    return sorted(t.name for t in user.teams)


@router.get("/records/import", response_class=HTMLResponse, include_in_schema=False)
def import_form(request: Request, v: Viewer = Depends(viewer)):
    security.require_role(_viewer_user_stub(v), "admin", "clinician")
    with database(request).session() as session:
        teams = _teams_for(session, v)
    return page(
        request,
        "records_import.html",
        title="Import results",
        active_nav="/records",
        viewer=v,
        teams=teams,
        result=None,
        problems=None,
    )


def _read_upload(upload: UploadFile | None) -> tuple[str, bytes] | None:
    if upload is None or not upload.filename:
        return None
    content = upload.file.read(MAX_UPLOAD + 1)
    if len(content) > MAX_UPLOAD:
        raise PlateauError(f"{upload.filename}: larger than {MAX_UPLOAD // (1024 * 1024)} MB")
    return upload.filename, content


@router.post("/records/import", include_in_schema=False)
def import_submit(
    request: Request,
    csrf_token: str = Form(""),
    team: str = Form(""),
    patients: UploadFile | None = File(None),
    labs: UploadFile | None = File(None),
    events: UploadFile | None = File(None),
    qlq: UploadFile | None = File(None),
    doses: UploadFile | None = File(None),
    fhir: UploadFile | None = File(None),
    v: Viewer = Depends(viewer),
):
    check_csrf(csrf_token, v.csrf)
    security.require_role(_viewer_user_stub(v), "admin", "clinician")
    from plateau.store.importer import import_files

    csv_files = {}
    for kind, upload in (
        ("patients", patients),
        ("labs", labs),
        ("events", events),
        ("qlq", qlq),
        ("doses", doses),
    ):
        got = _read_upload(upload)
        if got:
            csv_files[kind] = got
    bundle = _read_upload(fhir)
    db = database(request)
    result, problems, status = None, None, 200
    if bundle and csv_files:
        problems, status = ["files: give either CSV files or one FHIR bundle, not both"], 422
    else:
        try:
            result = import_files(
                db, v.user_id, csv_files=csv_files, fhir=bundle, team=team or None, ip=v.ip
            )
        except ImportRejected as exc:
            problems, status = exc.problems, 422
            with db.session(write=True) as session:
                audit.record(
                    session,
                    _user(session, v),
                    "import",
                    "import rejected",
                    ip=v.ip,
                    outcome="failed",
                    detail=f"{len(exc.problems)} problem(s)",
                )
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(
            {"result": result.to_dict() if result else None, "problems": problems},
            status_code=status,
        )
    with db.session() as session:
        teams = _teams_for(session, v)
    return page(
        request,
        "records_import.html",
        title="Import results",
        active_nav="/records",
        viewer=v,
        teams=teams,
        result=result,
        problems=problems,
        status_code=status,
    )


# ---- administration ------------------------------------------------------------------------------


@router.get("/records/admin", response_class=HTMLResponse, include_in_schema=False)
def admin_page(request: Request, v: Viewer = Depends(viewer)):
    security.require_role(_viewer_user_stub(v), "admin")
    with database(request).session() as session:
        users = [
            {
                "username": u.username,
                "role": u.role,
                "active": u.active,
                "teams": ", ".join(sorted(t.name for t in u.teams)),
            }
            for u in session.scalars(select(User).order_by(User.username))
        ]
        teams = list(session.scalars(select(CareTeam.name).order_by(CareTeam.name)))
    return page(
        request,
        "records_admin.html",
        title="Users and care teams",
        active_nav="/records",
        viewer=v,
        users=users,
        teams=teams,
        roles=ROLES,
        error=None,
    )


@router.post("/records/admin/users", include_in_schema=False)
def admin_create_user(
    request: Request,
    csrf_token: str = Form(""),
    username: str = Form(""),
    password: str = Form(""),
    role: str = Form(""),
    teams: str = Form(""),
    v: Viewer = Depends(viewer),
):
    check_csrf(csrf_token, v.csrf)
    security.require_role(_viewer_user_stub(v), "admin")
    names = [t.strip() for t in teams.split(",") if t.strip()]
    with database(request).session(write=True) as session:
        user = security.create_user(session, username.strip(), password, role, names)
        audit.record(
            session, _user(session, v), "create", f"user {user.username} ({role})", ip=v.ip
        )
    return RedirectResponse("/records/admin", status_code=303)


@router.get("/records/audit", response_class=HTMLResponse, include_in_schema=False)
def audit_page(request: Request, patient_id: int | None = None, v: Viewer = Depends(viewer)):
    security.require_role(_viewer_user_stub(v), "admin")
    with database(request).session(write=True) as session:
        rows = audit.entries(session, patient_id=patient_id, limit=500)
        audit.record(
            session, _user(session, v), "read", "audit log", patient_id=patient_id, ip=v.ip
        )
    return page(
        request, "records_audit.html", title="Audit log", active_nav="/records", viewer=v, rows=rows
    )


# ---- wiring --------------------------------------------------------------------------------------


def _security_headers(request: Request, response: Response) -> None:
    h = response.headers
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.url.scheme == "https":
        h.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.url.path.startswith(PROTECTED_PREFIXES):
        h["Content-Security-Policy"] = CSP
        h["Cache-Control"] = "no-store"


def install(app: FastAPI) -> None:
    """Add the records routes, the security headers and the login redirect to ``app``."""
    app.include_router(router)
    app.state.nav_items.append(("/records", "Records"))

    def _open_records_database() -> None:
        """Create or migrate the database when the server starts (no manual step on a first start).

        A failure (e.g. an unreachable PostgreSQL) must not take the public pages down: it is
        logged, and the records pages report it when they are opened.
        """
        try:
            database_of(app)
        except PlateauError as exc:
            logging.getLogger("plateau.web").warning("records database not ready: %s", exc)

    def _close_records_database() -> None:
        if getattr(app.state, "records_db", None) is not None:
            app.state.records_db.dispose()

    inner_lifespan = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def _lifespan(app_):
        _open_records_database()
        try:
            async with inner_lifespan(app_) as state:
                yield state
        finally:
            _close_records_database()

    app.router.lifespan_context = _lifespan

    @app.middleware("http")
    async def _headers(request: Request, call_next):
        response = await call_next(request)
        _security_headers(request, response)
        return response

    def _wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api/") or "application/json" in request.headers.get(
            "accept", ""
        )

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired):
        if _wants_json(request):
            return JSONResponse({"detail": "login required"}, status_code=401)
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)

    @app.exception_handler(SetupRequired)
    async def _setup_required(request: Request, exc: SetupRequired):
        if _wants_json(request):
            return JSONResponse(
                {"detail": "no user yet: open /setup to create the first admin"}, status_code=401
            )
        return RedirectResponse("/setup", status_code=303)

    @app.exception_handler(security.AccessDenied)
    async def _denied(request: Request, exc: security.AccessDenied):
        if _wants_json(request):
            return JSONResponse({"detail": str(exc)}, status_code=403)
        return page(request, "error.html", title="Not allowed", status_code=403, message=str(exc))

    @app.exception_handler(security.RateLimited)
    async def _limited(request: Request, exc: security.RateLimited):
        return JSONResponse({"detail": str(exc)}, status_code=429)
