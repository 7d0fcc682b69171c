"""Write contention (SQLite and PostgreSQL): while an import's monitoring engine runs, other
requests can write (an audit entry: every page view writes one) at once; the import stays
atomic and the derived data are stored for the import's own version of the data."""

from __future__ import annotations

import threading
import time

from plateau.store import audit, monitoring
from plateau.store.importer import import_files
from plateau.store.monitoring import stale_patients


def test_a_page_view_can_write_while_an_import_runs_the_engine(
    db, users, example_files, monkeypatch
):
    real = monitoring.assess
    in_engine = threading.Event()

    def slow_assess(session, ids):
        in_engine.set()
        time.sleep(2.0)  # the engine of a large import
        return real(session, ids)

    monkeypatch.setattr(monitoring, "assess", slow_assess)
    errors: list[BaseException] = []

    def run_import():
        try:
            import_files(db, users["admin"], csv_files=example_files(), team="Team A")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    t = threading.Thread(target=run_import)
    t.start()
    assert in_engine.wait(60)
    started = time.perf_counter()
    with db.session(write=True) as s:  # what a clinician's page view does
        audit.record(s, None, "read", "timeline", patient_id=1, username="clin_a")
    waited = time.perf_counter() - started
    t.join()
    assert not errors, errors
    assert waited < 1.0, f"the page view waited {waited:.1f} s for the import"
    with db.session() as s:
        assert stale_patients(s) == []  # every patient's results stored after the import


def test_page_views_during_a_3000_patient_import_never_fail_with_database_is_locked(
    tmp_path, monkeypatch
):
    """SQLite: a clinician keeps opening the patient list and timelines while a 3,000-patient
    import writes its rows (it holds the write lock for that time; every page view writes an
    audit entry).  With the busy timeout lowered below the import's write phase, a view that
    overlaps it used to fail with 500 "database is locked"; now it waits for the lock."""
    import datetime as dt
    import re

    from fastapi.testclient import TestClient

    from plateau.store import db as db_module
    from plateau.store import importer, open_database
    from plateau.store.security import create_user
    from plateau.web.app import WebSettings, create_app

    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_S", 0.05)  # far below the write phase
    url = f"sqlite:///{tmp_path / 'big.sqlite'}"
    db = open_database(url)
    password = "lantern-harbour-quiet-7"
    with db.session(write=True) as s:
        admin = create_user(s, "admin_x", password, "admin", ["Team A"]).id
    small = "patient_id,maintenance_start,agent,dose_mg\n" + "".join(
        f"S{i:02d},2024-01-01,lenalidomide,10\n" for i in range(3)
    )
    import_files(db, admin, csv_files={"patients": ("s.csv", small.encode())}, team="Team A")

    start = dt.date(2024, 1, 1)
    ids = [f"L{i:05d}" for i in range(3000)]
    patients = "patient_id,maintenance_start,agent,dose_mg\n" + "".join(
        f"{p},{start},lenalidomide,10\n" for p in ids
    )
    labs = "patient_id,date,analyte,value,unit\n" + "".join(
        f"{p},2024-02-01,serum_m_protein,{1 + (i % 7) / 10:.1f},g/dL\n" for i, p in enumerate(ids)
    )
    writing = threading.Event()
    wrote = threading.Event()
    real_apply = importer.apply

    def watched_apply(*args, **kwargs):  # inside the import's write transaction
        writing.set()
        try:
            return real_apply(*args, **kwargs)
        finally:
            wrote.set()

    monkeypatch.setattr(importer, "apply", watched_apply)
    outcome: dict = {}

    def run_import():
        try:
            outcome["summary"] = import_files(
                db,
                admin,
                csv_files={
                    "patients": ("big.csv", patients.encode()),
                    "labs": ("big-labs.csv", labs.encode()),
                },
                team="Team A",
            )
        except BaseException as exc:  # noqa: BLE001
            outcome["error"] = exc

    app = create_app(WebSettings(database_url=url))
    statuses: list[tuple[int, bool]] = []
    with TestClient(app, base_url="https://testserver") as client:
        form = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        r = client.post(
            "/login",
            data={"username": "admin_x", "password": password, "csrf_token": token},
            follow_redirects=False,
        )
        assert r.status_code == 303
        worker = threading.Thread(target=run_import)
        worker.start()
        assert writing.wait(120)
        k = 0
        while worker.is_alive():
            during = writing.is_set() and not wrote.is_set()
            url_ = "/records" if k % 2 else "/records/patients/1"
            statuses.append((client.get(url_).status_code, during))
            k += 1
        worker.join()
    assert "error" not in outcome, outcome
    assert outcome["summary"].created["patients"] == 3000
    assert any(during for _status, during in statuses), "no page view overlapped the write phase"
    assert [s for s, _during in statuses if s != 200] == []
    db.dispose()


def test_two_refreshes_of_one_patient_at_once_store_each_alert_once(db, users, example_files):
    """Two imports for the same patient close together: both run the engine on the same data
    version, then both store.  The second must see the first's alerts (PostgreSQL used to raise
    a unique violation on the alert fingerprint: a 500 for the second clinician's import)."""
    from sqlalchemy import func, select

    from plateau.store.importer import apply
    from plateau.store.models import Alert, User

    with db.session(write=True) as s:
        summary = apply(
            s, _read(example_files()), s.get(User, users["admin"]), team="Team A", refresh=False
        )
    ids = sorted(summary.patients)
    real = monitoring.assess
    both_computed = threading.Barrier(2, timeout=60)

    def assess_then_wait(session, part):
        out = real(session, part)
        both_computed.wait()  # both engines done before either stores
        return out

    monitoring.assess = assess_then_wait
    errors: list[BaseException] = []

    def refresh():
        try:
            monitoring.refresh_patients(db, ids)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    try:
        threads = [threading.Thread(target=refresh) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        monitoring.assess = real
    assert not errors, errors
    with db.session() as s:
        n = s.scalar(select(func.count(Alert.id)))
        distinct = s.scalar(select(func.count(func.distinct(Alert.fingerprint))))
        assert stale_patients(s) == []
    assert n == distinct > 0


def _read(files):
    from plateau.store.csv_io import read_csv

    return read_csv(files)


def test_two_imports_of_one_result_at_once_both_succeed(db, users, example_files, monkeypatch):
    """Two clinicians import the same new result for one patient at the same moment: one
    creates it, the other finds it (PostgreSQL used to raise a unique violation on
    (patient, date, analyte) for the second: a 500)."""
    from sqlalchemy import func, select

    from plateau.store import importer
    from plateau.store.models import LabResult

    import_files(db, users["clin_a"], csv_files=example_files("patients"), team="Team A")
    real = importer.team_ids
    meet = threading.Barrier(2)

    def team_ids_then_meet(session, user):  # called after the patients are read (and locked)
        out = real(session, user)
        try:
            meet.wait(timeout=3)  # without the lock both imports get here before either writes
        except threading.BrokenBarrierError:
            pass
        return out

    monkeypatch.setattr(importer, "team_ids", team_ids_then_meet)
    labs = b"patient_id,date,analyte,value,unit\nP01,2025-09-01,serum_m_protein,0.7,g/dL\n"
    results, errors = [], []

    def run():
        try:
            results.append(
                import_files(db, users["clin_a"], csv_files={"labs": ("labs.csv", labs)})
            )
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(r.created["labs"] for r in results) == [0, 1]
    with db.session() as s:
        assert s.scalar(select(func.count(LabResult.id)).where(LabResult.value == 0.7)) == 1
