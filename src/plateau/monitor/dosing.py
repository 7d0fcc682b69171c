"""Dose rules for maintenance agents as cited tables, evaluated on whole tables at once.

Lenalidomide (maintenance after auto-HSCT, US label): start 10 mg daily days 1-28 after
haematologic recovery (ANC >= 1.0 and/or platelets >= 75 x10^9/L); after 3 cycles the dose may
rise to 15 mg if tolerated; ANC < 0.5 x10^9/L: interrupt, resume at the next lower dose when
ANC >= 0.5; floor 5 mg days 1-21; other grade 3/4 toxicity: hold, restart one level lower when
<= grade 2; CLcr < 60 mL/min: starting-dose adjustment recommended (maintenance doses by CLcr
were not readable: UNCONFIRMED, no dose is suggested).  Platelets < 30 x10^9/L: interrupt and
resume one level lower at >= 30 — read only in the combination-therapy table, so UNCONFIRMED
for maintenance (configurable, on by default and reported).

Bortezomib: neuropathy table (grade 1 with pain or grade 2: 1.0 mg/m2; grade 2 with pain or
grade 3: withhold, restart 0.7 mg/m2; grade 4: discontinue); grade >= 3 non-haematologic or
grade 4 haematologic toxicity: withhold, restart 25% lower (1.3 -> 1.0 -> 0.7 mg/m2).

Thalidomide: stop if symptoms of peripheral neuropathy occur (CTCAE grade >= 2; UKMF, C2);
per-grade dose steps UNCONFIRMED; treatment beyond 18 months flagged (ASH Education 2010, C1).

Ixazomib: TOURMALINE-MM3 maintenance 3 mg days 1, 8, 15, rising to 4 mg from cycle 5 if
tolerated (C1); platelets < 30 or ANC < 0.5 x10^9/L: withhold until recovery (label, C2);
start at 3 mg if CLcr < 30 mL/min (C2); dose steps 4 -> 3 -> 2.3 mg UNCONFIRMED.

Creatinine clearance: Cockcroft-Gault, ``CLcr = (140 - age) * weight / (72 * SCr)`` (x 0.85
for women), SCr in mg/dL, actual body weight (C2).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from plateau.rules.dosing import LADDERS, RULES, DosingConfig, cockcroft_gault

__all__ = [  # re-exported table names used by the evaluation code
    "DosingConfig",
    "LADDERS",
    "RULES",
    "cockcroft_gault",
]


def _below(value, threshold):
    """``value < threshold`` with the CTCAE boundary tolerance (a count equal to the threshold,
    e.g. 500/uL converted to 0.5 x10^9/L, is not below it)."""
    from plateau.monitor.ctcae import lt

    with np.errstate(invalid="ignore"):
        return lt(value, threshold)


def start_level(agent: np.ndarray, dose: np.ndarray) -> np.ndarray:
    """Index of the ladder step at or below the prescribed dose (0 if the dose is above the top)."""
    level = np.zeros(len(agent), dtype=np.int64)
    for name, ladder in LADDERS.items():
        steps = np.array([d for d, _ in ladder])
        m = agent == name
        if m.any():
            # number of ladder steps strictly above the dose (first step <= dose)
            level[m] = np.minimum(
                (steps[None, :] > dose[m, None] + 1e-9).sum(axis=1), len(steps) - 1
            )
    return level


def ladder_step(agent: np.ndarray, level: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dose and schedule at ``level`` (capped at the floor) for each agent."""
    dose = np.full(len(agent), np.nan)
    sched = np.full(len(agent), "", dtype=object)
    for name, ladder in LADDERS.items():
        m = agent == name
        if m.any():
            idx = np.minimum(level[m], len(ladder) - 1)
            dose[m] = np.array([d for d, _ in ladder])[idx]
            sched[m] = np.array([s for _, s in ladder], dtype=object)[idx]
    return dose, sched


