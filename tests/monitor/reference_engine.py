"""A slow, obviously-correct reference implementation of the monitoring rules (test oracle).

Written patient by patient and row by row from the rule tables in :mod:`plateau.rules`
(thresholds from ``ImwgConfig``, ``DosingConfig``, ``ReferenceLimits``, the CTCAE cut-off tables,
the dose ladders and the renal dose table).  It shares no code with the vectorised engine in
:mod:`plateau.monitor` (no NumPy window functions, no block arrays): every rule is a plain Python
loop or comparison, so that a disagreement between the two points at a bug in one of them.

Scope (what the property test compares): the IMWG baseline, measurability, the response of every
assessment with its confirmation, PD criteria and note, the best response and the progression
date; every CTCAE laboratory grade; the dose actions of lenalidomide and ixazomib maintenance
(haematological holds and resumes with the ladder and the renal cap, renal doses from the
creatinine clearance at every creatinine, escalation and its restrictions, the end of the line
at progression, nothing after the stop date).  Reported adverse events and QoL are outside its
scope.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from plateau.rules.ctcae import LAB_TERM_BY_ANALYTE, ReferenceLimits
from plateau.rules.dosing import LADDERS, RENAL_DOSES, DosingConfig
from plateau.rules.imwg import ImwgConfig

NAN = float("nan")
EPS = 1e-9
SD, MR, PR, VGPR, CR, SCR, PD, NE = 1, 2, 3, 4, 5, 6, 0, -1
NAMES = {NE: "NE", PD: "PD", SD: "SD", MR: "MR", PR: "PR", VGPR: "VGPR", CR: "CR", SCR: "sCR"}
DISEASE = (
    "serum_m_protein",
    "urine_m_protein",
    "kappa_flc",
    "lambda_flc",
    "serum_ife",
    "urine_ife",
    "bm_plasma_cells",
    "bm_clonal_cells",
    "new_bone_lesion",
    "new_plasmacytoma",
    "plasmacytoma_spd",
)
PD_ORDER = ("serum", "serum_high_nadir", "urine", "flc", "marrow", "lesion")
NOTES = {
    1: "CR criteria met except marrow (not evaluable for CR)",
    2: "PD criteria met, not (yet) confirmed",
    3: "VGPR criteria met except urine M-protein not re-tested (VGPR needs urine < 100 mg/24h): "
    "reported as PR",
}


def isnan(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def ge(a, b) -> bool:
    """a >= b with the engine's relative tolerance (NaN: False)."""
    if isnan(a) or isnan(b):
        return False
    return a >= b - EPS * max(1.0, abs(b))


def gt(a, b) -> bool:
    if isnan(a) or isnan(b):
        return False
    return a > b + EPS * max(1.0, abs(b))


def lt(a, b) -> bool:
    if isnan(a) or isnan(b):
        return False
    return a < b - EPS * max(1.0, abs(b))


def day_of(d) -> int:
    return (d - dt.date(1970, 1, 1)).days if isinstance(d, dt.date) else int(d)


@dataclass
class Patient:
    pid: str
    agent: str = "none"
    dose: float = NAN
    start: int | None = None
    diagnosis: int | None = None
    age: float = NAN
    sex: str = ""
    weight: float = NAN
    dialysis: bool = False
    labs: list = field(default_factory=list)  # (day, analyte, value, lln, uln) in file order
    stop: int | None = None  # patients.csv stop_date: the day maintenance was stopped


# ---- IMWG --------------------------------------------------------------------------------------


def _visits(p: Patient) -> list[tuple[int, dict]]:
    """Disease assessments: one per date with any disease analyte, later rows overwrite."""
    by_day: dict[int, dict] = {}
    for day, analyte, value, _, _ in sorted(p.labs, key=lambda r: r[0]):
        if analyte in DISEASE:
            by_day.setdefault(day, {})[analyte] = value
    return sorted(by_day.items())


def _latest(visits, i, name, max_age=None):
    """Value of ``name`` at visit i or the latest visit before it (within max_age days)."""
    for j in range(i, -1, -1):
        v = visits[j][1].get(name)
        if v is not None and not isnan(v):
            if max_age is not None and visits[i][0] - visits[j][0] > max_age:
                return NAN
            return v
    return NAN


