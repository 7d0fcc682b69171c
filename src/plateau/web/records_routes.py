"""Patients on the records pages: the list, the timeline (page and API) and the FHIR export."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse

from plateau.store import projection, security
from plateau.store.models import Patient
from plateau.store.patients import patient_rows
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


@router.get("/records", response_class=HTMLResponse, include_in_schema=False)
def records_home(request: Request, q: str | None = None, v: Viewer = Depends(viewer)):
    with database(request).session() as session:
        rows = patient_rows(session, current_user(session, v), q)
    listed(request, v, rows, "patient list")
    return page(
        request,
        "records.html",
        title="Patients on maintenance",
        active_nav="/records",
        rows=rows,
        viewer=v,
        q=q or "",
    )


@router.get("/api/v1/records/patients", tags=["records"])
def api_patients(request: Request, v: Viewer = Depends(viewer)):
    """Patients the user may see (de-identified for researchers), with open-alert counts."""
    with database(request).session() as session:
        rows = patient_rows(session, current_user(session, v))
    listed(request, v, rows, "patient list")
    return {"patients": rows}


def _timeline_context(session, v: Viewer, patient: Patient) -> dict:
    from plateau.store.monitoring import timeline
    from plateau.web.records_timeline import timeline_svg

    tl = timeline(session, patient)
    start = None
    if tl["maintenance"]:
        import datetime as dt

        start = dt.date.fromisoformat(tl["maintenance"]["start"])
    if not v.identified:
        tl = projection.deidentified_timeline(tl, start)
    observed = projection.observed(tl)
    return {
        "tl": tl,
        "svg": timeline_svg(tl, deidentified=not v.identified),
        "observed": observed,
        "decision_fields": projection.decision_fields(tl.get("decision"), v.identified, start),
    }


@router.get("/records/patients/{patient_id}", response_class=HTMLResponse, include_in_schema=False)
def patient_timeline(request: Request, patient_id: int, v: Viewer = Depends(viewer)):
    with database(request).session() as session:
        patient = visible_patient(request, session, v, patient_id, "timeline")
        context = _timeline_context(session, v, patient)
        label = patient.external_id if v.identified else patient.pseudonym
        name = patient.name if v.identified else None
        team = patient.care_team.name if patient.care_team else ""
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
        patient_id=patient_id,
        **context,
    )


@router.get("/api/v1/records/patients/{patient_id}", tags=["records"])
def api_patient(request: Request, patient_id: int, v: Viewer = Depends(viewer)):
    """The timeline data of one patient (de-identified for researchers)."""
    with database(request).session() as session:
        patient = visible_patient(request, session, v, patient_id, "timeline (api)")
        context = _timeline_context(session, v, patient)
        label = patient.external_id if v.identified else patient.pseudonym
    audit_now(request, v, "read", "timeline (api)", [patient_id])
    return {"patient": label, "timeline": context["tl"], "observed": context["observed"]}


@router.get("/records/patients/{patient_id}/fhir", tags=["records"])
def patient_fhir(request: Request, patient_id: int, v: Viewer = Depends(viewer)):
    """The patient's record as a FHIR R4 Bundle (admins and clinicians of the patient's team)."""
    from plateau.store.fhir_io import export_patient

    with database(request).session() as session:
        patient = visible_patient(request, session, v, patient_id, "fhir export")
        if not v.identified:
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
