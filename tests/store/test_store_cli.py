"""`plateau admin`: migrate, create-user, import (good, bad, repeated) from the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import func, select

from plateau.store.db import MIGRATIONS

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "monitor"


def plateau(*args, stdin: str = "", url: str):
    return subprocess.run(
        [sys.executable, "-m", "plateau", "admin", *args, "--database-url", url],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_admin_commands(tmp_path):
    from plateau.store import open_database
    from plateau.store.models import LabResult, User

    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    r = plateau("migrate", url=url)
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert r.returncode == 0 and f"revision {head}" in r.stdout
    r = plateau(
        "create-user",
        "dr_cli",
        "--role",
        "clinician",
        "--team",
        "Myeloma A",
        "--password-stdin",
        stdin="cli-password-123\n",
        url=url,
    )
    assert r.returncode == 0, r.stderr
    r = plateau(
        "create-user",
        "dr_cli",
        "--role",
        "clinician",
        "--password-stdin",
        stdin="cli-password-123\n",
        url=url,
    )
    assert r.returncode == 1 and "already exists" in r.stderr and "Traceback" not in r.stderr
    args = [
        "import",
        "--as",
        "dr_cli",
        "--team",
        "Myeloma A",
        "--patients",
        str(EXAMPLES / "patients.csv"),
        "--labs",
        str(EXAMPLES / "labs.csv"),
    ]
    first = plateau(*args, url=url)
    assert first.returncode == 0 and "created 19 patients" in first.stdout, first.stderr
    again = plateau(*args, url=url)
    assert again.returncode == 0 and "created nothing new" in again.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "patient_id,date,analyte,value,unit\nP01,2025-99-01,serum_m_protein,1,g/dL\n"
        "P01,2025-08-01,serum_m_protein,-3,g/dL\n"
    )
    r = plateau("import", "--as", "dr_cli", "--labs", str(bad), url=url)
    assert r.returncode == 1 and "nothing written: 2 problem(s)" in r.stderr
    assert (
        "row 1 (line 2), field 'date'" in r.stderr and "row 2 (line 3), field 'value'" in r.stderr
    )
    db = open_database(url)
    with db.session() as s:
        assert (
            s.scalar(select(func.count(LabResult.id)))
            == len((EXAMPLES / "labs.csv").read_text().strip().splitlines()) - 1
        )
        assert s.scalar(select(User.password_hash)).startswith("$argon2id$")
    db.dispose()
