"""The plateau web application (FastAPI + Jinja2 + htmx, server-rendered).

``create_app()`` builds the app on the embedded defaults: the bundled evidence base and a SQLite
database under ``var/`` for what must be stored.  Every script, style and font is served by the
app itself (``/static``) so it works on a closed clinical network.  HTML pages live at the root;
the JSON API lives under ``/api/v1`` with OpenAPI docs at ``/api/docs``.

Errors a user can cause (bad query values, bad analysis specs) answer 422 naming the field;
unknown resources answer 404; neither is ever a 500.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from plateau import __version__
from plateau.errors import PlateauError
from plateau.web import (
    admin_routes,
    alerts_routes,
    analysis_routes,
    auth,
    decide_routes,
    evidence_routes,
    faq_routes,
    import_routes,
    login_routes,
    records_routes,
)
from plateau.web.limits import BodyLimit
from plateau.web.pages import NAV_ITEMS, TEMPLATES, WEB_DIR, WebSettings, page, wants_html

__all__ = ["NAV_ITEMS", "TEMPLATES", "WebSettings", "create_app", "page"]


def server_config(app: FastAPI, host: str, port: int, **options):
    """The uvicorn configuration plateau serves with.

    ``proxy_headers=False``: uvicorn would otherwise trust ``X-Forwarded-For`` from loopback,
    letting any local process forge the client address written to the audit log and used by
    login throttling.  Proxies are trusted only when configured
    (``WebSettings.extra["trusted_proxies"]``; see :func:`plateau.web.auth.client_ip`).
    """
    import uvicorn

    return uvicorn.Config(app, **server_options(host=host, port=port, **options))


def server_options(**options: Any) -> dict[str, Any]:
    """The options of :func:`server_config` (also for ``uvicorn.run`` with several workers)."""
    options.setdefault("log_level", "info")
    options["proxy_headers"] = False
    return options


SETTINGS_ENV = "PLATEAU_SERVE_SETTINGS"  #: the settings handed to worker processes


def prepare_workers(settings: WebSettings) -> str:
    """Get the database ready once, then hand the settings to worker processes.

    With several uvicorn workers each process builds its own app (:func:`app_from_environment`,
    named by the returned import string).  The records database is created or migrated here,
    once, and stale stored monitoring results are recomputed here, so that the workers neither
    race to migrate nor repeat the refresh (they start with ``refresh_on_start`` off).  Login
    throttling, sessions and alerts live in the database, so they hold across workers.
    """
    import json
    import os

    from plateau.store import db as store_db
    from plateau.store.monitoring import refresh_stale

    db = store_db.open_database(settings.database_url)
    try:
        if settings.extra.get("refresh_on_start", True):
            refresh_stale(db)
    finally:
        db.dispose()
    os.environ[SETTINGS_ENV] = json.dumps(
        {
            "evidence_path": None
            if settings.evidence_path is None
            else str(settings.evidence_path),
            "database_url": settings.database_url,
            "extra": {**settings.extra, "refresh_on_start": False},
        }
    )
    return "plateau.web.app:app_from_environment"


def app_from_environment() -> FastAPI:
    """The app of one worker process, from the settings :func:`prepare_workers` handed down."""
    import json
    import os

    raw = json.loads(os.environ[SETTINGS_ENV])
    evidence = raw.get("evidence_path")
    return create_app(
        WebSettings(
            evidence_path=Path(evidence) if evidence else None,
            database_url=raw.get("database_url"),
            extra=raw.get("extra") or {},
        )
    )


def _load_evidence(settings: WebSettings):
    from plateau.evidence import load_bundled, load_path

    return load_path(settings.evidence_path) if settings.evidence_path else load_bundled()


def create_app(settings: WebSettings | None = None) -> FastAPI:
    """Build the web application."""
    settings = settings or WebSettings()
    app = FastAPI(
        title="plateau",
        version=__version__,
        description="Maintenance therapy in multiple myeloma: evidence, meta-analysis, decision "
        "support, monitoring. Decision support, not a prescription.",
        docs_url=None,  # served below with the vendored Swagger UI (no CDN)
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.settings = settings
    app.state.nav_items = list(NAV_ITEMS)
    app.state.evidence = _load_evidence(settings)
    app.state.evidence_version = app.state.evidence.version
    app.add_middleware(BodyLimit)
    app.mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static")

    @app.middleware("http")
    async def _server_timing(request: Request, call_next):
        """``Server-Timing: app;dur=<ms>``: the server-side time of each request (benchmarks read
        it)."""
        import time

        started = time.perf_counter()
        response = await call_next(request)
        response.headers["Server-Timing"] = f"app;dur={1000 * (time.perf_counter() - started):.3f}"
        return response

    @app.exception_handler(PlateauError)
    async def _plateau_error(request: Request, exc: PlateauError):
        if wants_html(request):
            return page(
                request, "error.html", title="Cannot do that", status_code=422, message=str(exc)
            )
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        errors = [
            {
                "field": ".".join(
                    str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")
                ),
                "message": err.get("msg", "invalid value"),
            }
            for err in exc.errors()
        ]
        if wants_html(request):
            text = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
            return page(
                request, "error.html", title="Cannot do that", status_code=422, message=text
            )
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        if wants_html(request):
            return page(
                request,
                "error.html",
                title="Not found" if exc.status_code == 404 else "Error",
                status_code=exc.status_code,
                message=str(exc.detail),
            )
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    app.include_router(evidence_routes.router)
    # clinical records: security headers, login redirect, database lifespan, then the routes
    auth.install(app)
    for module in (login_routes, records_routes, alerts_routes, import_routes, admin_routes):
        app.include_router(module.router)
    app.include_router(analysis_routes.router)
    app.include_router(decide_routes.router)
    faq_routes.install(app)  # living FAQ: pages, API, reviewer sign-off

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request):
        return page(
            request,
            "home.html",
            title="Maintenance therapy in myeloma",
            active_nav="/",
            headline=analysis_routes.headline_rows(request),
        )

    @app.get("/api/docs", include_in_schema=False)
    async def api_docs():
        from fastapi.openapi.docs import get_swagger_ui_html

        docs = get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title="plateau API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )
        # a language for screen readers, a page heading and a way back into the app
        html = bytes(docs.body).decode("utf-8")
        html = html.replace("<html>", '<html lang="en">', 1).replace(
            "<body>",
            '<body><header style="font-family:system-ui,sans-serif;padding:.5rem 1rem;'
            'background:#1f4e79;color:#fff">'
            '<p style="font-size:1.1rem;font-weight:700;margin:0">plateau API '
            '<a href="/" style="color:#fff;font-size:.9rem;font-weight:400;margin-left:1rem">'
            "back to plateau</a></p></header>",
            1,
        )
        return HTMLResponse(html)

    @app.get("/healthz", include_in_schema=False)
    async def healthz():
        return {"status": "ok", "version": __version__}

    return app
