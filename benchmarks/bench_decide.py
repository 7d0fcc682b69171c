"""Benchmark of a full decision (all options, flexible baselines, Q-TWiST, projected harms,
4,000 simulations) server-side and of the decision page end to end.

    python benchmarks/bench_decide.py                      # engine + API + page render
    python benchmarks/bench_decide.py --browser            # also the page in headless Chromium
    python benchmarks/bench_decide.py --save benchmarks/results/bench_decide.json

Reported (median and 90th percentile of ``--repeat`` runs after one warm-up):

* ``decide()`` for the two example profiles with the flexible baseline, and side by side with
  the exponential sensitivity model on the same profile and evidence (the ratio
  flexible / exponential is the cost of the flexible model);
* ``POST /api/v1/decisions`` (decide + store the snapshot) and ``GET /decide/{id}`` (render the
  page from the snapshot) through the ASGI test client;
* ``GET /decide/{id}/quality`` (the slider partial);
* with ``--browser``: navigation to the loaded page in Chromium (1366 x 900), against a live
  server in this process's machine.

Targets: a full decision < 200 ms server-side, the page < 1 s.  The machine is shared: the
load average is recorded with every run, and the process CPU time is reported beside the wall
time (on an oversubscribed machine wall time is CPU time plus waiting for a core).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROFILES = {
    "fit-60-post-asct": ROOT / "examples/profiles/fit-60-post-asct-vgpr.json",
    "frail-78-not-eligible": ROOT / "examples/profiles/frail-78-not-eligible.json",
}


def _time(fn, repeat: int) -> dict:
    fn()  # warm-up
    out, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        out.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    out.sort()
    return {
        "median_ms": statistics.median(out),
        "p90_ms": out[min(len(out) - 1, int(0.9 * len(out)))],
        "min_ms": out[0],
        "cpu_median_ms": statistics.median(cpu),
        "n": repeat,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--browser", action="store_true")
    parser.add_argument("--save", type=Path)
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from plateau.decide import decide, load_profile
    from plateau.evidence import load_bundled
    from plateau.web.app import create_app

    load_before = os.getloadavg()
    base = load_bundled()
    results: dict = {"decide": {}, "web": {}}
    for name, path in PROFILES.items():
        profile = load_profile(path)
        flex = _time(lambda p=profile: decide(p, base), args.repeat)
        expo = _time(lambda p=profile: decide(p, base, baseline_model="exponential"), args.repeat)
        results["decide"][name] = {
            "flexible": flex,
            "exponential": expo,
            "ratio_flexible_to_exponential": flex["median_ms"] / expo["median_ms"],
        }
        print(
            f"decide {name}: flexible {flex['median_ms']:.0f} ms (p90 {flex['p90_ms']:.0f}, "
            f"CPU {flex['cpu_median_ms']:.0f} ms), "
            f"exponential {expo['median_ms']:.0f} ms, ratio "
            f"{flex['median_ms'] / expo['median_ms']:.2f}"
        )

    app = create_app()
    tmp = tempfile.mkdtemp(prefix="plateau-bench-decide-")
    app.state.settings.extra["decisions_dir"] = Path(tmp)
    client = TestClient(app)
    body = json.loads(PROFILES["fit-60-post-asct"].read_text())
    ident = client.post("/api/v1/decisions", json=body).json()["id"]
    results["web"]["post_api_decisions"] = _time(
        lambda: client.post("/api/v1/decisions", json=body), args.repeat
    )
    results["web"]["get_decision_page"] = _time(lambda: client.get(f"/decide/{ident}"), args.repeat)
    results["web"]["get_quality_partial"] = _time(
        lambda: client.get(f"/decide/{ident}/quality?u_tox=0.3&u_rel=0.7"), args.repeat
    )
    for key, value in results["web"].items():
        print(
            f"{key}: {value['median_ms']:.0f} ms (p90 {value['p90_ms']:.0f}, "
            f"CPU {value['cpu_median_ms']:.0f} ms)"
        )

    if args.browser:
        import socket

        import uvicorn
        from playwright.sync_api import sync_playwright

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        chromium = os.environ.get("PLATEAU_CHROMIUM", "/usr/bin/chromium")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium)
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            url = f"http://127.0.0.1:{port}/decide/{ident}"
            results["web"]["browser_page_load"] = _time(
                lambda: page.goto(url, wait_until="load"), max(5, args.repeat // 3)
            )

            def submit():
                page.goto(f"http://127.0.0.1:{port}/decide", wait_until="load")
                page.evaluate(
                    """b => fetch('/api/v1/decisions', {method: 'POST', headers:
                    {'content-type': 'application/json'}, body: JSON.stringify(b)})
                    .then(r => r.json()).then(d => { location.href = '/decide/' + d.id; })""",
                    body,
                )
                page.wait_for_url("**/decide/*", wait_until="load")

            results["web"]["browser_new_decision_to_loaded_page"] = _time(
                submit, max(5, args.repeat // 3)
            )
            browser.close()
        server.should_exit = True
        for key in ("browser_page_load", "browser_new_decision_to_loaded_page"):
            v = results["web"][key]
            print(f"{key}: {v['median_ms']:.0f} ms (p90 {v['p90_ms']:.0f})")

    run = {
        "date": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "n_sims": 4000,
        **results,
    }
    print(f"load average before {load_before[0]:.1f}, after {os.getloadavg()[0]:.1f}")
    if args.save:
        runs = json.loads(args.save.read_text()) if args.save.exists() else []
        runs.append(run)
        args.save.write_text(json.dumps(runs, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
