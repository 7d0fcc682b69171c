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
