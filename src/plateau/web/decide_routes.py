"""Shared decision support in the browser and the decisions API.

Pages
    ``GET /decide`` - the profile form (labels, hints, inline errors);
    ``POST /decide`` - validate, decide, save the snapshot, redirect to its page;
    ``GET /decide/{id}`` - the options side by side with icon arrays of 100 people;
    ``GET /decide/{id}/handout`` and ``/handout.pdf`` - the one-page handout (WeasyPrint).
API
    ``POST /api/v1/decisions`` (body: the profile; query ``horizon_years``) -> 201 with the
    snapshot and its ``id``; a bad profile answers 422 with ``detail: [{field, message}]``;
    ``GET /api/v1/decisions/{id}``.

Every page is rendered from the stored snapshot (a plain dict), so what is shown, printed and
stored can never disagree.  Icon arrays are inline SVG with ``<title>``/``<desc>`` and a visible
sentence as text alternative (IPDAS: same denominator of 100 and a stated horizon throughout).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from plateau.decide import (
    CHOICES,
    MemoryDecisionStore,
    ProfileError,
    decide,
    parse_profile,
    profile_from_form,
)
from plateau.decide.profile import CHOICE_LABELS
from plateau.decide.results import people
from plateau.errors import PlateauError
from plateau.rules import decision as R
from plateau.store.models import User
from plateau.web.artefacts import artefacts
from plateau.web.auth import audit_now, check_csrf, database, require, viewer, visible_patient
from plateau.web.pages import TEMPLATES, page

router = APIRouter()

COLOURS = {
    "anyway": "#1f5f99",  # event-free without the option too
    "extra": "#2e9e4f",  # extra event-free thanks to the option
    "lost": "#d9822b",  # fewer event-free with the option
    "event": "#d7dce1",  # progressed / died
    "harm_base": "#b35c00",  # harm that happens without maintenance too
    "harm_extra": "#c0392b",  # extra harm with the option
    "none": "#e6e9ed",
}


def store_of(request: Request) -> MemoryDecisionStore:
    """The public decision aid's snapshots: in memory only, bounded (no health data on disk)."""
    state = request.app.state
    store = getattr(state, "public_decisions", None)
    if store is None:
        store = state.public_decisions = MemoryDecisionStore(max_entries=1000)
    return store


# --------------------------------------------------------------------------------------------
# icon arrays
# --------------------------------------------------------------------------------------------


def icon_array_svg(
    groups: list[tuple[int, str, str]],
    *,
    title: str,
    desc: str,
    uid: str,
    range_: tuple[int, int] | None = None,
    size: float = 1.0,
) -> str:
    """An icon array of 100 people as inline SVG.

    ``groups`` are ``(count, colour, label)`` filled in order, row by row (10 x 10); people with
    index in ``range_`` (start inclusive, end exclusive) get a dashed outline: the uncertainty
    range.  ``title``/``desc`` are the text alternative.
    """
    w, h = 14 * size, 26 * size
    width, height = 10 * w, 10 * h
    colours: list[tuple[str, str]] = []
    for count, colour, label in groups:
        colours.extend([(colour, label)] * max(0, count))
    colours = (colours + [(COLOURS["none"], "")] * 100)[:100]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="icon-array" role="img" '
        f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'aria-labelledby="{uid}-t {uid}-d"><title id="{uid}-t">{html.escape(title)}</title>'
        f'<desc id="{uid}-d">{html.escape(desc)}</desc>'
    ]
    for i, (colour, _label) in enumerate(colours):
        row, col = divmod(i, 10)
        x, y = col * w, row * h
        cx = x + w / 2
        parts.append(
            f'<g fill="{colour}">'
            f'<circle cx="{cx:.1f}" cy="{y + 5.5 * size:.1f}" r="{4 * size:.1f}"/>'
            f'<rect x="{x + 2.5 * size:.1f}" y="{y + 11 * size:.1f}" width="{w - 5 * size:.1f}" '
            f'height="{13 * size:.1f}" rx="{3.5 * size:.1f}"/></g>'
        )
        if range_ and range_[0] <= i < range_[1]:
            m = 0.8 * size
            parts.append(
                f'<rect x="{x + m:.2f}" y="{y + m:.2f}" '
                f'width="{w - 2 * m:.2f}" height="{h - 2 * m:.2f}" '
                f'fill="none" stroke="#111" stroke-width="{size:.2f}" '
                f'stroke-dasharray="{2 * size:.2f} {1.5 * size:.2f}"/>'
            )
    parts.append("</svg>")
    return "".join(parts)


