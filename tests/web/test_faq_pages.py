"""The living FAQ over HTTP and in the browser: one answer per question across entry points,
reviewer sign-off (audited, clears the flag), pages at desktop and phone width."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from plateau.evidence.base import BUNDLED_DIR
from plateau.store import open_database
from plateau.store.models import AuditEntry, FaqReview, User
from plateau.store.security import create_user
from plateau.web.app import WebSettings, create_app

POST_ASCT_60 = {"age": 60, "sex": "female", "transplant_status": "post_asct", "response": "VGPR"}


def _numbers(client, entry_id: str) -> dict[str, dict]:
    r = client.get(f"/api/v1/faq/{entry_id}")
    assert r.status_code == 200, r.text
    return {n["reference"]: n for n in r.json()["numbers"]}


def test_same_number_through_faq_analysis_and_decision_apis(client, tmp_path, app):
    nums = _numbers(client, "goals-of-maintenance")
    pfs = client.get("/api/v1/analyses/lenalidomide-pfs").json()["pooled"]
    assert nums["{{ pooled.hr analysis=lenalidomide-pfs }}"]["text"] == f"{pfs['estimate']:.2f}"
    assert nums["{{ pooled.ci analysis=lenalidomide-pfs }}"]["text"] == (
        f"{pfs['ci_low']:.2f}\u2013{pfs['ci_high']:.2f}"
    )
    assert nums["{{ pooled.k analysis=lenalidomide-pfs }}"]["text"] == str(pfs["k"])

    # a restricted analysis: the builder API with the same filters gives the same HR
    survival = _numbers(client, "does-maintenance-prolong-survival")
    spec = client.get("/api/v1/analyses/lenalidomide-os").json()["spec"]
    spec.update(settings=["post_asct"], subgroup_by=None, id="check")
    run = client.post("/api/v1/analyses", json=spec).json()["pooled"]
    ref = "{{ pooled.hr_ci analysis=lenalidomide-os setting=post_asct }}"
    assert survival[ref]["text"].startswith(f"{run['estimate']:.2f} (")
    assert survival[ref]["link"].startswith("/analyses?")

    # the decision aid: same profile, same 5-year PFS numbers (whole people per 100)
    app.state.settings.extra["decisions_dir"] = tmp_path / "decisions"
    decision = client.post("/api/v1/decisions", json=POST_ASCT_60).json()
    lena = next(o for o in decision["options"] if o["option"] == "lenalidomide")
    five = next(h for h in lena["pfs"]["horizons"] if h["horizon_years"] == 5)
    gain = nums["{{ decide.pfs_gain_per_100 profile=post-asct-60 agent=lenalidomide horizon=5 }}"]
    assert gain["text"].startswith(
        f"{round(five['difference_per_100']['estimate'])} more of every 100"
    )

    # and the page shows the same text, with the sources of the numbers
    html = client.get("/faq/goals-of-maintenance").text
    assert f"{pfs['estimate']:.2f}" in html
    assert 'href="/evidence/CALGB100104"' in html and "pubmed.ncbi.nlm.nih.gov/28742454" in html


def test_one_pooled_result_reads_the_same_on_the_analysis_page_and_in_the_faq(client):
    """The FAQ writes a live HR and CI exactly as the analysis page, the home page and the
    result summary (report, CLI) write them: ``0.79 (0.62\u20131.00)``.  The expected text is
    built here from the API's raw floats, not with plateau's formatter."""
    raw = client.get("/api/v1/analyses/lenalidomide-os").json()["pooled"]
    ratio = f"{raw['estimate']:.2f}"
    interval = f"{raw['ci_low']:.2f}\u2013{raw['ci_high']:.2f}"
    both = f"{ratio} ({interval})"
    assert " to " not in both

    analysis_page = client.get("/analyses/builtin/lenalidomide-os").text
    assert f"<dt>Pooled HR</dt><dd><strong>{ratio}</strong> (95% CI {interval})" in analysis_page
    assert both in client.get("/").text  # the home page's table of built-in analyses

    faq = _numbers(client, "does-maintenance-prolong-survival")
    assert faq["{{ pooled.hr_ci analysis=lenalidomide-os }}"]["text"] == both
    goals = _numbers(client, "goals-of-maintenance")
    assert goals["{{ pooled.hr analysis=lenalidomide-os }}"]["text"] == ratio
    assert goals["{{ pooled.ci analysis=lenalidomide-os }}"]["text"] == interval
    faq_page = client.get("/faq/does-maintenance-prolong-survival").text
    assert f">{both}<sup" in faq_page

    from plateau.analysis import builtin_specs, run_analysis
    from plateau.evidence import load_bundled

    summary = run_analysis(builtin_specs()["lenalidomide-os"], load_bundled()).summary()
    assert f"HR {both}" in summary  # what the report and `plateau analyze` print


def test_index_search_pdf_and_errors(client):
    index = client.get("/faq").text
    assert "Goals of maintenance" in index and "What to tell patients" in index
    assert "plateau patient-information editors" in client.get("/faq?by=author").text
    found = client.get("/faq/search", params={"q": "thromboprophylaxis"}).text
    assert "/faq/blood-clots-on-maintenance" in found
    assert client.get("/api/v1/faq/search", params={"q": "clot"}).json()["entries"]
    pdf = client.get("/faq/goals-of-maintenance/transcript.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert client.get("/api/v1/faq/nope").status_code == 404
    assert client.get("/faq/nope", headers={"accept": "text/html"}).status_code == 404
    bad = client.get("/api/v1/faq", params={"category": "cure"})
    assert bad.status_code == 422 and "category" in bad.json()["detail"]


# ---- sign-off ------------------------------------------------------------------------------------


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _login(app, username: str, password: str) -> TestClient:
    client = TestClient(app, base_url="https://testserver")
    form = client.get("/login")
    r = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": _csrf(form.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return client


@pytest.fixture(scope="module")
def moved(tmp_path_factory):
    """An app on a copy of the evidence where CALGB 100104's OS HR moved, and its database."""
    root = tmp_path_factory.mktemp("faq-web")
    evidence = root / "evidence"
    shutil.copytree(BUNDLED_DIR, evidence)
    path = evidence / "CALGB100104.yaml"
    data = yaml.safe_load(path.read_text("utf-8"))
    (os_latest,) = [
        e for e in data["estimates"] if e["outcome"] == "OS" and e["status"] == "latest"
    ]
    os_latest.update(hr=0.95, ci_low=0.76, ci_high=1.1875)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    url = f"sqlite:///{root / 'plateau.sqlite'}"
    db = open_database(url)
    with db.session(write=True) as s:
        create_user(s, "rev", "quiet-harbour-lantern", "reviewer")
        create_user(s, "clin", "silver-orchard-piano-3", "clinician", ["Team A"])
    app = create_app(WebSettings(evidence_path=Path(evidence), database_url=url))
    yield {"app": app, "db": db}
    db.dispose()
    if getattr(app.state, "records_db", None) is not None:
        app.state.records_db.dispose()