def hematologic_episodes(
    cbc: pd.DataFrame, agent_of_patient: np.ndarray, cfg: DosingConfig, method: str = "auto"
) -> pd.DataFrame:
    """Hold/resume episodes from ANC and platelet counts (set-based).

    ``cbc`` has columns ``pcode, day, analyte ('anc'|'platelets'), value`` sorted by pcode, day.
    A count below its agent's threshold starts a hold (the state of each count persists until it
    is measured again); the first date on which both counts are at or above threshold ends it.
    Returns rows ``pcode, day, event ('hold'|'resume'), cause, value, episode`` (episode = 1, 2,
    ...).

    ``method``: ``"auto"`` uses array operations when the rows are sorted by (pcode, day) and
    grouped pandas operations otherwise; ``"pandas"`` forces the latter (both give the same rows).
    """
    agent = agent_of_patient[cbc["pcode"].to_numpy()]
    anc_thr = np.select(
        [agent == "lenalidomide", agent == "ixazomib", agent == "bortezomib"],
        [cfg.len_anc_hold, cfg.ixa_anc_hold, cfg.btz_heme_anc],
        np.nan,
    )
    plt_thr = np.select(
        [agent == "lenalidomide", agent == "ixazomib", agent == "bortezomib"],
        [
            cfg.len_platelet_hold if cfg.len_platelet_rule else np.nan,
            cfg.ixa_platelet_hold,
            cfg.btz_heme_platelets,
        ],
        np.nan,
    )
    is_anc = (cbc["analyte"] == "anc").to_numpy()
    value = cbc["value"].to_numpy()
    thr = np.where(is_anc, anc_thr, plt_thr)
    keep = ~np.isnan(thr)
    if not keep.any():
        return pd.DataFrame(columns=["pcode", "day", "event", "cause", "value", "episode"])
    pc_k, day_k = cbc["pcode"].to_numpy()[keep], cbc["day"].to_numpy()[keep]
    if method == "auto" and (
        len(pc_k) < 2
        or bool(
            np.all((pc_k[1:] > pc_k[:-1]) | ((pc_k[1:] == pc_k[:-1]) & (day_k[1:] >= day_k[:-1])))
        )
    ):
        return _episodes_sorted(pc_k, day_k, is_anc[keep], value[keep], thr[keep])
    df = pd.DataFrame(
        {
            "pcode": cbc["pcode"].to_numpy()[keep],
            "day": cbc["day"].to_numpy()[keep],
            "anc_low": np.where(is_anc, _below(value, thr), np.nan)[keep],
            "plt_low": np.where(~is_anc, _below(value, thr), np.nan)[keep],
            "anc": np.where(is_anc, value, np.nan)[keep],
            "plt": np.where(~is_anc, value, np.nan)[keep],
        }
    )
    g = df.groupby("pcode", sort=False)
    df[["anc_low", "plt_low"]] = g[["anc_low", "plt_low"]].ffill()
    # one state per patient-day: the last row of the day holds both carried states
    day_last = ~df.duplicated(["pcode", "day"], keep="last").to_numpy()
    agg = df.groupby(["pcode", "day"], sort=False)[["anc", "plt"]].min()
    d = df.loc[day_last, ["pcode", "day", "anc_low", "plt_low"]].reset_index(drop=True)
    d["anc"] = agg["anc"].to_numpy()
    d["plt"] = agg["plt"].to_numpy()
    low = (d["anc_low"].fillna(0).to_numpy() == 1) | (d["plt_low"].fillna(0).to_numpy() == 1)
    pc = d["pcode"].to_numpy()
    prev_low = np.r_[False, low[:-1]] & np.r_[False, pc[1:] == pc[:-1]]
    start = low & ~prev_low
    end = ~low & prev_low
    episode = pd.Series(start.astype(np.int64)).groupby(pc).cumsum().to_numpy()
    cause = np.where(
        d["anc_low"].fillna(0).to_numpy() == 1,
        np.where(d["plt_low"].fillna(0).to_numpy() == 1, "anc+platelets", "anc"),
        "platelets",
    )
    # a resume inherits the cause of the hold that opened its episode
    cause = (
        pd.Series(np.where(start, cause, np.array(None, dtype=object)))
        .groupby(pc)
        .ffill()
        .to_numpy()
    )
    ev = np.where(start, "hold", np.where(end, "resume", ""))
    sel = start | end
    return pd.DataFrame(
        {
            "pcode": pc[sel],
            "day": d["day"].to_numpy()[sel],
            "event": ev[sel],
            "cause": cause[sel],
            "anc": d["anc"].to_numpy()[sel],
            "platelets": d["plt"].to_numpy()[sel],
            "episode": episode[sel],
        }
    )


