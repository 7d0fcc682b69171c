"""Quality-adjusted time (Q-TWiST) and harms projected to a horizon (NumPy, vectorised).

Q-TWiST (Gelber & Goldhirsch, J Clin Oncol 1986;4:1772; Glasziou, Simes & Gelber, Stat Med
1990;9:1259).  Over a horizon ``tau`` the restricted mean overall survival is partitioned::

    OS(tau)    = int_0^tau S_OS
    PF(tau)    = int_0^tau min(S_PFS, S_OS)     (progression-free time; a PFS event includes death)
    REL        = OS - PF                        (time after progression)
    TOX        = min(PF, P_tox(tau) * D)        (time with a grade >= 3 toxicity)
    TWiST      = PF - TOX
    Q-TWiST    = u_TOX TOX + TWiST + u_REL REL  (u_TWiST = 1)

so ``TOX + TWiST + REL = OS(tau)`` exactly.  ``P_tox(tau) = 1 - exp(-lambda PF(tau))`` is the
chance of at least one grade >= 3 adverse event during progression-free time, with
``lambda`` the trials' incidence per progression-free patient-month (below); ``D`` is the mean
number of months a patient who has such an event spends with it (a stated, user-settable
assumption: the trials do not report durations).  The gain of an option is its Q-TWiST minus
observation's, which is linear in the utilities, so the threshold analysis is exact::

    dQ(u_TOX, u_REL) = dTWiST + u_TOX dTOX + u_REL dREL.

Harms on the benefits' scale.  A trial reports ``p`` = the proportion of an arm with the event
over its median follow-up ``F``.  Assuming a constant incidence ``lambda`` per patient-month of
exposure, ``p = 1 - exp(-lambda E(F))`` with ``E(F)`` the arm's restricted mean exposure to ``F``
(progression-free time for treatment toxicity, overall survival time for second primary
malignancies), so ``lambda = -ln(1 - p) / E(F)`` and the projection to a patient's horizon is
``P(tau) = 1 - exp(-lambda E_patient(tau))``.  Uncertainty of ``p``: Jeffreys
``Beta(x + 1/2, n - x + 1/2)`` draws (Brown, Cai & DasGupta, Stat Sci 2001;16:101).
"""

from __future__ import annotations

import math

import numpy as np


def qtwist_partition(pf, os_, p_tox, tox_months: float):
    """``(TOX, TWiST, REL)`` from restricted means ``pf <= os_`` (months) and ``P_tox``."""
    pf, os_, p_tox = (np.asarray(a, dtype=float) for a in (pf, os_, p_tox))
    tox = np.minimum(pf, p_tox * float(tox_months))
    return tox, pf - tox, os_ - pf


def qtwist(tox, twist, rel, u_tox: float, u_rel: float):
    """``u_TOX TOX + TWiST + u_REL REL``."""
    return u_tox * np.asarray(tox) + np.asarray(twist) + u_rel * np.asarray(rel)


def incidence_per_month(p, exposure_months):
    """``-ln(1 - p) / E``: constant incidence giving proportion ``p`` over exposure ``E``."""
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0 - 1e-12)
    return -np.log1p(-p) / np.asarray(exposure_months, dtype=float)


def project(incidence, exposure_months):
    """``1 - exp(-lambda E)``: proportion with the event after exposure ``E``."""
    return -np.expm1(-np.asarray(incidence) * np.asarray(exposure_months))


def jeffreys_draws(rng: np.random.Generator, p: float, n: float, size: int) -> np.ndarray:
    """Draws of a proportion ``p`` observed in ``n`` (Jeffreys Beta(x+1/2, n-x+1/2))."""
    x = p * n
    return rng.beta(x + 0.5, n - x + 0.5, size=size)


def threshold_table(d_twist: float, d_tox: float, d_rel: float, step: float = 0.1):
    """Q-TWiST gain on a grid of ``u_TOX`` x ``u_REL`` in [0, 1] and the break-even line.

    Returns ``{"u": grid, "gain": rows (u_TOX) x cols (u_REL), "u_rel_break_even": for each
    u_TOX the u_REL where the gain is 0 (None if it does not cross 0 in [0, 1])}``.
    """
    u = np.round(np.arange(0.0, 1.0 + 1e-9, step), 10)
    gain = d_twist + np.outer(u, np.ones_like(u)) * d_tox + np.outer(np.ones_like(u), u) * d_rel
    breaks: list[float | None] = []
    for ut in u:
        if abs(d_rel) < 1e-12:
            breaks.append(None)
            continue
        ur = -(d_twist + ut * d_tox) / d_rel
        breaks.append(float(ur) if 0.0 <= ur <= 1.0 else None)
    positive = float(np.mean(gain > 0))
    return {
        "u": u.tolist(),
        "gain_months": gain.tolist(),
        "u_rel_break_even": breaks,
        "share_of_grid_with_gain": positive,
        "min_gain_months": float(gain.min()),
        "max_gain_months": float(gain.max()),
    }


def finite(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None
