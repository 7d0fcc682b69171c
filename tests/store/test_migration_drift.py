"""The Alembic migrations build exactly the schema the models declare (SQLite and PostgreSQL).

A fresh database is upgraded to ``head`` through the migration chain and then compared with
``plateau.store.models`` by Alembic's autogenerate comparison (``compare_metadata``): tables,
columns, types, nullability, indexes, unique and foreign-key constraints.  Any difference means
a model changed without a migration (or the reverse).
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from plateau.store import db as store_db
from plateau.store.models import Base


def _differences(url: str) -> list:
    engine = store_db.make_engine(url)
    try:
        store_db.migrate(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": False}
            )
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    # Alembic's own bookkeeping table is not a model
    return [d for d in diff if "alembic_version" not in repr(d)]


def test_migrations_match_the_models(db_url):
    diff = _differences(db_url)
    assert diff == [], "models and migrations differ:\n" + "\n".join(repr(d) for d in diff)


def test_the_comparison_sees_a_missing_column(tmp_path):
    """The check can fail: a column dropped behind the models' back is reported."""
    url = f"sqlite:///{tmp_path / 'drift.sqlite'}"
    engine = store_db.make_engine(url)
    store_db.migrate(engine)
    engine.dispose()
    table, column = next(
        (t, c)
        for t in Base.metadata.sorted_tables
        for c in t.columns
        if not (c.primary_key or c.foreign_keys or c.unique or c.index)
        and not any(c.name in idx.columns for idx in t.indexes)
        and not any(c.name in con.columns for con in t.constraints if hasattr(con, "columns"))
    )
    raw = create_engine(url)
    with raw.begin() as connection:
        connection.exec_driver_sql(f'ALTER TABLE "{table.name}" DROP COLUMN "{column.name}"')
    raw.dispose()
    engine = create_engine(url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert any(d[0] == "add_column" and d[3].name == column.name for d in diff), diff