def imwg(p: Patient, baseline: str = "diagnosis", cfg: ImwgConfig = ImwgConfig()) -> dict:
    visits = _visits(p)
    out = {"baseline_day": None, "measurable_by": None, "assessments": [], "best": None}
    out.update(best_day=None, prog_day=None, last_eval_day=None)
    if not visits:
        return out
    bdate = p.start if baseline == "maintenance" else p.diagnosis
    base_i = 0
    if bdate is not None:
        before = [i for i, (d, _) in enumerate(visits) if d <= bdate]
        base_i = before[-1] if before else 0
    bday = visits[base_i][0]
    out["baseline_day"] = bday
    s0, u0 = _latest(visits, base_i, "serum_m_protein"), _latest(visits, base_i, "urine_m_protein")
    k0, l0 = _latest(visits, base_i, "kappa_flc"), _latest(visits, base_i, "lambda_flc")
    bm0 = _latest(visits, base_i, "bm_plasma_cells")
    spd0 = _latest(visits, base_i, "plasmacytoma_spd")
    plasmacytoma = not isnan(spd0) and spd0 > 0

    # measurability at baseline
    serum_meas = ge(s0, cfg.measurable_serum)
    urine_meas = ge(u0, cfg.measurable_urine)
    ratio0 = NAN
    if not isnan(k0) and not isnan(l0):
        if l0 == 0:
            ratio0 = math.inf if k0 > 0 else NAN
        else:
            ratio0 = k0 / l0
    kappa_inv = gt(ratio0, cfg.flc_ratio_high)
    lambda_inv = not isnan(ratio0) and not ge(ratio0, cfg.flc_ratio_low)
    iflc0 = k0 if kappa_inv else l0
    dflc0 = (k0 - l0) if kappa_inv else (l0 - k0)
    mprot = serum_meas or urine_meas
    flc_big = (
        ge(iflc0, cfg.measurable_flc)
        if cfg.measurable_flc_inclusive
        else gt(iflc0, cfg.measurable_flc)
    )
    flc_meas = not mprot and (kappa_inv or lambda_inv) and flc_big
    marrow_meas = not mprot and not flc_meas and not isnan(bm0)
    measurable = mprot or flc_meas or marrow_meas
    for name, flag in (
        ("serum", serum_meas),
        ("urine", urine_meas),
        ("flc", flc_meas),
        ("marrow", marrow_meas),
    ):
        if flag:
            out["measurable_by"] = name
            break

    cf = cfg.carry_forward_days
    rows = []
    lesion_seen = False
    nadir = {
        "s": [],
        "u": [],
        "f": [],
        "b": [],
        "p": [],
    }  # values of rows in the window before this one
    for i, (day, vals) in enumerate(visits):
        in_window = day >= bday
        assess = day > bday
        s = vals.get("serum_m_protein", NAN)
        u_raw = vals.get("urine_m_protein", NAN)
        u = _latest(visits, i, "urine_m_protein", cf)
        kr, lr = vals.get("kappa_flc", NAN), vals.get("lambda_flc", NAN)
        dflc = (kr - lr) if kappa_inv else (lr - kr)
        kc, lc = _latest(visits, i, "kappa_flc", cf), _latest(visits, i, "lambda_flc", cf)
        ratio = NAN
        if not isnan(kc) and not isnan(lc):
            ratio = (math.inf if kc > 0 else NAN) if lc == 0 else kc / lc
        ratio_normal = (
            NAN
            if isnan(ratio)
            else float(ge(ratio, cfg.flc_ratio_low) and not gt(ratio, cfg.flc_ratio_high))
        )
        sife = _latest(visits, i, "serum_ife", cf)
        uife = _latest(visits, i, "urine_ife", cf)
        bm_raw = vals.get("bm_plasma_cells", NAN)
        bm = _latest(visits, i, "bm_plasma_cells")
        clonal = _latest(visits, i, "bm_clonal_cells")
        lesion_now = vals.get("new_bone_lesion") == 1 or vals.get("new_plasmacytoma") == 1
        if assess and lesion_now:
            lesion_seen = True
        spd = vals.get("plasmacytoma_spd", NAN)
        spd_cf = _latest(visits, i, "plasmacytoma_spd")
        xs = [x for x in nadir["p"] if not isnan(x)]
        nspd = min(xs) if xs else NAN
        grown = (
            (not isnan(nspd)) and nspd > 0 and ge(spd - nspd, cfg.plasmacytoma_pd_increase * nspd)
        )
        lesion = assess and ((lesion_seen if cfg.carry_lesions else lesion_now) or grown)

        def nad(key):
            xs = [x for x in nadir[key] if not isnan(x)]
            return min(xs) if xs else NAN

        ns, nu, nf, nb = nad("s"), nad("u"), nad("f"), nad("b")
        if in_window:
            nadir["s"].append(s)
            nadir["u"].append(u_raw)
            nadir["f"].append(dflc)
            nadir["b"].append(bm_raw)
            nadir["p"].append(spd)

        # response depth (ignoring PD)
        def red(x, x0):
            return 1.0 - x / x0 if not isnan(x) and not isnan(x0) and x0 != 0 else NAN

        rs, ru, rf = red(s, s0), red(u, u0), red(dflc, dflc0)
        has_u = not isnan(u)
        ife_neg = sife == 0 and uife == 0
        ife_pos = sife == 1 or uife == 1
        marrow_ok = not isnan(bm) and bm < cfg.cr_marrow_below
        pr_m = (
            mprot
            and ((not serum_meas) or ge(rs, 0.5))
            and (not urine_meas or not has_u or ge(ru, 0.9) or u < 200.0)
        )
        # VGPR: urine < 100 mg/24h must be shown by a urine study whatever was measurable at
        # baseline (Durie 2006 Table 5 VGPR row and footnote a): a urine M-protein within the
        # carry-forward window or a negative urine immunofixation
        u_missing = cfg.vgpr_needs_urine and not has_u and uife != 0
        vgpr_ep = mprot and ((not serum_meas) or s == 0) and (not has_u or u == 0) and ife_pos
        vgpr_red = mprot and ((not serum_meas) or ge(rs, 0.9)) and (not has_u or u < 100.0)
        vgpr_m = (vgpr_ep or vgpr_red) and not u_missing
        mr_m = (
            mprot
            and ((not serum_meas) or ge(rs, 0.25))
            and (not urine_meas or not has_u or ge(ru, 0.5))
        )
        pr_f = flc_meas and ge(rf, 0.5)
        vgpr_f = flc_meas and cfg.flc_vgpr and ge(rf, 0.9)
        pr_b = (
            marrow_meas
            and not isnan(bm0)
            and bm0 >= cfg.marrow_pr_baseline
            and ge(1.0 - bm / bm0 if not isnan(bm) else NAN, 0.5)
        )
        shrunk = not plasmacytoma or ge(
            1.0 - spd_cf / spd0 if not isnan(spd_cf) else NAN, cfg.plasmacytoma_reduction
        )
        gone = not plasmacytoma or spd_cf == 0
        mr_m, pr_m, pr_f, pr_b = mr_m and shrunk, pr_m and shrunk, pr_f and shrunk, pr_b and shrunk
        vgpr_m, vgpr_f = vgpr_m and shrunk, vgpr_f and shrunk
        if flc_meas:
            core = ife_neg and ratio_normal == 1
        elif marrow_meas:
            core = ife_neg
        else:
            core = mprot and ife_neg
        core = core and gone
        cr = core and marrow_ok
        scr = cr and ratio_normal == 1 and clonal == 0
        depth = SD
        if mr_m:
            depth = MR
        if pr_m or pr_f or pr_b:
            depth = PR
        if vgpr_m or vgpr_f:
            depth = VGPR
        if core and not marrow_ok and mprot:
            depth = max(depth, VGPR)
        if cr:
            depth = CR
        if scr:
            depth = SCR
        blocked = core and isnan(bm)
        no_urine = (vgpr_ep or vgpr_red) and u_missing and shrunk and depth < VGPR

        # progression criteria (increase from the nadir)
        ds, du, df, db = s - ns, u_raw - nu, dflc - nf, bm_raw - nb
        crit = {
            "serum": ge(ds, cfg.pd_relative * ns)
            and (ge(ds, cfg.pd_serum_abs) if cfg.pd_serum_inclusive else gt(ds, cfg.pd_serum_abs)),
            "urine": ge(du, cfg.pd_relative * nu) and ge(du, cfg.pd_urine_abs),
            "flc": flc_meas and ge(df, cfg.pd_relative * nf) and gt(df, cfg.pd_flc_abs),
            "lesion": lesion,
        }
        crit["serum_high_nadir"] = (
            ge(ns, cfg.pd_high_nadir) and ge(ds, cfg.pd_high_nadir_increase) and not crit["serum"]
        )
        if cfg.pd_marrow_mode == "2016":
            crit["marrow"] = (
                marrow_meas and ge(db, cfg.pd_relative * nb) and ge(db, cfg.pd_marrow_abs)
            )
        else:
            crit["marrow"] = (
                marrow_meas and ge(db, cfg.pd_relative * nb) and ge(bm_raw, cfg.pd_marrow_abs)
            )
        pd_any = assess and any(crit.values())
        if serum_meas:
            driving = not isnan(s)
        elif urine_meas:
            driving = not isnan(u_raw)
        elif flc_meas:
            driving = not isnan(dflc)
        elif marrow_meas:
            driving = not isnan(bm_raw)
        else:
            driving = False
        evaluable = assess and ((measurable and driving) or pd_any)
        d = (PD if pd_any else depth) if evaluable else NE
        rows.append(
            dict(
                day=day,
                assess=assess,
                evaluable=evaluable,
                depth=d,
                crit=[c for c in PD_ORDER if crit[c]] if pd_any else [],
                blocked=blocked,
                no_urine=no_urine and evaluable and d == PR,
            )
        )

    # confirmation, progression, best response
    ev = [r for r in rows if r["evaluable"]]
    for k, r in enumerate(ev):
        r["next"] = ev[k + 1]["depth"] if k + 1 < len(ev) else -2
        r["prev"] = ev[k - 1]["depth"] if k > 0 else -2
        r["marrow_only"] = marrow_meas and r["depth"] >= MR and not cfg.marrow_needs_confirmation
        r["pd_conf"] = r["depth"] == PD and (r["next"] == PD or not cfg.confirm_pd)
    prog = next((r for r in ev if r["pd_conf"]), None)
    out["prog_day"] = prog["day"] if prog else None
    best, best_row = -1, None
    for r in ev:
        conf = min(r["depth"], r["next"]) if r["next"] >= 0 else -1
        if r["marrow_only"]:
            conf = r["depth"]
        r["conf_depth"] = conf
        before = prog is None or r["day"] < prog["day"]
        rb = max(SD, conf) if r["depth"] >= SD else -1
        if not (before and measurable):
            rb = -1
        if rb > best:
            best, best_row = rb, r
    if best < SD and prog is not None:
        best, best_row = PD, prog
    if measurable:
        out["best"] = NAMES[best] if best >= 0 else None
        out["best_day"] = best_row["day"] if (best_row is not None and best >= 0) else None
    out["last_eval_day"] = max((r["day"] for r in ev), default=None)
    for r in rows:
        if not r["assess"]:
            continue
        if r["depth"] == PD:
            confirmed = r["pd_conf"] or r["prev"] == PD
        elif r["depth"] >= MR:
            confirmed = r["next"] >= r["depth"] or r["marrow_only"]
        else:
            confirmed = r["depth"] == SD
        note = 0
        if r["evaluable"] and r["depth"] == PD and not confirmed:
            note = 2
        elif r["blocked"] and r["evaluable"] and r["depth"] < CR and r["depth"] != PD:
            note = 1
        elif r["no_urine"]:
            note = 3
        out["assessments"].append(
            (r["day"], NAMES[r["depth"]], bool(confirmed), "+".join(r["crit"]), NOTES.get(note, ""))
        )
    return out


