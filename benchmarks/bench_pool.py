"""Benchmark: plateau's batch pool() against PyMARE and metafor on the same (hard) data.

    .venv/bin/python benchmarks/bench_pool.py               # 5,000 + 1,500 hard meta-analyses
    .venv/bin/python benchmarks/bench_pool.py --n 1000      # quicker
    .venv/bin/python benchmarks/bench_pool.py --no-r        # without metafor (R)

Data (seeded, every analysis has k = 10 studies so PyMARE takes the same arrays):

* ``standard``: n_i ~ U{20..200}, v_i = 4/n_i, tau^2 cycling through 0, 0.02, 0.05, 0.1,
  y_i ~ N(0.1, tau^2 + v_i) (tau^2 = 0 puts a quarter of them at or near the boundary);
* ``dominant``: as standard, one study's variance times 1e-6 (one study dominates);
* ``mixed``: variances 10^U(-4, 0), tau^2 in {0, 0.01, 0.1};
* ``bimodal``: 30% precise (v in 0.005..0.05) and 70% imprecise (0.1..0.45) studies, tau^2 = 0.1,
  kept only when the ML or REML likelihood in tau^2 has two local maxima (checked on a grid).

Timing (median of 7 runs, each side in the same process, interleaved; CPU time of the process,
the headline on a shared machine where wall time mostly measures the other jobs, and wall
time): plateau computes its full result (estimate, se, z, p, CI, tau^2, se(tau^2), Q, p(Q),
I^2, H^2, prediction interval, weights); PyMARE (``DerSimonianLaird``, ``Hedges``,
``VarianceBasedLikelihoodEstimator``) its fit plus ``summary().get_fe_stats()`` (estimate,
se, z, p, CI; PyMARE has no batch Q/I^2/PI).
metafor: ``benchmarks/bench_pool.R`` on the same CSV times one ``rma()`` per analysis with
default control (REML and DL) and re-fits every estimator with tight control (the reference).

Agreement: for every estimator, the largest |difference| from tight metafor in the estimate and
tau^2 over all analyses; for ML and REML also the (restricted) log-likelihood of both fits,
evaluated by one formula here, and the number of plateau fits whose log-likelihood is below
metafor's (the acceptance criterion: 0), and the number where metafor's is below plateau's
(metafor stopped at a lower local maximum).  Writes ``benchmarks/results/bench_pool.json``.
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
K = 10
PLATEAU_METHODS = ("DL", "HE", "REML", "ML", "PM", "EB", "SJ", "EE")
PYMARE = {"DL": "DerSimonianLaird", "HE": "Hedges", "REML": "REML", "ML": "ML"}
METAFOR_METHODS = ("DL", "HE", "REML", "ML", "PM", "EB", "SJ", "EE")


# ----------------------------------------------------------------------------- data
def loglik(y, v, tau2, reml):
    """(Restricted) log-likelihood of the intercept-only model per row (constants dropped)."""
    w = 1.0 / (v + tau2[:, None])
    sw = w.sum(1)
    mu = (w * y).sum(1) / sw
    ll = -0.5 * np.log(v + tau2[:, None]).sum(1) - 0.5 * (w * (y - mu[:, None]) ** 2).sum(1)
    return ll - 0.5 * np.log(sw) if reml else ll


def n_local_maxima(y, v, reml):
    s = np.maximum(y.var(1, ddof=1), v.min(1))
    grid = np.concatenate([np.zeros((len(y), 1)), s[:, None] * np.logspace(-6, 2, 300)], 1)
    ll = np.stack([loglik(y, v, grid[:, j], reml) for j in range(grid.shape[1])], 1)
    d = np.diff(ll, axis=1)
    return ((d[:, 1:] < 0) & (d[:, :-1] > 0)).sum(1) + (d[:, 0] < 0)


def simulate(n_std: int, n_hard: int, seed: int):
    rng = np.random.default_rng(seed)
    tau2 = np.array([0.0, 0.02, 0.05, 0.1])[np.arange(n_std) % 4]
    v = 4.0 / rng.integers(20, 201, size=(n_std, K))
    y = rng.normal(0.1, np.sqrt(tau2[:, None] + v))
    parts = [(y, v, np.full(n_std, "standard"))]
    nd = n_hard // 3
    v = 4.0 / rng.integers(20, 201, size=(nd, K))
    v[np.arange(nd), rng.integers(0, K, nd)] *= 1e-6
    t = np.array([0.0, 0.05, 0.3])[np.arange(nd) % 3]
    parts.append((rng.normal(0.0, np.sqrt(t[:, None] + v)), v, np.full(nd, "dominant")))
    v = 10.0 ** rng.uniform(-4, 0, size=(nd, K))
    t = np.array([0.0, 0.01, 0.1])[np.arange(nd) % 3]
    parts.append((rng.normal(0.0, np.sqrt(t[:, None] + v)), v, np.full(nd, "mixed")))
    nb = n_hard - 2 * nd
    ys, vs = [], []
    while sum(len(a) for a in ys) < nb:
        v = np.where(
            rng.random((4000, K)) < 0.3,
            rng.uniform(0.005, 0.05, (4000, K)),
            rng.uniform(0.1, 0.45, (4000, K)),
        )
        y = rng.normal(0.0, np.sqrt(v + 0.1))
        keep = (n_local_maxima(y, v, True) >= 2) | (n_local_maxima(y, v, False) >= 2)
        ys.append(y[keep])
        vs.append(v[keep])
    parts.append((np.vstack(ys)[:nb], np.vstack(vs)[:nb], np.full(nb, "bimodal")))
    y = np.vstack([p[0] for p in parts])
    v = np.vstack([p[1] for p in parts])
    kind = np.concatenate([p[2] for p in parts])
    return y, v, kind


def write_csv(path: Path, yi, vi):
    n_ma, k = yi.shape
    ma = np.repeat(np.arange(1, n_ma + 1), k)
    with path.open("w") as fh:
        fh.write("ma,yi,vi\n")
        for m, y, v in zip(ma, yi.ravel(), vi.ravel(), strict=True):
            fh.write(f"{int(m)},{y:.17g},{v:.17g}\n")


def read_csv(path: Path, k: int):
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    return data[:, 1].reshape(-1, k), data[:, 2].reshape(-1, k)


# ----------------------------------------------------------------------------- timing
def median_times(fns: dict, repeats: int):
    """Interleaved runs (A B C, A B C, ...) so that load changes hit every contender alike.

    Returns the median CPU time of this process (``time.process_time``; on a shared machine
    wall time mostly measures the other jobs), the median wall time, and the last outputs.
    """
    cpu = {name: [] for name in fns}
    wall = {name: [] for name in fns}
    out = {}
    for _ in range(repeats):
        for name, fn in fns.items():
            w0, c0 = time.perf_counter(), time.process_time()
            out[name] = fn()
            cpu[name].append(time.process_time() - c0)
            wall[name].append(time.perf_counter() - w0)
    med = {name: float(np.median(t)) for name, t in cpu.items()}
    med_wall = {name: float(np.median(t)) for name, t in wall.items()}
    return med, med_wall, out


def pymare_fn(method, y, v):
    from pymare import estimators as E

    X = np.ones((y.shape[1], 1))
    if method == "DerSimonianLaird":
        est = E.DerSimonianLaird()
    elif method == "Hedges":
        est = E.Hedges()
    else:
        est = E.VarianceBasedLikelihoodEstimator(method=method)
    yt, vt = np.ascontiguousarray(y.T), np.ascontiguousarray(v.T)

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(y=yt, v=vt, X=X)
            fe = est.summary().get_fe_stats()
        return np.ravel(fe["est"]), np.ravel(est.params_["tau2"])

    return run


# ----------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5_000, help="standard meta-analyses")
    ap.add_argument("--hard", type=int, default=1_500, help="hard meta-analyses")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--no-r", action="store_true", help="skip R even if Rscript is installed")
    ap.add_argument("--no-pymare", action="store_true")
    ap.add_argument("--out", type=Path, default=RESULT)
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="plateau-bench-"))
    csv = work / "sim.csv"
    yi, vi, kind = simulate(args.n, args.hard, args.seed)
    write_csv(csv, yi, vi)
    yi, vi = read_csv(csv, K)  # every side reads exactly the same numbers
    n = len(yi)
    kinds = {str(k): int(np.sum(kind == k)) for k in np.unique(kind)}

    fits = {}
    timing = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a non-converged fit stops the run
        for method in PLATEAU_METHODS:
            fns = {"plateau": lambda m=method: pool(yi, vi, method=m)}
            if method in PYMARE and not args.no_pymare:
                fns["pymare"] = pymare_fn(PYMARE[method], yi, vi)
            med, med_wall, out = median_times(fns, args.repeats)
            fits[method] = out
            timing[method] = (
                {f"{name}_per_cpu_second": n / sec for name, sec in med.items()}
                | {f"{name}_cpu_seconds": sec for name, sec in med.items()}
                | {f"{name}_wall_seconds": sec for name, sec in med_wall.items()}
            )
            if "pymare" in med:
                timing[method]["plateau_over_pymare_cpu"] = med["pymare"] / med["plateau"]
                timing[method]["plateau_over_pymare_wall"] = (
                    med_wall["pymare"] / med_wall["plateau"]
                )
            print(method, json.dumps(timing[method]), flush=True)

    result = {
        "command": (
            f"python benchmarks/bench_pool.py --n {args.n} --hard {args.hard} --seed {args.seed}"
        ),
        "n_meta_analyses": n,
        "k": K,
        "designs": kinds,
        "seed": args.seed,
        "machine": f"{platform.machine()} / {platform.python_version()} / numpy {np.__version__}",
        "note": "2 shared cores: medians of interleaved runs; compare ratios, not absolute rates",
        "timing": timing,
        "plateau_not_converged": {m: int(np.sum(~fits[m]["plateau"].converged)) for m in fits},
    }
    if not args.no_pymare:
        agree = {}
        for method in PYMARE:
            est, tau2 = fits[method]["pymare"]
            pl = fits[method]["plateau"]
            entry = {
                "max_abs_diff_estimate": float(np.max(np.abs(pl.estimate - est))),
                "max_abs_diff_tau2": float(np.max(np.abs(pl.tau2 - tau2))),
            }
            if method in ("ML", "REML"):
                reml = method == "REML"
                ll_p = loglik(yi, vi, np.asarray(pl.tau2), reml)
                ll_y = loglik(yi, vi, np.maximum(tau2, 0.0), reml)
                tol = 1e-9 * (1 + np.abs(ll_p))
                entry["pymare_loglik_below_plateau"] = int(np.sum(ll_y < ll_p - tol))
                entry["plateau_loglik_below_pymare"] = int(np.sum(ll_p < ll_y - tol))
            agree[method] = entry
        result["agreement_pymare"] = agree

    rscript = shutil.which("Rscript")
    if rscript and not args.no_r:
        prefix = work / "metafor"
        subprocess.run(
            [rscript, str(ROOT / "benchmarks" / "bench_pool.R"), str(csv), str(prefix)],
            check=True,
        )
        rt = json.loads(Path(f"{prefix}_timing.json").read_text())
        est = np.genfromtxt(f"{prefix}_estimates.csv", delimiter=",", names=True)
        result["metafor"] = dict(
            rt,
            source="measured in this run (same CSV, same machine)",
            reml_per_cpu_second=n / rt["reml_cpu_seconds"],
            dl_per_cpu_second=n / rt["dl_cpu_seconds"],
            reml_per_wall_second=n / rt["reml_seconds"],
            dl_per_wall_second=n / rt["dl_seconds"],
        )
        agree = {}
        worst = {"estimate": 0.0, "tau2": 0.0}
        below_total = 0
        for method in METAFOR_METHODS:
            pl = fits[method]["plateau"]
            m_est, m_tau2 = est[f"{method}_est"], est[f"{method}_tau2"]
            ok = np.isfinite(m_est)
            d_est = np.abs(pl.estimate - m_est)[ok]
            d_tau2 = np.abs(pl.tau2 - m_tau2)[ok]
            entry = {"compared": int(ok.sum()), "metafor_failed": int((~ok).sum())}
            if method in ("ML", "REML"):
                reml = method == "REML"
                ll_p = loglik(yi, vi, np.asarray(pl.tau2), reml)
                ll_m = loglik(yi, vi, np.where(ok, m_tau2, 0.0), reml)
                tol = 1e-10 * (1 + np.abs(ll_p))
                below = ok & (ll_p < ll_m - tol)
                higher = ok & (ll_p > ll_m + tol)
                entry["plateau_loglik_below_metafor"] = int(below.sum())
                entry["metafor_loglik_below_plateau"] = int(higher.sum())
                entry["metafor_below_by_design"] = {
                    str(k): int(np.sum(higher & (kind == k))) for k in np.unique(kind)
                }
                below_total += int(below.sum())
                same = (ok & ~higher)[ok]  # where both reach the same maximum
                entry["max_abs_diff_estimate_same_maximum"] = float(np.max(d_est[same]))
                entry["max_abs_diff_tau2_same_maximum"] = float(np.max(d_tau2[same]))
                worst["estimate"] = max(worst["estimate"], float(np.max(d_est[same])))
                worst["tau2"] = max(worst["tau2"], float(np.max(d_tau2[same])))
            else:
                entry["max_abs_diff_estimate"] = float(np.max(d_est))
                entry["max_abs_diff_tau2"] = float(np.max(d_tau2))
                worst["estimate"] = max(worst["estimate"], float(np.max(d_est)))
                worst["tau2"] = max(worst["tau2"], float(np.max(d_tau2)))
            agree[method] = entry
        result["agreement_metafor"] = {
            "reference": "metafor rma() per analysis, control = list(threshold = 1e-12, "
            "tol = 1e-12, maxiter = 10000) (relaxed only where needed)",
            "largest_abs_diff_over_all_fits": worst,
            "plateau_fits_with_loglik_below_metafor": below_total,
            "per_method": agree,
        }
        result["ratio_vs_metafor"] = {
            "cpu_reml": rt["reml_cpu_seconds"] / timing["REML"]["plateau_cpu_seconds"],
            "cpu_dl": rt["dl_cpu_seconds"] / timing["DL"]["plateau_cpu_seconds"],
            "wall_reml": rt["reml_seconds"] / timing["REML"]["plateau_wall_seconds"],
            "wall_dl": rt["dl_seconds"] / timing["DL"]["plateau_wall_seconds"],
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