def _sign(client, entry_id: str, **fields):
    form = client.get(f"/faq/{entry_id}/review")
    assert form.status_code == 200, form.text
    data = {
        "csrf_token": _csrf(form.text),
        "name": "Dr R Eviewer",
        "role": "haematologist",
        "affiliation": "Test Hospital",
        "note": "checked",
    } | fields
    return client.post(f"/faq/{entry_id}/review", data=data, follow_redirects=False)


def test_reviewer_sign_off_clears_the_flag_and_is_audited(moved):
    app, db = moved["app"], moved["db"]
    anon = TestClient(app, base_url="https://testserver")
    before = anon.get("/api/v1/faq/goals-of-maintenance").json()["status"]
    assert before["status"] == "needs review"
    assert {c["result"] for c in before["changes"]} == {"pooled:lenalidomide-os"}
    page = anon.get("/faq/goals-of-maintenance").text
    assert "What changed since that review" in page and "needs review" in page

    # login is required to review
    r = anon.get("/faq/goals-of-maintenance/review", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")

    reviewer = _login(app, "rev", "quiet-harbour-lantern")
    missing = reviewer.post(
        "/faq/goals-of-maintenance/review", data={"name": "x"}, follow_redirects=False
    )
    assert missing.status_code == 403  # no CSRF token
    bad = _sign(reviewer, "goals-of-maintenance", affiliation="")
    assert bad.status_code == 422 and "affiliation" in bad.text
    ok = _sign(reviewer, "goals-of-maintenance")
    assert ok.status_code == 303 and ok.headers["location"] == "/faq/goals-of-maintenance#review"

    after = anon.get("/api/v1/faq/goals-of-maintenance").json()
    assert after["status"]["status"] == "current"
    assert after["status"]["last_review"]["recorded_in"] == "records database"
    assert after["review_history"][0]["reviewer"].startswith("Dr R Eviewer (haematologist")
    # the other dependent entries are still flagged
    listed = {e["id"]: e["status"] for e in anon.get("/api/v1/faq").json()["entries"]}
    assert listed["does-maintenance-prolong-survival"] == "needs review"
    assert listed["goals-of-maintenance"] == "current"

    with db.session() as s:
        rows = list(s.scalars(select(FaqReview)))
        audit = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "faq-sign-off")))
    assert [r.entry_id for r in rows] == ["goals-of-maintenance"]
    assert rows[0].evidence_version == app.state.evidence.version
    assert [(a.username, a.outcome) for a in audit] == [("rev", "ok")]
    assert app.state.evidence.version in audit[0].detail


