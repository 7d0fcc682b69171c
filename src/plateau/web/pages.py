"""Templates and the page helper shared by every route module.

Route modules import this module (never :mod:`plateau.web.app`), so the application factory
imports the route modules and nothing imports back: no import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from plateau import __version__
from plateau.evidence.vocabulary import TEMPLATE_FILTERS

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES = Jinja2Templates(directory=str(WEB_DIR / "templates"))
TEMPLATES.env.filters.update(TEMPLATE_FILTERS)  # one vocabulary: {{ code | label("setting") }}


@pass_context
def _path_for(context: dict, name: str, /, **path_params: Any) -> str:
    """``url_for`` in templates gives the PATH only: the Host header never reaches a page."""
    return str(context["request"].app.url_path_for(name, **path_params))


TEMPLATES.env.globals["url_for"] = _path_for

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


def wants_html(request: Request) -> bool:
    """Whether an error should be answered as a page (a browser asking for a non-API path)."""
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )
