"""`plateau evidence ...` and `plateau start` from the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml
from typer.testing import CliRunner

from plateau.cli import app
from plateau.evidence import load_bundled

runner = CliRunner()


def test_validate_bundled_passes():
    result = runner.invoke(app, ["evidence", "validate"])
    assert result.exit_code == 0, result.output
    assert " 0 errors" in result.output


def test_validate_bad_folder_fails_with_precise_lines(good_trial, write_trial):
    good_trial["estimates"][0].update(hr=0.48, ci_low=0.5, ci_high=0.7)
    folder = write_trial(good_trial)
    result = runner.invoke(app, ["evidence", "validate", str(folder)])
    assert result.exit_code == 1
    assert (
        "ERROR DEMO-1.yaml: trial DEMO-1: estimates[0].ci_low: HR 0.48 lies outside its CI [0.5, "
        "0.7]" in " ".join(result.output.split())
    )


def test_validate_json_report(good_trial, write_trial):
    good_trial["n_randomised_total"] = 210
    result = runner.invoke(app, ["evidence", "validate", "--json", str(write_trial(good_trial))])
    assert result.exit_code == 0
    report = json.loads(result.output)
    assert report["errors"] == [] and report["warnings"][0]["field"] == "arms"


def test_list_trials_and_estimates():
    result = runner.invoke(app, ["evidence", "list", "--agent", "ixazomib"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "TOURMALINE-MM3" in result.output and "TOURMALINE-MM4" in result.output
    assert "CALGB100104" not in result.output
    result = runner.invoke(
        app,
        ["evidence", "list", "--estimates", "--agent", "daratumumab", "--outcome", "PFS"],
        env={"COLUMNS": "250"},
    )
    assert result.exit_code == 0
    assert "0.49 (0.40–0.59)" in result.output and "0.53 (0.29–0.97)" in result.output


def test_show_trial():
    result = runner.invoke(app, ["evidence", "show", "CALGB100104"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    assert "0.57 (0.46–0.71)" in result.output and "PMID 28826616" in result.output


def test_export_csv_and_json(tmp_path):
    out = tmp_path / "e.json"
    result = runner.invoke(app, ["evidence", "export", "--format", "json", "--out", str(out)])
    assert result.exit_code == 0
    assert json.loads(out.read_text())["evidence_version"] == load_bundled().version
    result = runner.invoke(app, ["evidence", "export", "--format", "csv"])
    assert result.exit_code == 0 and result.output.startswith("record,trial_id,")
    result = runner.invoke(app, ["evidence", "export", "--format", "rows"])
    assert result.exit_code == 0 and result.output.startswith("trial_id,trial_name,")


def test_errors_are_one_line_without_traceback(tmp_path):
    for args in (
        ["evidence", "show", "NO-SUCH-TRIAL"],
        ["evidence", "export", "--format", "xml"],
        ["evidence", "list", "--agent", "aspirin"],
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "plateau", *args], capture_output=True, text=True
        )
        assert proc.returncode == 1, args
        assert "Traceback" not in proc.stderr
        assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr


def test_bad_user_path_is_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"id": "X", "name": "x"}))
    proc = subprocess.run(
        [sys.executable, "-m", "plateau", "evidence", "list", "--path", str(bad)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: bad.yaml: trial X: setting: required field is missing")


def test_start_overview_prints_the_table():
    result = runner.invoke(app, ["start", "--overview"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    assert "CALGB100104" in result.output or "CALGB 100104" in result.output
    assert "TTP 0.57 (0.46–0.71)" in result.output
    assert f"{len(load_bundled())} trials" in result.output
