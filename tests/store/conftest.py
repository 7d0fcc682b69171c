"""Storage fixtures: every ``db_url`` test runs on SQLite (a temp file) and on PostgreSQL.

PostgreSQL is a throwaway server started here: ``initdb`` into a temp directory and ``pg_ctl``
on a free loopback port with its unix socket in that directory (as the ``postgres`` user when
the tests run as root).  ``tests/setup_system.py`` installs Debian's ``postgresql``.  If the
server cannot start, the PostgreSQL variants FAIL when ``CI`` is set and are skipped with the
reason otherwise.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "plateau_test_pgserver", Path(__file__).with_name("pgserver.py")
)
pgserver = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pgserver)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "monitor"


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(f"PostgreSQL not available: {reason}")


@pytest.fixture(scope="session")
def pg_server():
    """Base URL (no database) of a throwaway PostgreSQL server for this test session."""
    try:
        base, stop = pgserver.start()
    except RuntimeError as exc:
        _unavailable(str(exc))
    try:
        yield base
    finally:
        stop()


new_pg_database = pgserver.new_database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """A fresh, empty database URL on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'plateau.sqlite'}"
    return new_pg_database(request.getfixturevalue("pg_server"))


@pytest.fixture
def db(db_url):
    from plateau.store import open_database

    database = open_database(db_url)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def password_hashes():
    """Argon2id hashes computed once per session (hashing is deliberately slow)."""
    from plateau.store.security import hash_password

    return {name: hash_password(pw) for name, pw in USERS_PASSWORDS.items()}


USERS_PASSWORDS = {
    "admin": "bone-marrow-ledger-1",
    "clin_a": "clin-a-password",
    "clin_b": "clin-b-password",
    "res": "quiet-harbour-lantern",
}


@pytest.fixture
def users(db, password_hashes):
    """ids of admin, clinician of team A, clinician of team B, researcher (real argon2 hashes)."""
    from plateau.store.models import User
    from plateau.store.security import get_or_create_team

    spec = {
        "admin": ("admin", "admin", []),
        "clin_a": ("clin_a", "clinician", ["Team A"]),
        "clin_b": ("clin_b", "clinician", ["Team B"]),
        "researcher": ("res", "researcher", []),
    }
    out = {}
    with db.session(write=True) as s:
        for key, (username, role, teams) in spec.items():
            user = User(
                username=username, password_hash=password_hashes[username], role=role, active=True
            )
            user.teams.extend(get_or_create_team(s, t) for t in teams)
            s.add(user)
            s.flush()
            out[key] = user.id
    return out


def _example_files(*kinds: str) -> dict:
    kinds = kinds or ("patients", "labs", "events", "qlq")
    return {k: (f"{k}.csv", (EXAMPLES / f"{k}.csv").read_bytes()) for k in kinds}


def _table_counts(db) -> dict:
    from sqlalchemy import func, select

    from plateau.store import models as M

    with db.session() as s:
        return {
            t.__tablename__: s.scalar(select(func.count()).select_from(t))
            for t in (
                M.Patient,
                M.TreatmentLine,
                M.DoseRecord,
                M.LabResult,
                M.AdverseEvent,
                M.QolResponse,
                M.Alert,
                M.ImportBatch,
                M.Decision,
            )
        }


@pytest.fixture
def example_files():
    """``example_files("labs", ...)`` -> {kind: (name, bytes)} of examples/monitor (all four by
    default)."""
    return _example_files


@pytest.fixture
def table_counts():
    """``table_counts(db)`` -> rows per records table."""
    return _table_counts
