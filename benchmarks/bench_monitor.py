"""Benchmark of the set-based monitoring engine on a synthetic registry.

    nice python benchmarks/bench_monitor.py              # 100,000 x 40 x 10 = 40 million rows
    python benchmarks/bench_monitor.py --patients 10000  # smaller run
    nice python benchmarks/bench_monitor.py --save benchmarks/results/bench_monitor.json

Each patient has ``--assessments`` visits 28 days apart, each with 10 analytes (serum and urine
M-protein, kappa and lambda FLC, serum IFE, ANC, platelets, WBC, haemoglobin, creatinine), in
canonical units, already sorted by patient and date (as a registry extract usually is).
Trajectories are random: a fall of the M-protein to a nadir then, for a third of patients, a
rise; counts fluctuate so that CTCAE grades and lenalidomide holds occur.

Reported: generation time, ``engine.assess`` wall time and CPU time (user/system), rows per
second (input rows / assess wall time), the peak resident memory of the whole process
(``ru_maxrss``) and of the assess phase alone (the kernel's peak counter is reset through
``/proc/self/clear_refs`` after generating the input, so that figure includes the resident
input table), and the load average before and after (the machine is shared: say under what
load a figure was measured).  ``--save`` appends the run to a JSON file of runs.  No R peer exists
for this engine, so there is no side-by-side ratio;
the target is >= 1 million rows/s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from plateau.monitor import engine
from plateau.rules import units as U

ANALYTES = (
    "serum_m_protein",
    "urine_m_protein",
    "kappa_flc",
    "lambda_flc",
    "serum_ife",
    "anc",
    "platelets",
    "wbc",
    "hemoglobin",
    "creatinine",
)


def synthetic(n_patients: int, n_assess: int, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    P, A, K = n_patients, n_assess, len(ANALYTES)
    t = np.arange(A)[None, :]
    s0 = rng.uniform(0.5, 5.0, (P, 1))
    nadir_frac = rng.uniform(0.0, 0.8, (P, 1))
    t_nadir = rng.integers(3, max(4, A // 2), (P, 1))
    rises = rng.random((P, 1)) < 0.33
    fall = s0 * (1 - (1 - nadir_frac) * np.minimum(t / t_nadir, 1))
    rise = np.where(rises & (t > t_nadir), 0.15 * (t - t_nadir), 0.0)
    serum = np.round(fall + rise + rng.normal(0, 0.02, (P, A)).clip(0), 2).clip(0)
    urine = np.round(serum * rng.uniform(50, 200, (P, 1)), 0)
    kappa = np.round(1.5 + serum * rng.uniform(0, 20, (P, 1)), 2)
    lam = np.round(rng.uniform(0.8, 2.0, (P, A)), 2)
    ife = (serum > 0.05).astype(float)
    anc = np.round(rng.gamma(4.0, 0.5, (P, A)), 2)
    plt = np.round(rng.gamma(6.0, 25.0, (P, A)), 0)
    wbc = np.round(anc + rng.gamma(4.0, 0.4, (P, A)), 2)
    hb = np.round(rng.normal(12.0, 1.5, (P, A)).clip(5, 18), 1)
    cr = np.round(rng.gamma(9.0, 0.11, (P, A)), 2)
    values = np.stack([serum, urine, kappa, lam, ife, anc, plt, wbc, hb, cr], axis=2)  # P, A, K
    base_day = np.datetime64("2020-01-01").astype(np.int64) + rng.integers(0, 365, P)
    days = base_day[:, None] + 28 * t  # P, A
    n = P * A * K
    ns = np.repeat(days.ravel(), K)
    # days -> nanoseconds in place (same values as .astype("datetime64[ns]"))
    ns *= 86_400_000_000_000
    frame = pd.DataFrame(
        {
            "patient_id": np.repeat(np.arange(P, dtype=np.int64), A * K),
            "date": ns.view("datetime64[ns]"),
            "analyte": pd.Categorical.from_codes(
                np.tile(np.array([U.ANALYTE_CODE[a] for a in ANALYTES], dtype=np.int8), P * A),
                categories=U.ANALYTE_NAMES,
            ),
            "value": values.reshape(n),
        },
        copy=False,
    )
    patients = pd.DataFrame(
        {
            "patient_id": np.arange(P, dtype=np.int64),
            "maintenance_start": (base_day + 14).astype("datetime64[D]").astype("datetime64[ns]"),
            "agent": np.where(rng.random(P) < 0.8, "lenalidomide", "thalidomide"),
            "dose_mg": 10.0,
        }
    )
    return frame, patients


def _rss_mib(field: str) -> float | None:
    """VmRSS / VmHWM of this process in MiB (Linux), None elsewhere."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset the peak RSS counter (Linux >= 4.0)
        return True
    except OSError:
        return False


