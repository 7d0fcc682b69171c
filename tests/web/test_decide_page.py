"""Decision support in the browser (Chromium) and the decisions API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIT60 = json.loads((ROOT / "examples/profiles/fit-60-post-asct-vgpr.json").read_text())


@pytest.fixture(autouse=True)
def decisions_in_tmp(app, tmp_path, monkeypatch):
    """Run in an empty working directory: the public aid must write nothing there."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def _pages_of_handout(client, ident: str) -> int:
    """Pages WeasyPrint lays the handout out on (the same HTML the PDF endpoint renders)."""
    from weasyprint import HTML

    html = client.get(f"/decide/{ident}/handout").text
    return len(HTML(string=html).render().pages)


def test_api_creates_and_returns_a_pinned_snapshot(client, decisions_in_tmp):
    response = client.post("/api/v1/decisions?horizon_years=7", json=FIT60)
    assert response.status_code == 201
    data = response.json()
    assert data["evidence_version"] == client.app.state.evidence.version
    assert response.headers["location"] == f"/api/v1/decisions/{data['id']}"
    # the anonymous decision aid keeps the profile in memory only: nothing on disk
    assert list(decisions_in_tmp.rglob("*")) == []
    assert data["id"] in client.app.state.public_decisions.ids()
    option = next(o for o in data["options"] if o["option"] == "lenalidomide")
    assert [h["horizon_years"] for h in option["pfs"]["horizons"]] == [1.0, 3.0, 5.0, 7.0]
    assert {"rmst_gain_months", "harms", "flags", "sources"} <= set(option)
    again = client.get(f"/api/v1/decisions/{data['id']}").json()
    assert again == data


def test_api_422_names_the_field(client):
    response = client.post("/api/v1/decisions", json={**FIT60, "response": "good", "weight_kg": -3})
    assert response.status_code == 422
    detail = {d["field"]: d["message"] for d in response.json()["detail"]}
    assert detail["response"] == "must be one of sCR, CR, VGPR, PR (got 'good')"
    assert detail["weight_kg"] == "must be between 25 and 300 kg (got -3)"
    assert client.post("/api/v1/decisions?horizon_years=99", json=FIT60).status_code == 422
    bad_json = client.post(
        "/api/v1/decisions", content=b"{", headers={"content-type": "application/json"}
    )
    assert bad_json.status_code == 422 and bad_json.json()["detail"][0]["field"] == "(body)"
    assert client.get("/api/v1/decisions/0123456789abcdef").status_code == 404


def test_form_shows_inline_errors(client):
    response = client.post(
        "/decide",
        data={"age": "abc", "sex": "male", "transplant_status": "post_asct"},
        headers={"accept": "text/html"},
    )
    assert response.status_code == 422
    html = response.text
    assert (
        'id="age-error"' in html and "must be a whole number of years (got &#39;abc&#39;)" in html
    )
    assert 'id="response-error"' in html and "is required" in html
    assert 'aria-invalid="true"' in html


def test_handout_pdf_is_one_page(client):
    ident = client.post("/api/v1/decisions", json=FIT60).json()["id"]
    pdf = client.get(f"/decide/{ident}/handout.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and len(pdf.content) > 20_000
    assert _pages_of_handout(client, ident) == 1


@pytest.mark.browser
def test_enter_profile_see_icon_arrays_download_handout(
    page, live_server, screenshot, tmp_path, client
):
    page.goto(live_server + "/decide")
    page.get_by_role("link", name="Decision support").wait_for()
    # a first submit without the required fields shows inline errors
    page.get_by_role("button", name="Show the options").click()
    assert page.locator("#age-error").inner_text() == "is required"
    screenshot("decide-form-errors")
    page.get_by_label("Age (years)").fill("78")
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Transplant").select_option("not_eligible")
    page.get_by_label("Response after induction (IMWG)").select_option("VGPR")
    page.get_by_label("R-ISS stage").select_option("II")
    page.get_by_label("IMWG frailty").select_option("frail")
    page.get_by_label("Peripheral neuropathy now (CTCAE grade)").select_option("1")
    page.get_by_label("Previous blood clot (thromboembolism)").check()
    page.get_by_label("Weight (kg)").fill("58")
    page.get_by_label("Serum creatinine (mg/dL)").fill("1.4")
    page.get_by_label("How would the patient rather take treatment?").select_option("oral")
    screenshot("decide-form-filled")
    page.get_by_role("button", name="Show the options").click()
    page.wait_for_url("**/decide/*")
    assert page.get_by_role("heading", name="Options side by side").is_visible()
    arrays = page.locator("svg.icon-array")
    assert arrays.count() >= 6
    first = arrays.first
    assert first.get_attribute("role") == "img"
    assert (
        "100 people" in first.locator("desc").text_content()
        or "of 100" in first.locator("desc").text_content()
    )
    cards = page.locator("article.option")
    assert cards.count() >= 3 and cards.first.get_attribute("data-option") == "observation"
    lenalidomide = page.locator('article[data-option="lenalidomide"]')
    assert "creatinine clearance 30 mL/min" in lenalidomide.inner_text()
    assert "[C2]" in lenalidomide.inner_text()
    screenshot("decide-results")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download handout (PDF)").click()
    target = tmp_path / "handout.pdf"
    info.value.save_as(target)
    pdf = target.read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    assert _pages_of_handout(client, page.url.split("/decide/")[1].split("?")[0]) == 1
    page.goto(page.url.split("?")[0] + "/handout")
    screenshot("decide-handout")
