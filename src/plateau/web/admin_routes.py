"""Administration: users and care teams, the audit log."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

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


@router.get("/records/audit", response_class=HTMLResponse, include_in_schema=False)
def audit_page(request: Request, patient_id: int | None = None, v: Viewer = Depends(viewer)):
    require(v, "audit.read")
    with database(request).session(write=True) as session:
        rows = audit.entries(session, patient_id=patient_id, limit=500)
        audit.record(
            session, current_user(session, v), "read", "audit log", patient_id=patient_id, ip=v.ip
        )
    return page(
        request, "records_audit.html", title="Audit log", active_nav="/records", viewer=v, rows=rows
    )
