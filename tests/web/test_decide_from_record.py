"""From the clinic: a decision started from a patient's record (pre-filled), stored on the record
(audited), visible to the care team only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from plateau.store import open_database
from plateau.store.importer import import_files
from plateau.store.models import AuditEntry, Decision, LabResult, Patient
from plateau.store.security import create_user
from plateau.web.app import WebSettings, create_app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "monitor"
PASSWORDS = {
    "clin_a": "amber-violin-harbour-7",
    "clin_b": "copper-meadow-lantern-4",
    "res": "quiet-glacier-orchid-9",
}


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(app, username: str) -> TestClient:
    client = TestClient(app, base_url="https://testserver")
    form = client.get("/login")
    r = client.post(
        "/login",
        data={
            "username": username,
            "password": PASSWORDS[username],
            "csrf_token": _csrf(form.text),
            "next": "/records",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return client


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("clinic")
    url = f"sqlite:///{tmp / 'plateau.sqlite'}"
    db = open_database(url)
    with db.session(write=True) as s:
        clin_a = create_user(s, "clin_a", PASSWORDS["clin_a"], "clinician", ["Team A"]).id
        create_user(s, "clin_b", PASSWORDS["clin_b"], "clinician", ["Team B"])
        create_user(s, "res", PASSWORDS["res"], "researcher")
    files = {
        k: (f"{k}.csv", (EXAMPLES / f"{k}.csv").read_bytes())
        for k in ("patients", "labs", "events", "qlq")
    }
    import_files(db, clin_a, csv_files=files, team="Team A")
    app = create_app(WebSettings(database_url=url))
    app.state.settings.extra["decisions_dir"] = tmp / "decisions"
    with db.session() as s:
        pid = {p.external_id: p.id for p in s.scalars(select(Patient))}
    yield {"app": app, "db": db, "pid": pid}
    db.dispose()
    if getattr(app.state, "records_db", None) is not None:
        app.state.records_db.dispose()


def test_form_prefilled_from_the_record_and_decision_stored_audited(world):
    app, db, pid = world["app"], world["db"], world["pid"]["P17"]
    client = login(app, "clin_a")
    form = client.get(f"/records/patients/{pid}/decide")
    assert form.status_code == 200
    html = form.text
    # P17 in examples/monitor: neuropathy grade 2 with pain on 2025-04-01
    assert 'value="2" selected' in html and "neuropathy grade 2 of 2025-04-01" in html
    with db.session() as s:
        p = s.get(Patient, pid)
        creat = s.scalar(
            select(LabResult)
            .where(LabResult.patient_id == pid, LabResult.analyte == "creatinine")
            .order_by(LabResult.date.desc())
        )
        age = int(p.age)
    assert f'value="{age}"' in html
    assert 'value="P17"' not in html  # no identifier pre-filled into public snapshots
    if creat is not None:
        assert f"serum creatinine {creat.value:g} mg/dL" in html
    data = {
        "csrf_token": _csrf(html),
        "age": str(age),
        "sex": "male",
        "transplant_status": "post_asct",
        "response": "VGPR",
        "neuropathy_grade": "2",
        "neuropathic_pain": "on",
    }
    r = client.post(f"/records/patients/{pid}/decide", data=data, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/decide/")
    ident = r.headers["location"].rsplit("/", 1)[1]
    with db.session() as s:
        rows = list(s.scalars(select(Decision).where(Decision.patient_id == pid)))
        assert [d.snapshot["decision_id"] for d in rows] == [ident]
        assert rows[0].kind == "maintenance_start"  # the first decision on the record
        assert rows[0].evidence_version == rows[0].snapshot["evidence_version"]
        audit = [
            a.resource for a in s.scalars(select(AuditEntry).where(AuditEntry.patient_id == pid))
        ]
    assert any(r.startswith("decision ") for r in audit)
    assert "decision form (pre-filled from the record)" in audit
    # the page shows the same stored snapshot
    assert client.get(f"/decide/{ident}").status_code == 200


def test_csrf_other_team_and_researcher_are_refused(world):
    app, pid = world["app"], world["pid"]["P17"]
    clin_a = login(app, "clin_a")
    r = clin_a.post(
        f"/records/patients/{pid}/decide",
        data={"csrf_token": "wrong", "age": "60", "sex": "male"},
        follow_redirects=False,
    )
    assert r.status_code in (400, 403)
    assert login(app, "clin_b").get(f"/records/patients/{pid}/decide").status_code == 404
    assert login(app, "res").get(f"/records/patients/{pid}/decide").status_code == 403
    anon = TestClient(app, base_url="https://testserver")
    assert anon.get(f"/records/patients/{pid}/decide", follow_redirects=False).status_code == 303


def test_bad_profile_answers_422_and_stores_nothing(world):
    app, db, pid = world["app"], world["db"], world["pid"]["P16"]
    client = login(app, "clin_a")
    html = client.get(f"/records/patients/{pid}/decide").text
    r = client.post(
        f"/records/patients/{pid}/decide",
        data={"csrf_token": _csrf(html), "age": "sixty", "sex": "male"},
        follow_redirects=False,
    )
    assert r.status_code == 422 and "age" in r.text
    with db.session() as s:
        assert not list(s.scalars(select(Decision).where(Decision.patient_id == pid)))
