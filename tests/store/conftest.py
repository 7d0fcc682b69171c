"""Storage fixtures: every ``db_url`` test runs on SQLite (a temp file) and on PostgreSQL.

PostgreSQL is a throwaway server started here: ``initdb`` into a temp directory and ``pg_ctl``
on a free loopback port with its unix socket in that directory (as the ``postgres`` user when
the tests run as root).  ``tests/setup_system.py`` installs Debian's ``postgresql``.  If the
server cannot start, the PostgreSQL variants FAIL when ``CI`` is set and are skipped with the
reason otherwise.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "monitor"


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("pg_ctl")
    return Path(which).parent if which else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(f"PostgreSQL not available: {reason}")


@pytest.fixture(scope="session")
def pg_server():
    """(admin URL, base URL without database) of a throwaway PostgreSQL server."""
    bindir = _pg_bin()
    if bindir is None:
        _unavailable("pg_ctl not found (tests/setup_system.py installs Debian's postgresql as root)")
    root = os.geteuid() == 0 if hasattr(os, "geteuid") else False
    tmp = Path(tempfile.mkdtemp(prefix="plateau-pg-"))
    data, sock = tmp / "data", tmp
    run_as: list[str] = []
    if root:
        user = "postgres"
        try:
            import pwd

            pwd.getpwnam(user)
        except KeyError:
            user = "nobody"
        shutil.chown(tmp, user=user)
        run_as = ["runuser", "-u", user, "--"]
    port = _free_port()
    env = dict(os.environ, LC_ALL="C", LANG="C")
    init = subprocess.run([*run_as, str(bindir / "initdb"), "-D", str(data), "-U", "plateau", "-A", "trust",
                           "-E", "UTF8", "--no-sync"], capture_output=True, text=True, env=env)
    if init.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        _unavailable(f"initdb failed: {init.stderr.strip()[-300:]}")
    opts = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={sock} -c fsync=off " \
           "-c full_page_writes=off -c max_connections=200"
    start = subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-w", "-t", "60",
                            "-l", str(tmp / "log"), "start"], capture_output=True, text=True, env=env)
    if start.returncode != 0:
        log = (tmp / "log").read_text() if (tmp / "log").exists() else start.stderr
        shutil.rmtree(tmp, ignore_errors=True)
        _unavailable(f"pg_ctl start failed: {log.strip()[-300:]}")
    base = f"postgresql+psycopg://plateau@127.0.0.1:{port}"
    try:
        yield base
    finally:
        subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, env=env)
        shutil.rmtree(tmp, ignore_errors=True)


def new_pg_database(base: str) -> str:
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    dsn = base.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"


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


@pytest.fixture
def users(db):
    """ids of admin, clinician of team A, clinician of team B, researcher."""
    from plateau.store.security import create_user

    with db.session(write=True) as s:
        out = {
            "admin": create_user(s, "admin", "admin-password-1", "admin").id,
            "clin_a": create_user(s, "clin_a", "clin-a-password", "clinician", ["Team A"]).id,
            "clin_b": create_user(s, "clin_b", "clin-b-password", "clinician", ["Team B"]).id,
            "researcher": create_user(s, "res", "researcher-pass", "researcher").id,
        }
    return out


def _example_files(*kinds: str) -> dict:
    kinds = kinds or ("patients", "labs", "events", "qlq")
    return {k: (f"{k}.csv", (EXAMPLES / f"{k}.csv").read_bytes()) for k in kinds}


def _table_counts(db) -> dict:
    from sqlalchemy import func, select

    from plateau.store import models as M

    with db.session() as s:
        return {t.__tablename__: s.scalar(select(func.count()).select_from(t))
                for t in (M.Patient, M.TreatmentLine, M.DoseRecord, M.LabResult, M.AdverseEvent, M.QolResponse,
                          M.Alert, M.ImportBatch, M.Decision)}


@pytest.fixture
def example_files():
    """``example_files("labs", ...)`` -> {kind: (name, bytes)} of examples/monitor (all four by default)."""
    return _example_files


@pytest.fixture
def table_counts():
    """``table_counts(db)`` -> rows per records table."""
    return _table_counts
