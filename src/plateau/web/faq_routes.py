"""The living FAQ in the browser and the JSON API: index, search, entry pages, PDF, sign-off.

Reading is public (no patient data).  Signing an entry off needs a login with the ``reviewer``
role; it goes through the records login (session cookie, CSRF token) and is stored with an
audit entry in the records database (:mod:`plateau.store.faq_reviews`).

The library is the bundled one unless ``WebSettings.extra["faq_library"]`` or the environment
variable ``PLATEAU_FAQ_LIBRARY`` names a folder.  An entry's status is computed against its
newest review: a sign-off in the records database, or the ``last_review`` of its file.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from plateau.errors import PlateauError
from plateau.faq import CATEGORY_LABELS, Faq, FaqError, Person

# the records login helpers (kept in one place so a move of the records module is a one-line change)
from plateau.web.auth import Viewer, audit_now, check_csrf, database, viewer
from plateau.web.pages import TEMPLATES, page

router = APIRouter()
_LOCK = threading.Lock()
log = logging.getLogger("plateau.web")


def faq_of(request: Request) -> Faq:
    state = request.app.state
    if getattr(state, "faq", None) is None:
        with _LOCK:
            if getattr(state, "faq", None) is None:
                library = state.settings.extra.get("faq_library") or os.environ.get(
                    "PLATEAU_FAQ_LIBRARY"
                )
                state.faq = Faq.open(library, state.evidence)
    return state.faq


def _db_reviews(request: Request) -> dict:
    """Newest database sign-off per entry; {} when the records database is not available."""
    from plateau.store import faq_reviews

    try:
        with database(request).session() as session:
            return faq_reviews.latest_reviews(session)
    except Exception as exc:  # public pages stay up without the records database
        log.warning("faq: records database not available for review status: %s", exc)
        return {}


def _reviews(request: Request, faq: Faq) -> dict:
    """Per entry, the newer of the database sign-off and the file's last_review."""
    out = {}
    for entry_id, (review, origin) in _db_reviews(request).items():
        if entry_id not in faq.library.entries:
            continue
        file_review = faq.entry(entry_id).meta.last_review
        if file_review is None or review.date >= file_review.date:
            out[entry_id] = (review, origin)
    return out


def _status(request: Request, faq: Faq, entry_id: str):
    review, origin = _reviews(request, faq).get(entry_id, (None, None))
    return faq.status(entry_id, review, origin)


def _entry_or_404(faq: Faq, entry_id: str):
    try:
        return faq.entry(entry_id)
    except FaqError as exc:
        raise HTTPException(404, str(exc)) from None


def _summary(faq: Faq, status) -> dict[str, Any]:
    e = faq.entry(status.entry_id)
    return {
        "id": e.id,
        "question": e.meta.question,
        "category": e.meta.category.value,
        "category_label": e.category_label,
        "author": e.meta.author.model_dump(),
        "written": e.meta.written.isoformat(),
        "status": status.status,
        "last_review": status.review.date.isoformat() if status.review else None,
        "url": f"/faq/{e.id}",
    }


def _grouped_numbers(rendered) -> list[dict[str, Any]]:
    """The answer's numbers grouped by the result they come from (one source list per result)."""
    groups: dict[str, dict[str, Any]] = {}
    for i, n in enumerate(rendered.numbers, 1):
        g = groups.setdefault(
            n.key,
            {"label": n.fingerprint.label, "link": n.link, "items": [], "sources": n.sources},
        )
        g["items"].append({"index": i, "text": n.text, "name": n.ref.name, "note": n.note})
    return list(groups.values())


# ---- pages ---------------------------------------------------------------------------------------


@router.get("/faq", response_class=HTMLResponse, include_in_schema=False)
def faq_index(request: Request, by: str = "category"):
    faq = faq_of(request)
    statuses = {s.entry_id: s for s in faq.statuses(_reviews(request, faq))}
    if by == "author":
        groups = [
            (f"author-{i}", name, entries)
            for i, (name, entries) in enumerate(faq.library.by_author().items(), 1)
        ]
    else:
        by = "category"
        groups = [
            (f"cat-{c}", CATEGORY_LABELS[c], entries)
            for c, entries in faq.library.by_category().items()
        ]
    return page(
        request,
        "faq_index.html",
        title="Living FAQ",
        active_nav="/faq",
        by=by,
        groups=groups,
        statuses=statuses,
        q="",
        results=None,
        evidence_version=faq.evidence_version,
    )


@router.get("/faq/search", response_class=HTMLResponse, include_in_schema=False)
def faq_search_page(request: Request, q: str = ""):
    faq = faq_of(request)
    statuses = {s.entry_id: s for s in faq.statuses(_reviews(request, faq))}
    results = faq.search(q[:200])
    return page(
        request,
        "faq_index.html",
        title=f"FAQ search: {q[:60]}" if q else "FAQ search",
        active_nav="/faq",
        by="search",
        groups=[],
        statuses=statuses,
        q=q[:200],
        results=results,
        evidence_version=faq.evidence_version,
    )


def _history(request: Request, entry_id: str) -> list[dict[str, Any]]:
    from plateau.store import faq_reviews

    try:
        with database(request).session() as session:
            return [
                {
                    "at": r.at.strftime("%Y-%m-%d %H:%M UTC"),  # stored in UTC
                    "reviewer": f"{r.reviewer_name} ({r.reviewer_role}, {r.reviewer_affiliation})",
                    "username": r.username,
                    "evidence_version": r.evidence_version,
                    "note": r.note,
                }
                for r in faq_reviews.history(session, entry_id)
            ]
    except Exception as exc:
        log.warning("faq: records database not available for review history: %s", exc)
        return []


