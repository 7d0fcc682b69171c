"""`plateau analyze` and `plateau report` on the bundled evidence base."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from plateau.analysis import builtin_spec, run_analysis
from plateau.cli import app
from plateau.evidence import load_bundled

runner = CliRunner()


def _json(args):
    result = runner.invoke(app, ["analyze", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_has_the_documented_keys():
    data = _json(["--outcome", "PFS", "--agent", "lenalidomide", "--by", "setting"])
    assert {"pooled", "subgroups", "studies", "excluded", "evidence_version"} <= set(data)
    for key in (
        "estimate",
        "ci_low",
        "ci_high",
        "pi_low",
        "pi_high",
        "tau2",
        "i2",
        "k",
        "n_patients",
    ):
        assert key in data["pooled"], key
    assert data["evidence_version"] == load_bundled().version
    study = data["studies"][0]
    assert {"trial_id", "estimate", "ci_low", "ci_high", "weight", "source"} <= set(study)
    assert all({"trial_id", "reason"} <= set(e) for e in data["excluded"])
    assert len(data["studies"]) + len({e["trial_id"] for e in data["excluded"]}) >= len(
        load_bundled().trials
    )


def test_cli_equals_the_library_and_the_pooled_hr_is_exp_of_log():
    data = _json(["--builtin", "lenalidomide-pfs"])
    result = run_analysis(builtin_spec("lenalidomide-pfs"), load_bundled())
    assert data["pooled"]["estimate"] == pytest.approx(result.pooled.estimate, rel=1e-12)
    assert data["pooled"]["estimate"] == pytest.approx(
        math.exp(data["pooled"]["log_estimate"]), rel=1e-12
    )
    assert [s["trial_id"] for s in data["studies"]] == [
        s.contribution.trial_id for s in result.studies
    ]


def test_method_and_test_options_change_the_model():
    reml = _json(["--agent", "lenalidomide", "--method", "REML"])
    dl_knha = _json(["--agent", "lenalidomide", "--method", "DL", "--test", "knha"])
    assert dl_knha["pooled"]["method"] == "DL" and dl_knha["pooled"]["test"] == "knha"
    if reml["pooled"]["k"] > 1:
        width = lambda d: math.log(d["pooled"]["ci_high"] / d["pooled"]["ci_low"])  # noqa: E731
        assert width(dl_knha) != pytest.approx(width(reml), rel=1e-9)


def test_setting_option_restricts_and_plot_is_written(tmp_path):
    out = tmp_path / "forest.svg"
    data = _json(
        [
            "--outcome",
            "PFS",
            "--agent",
            "lenalidomide",
            "--setting",
            "post-ASCT",
            "--plot",
            str(out),
        ]
    )
    # post-ASCT trials, plus mixed-population trials with their whole-trial estimate, flagged
    assert all(
        s["setting"] == "post_asct" or (s["setting"] == "mixed" and s["mixed_population"])
        for s in data["studies"]
    )
    assert any(s["setting"] == "post_asct" for s in data["studies"])
    svg = out.read_text()
    assert "favours maintenance" in svg and data["studies"][0]["label"][:20] in svg


@pytest.mark.parametrize(
    "args,message",
    [
        (["--method", "XYZ"], "--method: unknown value 'XYZ'"),
        (["--agent", "aspirin"], "--agent: unknown value 'aspirin'"),
        (["--builtin", "nope"], "unknown analysis 'nope'"),
        (["--method", "RMEL"], "did you mean 'REML'?"),
        (["--agent", "lenalidomde"], "did you mean 'lenalidomide'?"),
        (["--setting", "post-asc"], "did you mean 'post_asct'?"),
        (["--outcome", "PSF"], "did you mean 'PFS'?"),
        (["--by", "agnet"], "did you mean 'agent'?"),
        (["--spec", "/no/such/spec.yaml"], "no such analysis spec file"),
    ],
)
def test_bad_options_are_one_line_errors(args, message):
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "plateau", "analyze", *args], capture_output=True, text=True
    )
    assert proc.returncode == 1
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_spec_file_round_trip(tmp_path):
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(
        "id: my-os\ntitle: My OS analysis\noutcome: OS\nagents: [lenalidomide]\n"
        "model: {method: PM, test: knha}\n"
    )
    data = _json(["--spec", str(spec_file)])
    assert data["analysis"] == "my-os" and data["spec"]["model"]["method"] == "PM"


def test_list_shows_every_builtin():
    result = runner.invoke(app, ["analyze", "--list"])
    assert result.exit_code == 0
    assert (
        "imwg2012-thalidomide-pfs" in result.stdout
        and "harm-second-primary-malignancy" in result.stdout
    )


@pytest.mark.slow
def test_report_writes_html_json_pdf_with_every_builtin(tmp_path):
    result = runner.invoke(app, ["report", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    html = (tmp_path / "index.html").read_text()
    data = json.loads((tmp_path / "results.json").read_text())
    base = load_bundled()
    assert data["evidence_version"] == base.version and base.version in html
    from plateau.analysis import builtin_specs

    assert [a["analysis"] for a in data["analyses"]] == list(builtin_specs())
    assert html.count("<svg") >= sum(1 for a in data["analyses"] if a["studies"])
    assert "Decision support, not a prescription" in html
    assert "https://pubmed.ncbi.nlm.nih.gov/" in html or "https://doi.org/" in html
    assert (tmp_path / "report.pdf").read_bytes()[:5] == b"%PDF-"


def test_option_values_read_with_the_vocabulary():
    """post-ASCT, Lenalidomide, head-to-head: the words people type map to the codes."""
    from plateau.cli.analyze import options_spec_data

    data = options_spec_data(
        outcome="os",
        agents=["Lenalidomide"],
        settings=["post-ASCT"],
        comparisons=["head-to-head", "maintenance vs observation or placebo"],
        method="reml",
        test="KNHA",
    )
    assert data["outcome"] == "OS"
    assert data["agents"] == ["lenalidomide"] and data["settings"] == ["post_asct"]
    assert data["comparison_kinds"] == ["head_to_head", "maintenance_vs_control"]
    assert data["model"] == {"method": "REML", "test": "knha"}
    assert options_spec_data(outcome="PFS")["outcome"] == "disease_control"
    assert options_spec_data(outcome="PFS", strict_pfs=True)["outcome"] == "PFS"


def test_boolean_options_have_one_plain_name():
    from typer.testing import CliRunner

    from plateau.cli import app

    result = CliRunner().invoke(app, ["analyze", "--help"], env={"COLUMNS": "200"})
    assert "--no-approximate" in result.output
    assert "--no-no-" not in result.output


def test_disease_control_is_said_in_the_table_output():
    from typer.testing import CliRunner

    from plateau.cli import app

    result = CliRunner().invoke(
        app, ["analyze", "--agent", "lenalidomide", "--setting", "post-ASCT"]
    )
    assert result.exit_code == 0, result.output
    assert "PFS, else EFS, else TTP" in result.output
    assert "--strict-pfs" in result.output