def _git_commit() -> str | None:
    try:
        root = Path(engine.__file__).resolve().parents[3]
        out = subprocess.run(
            ["git", "-C", str(root), "log", "-1", "--format=%H", "--", "src/plateau/monitor"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--assessments", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--save", type=Path, default=None, help="write the result into this JSON file")
    ap.add_argument("--note", default="", help="free text stored with --save (e.g. what else ran)")
    ap.add_argument(
        "--engine-commit",
        default=None,
        help="commit to record with --save when the engine is imported from outside this checkout "
        "(default: the last commit of src/plateau/monitor here)",
    )
    args = ap.parse_args(argv)
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    labs, patients = synthetic(args.patients, args.assessments, args.seed)
    t1 = time.perf_counter()
    rss_gen = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    gc.collect()
    reset = _reset_peak()
    rss_before = _rss_mib("VmRSS")
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    t2 = time.perf_counter()
    result = engine.assess(labs, patients)
    t3 = time.perf_counter()
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    peak_assess = _rss_mib("VmHWM") if reset else None
    load_after = os.getloadavg()
    n = len(labs)
    rate = n / (t3 - t2)
    print(
        f"rows: {n:,} ({args.patients:,} patients x {args.assessments} assessments x "
        f"{len(ANALYTES)} analytes)"
    )
    print(
        f"generate: {t1 - t0:.1f} s; assess: {t3 - t2:.1f} s -> {rate:,.0f} rows/s "
        f"(CPU user {ru1.ru_utime - ru0.ru_utime:.1f} s, system {ru1.ru_stime - ru0.ru_stime:.1f} "
        "s)"
    )
    print(
        f"peak RSS: process {max(rss_gen, ru1.ru_maxrss / 1024):,.0f} MiB (after generating the "
        "input: "
        f"{rss_gen:,.0f} MiB); assess phase {peak_assess or float('nan'):,.0f} MiB incl. the "
        f"resident input ({rss_before or float('nan'):,.0f} MiB before assess)"
    )
    print(
        "load average (1/5/15 min) before "
        f"{load_before[0]:.2f}/{load_before[1]:.2f}/{load_before[2]:.2f}, "
        f"after {load_after[0]:.2f}/{load_after[1]:.2f}/{load_after[2]:.2f} on {os.cpu_count()} "
        "CPUs"
    )
    counts = {
        "progressions": int(result.patients["pfs_event"].sum()),
        "ctcae_rows": len(result.ctcae),
        "assessment_rows": len(result.assessments),
        "dose_actions": len(result.dose_actions),
        "alerts": len(result.alerts),
    }
    print(
        f"progressions: {counts['progressions']:,}; CTCAE grade>=1 rows: {counts['ctcae_rows']:,}; "
        f"dose actions: {counts['dose_actions']:,}; alerts: {counts['alerts']:,}"
    )
    if args.save:
        run = {
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "engine_commit": args.engine_commit or _git_commit(),
            "note": args.note,
            "command": "nice python benchmarks/bench_monitor.py"
            + ("" if args.patients == 100_000 else f" --patients {args.patients}")
            + ("" if args.assessments == 40 else f" --assessments {args.assessments}"),
            "rows": n,
            "patients": args.patients,
            "assessments": args.assessments,
            "analytes": len(ANALYTES),
            "seed": args.seed,
            "generate_s": round(t1 - t0, 2),
            "assess_s": round(t3 - t2, 2),
            "rows_per_s": round(rate),
            "cpu_user_s": round(ru1.ru_utime - ru0.ru_utime, 2),
            "cpu_system_s": round(ru1.ru_stime - ru0.ru_stime, 2),
            "peak_rss_process_mib": round(max(rss_gen, ru1.ru_maxrss / 1024)),
            "peak_rss_after_generate_mib": round(rss_gen),
            "peak_rss_assess_mib": round(peak_assess) if peak_assess else None,
            "rss_before_assess_mib": round(rss_before) if rss_before else None,
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in load_after],
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "counts": counts,
            "target_rows_per_s": 1_000_000,
        }
        data = (
            json.loads(args.save.read_text())
            if args.save.exists()
            else {"benchmark": "bench_monitor", "runs": []}
        )
        data["runs"].append(run)
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(json.dumps(data, indent=2) + "\n")
        print(f"saved to {args.save}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
