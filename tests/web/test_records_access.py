"""Clinical records over HTTP: the access matrix (role x endpoint, incl. another team's patient),
audit completeness, CSRF, login rate limiting, security headers, de-identification and logs.

Runs against SQLite and a throwaway PostgreSQL server (``tests/store/pgserver.py``).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from plateau.store import open_database
from plateau.store.importer import import_files
from plateau.store.models import Alert, AuditEntry, Patient
from plateau.store.security import create_user
from plateau.web.app import WebSettings, create_app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "monitor"
PASSWORDS = {
    "admin": "bone-marrow-ledger-1",
    "clin_a": "clin-a-password",
    "clin_b": "clin-b-password",
    "res": "quiet-harbour-lantern",
}
ROLES = ("anon", "admin", "clin_a", "clin_b", "res")


def _pgserver():
    spec = importlib.util.spec_from_file_location(
        "plateau_test_pgserver", ROOT / "tests" / "store" / "pgserver.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=strict" in cookie
    return client


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def world(request, tmp_path_factory):
    stop = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('records') / 'plateau.sqlite'}"
    else:
        pg = _pgserver()
        try:
            base, stop = pg.start()
        except RuntimeError as exc:
            if os.environ.get("CI"):
                pytest.fail(f"PostgreSQL is required in CI: {exc}")
            pytest.skip(f"PostgreSQL not available: {exc}")
        url = pg.new_database(base)
    db = open_database(url)
    with db.session(write=True) as s:
        ids = {
            "admin": create_user(s, "admin", PASSWORDS["admin"], "admin").id,
            "clin_a": create_user(s, "clin_a", PASSWORDS["clin_a"], "clinician", ["Team A"]).id,
            "clin_b": create_user(s, "clin_b", PASSWORDS["clin_b"], "clinician", ["Team B"]).id,
            "res": create_user(s, "res", PASSWORDS["res"], "researcher").id,
        }
    files = {
        k: (f"{k}.csv", (EXAMPLES / f"{k}.csv").read_bytes())
        for k in ("patients", "labs", "events", "qlq")
    }
    import_files(db, ids["clin_a"], csv_files=files, team="Team A")
    b_patients = b"patient_id,maintenance_start,agent,dose_mg\nB01,2025-01-01,lenalidomide,10\n"
    b_labs = (
        b"patient_id,date,analyte,value,unit\n"
        b"B01,2025-01-01,serum_m_protein,2.0,g/dL\nB01,2025-03-01,anc,0.4,10*9/L\n"
    )
    import_files(
        db,
        ids["clin_b"],
        csv_files={"patients": ("p.csv", b_patients), "labs": ("l.csv", b_labs)},
        team="Team B",
    )
    with db.session() as s:
        pid = {p.external_id: p.id for p in s.scalars(select(Patient))}
        pseudo = {p.external_id: p.pseudonym for p in s.scalars(select(Patient))}
        alert_a = s.scalar(select(Alert.id).where(Alert.patient_id == pid["P07"]))
    app = create_app(WebSettings(database_url=url))
    clients = {"anon": TestClient(app, base_url="https://testserver")}
    clients.update({name: login(app, name) for name in ("admin", "clin_a", "clin_b", "res")})
    yield {
        "app": app,
        "db": db,
        "clients": clients,
        "pid": pid,
        "pseudo": pseudo,
        "alert_a": alert_a,
        "url": url,
    }
    db.dispose()
    if getattr(app.state, "records_db", None) is not None:
        app.state.records_db.dispose()
    if stop:
        stop()


def _get(world, role, path, **kw):
    return world["clients"][role].get(path, follow_redirects=False, **kw)


# expected status per role: anon, admin, clin_a (the patient's team), clin_b (another team),
# researcher
MATRIX = [
    ("GET", "/records", (303, 200, 200, 200, 200)),
    ("GET", "/api/v1/records/patients", (401, 200, 200, 200, 200)),
    ("GET", "/records/patients/{A}", (303, 200, 200, 404, 200)),
    ("GET", "/api/v1/records/patients/{A}", (401, 200, 200, 404, 200)),
    ("GET", "/records/patients/{A}/fhir", (303, 200, 200, 404, 403)),
    ("GET", "/records/patients/{B}", (303, 200, 404, 200, 200)),
    ("GET", "/records/alerts", (303, 200, 200, 200, 200)),
    ("GET", "/records/import", (303, 200, 200, 200, 403)),
    ("GET", "/records/admin", (303, 200, 403, 403, 403)),
    ("GET", "/records/audit", (303, 200, 403, 403, 403)),
]


@pytest.mark.parametrize("method,path,expected", MATRIX, ids=[m[1] for m in MATRIX])
def test_access_matrix_reads(world, method, path, expected):
    for role, status in zip(ROLES, expected, strict=True):
        # researchers name patients by pseudonym only (ids follow import order)
        ids = world["pseudo"] if role == "res" else world["pid"]
        url = path.format(A=ids["P07"], B=ids["B01"])
        r = _get(world, role, url)
        assert r.status_code == status, (role, url, r.status_code, r.text[:200])
        if status == 303 and role == "anon":
            assert r.headers["location"].startswith("/login")


def test_lists_are_scoped_to_the_care_team_and_deidentified_for_researchers(world):
    def labels(role):
        return {
            p["label"] for p in _get(world, role, "/api/v1/records/patients").json()["patients"]
        }

    assert labels("clin_b") == {"B01"}
    assert "B01" not in labels("clin_a") and "P07" in labels("clin_a")
    assert labels("admin") == labels("clin_a") | {"B01"}
    res = labels("res")
    assert len(res) == 20 and all(re.fullmatch(r"R-[0-9A-F]{8}", x) for x in res)
    # the researcher's timeline holds no identifier and no calendar date
    assert _get(world, "res", f"/records/patients/{world['pid']['P07']}").status_code == 404
    body = _get(world, "res", f"/records/patients/{world['pseudo']['P07']}").text
    api = _get(world, "res", f"/api/v1/records/patients/{world['pseudo']['P07']}").text
    for text in (body, api):
        assert "P07" not in text
        assert not re.search(r"20\d\d-\d\d-\d\d", text)
    assert "day 151" in body  # P07: progression 151 days after the start of maintenance
    # the clinician sees identified data and dates
    assert "2025-06-01" in _get(world, "clin_a", f"/records/patients/{world['pid']['P07']}").text


def test_access_matrix_writes(world):
    a_alert = world["alert_a"]
    labs = b"patient_id,date,analyte,value,unit\nP07,2025-08-01,serum_m_protein,2.5,g/dL\n"
    for role, ack_status, import_status in (
        ("anon", 401, 401),
        ("res", 403, 403),
        ("clin_b", 404, 422),
    ):
        client = world["clients"][role]
        token = _csrf(client.get("/records").text) if role != "anon" else "x"
        r = client.post(
            f"/records/alerts/{a_alert}/ack",
            data={"csrf_token": token},
            follow_redirects=False,
            headers={"accept": "application/json"},
        )
        assert r.status_code == ack_status, (role, r.text[:200])
        r = client.post(
            "/records/import",
            data={"csrf_token": token, "team": "Team B"},
            files={"labs": ("labs.csv", labs, "text/csv")},
            headers={"accept": "application/json"},
            follow_redirects=False,
        )
        assert r.status_code == import_status, (role, r.text[:300])
        if role == "clin_b":
            assert any("not in your care teams" in p for p in r.json()["problems"])
    for role in ("admin", "clin_a", "clin_b", "res"):
        r = world["clients"][role].post(
            "/records/admin/users",
            data={
                "csrf_token": "wrong",
                "username": "x1",
                "password": "long-enough-1",
                "role": "admin",
            },
            follow_redirects=False,
        )
        assert r.status_code == 403
    client = world["clients"]["admin"]
    r = client.post(
        "/records/admin/users",
        data={
            "csrf_token": _csrf(client.get("/records").text),
            "username": "newdoc",
            "password": "long-enough-1",
            "role": "clinician",
            "teams": "Team B",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    client = world["clients"]["clin_a"]
    with world["db"].session() as s:
        assert s.get(Alert, a_alert).status == "open"
    r = client.post(
        f"/records/alerts/{a_alert}/ack", data={"csrf_token": "forged"}, follow_redirects=False
    )
    assert r.status_code == 403  # CSRF: a forged token changes nothing
    r = client.post(
        f"/records/alerts/{a_alert}/ack",
        data={"csrf_token": _csrf(client.get("/records").text)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    with world["db"].session() as s:
        assert s.get(Alert, a_alert).status == "acknowledged"


def _audit_rows(world):
    with world["db"].session() as s:
        return s.scalar(select(func.max(AuditEntry.id))) or 0


def test_every_read_and_write_of_patient_data_is_audited(world):
    a = world["pid"]["P07"]
    reads = [
        ("clin_a", f"/records/patients/{a}", "read", "timeline", "ok"),
        ("clin_a", f"/api/v1/records/patients/{a}", "read", "timeline (api)", "ok"),
        ("admin", f"/records/patients/{a}/fhir", "export", "fhir export", "ok"),
        ("res", f"/records/patients/{world['pseudo']['P07']}", "read", "timeline", "ok"),
        ("clin_b", f"/records/patients/{a}", "read", "timeline", "denied"),
        (
            "res",
            f"/records/patients/{world['pseudo']['P07']}/fhir",
            "export",
            "fhir export",
            "denied",
        ),
        ("clin_a", "/records", "list", "patient list", "ok"),
        ("clin_a", "/records/alerts?status=all", "list", "alerts inbox", "ok"),
    ]
    for role, path, action, resource, outcome in reads:
        last = _audit_rows(world)
        _get(world, role, path)
        with world["db"].session() as s:
            new = list(s.scalars(select(AuditEntry).where(AuditEntry.id > last)))
        mine = [
            e for e in new if e.patient_id == a and e.action == action and e.resource == resource
        ]
        assert len(mine) == 1, (path, role, [(e.action, e.resource, e.patient_id) for e in new])
        e = mine[0]
        assert (e.username, e.ip, e.outcome) == (
            {"res": "res"}.get(role, role),
            "testclient",
            outcome,
        )
        assert e.at is not None
    # a write: an import names every patient it touched
    last = _audit_rows(world)
    client = world["clients"]["clin_a"]
    labs = b"patient_id,date,analyte,value,unit\nP07,2025-09-01,serum_m_protein,2.9,g/dL\n"
    r = client.post(
        "/records/import",
        data={"csrf_token": _csrf(client.get("/records/import").text)},
        files={"labs": ("labs.csv", labs, "text/csv")},
        headers={"accept": "application/json"},
    )
    assert r.status_code == 200, r.text
    with world["db"].session() as s:
        new = list(
            s.scalars(select(AuditEntry).where(AuditEntry.id > last, AuditEntry.patient_id == a))
        )
    assert [(e.action, e.username) for e in new if e.resource.startswith("import")] == [
        ("create", "clin_a")
    ]


def test_security_headers_and_no_caching_of_patient_pages(world):
    r = _get(world, "clin_a", f"/records/patients/{world['pid']['P07']}")
    h = r.headers
    assert h["x-content-type-options"] == "nosniff" and h["x-frame-options"] == "DENY"
    assert (
        "script-src 'self'" in h["content-security-policy"]
        and "frame-ancestors 'none'" in h["content-security-policy"]
    )
    assert h["cache-control"] == "no-store" and "max-age" in h["strict-transport-security"]
    public = _get(world, "anon", "/evidence")
    assert public.status_code == 200 and public.headers["x-content-type-options"] == "nosniff"
    assert _get(world, "anon", "/").status_code == 200  # public pages need no login


def test_login_is_rate_limited(world):
    client = TestClient(world["app"], base_url="https://testserver", client=("203.0.113.7", 1))
    statuses = []
    for password in ["wrong-1", "wrong-2", "wrong-3", "wrong-4", "wrong-5", PASSWORDS["clin_b"]]:
        token = _csrf(client.get("/login").text)
        r = client.post(
            "/login",
            data={"username": "clin_b", "password": password, "csrf_token": token},
            follow_redirects=False,
        )
        statuses.append(r.status_code)
    assert statuses == [401, 401, 401, 401, 401, 429]
    token = _csrf(client.get("/login").text)
    r = client.post(
        "/login",
        data={"username": "clin_b", "password": PASSWORDS["clin_b"], "csrf_token": "nope"},
        follow_redirects=False,
    )
    assert r.status_code == 403  # the login form is CSRF-protected too
    # the throttled address is the stranger's: clin_b at their own address still signs in
    own = TestClient(world["app"], base_url="https://testserver", client=("10.20.30.40", 1))
    r = own.post(
        "/login",
        data={
            "username": "clin_b",
            "password": PASSWORDS["clin_b"],
            "csrf_token": _csrf(own.get("/login").text),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303


def test_no_patient_data_in_application_logs(world, caplog):
    caplog.set_level(logging.DEBUG)
    client = world["clients"]["clin_a"]
    patients = (
        b"patient_id,maintenance_start,agent,dose_mg\nSECRET-MRN-42,2025-01-01,thalidomide,100\n"
    )
    labs = (
        b"patient_id,date,analyte,value,unit\nSECRET-MRN-42,2025-02-01,serum_m_protein,1.7,g/dL\n"
    )
    r = client.post(
        "/records/import",
        data={"csrf_token": _csrf(client.get("/records/import").text), "team": "Team A"},
        files={"patients": ("p.csv", patients, "text/csv"), "labs": ("l.csv", labs, "text/csv")},
        headers={"accept": "application/json"},
    )
    assert r.status_code == 200, r.text
    with world["db"].session() as s:
        new_id = s.scalar(select(Patient.id).where(Patient.external_id == "SECRET-MRN-42"))
    assert "SECRET-MRN-42" in client.get(f"/records/patients/{new_id}").text
    logged = "\n".join(f"{rec.name}: {rec.getMessage()}" for rec in caplog.records)
    assert "SECRET-MRN-42" not in logged


def test_first_run_setup_appears_when_there_is_no_user(tmp_path):
    app = create_app(WebSettings(database_url=f"sqlite:///{tmp_path / 'fresh.sqlite'}"))
    client = TestClient(app, base_url="https://testserver")
    assert client.get("/records", follow_redirects=False).headers["location"] == "/setup"
    form = client.get("/setup")
    assert "First-run setup" in form.text
    r = client.post(
        "/setup", data={"username": "boss", "password": "short", "csrf_token": _csrf(form.text)}
    )
    assert r.status_code == 422 and "at least 10" in r.text
    r = client.post(
        "/setup",
        data={
            "username": "boss",
            "password": "a-long-password",
            "csrf_token": _csrf(client.get("/setup").text),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/records/admin"
    assert client.get("/records/admin").status_code == 200
    # once a user exists, setup is closed
    other = TestClient(app, base_url="https://testserver")
    assert other.get("/setup", follow_redirects=False).headers["location"] == "/login"
    app.state.records_db.dispose()


def test_the_database_is_created_and_migrated_when_the_server_starts(tmp_path):
    import sqlite3

    path = tmp_path / "var" / "start.sqlite"
    app = create_app(WebSettings(database_url=f"sqlite:///{path}"))
    assert not path.exists()
    with TestClient(app, base_url="https://testserver"):
        assert path.exists()
        with sqlite3.connect(path) as conn:
            tables = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            assert {"users", "patients", "audit_log"} <= tables
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}")
TIMESTAMP = re.compile(r"\d{2}:\d{2}:\d{2}")


def _fixture_identifiers(world) -> set[str]:
    from plateau.store.models import Patient as P

    with world["db"].session() as s:
        out = set()
        for p in s.scalars(select(P)):
            out.add(p.external_id)
            if p.name:
                out.add(p.name)
    return out


def test_no_researcher_visible_response_holds_a_date_or_an_identifier(world):
    """Scan every response a researcher can obtain (HTML, JSON, FHIR, SVG, CSV) for calendar
    dates, timestamps, the fixture patients' identifiers and names, and internal ids."""
    from plateau.store.decisions import save_snapshot

    pid = world["pid"]["P07"]
    with world["db"].session(write=True) as s:
        save_snapshot(
            s,
            pid,
            {
                "label": "Jane Doe (MRN-P07)",
                "date": "2025-01-02T09:30:00+00:00",
                "evidence_version": "abc123def456",
                "profile": {"age": 61, "response": "VGPR", "note": "seen 2025-01-02"},
            },
        )
    pseudo = world["pseudo"]
    paths = ["/records", "/api/v1/records/patients", "/records/alerts?status=all"]
    for ext in ("P07", "B01", "P01"):
        paths += [
            f"/records/patients/{pseudo[ext]}",
            f"/api/v1/records/patients/{pseudo[ext]}",
            f"/records/patients/{pseudo[ext]}/fhir",
        ]
    identifiers = _fixture_identifiers(world) | {"Jane Doe", "MRN-P07"}
    seen = 0
    for path in paths:
        r = _get(world, "res", path)
        assert r.status_code in (200, 403), (path, r.status_code)
        text = r.text
        assert not ISO_DATE.search(text), (path, ISO_DATE.search(text).group(0))
        assert not TIMESTAMP.search(text), path
        words = set(re.findall(r"[A-Za-z0-9_-]+", text))
        leaked = {i for i in identifiers if i in words or (" " in i and i in text)}
        assert not leaked, (path, leaked)
        if "/api/" in path and r.status_code == 200:
            data = r.json()
            for row in data.get("patients", []):
                assert isinstance(row["id"], str) and row["id"].startswith("R-")
        seen += r.status_code == 200
    assert seen >= 8
    body = _get(world, "res", f"/records/patients/{pseudo['P07']}").text
    assert "<svg" in body and "day 151" in body and "VGPR" in body


