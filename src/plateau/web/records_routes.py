"""Patients on the records pages: the list, the timeline (page and API) and the FHIR export.

A patient is named in URLs by its pseudonym (researchers: only by it) or, for identified users,
by the internal id.  Researchers get the projection of :mod:`plateau.store.projection`.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from plateau.store import projection, security
from plateau.store.models import Patient
from plateau.store.patients import patient_page
from plateau.web.auth import (
    Viewer,
    audit_now,
    current_user,
    database,
    listed,
    viewer,
    visible_patient,
)
from plateau.web.pages import page

router = APIRouter()
PageNo = Query(1, alias="page", ge=1, le=1_000_000)


@router.get("/records", response_class=HTMLResponse, include_in_schema=False)
def records_home(
    request: Request, q: str | None = None, page_no: int = PageNo, v: Viewer = Depends(viewer)
):
    with database(request).session() as session:
        result = patient_page(session, current_user(session, v), q, page=page_no)
    listed(request, v, result.patient_ids, "patient list")
    return page(
        request,
        "records.html",
        title="Patients on maintenance",
        active_nav="/records",
        rows=result.rows,
        listing=result,
        viewer=v,
        q=(q or "")[:120],
    )


@router.get("/api/v1/records/patients", tags=["records"])
def api_patients(request: Request, page_no: int = PageNo, v: Viewer = Depends(viewer)):
    """Patients the user may see (de-identified for researchers), with open-alert counts, paged
    (``page``; ``total`` and ``pages`` say how many there are)."""
    with database(request).session() as session:
        result = patient_page(session, current_user(session, v), page=page_no)
    listed(request, v, result.patient_ids, "patient list")
    return {
        "patients": result.rows,
        "total": result.total,
        "page": result.page,
        "pages": result.pages,
        "per_page": result.per_page,
    }


def _timeline_context(session, v: Viewer, patient: Patient) -> dict:
    from plateau.store.monitoring import timeline
    from plateau.web.records_timeline import timeline_svg

    tl = timeline(session, patient)
    start = dt.date.fromisoformat(tl["maintenance"]["start"]) if tl["maintenance"] else None
    if v.identified:
        decision_fields = projection.decision_fields(tl.get("decision"))
    else:
        if start is None:
            dates = [p["date"] for pts in tl.get("series", {}).values() for p in pts]
            start = dt.date.fromisoformat(min(dates)) if dates else None
        tl = projection.timeline_projection(tl, start)
        decision_fields = (tl.get("decision") or {}).get("fields", [])
    return {
        "tl": tl,
        "svg": timeline_svg(tl, deidentified=not v.identified),
        "observed": projection.observed(tl),
        "decision_fields": decision_fields,
    }


@router.get("/records/patients/{ref}", response_class=HTMLResponse, include_in_schema=False)
def patient_timeline(request: Request, ref: str, v: Viewer = Depends(viewer)):
    with database(request).session() as session:
        patient = visible_patient(request, session, v, ref, "timeline")
        context = _timeline_context(session, v, patient)
        label = patient.external_id if v.identified else patient.pseudonym
        name = patient.name if v.identified else None
        team = patient.care_team.name if patient.care_team else ""
        patient_id = patient.id
    audit_now(
        request,
        v,
        "read",
        "timeline",
        [patient_id],
        detail="identified" if v.identified else "de-identified",
    )
    return page(
        request,
        "records_patient.html",
        title=f"Patient {label}",
        active_nav="/records",
        viewer=v,
        label=label,
        name=name,
        team=team,
        patient_ref=patient_id if v.identified else patient.pseudonym,
        **context,
    )


@router.get("/api/v1/records/patients/{ref}", tags=["records"])
def api_patient(request: Request, ref: str, v: Viewer = Depends(viewer)):
    """The timeline data of one patient (the researcher projection for researchers)."""
    with database(request).session() as session:
        patient = visible_patient(request, session, v, ref, "timeline (api)")
        context = _timeline_context(session, v, patient)
        label = patient.external_id if v.identified else patient.pseudonym
        patient_id = patient.id
    audit_now(request, v, "read", "timeline (api)", [patient_id])
    return {"patient": label, "timeline": context["tl"], "observed": context["observed"]}


@router.get("/records/patients/{ref}/fhir", tags=["records"])
def patient_fhir(request: Request, ref: str, v: Viewer = Depends(viewer)):
    """The patient's record as a FHIR R4 Bundle (admins and clinicians of the patient's team)."""
    from plateau.store.fhir_io import export_patient

    with database(request).session() as session:
        patient = visible_patient(request, session, v, ref, "fhir export")
        patient_id = patient.id
        if not v.can("records.export"):
            audit_now(
                request,
                v,
                "export",
                "fhir export",
                [patient_id],
                outcome="denied",
                detail="researchers see de-identified data only",
            )
            raise security.AccessDenied("role: researchers may not export identified records")
        bundle = export_patient(session, patient)
    audit_now(request, v, "export", "fhir export", [patient_id])
    return JSONResponse(
        bundle,
        media_type="application/fhir+json",
        headers={"Content-Disposition": f'attachment; filename="patient-{patient_id}.fhir.json"'},
    )
