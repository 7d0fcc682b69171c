"""dev.py passes the quick start's arguments to the right ``plateau`` command."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _dev():
    spec = importlib.util.spec_from_file_location("plateau_dev_script", ROOT / "dev.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def test_options_after_double_dash_go_to_plateau_start():
    dev = _dev()
    assert dev.start_arguments(["--port", "9000"]) == ["start", "--port", "9000"]
    assert dev.start_arguments(["--host", "0.0.0.0", "--port", "9000"])[0] == "start"
    assert dev.start_arguments([]) == ["start"]


def test_a_sub_command_runs_that_command():
    dev = _dev()
    assert dev.start_arguments(["evidence", "list"]) == ["evidence", "list"]
    assert dev.start_arguments(["--help"]) == ["--help"]


def test_main_strips_the_double_dash(monkeypatch):
    dev = _dev()
    seen = {}
    monkeypatch.setattr(dev, "cmd_start", lambda args: seen.setdefault("args", args) and 0)
    dev.main(["start", "--", "--port", "9000"])
    assert seen["args"] == ["--port", "9000"]


def test_the_readme_quick_start_port_option_reaches_the_start_command():
    """The README's example parses as `plateau start --port 9000` (typer accepts it)."""
    from typer.testing import CliRunner

    from plateau.cli import app

    dev = _dev()
    result = CliRunner().invoke(app, [*dev.start_arguments(["--port", "9000"]), "--help"])
    assert result.exit_code == 0, result.output
    assert "--port" in result.output
