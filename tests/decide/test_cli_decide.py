"""`plateau decide` on the example profiles (JSON and table) and on a bad profile."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples" / "profiles").glob("*.json"))


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "plateau", "decide", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


def test_there_are_the_three_issue_examples():
    names = {p.stem for p in EXAMPLES}
    assert {"fit-60-post-asct-vgpr", "del17p-55-post-asct", "frail-78-not-eligible"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_json_output_on_examples(path, tmp_path):
    result = run(
        "--profile",
        str(path),
        "--format",
        "json",
        "--n-sims",
        "300",
        "--horizon-years",
        "7",
        "--save",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert len(data["evidence_version"]) == 64 and data["options"][0]["option"] == "observation"
    assert (tmp_path / f"{data['id']}.json").is_file()
    for option in data["options"]:
        assert {"option", "pfs", "os", "rmst_gain_months", "harms", "flags", "sources"} <= set(
            option
        )
        for key in ("pfs", "os"):
            if option[key]["available"]:
                assert [h["horizon_years"] for h in option[key]["horizons"]] == [1.0, 3.0, 5.0, 7.0]
    assert data["rmst_horizon_years"] == 7.0


def test_table_output():
    result = run(
        "--profile", str(ROOT / "examples/profiles/frail-78-not-eligible.json"), "--n-sims", "300"
    )
    assert result.returncode == 0, result.stderr
    assert "Alive without progression, per 100" in result.stdout
    assert "Lenalidomide maintenance" in result.stdout and "[caution]" in result.stdout
    assert "Not shown: Daratumumab maintenance" in result.stdout


def test_bad_profile_is_one_line_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {"age": 200, "sex": "male", "transplant_status": "post_asct", "response": "VGPR"}
        )
    )
    result = run("--profile", str(bad))
    assert result.returncode == 1
    assert "age: must be between 18 and 110 years (got 200)" in result.stderr
    assert "Traceback" not in result.stderr
    result = run("--profile", str(bad).replace("bad", "none"))
    assert result.returncode == 1 and "no such profile file" in result.stderr