def _ffill_index(valid: np.ndarray, group_first: np.ndarray) -> np.ndarray:
    """Per row, index of the last valid row at or before it in its group (rows sorted by group); -1
    if none."""
    idx = np.where(valid, np.arange(len(valid)), -1)
    np.maximum.accumulate(idx, out=idx)
    idx[idx < group_first] = -1
    return idx


def _episodes_sorted(pc, day, is_anc, value, thr) -> pd.DataFrame:
    """:func:`hematologic_episodes` for counts sorted by (pcode, day), with array operations only.

    Same result as the grouped pandas path: each count's low/normal state persists per patient
    until it is measured again (forward fill); a patient-day's state is that after its last row,
    its ANC and platelet values the day's minima.
    """
    n = len(pc)
    ar = np.arange(n)
    new_p = np.r_[True, pc[1:] != pc[:-1]]
    gfirst = np.maximum.accumulate(np.where(new_p, ar, 0))
    low = _below(value, thr)
    ia = _ffill_index(is_anc, gfirst)
    ip = _ffill_index(~is_anc, gfirst)
    anc_low = np.where(ia >= 0, low[np.maximum(ia, 0)], False)
    plt_low = np.where(ip >= 0, low[np.maximum(ip, 0)], False)
    new_day = new_p | np.r_[True, day[1:] != day[:-1]]
    gid = np.cumsum(new_day) - 1
    mins = (
        pd.DataFrame(
            {"anc": np.where(is_anc, value, np.nan), "plt": np.where(~is_anc, value, np.nan)}
        )
        .groupby(gid, sort=False)
        .min()
    )  # pandas' NaN-skipping min, as the grouped path
    last = np.r_[new_day[1:], True]
    d_pc, d_day, a_low, p_low = pc[last], day[last], anc_low[last], plt_low[last]
    d_low = a_low | p_low
    same_prev = np.r_[False, d_pc[1:] == d_pc[:-1]]
    prev_low = np.r_[False, d_low[:-1]] & same_prev
    start = d_low & ~prev_low
    end = ~d_low & prev_low
    m = len(d_pc)
    d_first = np.maximum.accumulate(np.where(~same_prev, np.arange(m), 0))
    cs = np.cumsum(start.astype(np.int64))
    episode = cs - np.where(d_first > 0, cs[np.maximum(d_first - 1, 0)], 0)
    cause = np.where(a_low, np.where(p_low, "anc+platelets", "anc"), "platelets").astype(object)
    # a resume inherits the cause of the hold that opened its episode
    ci = _ffill_index(start, d_first)
    cause = np.where(ci >= 0, cause[np.maximum(ci, 0)], np.array(None, dtype=object))
    ev = np.where(start, "hold", np.where(end, "resume", ""))
    sel = start | end
    return pd.DataFrame(
        {
            "pcode": d_pc[sel],
            "day": d_day[sel],
            "event": ev[sel],
            "cause": cause[sel],
            "anc": mins["anc"].to_numpy()[sel],
            "platelets": mins["plt"].to_numpy()[sel],
            "episode": episode[sel],
        }
    )