def _entry_context(request: Request, entry_id: str) -> dict[str, Any]:
    faq = faq_of(request)
    entry = _entry_or_404(faq, entry_id)
    rendered = faq.render(entry_id)
    return dict(
        entry=entry,
        rendered=rendered,
        groups=_grouped_numbers(rendered),
        status=_status(request, faq, entry_id),
        related=[faq.entry(r) for r in entry.meta.related],
        history=_history(request, entry_id),
        evidence_version=faq.evidence_version,
    )


@router.get("/faq/{entry_id}", response_class=HTMLResponse, include_in_schema=False)
def faq_entry(request: Request, entry_id: str):
    context = _entry_context(request, entry_id)
    return page(
        request,
        "faq_entry.html",
        title=context["entry"].meta.question,
        active_nav="/faq",
        **context,
    )


@router.get("/faq/{entry_id}/transcript.pdf", include_in_schema=False)
def faq_pdf(request: Request, entry_id: str):
    from weasyprint import HTML

    context = _entry_context(request, entry_id)
    html = TEMPLATES.get_template("faq_print.html").render(
        base_url=str(request.base_url).rstrip("/"), **context
    )
    pdf = HTML(string=html, base_url=str(request.base_url)).write_pdf()
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="plateau-faq-{entry_id}.pdf"'},
    )


@router.get("/faq/{entry_id}/review", response_class=HTMLResponse, include_in_schema=False)
def faq_review_form(request: Request, entry_id: str, v: Viewer = Depends(viewer)):
    context = _entry_context(request, entry_id)
    response = page(
        request,
        "faq_review.html",
        title=f"Review: {context['entry'].meta.question}",
        active_nav="/faq",
        viewer=v,
        error=None,
        **context,
    )
    response.headers["Cache-Control"] = "no-store"  # carries the session's form token
    return response


@router.post("/faq/{entry_id}/review", include_in_schema=False)
def faq_review_submit(
    request: Request,
    entry_id: str,
    csrf_token: str = Form(""),
    name: str = Form(""),
    role: str = Form(""),
    affiliation: str = Form(""),
    note: str = Form(""),
    v: Viewer = Depends(viewer),
):
    from pydantic import ValidationError

    from plateau.faq.model import placeholder_reason
    from plateau.store import faq_reviews
    from plateau.store.models import User
    from plateau.store.security import AccessDenied

    check_csrf(csrf_token, v.csrf)
    faq = faq_of(request)
    _entry_or_404(faq, entry_id)
    if not v.can("faq.sign_off"):
        audit_now(request, v, "faq-sign-off", f"faq {entry_id}", outcome="denied",
                  detail="role may not sign off FAQ entries")  # fmt: skip
        raise AccessDenied(f"role: {v.role} may not sign off FAQ entries (needs reviewer)")
    reviewer, problems = None, ""
    try:
        reviewer = Person(name=name.strip(), role=role.strip(), affiliation=affiliation.strip())
    except ValidationError as exc:
        problems = "; ".join(
            f"{e['loc'][0]}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()
        )
    if note.strip() and placeholder_reason(note):
        problems = "; ".join(p for p in (problems, f"note: {placeholder_reason(note)}") if p)
    if reviewer is None or problems:
        context = _entry_context(request, entry_id)
        return page(
            request,
            "faq_review.html",
            title="Review",
            active_nav="/faq",
            viewer=v,
            error=problems,
            status_code=422,
            **context,
        )
    if len(note) > 2000:
        raise PlateauError("note: at most 2,000 characters")
    with database(request).session(write=True) as session:
        user = session.get(User, v.user_id)
        if user is None:  # the session outlived its user
            raise AccessDenied("login: the signed-in user no longer exists")
        faq_reviews.sign_off(session, user, faq, entry_id, reviewer, note=note.strip(), ip=v.ip)
    return RedirectResponse(f"/faq/{entry_id}#review", status_code=303)


# ---- JSON API ------------------------------------------------------------------------------------


@router.get("/api/v1/faq", tags=["faq"], summary="FAQ entries with their review status")
def api_faq_list(request: Request, category: str | None = None):
    faq = faq_of(request)
    if category is not None and category not in CATEGORY_LABELS:
        raise PlateauError(f"category: {category!r}; known: {', '.join(CATEGORY_LABELS)}")
    rows = [_summary(faq, s) for s in faq.statuses(_reviews(request, faq))]
    if category:
        rows = [r for r in rows if r["category"] == category]
    return {"evidence_version": faq.evidence_version, "entries": rows}


@router.get("/api/v1/faq/search", tags=["faq"], summary="Full-text search of the FAQ")
def api_faq_search(request: Request, q: str = ""):
    faq = faq_of(request)
    return {
        "query": q[:200],
        "entries": [{"id": e.id, "question": e.meta.question} for e in faq.search(q[:200])],
    }


@router.get(
    "/api/v1/faq/{entry_id}",
    tags=["faq"],
    summary="One entry: answer with live numbers and their sources, status and diff",
)
def api_faq_entry(request: Request, entry_id: str):
    faq = faq_of(request)
    _entry_or_404(faq, entry_id)
    status = _status(request, faq, entry_id)
    return faq.render(entry_id).to_dict() | {
        "status": status.to_dict(),
        "review_history": _history(request, entry_id),
    }


def install(app) -> None:
    """Add the FAQ routes and its navigation item."""
    app.include_router(router)
    app.state.nav_items.append(("/faq", "FAQ"))
