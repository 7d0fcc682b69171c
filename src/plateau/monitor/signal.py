"""Dose actions and benefit-harm alerts, built set-based from the engine's tables.

Alerts say what happened and which rule says so, e.g. ``progression (IMWG) on 2026-03-02``,
``grade 4 neutropenia on 2026-01-12: hold lenalidomide per label``, ``global health status fell
beyond the MID on 2026-04-01 (-16.7 points)``.  The per-patient benefit-harm signal sets
response depth and duration against grade >= 3 toxicity and QoL decline beyond the MID; how
they are weighed is a plateau design rule (``signal-benefit-harm``, DESIGN), not a source rule.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from plateau.monitor import ctcae as C
from plateau.monitor import dosing as D
from plateau.monitor import imwg as I
from plateau.monitor.arrays import date_strings
from plateau.rules import dosing as DR
from plateau.rules import units as U
from plateau.rules.dosing import bortezomib_neuropathy_action
from plateau.rules.registry import ALL_RULES
from plateau.rules.signal import (  # the cited rule table (single home: plateau.rules)
    RULES,
)

__all__ = [  # re-exported table names used by the evaluation code
    "RULES",
]


TERM_LABEL = {
    "neutrophil_count_decreased": "neutropenia",
    "platelet_count_decreased": "thrombocytopenia",
    "white_blood_cell_decreased": "leukopenia",
    "anemia": "anemia",
    "creatinine_increased": "creatinine increased",
    "hypercalcemia": "hypercalcaemia",
}
NA_DAY = np.iinfo(np.int64).min
ACTION_COLUMNS = [
    "pcode",
    "date",
    "agent",
    "action",
    "dose",
    "dose_unit",
    "schedule",
    "reason",
    "rule",
    "tag",
    "citation",
]


def _ds(day) -> np.ndarray:
    return np.datetime_as_string(np.asarray(day, dtype=np.int64).astype("datetime64[D]"))


def time_on_maintenance(start, stop, last_obs):
    end = np.where(stop != NA_DAY, stop, last_obs)
    ok = (start != NA_DAY) & (end != NA_DAY)
    return [int(e - s) if o else None for s, e, o in zip(start, end, ok, strict=False)]


def _frame(pcode, day, agent, action, dose, unit, schedule, reason, rule_ids) -> pd.DataFrame:
    n = len(pcode)
    rule_ids = np.broadcast_to(np.asarray(rule_ids, dtype=object), (n,))
    codes, distinct = pd.factorize(rule_ids)
    rules = [D.RULES[r.split("+")[0]] for r in distinct]
    return pd.DataFrame(
        {
            "pcode": np.asarray(pcode, dtype=np.int64),
            "day": np.asarray(day, dtype=np.int64),
            "agent": np.broadcast_to(np.asarray(agent, dtype=object), (n,)),
            "action": np.broadcast_to(np.asarray(action, dtype=object), (n,)),
            "dose": np.broadcast_to(np.asarray(dose, dtype=float), (n,)),
            "dose_unit": np.broadcast_to(np.asarray(unit, dtype=object), (n,)),
            "schedule": np.broadcast_to(np.asarray(schedule, dtype=object), (n,)),
            "reason": np.broadcast_to(np.asarray(reason, dtype=object), (n,)),
            "rule": rule_ids,
            "tag": np.array([r.tag for r in rules], dtype=object)[codes],
            "citation": np.array([r.citation() for r in rules], dtype=object)[codes],
        }
    )


def _unit(agent):
    return np.where(agent == "bortezomib", "mg/m2", "mg")


def _renal_events(renal, agent, dialysis, start, on, cfg: D.DosingConfig, P) -> pd.DataFrame:
    """Falls into a lower renal band during maintenance, per patient (lenalidomide, ixazomib).

    The band of each creatinine clearance (:func:`plateau.rules.dosing.renal_band_code`; dialysis
    from patients.csv is the worst band from the start) is compared with the worst band so far:
    each new worst band that carries a renal dose for the agent is an event.  Returns rows
    ``pcode, day, band, crcl, dose, schedule, rule, restriction``.
    """
    cols = ["pcode", "day", "band", "crcl", "dose", "schedule", "rule", "restriction"]
    parts = []
    if renal is not None and len(renal):
        parts.append(renal[["pcode", "day", "crcl"]])
    dial = np.flatnonzero(dialysis & on & np.isin(agent, ["lenalidomide", "ixazomib"]))
    if len(dial):
        parts.append(pd.DataFrame({"pcode": dial, "day": start[dial], "crcl": np.nan}))
    if not parts:
        return pd.DataFrame(columns=cols)
    r = pd.concat(parts, ignore_index=True)
    pc = r["pcode"].to_numpy().astype(np.int64)
    r = r.assign(pcode=pc).sort_values(["pcode", "day"], kind="stable").reset_index(drop=True)
    pc = r["pcode"].to_numpy()
    band = DR.renal_band_code(r["crcl"].to_numpy(), dialysis[pc], cfg).astype(np.int64)
    a = agent[pc]
    # ixazomib has no moderate band: only severe/dialysis restrict it
    band = np.where((a == "ixazomib") & (band == 1), 0, band)
    worst_before = pd.Series(band).groupby(pc).cummax().groupby(pc).shift(1).fillna(0).to_numpy()
    new_worst = (band > worst_before) & (band > 0)
    r = r[new_worst].reset_index(drop=True)
    if not len(r):
        return pd.DataFrame(columns=cols)
    b = band[new_worst]
    a = a[new_worst]
    names = np.array(DR.RENAL_BANDS, dtype=object)[b]
    found = [DR.RENAL_DOSES.get((x, n)) for x, n in zip(a, names, strict=True)]
    keep = np.array([h is not None for h in found], dtype=bool)
    r, b, a, names = r[keep].reset_index(drop=True), b[keep], a[keep], names[keep]
    hits: list[tuple[float, str, str]] = [h for h in found if h is not None]
    return pd.DataFrame(
        {
            "pcode": r["pcode"].to_numpy().astype(np.int64),
            "day": r["day"].to_numpy().astype(np.int64),
            "band": names,
            "crcl": r["crcl"].to_numpy(),
            "dose": np.array([h[0] for h in hits], dtype=float),
            "schedule": np.array([h[1] for h in hits], dtype=object),
            "rule": np.array([h[2] for h in hits], dtype=object),
            "restriction": np.where(a == "ixazomib", "ixa-renal", "len-renal"),
        }
    )


def _renal_cap(pcode, day, agent, dose, schedule, renal_ev: pd.DataFrame):
    """Cap ladder doses at the renal dose in force on that day (the worst band so far)."""
    if not len(renal_ev) or not len(pcode):
        return dose, schedule
    ev = renal_ev.sort_values(["pcode", "day"], kind="stable")
    e_pc, e_day = ev["pcode"].to_numpy(), ev["day"].to_numpy()
    span = int(max(e_day.max(), np.max(day))) - int(min(e_day.min(), np.min(day))) + 2
    lo = int(min(e_day.min(), np.min(day)))
    e_key = e_pc * span + (e_day - lo)
    q_key = np.asarray(pcode, dtype=np.int64) * span + (np.asarray(day) - lo)
    i = np.searchsorted(e_key, q_key, "right") - 1
    ok = (i >= 0) & (e_pc[np.maximum(i, 0)] == pcode)
    cap = np.where(ok, ev["dose"].to_numpy()[np.maximum(i, 0)], np.inf)
    cap_sched = ev["schedule"].to_numpy()[np.maximum(i, 0)]
    lower = ok & (cap < dose)
    dose = np.where(lower, cap, dose)
    schedule = np.where(lower, cap_sched, schedule)
    return dose, schedule


def _ixazomib_events(pc, day, agent, term, g, pain, nonheme, neuro, frames, reductions, use, P):
    """Ixazomib neuropathy table and other grade 3/4 non-haematological toxicity (label)."""
    ix = agent == "ixazomib"
    pn = ix & neuro
    if pn.any():
        gp, pp = g[pn], pain[pn]
        disc = gp >= 4
        lower = ~disc & ((gp == 3) | ((gp == 2) & pp))
        same = ~disc & ~lower & ((gp == 2) | ((gp == 1) & pp))
        if disc.any():
            frames.append(
                _frame(
                    pc[pn][disc],
                    day[pn][disc],
                    "ixazomib",
                    "discontinue",
                    np.nan,
                    "mg",
                    "",
                    "grade 4 " + term[pn][disc].astype(str) + ": discontinue ixazomib",
                    "ixa-pn",
                )
            )
        k = lower | same
        if k.any():
            reductions.append(
                pd.DataFrame(
                    {
                        "pcode": pc[pn][k],
                        "day": day[pn][k],
                        "kind": "event",
                        "rule": "ixa-pn",
                        "steps": np.where(lower[k], 1, 0),
                        "reason": "grade "
                        + gp[k].astype(str)
                        + np.where(pp[k], " with pain ", " ")
                        + term[pn][k].astype(str)
                        + np.where(
                            lower[k],
                            ": withhold until <= grade 1, resume at the next lower dose",
                            ": withhold until <= grade 1 without pain, resume at the most recent "
                            "dose",
                        ),
                    }
                )
            )
        use("ixa-pn", np.bincount(pc[pn][disc | k], minlength=P) > 0)
    other = ix & nonheme & ~neuro & (g >= 3)
    if other.any():
        reductions.append(
            pd.DataFrame(
                {
                    "pcode": pc[other],
                    "day": day[other],
                    "kind": "event",
                    "rule": "ixa-nonheme",
                    "steps": 1,
                    "reason": "grade "
                    + g[other].astype(str)
                    + " "
                    + term[other].astype(str)
                    + ": withhold until <= grade 1 or baseline, resume at the next lower dose",
                }
            )
        )
        use("ixa-nonheme", np.bincount(pc[other], minlength=P) > 0)


def _daratumumab_events(pc, day, agent, term, g, frames, use, P):
    """Daratumumab infusion-related reactions (no dose reductions exist for daratumumab)."""
    irr = (agent == "daratumumab") & (term == "infusion_related_reaction")
    if not irr.any():
        return
    g4 = g[irr] >= 4
    frames.append(
        _frame(
            pc[irr],
            day[irr],
            "daratumumab",
            np.where(g4, "discontinue", "interrupt infusion"),
            np.nan,
            "mg",
            "",
            "grade "
            + g[irr].astype(str)
            + " infusion-related reaction: "
            + np.where(
                g4,
                "discontinue daratumumab permanently",
                "interrupt the infusion and manage symptoms; restart at a lower rate when "
                "resolved (no dose reduction)",
            ),
            np.where(g4, "dara-irr-g4", "dara-irr"),
        )
    )
    use("dara-irr", np.bincount(pc[irr], minlength=P) > 0)
    if g4.any():
        use("dara-irr-g4", np.bincount(pc[irr][g4], minlength=P) > 0)


def dose_actions(
    *,
    P,
    agent,
    dose,
    start,
    stop,
    dialysis,
    crcl_start,
    episodes,
    start_rows,
    seen,
    lab_tox_day,
    ct_ev,
    cfg: D.DosingConfig,
    use,
    last_obs,
    baseline_day,
    renal=None,
    prog_day=None,
    heme_tox_day=None,
):
    """All dose actions (one row each) and start/duration alerts, computed on whole tables.

    The blood-count inputs come summarised from the engine's blocks: ``episodes`` =
    :func:`plateau.monitor.dosing.hematologic_episodes` of the ANC/platelet counts on or after
    the start of a haematologically dosed agent; ``start_rows[code]`` = the lenalidomide
    patients' ANC (platelet) rows on or before the start (pcode, day, value); ``seen[agent]`` =
    a blood count between the start and the escalation date; ``lab_tox_day`` = first day of a
    grade >= 3 lab toxicity (int64 max if none); ``renal`` = creatinine clearance rows
    ``pcode, day, crcl`` during maintenance (:func:`plateau.monitor.engine._renal_course`);
    ``prog_day`` = confirmed progression day per patient (NA_DAY if none), after which the
    maintenance line has ended (no resumption, escalation or other dose step is proposed);
    ``heme_tox_day`` = first grade >= 3 blood-count toxicity.  Returns
    ``(actions, action_day, alerts)``.

    ``stop`` (patients.csv ``stop_date``, NA_DAY if none) is the day maintenance was stopped:
    nothing after it is a dose input (blood-count episodes, reported events, creatinine
    clearances, the escalation date, a progression ending the line), so no dose action or dose
    alert is dated after it (rule ``dose-after-stop``); the rows after the stop are still
    assessed for response, progression and CTCAE grades elsewhere.
    """
    if prog_day is None:
        prog_day = np.full(P, NA_DAY)
    if heme_tox_day is None:
        heme_tox_day = np.full(P, np.iinfo(np.int64).max)
    frames, alerts = [], []
    level0 = D.start_level(agent, np.nan_to_num(dose, nan=np.inf))
    on = start != NA_DAY
    stop = np.asarray(stop, dtype=np.int64)
    stopped = stop != NA_DAY

    cut = np.zeros(P, dtype=bool)  # patients for whom the stop date removed something

    def on_drug(pc, day):
        """Rows (patient codes, days) on or before the patient's stop date (all if no stop)."""
        pc = np.asarray(pc, dtype=np.int64)
        keep = ~stopped[pc] | (np.asarray(day, dtype=np.int64) <= stop[pc])
        cut[pc[~keep]] = True
        return keep

    if len(episodes):
        episodes = episodes[on_drug(episodes["pcode"], episodes["day"])]
    if len(ct_ev):
        ct_ev = ct_ev[on_drug(ct_ev["pcode"], ct_ev["day"])]
    if renal is not None and len(renal):
        renal = renal[on_drug(renal["pcode"], renal["day"])]
    late = stopped & (heme_tox_day != np.iinfo(np.int64).max) & (heme_tox_day > stop)
    heme_tox_day = np.where(late, np.iinfo(np.int64).max, heme_tox_day)
    cut |= late & (agent == "daratumumab")
    late = stopped & (prog_day != NA_DAY) & (prog_day > stop)
    prog_day = np.where(late, NA_DAY, prog_day)
    cut |= late & on & (agent != "none")
    renal_ev = _renal_events(renal, agent, dialysis, start, on, cfg, P)
    # -- haematologic hold/resume episodes (lenalidomide, ixazomib, bortezomib) --
    anc_c, plt_c = U.ANALYTE_CODE["anc"], U.ANALYTE_CODE["platelets"]
    ep = episodes
    reductions = []
    if len(ep):
        e_pc = ep["pcode"].to_numpy()
        e_agent = agent[e_pc]
        cause = ep["cause"].to_numpy()
        rule = np.select(
            [
                (e_agent == "lenalidomide") & (cause == "platelets"),
                e_agent == "lenalidomide",
                e_agent == "ixazomib",
            ],
            ["len-platelets", "len-anc", "ixa-heme"],
            "btz-tox",
        )
        anc_v, plt_v = ep["anc"].to_numpy(), ep["platelets"].to_numpy()
        hold = ep["event"].to_numpy() == "hold"
        with np.errstate(invalid="ignore"):
            reason = np.where(
                np.char.find(cause.astype(str), "anc") >= 0,
                "ANC " + pd.Series(anc_v).map("{:g}".format).to_numpy() + " x10^9/L",
                "",
            )
            reason = np.where(
                np.char.find(cause.astype(str), "platelets") >= 0,
                np.where(reason == "", "", reason + ", ")
                + "platelets "
                + pd.Series(plt_v).map("{:g}".format).to_numpy()
                + " x10^9/L",
                reason,
            )
        h = hold
        verb = np.where(e_agent[h] == "bortezomib", "withhold", "hold")
        frames.append(
            _frame(
                e_pc[h],
                ep["day"].to_numpy()[h],
                e_agent[h],
                verb,
                np.nan,
                _unit(e_agent[h]),
                "",
                reason[h] + " below the hold threshold",
                rule[h],
            )
        )
        r = ~hold
        # ixazomib: the first haematological hold resumes at the most recent dose, later ones
        # one level lower (label); every other agent's resume is one level lower
        ixa_first = (rule == "ixa-heme") & (ep["episode"].to_numpy() == 1)
        reductions.append(
            pd.DataFrame(
                {
                    "pcode": e_pc[r],
                    "day": ep["day"].to_numpy()[r],
                    "kind": "resume",
                    "rule": rule[r],
                    "steps": np.where(ixa_first[r], 0, 1),
                    "reason": "counts recovered ("
                    + reason[r]
                    + np.where(
                        ixa_first[r],
                        "): first occurrence, resume at the most recent dose",
                        "): resume at the next lower dose",
                    ),
                }
            )
        )
        use("len-platelets", np.bincount(e_pc[rule == "len-platelets"], minlength=P) > 0)
        use("len-anc", np.bincount(e_pc[rule == "len-anc"], minlength=P) > 0)
        use("ixa-heme", np.bincount(e_pc[rule == "ixa-heme"], minlength=P) > 0)
        use("btz-tox", np.bincount(e_pc[rule == "btz-tox"], minlength=P) > 0)
    # -- reported non-haematologic grade >= 3 events (lenalidomide, bortezomib) --
    if len(ct_ev):
        ev_pc = ct_ev["pcode"].to_numpy().astype(np.int64)
        ev_agent = agent[ev_pc]
        term = ct_ev["term"].to_numpy()
        g = ct_ev["grade"].to_numpy().astype(int)
        pain = ct_ev["with_pain"].to_numpy().astype(bool)
        nonheme = ~np.isin(term, C.HEMATOLOGIC_TERMS)
        neuro = np.isin(term, C.NEUROPATHY_TERMS)
        sel = (g >= 3) & nonheme & (ev_agent == "lenalidomide")
        sel |= (g >= 3) & nonheme & ~neuro & (ev_agent == "bortezomib")
        if sel.any():
            rr = np.where(ev_agent[sel] == "lenalidomide", "len-other-g34", "btz-tox")
            reductions.append(
                pd.DataFrame(
                    {
                        "pcode": ev_pc[sel],
                        "day": ct_ev["day"].to_numpy()[sel],
                        "kind": "event",
                        "rule": rr,
                        "steps": 1,
                        "reason": "grade "
                        + g[sel].astype(str)
                        + " "
                        + term[sel].astype(str)
                        + ": hold; restart at the next lower dose when <= grade 2",
                    }
                )
            )
            use("len-other-g34", np.bincount(ev_pc[sel][rr == "len-other-g34"], minlength=P) > 0)
            use("btz-tox", np.bincount(ev_pc[sel][rr == "btz-tox"], minlength=P) > 0)
        # bortezomib neuropathy table (absolute dose levels)
        b = neuro & (ev_agent == "bortezomib")
        if b.any():
            gb, pb = g[b], pain[b]
            act, dd = bortezomib_neuropathy_action(gb, pb)
            k = act != "none"
            why = "grade " + gb.astype(str) + np.where(pb, " with pain ", " ") + term[b].astype(str)
            why = why + np.select(
                [act == "withhold", act == "reduce", act == "discontinue"],
                [
                    ": withhold until resolved, restart at 0.7 mg/m2",
                    ": reduce to 1.0 mg/m2",
                    ": discontinue bortezomib",
                ],
                "",
            )
            frames.append(
                _frame(
                    ev_pc[b][k],
                    ct_ev["day"].to_numpy()[b][k],
                    "bortezomib",
                    act[k],
                    dd[k],
                    "mg/m2",
                    "",
                    why[k],
                    "btz-pn",
                )
            )
            use("btz-pn", np.bincount(ev_pc[b][k], minlength=P) > 0)
        _ixazomib_events(
            ev_pc,
            ct_ev["day"].to_numpy(),
            ev_agent,
            term,
            g,
            pain,
            nonheme,
            neuro,
            frames,
            reductions,
            use,
            P,
        )
        _daratumumab_events(ev_pc, ct_ev["day"].to_numpy(), ev_agent, term, g, frames, use, P)
        vte = (term == "thromboembolic_event") & (g >= cfg.vte_alert_grade)
        lv = vte & (ev_agent == "lenalidomide")
        if lv.any():
            alerts.append(
                pd.DataFrame(
                    {
                        "pcode": ev_pc[lv],
                        "day": ct_ev["day"].to_numpy()[lv],
                        "severity": "high",
                        "message": "grade "
                        + g[lv].astype(str)
                        + " thromboembolic event on lenalidomide: treat, review "
                        "thromboprophylaxis and whether to continue (boxed warning); no "
                        "escalation",
                        "rule": "len-vte",
                    }
                )
            )
            use("len-vte", np.bincount(ev_pc[lv], minlength=P) > 0)
        t = neuro & (ev_agent == "thalidomide") & (g >= 2)
        if t.any():
            frames.append(
                _frame(
                    ev_pc[t],
                    ct_ev["day"].to_numpy()[t],
                    "thalidomide",
                    "stop",
                    np.nan,
                    "mg",
                    "",
                    "grade "
                    + g[t].astype(str)
                    + " "
                    + term[t].astype(str)
                    + ": symptomatic neuropathy, stop thalidomide",
                    "thal-pn",
                )
            )
            use("thal-pn", np.bincount(ev_pc[t], minlength=P) > 0)
            use("thal-pn-steps", np.bincount(ev_pc[t], minlength=P) > 0)
    # -- cumulative dose levels after each reduction --
    if reductions:
        red = pd.concat(reductions, ignore_index=True).sort_values(["pcode", "day"], kind="stable")
        r_pc = red["pcode"].to_numpy()
        count = red.groupby("pcode", sort=False)["steps"].cumsum().to_numpy()
        r_agent = agent[r_pc]
        lvl_dose, sched = D.ladder_step(r_agent, level0[r_pc] + count)
        action = np.where(
            red["kind"].to_numpy() == "resume",
            "resume",
            np.where(np.isin(r_agent, ["bortezomib", "ixazomib"]), "withhold", "hold"),
        )
        lvl_dose, sched = _renal_cap(
            r_pc, red["day"].to_numpy(), r_agent, lvl_dose, sched, renal_ev
        )
        frames.append(
            _frame(
                r_pc,
                red["day"].to_numpy(),
                r_agent,
                action,
                lvl_dose,
                _unit(r_agent),
                sched,
                red["reason"].to_numpy(),
                red["rule"].to_numpy(),
            )
        )
        use("len-ladder", np.bincount(r_pc[r_agent == "lenalidomide"], minlength=P) > 0)
        use("ixa-ladder", np.bincount(r_pc[r_agent == "ixazomib"], minlength=P) > 0)
        first_red = pd.Series(red["day"].to_numpy()).groupby(r_pc).min()
    else:
        first_red = pd.Series(dtype=np.int64)
    # -- escalation (lenalidomide 10 -> 15 mg after 3 cycles; ixazomib 3 -> 4 mg from cycle 5) --
    red_day = np.full(P, np.iinfo(np.int64).max)
    red_day[first_red.index.to_numpy(dtype=np.int64)] = first_red.to_numpy()
    tox_day = np.array(lab_tox_day, dtype=np.int64, copy=True)
    if len(ct_ev):
        e3 = ct_ev[ct_ev["grade"] >= 3]
        if len(e3):
            tmin = e3.groupby("pcode")["day"].min()
            idx = tmin.index.to_numpy(dtype=np.int64)
            tox_day[idx] = np.minimum(tox_day[idx], tmin.to_numpy())
        vte = ct_ev[
            (ct_ev["term"] == "thromboembolic_event") & (ct_ev["grade"] >= cfg.vte_alert_grade)
        ]
        if len(vte):
            tmin = vte.groupby("pcode")["day"].min()
            idx = tmin.index.to_numpy(dtype=np.int64)
            tox_day[idx] = np.minimum(tox_day[idx], tmin.to_numpy())
    # a renal restriction in force on or before the decision date forbids escalation
    restr_day = np.full(P, np.iinfo(np.int64).max)
    if len(renal_ev):
        rmin = renal_ev.groupby("pcode")["day"].min()
        restr_day[rmin.index.to_numpy(dtype=np.int64)] = rmin.to_numpy()
    for name, from_dose, to_dose, days, rid, esc_sched in (
        ("lenalidomide", 10.0, 15.0, cfg.len_escalation_days, "len-escalate", "daily days 1-28"),
        ("ixazomib", 3.0, 4.0, cfg.ixa_escalation_days, "ixa-escalate", "days 1, 8, 15"),
    ):
        at = start + days
        e = (
            (agent == name)
            & on
            & (np.abs(dose - from_dose) < 1e-9)
            & (red_day > at)
            & (tox_day > at)
            & (restr_day > at)
            & ((prog_day == NA_DAY) | (prog_day > at))
            & (last_obs != NA_DAY)
            & (last_obs >= at)
        )
        # tolerance needs evidence: at least one blood count between the start and the decision date
        e &= seen[name]
        cut |= e & stopped & (at > stop)  # the escalation date falls after the stop
        e &= ~stopped | (at <= stop)
        if e.any():
            idx = np.flatnonzero(e)
            frames.append(
                _frame(
                    idx,
                    at[idx],
                    name,
                    "consider escalation",
                    to_dose,
                    "mg",
                    esc_sched,
                    f"{days} days at {from_dose:g} mg without dose reduction or grade >= 3 "
                    f"toxicity: increase if tolerated",
                    rid,
                )
            )
            use(rid, e)
        blocked = (
            (agent == name)
            & on
            & (np.abs(dose - from_dose) < 1e-9)
            & ((restr_day <= at) | (tox_day <= at) | (red_day <= at) | (prog_day != NA_DAY))
        )
        use("no-escalation-under-restriction", blocked & (restr_day <= at))
    # -- renal: each fall into a lower renal band (at the start or during maintenance) --
    if len(renal_ev):
        rpc = renal_ev["pcode"].to_numpy()
        at_start = renal_ev["day"].to_numpy() == start[rpc]
        crcl_txt = pd.Series(renal_ev["crcl"].to_numpy()).map(
            lambda x: "on dialysis" if np.isnan(x) else f"CLcr {x:.1f} mL/min"
        )
        band_txt = renal_ev["band"].map(
            {
                "moderate": "moderate renal impairment (30 <= CLcr < 60)",
                "severe": "severe renal impairment (CLcr < 30, no dialysis)",
                "dialysis": "end-stage renal disease on dialysis",
            }
        )
        frames.append(
            _frame(
                rpc,
                renal_ev["day"].to_numpy(),
                agent[rpc],
                np.where(at_start, "start at renal dose", "reduce dose (renal)"),
                renal_ev["dose"].to_numpy(),
                "mg",
                renal_ev["schedule"].to_numpy(),
                (crcl_txt + ": " + band_txt).to_numpy()
                + ": renal dose per label; no escalation while it applies",
                renal_ev["rule"].to_numpy(),
            )
        )
        for rid in ("len-renal-maintenance", "ixa-renal"):
            m = renal_ev["rule"].to_numpy() == rid
            use(rid, np.bincount(rpc[m], minlength=P) > 0)
        lr = renal_ev["restriction"].to_numpy() == "len-renal"
        use("len-renal", np.bincount(rpc[lr], minlength=P) > 0)
        use(
            "crcl-cockcroft-gault",
            np.bincount(rpc[~np.isnan(renal_ev["crcl"].to_numpy())], minlength=P) > 0,
        )
        use("renal-recompute", np.bincount(rpc[~at_start], minlength=P) > 0)
    # -- lenalidomide start criteria (last counts on or before the start date) --
    lm = (agent == "lenalidomide") & on
    if lm.any():
        for code, thr, label in (
            (anc_c, cfg.len_start_anc, "ANC"),
            (plt_c, cfg.len_start_platelets, "platelets"),
        ):
            if code not in start_rows or not len(start_rows[code]):
                continue
            df = start_rows[code].groupby("pcode").last()
            low = D._below(df["value"].to_numpy(), thr)
            if low.any():
                idx = df.index.to_numpy(dtype=np.int64)[low]
                alerts.append(
                    pd.DataFrame(
                        {
                            "pcode": idx,
                            "day": start[idx],
                            "severity": "medium",
                            "message": [
                                f"lenalidomide start criteria not met: {label} {v:g} x10^9/L < "
                                f"{thr:g} on {_ds(d)}"
                                for v, d in zip(
                                    df["value"].to_numpy()[low],
                                    df["day"].to_numpy()[low],
                                    strict=False,
                                )
                            ],
                            "rule": "len-start",
                        }
                    )
                )
                use("len-start", np.isin(np.arange(P), idx))
    # -- daratumumab: blood-count toxicity is handled by delaying, never by a lower dose --
    dm = (agent == "daratumumab") & on & (heme_tox_day != np.iinfo(np.int64).max)
    dm &= heme_tox_day >= np.where(on, start, 0)
    if dm.any():
        idx = np.flatnonzero(dm)
        alerts.append(
            pd.DataFrame(
                {
                    "pcode": idx,
                    "day": heme_tox_day[idx],
                    "severity": "medium",
                    "message": "grade >= 3 blood-count toxicity on daratumumab: no dose reduction "
                    "exists; consider delaying the dose until counts recover",
                    "rule": "dara-no-reduction",
                }
            )
        )
        use("dara-no-reduction", dm)
    # -- thalidomide duration --
    tm = (agent == "thalidomide") & on
    end = np.where(stop != NA_DAY, stop, last_obs)
    long_thal = tm & (end != NA_DAY) & (end - start > cfg.thal_max_days)
    if long_thal.any():
        idx = np.flatnonzero(long_thal)
        alerts.append(
            pd.DataFrame(
                {
                    "pcode": idx,
                    "day": start[idx] + cfg.thal_max_days,
                    "severity": "medium",
                    "message": "thalidomide beyond 18 months: monitor neuropathy closely, low "
                    "threshold to stop",
                    "rule": "thal-duration",
                }
            )
        )
        use("thal-duration", long_thal)
    actions = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=ACTION_COLUMNS[:1] + ["day"] + ACTION_COLUMNS[2:])
    )
    actions = _end_line_at_progression(actions, agent, start, on, prog_day, use, P)
    # nothing after the stop date (the inputs above are already cut there; this keeps it so)
    if len(actions):
        actions = actions[on_drug(actions["pcode"], actions["day"])]
    alerts = [a[on_drug(a["pcode"], a["day"])] for a in alerts]
    alerts = [a for a in alerts if len(a)]
    use("dose-after-stop", cut & on & (agent != "none"))
    if len(actions):
        actions = actions.sort_values(["pcode", "day"], kind="stable").reset_index(drop=True)
        action_day = actions.pop("day").to_numpy()
        actions.insert(1, "date", date_strings(action_day))
        actions["dose"] = actions["dose"].astype(float)
    else:
        actions = pd.DataFrame(columns=ACTION_COLUMNS)
        action_day = np.zeros(0, dtype=np.int64)
    return actions, action_day, alerts


