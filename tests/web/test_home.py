from __future__ import annotations

import pytest


def test_home_states_goals_and_disclaimer(client):
    response = client.get("/", headers={"accept": "text/html"})
    assert response.status_code == 200
    html = response.text
    for phrase in [
        "Decision support, not a prescription",
        "progression-free survival",
        "overall survival",
        "quality of life",
        "Ludwig et al., Blood 2012;119(13):3003",
    ]:
        assert phrase in html, phrase


def test_static_assets_are_served_locally(client):
    html = client.get("/").text
    assert "https://" not in html.split("<main")[0], (
        "no external script, style or font in the page head"
    )
    assert client.get("/static/vendor/htmx-2.0.11.min.js").status_code == 200
    assert client.get("/static/css/plateau.css").status_code == 200


def test_unknown_page_is_404_html_and_json(client):
    assert client.get("/no-such-page", headers={"accept": "text/html"}).status_code == 404
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["detail"]


@pytest.mark.browser
def test_home_in_chromium_has_skip_link_and_disclaimer(page, live_server, screenshot):
    page.goto(live_server + "/")
    assert page.locator("role=note").inner_text().startswith("Decision support, not a prescription")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused.strip() == "Skip to content"
    assert screenshot("home").stat().st_size > 10_000


def test_api_docs_use_no_cdn(client):
    html = client.get("/api/docs").text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "plateau"


def test_home_headline_results_equal_the_builtin_analyses(client):
    from plateau.analysis import builtin_spec, run_analysis
    from plateau.evidence import load_bundled

    html = client.get("/").text
    assert "Headline pooled results" in html
    # the home page answers per setting (the same answer as the builder and the CLI)
    result = run_analysis(builtin_spec("lenalidomide-pfs-post-asct"), load_bundled())
    p = result.pooled
    assert f"{p.estimate:.2f} ({p.ci_low:.2f}–{p.ci_high:.2f})" in html
    assert "/analyses/builtin/lenalidomide-os-post-asct" in html
