"""The command line as a new user meets it: the same words as `analyze`, did-you-mean on typos,
tables that survive a pipe, and `plateau nma` on the bundled myeloma networks."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from typer.testing import CliRunner

from plateau.cli import app

runner = CliRunner(env={"COLUMNS": "300"})  # wide: cells are checked whole


def _piped(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    return subprocess.run(
        [sys.executable, "-m", "plateau", *args], capture_output=True, text=True, env=env
    )


def test_evidence_list_accepts_the_setting_as_analyze_does():
    for spelling in ("post-ASCT", "post_asct", "Post ASCT", "after ASCT"):
        result = runner.invoke(app, ["evidence", "list", "--setting", spelling])
        assert result.exit_code == 0, (spelling, result.output)
        assert "CALGB100104" in result.output
        assert "non-transplant" not in result.output


def test_evidence_list_typo_says_did_you_mean():
    proc = _piped("evidence", "list", "--setting", "post-asc")
    assert proc.returncode == 1
    assert "did you mean 'post_asct'?" in proc.stderr and "Traceback" not in proc.stderr


def test_piped_tables_are_not_folded_at_80_columns():
    proc = _piped("evidence", "list", "--setting", "post-ASCT")
    assert proc.returncode == 0, proc.stderr
    # one trial per line, its description in one piece
    line = next(ln for ln in proc.stdout.splitlines() if "ATLAS" in ln)
    assert "KRd vs lenalidomide maintenance after ASCT" in line
    assert max(len(ln) for ln in proc.stdout.splitlines()) > 80


def test_evidence_list_names_each_trial_once_in_words():
    proc = _piped("evidence", "list")
    row = next(ln for ln in proc.stdout.splitlines() if "ALLG_MM6" in ln)
    assert "ALLG MM6" not in row  # the id, not the id and the same name again
    assert "after ASCT" in row and "post_asct" not in row


def test_nma_runs_the_bundled_myeloma_network_with_cautions_and_league_table():
    result = runner.invoke(app, ["nma", "--setting", "post-ASCT", "--outcome", "PFS"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "League table" in out and "P-score" in out
    assert "180 patients" in out and "open-label" in out  # ATLAS behind carfilzomib + len
    assert "single-trial edge" in out
    assert "TTP used for PFS" in out  # CALGB 100104 reported TTP


def test_nma_bundled_json_has_the_evidence_strength():
    result = runner.invoke(
        app, ["nma", "--setting", "non-transplant", "--outcome", "OS", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["setting"] == "non_transplant"
    assert data["evidence_strength"]["ixazomib"]["trials"] == 1


def test_nma_without_input_or_setting_is_a_clear_error():
    proc = _piped("nma")
    assert proc.returncode == 1
    assert "--input" in proc.stderr and "--setting" in proc.stderr
