"""First-run setup, login and logout pages of the records system."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from plateau.errors import PlateauError
from plateau.store import audit, security
from plateau.store.models import User
from plateau.web.auth import (
    COOKIE,
    CSRF_COOKIE,
    Viewer,
    check_csrf,
    client_ip,
    cookie_secure,
    current_user,
    database,
    viewer,
)
from plateau.web.pages import page

router = APIRouter()


def _form_cookie(request: Request) -> str:
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)


def _with_form_cookie(request: Request, response: Response, token: str) -> Response:
    response.set_cookie(
        CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=cookie_secure(request),
        path="/",
    )
    return response


def _safe_next(value: str | None) -> str:
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/records"


def _login_response(request: Request, session, user: User, target: str) -> Response:
    token, _row = security.start_session(session, user)
    return _session_response(request, token, target)


def _session_response(request: Request, token: str, target: str) -> Response:
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=cookie_secure(request),
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
    try:
        _user, token = security.login(database(request), username, password, ip=client_ip(request))
    except security.RateLimited as exc:
        error, status = str(exc), 429
    except PlateauError as exc:
        error = str(exc)
    else:
        return _session_response(request, token, _safe_next(next))
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
        audit.record(session, current_user(session, v), "logout", "logout", ip=v.ip)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
