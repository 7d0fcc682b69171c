"""Fixtures and settings shared by every test.

Isolation: no test touches ``var/plateau.sqlite`` (the database ``dev.py start`` serves).  Every
test process points ``PLATEAU_DATABASE_URL`` at a database file of its own in a temporary folder
before any test imports plateau, so code that falls back to the default database (the CLI, the
web app without settings) writes there; fixtures that need a database make their own temporary
one on top (``tests/web/conftest.py``, ``tests/store/conftest.py``).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:  # helpers shared by the test folders: netutil, readme_snippets
    sys.path.insert(0, str(TESTS))

_DB_DIR = Path(tempfile.mkdtemp(prefix="plateau-test-db-"))
os.environ["PLATEAU_DATABASE_URL"] = f"sqlite:///{_DB_DIR / 'plateau.sqlite'}"


def pytest_unconfigure(config):
    shutil.rmtree(_DB_DIR, ignore_errors=True)