def benefit_array(
    option: dict, outcome: str, horizon: dict, uid: str, size: float = 1.0
) -> dict[str, Any]:
    """Icon array and sentences for one option, outcome (pfs/os) and horizon."""
    words = "alive without progression" if outcome == "pfs" else "alive"
    s0 = people(horizon["without_per_100"]["estimate"])
    s1 = people(horizon["with_per_100"]["estimate"])
    years = horizon["horizon_years"]
    when = f"{years:g} year{'s' if years != 1 else ''}"
    if option["is_reference"]:
        groups = [(s0, COLOURS["anyway"], words), (100 - s0, COLOURS["event"], "not " + words)]
        lo, hi = (
            people(horizon["without_per_100"]["low"]),
            people(horizon["without_per_100"]["high"]),
        )
        sentence = (
            f"After {when}, about {s0} of 100 people would be {words} without maintenance "
            f"(between {lo} and {hi})."
        )
        rng = (min(lo, hi), max(lo, hi))
    else:
        diff = s1 - s0
        lo, hi = (
            people(horizon["difference_per_100"]["low"]),
            people(horizon["difference_per_100"]["high"]),
        )
        if diff >= 0:
            groups = [
                (s0, COLOURS["anyway"], f"{words} anyway"),
                (diff, COLOURS["extra"], f"extra {words}"),
                (100 - s1, COLOURS["event"], "not " + words),
            ]
        else:
            groups = [
                (s1, COLOURS["anyway"], f"{words} anyway"),
                (-diff, COLOURS["lost"], f"fewer {words}"),
                (100 - s0, COLOURS["event"], "not " + words),
            ]
        rng = (
            (max(0, s0 + lo), min(100, s0 + hi))
            if diff >= 0
            else (max(0, s0 + lo), min(100, s0 + hi))
        )
        change = f"{abs(diff)} {'more' if diff >= 0 else 'fewer'}"
        span = _span(lo, hi)
        sentence = (
            f"After {when}, about {s1} of 100 people taking {option['label'].lower()} would be "
            f"{words}, "
            f"compared with {s0} of 100 without maintenance: {change} ({span})."
        )
    svg = icon_array_svg(
        groups,
        title=f"{option['label']}: {words} after {when}",
        desc=sentence,
        uid=uid,
        range_=rng if rng[1] > rng[0] else None,
        size=size,
    )
    if option["is_reference"]:
        short = f"{s0} of 100 {words} (between {rng[0]} and {rng[1]})."
    else:
        short = f"{s1} of 100 vs {s0} without: {change} ({span})."
    return {"svg": svg, "sentence": sentence, "short": short}


def _span(lo: int, hi: int) -> str:
    if lo >= 0:
        return f"between {lo} and {hi} more"
    if hi <= 0:
        return f"between {-hi} and {-lo} fewer"
    return f"between {-lo} fewer and {hi} more"


def harm_array(option: dict, harm: dict, uid: str, size: float = 0.6) -> dict[str, Any] | None:
    if harm["with_per_100"] is None or harm["unit"] != "per 100 patients":
        return None
    with_ = people(harm["with_per_100"])
    without = people(harm["without_per_100"]) if harm["without_per_100"] is not None else None
    if without is None:
        groups = [(with_, COLOURS["harm_extra"], "with the option")]
        sentence = (
            f"{harm['label']} ({harm['grade_words']}): {with_} of 100 people taking "
            f"{option['label'].lower()}"
            f" {harm['timeframe']}; the control arm's number was not reported "
            f"({harm['trial_name']})."
        )
    else:
        base, extra = min(with_, without), max(0, with_ - without)
        groups = [
            (base, COLOURS["harm_base"], "also without maintenance"),
            (extra, COLOURS["harm_extra"], "extra"),
        ]
        sentence = (
            f"{harm['label']} ({harm['grade_words']}): {with_} of 100 people with "
            f"{option['label'].lower()} "
            f"vs {without} of 100 without maintenance, {harm['timeframe']} ({harm['trial_name']})."
        )
    svg = icon_array_svg(
        groups, title=f"{harm['label']}: {with_} of 100", desc=sentence, uid=uid, size=size
    )
    return {"svg": svg, "sentence": sentence, "projected": projected_text(harm)}


