"""One question, one answer: the same question through every entry point gives the same pool.

Entry points: ``plateau analyze`` (typer's CliRunner), the JSON API, the web builder page, the
home page, the built-in analysis page, the living report's analyses, and the decision aid (which
shows plateau's own pool beside the individual-patient-data meta-analysis it uses).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from plateau.analysis import AnalysisSpec, run_analysis
from plateau.cli import app as cli_app
from plateau.decide import decide, load_profile
from plateau.evidence import load_bundled
from plateau.report.living import write_report
from plateau.web.app import create_app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "profiles"
runner = CliRunner()

# (agent, setting, outcome as the CLI/builder name it, spec outcome, built-in id)
QUESTIONS = [
    ("lenalidomide", "post_asct", "OS", "OS", "lenalidomide-os-post-asct"),
    ("lenalidomide", "post_asct", "PFS", "disease_control", "lenalidomide-pfs-post-asct"),
    ("lenalidomide", "non_transplant", "OS", "OS", "lenalidomide-os-non-transplant"),
    ("thalidomide", "post_asct", "PFS", "disease_control", "thalidomide-pfs-post-asct"),
    ("thalidomide", "post_asct", "OS", "OS", "thalidomide-os-post-asct"),
]


@pytest.fixture(scope="module")
def base():
    return load_bundled()


@pytest.fixture(scope="module")
def report_json(base, tmp_path_factory):
    """The living report's results.json, written once for the questions' built-ins."""
    out = tmp_path_factory.mktemp("report")
    paths = write_report(base, out, pdf=False, spec_ids=[q[-1] for q in QUESTIONS])
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    return {a["analysis"]: a for a in data["analyses"]}


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as c:
        yield c


def _reference(base, agent, setting, outcome):
    return run_analysis(AnalysisSpec(outcome=outcome, agents=(agent,), settings=(setting,)), base)


@pytest.mark.parametrize("agent,setting,cli_outcome,outcome,builtin_id", QUESTIONS)
def test_same_pooled_result_everywhere(
    base, client, report_json, agent, setting, cli_outcome, outcome, builtin_id
):
    ref = _reference(base, agent, setting, outcome).pooled
    assert ref is not None
    shown = f"{ref.estimate:.2f} ({ref.ci_low:.2f}–{ref.ci_high:.2f})"

    # CLI
    cli = runner.invoke(
        cli_app,
        [
            "analyze",
            "--outcome",
            cli_outcome,
            "--agent",
            agent,
            "--setting",
            setting.replace("_", "-"),
            "--format",
            "json",
        ],
    )
    assert cli.exit_code == 0, cli.output
    cli_pooled = json.loads(cli.output)["pooled"]
    assert cli_pooled["estimate"] == pytest.approx(ref.estimate, rel=1e-12)
    assert cli_pooled["ci_low"] == pytest.approx(ref.ci_low, rel=1e-12)

    # API
    api = client.post(
        "/api/v1/analyses", json={"outcome": outcome, "agents": [agent], "settings": [setting]}
    )
    assert api.status_code == 200
    assert api.json()["pooled"]["estimate"] == pytest.approx(ref.estimate, rel=1e-12)

    # built-in (API and page)
    assert client.get(f"/api/v1/analyses/{builtin_id}").json()["pooled"][
        "estimate"
    ] == pytest.approx(ref.estimate, rel=1e-12)
    page = client.get(f"/analyses/builtin/{builtin_id}").text
    assert f"<strong>{ref.estimate:.2f}</strong>" in page

    # web builder page
    html = client.get(
        "/analyses", params={"outcome": outcome, "agent": agent, "setting": setting}
    ).text
    assert f"<strong>{ref.estimate:.2f}</strong>" in html
    from plateau.evidence.vocabulary import format_interval

    assert format_interval(ref.ci_low, ref.ci_high) in html  # one interval format everywhere

    # home page: the per-setting row links to the built-in with the same number
    home = client.get("/").text
    link = re.search(rf'href="/analyses/builtin/{builtin_id}">([^<]+)</a>', home)
    assert link is not None and link.group(1) == shown

    # living report: results.json as written by `plateau report`
    report = report_json[builtin_id]
    assert report["pooled"]["estimate"] == pytest.approx(ref.estimate, rel=1e-12)
    assert report["missing"] == [
        m.to_dict() for m in _reference(base, agent, setting, outcome).missing
    ]


def test_decision_aid_shows_the_same_pool_beside_the_ipd_it_uses(base):
    ref = _reference(base, "lenalidomide", "post_asct", "OS").pooled
    ref_pfs = _reference(base, "lenalidomide", "post_asct", "disease_control").pooled
    d = decide(load_profile(EXAMPLES / "fit-60-post-asct-vgpr.json"), base, n_sims=200, seed=1)
    len_option = d.option("lenalidomide")
    os_hr = len_option.os.hazard_ratio
    assert os_hr["plateau_pool"]["estimate"] == pytest.approx(ref.estimate, rel=1e-12)
    assert os_hr["plateau_pool"]["k"] == ref.k
    # McCarthy 2017 IPD (OS 0.75, 0.63-0.90) answers this question exactly and is the one used
    assert os_hr["source"] == "published_ipd"
    assert (os_hr["estimate"], os_hr["ci_low"], os_hr["ci_high"]) == (0.75, 0.63, 0.90)
    pfs_hr = len_option.pfs.hazard_ratio
    assert pfs_hr["plateau_pool"]["estimate"] == pytest.approx(ref_pfs.estimate, rel=1e-12)
    assert (pfs_hr["estimate"], pfs_hr["ci_low"], pfs_hr["ci_high"]) == (0.48, 0.41, 0.55)
    # mixed-population trials are named, as everywhere else
    assert set(os_hr["mixed_population"]) == {"MyelomaXI", "RV-MM-PI-209"}


def test_decision_aid_without_ipd_uses_plateaus_pool(base):
    ref = _reference(base, "lenalidomide", "non_transplant", "disease_control").pooled
    d = decide(
        {"age": 72, "sex": "female", "transplant_status": "not_eligible", "response": "VGPR"},
        base,
        n_sims=200,
        seed=1,
    )
    pfs_hr = d.option("lenalidomide").pfs.hazard_ratio
    assert pfs_hr["source"] == "plateau"
    assert pfs_hr["estimate"] == pytest.approx(ref.estimate, rel=1e-12)
    # the decision aid names the missing trial as every other view does (MM-015 has no OS)
    os_missing = d.option("lenalidomide").os.hazard_ratio["missing"]
    assert [(m["trial_id"], m["n_randomised"]) for m in os_missing] == [("MM-015", 305)]


def test_mixed_population_line_is_visible_in_page_and_cli(client):
    html = client.get(
        "/analyses", params={"outcome": "OS", "agent": "lenalidomide", "setting": "post_asct"}
    ).text
    note = re.search(r'data-note="mixed-population"><strong>([^<]+)</strong>', html)
    assert note is not None
    assert "Myeloma XI" in note.group(1) and "RV-MM-PI-209" in note.group(1)
    cli = runner.invoke(
        cli_app,
        ["analyze", "--outcome", "OS", "--agent", "lenalidomide", "--setting", "post-ASCT"],
    )
    assert cli.exit_code == 0
    flat = " ".join(cli.output.split())
    assert (
        "Mixed population (transplant and non-transplant patients), whole-trial estimate used: "
        "Myeloma XI, GIMEMA RV-MM-PI-209" in flat
    )
    assert "published: McCarthy 2017, IPD of 3 trials: OS HR 0.75 (0.63\u20130.90)" in flat


def test_switch_drops_mixed_population_trials_everywhere(base, client):
    spec = {
        "outcome": "OS",
        "agents": ["lenalidomide"],
        "settings": ["post_asct"],
        "sensitivity": {"exclude_mixed_population": True},
    }
    api = client.post("/api/v1/analyses", json=spec).json()
    assert {s["trial_id"] for s in api["studies"]} == {"CALGB100104", "IFM2005-02"}
    cli = runner.invoke(
        cli_app,
        [
            "analyze",
            "--outcome",
            "OS",
            "--agent",
            "lenalidomide",
            "--setting",
            "post-ASCT",
            "--no-mixed",
            "--format",
            "json",
        ],
    )
    assert json.loads(cli.output)["pooled"]["estimate"] == pytest.approx(
        api["pooled"]["estimate"], rel=1e-12
    )
    # excluded by the user's switch: not "missing"
    assert not any(m["trial_id"] == "MyelomaXI" for m in api["missing"])
    reasons = {e["trial_id"]: e["reason"] for e in api["excluded"]}
    assert "exclude mixed-population trials" in reasons["MyelomaXI"]


def test_builtin_and_home_pages_list_missing_trials(client):
    # lenalidomide OS without transplant: MM-015 randomised MPR-R vs MPR but has no OS estimate
    page = client.get("/analyses/builtin/lenalidomide-os-non-transplant").text
    block = page[page.index('data-section="missing"') :]
    assert "MM-015" in block[:2000] and "305" in block[:2000] and "no OS" in block[:2000]
    # prominent: before the forest plot, not only in the collapsed exclusions
    assert page.index('data-section="missing"') < page.index("Excluded trials")
    home = client.get("/").text
    assert "1 missing" in home
