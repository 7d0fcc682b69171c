"""Authentication, sessions, CSRF, permissions and audit helpers of the records pages.

Every records route depends on :func:`viewer` (the logged-in user of the request) and asks the
ONE permission table (:mod:`plateau.store.permissions`) through :meth:`Viewer.can` /
:func:`require`; :func:`install` adds the security headers, the login redirect, the error
answers and the database lifespan to the app.

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
import threading
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import FastAPI, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select

from plateau.errors import PlateauError
from plateau.store import audit, permissions, security
from plateau.store import db as store_db
from plateau.store.models import Patient, User
from plateau.web.pages import page

DbId = Annotated[int, Path(gt=0, lt=2**63)]  #: an internal id in a URL (64-bit, never a 500)

COOKIE = "plateau_session"
CSRF_COOKIE = "plateau_csrf"
PROTECTED_PREFIXES = ("/records", "/login", "/logout", "/setup", "/api/v1/records")
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_DB_LOCK = threading.Lock()


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

    def can(self, action: str) -> bool:
        return permissions.allowed(self.role, action)

    @property
    def identified(self) -> bool:
        return self.can("records.identified")


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
    """The client's address: the TCP peer, or - only when the peer is a configured trusted proxy
    (``WebSettings.extra["trusted_proxies"]``) - the nearest untrusted X-Forwarded-For entry."""
    peer = request.client.host if request.client else ""
    trusted = set(request.app.state.settings.extra.get("trusted_proxies") or ())
    if peer not in trusted:
        return peer[:64]
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop[:64]
    return peer[:64]


def cookie_secure(request: Request) -> bool:
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


def require(v: Viewer, action: str) -> None:
    """Raise AccessDenied (answered 403) unless the viewer's role may perform ``action``."""
    permissions.require(v.role, action)


def check_csrf(sent: str | None, expected: str | None) -> None:
    if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise security.AccessDenied(
            "csrf_token: missing or wrong form token; reload the page and try again"
        )


def current_user(session, v: Viewer) -> User:
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
        audit.record_many(
            session,
            None,
            action,
            resource,
            patient_ids,
            ip=v.ip,
            outcome=outcome,
            detail=detail,
            user_id=v.user_id,
            username=v.username,
        )


def listed(request: Request, v: Viewer, patient_ids, what: str) -> None:
    """One audit entry per patient shown (in one write transaction, after the read)."""
    audit_now(request, v, "list", what, sorted(set(patient_ids)))


def resolve_patient(session, v: Viewer, ref: str) -> Patient | None:
    """The patient a URL names: the pseudonym (everyone) or the internal id (identified users
    only: a researcher never sees or uses ids that follow import order)."""
    ref = (ref or "").strip()
    if len(ref) > 40:
        return None
    if ref.isdigit():
        if not v.identified or not 0 < int(ref) < 2**63:
            return None
        return session.get(Patient, int(ref))
    return session.scalar(select(Patient).where(Patient.pseudonym == ref))


def visible_patient(
    request: Request, session, v: Viewer, patient_id: int | str, what: str
) -> Patient:
    """The patient if ``v`` may see it; otherwise audit the denial and answer 404 (no existence
    leak)."""
    from starlette.exceptions import HTTPException

    user = current_user(session, v)
    patient = resolve_patient(session, v, str(patient_id))
    if patient is None or not security.can_see(session, user, patient):
        audit_now(
            request,
            v,
            "read",
            what,
            [patient.id if patient else None],
            outcome="denied",
            detail="not found or outside the user's care teams",
        )
        raise HTTPException(404, "no such patient in your care teams")
    return patient


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


def _audit_denial(request: Request, message: str) -> None:
    """Role and CSRF denials are audited (who, which address, what was refused)."""
    try:
        db = database(request)
        with db.session(write=True) as session:
            row = security.session_for_token(session, request.cookies.get(COOKIE))
            audit.record(
                session,
                row.user if row else None,
                "deny",
                f"{request.method} {request.url.path}"[:200],
                ip=client_ip(request),
                outcome="denied",
                detail=message[:500],
            )
    except PlateauError:  # the database is unavailable: the 403 still stands
        logging.getLogger("plateau.web").warning("could not audit a denial")


class _NoQueryInAccessLog(logging.Filter):
    """Access-log lines keep the path but drop the query string (search terms such as patient
    names typed into ``/records?q=`` never reach the log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


ACCESS_LOG_FILTER = _NoQueryInAccessLog()


def _refresh_stale(db) -> None:
    from plateau.store.monitoring import refresh_stale

    try:
        refresh_stale(db)
    except Exception:  # noqa: BLE001 - derived data; the pages compute live when it is missing
        logging.getLogger("plateau.web").warning("could not refresh stored monitoring results")


def install(app: FastAPI) -> None:
    """Add the security headers, the login redirect and the records database lifespan to ``app``."""
    app.state.nav_items.append(("/records", "Records"))
    access = logging.getLogger("uvicorn.access")
    if ACCESS_LOG_FILTER not in access.filters:
        access.addFilter(ACCESS_LOG_FILTER)

    def _open_records_database() -> None:
        """Create or migrate the database when the server starts (no manual step on a first start).

        A failure (e.g. an unreachable PostgreSQL) must not take the public pages down: it is
        logged, and the records pages report it when they are opened.
        """
        try:
            db = database_of(app)
        except PlateauError as exc:
            logging.getLogger("plateau.web").warning("records database not ready: %s", exc)
            return
        if app.state.settings.extra.get("refresh_on_start", True):
            # stored monitoring results missing or out of date (e.g. an interrupted import):
            # recompute in the background, in short transactions; pages compute live meanwhile
            threading.Thread(target=_refresh_stale, args=(db,), daemon=True).start()

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
        await run_in_threadpool(_audit_denial, request, str(exc))
        if _wants_json(request):
            return JSONResponse({"detail": str(exc)}, status_code=403)
        return page(request, "error.html", title="Not allowed", status_code=403, message=str(exc))

    @app.exception_handler(security.RateLimited)
    async def _limited(request: Request, exc: security.RateLimited):
        return JSONResponse({"detail": str(exc)}, status_code=429)