def projected_text(harm: dict) -> str | None:
    """``Over 5 years: about 13 of 100 (8 to 19) vs 4 (2 to 8) without`` (stated assumption)."""
    p = harm.get("projected")
    if not p:
        return None
    w, wo = p["with_per_100"], p["without_per_100"]
    text = (
        f"Over {p['horizon_years']:g} years for this patient: about {people(w['estimate'])} of 100 "
        f"({people(w['low'])} to {people(w['high'])})"
    )
    if wo:
        text += (
            f" vs {people(wo['estimate'])} ({people(wo['low'])} to {people(wo['high'])}) "
            "without maintenance"
        )
    return text + "."


def harm_short(harm: dict) -> str:
    """``Neutropenia (grade 3-4, severe): 23 vs 0 of 100 (RV-MM-PI-209, 51 mo)`` for the handout."""
    where = harm["trial_name"] + (
        f", {harm['horizon_months']:g} mo" if harm["horizon_months"] else ""
    )
    if harm["with_per_100"] is None:
        return f"{harm['label']}: {harm['statement'] or 'no number'} ({where})"
    without = "n/r" if harm["without_per_100"] is None else f"{people(harm['without_per_100'])}"
    unit = "of 100" if harm["unit"] == "per 100 patients" else "per 100 patient-years"
    text = (
        f"{harm['label']} ({harm['grade_words']}): {people(harm['with_per_100'])} vs {without} "
        f"{unit} ({where})"
    )
    p = harm.get("projected")
    if p:
        wo = p["without_per_100"]
        text += f"; over {p['horizon_years']:g} y ~{people(p['with_per_100']['estimate'])}" + (
            f" vs {people(wo['estimate'])}" if wo else ""
        )
    return text


VALUE_LEVELS = ("very", "somewhat", "not")


def parse_values(query: dict) -> dict[str, str]:
    """The values-clarification answers from the query (``v_pfs=very`` ...); others ignored."""
    ids = {q["id"] for q in R.values_data()["questions"]}
    out = {}
    for key, value in query.items():
        if key.startswith("v_") and key[2:] in ids and value in VALUE_LEVELS:
            out[key[2:]] = value
    return out


def quality_rows(snapshot: dict, u_tox: float, u_rel: float) -> list[dict[str, Any]]:
    """Q-TWiST of each option at utilities ``u_tox``/``u_rel`` from the stored partition.

    The partition (TOX, TWiST, REL) does not depend on the utilities, so moving a slider
    recomputes ``u_TOX TOX + TWiST + u_REL REL`` exactly without re-running the model.
    """
    rows, ref = [], None
    for option in snapshot["options"]:
        q = option.get("qtwist")
        if not q:
            continue
        value = u_tox * q["tox_months"] + q["twist_months"] + u_rel * q["rel_months"]
        if option["is_reference"]:
            ref = value
        rows.append({"option": option, "q": q, "value": value})
    for row in rows:
        row["gain"] = None if ref is None or row["option"]["is_reference"] else row["value"] - ref
        total = row["q"]["os_months"] or 1.0
        row["widths"] = [
            100 * row["q"][k] / total for k in ("tox_months", "twist_months", "rel_months")
        ]
    return rows


