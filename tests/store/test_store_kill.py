"""A process killed in the middle of an import leaves the database as it was (SQLite and
PostgreSQL).

The child imports 10 patients x 400 days of results (4,000 lab rows).  In the first test it is
killed with SIGKILL after every row has been flushed to the database inside the transaction (it
announces that point on stdout, when the per-patient audit entries are written, just before the
commit); a third kills it after the commit while the derived data (alerts, stored monitoring
results) are being recomputed: the import is all there and the stale patients are found and
recomputed by ``refresh_stale`` (what the server does when it starts); in the
second it is killed at a fixed delay, wherever it is.  Afterwards the database must hold either
nothing of the import or all of it, pass an integrity check, and accept the same import.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

CHILD = textwrap.dedent("""
    import sys, time
    from plateau.store import open_database, monitoring, importer
    url, user_id = sys.argv[1], int(sys.argv[2])
    mode = sys.argv[3]
    real_record = importer.audit.record
    said = []
    def record_then_wait(*a, **k):
        if mode == "pause" and not said:
            said.append(1)
            print("FLUSHED", flush=True)
            time.sleep(120)
        return real_record(*a, **k)
    importer.audit.record = record_then_wait
    real = monitoring.assess
    def assess_then_wait(session, ids):
        if mode == "pause-refresh":
            print("COMMITTED", flush=True)
            time.sleep(120)
        return real(session, ids)
    monitoring.assess = assess_then_wait
    patients = "patient_id,maintenance_start,agent,dose_mg\\n" + "".join(
        f"K{i:02d},2024-01-01,lenalidomide,10\\n" for i in range(10))
    labs = ["patient_id,date,analyte,value,unit"]
    import datetime as dt
    for i in range(10):
        for d in range(400):
            day = dt.date(2024, 1, 1) + dt.timedelta(days=d)
            labs.append(f"K{i:02d},{day},serum_m_protein,{1 + (d % 7) / 10},g/dL")
    db = open_database(url)
    print("START", flush=True)
    files = {"patients": ("p.csv", patients.encode()),
             "labs": ("l.csv", ("\\n".join(labs) + "\\n").encode())}
    importer.import_files(db, user_id, csv_files=files, team="Team A")
    print("DONE", flush=True)
""")


def _spawn(db_url, user_id, mode):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, db_url, str(user_id), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_for(proc, word, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"child ended before {word}: {proc.stderr.read()[-2000:]}")
        if line.strip() == word:
            return
    raise AssertionError(f"no {word} within {timeout} s")


def _check_consistent(db, db_url, table_counts, before):
    after = table_counts(db)
    if db.engine.dialect.name == "sqlite":
        with db.engine.connect() as c:
            assert c.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    return after


@pytest.mark.slow
def test_kill_after_rows_flushed_writes_nothing(db, db_url, users, table_counts):
    before = table_counts(db)
    proc = _spawn(db_url, users["admin"], "pause")
    try:
        _wait_for(proc, "FLUSHED")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    db.engine.dispose()  # new connections: see what a restarted app would see
    after = _check_consistent(db, db_url, table_counts, before)
    assert after == before
    # the database is usable: the same import now succeeds in full
    proc = _spawn(db_url, users["admin"], "go")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]
    final = table_counts(db)
    assert final["patients"] == before["patients"] + 10
    assert final["lab_results"] == before["lab_results"] + 4000


@pytest.mark.slow
def test_kill_at_a_random_moment_leaves_all_or_nothing(db, db_url, users, table_counts):
    before = table_counts(db)
    proc = _spawn(db_url, users["admin"], "go")
    try:
        _wait_for(proc, "START")
        time.sleep(0.15)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    db.engine.dispose()
    after = _check_consistent(db, db_url, table_counts, before)
    nothing = after == before
    everything = (
        after["patients"] == before["patients"] + 10
        and after["lab_results"] == before["lab_results"] + 4000
    )
    assert nothing or everything, (before, after)


@pytest.mark.slow
def test_kill_while_derived_data_is_recomputed_keeps_the_import(db, db_url, users, table_counts):
    from plateau.store.monitoring import refresh_stale, stale_patients

    before = table_counts(db)
    proc = _spawn(db_url, users["admin"], "pause-refresh")
    try:
        _wait_for(proc, "COMMITTED")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    db.engine.dispose()
    after = _check_consistent(db, db_url, table_counts, before)
    assert after["lab_results"] == before["lab_results"] + 4000  # the import is whole
    with db.session() as s:
        assert len(stale_patients(s)) == 10
    assert refresh_stale(db) == 10
    with db.session() as s:
        assert stale_patients(s) == []
