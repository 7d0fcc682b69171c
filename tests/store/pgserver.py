"""Start a throwaway PostgreSQL server (initdb + pg_ctl) for tests; used by tests/store and
tests/web.

``start()`` returns ``(base_url, stop)``; it raises RuntimeError with the reason when no server
can be started.  As root the server runs as the ``postgres`` user (or ``nobody``) via ``runuser``.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from netutil import free_port


def _pg_bin() -> Path | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4])
    )
    if found:
        return Path(found[-1]).parent
    which = shutil.which("pg_ctl")
    return Path(which).parent if which else None


def _pg_ctl_start(run_as, bindir, data, tmp, port, env):
    opts = (
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={tmp} -c "
        "fsync=off -c full_page_writes=off -c max_connections=200"
    )
    return subprocess.run(
        [
            *run_as,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            opts,
            "-w",
            "-t",
            "60",
            "-l",
            str(tmp / "log"),
            "start",
        ],
        capture_output=True,
        text=True,
        env=env,
    )


def start():
    bindir = _pg_bin()
    if bindir is None:
        raise RuntimeError(
            "pg_ctl not found (tests/setup_system.py installs Debian's postgresql as root)"
        )
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    tmp = Path(tempfile.mkdtemp(prefix="plateau-pg-"))
    data = tmp / "data"
    run_as: list[str] = []
    if root:
        import pwd

        user = "postgres"
        try:
            pwd.getpwnam(user)
        except KeyError:
            user = "nobody"
        shutil.chown(tmp, user=user)
        run_as = ["runuser", "-u", user, "--"]
    port = free_port()
    env = dict(os.environ, LC_ALL="C", LANG="C")
    init = subprocess.run(
        [
            *run_as,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "plateau",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    if init.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {init.stderr.strip()[-300:]}")
    for attempt in range(3):  # another process may take the port between claim and bind
        started = _pg_ctl_start(run_as, bindir, data, tmp, port, env)
        log = (tmp / "log").read_text() if (tmp / "log").exists() else started.stderr
        if started.returncode == 0:
            break
        if "could not bind" not in log or attempt == 2:
            shutil.rmtree(tmp, ignore_errors=True)
            raise RuntimeError(f"pg_ctl start failed: {log.strip()[-300:]}")
        port = free_port()

    def stop() -> None:
        subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            env=env,
        )
        shutil.rmtree(tmp, ignore_errors=True)

    return f"postgresql+psycopg://plateau@127.0.0.1:{port}", stop


def new_database(base: str) -> str:
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(
        base.replace("postgresql+psycopg://", "postgresql://") + "/postgres", autocommit=True
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"
