from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from plateau import __version__
from plateau.cli import app

runner = CliRunner()


def test_version_prints_package_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"plateau {__version__}"
    assert __version__ != "0.0.0+unknown"


def test_unknown_command_is_one_clear_line_not_a_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "plateau", "no-such-command"], capture_output=True, text=True
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "no-such-command" in proc.stderr
