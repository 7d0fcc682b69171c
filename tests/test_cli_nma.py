"""`plateau nma`: pairwise CSV in, league table / P-scores / Q split out (JSON or table)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from plateau.cli import app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "nma" / "pairs.csv"
FIXTURE = ROOT / "tests" / "fixtures" / "metafor" / "network_hasselblad1998.json"
runner = CliRunner()


def run_json(*args):
    result = runner.invoke(app, ["nma", "--input", str(EXAMPLE), "--format", "json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_has_the_documented_keys_and_matches_metafor():
    out = run_json("--reference", "no_contact")
    for key in (
        "treatments",
        "league",
        "p_scores",
        "tau2",
        "q_total",
        "q_within",
        "q_between",
        "effects_vs_reference",
        "node_split",
        "components",
        "decomposition",
    ):
        assert key in out
    ref = json.loads(FIXTURE.read_text())
    assert sorted(out["treatments"]) == sorted(ref["treatments"])
    # the example is the Hasselblad network (10 decimals in the CSV): metafor's REML fit
    assert out["tau2"] == pytest.approx(ref["reml"]["tau2"], rel=1e-6)
    assert out["q_total"] == pytest.approx(ref["common"]["q_total"], rel=1e-8)
    assert out["q_within"] == pytest.approx(ref["design"]["q_within"], rel=1e-8)
    assert out["q_between"] == pytest.approx(ref["design"]["q_between"], rel=1e-7)
    for t, coef in zip(ref["others"], ref["reml"]["coef"], strict=True):
        assert out["effects_vs_reference"][t]["estimate"] == pytest.approx(coef, abs=1e-6)
    T = len(out["treatments"])
    assert len(out["league"]) == T * (T - 1)
    pair = next(
        p for p in out["league"] if p["treat1"] == "grp_counseling" and p["treat2"] == "no_contact"
    )
    assert pair["ci_low"] < pair["estimate"] < pair["ci_high"]
    assert out["components"] == [out["treatments"]]


def test_common_effect_and_dl_options():
    common = run_json("--reference", "no_contact", "--common")
    assert common["model"] == "common" and common["tau2"] == 0.0
    ref = json.loads(FIXTURE.read_text())
    for t, coef in zip(ref["others"], ref["common"]["coef"], strict=True):
        assert common["effects_vs_reference"][t]["estimate"] == pytest.approx(coef, abs=1e-8)
    dl = run_json("--method", "DL", "--small-values", "undesirable")
    assert dl["method"] == "DL" and dl["tau2"] > 0
    assert max(dl["p_scores"], key=dl["p_scores"].get) == "grp_counseling"


def test_table_format():
    result = runner.invoke(app, ["nma", "-i", str(EXAMPLE), "--reference", "no_contact"])
    assert result.exit_code == 0, result.output
    assert "P-score" in result.stdout and "reference" in result.stdout
    assert "between designs" in result.stdout and "Node-splitting" in result.stdout


def _plateau(*args):
    return subprocess.run([sys.executable, "-m", "plateau", *args], capture_output=True, text=True)


@pytest.mark.parametrize(
    "content,message",
    [
        ("study,treat1,treat2,TE\na,A,B,0.1\n", "missing column(s) seTE"),
        (
            "study,treat1,treat2,TE,seTE\na,A,B,0.1,0.2\nb,A,C,x,0.2\n",
            "line 3: column TE is not a number",
        ),
        (
            "study,treat1,treat2,TE,seTE\na,A,B,0.1,0.2\nb,A,C,0.1,0\n",
            "line 3 (study 'b'): seTE must be positive",
        ),
    ],
)
def test_bad_files_give_one_line_naming_file_and_line(tmp_path, content, message):
    path = tmp_path / "pairs.csv"
    path.write_text(content)
    proc = _plateau("nma", "--input", str(path))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert message in proc.stderr.replace("\n", "") and "pairs.csv" in proc.stderr


def test_unknown_reference_is_an_error():
    proc = _plateau("nma", "--input", str(EXAMPLE), "--reference", "observation")
    assert proc.returncode == 1
    assert "unknown reference treatment 'observation'" in proc.stderr