# ---- CTCAE --------------------------------------------------------------------------------------


def ctcae(p: Patient, baseline_day, limits: ReferenceLimits = ReferenceLimits()) -> list[tuple]:
    """(day, term, grade) of every graded lab row with grade > 0."""
    labs = sorted(p.labs, key=lambda r: r[0])
    creat = [(d, v) for d, a, v, _, _ in labs if a == "creatinine"]
    cbase = NAN
    if creat:
        before = [v for d, v in creat if baseline_day is not None and d <= baseline_day]
        cbase = before[-1] if before else creat[0][1]
    out = []
    for day, analyte, v, lln, uln in labs:
        term = LAB_TERM_BY_ANALYTE.get(analyte)
        if term is None:
            continue
        if analyte == "creatinine":
            u = limits.default_for(analyte) if isnan(uln) else uln
            g = max([0] + [g for g, m in ((1, 1.0), (2, 1.5), (3, 3.0), (4, 6.0)) if gt(v, m * u)])
            if gt(v, u):
                g = max([g] + [gb for gb, m in ((2, 1.5), (3, 3.0)) if gt(v, m * cbase)])
        elif term.direction == "high":
            u = limits.default_for(analyte) if isnan(uln) else uln
            g = max([1 if gt(v, u) else 0] + [g for g, b in term.cutoffs if gt(v, b)])
        else:
            lo = limits.default_for(analyte) if isnan(lln) else lln
            g = max([1 if lt(v, lo) else 0] + [g for g, b in term.cutoffs if lt(v, b)])
        if g > 0:
            out.append((day, term.term, g))
    return out


