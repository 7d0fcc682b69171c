"""CPU-bound pages never run on the event loop, and expensive artefacts are built once.

A slow artefact request (the living report, stood in for by a builder that sleeps 3 s in its
thread) must not delay a concurrent cheap request (``/healthz``); two concurrent requests for the
same PDF build it once.  The Host header never reaches an absolute URL in a page.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest
import uvicorn

from plateau.web.app import WebSettings, create_app


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def served(tmp_path):
    app = create_app(WebSettings(database_url=f"sqlite:///{tmp_path / 'p.sqlite'}"))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    yield app, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _slow_html(*_a, **_k):
    time.sleep(3.0)  # blocks its thread as CPU work would
    return "<html><body>report</body></html>"


def test_a_slow_artefact_does_not_block_a_cheap_request(served, monkeypatch):
    import plateau.report.living as living

    app, base = served
    monkeypatch.setattr(living, "build_items", lambda b: [])
    monkeypatch.setattr(living, "render_html", _slow_html)
    slow: dict = {}

    def fetch_report():
        started = time.perf_counter()
        slow["status"] = httpx.get(f"{base}/report", timeout=30).status_code
        slow["seconds"] = time.perf_counter() - started
        slow["done"] = time.perf_counter()

    t = threading.Thread(target=fetch_report)
    t.start()
    time.sleep(0.3)  # the report is being built now
    started = time.perf_counter()
    cheap = httpx.get(f"{base}/healthz", timeout=30)
    cheap_done = time.perf_counter()
    cheap_seconds = cheap_done - started
    t.join()
    assert cheap.status_code == 200 and slow["status"] == 200
    assert slow["seconds"] >= 2.9
    # not queued behind the report (a blocked event loop would answer it after the report)
    assert cheap_done < slow["done"] - 1.0, f"/healthz waited {cheap_seconds:.2f} s"
    # built once: a second request is served from the artefact cache
    started = time.perf_counter()
    assert httpx.get(f"{base}/report", timeout=30).text.endswith("report</body></html>")
    assert time.perf_counter() - started < 2.0  # the build takes 3 s


def test_the_report_pdf_is_built_once_for_concurrent_requests(served, monkeypatch):
    import weasyprint

    import plateau.report.living as living

    app, base = served
    monkeypatch.setattr(living, "build_items", lambda b: [])
    monkeypatch.setattr(living, "render_html", lambda b, items, **_kw: "<p>report</p>")
    calls = []

    class SlowHTML:
        def __init__(self, string, **_kw):
            self.string = string

        def write_pdf(self):
            calls.append(1)
            time.sleep(3.0)
            return b"%PDF-1.7 fake"

    monkeypatch.setattr(weasyprint, "HTML", SlowHTML)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(httpx.get(f"{base}/report.pdf", timeout=30)))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    time.sleep(0.2)
    assert httpx.get(f"{base}/healthz", timeout=30).status_code == 200
    cheap_done = time.perf_counter()
    for t in threads:
        t.join()
    assert cheap_done < time.perf_counter() - 1.0  # answered well before the 3 s PDF was done
    assert [r.status_code for r in results] == [200, 200, 200]
    assert len(calls) == 1  # one build for three requests


def test_no_host_header_in_absolute_urls(served):
    _app, base = served
    r = httpx.get(f"{base}/evidence", headers={"host": "evil.example"}, timeout=30)
    assert r.status_code == 200
    assert "evil.example" not in r.text
    assert 'href="/static/css/plateau.css"' in r.text
