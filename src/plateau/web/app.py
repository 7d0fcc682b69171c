"""The plateau web application (FastAPI + Jinja2 + htmx, server-rendered).

``create_app()`` builds the app on the embedded defaults: the bundled evidence base and a SQLite
database under ``var/`` for what must be stored.  Every script, style and font is served by the
app itself (``/static``) so it works on a closed clinical network.  HTML pages live at the root;
the JSON API lives under ``/api/v1`` with OpenAPI docs at ``/api/docs``.

Errors a user can cause (bad query values, bad analysis specs) answer 422 naming the field;
unknown resources answer 404; neither is ever a 500.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from plateau import __version__
from plateau.errors import PlateauError

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES = Jinja2Templates(directory=str(WEB_DIR / "templates"))

NAV_ITEMS: list[tuple[str, str]] = [
    ("/", "Home"),
    ("/evidence", "Evidence"),
    ("/analyses", "Analyses"),
    ("/networks", "Which maintenance?"),
    ("/report", "Living report"),
    ("/decide", "Decision support"),
]


@dataclass
class WebSettings:
    """Where the app finds its evidence and keeps its data."""

    evidence_path: Path | None = None  #: None = the bundled evidence base
    database_url: str | None = None  #: None = sqlite:///var/plateau.sqlite
    extra: dict[str, Any] = field(default_factory=dict)


def page(
    request: Request,
    template: str,
    *,
    title: str,
    active_nav: str | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a full page with the site chrome (navigation, disclaimer, evidence version)."""
    state = request.app.state
    version = getattr(state, "evidence_version", None) or "unknown"
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "title": title,
            "nav_items": state.nav_items,
            "active_nav": active_nav,
            "version": __version__,
            "evidence_version_short": version[:12],
            **context,
        },
        status_code=status_code,
    )


def _load_evidence(settings: WebSettings):
    from plateau.evidence import load_bundled, load_path

    return load_path(settings.evidence_path) if settings.evidence_path else load_bundled()


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


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
    app.mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static")

    @app.middleware("http")
    async def _server_timing(request: Request, call_next):
        """``Server-Timing: app;dur=<ms>``: the server-side time of each request (benchmarks read it)."""
        import time

        started = time.perf_counter()
        response = await call_next(request)
        response.headers["Server-Timing"] = f"app;dur={1000 * (time.perf_counter() - started):.3f}"
        return response

    @app.exception_handler(PlateauError)
    async def _plateau_error(request: Request, exc: PlateauError):
        if _wants_html(request):
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
        if _wants_html(request):
            text = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
            return page(
                request, "error.html", title="Cannot do that", status_code=422, message=text
            )
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        if _wants_html(request):
            return page(
                request,
                "error.html",
                title="Not found" if exc.status_code == 404 else "Error",
                status_code=exc.status_code,
                message=str(exc.detail),
            )
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    from plateau.web import analysis_routes, evidence_routes

    app.include_router(evidence_routes.router)

    from plateau.web import records_routes

    records_routes.install(app)  # clinical records: login, patients, timeline, alerts, import
    app.include_router(analysis_routes.router)
    from plateau.web import decide_routes

    app.include_router(decide_routes.router)
    from plateau.web import faq_routes

    faq_routes.install(app)  # living FAQ: pages, API, reviewer sign-off

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def home(request: Request):
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

        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title="plateau API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    @app.get("/healthz", include_in_schema=False)
    async def healthz():
        return {"status": "ok", "version": __version__}

    return app