def _end_line_at_progression(actions, agent, start, on, prog_day, use, P) -> pd.DataFrame:
    """Confirmed progression ends the maintenance line: drop later dose steps, say so once."""
    prog = (prog_day != NA_DAY) & on & (agent != "none") & (prog_day >= start)
    if not prog.any():
        return actions
    if len(actions):
        pc = actions["pcode"].to_numpy().astype(np.int64)
        pday = prog_day[pc]
        act = actions["action"].to_numpy()
        # only a progression during maintenance ends it (one before the start belongs to the
        # earlier treatment)
        after = (
            (pday != NA_DAY)
            & (pday >= start[pc])
            & on[pc]
            & (
                (actions["day"].to_numpy() > pday)
                | (
                    (actions["day"].to_numpy() == pday)
                    & np.isin(act, ["resume", "consider escalation"])
                )
            )
        )
        actions = actions[~after]
    idx = np.flatnonzero(prog)
    end = _frame(
        idx,
        prog_day[idx],
        agent[idx],
        "maintenance line ends",
        np.nan,
        np.where(agent[idx] == "bortezomib", "mg/m2", "mg"),
        "",
        "confirmed progression (IMWG): the maintenance line has ended; no resumption or "
        "escalation is proposed; the next line is a clinical decision",
        "line-ends-at-progression",
    )
    use("line-ends-at-progression", prog)
    parts = [p for p in (actions, end) if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else actions


def build_alerts(
    *,
    P,
    pid,
    prog_day,
    prog_crit,
    unconf_day,
    relapse_day,
    tox,
    actions,
    act_day,
    extra,
    qol,
    best,
    dor,
    use,
    uniq,
) -> pd.DataFrame:
    """Alerts table: progression, unconfirmed PD, relapse from CR, grade >= 3 toxicity, QoL,
    benefit-harm.

    Per patient: ``prog_day`` / ``unconf_day`` / ``relapse_day`` (NA_DAY if none) and
    ``prog_crit`` (the PD criteria of the progression assessment, ``"serum+lesion"``);
    ``tox``: dict of arrays ``pcode, day, term, grade`` of the grade >= 3 CTCAE rows in table
    order; ``actions`` with its ``act_day`` (int days).  Messages are formatted once per
    distinct (day, term, grade) and shared by the rows that have it.
    """

    parts = []
    p = np.flatnonzero(prog_day != NA_DAY)
    if len(p):
        crit = prog_crit[p]
        parts.append(
            pd.DataFrame(
                {
                    "pcode": p,
                    "day": prog_day[p],
                    "severity": "high",
                    "message": [
                        "progression (IMWG) on " + d + " (" + c.replace("+", ", ") + ")"
                        for d, c in zip(_ds(prog_day[p]), crit, strict=False)
                    ],
                    "rule": [
                        "imwg-pd-"
                        + (
                            "high-nadir"
                            if c.split("+")[0] == "serum_high_nadir"
                            else c.split("+")[0]
                        )
                        for c in crit
                    ],
                }
            )
        )
    u = np.flatnonzero(unconf_day != NA_DAY)
    if len(u):
        parts.append(
            pd.DataFrame(
                {
                    "pcode": u,
                    "day": unconf_day[u],
                    "severity": "medium",
                    "message": [
                        "possible progression on " + d + ": IMWG PD criteria met once, not yet "
                        "confirmed by a second consecutive assessment"
                        for d in _ds(unconf_day[u])
                    ],
                    "rule": "imwg-confirm-pd",
                }
            )
        )
    r = np.flatnonzero(relapse_day != NA_DAY)
    if len(r):
        parts.append(
            pd.DataFrame(
                {
                    "pcode": r,
                    "day": relapse_day[r],
                    "severity": "medium",
                    "message": [
                        "relapse from CR on " + d + " (M-protein by IFE or marrow >= 5%; "
                        "not progression for PFS)"
                        for d in _ds(relapse_day[r])
                    ],
                    "rule": "imwg-relapse-from-cr",
                }
            )
        )
    tpc = np.asarray(tox["pcode"], dtype=np.int64)
    if len(tpc):
        tday = np.asarray(tox["day"], dtype=np.int64)
        tgrade = np.asarray(tox["grade"]).astype(np.int64)
        t_code, t_names = pd.factorize(np.asarray(tox["term"], dtype=object))
        t_code = t_code.astype(np.int64)
        # "grade G <label> on <date>", formatted once per distinct (day, term, grade)
        lo = int(tday.min())
        combo = ((tday - lo) * len(t_names) + t_code) * 8 + tgrade
        c_uniq, c_inv = np.unique(combo, return_inverse=True)
        u_grade, u_term, u_day = (
            c_uniq % 8,
            (c_uniq // 8) % len(t_names),
            c_uniq // 8 // len(t_names) + lo,
        )
        labels = [TERM_LABEL.get(t, t.replace("_", " ")) for t in t_names]
        msg = np.array(
            [
                "grade " + str(g) + " " + labels[t] + " on " + d
                for g, t, d in zip(u_grade.tolist(), u_term.tolist(), _ds(u_day), strict=False)
            ],
            dtype=object,
        )[c_inv]
        if len(actions):
            # the first hold/withhold/stop/discontinue of that patient on that day
            act_mask = (
                actions["action"].isin(["hold", "withhold", "stop", "discontinue"]).to_numpy()
            )
            a_pc = actions["pcode"].to_numpy().astype(np.int64)[act_mask]
            a_day = np.asarray(act_day, dtype=np.int64)[act_mask]
            a_text = (actions["action"] + " " + actions["agent"] + " per label").to_numpy()[
                act_mask
            ]
            if len(a_pc):
                lo2 = min(int(a_day.min()), lo)
                width = max(int(a_day.max()), int(tday.max())) - lo2 + 1
                a_key = a_pc * width + (a_day - lo2)
                k_uniq, k_first = np.unique(a_key, return_index=True)
                t_key = tpc * width + (tday - lo2)
                pos = np.minimum(np.searchsorted(k_uniq, t_key), len(k_uniq) - 1)
                hit = k_uniq[pos] == t_key
                if hit.any():
                    msg = msg.copy()
                    msg[hit] = msg[hit] + ": " + a_text[k_first[pos[hit]]].astype(str)
        rule_of = np.array(
            [
                C.LAB_TERMS[t].rule.id if t in C.LAB_TERMS else C.EVENT_TERMS[t].rule.id
                for t in t_names
            ],
            dtype=object,
        )
        parts.append(
            pd.DataFrame(
                {
                    "pcode": tpc,
                    "day": tday,
                    "severity": np.where(tgrade >= 4, "high", "medium"),
                    "message": msg,
                    "rule": rule_of[t_code],
                }
            )
        )
    parts += extra
    qol_decline = np.zeros(P, dtype=bool)
    if qol is not None and len(qol.changes):
        from plateau.monitor.qol import SCALE_BY_CODE

        d = qol.declines()
        qpc = uniq.get_indexer(d["patient_id"].astype(uniq.dtype))
        k = qpc >= 0
        d = d[k]
        qpc = qpc[k]
        if len(d):
            qday = pd.to_datetime(d["date"]).to_numpy().astype("datetime64[D]").astype(np.int64)
            names = d["scale"].map(
                lambda c: "global health status" if c == "QL2" else SCALE_BY_CODE[c].name.lower()
            )
            verb = d["scale"].map(
                lambda c: "fell" if SCALE_BY_CODE[c].kind != "symptom" else "worsened"
            )
            parts.append(
                pd.DataFrame(
                    {
                        "pcode": qpc,
                        "day": qday,
                        "severity": np.where(d["scale"] == "QL2", "medium", "low"),
                        "message": (
                            names
                            + " "
                            + verb
                            + " beyond the MID on "
                            + d["date"]
                            + " ("
                            + d["change"].map("{:+.1f}".format)
                            + " points, MID "
                            + d["mid"].map("{:g}".format)
                            + ")"
                        ).to_numpy(),
                        "rule": d["scale"].map(lambda c: SCALE_BY_CODE[c].mid_rule).to_numpy(),
                    }
                )
            )
            qol_decline[qpc] = True
    # benefit-harm signal
    n_g3 = np.bincount(tpc, minlength=P)
    harm = (n_g3 > 0) | qol_decline
    prog = prog_day != NA_DAY
    review = harm & (prog | (best < I.PR))
    weigh = harm & ~review
    names = np.array(["NE", "PD", "SD", "MR", "PR", "VGPR", "CR", "sCR"], dtype=object)
    harm_txt = np.where(n_g3 > 0, n_g3.astype(str) + " grade >= 3 toxicities", "")
    harm_txt = np.where(
        qol_decline,
        np.where(harm_txt == "", "", harm_txt + " and ") + "a QoL decline beyond the MID",
        harm_txt,
    )
    sig = np.flatnonzero(review | weigh)
    if len(sig):
        msg = np.where(
            review[sig],
            "benefit-harm: "
            + np.where(
                prog[sig], "progression", "best response " + names[best[sig] + 1].astype(str)
            )
            + " against "
            + harm_txt[sig]
            + ": review maintenance",
            "benefit-harm: confirmed "
            + names[best[sig] + 1].astype(str)
            + " ("
            + np.where(dor[sig] >= 0, dor[sig].astype(str) + " days", "n/a")
            + ") against "
            + harm_txt[sig]
            + ": weigh continuing maintenance",
        )
        parts.append(
            pd.DataFrame(
                {
                    "pcode": sig,
                    "day": np.iinfo(np.int64).max,
                    "severity": np.where(review[sig], "high", "low"),
                    "message": msg,
                    "rule": "signal-benefit-harm",
                }
            )
        )
        use("signal-benefit-harm", review | weigh)
    if not parts:
        return pd.DataFrame(
            columns=["patient_id", "date", "severity", "message", "rule", "tag", "citation"]
        )
    cols = {
        k: np.concatenate([part[k].to_numpy() for part in parts])
        for k in ("pcode", "day", "severity", "message", "rule")
    }
    al_pc = cols["pcode"].astype(np.int64)
    dd = cols["day"].astype(np.int64)
    order = np.lexsort((dd, al_pc))  # stable, as sort_values(["pcode", "day"], kind="stable")
    al_pc, dd = al_pc[order], dd[order]
    rule = cols["rule"].astype(object)[order]
    r_code, r_ids = pd.factorize(rule)  # in order of first appearance, as Series.unique()
    for k, rid in enumerate(r_ids):
        hit = np.zeros(P, dtype=bool)
        hit[al_pc[r_code == k]] = True
        use(rid, hit)
    na = dd == np.iinfo(np.int64).max
    date = np.where(na, np.array(None, dtype=object), date_strings(np.where(na, 0, dd)))
    rules = [ALL_RULES[x] for x in r_ids]
    return pd.DataFrame(
        {
            "patient_id": pid[al_pc],
            "date": date,
            "severity": cols["severity"].astype(object)[order],
            "message": cols["message"].astype(object)[order],
            "rule": rule,
            "tag": np.array([r.tag for r in rules], dtype=object)[r_code],
            "citation": np.array([r.citation() for r in rules], dtype=object)[r_code],
        }
    )
