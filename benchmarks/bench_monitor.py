"""Benchmark of the set-based monitoring engine on a synthetic registry.

    python benchmarks/bench_monitor.py                      # 100,000 patients x 40 x 10 = 40 million rows
    python benchmarks/bench_monitor.py --patients 10000     # smaller run

Each patient has ``--assessments`` visits 28 days apart, each with 10 analytes (serum and urine
M-protein, kappa and lambda FLC, serum IFE, ANC, platelets, WBC, haemoglobin, creatinine), in
canonical units, already sorted by patient and date (as a registry extract usually is).
Trajectories are random: a fall of the M-protein to a nadir then, for a third of patients, a
rise; counts fluctuate so that CTCAE grades and lenalidomide holds occur.

Reported: generation time, ``engine.assess`` wall time, rows per second (input rows / assess
time), and the peak resident memory of the process (``ru_maxrss``).  No R peer exists for this
engine, so there is no side-by-side ratio; the target is >= 1 million rows/s.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np
import pandas as pd

from plateau.monitor import engine
from plateau.monitor import units as U

ANALYTES = ("serum_m_protein", "urine_m_protein", "kappa_flc", "lambda_flc", "serum_ife", "anc", "platelets",
            "wbc", "hemoglobin", "creatinine")


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
    frame = pd.DataFrame({
        "patient_id": np.repeat(np.arange(P, dtype=np.int64), A * K),
        "date": np.repeat(days.ravel(), K).astype("datetime64[D]").astype("datetime64[ns]"),
        "analyte": pd.Categorical.from_codes(np.tile([U.ANALYTE_CODE[a] for a in ANALYTES], P * A),
                                             categories=U.ANALYTE_NAMES),
        "value": values.reshape(n),
    })
    patients = pd.DataFrame({
        "patient_id": np.arange(P, dtype=np.int64),
        "maintenance_start": (base_day + 14).astype("datetime64[D]").astype("datetime64[ns]"),
        "agent": np.where(rng.random(P) < 0.8, "lenalidomide", "thalidomide"),
        "dose_mg": 10.0,
    })
    return frame, patients


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--assessments", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    labs, patients = synthetic(args.patients, args.assessments, args.seed)
    t1 = time.perf_counter()
    rss_gen = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = engine.assess(labs, patients)
    t2 = time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n = len(labs)
    print(f"rows: {n:,} ({args.patients:,} patients x {args.assessments} assessments x {len(ANALYTES)} analytes)")
    print(f"generate: {t1 - t0:.1f} s; assess: {t2 - t1:.1f} s -> {n / (t2 - t1):,.0f} rows/s")
    print(f"peak RSS: {rss:,.0f} MiB (after generating the input: {rss_gen:,.0f} MiB)")
    print(f"progressions: {int(result.patients['pfs_event'].sum()):,}; CTCAE grade>=1 rows: {len(result.ctcae):,}; "
          f"dose actions: {len(result.dose_actions):,}; alerts: {len(result.alerts):,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
