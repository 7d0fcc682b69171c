"""Engine, sessions and migrations of the clinical-records database.

``open_database(url)`` returns a :class:`Database` whose schema is at the newest Alembic
revision: the migrations ship inside the package (``plateau/store/migrations``) and run
programmatically, so a fresh install needs no manual step.  The embedded default is SQLite in
WAL mode (``sqlite:///var/plateau.sqlite``, relative to the working directory); PostgreSQL
(``postgresql+psycopg://user@host/db``) is supported and tested.

SQLite connections get ``journal_mode=WAL`` (readers never block the writer),
``foreign_keys=ON``, ``synchronous=NORMAL`` (durable at checkpoints; WAL keeps the database
consistent after a crash) and a 30 s ``busy_timeout`` so concurrent writers wait instead of failing;
a write transaction that still finds the write lock taken (a large import holds it while it writes
its rows) tries again until ``WRITE_LOCK_WAIT_S``, so a page view's audit entry waits for the
import instead of failing with "database is locked".
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from plateau.errors import PlateauError

DEFAULT_URL = "sqlite:///var/plateau.sqlite"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_MIGRATE_LOCK = threading.Lock()


#: SQLite: how long one statement waits for a lock before "database is locked"
BUSY_TIMEOUT_S = 30.0
#: SQLite: how long a write transaction waits in total for the write lock (retrying BEGIN
#: IMMEDIATE after each busy timeout), e.g. behind a very large import, before it fails
WRITE_LOCK_WAIT_S = 600.0


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    cursor.close()


def _locked(exc: OperationalError) -> bool:
    return "database is locked" in str(exc) or "database is busy" in str(exc)


def make_engine(url: str | None = None) -> Engine:
    """An engine for ``url`` (default: the embedded SQLite file, its folder created if needed)."""
    url = url or os.environ.get("PLATEAU_DATABASE_URL") or DEFAULT_URL
    parsed = make_url(url)
    target: str | URL = url
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_S}
        )
        event.listen(engine, "connect", _sqlite_pragmas)

        # pysqlite's own transaction handling defers BEGIN; emit it ourselves so a transaction
        # that reads then writes holds the write lock from the start (no lost updates).
        @event.listens_for(engine, "begin")
        def _begin(conn):  # pragma: no cover - trivial
            write = conn.get_execution_options().get("plateau_write")
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        @event.listens_for(engine, "connect")
        def _no_autobegin(dbapi_connection, _record):
            dbapi_connection.isolation_level = None

        return engine
    if parsed.drivername in ("postgresql", "postgres"):
        target = parsed.set(drivername="postgresql+psycopg")
    return create_engine(target, pool_pre_ping=True, pool_size=10, max_overflow=20)


def alembic_config(connection):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine, revision: str = "head") -> str | None:
    """Upgrade the schema to ``revision``; returns the revision now current.

    Concurrent first starts are serialised: a file lock beside a SQLite database, an advisory
    lock on PostgreSQL.
    """
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    with _MIGRATE_LOCK, _cross_process_lock(engine), engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(727001)"))
        command.upgrade(alembic_config(connection), revision)
        return MigrationContext.configure(connection).get_current_revision()


@contextlib.contextmanager
def _cross_process_lock(engine: Engine):
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or os.name != "posix":
        yield
        return
    import fcntl

    with open(f"{database}.migrate-lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@dataclass
class Database:
    """An engine and its session factory."""

    engine: Engine
    sessions: sessionmaker

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextlib.contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error.

        ``write=True`` takes SQLite's write lock at BEGIN (``BEGIN IMMEDIATE``), so a
        read-then-write transaction cannot be overtaken by another writer.
        """
        session = self._write_session() if write else self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def _write_session(self) -> Session:
        """A session whose transaction holds the write lock (SQLite: BEGIN IMMEDIATE), waiting
        for it up to ``WRITE_LOCK_WAIT_S`` in all."""
        deadline = time.monotonic() + WRITE_LOCK_WAIT_S
        while True:
            session = self.sessions()
            try:
                session.connection(execution_options={"plateau_write": True})
                return session
            except OperationalError as exc:
                session.close()
                if not _locked(exc) or time.monotonic() >= deadline:
                    raise

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(url: str | None = None, *, run_migrations: bool = True) -> Database:
    """Open (and by default create or upgrade) the records database at ``url``."""
    engine = make_engine(url)
    try:
        if run_migrations:
            migrate(engine)
    except Exception as exc:  # a wrong URL or an unreachable server is a user error
        engine.dispose()
        if isinstance(exc, PlateauError):
            raise
        raise PlateauError(
            "database_url: cannot open or migrate "
            f"{make_url(url or DEFAULT_URL).render_as_string(hide_password=True)}: "
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        ) from exc
    return Database(engine, sessionmaker(engine, expire_on_commit=False))
