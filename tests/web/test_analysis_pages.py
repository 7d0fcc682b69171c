"""Analysis builder, downloads, living report and the analyses API."""

from __future__ import annotations

import csv
import io
import math

import pytest

from plateau.analysis import builtin_spec, run_analysis
from plateau.evidence import load_bundled


def test_post_spec_returns_the_same_result_as_the_library(client):
    spec = {
        "outcome": "disease_control",
        "agents": ["lenalidomide"],
        "model": {"method": "DL", "test": "knha"},
    }
    data = client.post("/api/v1/analyses", json=spec).json()
    from plateau.analysis import spec_from_dict

    expected = run_analysis(spec_from_dict(spec), load_bundled())
    assert data["pooled"]["estimate"] == pytest.approx(expected.pooled.estimate, rel=1e-12)
    assert data["evidence_version"] == load_bundled().version
    assert [s["trial_id"] for s in data["studies"]] == [
        s.contribution.trial_id for s in expected.studies
    ]


@pytest.mark.parametrize(
    "body,field",
    [
        ({"outcome": "QALY"}, "body: outcome"),
        ({"agents": ["aspirin"]}, "body: agents.0"),
        ({"model": {"method": "XX"}}, "body: model.method"),
        ({"model": {"level": 2}}, "body: model.level"),
        ({"colour": "red"}, "body: colour"),
    ],
)
def test_bad_spec_is_422_naming_the_field(client, body, field):
    response = client.post("/api/v1/analyses", json=body)
    assert response.status_code == 422
    assert response.json()["detail"].startswith(field)


def test_builtin_list_result_and_plots(client):
    listing = client.get("/api/v1/analyses").json()["analyses"]
    assert "imwg2012-thalidomide-pfs" in [a["id"] for a in listing]
    result = client.get("/api/v1/analyses/lenalidomide-pfs").json()
    assert result["analysis"] == "lenalidomide-pfs" and result["studies"]
    svg = client.get("/api/v1/analyses/lenalidomide-pfs/forest.svg")
    assert (
        svg.headers["content-type"].startswith("image/svg+xml")
        and b"favours maintenance" in svg.content
    )
    png = client.get("/api/v1/analyses/lenalidomide-pfs/forest.png")
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get("/api/v1/analyses/no-such-analysis").status_code == 404
    assert client.get("/api/v1/analyses/lenalidomide-pfs/forest.gif").status_code == 404


def test_csv_download_matches_the_result(client):
    text = client.get("/analyses/download/result.csv", params={"builtin": "lenalidomide-pfs"}).text
    rows = list(csv.DictReader(io.StringIO(text)))
    result = run_analysis(builtin_spec("lenalidomide-pfs"), load_bundled())
    studies = [r for r in rows if r["row"] == "study"]
    assert [r["trial_id"] for r in studies] == [s.contribution.trial_id for s in result.studies]
    pooled = next(r for r in rows if r["row"] == "pooled")
    assert float(pooled["estimate"]) == pytest.approx(result.pooled.estimate, rel=1e-5)
    assert sum(r["row"] == "excluded" for r in rows) == len(result.excluded)


def test_builder_query_and_bad_query(client):
    html = client.get(
        "/analyses", params={"outcome": "OS", "agent": "lenalidomide", "method": "PM"}
    ).text
    assert "<svg" in html and "Pooled HR" in html and "Excluded trials" in html
    bad = client.get("/analyses", params={"method": "XX"}, headers={"accept": "text/html"})
    assert bad.status_code == 422 and "model.method" in bad.text


def test_no_matching_trial_is_a_message_not_an_error(client):
    html = client.get("/analyses/result", params={"agent": "elotuzumab"}).text
    assert "No trial in the evidence base matches this analysis" in html
    assert (
        client.get("/analyses/download/forest.svg", params={"agent": "elotuzumab"}).status_code
        == 404
    )


@pytest.mark.slow
def test_living_report_page(client):
    html = client.get("/report").text
    assert "plateau living evidence report" in html and load_bundled().version in html
    assert html.count("<svg") >= 5


@pytest.mark.browser
def test_build_an_analysis_by_clicking_and_download_the_plot(
    page, live_server, screenshot, tmp_path
):
    page.goto(live_server + "/analyses")
    page.get_by_label("Outcome", exact=True).select_option("disease_control")
    page.get_by_role("checkbox", name="lenalidomide").check()
    page.get_by_label("Subgroups by", exact=True).select_option("setting")
    page.get_by_label("τ² estimator", exact=True).select_option("REML")
    page.get_by_role("button", name="Run analysis").click()
    figure = page.locator("#analysis-result .figure svg[role=img]")
    figure.wait_for()
    assert "favours maintenance" in figure.inner_html()
    assert page.get_by_text("Pooled HR").is_visible()
    assert "agent=lenalidomide" in page.url
    with page.expect_download() as download_info:
        page.get_by_role("link", name="SVG").click()
    path = tmp_path / "forest.svg"
    download_info.value.save_as(path)
    assert path.read_text().lstrip().startswith(("<?xml", "<svg"))
    shot = screenshot("analysis-builder")
    assert shot.stat().st_size > 20_000
    pooled = run_analysis(builtin_spec("lenalidomide-pfs"), load_bundled()).pooled
    assert f"{pooled.estimate:.2f}" in page.locator("#analysis-result").inner_text()
    assert math.isfinite(pooled.estimate)
