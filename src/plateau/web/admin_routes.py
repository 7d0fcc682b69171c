"""Administration: users and care teams, the audit log."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

from plateau.errors import PlateauError
from plateau.store import audit, security
from plateau.store.models import ROLES, CareTeam, User
from plateau.web.auth import Viewer, check_csrf, current_user, database, require, viewer
from plateau.web.pages import page

router = APIRouter()


@router.get("/records/admin", response_class=HTMLResponse, include_in_schema=False)
def admin_page(request: Request, v: Viewer = Depends(viewer)):
    require(v, "users.manage")
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
    require(v, "users.manage")
    names = [t.strip() for t in teams.split(",") if t.strip()]
    with database(request).session(write=True) as session:
        user = security.create_user(session, username.strip(), password, role, names)
        audit.record(
            session, current_user(session, v), "create", f"user {user.username} ({role})", ip=v.ip
        )
    return RedirectResponse("/records/admin", status_code=303)


USER_ACTIONS = ("deactivate", "activate", "role", "teams", "password", "end-sessions", "unlock")


@router.post("/records/admin/users/{username}/{action}", include_in_schema=False)
def admin_change_user(
    request: Request,
    username: str,
    action: str,
    csrf_token: str = Form(""),
    role: str = Form(""),
    teams: str = Form(""),
    password: str = Form(""),
    v: Viewer = Depends(viewer),
):
    """Deactivate / activate, change role or care teams, reset the password, end the sessions or
    clear the failed-login counters of a user.  Every change is audited; nothing is deleted."""
    check_csrf(csrf_token, v.csrf)
    require(v, "users.manage")
    if action not in USER_ACTIONS:
        raise PlateauError(f"action: one of {', '.join(USER_ACTIONS)}")
    with database(request).session(write=True) as session:
        actor = current_user(session, v)
        target = security.find_user(session, username)
        if action in ("deactivate", "activate"):
            if action == "deactivate" and target.id == actor.id:
                raise PlateauError("active: you cannot deactivate your own account")
            security.set_active(session, target, action == "activate", actor=actor, ip=v.ip)
        elif action == "role":
            security.set_role(session, target, role.strip(), actor=actor, ip=v.ip)
        elif action == "teams":
            names = [t.strip() for t in teams.split(",") if t.strip()][:50]
            security.set_teams(session, target, names, actor=actor, ip=v.ip)
        elif action == "password":
            security.reset_password(session, target, password, actor=actor, ip=v.ip)
        elif action == "end-sessions":
            security.end_sessions(session, target, actor=actor, ip=v.ip)
        else:
            security.unlock(session, target, actor=actor, ip=v.ip)
    return RedirectResponse("/records/admin", status_code=303)


@router.get("/records/audit", response_class=HTMLResponse, include_in_schema=False)
def audit_page(
    request: Request,
    patient_id: int | None = Query(None, gt=0, lt=2**63),
    v: Viewer = Depends(viewer),
):
    require(v, "audit.read")
    with database(request).session(write=True) as session:
        rows = audit.entries(session, patient_id=patient_id, limit=500)
        audit.record(
            session, current_user(session, v), "read", "audit log", patient_id=patient_id, ip=v.ip
        )
    return page(
        request, "records_audit.html", title="Audit log", active_nav="/records", viewer=v, rows=rows
    )
