"""Importing CSV files or a FHIR bundle from the browser (or with ``Accept: application/json``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import select

from plateau.errors import PlateauError
from plateau.store import audit
from plateau.store.models import CareTeam
from plateau.store.records import ImportRejected
from plateau.web.auth import Viewer, check_csrf, current_user, database, require, viewer
from plateau.web.pages import page

router = APIRouter()
MAX_UPLOAD = 20 * 1024 * 1024


def _teams_for(session, v: Viewer) -> list[str]:
    if v.can("teams.all"):
        return list(session.scalars(select(CareTeam.name).order_by(CareTeam.name)))
    user = current_user(session, v)
    return sorted(t.name for t in user.teams)


@router.get("/records/import", response_class=HTMLResponse, include_in_schema=False)
def import_form(request: Request, v: Viewer = Depends(viewer)):
    require(v, "records.import")
    with database(request).session() as session:
        teams = _teams_for(session, v)
    return page(
        request,
        "records_import.html",
        title="Import results",
        active_nav="/records",
        viewer=v,
        teams=teams,
        result=None,
        problems=None,
    )


def _read_upload(upload: UploadFile | None) -> tuple[str, bytes] | None:
    if upload is None or not upload.filename:
        return None
    content = upload.file.read(MAX_UPLOAD + 1)
    if len(content) > MAX_UPLOAD:
        raise PlateauError(f"{upload.filename}: larger than {MAX_UPLOAD // (1024 * 1024)} MB")
    return upload.filename, content


@router.post("/records/import", include_in_schema=False)
def import_submit(
    request: Request,
    csrf_token: str = Form(""),
    team: str = Form(""),
    patients: UploadFile | None = File(None),
    labs: UploadFile | None = File(None),
    events: UploadFile | None = File(None),
    qlq: UploadFile | None = File(None),
    doses: UploadFile | None = File(None),
    fhir: UploadFile | None = File(None),
    v: Viewer = Depends(viewer),
):
    check_csrf(csrf_token, v.csrf)
    require(v, "records.import")
    from plateau.store.importer import import_files

    csv_files = {}
    for kind, upload in (
        ("patients", patients),
        ("labs", labs),
        ("events", events),
        ("qlq", qlq),
        ("doses", doses),
    ):
        got = _read_upload(upload)
        if got:
            csv_files[kind] = got
    bundle = _read_upload(fhir)
    db = database(request)
    result, problems, status = None, None, 200
    if bundle and csv_files:
        problems, status = ["files: give either CSV files or one FHIR bundle, not both"], 422
    else:
        try:
            result = import_files(
                db, v.user_id, csv_files=csv_files, fhir=bundle, team=team or None, ip=v.ip
            )
        except ImportRejected as exc:
            problems, status = exc.problems, 422
            with db.session(write=True) as session:
                audit.record(
                    session,
                    current_user(session, v),
                    "import",
                    "import rejected",
                    ip=v.ip,
                    outcome="failed",
                    detail=f"{len(exc.problems)} problem(s)",
                )
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(
            {"result": result.to_dict() if result else None, "problems": problems},
            status_code=status,
        )
    with db.session() as session:
        teams = _teams_for(session, v)
    return page(
        request,
        "records_import.html",
        title="Import results",
        active_nav="/records",
        viewer=v,
        teams=teams,
        result=result,
        problems=problems,
        status_code=status,
    )