def view_model(
    snapshot: dict,
    years: float | None = None,
    *,
    size: float = 1.0,
    harm_size: float = 0.6,
    values: dict[str, str] | None = None,
) -> dict:
    """Everything the result page and the handout show, from the stored snapshot."""
    horizons = snapshot["horizons_years"]
    years = years if years in horizons else snapshot["rmst_horizon_years"]
    options = []
    for k, option in enumerate(snapshot["options"]):
        item = {"option": option, "pfs": None, "os": None, "harms": []}
        for outcome in ("pfs", "os"):
            out = option[outcome]
            if out["available"]:
                horizon = next(h for h in out["horizons"] if h["horizon_years"] == years)
                item[outcome] = {
                    "horizon": horizon,
                    **benefit_array(option, outcome, horizon, f"o{k}{outcome}", size=size),
                }
        for j, harm in enumerate(option["harms"]):
            item["harms"].append(
                {
                    "harm": harm,
                    "array": harm_array(option, harm, f"o{k}h{j}", size=harm_size),
                    "short": harm_short(harm),
                }
            )
        options.append(item)
    sources: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for option in snapshot["options"]:
        for s in option["sources"]:
            key = s["citation"]
            if key not in index:
                index[key] = len(sources) + 1
                sources.append(
                    {"n": index[key], "citation": s["citation"], "link": s["link"], "used_for": []}
                )
            if s["used_for"] not in sources[index[key] - 1]["used_for"]:
                sources[index[key] - 1]["used_for"].append(s["used_for"])
    for item in options:
        item["not_reported_short"] = ", ".join(
            label.split(" (")[0].lower() for label in item["option"]["harms_not_reported"]
        )
    u = snapshot.get("utilities") or R.QTWIST_DEFAULTS
    vdata = snapshot.get("values") or R.values_data()
    values = values or {}
    return {
        "snapshot": snapshot,
        "years": years,
        "horizons": horizons,
        "options": options,
        "sources": sources,
        "colours": COLOURS,
        "people": people,
        "labels": CHOICE_LABELS,
        "quality": quality_rows(snapshot, u["u_tox"], u["u_rel"]),
        "u": u,
        "values_data": vdata,
        "values": values,
        "values_chosen": [
            {"text": q["text"], "level": values[q["id"]]}
            for q in vdata["questions"]
            if q["id"] in values
        ],
        "values_query": "&".join(f"v_{k}={v}" for k, v in values.items()),
    }


# --------------------------------------------------------------------------------------------
# pages
# --------------------------------------------------------------------------------------------


FORM_DEFAULTS = {
    "mrd_status": "unknown",
    "neuropathy_grade": "0",
    "prefer_route": "no_preference",
    "prefer_visits": "no_preference",
    "prefer_duration": "no_preference",
}


def _form_page(
    request: Request, values: dict, errors: dict[str, str], status_code: int = 200, **extra
):
    return page(
        request,
        "decide_form.html",
        title="Decision support: patient profile",
        active_nav="/decide",
        values=values,
        errors=errors,
        choices=CHOICES,
        labels=CHOICE_LABELS,
        status_code=status_code,
        **extra,
    )


@router.get("/decide", response_class=HTMLResponse, include_in_schema=False)
def decide_form(request: Request):
    return _form_page(request, dict(FORM_DEFAULTS), {})


@router.post("/decide", include_in_schema=False)
async def decide_submit(request: Request):
    form = dict((await request.form()).items())
    # the simulation is CPU-bound: run it in a worker thread, never on the event loop
    result = await run_in_threadpool(_decide_from_form, request, form)
    if not isinstance(result, tuple):
        return result
    ident, _snapshot = result
    return RedirectResponse(f"/decide/{ident}", status_code=303)


def _decide_from_form(request: Request, form: dict, **page_extra):
    """Validate the form, decide and save the snapshot: ``(ident, snapshot)`` or the form page
    with its errors (422)."""
    horizon_raw = (form.pop("horizon_years", "") or "").strip()
    values = dict(form)
    errors: dict[str, str] = {}
    horizon = None
    if horizon_raw:
        try:
            horizon = float(horizon_raw)
        except ValueError:
            errors["horizon_years"] = f"must be a number of years (got {horizon_raw!r})"
    try:
        profile = parse_profile(profile_from_form(form), origin="")
    except ProfileError as exc:
        for field, message in exc.errors:
            errors.setdefault(field, message)
        profile = None
    if errors or profile is None:
        return _form_page(
            request, {**values, "horizon_years": horizon_raw}, errors, 422, **page_extra
        )
    try:
        decision = decide(profile, request.app.state.evidence, horizon_years=horizon)
    except PlateauError as exc:
        message = str(exc)
        field = message.split(":", 1)[0] if message.startswith("horizon_years") else "(profile)"
        errors[field] = message.split(":", 1)[-1].strip()
        return _form_page(
            request, {**values, "horizon_years": horizon_raw}, errors, 422, **page_extra
        )
    snapshot = decision.to_dict()
    return store_of(request).save(snapshot), snapshot


