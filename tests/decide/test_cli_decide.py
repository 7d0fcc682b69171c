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


def test_one_answer_across_cli_api_and_engine(tmp_path):
    """The same profile, horizon, utilities and seed give the same numbers through the engine,
    the CLI (JSON) and the API (the web page and handout render the API's stored snapshot)."""
    from fastapi.testclient import TestClient

    from plateau.decide import decide, load_profile
    from plateau.web.app import create_app

    path = ROOT / "examples" / "profiles" / "fit-60-post-asct-vgpr.json"
    args = dict(horizon_years=7.0, u_tox=0.3, u_rel=0.6)
    engine = decide(load_profile(path), **args).to_dict()
    cli = run(
        "--profile",
        str(path),
        "--format",
        "json",
        "--horizon-years",
        "7",
        "--u-tox",
        "0.3",
        "--u-rel",
        "0.6",
    )
    assert cli.returncode == 0, cli.stderr
    cli_data = json.loads(cli.stdout)
    app = create_app()
    app.state.settings.extra["decisions_dir"] = tmp_path
    api = TestClient(app).post(
        "/api/v1/decisions?horizon_years=7&u_tox=0.3&u_rel=0.6",
        json=json.loads(path.read_text()),
    )
    assert api.status_code == 201
    api_data = api.json()

    def numbers(d):
        out = {}
        for o in d["options"]:
            for k in ("pfs", "os"):
                for h in o[k]["horizons"]:
                    out[(o["option"], k, h["horizon_years"])] = h["difference_per_100"]
            if o["qtwist"]:
                out[(o["option"], "qtwist")] = o["qtwist"]["qtwist_months"]
                out[(o["option"], "gain")] = o["qtwist"]["gain_months"]
            for h in o["harms"]:
                if h["projected"]:
                    out[(o["option"], h["term"], h["trial_id"])] = h["projected"]["with_per_100"]
        return out

    reference = numbers(engine)
    assert reference and numbers(cli_data) == reference == numbers(api_data)
