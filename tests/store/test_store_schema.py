"""Schema, migrations, SQLite WAL and the append-only audit log, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from plateau.store import audit, migrate
from plateau.store.db import MIGRATIONS, current_revision


def test_migration_creates_every_table_and_is_repeatable(db):
    names = set(inspect(db.engine).get_table_names())
    assert {
        "users",
        "care_teams",
        "team_members",
        "patients",
        "treatment_lines",
        "dose_records",
        "lab_results",
        "adverse_events",
        "qol_responses",
        "decisions",
        "alerts",
        "import_batches",
        "audit_log",
        "login_sessions",
        "faq_reviews",
        "alembic_version",
    } <= names
    assert {"lab_result_versions", "monitor_results"} <= names
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert current_revision(db.engine) == head
    assert migrate(db.engine) == head  # a second start migrates nothing and fails nothing


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    from plateau.store import open_database

    db = open_database(f"sqlite:///{tmp_path / 'wal.sqlite'}")
    with db.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_log SET username = 'mallory'", "DELETE FROM audit_log"]
)
def test_audit_log_is_append_only(db, statement):
    with db.session(write=True) as s:
        audit.record(s, None, "read", "timeline", patient_id=1, ip="10.0.0.1", username="alice")
    with pytest.raises(DBAPIError, match="append-only"):
        with db.session(write=True) as s:
            s.execute(text(statement))
    with db.session() as s:
        rows = audit.entries(s)
    assert [(r.username, r.action, r.patient_id, r.ip) for r in rows] == [
        ("alice", "read", 1, "10.0.0.1")
    ]


def test_audit_rows_cannot_be_rewritten_by_insert_or_replace(db):
    """SQLite's INSERT OR REPLACE deletes the old row without firing DELETE triggers."""
    with db.session(write=True) as s:
        entry = audit.record(s, None, "read", "timeline", patient_id=1, username="alice")
        s.flush()
        ident = entry.id
    verb = "INSERT OR REPLACE" if db.engine.dialect.name == "sqlite" else "INSERT"
    tail = (
        ""
        if db.engine.dialect.name == "sqlite"
        else " ON CONFLICT (id) DO UPDATE SET username = 'mallory'"
    )
    with pytest.raises(DBAPIError, match="append-only"):
        with db.session(write=True) as s:
            s.execute(
                text(
                    f"{verb} INTO audit_log"
                    " (id, at, username, action, resource, ip, outcome, detail)"
                    f" VALUES ({ident}, CURRENT_TIMESTAMP, 'mallory', 'read', 'x', '', 'ok', '')"
                    f"{tail}"
                )
            )
    with db.session() as s:
        assert [r.username for r in audit.entries(s)] == ["alice"]


def test_the_migrations_match_the_models(db):
    """No drift between the Alembic chain and the SQLAlchemy models."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from plateau.store.models import Base

    with db.engine.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c), Base.metadata)
    assert diff == []


def test_unreachable_database_is_a_user_error():
    from plateau.errors import PlateauError
    from plateau.store import open_database

    with pytest.raises(PlateauError, match="database_url"):
        open_database("postgresql+psycopg://nobody@127.0.0.1:1/none")