def _audit_since(world, last):
    with world["db"].session() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.id > last)))


def test_role_and_csrf_denials_are_audited(world):
    last = _audit_rows(world)
    assert _get(world, "res", "/records/import").status_code == 403
    client = world["clients"]["clin_a"]
    r = client.post(
        f"/records/alerts/{world['alert_a']}/ack",
        data={"csrf_token": "forged"},
        follow_redirects=False,
    )
    assert r.status_code == 403
    denied = [(e.username, e.action, e.resource, e.outcome) for e in _audit_since(world, last)]
    assert ("res", "deny", "GET /records/import", "denied") in denied
    assert ("clin_a", "deny", f"POST /records/alerts/{world['alert_a']}/ack", "denied") in denied


@pytest.mark.parametrize(
    "method,path,kw,status",
    [
        ("GET", "/records/patients/99999999999999999999", {}, 404),
        ("GET", "/api/v1/records/patients/9223372036854775808", {}, 404),
        ("POST", "/records/alerts/9223372036854775808/ack", {"data": {"csrf_token": "x"}}, 422),
        ("GET", "/records/audit?patient_id=9223372036854775808", {}, 422),
        ("GET", "/records/alerts?page=0", {}, 422),
        ("GET", "/records?page=99999999999", {}, 422),
    ],
)
def test_huge_ids_and_pages_are_4xx_not_500(world, method, path, kw, status):
    r = world["clients"]["admin"].request(method, path, follow_redirects=False, **kw)
    assert r.status_code == status, r.text[:200]


