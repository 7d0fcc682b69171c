"""Browser test of the patient timeline: sign in through the form, open a patient, check the SVG."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from netutil import serve
from sqlalchemy import select

from plateau.store import open_database
from plateau.store.decisions import save_snapshot
from plateau.store.importer import import_files
from plateau.store.models import Patient
from plateau.store.security import create_user
from plateau.web.app import WebSettings, create_app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "monitor"
pytestmark = pytest.mark.browser


def _course() -> dict:
    """One patient with everything the timeline draws: response then progression, FLC, a hold and a
    dose reduction, a grade 3 event, QoL questionnaires and a decision snapshot."""
    start = dt.date(2025, 1, 1)
    labs = ["patient_id,date,analyte,value,unit"]
    m_protein = [2.4, 1.1, 0.6, 0.4, 0.35, 0.4, 0.9, 1.3]
    for k, value in enumerate(m_protein):
        day = start + dt.timedelta(days=-10 + 60 * k)
        labs += [
            f"T01,{day},serum_m_protein,{value},g/dL",
            f"T01,{day},kappa_flc,{value * 12:.1f},mg/L",
            f"T01,{day},lambda_flc,{8 + k % 2},mg/L",
            f"T01,{day},anc,{1.9 if k != 2 else 0.8},10*9/L",
            f"T01,{day},hemoglobin,{11.8 + (k % 3) / 10:.1f},g/dL",
            f"T01,{day},platelets,{160 - 5 * k},10*9/L",
        ]
    qlq_rows = (EXAMPLES / "qlq.csv").read_text().splitlines()
    header, p05 = qlq_rows[0], [r for r in qlq_rows[1:] if r.startswith("P05,")]
    qlq = [header] + [r.replace("P05,", "T01,", 1) for r in p05]
    return {
        "patients": (
            "patients.csv",
            b"patient_id,maintenance_start,agent,dose_mg,diagnosis_date,age,sex\n"
            b"T01,2025-01-01,lenalidomide,10,2024-05-01,63,F\n",
        ),
        "labs": ("labs.csv", ("\n".join(labs) + "\n").encode()),
        "events": ("events.csv", b"patient_id,date,term,grade\nT01,2025-04-20,diarrhea,3\n"),
        "qlq": ("qlq.csv", ("\n".join(qlq) + "\n").encode()),
        "doses": (
            "doses.csv",
            b"patient_id,date,action,dose\nT01,2025-04-20,hold,\nT01,2025-05-10,change,5\n",
        ),
    }


@pytest.fixture(scope="module")
def records_server(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'plateau.sqlite'}"
    db = open_database(url)
    with db.session(write=True) as s:
        uid = create_user(s, "dr_lee", "timeline-password", "clinician", ["Myeloma A"]).id
    import_files(db, uid, csv_files=_course(), team="Myeloma A")
    with db.session(write=True) as s:
        patient = s.scalar(select(Patient).where(Patient.external_id == "T01"))
        save_snapshot(
            s,
            patient.id,
            {
                "date": "2025-01-01",
                "evidence_version": "e3b0c44298fc",
                "recommendation": "start lenalidomide maintenance",
                "expected_pfs_benefit": "HR 0.48 for PFS (pooled post-ASCT trials)",
            },
        )
        pid = patient.id
    db.dispose()
    base, stop = serve(create_app(WebSettings(database_url=url)))
    yield base, pid
    stop()


def test_timeline_in_the_browser(records_server, page, screenshot):
    base, pid = records_server
    page.goto(f"{base}/records/patients/{pid}")
    assert "/login" in page.url  # not signed in: redirected
    page.fill("#username", "dr_lee")
    page.fill("#password", "timeline-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/records/patients/{pid}")
    svg = page.locator("[data-testid=timeline] svg")
    assert svg.count() == 1
    content = page.content()
    for label in (
        "Serum M-protein",
        "Free light chains",
        "Maintenance dose",
        "CTCAE v5.0 grade",
        "Quality of life",
        "progression, day",
        "decision: start of maintenance (snapshot stored)",
        "hold",
        "5 mg",
    ):
        assert label in content, label
    assert (
        page.locator("[data-testid=decision]").inner_text().count("start lenalidomide maintenance")
        == 1
    )
    observed = page.locator("[data-testid=observed]").inner_text()
    assert "diarrhea" in observed and "2025-" in observed
    box = svg.bounding_box()
    assert box["width"] > 600 and box["height"] > 400, box
    path = screenshot("records_timeline")
    assert path.exists() and path.stat().st_size > 10_000