# --------------------------------------------------------------------------------------------
# from the clinic: a decision started from a patient's record and stored on it (audited)
# --------------------------------------------------------------------------------------------


def _clinician(v):
    """Decisions on a patient's record need identified access (the permission table)."""
    require(v, "records.identified")


@router.get(
    "/records/patients/{patient_id}/decide", response_class=HTMLResponse, include_in_schema=False
)
def decide_for_patient_form(request: Request, patient_id: int, v=Depends(viewer)):
    """The profile form pre-filled from the patient's record (read audited)."""
    from plateau.store.decisions import profile_prefill

    _clinician(v)
    with database(request).session() as session:
        patient = visible_patient(request, session, v, patient_id, "decision form")
        values, notes = profile_prefill(session, patient)
        label = patient.external_id
    audit_now(request, v, "read", "decision form (pre-filled from the record)", [patient_id])
    return _form_page(
        request,
        {**FORM_DEFAULTS, **values},  # no identifier: snapshots under /decide are not behind login
        {},
        200,
        form_action=f"/records/patients/{patient_id}/decide",
        hidden={"csrf_token": v.csrf},
        prefill_notes=notes,
        patient_label=label,
    )


@router.post("/records/patients/{patient_id}/decide", include_in_schema=False)
async def decide_for_patient_submit(request: Request, patient_id: int, v=Depends(viewer)):
    """Decide, then store the snapshot on the patient (``save_snapshot``, audited as a write)."""
    _clinician(v)
    form = dict((await request.form()).items())
    token = form.pop("csrf_token", None)
    check_csrf(token if isinstance(token, str) else None, v.csrf)
    return await run_in_threadpool(_decide_and_store, request, patient_id, v, form)


def _decide_and_store(request: Request, patient_id: int, v, form: dict):
    """Decide (CPU-bound) and store the snapshot on the patient, in a worker thread."""
    from plateau.store.decisions import save_snapshot, snapshots

    with database(request).session() as session:
        patient = visible_patient(request, session, v, patient_id, "decision")
        label = patient.external_id
    result = _decide_from_form(
        request,
        form,
        form_action=f"/records/patients/{patient_id}/decide",
        hidden={"csrf_token": v.csrf},
        patient_label=label,
    )
    if not isinstance(result, tuple):
        return result
    ident, snapshot = result
    with database(request).session(write=True) as session:
        user = session.get(User, v.user_id)
        first = not snapshots(session, patient_id)
        save_snapshot(
            session,
            patient_id,
            {**snapshot, "decision_id": ident, "date": snapshot["created_at"][:10]},
            kind="maintenance_start" if first else "review",
            user=user,
            ip=v.ip,
        )
    return RedirectResponse(f"/decide/{ident}", status_code=303)


def _load(request: Request, ident: str) -> dict:
    try:
        return store_of(request).load(ident)
    except KeyError:
        from starlette.exceptions import HTTPException

        raise HTTPException(404, f"no decision {ident}") from None


@router.get("/decide/{ident}", response_class=HTMLResponse, include_in_schema=False)
def decide_result(request: Request, ident: str, years: float | None = Query(None)):
    snapshot = _load(request, ident)
    return page(
        request,
        "decide_result.html",
        title="Decision support: options side by side",
        active_nav="/decide",
        ident=ident,
        **view_model(snapshot, years, values=parse_values(dict(request.query_params))),
    )