# ---- dose actions (lenalidomide, ixazomib maintenance)
# --------------------------------------------


def _crcl(age, weight, scr, female) -> float:
    c = (140.0 - age) * weight / (72.0 * scr)
    return 0.85 * c if female else c


def _band(crcl, dialysis, agent, cfg: DosingConfig) -> str | None:
    if dialysis:
        band = "dialysis"
    elif isnan(crcl):
        return None
    elif crcl < cfg.len_severe_clcr:
        band = "severe"
    elif crcl < cfg.len_renal_clcr:
        band = "moderate"
    else:
        return None
    if agent == "ixazomib" and band == "moderate":
        return None
    return band


BAND_RANK = {None: 0, "moderate": 1, "severe": 2, "dialysis": 3}


def dose_actions(p: Patient, im: dict, lab_grades: list, cfg: DosingConfig = DosingConfig()):
    """(day, action, dose, schedule, rule) of every dose action."""
    if p.agent not in ("lenalidomide", "ixazomib") or p.start is None:
        return []
    start, agent = p.start, p.agent
    labs = sorted(p.labs, key=lambda r: r[0])
    actions = []

    # renal course
    renal = []  # (day, band, dose, schedule, rule)
    known = not isnan(p.age) and not isnan(p.weight) and p.sex in ("F", "M")
    creat = [(d, v) for d, a, v, _, _ in labs if a == "creatinine"]
    points = []
    if creat and known:
        before = [(d, v) for d, v in creat if d <= start]
        v0 = before[-1][1] if before else creat[0][1]
        if v0 > 0:
            points.append((start, _crcl(p.age, p.weight, v0, p.sex == "F")))
        for d, v in creat:
            if d > start and v > 0:
                age = p.age + (d - start) / 365.25
                points.append((d, _crcl(age, p.weight, v, p.sex == "F")))
    if p.dialysis:
        points.append((start, NAN))
    points.sort(key=lambda x: x[0])
    worst = 0
    for d, c in points:
        band = _band(c, p.dialysis, agent, cfg)
        if BAND_RANK[band] > worst:
            worst = BAND_RANK[band]
            hit = RENAL_DOSES.get((agent, band))
            if hit is not None:
                renal.append((d, band, hit[0], hit[1], hit[2]))
                act = "start at renal dose" if d == start else "reduce dose (renal)"
                actions.append((d, act, hit[0], hit[1], hit[2]))

    def renal_cap(day):
        caps = [r for r in renal if r[0] <= day]
        return (caps[-1][2], caps[-1][3]) if caps else (math.inf, "")

    # haematological holds and resumes (state of each count persists until re-measured)
    anc_thr = cfg.len_anc_hold if agent == "lenalidomide" else cfg.ixa_anc_hold
    plt_thr = (
        (cfg.len_platelet_hold if cfg.len_platelet_rule else NAN)
        if agent == "lenalidomide"
        else cfg.ixa_platelet_hold
    )
    counts = [(d, a, v) for d, a, v, _, _ in labs if a in ("anc", "platelets") and d >= start]
    state = {"anc": False, "platelets": False}
    days = sorted({d for d, _, _ in counts})
    low_prev, cause_open, episode = False, None, 0
    resumes = []
    for d in days:
        for dd, a, v in counts:
            if dd == d:
                thr = anc_thr if a == "anc" else plt_thr
                if not isnan(thr):
                    state[a] = lt(v, thr)
        low = state["anc"] or state["platelets"]
        if low and not low_prev:
            episode += 1
            if state["anc"]:
                cause_open = "anc+platelets" if state["platelets"] else "anc"
            else:
                cause_open = "platelets"
            actions.append((d, "hold", None, "", _heme_rule(agent, cause_open)))
        elif low_prev and not low:
            resumes.append((d, _heme_rule(agent, cause_open), episode))
        low_prev = low
    ladder = LADDERS[agent]
    steps = [x for x, _ in ladder]
    level0 = min(sum(1 for x in steps if x > p.dose + 1e-9), len(steps) - 1)
    level = level0
    first_red = None
    for d, rule, ep in resumes:
        first_red = d if first_red is None else first_red
        if not (agent == "ixazomib" and ep == 1):
            level += 1
        dose, schedule = ladder[min(level, len(steps) - 1)]
        cap, cap_schedule = renal_cap(d)
        if cap < dose:
            dose, schedule = cap, cap_schedule
        actions.append((d, "resume", dose, schedule, rule))

    # escalation
    frm, to, days_to = (
        (10.0, 15.0, cfg.len_escalation_days)
        if agent == "lenalidomide"
        else (3.0, 4.0, cfg.ixa_escalation_days)
    )
    at = start + days_to
    tox3 = [d for d, _, g in lab_grades if g >= 3]
    ok = (
        abs(p.dose - frm) < 1e-9
        and (first_red is None or first_red > at)
        and (not tox3 or min(tox3) > at)
        and (not renal or renal[0][0] > at)
        and (im["prog_day"] is None or im["prog_day"] > at)
        and im["last_eval_day"] is not None
        and im["last_eval_day"] >= at
        and any(start < d <= at for d, a, _, _, _ in labs if a in ("anc", "platelets"))
    )
    if ok:
        schedule = "daily days 1-28" if agent == "lenalidomide" else "days 1, 8, 15"
        actions.append((at, "consider escalation", to, schedule, f"{agent[:3]}-escalate"))

    # progression ends the line
    prog = im["prog_day"]
    if prog is not None and prog >= start:
        actions = [
            a
            for a in actions
            if not (a[0] > prog or (a[0] == prog and a[1] in ("resume", "consider escalation")))
        ]
        actions.append((prog, "maintenance line ends", None, "", "line-ends-at-progression"))
    # rule dose-after-stop: no dose action after the day maintenance was stopped
    if p.stop is not None:
        actions = [a for a in actions if a[0] <= p.stop]
    return sorted(actions, key=lambda a: (a[0], a[1], -1 if a[2] is None else a[2], a[3], a[4]))


def _heme_rule(agent, cause):
    if agent == "ixazomib":
        return "ixa-heme"
    return "len-platelets" if cause == "platelets" else "len-anc"


def assess(patients: list[Patient], baseline: str = "diagnosis") -> dict[str, dict]:
    """The reference result per patient id."""
    out = {}
    for p in patients:
        im = imwg(p, baseline)
        grades = ctcae(p, im["baseline_day"])
        out[p.pid] = {"imwg": im, "ctcae": grades, "dose_actions": dose_actions(p, im, grades)}
    return out
