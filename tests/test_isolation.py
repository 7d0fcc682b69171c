"""Tests never touch the database ``dev.py start`` serves, and test servers never share a port."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import netutil
from sqlalchemy.engine import make_url

from plateau.store import db as store_db

REPO = Path(__file__).resolve().parents[1]


def _path_of(url: str) -> Path:
    return Path(make_url(url).database or "").resolve()


def test_the_default_database_of_a_test_process_is_a_temporary_file():
    url = os.environ["PLATEAU_DATABASE_URL"]
    path = _path_of(url)
    assert path.is_relative_to(Path(tempfile.gettempdir()).resolve())
    assert path != (REPO / "var" / "plateau.sqlite").resolve()
    engine = store_db.make_engine()  # what code without an explicit URL opens
    try:
        assert _path_of(str(engine.url)) == path
    finally:
        engine.dispose()


def test_free_ports_are_never_handed_out_twice():
    ports = [netutil.free_port() for _ in range(20)]
    assert len(set(ports)) == len(ports)
    assert all((netutil.CLAIMS / str(p)).exists() for p in ports)


def test_a_listening_socket_keeps_its_port_until_closed():
    sock = netutil.listening_socket()
    try:
        port = sock.getsockname()[1]
        assert port > 0
        other = netutil.listening_socket()
        try:
            assert other.getsockname()[1] != port
        finally:
            other.close()
    finally:
        sock.close()
