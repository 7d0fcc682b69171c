"""Evidence browser and trials/estimates API on the bundled base."""

from __future__ import annotations

import pytest

from plateau.evidence import load_bundled


def test_trials_api_lists_every_trial_with_version(client):
    data = client.get("/api/v1/trials").json()
    base = load_bundled()
    assert data["evidence_version"] == base.version
    assert data["count"] == len(data["trials"]) > 0
    assert {t["id"] for t in data["trials"]} <= {t.id for t in base.trials}


def test_filters_and_sorting(client):
    thal = client.get("/api/v1/trials", params={"agent": "thalidomide"}).json()["trials"]
    assert thal and all("thalidomide" in t["agents"] for t in thal)
    post = client.get("/api/v1/trials", params={"setting": "post_asct", "sort": "-n"}).json()[
        "trials"
    ]
    sizes = [t["n"] or 0 for t in post]
    assert sizes == sorted(sizes, reverse=True)


@pytest.mark.parametrize(
    "params,field",
    [
        ({"agent": "aspirin"}, "agent"),
        ({"setting": "icu"}, "setting"),
        ({"outcome": "QALY"}, "outcome"),
        ({"sort": "colour"}, "sort"),
    ],
)
def test_bad_filter_is_422_naming_the_field(client, params, field):
    response = client.get("/api/v1/trials", params=params)
    assert response.status_code == 422
    assert response.json()["detail"].startswith(f"{field}: ")


def test_trial_api_and_404(client):
    base = load_bundled()
    trial = base.trials[0]
    data = client.get(f"/api/v1/trials/{trial.id}").json()
    assert data["trial"]["id"] == trial.id
    assert len(data["trial"]["estimates"]) == len(trial.estimates)
    assert client.get("/api/v1/trials/NO-SUCH-TRIAL").status_code == 404


def test_estimates_api_matches_the_query_layer(client):
    base = load_bundled()
    rows = client.get("/api/v1/estimates", params={"outcome": "OS", "agent": "lenalidomide"}).json()
    expected = base.estimates(outcome="OS", agent="lenalidomide")
    assert rows["count"] == len(expected)
    assert {r["trial_id"] for r in rows["estimates"]} == {r.trial.id for r in expected}


def test_trial_page_shows_every_estimate_and_links_sources(client):
    base = load_bundled()
    trial = max(base.trials, key=lambda t: len(t.estimates))
    html = client.get(f"/evidence/{trial.id}").text
    assert html.count("<tr>") >= len(trial.estimates) + len(trial.arms)
    for source in trial.sources:
        if source.pmid:
            assert f"https://pubmed.ncbi.nlm.nih.gov/{source.pmid}/" in html
    assert client.get("/evidence/NO-SUCH-TRIAL", headers={"accept": "text/html"}).status_code == 404


def test_htmx_filter_returns_only_rows(client):
    html = client.get(
        "/evidence", params={"agent": "daratumumab"}, headers={"HX-Request": "true"}
    ).text
    assert "<html" not in html and "<tr>" in html
    assert "/evidence/" in html


@pytest.mark.browser
def test_filtering_in_the_browser(page, live_server, screenshot):
    page.goto(live_server + "/evidence")
    total = page.locator("#trial-rows tr").count()
    page.get_by_label("Agent").select_option("daratumumab")
    page.wait_for_url("**agent=daratumumab**")
    page.wait_for_function(f"document.querySelectorAll('#trial-rows tr').length < {total}")
    rows = page.locator("#trial-rows tr")
    assert 0 < rows.count() < total
    for i in range(rows.count()):
        assert "daratumumab" in rows.nth(i).inner_text()
    screenshot("evidence-filtered")
    rows.first.locator("a").click()
    assert page.locator("h2", has_text="Estimates").is_visible()
