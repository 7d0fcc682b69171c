"""Server-side latency of analysis requests on the bundled evidence base.

Starts ``plateau serve`` on a free loopback port, then sends analysis requests
(``POST /api/v1/analyses``) one after another: first N distinct specs (random outcome, agents,
settings, estimator, test, subgroups and sensitivity options: nothing cached), then the same
specs again (cached).  The server-side duration comes from the ``Server-Timing`` header; the
client-side round trip is reported too.  The peer is the same analysis run in-process by the
library (``plateau.analysis.run_analysis``): the ratio shows the web layer's overhead.

    .venv/bin/python benchmarks/bench_web.py [--n 400] [--seed 1]

Writes ``benchmarks/results/bench_web.json``.  Target: p95 < 100 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
AGENTS = ["thalidomide", "lenalidomide", "bortezomib", "ixazomib", "daratumumab", "carfilzomib"]
METHODS = ["REML", "DL", "PM", "ML", "EB", "SJ", "HE", "FE"]


def random_spec(rng: random.Random) -> dict:
    return {
        "outcome": rng.choice(["disease_control", "OS", "PFS"]),
        "agents": rng.sample(AGENTS, rng.randint(1, 3)),
        "settings": rng.choice([[], ["post_asct"], ["non_transplant"], ["post_asct", "mixed"]]),
        "comparison_kinds": rng.choice(
            [
                ["maintenance_vs_control"],
                ["maintenance_vs_control", "add_on"],
                [
                    "maintenance_vs_control",
                    "add_on",
                    "maintenance_vs_active",
                    "induction_maintenance_package",
                ],
            ]
        ),
        "subgroup_by": rng.choice([None, "setting", "agent", "comparison_kind"]),
        "model": {
            "method": rng.choice(METHODS),
            "test": rng.choice(["z", "knha"]),
            "level": rng.choice([0.9, 0.95, 0.99]),
        },
        "sensitivity": {
            key: rng.random() < 0.2
            for key in (
                "latest_only",
                "exclude_approximate",
                "exclude_packages",
                "exclude_active_controls",
            )
        },
    }


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def summarise(values):
    return {
        "n": len(values),
        "median_ms": statistics.median(values),
        "p95_ms": percentile(values, 95),
        "p99_ms": percentile(values, 99),
        "max_ms": max(values),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    specs = []
    seen = set()
    while len(specs) < args.n:
        spec = random_spec(rng)
        key = json.dumps(spec, sort_keys=True)
        if key not in seen:
            seen.add(key)
            specs.append(spec)

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "plateau", "serve", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=url, timeout=30) as client:
            while True:
                try:
                    client.get("/healthz")
                    break
                except httpx.TransportError as exc:
                    if time.monotonic() > deadline:
                        raise SystemExit("server did not start") from exc
                    time.sleep(0.2)
            client.post("/api/v1/analyses", json=specs[0])  # warm-up (imports)
            results = {}
            for label in ("uncached", "cached"):
                server_ms, client_ms, errors = [], [], 0
                for spec in specs[1:] if label == "uncached" else specs[1:]:
                    started = time.perf_counter()
                    response = client.post("/api/v1/analyses", json=spec)
                    client_ms.append(1000 * (time.perf_counter() - started))
                    errors += response.status_code != 200
                    server_ms.append(float(response.headers["server-timing"].split("dur=")[1]))
                results[label] = {
                    "server": summarise(server_ms),
                    "client": summarise(client_ms),
                    "errors": errors,
                }
    finally:
        server.terminate()
        server.wait(timeout=20)

    # peer: the library in-process on the same specs
    sys.path.insert(0, str(ROOT / "src"))
    from plateau.analysis import run_analysis, spec_from_dict
    from plateau.evidence import load_bundled

    base = load_bundled()
    library_ms = []
    for spec in specs[1:]:
        started = time.perf_counter()
        run_analysis(spec_from_dict(spec), base)
        library_ms.append(1000 * (time.perf_counter() - started))
    results["library_in_process"] = summarise(library_ms)
    results["overhead_ratio_p95"] = (
        results["uncached"]["server"]["p95_ms"] / results["library_in_process"]["p95_ms"]
    )
    results["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    results["evidence_version"] = base.version
    out = ROOT / "benchmarks" / "results" / "bench_web.json"
    out.write_text(json.dumps(results, indent=1))
    for label in ("uncached", "cached"):
        r = results[label]
        print(
            f"{label:9s} server p50 {r['server']['median_ms']:.1f} ms, p95 "
            f"{r['server']['p95_ms']:.1f} ms, "
            f"p99 {r['server']['p99_ms']:.1f} ms; round trip p95 {r['client']['p95_ms']:.1f} ms; "
            f"errors {r['errors']}"
        )
    lib = results["library_in_process"]
    print(
        f"library   p50 {lib['median_ms']:.1f} ms, p95 {lib['p95_ms']:.1f} ms; "
        f"server/library p95 ratio {results['overhead_ratio_p95']:.2f}"
    )
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
