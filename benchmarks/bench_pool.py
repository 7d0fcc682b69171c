"""Benchmark: plateau's batch pool() against metafor's one-call-per-analysis loop.

    .venv/bin/python benchmarks/bench_pool.py            # 10,000 meta-analyses of k = 10
    .venv/bin/python benchmarks/bench_pool.py --n 1000   # quicker

Simulates N meta-analyses of k studies (seeded): n_i ~ U{20..200} per study, v_i = 4/n_i,
tau^2 cycling through 0, 0.02, 0.05, 0.1, y_i ~ N(0.1, tau^2 + v_i); writes them to a long CSV
(ma, yi, vi), times plateau's batch REML and DL (best of 5), and, when ``Rscript`` is on the
PATH, runs ``benchmarks/bench_pool.R`` on the same CSV: metafor's REML and DL loops with
default control (timed, failures counted) and a tight-control REML re-fit as the reference.
Reports the throughput ratios, the largest |difference| in estimate and tau^2 against
tight-converged metafor, and the numbers of non-converged fits; writes
``benchmarks/results/bench_pool.json``.  Without R it compares with the metafor timing saved in
that file by an earlier run and says so.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from plateau.meta import ConvergenceWarning, pool  # noqa: E402

RESULT = ROOT / "benchmarks" / "results" / "bench_pool.json"


def simulate(n_ma: int, k: int, seed: int):
    rng = np.random.default_rng(seed)
    ni = rng.integers(20, 201, size=(n_ma, k))
    vi = 4.0 / ni
    tau2 = np.array([0.0, 0.02, 0.05, 0.1])[np.arange(n_ma) % 4]
    yi = rng.normal(0.1, np.sqrt(tau2[:, None] + vi))
    return yi, vi


def write_csv(path: Path, yi, vi):
    n_ma, k = yi.shape
    ma = np.repeat(np.arange(1, n_ma + 1), k)
    rows = np.column_stack([ma, yi.ravel(), vi.ravel()])
    with path.open("w") as fh:
        fh.write("ma,yi,vi\n")
        for m, y, v in rows:
            fh.write(f"{int(m)},{y:.17g},{v:.17g}\n")


def read_csv(path: Path, k: int):
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    return data[:, 1].reshape(-1, k), data[:, 2].reshape(-1, k)


def best_time(fn, repeats: int = 5):
    times = []
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="number of meta-analyses")
    ap.add_argument("--k", type=int, default=10, help="studies per meta-analysis")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--no-r", action="store_true", help="skip R even if Rscript is installed")
    ap.add_argument("--out", type=Path, default=RESULT)
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="plateau-bench-"))
    csv = work / "sim.csv"
    yi, vi = simulate(args.n, args.k, args.seed)
    write_csv(csv, yi, vi)
    yi, vi = read_csv(csv, args.k)  # both sides read exactly the same numbers

    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a non-converged fit would stop the run
        t_reml, reml = best_time(lambda: pool(yi, vi, method="REML"))
        t_dl, dl = best_time(lambda: pool(yi, vi, method="DL"))
    result = {
        "command": f"python benchmarks/bench_pool.py --n {args.n} --k {args.k} --seed {args.seed}",
        "n_meta_analyses": args.n,
        "k": args.k,
        "seed": args.seed,
        "machine": f"{platform.machine()} / {platform.python_version()} / numpy {np.__version__}",
        "plateau": {
            "reml_seconds": t_reml,
            "dl_seconds": t_dl,
            "reml_per_second": args.n / t_reml,
            "dl_per_second": args.n / t_dl,
            "reml_not_converged": int(np.sum(~reml.converged)),
            "reml_max_iterations": int(np.max(reml.iterations)),
            "reml_mean_iterations": float(np.mean(reml.iterations)),
        },
    }
    rscript = shutil.which("Rscript")
    if rscript and not args.no_r:
        prefix = work / "metafor"
        subprocess.run(
            [rscript, str(ROOT / "benchmarks" / "bench_pool.R"), str(csv), str(prefix)], check=True
        )
        timing = json.loads(Path(f"{prefix}_timing.json").read_text())
        est = np.genfromtxt(f"{prefix}_estimates.csv", delimiter=",", names=True)
        ok = np.isfinite(est["tight_est"])
        result["metafor"] = dict(
            timing,
            source="measured in this run (same CSV, same machine)",
            reml_per_second=args.n / timing["reml_seconds"],
            dl_per_second=args.n / timing["dl_seconds"],
        )
        result["agreement"] = {
            "reference": "metafor REML, control = list(threshold = 1e-12, maxiter = 10000)",
            "compared": int(ok.sum()),
            "max_abs_diff_reml_estimate": float(
                np.max(np.abs(reml.estimate[ok] - est["tight_est"][ok]))
            ),
            "max_abs_diff_reml_tau2": float(np.max(np.abs(reml.tau2[ok] - est["tight_tau2"][ok]))),
            "max_abs_diff_dl_estimate_vs_metafor_default": float(
                np.nanmax(np.abs(dl.estimate - est["dl_est"]))
            ),
            "max_abs_diff_dl_tau2_vs_metafor_default": float(
                np.nanmax(np.abs(dl.tau2 - est["dl_tau2"]))
            ),
            "max_abs_diff_metafor_default_vs_tight_reml_tau2": float(
                np.nanmax(np.abs(est["reml_tau2"] - est["tight_tau2"]))
            ),
        }
    else:
        saved = json.loads(args.out.read_text()).get("metafor") if args.out.exists() else None
        if saved is None:
            print("Rscript not found and no saved metafor timing: reporting plateau's numbers only")
        else:
            saved = dict(
                saved,
                source=f"SAVED timing from an earlier run ({saved.get('source', '')}); R not run "
                "now",
            )
            result["metafor"] = saved
    if "metafor" in result:
        mf = result["metafor"]
        result["ratio"] = {
            "reml_throughput_ratio": (args.n / t_reml) / mf["reml_per_second"],
            "dl_throughput_ratio": (args.n / t_dl) / mf["dl_per_second"],
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
