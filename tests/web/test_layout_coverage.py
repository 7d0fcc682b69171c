"""The overflow test (test_layout_overflow.py) visits every HTML page the app serves.

Every GET route that answers with a page (not the JSON API, a PDF, a download or a redirect)
must match at least one path in the overflow test's page lists, so that a new page cannot
escape the phone-width check.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from starlette.routing import Route

from plateau.web.app import WebSettings, create_app

#: routes that serve no HTML page of their own: the API, files, downloads, and the htmx
#: partials that fill a page already checked (/analyses/result into /analyses, /decide/{id}/quality
#: into the decision result); /setup is the first-run page, which redirects once an administrator
#: exists (as on the overflow test's site), so it is not covered there
NOT_PAGES = re.compile(
    r"^/(api|static|healthz|logout|setup$)|\.(pdf|svg|png|csv|json|xlsx)$|/fhir$|\{fmt\}"
    r"|/download/|^/analyses/result$|^/decide/\{ident\}/quality$"
)


def _overflow_module():
    spec = importlib.util.spec_from_file_location(
        "layout_overflow", Path(__file__).with_name("test_layout_overflow.py")
    )
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def _routes(routes, prefix: str = ""):
    """Every Route, through included routers (FastAPI wraps them, ``original_router``)."""
    for r in routes:
        if isinstance(r, Route):
            yield r
        inner = getattr(r, "original_router", None)
        if inner is not None:
            yield from _routes(inner.routes)


def test_every_html_page_is_in_the_overflow_test(tmp_path):
    module = _overflow_module()
    site = {"decision": "D", "patient": 1, "base": ""}
    visited = [
        p.split("?")[0] for p in (module._public_pages(site) | module._records_pages(site)).values()
    ]
    app = create_app(WebSettings(database_url=f"sqlite:///{tmp_path / 'x.sqlite'}"))
    pages = sorted(
        {
            r.path
            for r in _routes(app.routes)
            if "GET" in (r.methods or set()) and not NOT_PAGES.search(r.path)
        }
    )
    assert len(pages) > 20
    missing = []
    for path in pages:
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$"
        if not any(re.match(pattern, v) for v in visited):
            missing.append(path)
    assert missing == []