@pytest.mark.parametrize("field,value", [("name", "..."), ("role", "TBD"), ("affiliation", "n/a")])
def test_review_form_refuses_placeholder_reviewers(moved, field, value):
    app, db = moved["app"], moved["db"]
    reviewer = _login(app, "rev", "quiet-harbour-lantern")
    r = _sign(reviewer, "how-long-to-continue", **{field: value})
    assert r.status_code == 422
    assert f"{field}: " in r.text and "placeholder" in r.text
    note = _sign(reviewer, "how-long-to-continue", note="...")
    assert note.status_code == 422 and "note: " in note.text
    with db.session() as s:
        assert not s.scalars(
            select(FaqReview).where(FaqReview.entry_id == "how-long-to-continue")
        ).all()


def test_a_stored_placeholder_sign_off_does_not_count(moved):
    """A row written before placeholders were refused stays in the history but is no review."""
    app, db = moved["app"], moved["db"]
    with db.session(write=True) as s:
        user = s.scalars(select(User).where(User.username == "rev")).one()
        s.add(
            FaqReview(
                entry_id="older-and-frail-patients",
                evidence_version=app.state.evidence.version,
                fingerprints={},
                user_id=user.id,
                username=user.username,
                reviewer_name="...",
                reviewer_role="...",
                reviewer_affiliation="...",
                note="",
            )
        )
    anon = TestClient(app, base_url="https://testserver")
    entry = anon.get("/api/v1/faq/older-and-frail-patients")
    assert entry.status_code == 200, entry.text
    last = entry.json()["status"]["last_review"]
    assert last["recorded_in"] == "library file"
    assert "..." not in last["reviewer"]
    assert anon.get("/faq/older-and-frail-patients").status_code == 200


def test_only_reviewers_may_sign_off(moved):
    app, db = moved["app"], moved["db"]
    clinician = _login(app, "clin", "silver-orchard-piano-3")
    form = clinician.get("/faq/explaining-benefit-in-numbers/review")
    assert "only users with the reviewer role" in form.text
    r = clinician.post(
        "/faq/explaining-benefit-in-numbers/review",
        data={
            "csrf_token": _csrf(clinician.get("/records").text),  # the session token
            "name": "Dr C",
            "role": "clinician",
            "affiliation": "Team A",
        },
        follow_redirects=False,
    )
    assert r.status_code == 403
    with db.session() as s:
        denied = s.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "faq-sign-off", AuditEntry.outcome == "denied"
            )
        ).all()
        assert [a.username for a in denied] == ["clin"]
        assert not s.scalars(
            select(FaqReview).where(FaqReview.entry_id == "explaining-benefit-in-numbers")
        ).all()


# ---- browser ----------------------------------------------------------------------------------

