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


@pytest.mark.parametrize(
    "name", ["fit-60-post-asct-vgpr", "del17p-55-post-asct", "frail-78-not-eligible"]
)
def test_handout_with_values_stays_one_page(client, name):
    from weasyprint import HTML

    body = json.loads((ROOT / "examples/profiles" / f"{name}.json").read_text())
    ident = client.post("/api/v1/decisions", json=body).json()["id"]
    query = "v_pfs=very&v_os=very&v_side_effects=somewhat&v_visits=not&v_cost=not"
    html = client.get(f"/decide/{ident}/handout?{query}").text
    assert "Living longer: <strong>very important</strong>" in html
    assert len(HTML(string=html).render().pages) == 1


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
    assert (
        "creatinine clearance 30 mL/min: starting dose 5 mg once daily" in lenalidomide.inner_text()
    )
    assert "[C3]" in lenalidomide.inner_text()  # the label's maintenance renal row, recalled
    assert "Thromboprophylaxis: low-molecular-weight heparin" in lenalidomide.inner_text()
    assert page.locator("#quality-table").is_visible()
    before = page.locator('#quality-table tr[data-option="lenalidomide"] td').nth(2).inner_text()
    page.locator('input[name="u_rel"]').fill("1")
    page.wait_for_function(
        "b => document.querySelector("
        "'#quality-table tr[data-option=\"lenalidomide\"] td:nth-of-type(3)')"
        ".innerText !== b",
        arg=before,
    )
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


def test_quality_partial_recomputes_from_the_stored_partition(client):
    data = client.post("/api/v1/decisions", json=FIT60).json()
    lena = next(o for o in data["options"] if o["option"] == "lenalidomide")["qtwist"]
    obs = next(o for o in data["options"] if o["option"] == "observation")["qtwist"]
    html = client.get(f"/decide/{data['id']}/quality?u_tox=0.2&u_rel=0.9").text
    value = 0.2 * lena["tox_months"] + lena["twist_months"] + 0.9 * lena["rel_months"]
    ref = 0.2 * obs["tox_months"] + obs["twist_months"] + 0.9 * obs["rel_months"]
    assert (
        f"<strong>{value:.1f}</strong>" in html and f"<strong>{value - ref:+.1f}</strong>" in html
    )
    # same numbers as the threshold table of the API at a grid point
    grid = lena["threshold"]["gain_months"]
    html5 = client.get(f"/decide/{data['id']}/quality?u_tox=0.5&u_rel=0.5").text
    assert f"<strong>{grid[5][5]:+.1f}</strong>" in html5
    assert client.get(f"/decide/{data['id']}/quality?u_tox=2").status_code == 422


def test_values_answers_reach_the_handout(client):
    data = client.post("/api/v1/decisions", json=FIT60).json()
    html = client.get(f"/decide/{data['id']}/handout?v_os=very&v_cost=not&v_bogus=x").text
    assert "Living longer: <strong>very important</strong>" in html
    assert "Lower cost: <strong>not important</strong>" in html and "bogus" not in html
    assert "736 surveyed at Mayo Clinic" in html
    page_html = client.get(f"/decide/{data['id']}?v_os=very").text
    assert 'name="v_os" value="very" checked' in page_html
    assert "v_os=very" in page_html  # carried to the handout links
