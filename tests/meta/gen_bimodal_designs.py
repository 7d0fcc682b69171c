"""Regenerate ``bimodal_designs.json``: adversarial designs whose ML / REML profile likelihood
has two local maxima of (nearly) equal height (review of the tau^2 optimiser).

    .venv/bin/python tests/meta/gen_bimodal_designs.py

Three families, all from fixed seeds:

* ``far``: symmetric two-group designs (residuals +-a with variance v_a, +-b with v_b, so the
  weighted mean is 0 for every tau^2); peak ratio >= 3.
* ``cluster``: a cluster of precise studies that agree and a few imprecise studies that
  disagree (no symmetry); the disagreeing effects are scaled by a root search.
* ``close``: two groups (16 + 32 or 32 + 16 studies) around the points found by differential
  evolution to minimise the ratio of the two peak locations; peak ratio 1.2-3.

For each base design the free effect (b, or the scale c) is solved with Brent's method so that
(height of the right peak) - (height of the left peak) equals a margin in
{0, +-1e-7, +-1e-5, +-1e-3}: the global maximum is then a known one of the two peaks.
Only designs that the full 20,000-point oracle confirms as bimodal are kept.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import brentq, minimize_scalar

sys.path.insert(0, str(Path(__file__).parent))
import tau2_oracle as O  # noqa: E402

MARGINS = [0.0, 1e-7, -1e-7, 1e-5, -1e-5, 1e-3, -1e-3]
CLOSE = {
    "ML": [(16, 32, -1.2622, 0.5655, -0.6245, 0.929), (32, 16, -1.3328, -3.0265, -0.9639, -2.5911)],
    "REML": [
        (16, 32, -2.2137, -0.8875, -2.5435, -0.5546),
        (32, 16, 0.1034, -2.4013, 0.4642, -1.0683),
    ],
}
OUT = Path(__file__).with_name("bimodal_designs.json")


def two_group(n_a, n_b, v_a, v_b, a, b):
    y = np.r_[np.tile([a, -a], n_a // 2), np.tile([b, -b], n_b // 2)]
    v = np.r_[np.full(n_a // 2 * 2, v_a), np.full(n_b // 2 * 2, v_b)]
    return y, v


def polished_modes(y, v, method, n_grid=4000):
    """(tau2, ll) of each prominent local maximum, polished by Brent on its two cells."""
    g = O.grid(y, n_grid)
    ll = O.profile_ll(y, v, None, g, method, exact=False)
    out = []
    for i in O.modes(ll, 1e-8):
        lo, hi = g[max(i - 1, 0)], g[min(i + 1, len(g) - 1)]
        res = minimize_scalar(
            lambda t: -O.ll_at(y, v, None, t, method),
            bounds=(lo, hi),
            method="bounded",
            options={"xatol": max(1e-300, 1e-13 * hi)},
        )
        cand = [(float(res.x), float(-res.fun)), (g[i], O.ll_at(y, v, None, g[i], method))]
        out.append(max(cand, key=lambda p: p[1]))
    return out


def peak_gap(y, v, method, n_grid=2500):
    pk = polished_modes(y, v, method, n_grid)
    if len(pk) != 2:
        return np.nan
    return pk[1][1] - pk[0][1]


def solve(make, method, margin, grid_pts):
    vals = np.array([peak_gap(*make(x), method) - margin for x in grid_pts])
    for i in range(len(grid_pts) - 1):
        if np.isfinite(vals[i]) and np.isfinite(vals[i + 1]) and vals[i] * vals[i + 1] < 0:
            try:
                x = brentq(
                    lambda x: peak_gap(*make(x), method) - margin,
                    grid_pts[i],
                    grid_pts[i + 1],
                    xtol=1e-15,
                    rtol=1e-15,
                )
            except ValueError:
                return None
            return make(x)
    return None


def confirmed(y, v, method):
    """Peak ratio when the full 20,000-point grid shows two prominent modes, else None."""
    if O.global_max(y, v, None, method).n_local_max < 2:
        return None
    pk = polished_modes(y, v, method, O.N_GRID)
    if len(pk) < 2:
        return None
    return pk[-1][0] / max(pk[0][0], 1e-300)


def main():
    rng = np.random.default_rng(20261206)
    out = []
    for method in ("ML", "REML"):
        for family, n_base in (("far", 4), ("cluster", 4), ("close", 4)):
            got = 0
            tries = 0
            while got < n_base and tries < (25 if family == "far" else 40):
                tries += 1
                if family == "far":
                    n_a = int(rng.integers(1, 13)) * 2
                    n_b = int(rng.integers(1, 13)) * 2
                    lva = rng.uniform(-3, 0)
                    lvb = lva + rng.uniform(0.3, 4)
                    lta = rng.uniform(-3, 1)
                    v_a, v_b, a = 10**lva, 10**lvb, np.sqrt(10**lta + 10**lva)
                    pts = np.sqrt(v_b + 10**lta * np.geomspace(1.05, 100, 150))

                    def make(b, n_a=n_a, n_b=n_b, v_a=v_a, v_b=v_b, a=a):
                        return two_group(n_a, n_b, v_a, v_b, a, b)

                elif family == "close":
                    # differential evolution (prominence > 1e-8 on a 3,000-point grid) found
                    # these group sizes / log10 (v_a, v_b, tau2_a, tau2_b) with peak ratio < 3
                    n_a, n_b, *c = CLOSE[method][tries % 2]
                    lva, lvb, lta, ltb = np.array(c) + (
                        rng.normal(0, 0.002, 4) if got >= 2 else 0.0
                    )
                    v_a, v_b, a = 10**lva, 10**lvb, np.sqrt(10**lta + 10**lva)
                    pts = np.sqrt(v_b + 10**ltb * np.geomspace(0.95, 1.05, 81))

                    def make(b, n_a=n_a, n_b=n_b, v_a=v_a, v_b=v_b, a=a):
                        return two_group(n_a, n_b, v_a, v_b, a, b)

                else:
                    n1 = int(rng.integers(2, 15))
                    n2 = int(rng.integers(1, 6))
                    v1 = 10 ** rng.uniform(-3, -1)
                    v2 = 10 ** rng.uniform(-1, 1.5)
                    y1 = rng.normal(
                        0, np.sqrt(v1 * rng.uniform(0.5, 3) + 10 ** rng.uniform(-3, -1)), n1
                    )
                    base2 = rng.choice([-1, 1], n2) * rng.uniform(0.5, 1.5, n2)
                    v = np.r_[
                        np.full(n1, v1) * rng.uniform(0.8, 1.25, n1),
                        np.full(n2, v2) * rng.uniform(0.8, 1.25, n2),
                    ]
                    pts = np.geomspace(0.05, 100, 40)

                    def make(c, y1=y1, base2=base2, v=v):
                        return np.r_[y1, c * base2], v

                base = solve(make, method, 0.0, pts)
                if base is None:
                    continue
                ratio = confirmed(*base, method)
                if ratio is None:
                    continue
                if family == "close" and not (1.2 <= ratio <= 3.0):
                    continue
                if family != "close" and ratio < 3.0:
                    continue
                got += 1
                for m in MARGINS:
                    d = base if m == 0.0 else solve(make, method, m, pts)
                    if d is None or confirmed(*d, method) is None:
                        continue
                    out.append(
                        {
                            "method": method,
                            "family": family,
                            "margin": m,
                            "peak_ratio": float(ratio),
                            "yi": [float(x) for x in d[0]],
                            "vi": [float(x) for x in d[1]],
                        }
                    )
            print(method, family, got, "bases", len(out), "designs so far", flush=True)
    OUT.write_text(json.dumps(out, indent=None) + "\n")
    print("wrote", OUT, len(out))


if __name__ == "__main__":
    main()
