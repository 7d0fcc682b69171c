"""The web app fixture runs on a database of its own, never the one ``dev.py start`` serves."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[2]


def test_the_web_app_fixture_has_its_own_database(app, client):
    url = app.state.settings.database_url
    assert url is not None
    path = Path(make_url(url).database or "").resolve()
    assert path.is_relative_to(Path(tempfile.gettempdir()).resolve())
    assert path != (REPO / "var" / "plateau.sqlite").resolve()
    default = Path(make_url(os.environ["PLATEAU_DATABASE_URL"]).database or "").resolve()
    assert path != default
    assert client.get("/login").status_code == 200  # the records side opens that database
    assert path.exists()
    decisions = Path(app.state.settings.extra["decisions_dir"]).resolve()
    assert decisions.is_relative_to(Path(tempfile.gettempdir()).resolve())
