"""Loopback load test of the clinical records: concurrent clinicians browsing timelines and
importing.

    python benchmarks/bench_records.py                       # 50 clinicians, 10 rounds each, SQLite
    python benchmarks/bench_records.py --think 2             # clinicians read ~2 s between clicks
    python benchmarks/bench_records.py --clinicians 20 --rounds 5 --database-url postgresql+psycopg://...

Seeds a fresh database (``--patients`` patients in 5 care teams, 12 assessments of 6 analytes each,
one clinician account per simulated user, arriving over ``--ramp`` seconds), serves the app with
uvicorn on 127.0.0.1 in a child
process, then runs every clinician concurrently (asyncio + httpx): sign in, then per round open the
patient list, open two timelines of their team's patients and, every third round, import a new
lab result for one of them through the import form.  The run is bounded by ``--rounds`` and
``--time-limit``.  The server is ``plateau serve`` as a deployer runs it.  Prints p50/p95/max
latency per request kind as the clients see it and as the app measured it (``[in app]``, from the
``Server-Timing`` header), the server's CPU time per request, the machine's load average before
and after, the error count and throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEAMS = 5
PASSWORD = "bench-password-1"


def seed(url: str, n_patients: int, n_clinicians: int) -> dict[str, list[int]]:
    from sqlalchemy import select

    from plateau.store import open_database
    from plateau.store.importer import import_files
    from plateau.store.models import Patient
    from plateau.store.security import create_user

    db = open_database(url)
    with db.session(write=True) as s:
        admin = create_user(s, "bench_admin", PASSWORD, "admin").id
        for c in range(n_clinicians):
            create_user(s, f"clin{c:03d}", PASSWORD, "clinician", [f"Team {c % TEAMS}"])
    rng = random.Random(7)
    start = dt.date(2024, 1, 1)
    for team in range(TEAMS):
        ids = [f"B{team}{i:04d}" for i in range(team, n_patients, TEAMS)]
        patients = "patient_id,maintenance_start,agent,dose_mg\n" + "".join(
            f"{p},{start},lenalidomide,10\n" for p in ids
        )
        labs = ["patient_id,date,analyte,value,unit"]
        for p in ids:
            m = rng.uniform(1.0, 3.0)
            for k in range(12):
                day = start + dt.timedelta(days=-7 + 30 * k)
                m = max(0.0, m * rng.uniform(0.6, 1.15))
                labs += [
                    f"{p},{day},serum_m_protein,{m:.2f},g/dL",
                    f"{p},{day},kappa_flc,{10 * m + 5:.1f},mg/L",
                    f"{p},{day},lambda_flc,{rng.uniform(5, 20):.1f},mg/L",
                    f"{p},{day},anc,{rng.uniform(0.4, 4):.2f},10*9/L",
                    f"{p},{day},platelets,{rng.uniform(40, 300):.0f},10*9/L",
                    f"{p},{day},hemoglobin,{rng.uniform(8, 14):.1f},g/dL",
                ]
        import_files(
            db,
            admin,
            csv_files={
                "patients": ("p.csv", patients.encode()),
                "labs": ("l.csv", ("\n".join(labs) + "\n").encode()),
            },
            team=f"Team {team}",
        )
    with db.session() as s:
        by_team: dict[str, list[int]] = {}
        for p in s.scalars(select(Patient)):
            by_team.setdefault(str(p.care_team_id), []).append(p.id)
        team_of = {}
        from plateau.store.models import CareTeam

        for t in s.scalars(select(CareTeam)):
            team_of[t.name] = by_team.get(str(t.id), [])
    db.dispose()
    return team_of


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the server process and its worker processes (its children)
    have used so far (Linux /proc)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def start_server(url: str, port: int, log: Path, workers: int = 1) -> subprocess.Popen:
    """``plateau serve`` exactly as a deployer starts it (its uvicorn configuration, access log
    on, proxy headers off; ``--workers``), logging to ``log``."""
    cmd = [sys.executable, "-m", "plateau", "serve", "--port", str(port), "--database-url", url]
    with log.open("wb") as out:
        return subprocess.Popen(
            cmd + ["--workers", str(workers)],
            env=dict(os.environ),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def clinician(idx, base, patients, rounds, deadline, results, errors, ramp=0.0, think=0.0):
    import httpx

    think_rng = random.Random(5000 + idx)

    async def pause():  # a clinician reads a page before the next click (exponential, mean `think`)
        if think > 0:
            await asyncio.sleep(think_rng.expovariate(1.0 / think))

    await asyncio.sleep(
        random.Random(1000 + idx).uniform(0, ramp)
    )  # clinicians arrive over `ramp` seconds

    # idle connections are dropped by the client before uvicorn's 5 s keep-alive timeout closes
    # them (as browsers retry on such a race; with equal timeouts a request can meet a closing
    # connection and fail with ReadError)
    limits = httpx.Limits(keepalive_expiry=4.0)
    async with httpx.AsyncClient(
        base_url=base, timeout=60, follow_redirects=False, limits=limits
    ) as client:

        async def timed(kind, method, url, **kw):
            t0 = time.perf_counter()
            try:
                r = await client.request(method, url, **kw)
            except httpx.HTTPError as exc:
                errors.append(f"{kind}: {type(exc).__name__}")
                return None
            results.setdefault(kind, []).append(time.perf_counter() - t0)
            timing = re.search(r"app;dur=([0-9.]+)", r.headers.get("server-timing", ""))
            if timing:  # time inside the app (excludes the wait for the event loop and the CPU)
                results.setdefault(f"{kind} [in app]", []).append(float(timing.group(1)) / 1000)
            if r.status_code >= 400 or (kind != "login" and r.status_code >= 300):
                errors.append(f"{kind}: HTTP {r.status_code}")
            return r

        form = await timed("login form", "GET", "/login")
        found = re.search(r'name="csrf_token" value="([^"]+)"', form.text) if form else None
        if found is None:
            errors.append(f"login form failed for clin{idx:03d}")
            return
        token = found.group(1)
        r = await timed(
            "login",
            "POST",
            "/login",
            data={
                "username": f"clin{idx:03d}",
                "password": PASSWORD,
                "csrf_token": token,
                "next": "/records",
            },
        )
        if r is None or r.status_code != 303:
            errors.append(f"login failed for clin{idx:03d}")
            return
        rng = random.Random(idx)
        csrf = None
        for k in range(rounds):
            if time.monotonic() > deadline:
                break
            await pause()
            page = await timed("patient list", "GET", "/records")
            if csrf is None and page is not None:
                found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
                csrf = found.group(1) if found else None
            for pid in rng.sample(patients, 2):
                await pause()
                await timed("timeline", "GET", f"/records/patients/{pid}")
            if k % 3 == 2 and csrf:
                pid_ext = None
                day = dt.date(2025, 1, 1) + dt.timedelta(days=idx * 7 + k)  # past dates (plausible)
                r = await timed("timeline", "GET", f"/api/v1/records/patients/{patients[0]}")
                pid_ext = r.json()["patient"] if r is not None and r.status_code == 200 else None
                if pid_ext:
                    labs = (
                        "patient_id,date,analyte,value,unit\n"
                        f"{pid_ext},{day},serum_m_protein,{rng.uniform(0.1, 2):.2f},g/dL\n"
                    )
                    await timed(
                        "import",
                        "POST",
                        "/records/import",
                        data={"csrf_token": csrf},
                        files={"labs": ("labs.csv", labs.encode(), "text/csv")},
                        headers={"accept": "application/json"},
                    )


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(q * (len(values) - 1)))))]


async def run(base, team_patients, n_clinicians, rounds, time_limit, ramp, think=0.0):
    results: dict[str, list[float]] = {}
    errors: list[str] = []
    deadline = time.monotonic() + time_limit
    t0 = time.perf_counter()
    await asyncio.gather(
        *(
            clinician(
                i,
                base,
                team_patients[f"Team {i % TEAMS}"],
                rounds,
                deadline,
                results,
                errors,
                ramp,
                think,
            )
            for i in range(n_clinicians)
        )
    )
    return results, errors, time.perf_counter() - t0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clinicians", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument(
        "--ramp", type=float, default=10.0, help="clinicians arrive over this many seconds"
    )
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="mean seconds a clinician reads a page before the next click (0 = no pause)",
    )
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes of `plateau serve --workers`"
    )
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="start a throwaway PostgreSQL server (initdb + pg_ctl, as the test suite does: "
        "tests/store/pgserver.py) and run on it",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="plateau-bench-")
    stop_pg = None
    if args.postgres:
        args.database_url, stop_pg = throwaway_postgres()
    try:
        return _run(args, tmp)
    finally:
        if stop_pg:
            stop_pg()


def throwaway_postgres():
    """``(database url, stop)`` of a throwaway PostgreSQL server started as the test suite
    starts it (``tests/store/pgserver.py``: initdb + pg_ctl on a free loopback port; fsync off)."""
    import importlib.util

    tests = Path(__file__).resolve().parents[1] / "tests"
    sys.path.insert(0, str(tests))  # pgserver imports tests/netutil.py
    spec = importlib.util.spec_from_file_location("plateau_pgserver", tests / "store/pgserver.py")
    assert spec and spec.loader
    pgserver = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pgserver)
    base_url, stop = pgserver.start()
    return pgserver.new_database(base_url), stop


def _run(args, tmp: str) -> int:
    url = args.database_url or f"sqlite:///{tmp}/bench.sqlite"
    t = time.perf_counter()
    team_patients = seed(url, args.patients, args.clinicians)
    print(
        f"seeded {args.patients} patients, {args.clinicians} clinicians in "
        f"{time.perf_counter() - t:.1f} s"
    )
    port = free_port()
    server = start_server(url, port, Path(tmp) / "server.log", args.workers)
    base = f"http://127.0.0.1:{port}"
    try:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("server did not start")
            time.sleep(0.2)
        load_before = os.getloadavg()
        cpu_before = server_cpu_seconds(server.pid)
        results, errors, wall = asyncio.run(
            run(
                base,
                team_patients,
                args.clinicians,
                args.rounds,
                args.time_limit,
                args.ramp,
                args.think,
            )
        )
        server_cpu = server_cpu_seconds(server.pid) - cpu_before
        load_after = os.getloadavg()
    finally:
        server.terminate()
        server.wait(timeout=30)
    total = sum(len(v) for k, v in results.items() if not k.endswith("[in app]"))
    report = {
        "clinicians": args.clinicians,
        "workers": args.workers,
        "rounds": args.rounds,
        "patients": args.patients,
        "ramp_s": args.ramp,
        "think_s": args.think,
        "database": url.split(":")[0],
        "requests": total,
        "errors": len(errors),
        "wall_s": round(wall, 2),
        "throughput_rps": round(total / wall, 1),
        "server_cpu_s": round(server_cpu, 2),
        "server_cpu_ms_per_request": round(1000 * server_cpu / max(total, 1), 1),
        "cores": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "kinds": {},
    }
    print(
        f"{args.clinicians} clinicians, {total} requests in {wall:.1f} s ({total / wall:.1f} "
        f"req/s), {len(errors)} errors on {report['database']}"
    )
    print(
        f"server CPU {server_cpu:.1f} s ({report['server_cpu_ms_per_request']} ms per request); "
        f"load average (1/5/15 min) before {report['load_average_before']}, after "
        f"{report['load_average_after']} on {os.cpu_count()} cores"
    )
    print(f"{'request':<24}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    for kind, values in sorted(results.items()):
        row = {
            "n": len(values),
            "p50_ms": round(1000 * statistics.median(values), 1),
            "p95_ms": round(1000 * pct(values, 0.95), 1),
            "max_ms": round(1000 * max(values), 1),
        }
        report["kinds"][kind] = row
        print(f"{kind:<24}{row['n']:>6}{row['p50_ms']:>10}{row['p95_ms']:>10}{row['max_ms']:>10}")
    if errors:
        print("errors:", ", ".join(sorted(set(errors))[:10]))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