VIEWPORTS = {"desktop": (1366, 900), "phone": (390, 844)}
PAGES = {
    "faq-index": "/faq",
    "faq-entry": "/faq/choosing-lenalidomide-or-bortezomib",
    "faq-search": "/faq/search?q=lenalidomide",
}


@pytest.mark.parametrize("size", VIEWPORTS, ids=list(VIEWPORTS))
def test_pages_fit_desktop_and_phone(page, live_server, screenshot, size):
    width, height = VIEWPORTS[size]
    page.set_viewport_size({"width": width, "height": height})
    for name, path in PAGES.items():
        page.goto(live_server + path)
        page.get_by_role("heading", level=1).first.wait_for()
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} overflows horizontally by {overflow}px at {width}x{height}"
        screenshot(f"{name}-{size}")
    # keyboard users reach the numbers' sources from the answer
    page.goto(live_server + "/faq/goals-of-maintenance")
    first = page.locator(".faq-answer a.live").first
    href = first.get_attribute("href")
    first.click()
    assert page.url.endswith(href) and page.locator(href).is_visible()
    assert page.get_by_role("link", name="Download transcript (PDF)").is_visible()


def test_web_sign_offs_sync_into_the_library_files(moved, tmp_path):
    """After a web sign-off, `plateau faq sync-reviews` writes it to the entry file, and
    `plateau faq check` on the changed evidence then passes for that entry without a database."""
    from typer.testing import CliRunner

    from plateau.cli import app as cli
    from plateau.faq import BUNDLED_LIBRARY

    library = tmp_path / "library"
    shutil.copytree(BUNDLED_LIBRARY, library)
    reviewer = _login(moved["app"], "rev", "quiet-harbour-lantern")
    assert _sign(reviewer, "does-maintenance-prolong-survival").status_code == 303
    evidence = str(moved["app"].state.settings.evidence_path)
    runner = CliRunner()
    before = runner.invoke(cli, ["faq", "check", "--library", str(library), "--evidence", evidence])
    assert (
        before.exit_code == 1 and "does-maintenance-prolong-survival: needs review" in before.output
    )
    url = str(moved["db"].engine.url.render_as_string(hide_password=False))
    synced = runner.invoke(
        cli, ["faq", "sync-reviews", "--library", str(library), "--database-url", url]
    )
    assert synced.exit_code == 0, synced.output
    assert (
        "does-maintenance-prolong-survival: last_review from the records database" in synced.output
    )
    after = runner.invoke(cli, ["faq", "check", "--library", str(library), "--evidence", evidence])
    assert "does-maintenance-prolong-survival" not in after.output.split("need review", 1)[1]
    text = (library / "does-maintenance-prolong-survival.md").read_text("utf-8")
    assert "name: Dr R Eviewer" in text


def test_web_app_serves_a_users_own_library(tmp_path):
    folder = tmp_path / "my-faq"
    folder.mkdir()
    (folder / "our-local-policy.md").write_text(
        "---\n"
        "id: our-local-policy\n"
        "question: Which maintenance does our unit offer after transplant?\n"
        "category: choosing-agent\n"
        "author: {name: Unit Lead, role: haematologist, affiliation: Our Hospital}\n"
        "written: 2026-01-01\n"
        "---\n"
        "Lenalidomide; pooled PFS HR {{ hr analysis=lenalidomide-pfs }} <b>today</b>.\n",
        encoding="utf-8",
    )
    app = create_app(
        WebSettings(
            database_url=f"sqlite:///{tmp_path / 'p.sqlite'}", extra={"faq_library": folder}
        )
    )
    with TestClient(app) as client:
        rows = client.get("/api/v1/faq").json()["entries"]
        assert [r["id"] for r in rows] == ["our-local-policy"]
        assert rows[0]["status"] == "not reviewed"
        html = client.get("/faq/our-local-policy").text
        assert "&lt;b&gt;today&lt;/b&gt;" in html and "<b>today</b>" not in html
        assert client.get("/faq/goals-of-maintenance").status_code == 404


def test_review_form_is_not_cached(moved):
    reviewer = _login(moved["app"], "rev", "quiet-harbour-lantern")
    r = reviewer.get("/faq/goals-of-maintenance/review")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
