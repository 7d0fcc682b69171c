"""Fixtures for web tests: an in-process client, a live server on loopback, headless Chromium.

The browser is Debian's ``/usr/bin/chromium`` (installed by ``tests/setup_system.py``), driven by
Playwright through ``executable_path``; Playwright's own browser download is never used.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from netutil import serve

from plateau.web.app import WebSettings, create_app

CHROMIUM = os.environ.get("PLATEAU_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    """The web app on a database and a decisions folder of its own (never ``var/``)."""
    folder = tmp_path_factory.mktemp("web-data")
    return create_app(
        WebSettings(
            database_url=f"sqlite:///{folder / 'plateau.sqlite'}",
            extra={"decisions_dir": folder / "decisions"},
        )
    )


@pytest.fixture(scope="session")
def client(app):
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def live_server(app):
    """The app served by uvicorn on 127.0.0.1 in a background thread; yields its base URL."""
    base, stop = serve(app)
    yield base
    stop()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (tests/setup_system.py installs it as root)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ],
    }


@pytest.fixture()
def screenshot(page):
    """Save a full-page screenshot under test-artifacts/screenshots/NAME.png and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