def test_deeply_nested_json_and_huge_bodies_are_4xx(world):
    client = world["clients"]["anon"]
    deep = "[" * 100_000 + "]" * 100_000
    r = client.post(
        "/api/v1/decisions", content=deep.encode(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "(body)"
    big = {"outcome": "OS", "title": "x" * (2 * 1024 * 1024)}
    r = client.post("/api/v1/analyses", json=big)
    assert r.status_code == 413 and "limit" in r.json()["detail"]
    r = client.post("/api/v1/analyses", json={"outcome": "OS", "title": "x" * 10_000})
    assert r.status_code == 422 and "title" in r.text


def test_user_administration_in_the_browser_is_audited(world):
    admin = world["clients"]["admin"]
    token = _csrf(admin.get("/records/admin").text)
    r = admin.post(
        "/records/admin/users",
        data={
            "csrf_token": token,
            "username": "temp_doc",
            "password": "temp_doc-password",
            "role": "clinician",
        },
    )
    assert r.status_code == 422 and "username" in r.text  # user-derived password refused
    r = admin.post(
        "/records/admin/users",
        data={
            "csrf_token": token,
            "username": "temp_doc",
            "password": "amber-kettle-orbit-4",
            "role": "clinician",
            "teams": "Team A",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    temp = TestClient(world["app"], base_url="https://testserver")
    PASSWORDS["temp_doc"] = "amber-kettle-orbit-4"
    temp = login(world["app"], "temp_doc")
    assert temp.get("/records", follow_redirects=False).status_code == 200
    for action, data in (
        ("role", {"role": "researcher"}),
        ("teams", {"teams": "Team B"}),
        ("password", {"password": "violet-ferry-lantern-8"}),
        ("unlock", {}),
        ("deactivate", {}),
    ):
        r = admin.post(
            f"/records/admin/users/temp_doc/{action}",
            data={"csrf_token": token, **data},
            follow_redirects=False,
        )
        assert r.status_code == 303, (action, r.text[:200])
    # sessions ended, login refused
    assert temp.get("/records", follow_redirects=False).status_code == 303
    with world["db"].session() as s:
        from plateau.store.models import User as U

        u = s.scalar(select(U).where(U.username == "temp_doc"))
        assert (u.role, u.active) == ("researcher", False)
        actions = {
            e.resource for e in s.scalars(select(AuditEntry).where(AuditEntry.username == "admin"))
        }
    assert {"change role: temp_doc", "deactivate: temp_doc", "reset password: temp_doc"} <= actions
    page = admin.get("/records/admin").text
    assert "Deactivate" in page and "Reset password" in page and "End sessions" in page


def test_the_alerts_inbox_pages_groups_and_acknowledges_in_bulk(world):
    from plateau.store.models import Alert as AlertRow

    pid = world["pid"]["P07"]
    with world["db"].session(write=True) as s:
        for k in range(60):
            s.add(
                AlertRow(
                    patient_id=pid,
                    fingerprint=f"bulk-{k}",
                    date=__import__("datetime").date(2025, 3, 1)
                    + __import__("datetime").timedelta(days=k),
                    severity="medium",
                    message=f"repeat {k} on 2025-03-01",
                    rule="bulk-rule",
                    tag="C2",
                    status="open",
                )
            )
    client = world["clients"]["clin_a"]
    page = client.get("/records/alerts?status=open&severity=medium")
    assert page.status_code == 200
    assert "60" in page.text and "bulk-rule" in page.text  # one group, 60 repeats
    ids = re.search(
        r'action="/records/alerts/ack".*?name="alert_ids" value="([0-9,]+)"', page.text, re.S
    ).group(1)
    assert len(ids.split(",")) >= 60
    last = _audit_rows(world)
    r = client.post(
        "/records/alerts/ack",
        data={"csrf_token": _csrf(page.text), "alert_ids": ids},
        follow_redirects=False,
    )
    assert r.status_code == 303
    with world["db"].session() as s:
        states = set(s.scalars(select(AlertRow.status).where(AlertRow.rule == "bulk-rule")).all())
        n = s.scalar(select(func.count(AlertRow.id)).where(AlertRow.rule == "bulk-rule"))
    assert states == {"acknowledged"} and n == 60  # nothing deleted
    moved = [e for e in _audit_since(world, last) if e.resource.endswith("open -> acknowledged")]
    assert len(moved) >= 60 and all(e.username == "clin_a" for e in moved)
    # clin_b cannot acknowledge Team A's alerts in bulk either
    other = world["clients"]["clin_b"]
    r = other.post(
        "/records/alerts/ack",
        data={"csrf_token": _csrf(other.get("/records").text), "alert_ids": ids},
        follow_redirects=False,
    )
    assert r.status_code == 404
    # the researcher's inbox: pseudonyms and days, no message text, no alert ids
    res = _get(world, "res", "/records/alerts?status=all").text
    assert "repeat 0" not in res and "bulk-rule" in res and "P07" not in res
    assert 'name="alert_ids"' not in res


OTHER_DATES = re.compile(
    r"\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b\d{1,2}\.\d{1,2}\.\d{4}\b"  # 02/01/2025, 2.1.2025
    r"|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.? \d{1,2},? \d{4}\b"
    r"|\b\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* \d{4}\b"
    r"|\b(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\b"  # 20250102
)


def test_every_page_a_researcher_can_reach_holds_no_date_or_identifier(world):
    """Crawl as a researcher: from the records pages follow every link and form target the
    responses contain (HTML hrefs, JSON references), every alert filter and page, the records
    API's pages, the patient pages' sub-resources (FHIR, decision form, SVG inside the page) and
    the refusals (403/404 pages), and scan each response: no calendar date in any common
    format, no time of day, no fixture identifier or name, no internal patient id as a link."""
    from plateau.store.decisions import save_snapshot

    with world["db"].session(write=True) as s:
        save_snapshot(
            s,
            world["pid"]["P01"],
            {
                "label": "John Roe (MRN-P01)",
                "date": "2025-02-03T10:15:00+00:00",
                "evidence_version": "abc123def456",
                "profile": {"age": 70, "response": "CR", "note": "seen 03/02/2025"},
            },
        )
    pseudo = world["pseudo"]
    identifiers = _fixture_identifiers(world) | {"John Roe", "MRN-P01", "Jane Doe", "MRN-P07"}
    internal_links = {f"/records/patients/{i}" for i in world["pid"].values()}
    start = ["/records", "/records?page=2", "/records?q=P07", "/records/alerts"]
    start += [
        f"/records/alerts?status={s}&severity={v}&page={p}"
        for s in ("open", "acknowledged", "resolved", "superseded", "all")
        for v in ("", "high", "medium", "low")
        for p in (1, 2)
    ]
    start += ["/api/v1/records/patients", "/api/v1/records/patients?page=2"]
    for ext in pseudo:
        start += [
            f"/records/patients/{pseudo[ext]}",
            f"/api/v1/records/patients/{pseudo[ext]}",
            f"/records/patients/{pseudo[ext]}/fhir",
            f"/records/patients/{pseudo[ext]}/decide",
        ]
    start += ["/records/import", "/records/admin", "/records/audit", "/records/patients/R-nope"]
    seen: set[str] = set()
    queue = list(start)
    while queue and len(seen) < 400:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        r = _get(world, "res", path)
        assert r.status_code in (200, 303, 403, 404, 422), (path, r.status_code)
        text = r.text + r.headers.get("location", "")
        for pattern in (ISO_DATE, TIMESTAMP, OTHER_DATES):
            found = pattern.search(text)
            assert not found, (path, found.group(0), text[max(0, found.start() - 80) : found.end()])
        words = set(re.findall(r"[A-Za-z0-9_-]+", text))
        leaked = {i for i in identifiers if i in words or (" " in i and i in text)}
        assert not leaked, (path, leaked)
        links = set(
            re.findall(r'(?:href|action|src)="(/(?:records|api/v1/records|decide)[^"]*)"', text)
        )
        links |= set(re.findall(r'"(/(?:records|api/v1/records|decide)/[^"\s]*)"', text))
        assert not (links & internal_links), (path, links & internal_links)
        queue += sorted(
            link.replace("&amp;", "&")
            for link in links
            if "/ack" not in link and "/resolve" not in link and "logout" not in link
        )
    assert len(seen) > 60, len(seen)
