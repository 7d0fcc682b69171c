"""`plateau serve --workers N`: several worker processes behind one port.

The load target of the records pages (p95 < 300 ms at 50 clinicians on SQLite) was met only
with two workers on this two-core machine (benchmarks/bench_records.py --workers 2), so the
option is part of how plateau is deployed.  Checked here: the database is migrated once before
the workers start (no race), both workers start and answer, a login made through one worker
holds on the next requests whichever worker answers them (sessions and throttling live in the
database), and each worker's app gets the served settings with the start-up refresh off.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import httpx
from netutil import free_port

from plateau.store.db import open_database
from plateau.store.security import create_user
from plateau.web.app import SETTINGS_ENV, app_from_environment, prepare_workers
from plateau.web.pages import WebSettings

PASSWORD = "violet-harbour-lantern-42"


def test_prepare_workers_hands_the_settings_to_each_worker(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'p.sqlite'}"
    monkeypatch.delenv(SETTINGS_ENV, raising=False)
    target = prepare_workers(WebSettings(database_url=url, extra={"trusted_proxies": ["10.0.0.1"]}))
    assert target == "plateau.web.app:app_from_environment"
    assert (tmp_path / "p.sqlite").exists()  # created and migrated before any worker starts
    app = app_from_environment()
    assert app.state.settings.database_url == url
    assert app.state.settings.extra["trusted_proxies"] == ["10.0.0.1"]
    assert app.state.settings.extra["refresh_on_start"] is False
    monkeypatch.delenv(SETTINGS_ENV, raising=False)


def test_two_workers_serve_one_login(tmp_path):
    url = f"sqlite:///{tmp_path / 'clinic.sqlite'}"
    db = open_database(url)
    with db.session(write=True) as s:
        create_user(s, "clin_w", PASSWORD, "clinician", ["Team W"])
    db.dispose()
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "plateau", "serve", "--port", str(port)]
            + ["--database-url", url, "--workers", "2"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(os.environ),
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        # both workers up (the second may still be starting when the first answers)
        while log.read_text().count("Application startup complete") < 2:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        with httpx.Client(base_url=base, timeout=30) as client:
            form = client.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
            r = client.post(
                "/login",
                data={"username": "clin_w", "password": PASSWORD, "csrf_token": token},
                follow_redirects=False,
            )
            assert r.status_code == 303, r.text
            for _ in range(12):  # new connections: the kernel spreads them over the workers
                with httpx.Client(base_url=base, cookies=client.cookies, timeout=30) as c2:
                    page = c2.get("/records", follow_redirects=False)
                    assert page.status_code == 200, page.text[:300]
                    assert "clin_w" in page.text
        text = log.read_text()
        assert text.count("Started server process") == 2
        assert "Traceback" not in text
    finally:
        proc.terminate()
        proc.wait(timeout=60)
