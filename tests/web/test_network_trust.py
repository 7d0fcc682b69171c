"""What the server trusts from the network, served as `plateau serve` serves (uvicorn config of
:func:`plateau.web.app.server_config`): X-Forwarded-For only from configured proxies; no query
string (patient names typed into search) in the access log."""

from __future__ import annotations

import logging
import re
import socket
import threading
import time

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from plateau.store import open_database
from plateau.store.models import AuditEntry
from plateau.store.security import create_user
from plateau.web.app import WebSettings, create_app, server_config


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(settings: WebSettings):
    app = create_app(settings)
    port = _free_port()
    server = uvicorn.Server(server_config(app, "127.0.0.1", port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return app, server, thread, f"http://127.0.0.1:{port}"


def _failed_login(base: str, headers: dict) -> None:
    with httpx.Client(base_url=base) as c:
        form = c.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        r = c.post(
            "/login",
            data={"username": "doc", "password": "wrong", "csrf_token": token},
            headers=headers,
        )
        assert r.status_code == 401


@pytest.mark.parametrize("trusted", [(), ("127.0.0.1",)], ids=["default", "proxy-configured"])
def test_x_forwarded_for_is_trusted_only_when_configured(tmp_path, trusted):
    url = f"sqlite:///{tmp_path / 'x.sqlite'}"
    db = open_database(url)
    with db.session(write=True) as s:
        create_user(s, "doc", "silver-orchard-piano-3", "clinician")
    app, server, thread, base = _serve(
        WebSettings(database_url=url, extra={"trusted_proxies": list(trusted)})
    )
    try:
        _failed_login(base, {"X-Forwarded-For": "198.51.100.23"})
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    with db.session() as s:
        ips = [e.ip for e in s.scalars(select(AuditEntry).where(AuditEntry.action == "login"))]
    db.dispose()
    assert ips == (["198.51.100.23"] if trusted else ["127.0.0.1"])


def test_search_terms_never_reach_the_access_log(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.sqlite'}"
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Keep()
    access = logging.getLogger("uvicorn.access")
    app, server, thread, base = _serve(WebSettings(database_url=url))
    access.addHandler(handler)
    try:
        httpx.get(f"{base}/records?q=Jane+Doe+MRN-0042", timeout=30)
        httpx.get(f"{base}/evidence?agent=lenalidomide", timeout=30)
    finally:
        access.removeHandler(handler)
        server.should_exit = True
        thread.join(timeout=10)
    lines = [r.getMessage() for r in records]
    assert any("/records" in line for line in lines), lines
    assert not any("Jane" in line or "MRN-0042" in line or "?" in line for line in lines), lines
