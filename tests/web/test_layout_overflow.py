"""Every page at desktop (1366x900) and phone (390x844) width: no horizontal overflow.

A page overflows when the document is wider than the viewport (``scrollWidth > innerWidth``):
on a phone the whole page then scrolls sideways.  Wide tables and figures must scroll inside
their own box (``.table-wrap``, ``.figure``) instead.  Public pages and the records pages (signed
in as an administrator, who sees every records page) are checked; a full-page screenshot of each
is saved under ``test-artifacts/screenshots/layout-<width>-<page>.png`` for a person to look at.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from sqlalchemy import select

from plateau.store import open_database
from plateau.store.importer import import_files
from plateau.store.models import Patient
from plateau.store.security import create_user
from plateau.web.app import WebSettings, create_app

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
FIT60 = json.loads((ROOT / "examples/profiles/fit-60-post-asct-vgpr.json").read_text())
WIDTHS = {"desktop": (1366, 900), "phone": (390, 844)}
pytestmark = pytest.mark.browser


def _course() -> dict:
    """The patient course the timeline test draws (labs, events, QoL, doses)."""
    spec = importlib.util.spec_from_file_location(
        "records_browser_course", Path(__file__).with_name("test_records_browser.py")
    )
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module._course()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A live app with a records database: an admin, a clinician, one patient, one decision."""
    tmp = tmp_path_factory.mktemp("layout")
    url = f"sqlite:///{tmp / 'plateau.sqlite'}"
    db = open_database(url)
    with db.session(write=True) as s:
        create_user(s, "ada_admin", "layout-admin-password", "admin", ["Myeloma A"])
        uid = create_user(s, "dr_lee", "layout-password", "clinician", ["Myeloma A"]).id
    import_files(db, uid, csv_files=_course(), team="Myeloma A")
    with db.session() as s:
        pid = s.scalar(select(Patient).where(Patient.external_id == "T01")).id
    db.dispose()
    app = create_app(WebSettings(database_url=url, extra={"decisions_dir": tmp / "decisions"}))
    with TestClient(app) as client:
        ident = client.post("/api/v1/decisions", json=FIT60).json()["id"]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield {"base": f"http://127.0.0.1:{port}", "patient": pid, "decision": ident}
    server.should_exit = True
    thread.join(timeout=10)


def _public_pages(site) -> dict[str, str]:
    return {
        "home": "/",
        "evidence": "/evidence",
        "evidence-filtered": "/evidence?setting=post_asct&sort=pfs",
        "trial": "/evidence/CALGB100104",
        "trial-myeloma-xi": "/evidence/MyelomaXI",
        "analyses": "/analyses",
        "analysis-builtin": "/analyses/builtin/imwg2012-thalidomide-pfs",
        "analysis-custom": "/analyses?outcome=OS&setting=post_asct&by=agent",
        "networks": "/networks",
        "report": "/report",
        "decide": "/decide",
        "decide-result": f"/decide/{site['decision']}",
        "decide-handout": f"/decide/{site['decision']}/handout",
        "faq": "/faq",
        "faq-by-audience": "/faq?by=audience",
        "faq-search": "/faq/search?q=lenalidomide",
        "faq-entry": "/faq/does-maintenance-prolong-survival",
        "faq-entry-choosing": "/faq/choosing-lenalidomide-or-bortezomib",
        "login": "/login",
        "api-docs": "/api/docs",
        "not-found": "/evidence/NO_SUCH_TRIAL",
    }


def _records_pages(site) -> dict[str, str]:
    return {
        "records": "/records",
        "records-patient": f"/records/patients/{site['patient']}",
        "records-patient-decide": f"/records/patients/{site['patient']}/decide",
        "records-alerts": "/records/alerts",
        "records-import": "/records/import",
        "records-admin": "/records/admin",
        "records-audit": "/records/audit",
        "faq-review": "/faq/does-maintenance-prolong-survival/review",
    }


OVERFLOW_JS = """() => {
  const doc = document.documentElement;
  const width = window.innerWidth;
  const culprits = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.right > width + 1 && r.width > 0) {
      let inScroller = false;
      for (let p = el.parentElement; p; p = p.parentElement) {
        const s = getComputedStyle(p);
        if (['auto', 'scroll', 'hidden'].includes(s.overflowX)) { inScroller = true; break; }
      }
      const named = typeof el.className === 'string' && el.className;
      const cls = named ? '.' + el.className.split(' ')[0] : '';
      if (!inScroller) culprits.push(el.tagName.toLowerCase() + cls + ' ' + Math.round(r.right));
    }
  }
  return {scrollWidth: doc.scrollWidth, width: width, culprits: culprits.slice(0, 5)};
}"""


def _check(page, base: str, pages: dict[str, str], label: str) -> list[str]:
    problems = []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, path in pages.items():
        page.goto(base + path, wait_until="networkidle")
        # pages that build their heading with script (Swagger UI) get a moment; a page without
        # an h1 times out here and is reported by the count below
        with contextlib.suppress(PlaywrightTimeoutError):
            page.wait_for_selector("h1", timeout=5000)
        h1 = page.locator("h1").count()
        if h1 != 1:
            problems.append(f"{name} ({path}): {h1} h1 elements, not 1")
        if not page.evaluate("document.documentElement.lang"):
            problems.append(f"{name} ({path}): no lang on <html>")
        info = page.evaluate(OVERFLOW_JS)
        page.screenshot(path=str(ARTIFACTS / f"layout-{label}-{name}.png"), full_page=True)
        if info["scrollWidth"] > info["width"]:
            problems.append(
                f"{name} ({path}): scrollWidth {info['scrollWidth']} > {info['width']}: "
                f"{info['culprits']}"
            )
    return problems


@pytest.mark.parametrize("label", list(WIDTHS))
def test_public_pages_do_not_overflow(site, browser, label):
    width, height = WIDTHS[label]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        problems = _check(page, site["base"], _public_pages(site), label)
    finally:
        context.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("label", list(WIDTHS))
def test_records_pages_do_not_overflow(site, browser, label):
    width, height = WIDTHS[label]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        page.goto(site["base"] + "/login")
        page.fill("#username", "ada_admin")
        page.fill("#password", "layout-admin-password")
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        problems = _check(page, site["base"], _records_pages(site), label)
    finally:
        context.close()
    assert not problems, "\n".join(problems)


def test_focus_moves_to_the_error_summary(site, browser):
    """A form returned with errors puts keyboard and screen-reader focus on its error summary."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(site["base"] + "/decide")
        page.get_by_role("button", name="Show the options").click()
        page.wait_for_selector(".error-summary")
        focused = page.evaluate(
            "document.activeElement && document.activeElement.classList.contains('error-summary')"
        )
        assert focused, page.evaluate("document.activeElement.outerHTML.slice(0, 200)")
    finally:
        context.close()
