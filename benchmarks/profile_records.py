"""CPU time per records request, measured in-process one request at a time (no concurrency, no
network): what each page costs the server, independent of how loaded the machine is.

    python benchmarks/profile_records.py                 # SQLite, 20 repetitions per kind
    python benchmarks/profile_records.py --postgres      # the test suite's throwaway PostgreSQL
    python benchmarks/profile_records.py --profile timeline   # plus a cProfile listing

Seeds the same data as ``bench_records.py`` (200 patients, 5 teams), signs in as a clinician
and calls the ASGI app directly on one thread: FastAPI's thread-pool hops are replaced by direct
calls so that ``time.process_time()`` and cProfile see the handler's work.  Reports CPU and wall
milliseconds per request for: patient list, timeline page, timeline API, import of one lab
result (including the monitoring engine's refresh), login form, login (one Argon2id check).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import pstats
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_records  # noqa: E402


async def _inline(func, *args, **kwargs):
    return func(*args, **kwargs)


def _no_thread_pool() -> None:
    import fastapi.concurrency
    import fastapi.dependencies.utils
    import fastapi.routing
    import starlette.concurrency

    for module in (fastapi.routing, fastapi.dependencies.utils, starlette.concurrency):
        if hasattr(module, "run_in_threadpool"):
            module.run_in_threadpool = _inline
    fastapi.concurrency.run_in_threadpool = _inline
    import plateau.web.auth
    import plateau.web.decide_routes

    plateau.web.auth.run_in_threadpool = _inline
    plateau.web.decide_routes.run_in_threadpool = _inline


async def measure(app, patients, repeat: int, profile: str | None) -> dict:
    import httpx

    out = {}
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:

            def token(html: str) -> str:
                return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

            async def login():
                c.cookies.clear()
                form = await c.get("/login")
                r = await c.post(
                    "/login",
                    data={
                        "username": "clin000",
                        "password": bench_records.PASSWORD,
                        "csrf_token": token(form.text),
                        "next": "/records",
                    },
                )
                assert r.status_code == 303, r.status_code

            await login()
            csrf = token((await c.get("/records")).text)
            ext = (await c.get(f"/api/v1/records/patients/{patients[0]}")).json()["patient"]
            k = [0]

            async def get(url):
                r = await c.get(url)
                assert r.status_code == 200, (url, r.status_code)

            async def import_one():
                day = f"2025-{1 + k[0] % 9:02d}-{1 + k[0] % 27:02d}"
                labs = (
                    f"patient_id,date,analyte,value,unit\n{ext},{day},anc,{1 + k[0] / 100},10*9/L\n"
                )
                r = await c.post(
                    "/records/import",
                    data={"csrf_token": csrf},
                    files={"labs": ("labs.csv", labs.encode(), "text/csv")},
                    headers={"accept": "application/json"},
                )
                assert r.status_code < 400, r.text

            kinds = {
                "patient list": lambda: get("/records"),
                "timeline": lambda: get(f"/records/patients/{patients[k[0] % len(patients)]}"),
                "timeline (API)": lambda: get(
                    f"/api/v1/records/patients/{patients[k[0] % len(patients)]}"
                ),
                "import (1 result)": import_one,
                "login form": lambda: get("/login"),
                "login": login,  # last: it replaces the session (and its CSRF token)
            }
            for name, fn in kinds.items():
                for _ in range(3):  # warm up
                    k[0] += 1
                    await fn()
                prof = cProfile.Profile() if profile and profile in name else None
                if prof:
                    prof.enable()
                cpu0, wall0 = time.process_time(), time.perf_counter()
                for _ in range(repeat):
                    k[0] += 1
                    await fn()
                cpu = (time.process_time() - cpu0) / repeat
                wall = (time.perf_counter() - wall0) / repeat
                if prof:
                    prof.disable()
                    text = io.StringIO()
                    pstats.Stats(prof, stream=text).sort_stats("cumulative").print_stats(40)
                    print(text.getvalue())
                out[name] = {"cpu_ms": round(1000 * cpu, 1), "wall_ms": round(1000 * wall, 1)}
                print(f"{name:<20}{1000 * cpu:>10.1f}{1000 * wall:>10.1f}", flush=True)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument(
        "--profile", default=None, help="cProfile the request kinds containing this"
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    _no_thread_pool()
    from plateau.web.app import WebSettings, create_app

    stop = None
    if args.postgres:
        url, stop = bench_records.throwaway_postgres()
    else:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='plateau-prof-')}/prof.sqlite"
    try:
        teams = bench_records.seed(url, 200, 5)
        app = create_app(WebSettings(database_url=url))
        print(f"{'request':<20}{'CPU ms':>10}{'wall ms':>10}   ({url.split(':')[0]})")
        out = asyncio.run(measure(app, teams["Team 0"], args.repeat, args.profile))
    finally:
        if stop:
            stop()
    if args.json:
        args.json.write_text(json.dumps({"database": url.split(":")[0], "kinds": out}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