@router.get("/decide/{ident}/quality", response_class=HTMLResponse, include_in_schema=False)
def decide_quality(
    request: Request,
    ident: str,
    u_tox: float = Query(0.5, ge=0.0, le=1.0),
    u_rel: float = Query(0.5, ge=0.0, le=1.0),
):
    """The quality-adjusted time table for other utilities (htmx partial for the sliders)."""
    snapshot = _load(request, ident)
    return HTMLResponse(
        TEMPLATES.get_template("decide_quality.html").render(
            {
                "request": request,
                "snapshot": snapshot,
                "quality": quality_rows(snapshot, u_tox, u_rel),
                "u": {**(snapshot.get("utilities") or {}), "u_tox": u_tox, "u_rel": u_rel},
                "ident": ident,
            }
        )
    )


def handout_html(request: Request, ident: str, snapshot: dict, years: float | None) -> str:
    context = {
        "request": request,
        "ident": ident,
        **view_model(
            snapshot,
            years,
            size=0.2,
            harm_size=0.3,
            values=parse_values(dict(request.query_params)),
        ),
    }
    return TEMPLATES.get_template("decide_handout.html").render(context)


@router.get("/decide/{ident}/handout", response_class=HTMLResponse, include_in_schema=False)
def decide_handout(request: Request, ident: str, years: float | None = Query(None)):
    snapshot = _load(request, ident)
    key = ("handout.html", ident, years, request.app.state.evidence.version)
    text = artefacts(request.app.state).get(
        key, lambda: handout_html(request, ident, snapshot, years)
    )
    return HTMLResponse(text)


@router.get("/decide/{ident}/handout.pdf", include_in_schema=False)
def decide_handout_pdf(request: Request, ident: str, years: float | None = Query(None)):
    from weasyprint import HTML

    snapshot = _load(request, ident)

    def build() -> bytes:
        text = handout_html(request, ident, snapshot, years)
        css_dir = Path(__file__).resolve().parent / "static"
        return HTML(string=text, base_url=str(css_dir)).write_pdf()

    key = ("handout.pdf", ident, years, request.app.state.evidence.version)
    pdf = artefacts(request.app.state).get(key, build)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="plateau-decision-{ident}.pdf"'},
    )


# --------------------------------------------------------------------------------------------
# API
# --------------------------------------------------------------------------------------------


@router.post("/api/v1/decisions", status_code=201, tags=["decisions"])
async def api_create_decision(
    request: Request,
    horizon_years: float | None = Query(None, ge=0.5, le=15),
    baseline_model: str = Query("flexible", pattern="^(flexible|exponential)$"),
    u_tox: float | None = Query(None, ge=0.0, le=1.0),
    u_rel: float | None = Query(None, ge=0.0, le=1.0),
    tox_months: float | None = Query(None, ge=0.0, le=24.0),
):
    """Decide for a profile (JSON body: the profile fields) and store the snapshot.

    Returns the snapshot with its ``id``: ``evidence_version`` and ``options`` (each with
    ``option``, ``pfs``/``os`` at 1, 3, 5 years and ``horizon_years``, ``rmst_gain_months``,
    ``harms``, ``flags``, ``sources``).  A bad profile answers 422 with
    ``{"detail": [{"field": ..., "message": ...}]}``.
    """
    try:
        body = await request.json()
    except (ValueError, RecursionError):  # not JSON, or nested too deeply to parse
        return JSONResponse(
            {"detail": [{"field": "(body)", "message": "the body is not valid JSON"}]},
            status_code=422,
        )
    return await run_in_threadpool(
        _api_create_decision,
        request,
        body,
        horizon_years=horizon_years,
        baseline_model=baseline_model,
        u_tox=u_tox,
        u_rel=u_rel,
        tox_months=tox_months,
    )


def _api_create_decision(request: Request, body: Any, **options: Any):
    try:
        profile = parse_profile(body, origin="")
    except ProfileError as exc:
        return JSONResponse({"detail": exc.to_dict()}, status_code=422)
    decision = decide(
        profile,
        request.app.state.evidence,
        **options,
    )
    snapshot = decision.to_dict()
    ident = store_of(request).save(snapshot)
    return JSONResponse(
        {"id": ident, **snapshot},
        status_code=201,
        headers={"Location": f"/api/v1/decisions/{ident}"},
    )


@router.get("/api/v1/decisions/{ident}", tags=["decisions"])
def api_get_decision(request: Request, ident: str):
    """A stored decision snapshot."""
    return {"id": ident, **_load(request, ident)}
