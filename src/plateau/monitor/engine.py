"""Set-based monitoring engine: one pass of vectorised NumPy/pandas operations over all patients.

``assess(labs, patients, events)`` sorts the long lab table once by (patient, date), pivots the
disease analytes to one row per patient-date, and evaluates every IMWG, CTCAE and dose rule
with array operations and grouped window functions (cumulative minimum, forward fill, shift) —
never a Python loop over rows.  Only :meth:`MonitorResult.to_dict` walks patients, to build JSON.

Baseline (``MonitorConfig.baseline``): ``"maintenance"`` = the last disease assessment on or
before the start of maintenance (patients.csv), ``"diagnosis"`` = the last assessment on or
before ``diagnosis_date`` (or the first assessment when no date is given).  If no assessment
precedes the chosen date the patient's first assessment is the baseline.  Assessments are the
later dates on which any disease analyte (M-protein, FLC, IFE, marrow, lesions) was reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from plateau.errors import PlateauError
from plateau.monitor import ctcae as C
from plateau.monitor import dosing as D
from plateau.monitor import imwg as I
from plateau.monitor import units as U
from plateau.monitor.citations import Rule
from plateau.monitor.io import BadRow
from plateau.monitor import qol as Q
from plateau.monitor import signal as SIG

DISEASE = tuple(a for a in U.ANALYTE_NAMES if U.ANALYTES[a].role == "disease")
GRADED = tuple(C.LAB_TERM_BY_ANALYTE)


@dataclass(frozen=True)
class MonitorConfig:
    """All thresholds in one place; defaults are the cited values."""

    baseline: str = "maintenance"
    imwg: I.ImwgConfig = field(default_factory=I.ImwgConfig)
    dosing: D.DosingConfig = field(default_factory=D.DosingConfig)
    limits: C.ReferenceLimits = field(default_factory=C.ReferenceLimits)
    creatinine_use_baseline: bool = True

    def __post_init__(self):
        if self.baseline not in ("maintenance", "diagnosis"):
            raise PlateauError(f"baseline must be 'maintenance' or 'diagnosis', not {self.baseline!r}")

    def to_dict(self) -> dict:
        return {"baseline": self.baseline, "imwg": self.imwg.to_dict(), "dosing": self.dosing.to_dict(),
                "limits": self.limits.to_dict(), "creatinine_use_baseline": self.creatinine_use_baseline}


ALL_RULES: dict[str, Rule] = {**I.RULES, **D.RULES, **{t.rule.id: t.rule for t in C.LAB_TERMS.values()},
                              **{t.rule.id: t.rule for t in C.EVENT_TERMS.values()},
                              C.RULE_DEFAULT_LIMITS.id: C.RULE_DEFAULT_LIMITS,
                              C.RULE_CREATININE_BASELINE.id: C.RULE_CREATININE_BASELINE,
                              **Q.RULES, **SIG.RULES}


def _group_prev_min(x: np.ndarray, group: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Minimum of ``x`` over the earlier rows of the same group inside ``window`` (NaN-skipping)."""
    s = pd.Series(np.where(window, x, np.nan))
    cm = s.groupby(group, sort=False).cummin()
    cm = cm.groupby(group, sort=False).ffill()
    return cm.groupby(group, sort=False).shift(1).to_numpy()


def _first_per_group(group: np.ndarray, mask: np.ndarray, n_groups: int) -> np.ndarray:
    """Index of the first True row of each group (rows sorted by group); -1 if none."""
    out = np.full(n_groups, -1, dtype=np.int64)
    idx = np.flatnonzero(mask)
    if len(idx):
        g, first = np.unique(group[idx], return_index=True)
        out[g] = idx[first]
    return out


def _per_patient_any(pc: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(pc[mask], minlength=n) > 0 if mask.any() else np.zeros(n, dtype=bool)


@dataclass(frozen=True)
class MonitorResult:
    """Everything ``assess`` found, as tables (one row per patient / assessment / grade / action / alert)."""

    patients: pd.DataFrame
    assessments: pd.DataFrame
    ctcae: pd.DataFrame
    dose_actions: pd.DataFrame
    alerts: pd.DataFrame
    rules_used: pd.DataFrame  # patient_id, rule
    config: MonitorConfig
    bad_rows: tuple[BadRow, ...] = ()
    n_input_rows: int = 0

    def patient(self, patient_id: str) -> dict:
        for p in self.to_dict():
            if p["patient_id"] == str(patient_id):
                return p
        raise PlateauError(f"no patient {patient_id!r} in the result")

    def summary(self) -> str:
        lines = [f"plateau monitor: {len(self.patients)} patients, {self.n_input_rows} input rows, "
                 f"{len(self.assessments)} disease assessments; baseline = {self.config.baseline}"]
        lines.append(f"{'patient':<12}{'measurable':<11}{'best':<6}{'best date':<12}{'progression':<12}"
                     f"{'G>=3':>5}{'actions':>8}{'alerts':>7}")
        g3 = self.ctcae[self.ctcae["grade"] >= 3].groupby("patient_id").size()
        na = self.dose_actions.groupby("patient_id").size()
        nl = self.alerts.groupby("patient_id").size()
        for r in self.patients.itertuples():
            lines.append(f"{r.patient_id:<12}{(r.measurable_by or '-'):<11}{(r.best_response or '-'):<6}"
                         f"{(r.best_response_date or '-'):<12}{(r.progression_date or '-'):<12}"
                         f"{int(g3.get(r.patient_id, 0)):>5}{int(na.get(r.patient_id, 0)):>8}"
                         f"{int(nl.get(r.patient_id, 0)):>7}")
        if self.bad_rows:
            lines.append(f"{len(self.bad_rows)} bad input row(s) skipped:")
            lines += [f"  {b}" for b in self.bad_rows]
        return "\n".join(lines)

    def to_dict(self) -> list[dict]:
        """One JSON-ready object per patient (the ``plateau monitor assess`` output)."""
        def by_pid(df):
            return {k: v for k, v in df.groupby("patient_id", sort=False)} if len(df) else {}

        A, G, DA, AL, RU = (by_pid(x) for x in (self.assessments, self.ctcae, self.dose_actions,
                                                 self.alerts, self.rules_used))
        empty = pd.DataFrame()
        out = []
        for p in self.patients.to_dict("records"):
            pid = p["patient_id"]
            a = A.get(pid, empty)
            rules = [ALL_RULES[r] for r in (RU[pid]["rule"].tolist() if pid in RU else [])]
            out.append({
                "patient_id": pid,
                "baseline_date": p["baseline_date"],
                "measurable_by": p["measurable_by"],
                "assessments": [
                    {"date": r["date"], "response": r["response"], "confirmed": bool(r["confirmed"]),
                     **({"pd_criteria": r["pd_criteria"].split("+")} if r["pd_criteria"] else {}),
                     **({"note": r["note"]} if r["note"] else {})}
                    for r in a.to_dict("records")
                ],
                "best_response": p["best_response"],
                "best_response_date": p["best_response_date"],
                "progression_date": p["progression_date"],
                "ctcae": [{"date": r["date"], "term": r["term"], "grade": int(r["grade"]), "source": r["source"],
                           **({"value": r["value"], "unit": r["unit"]} if r["source"] == "lab" else {})}
                          for r in G.get(pid, empty).to_dict("records")],
                "dose_actions": [{k: (None if isinstance(v, float) and np.isnan(v) else v)
                                  for k, v in r.items() if k != "patient_id"}
                                 for r in DA.get(pid, empty).to_dict("records")],
                "alerts": [{k: v for k, v in r.items() if k != "patient_id"}
                           for r in AL.get(pid, empty).to_dict("records")],
                "unconfirmed_rules_used": [r.to_dict() for r in rules if r.unconfirmed],
                "endpoints": {k: p[k] for k in ("pfs_days", "pfs_event", "ttp_days", "duration_of_response_days",
                                                "time_on_maintenance_days")},
                "citations": [r.to_dict() for r in rules if not r.unconfirmed],
            })
        return out


def _as_long(labs: pd.DataFrame) -> tuple[np.ndarray, ...]:
    for c in ("patient_id", "date", "analyte", "value"):
        if c not in labs.columns:
            raise PlateauError(f"labs: missing column {c!r}")
    a = labs["analyte"]
    if isinstance(a.dtype, pd.CategoricalDtype) and tuple(a.cat.categories) == U.ANALYTE_NAMES:
        acode = a.cat.codes.to_numpy().astype(np.int16)
    else:
        acode = pd.Categorical(a, categories=U.ANALYTE_NAMES).codes.astype(np.int16)
    if (acode < 0).any():
        bad = a[acode < 0].iloc[0]
        raise PlateauError(f"labs: unknown analyte {bad!r}; known: {', '.join(U.ANALYTE_NAMES)}")
    d = labs["date"].to_numpy()
    day = d.astype("datetime64[D]").astype(np.int64) if np.issubdtype(d.dtype, np.datetime64) \
        else np.asarray(d, dtype=np.int64)
    lln = labs["lln"].to_numpy(dtype=float) if "lln" in labs else None
    uln = labs["uln"].to_numpy(dtype=float) if "uln" in labs else None
    return acode, day, labs["value"].to_numpy(dtype=float), lln, uln


def _date_str(day) -> np.ndarray:
    return np.datetime_as_string(np.asarray(day, dtype=np.int64).astype("datetime64[D]"))


def _pday(col, n, fallback=None) -> np.ndarray:
    """Patient-level dates as int days (NaT -> INT_MIN sentinel)."""
    if col is None:
        return np.full(n, np.iinfo(np.int64).min)
    v = np.asarray(col, dtype="datetime64[ns]")
    out = v.astype("datetime64[D]").astype(np.int64)
    return np.where(np.isnat(v), np.iinfo(np.int64).min, out)


NA_DAY = np.iinfo(np.int64).min


def assess(labs: pd.DataFrame, patients: pd.DataFrame | None = None, events: pd.DataFrame | None = None,
           qol=None, config: MonitorConfig = MonitorConfig(), bad_rows: tuple = ()) -> MonitorResult:
    """Assess every patient: IMWG response/progression, CTCAE grades, dose actions and alerts.

    ``labs``: long table ``patient_id, date, analyte, value[, lln, uln]`` in canonical units
    (:func:`plateau.monitor.io.read_labs` produces it).  ``patients``: frame from
    :func:`~plateau.monitor.io.read_patients`; ``events``: from :func:`~plateau.monitor.io.read_events`;
    ``qol``: a :class:`plateau.monitor.qol.QolResult` whose declines become alerts.
    """
    cfg, icfg, dcfg = config, config.imwg, config.dosing
    acode, day, value, lln, uln = _as_long(labs)
    n_in = len(value)
    # ---- patient codes -----------------------------------------------------------------------
    pc_l, uniq = pd.factorize(labs["patient_id"], sort=False)
    uniq = pd.Index(uniq)
    extra = []
    for frame in (patients, events):
        if frame is not None and len(frame):
            ids = pd.Index(frame["patient_id"].astype(uniq.dtype if len(uniq) else object))
            extra.append(ids[uniq.get_indexer(ids) < 0])
    if extra:
        uniq = uniq.append(pd.Index(pd.unique(pd.Index(np.concatenate([e.to_numpy() for e in extra])))))
    P = len(uniq)
    pc_l = pc_l.astype(np.int64)

    # patient attributes
    agent = np.full(P, "none", dtype=object)
    dose = np.full(P, np.nan)
    start = np.full(P, NA_DAY)
    diag = np.full(P, NA_DAY)
    stop = np.full(P, NA_DAY)
    age = np.full(P, np.nan)
    weight = np.full(P, np.nan)
    female = np.zeros(P, dtype=bool)
    sex_known = np.zeros(P, dtype=bool)
    dialysis = np.zeros(P, dtype=bool)
    if patients is not None and len(patients):
        pi = uniq.get_indexer(patients["patient_id"].astype(uniq.dtype))
        agent[pi] = patients["agent"].to_numpy()
        dose[pi] = patients["dose_mg"].to_numpy(dtype=float)
        start[pi] = _pday(patients["maintenance_start"], len(pi))
        for arr, col in ((diag, "diagnosis_date"), (stop, "stop_date")):
            if col in patients:
                arr[pi] = _pday(patients[col], len(pi))
        for arr, col in ((age, "age"), (weight, "weight_kg")):
            if col in patients:
                arr[pi] = patients[col].to_numpy(dtype=float)
        if "sex" in patients:
            female[pi] = patients["sex"].to_numpy() == "F"
            sex_known[pi] = np.isin(patients["sex"].to_numpy(), ["F", "M"])
        if "dialysis" in patients:
            dialysis[pi] = patients["dialysis"].to_numpy(dtype=bool)
    elif cfg.baseline == "maintenance":
        pass  # no maintenance dates: the first assessment is the baseline (reported per patient below)

    # ---- one sort of the long table by (patient, day) ----------------------------------------
    if n_in:
        dmin, dmax = int(day.min()), int(day.max())
    else:
        dmin, dmax = 0, 0
    span = dmax - dmin + 2
    key = pc_l * span + (day - dmin)
    if n_in > 1 and not (key[1:] >= key[:-1]).all():
        order = np.argsort(key, kind="stable")
        key, pc_l, day, acode, value = key[order], pc_l[order], day[order], acode[order], value[order]
        lln = lln[order] if lln is not None else None
        uln = uln[order] if uln is not None else None

    rules = {}  # rule id -> per-patient bool array

    def use(rule_id, mask_p):
        rules[rule_id] = rules.get(rule_id, np.zeros(P, dtype=bool)) | mask_p

    # ---- disease analytes: pivot to one row per patient-day ------------------------------------
    dcodes = np.array([U.ANALYTE_CODE[a] for a in DISEASE])
    is_d = np.isin(acode, dcodes)
    kd = key[is_d]
    new = np.r_[True, kd[1:] != kd[:-1]] if len(kd) else np.zeros(0, dtype=bool)
    row_of = np.cumsum(new) - 1
    R = int(new.sum())
    rkey = kd[new]
    row_pc = rkey // span
    row_day = rkey % span + dmin
    W = {}
    a_d, v_d = acode[is_d], value[is_d]
    for name in DISEASE:
        col = np.full(R, np.nan)
        m = a_d == U.ANALYTE_CODE[name]
        col[row_of[m]] = v_d[m]
        W[name] = col
    Wdf = pd.DataFrame(W)
    gF = Wdf.groupby(row_pc, sort=False)
    F = gF.ffill()
    lastday = pd.DataFrame({n: np.where(np.isnan(W[n]), np.nan, row_day) for n in DISEASE}).groupby(
        row_pc, sort=False).ffill()

    first_row = np.searchsorted(row_pc, np.arange(P), "left")
    end_row = np.searchsorted(row_pc, np.arange(P), "right")
    has_rows = end_row > first_row
    if cfg.baseline == "maintenance":
        bday = start.copy()
    else:
        bday = diag.copy()
    no_bdate = bday == NA_DAY
    off = np.clip(np.where(no_bdate, -1, bday - dmin), -1, span - 1)
    base_row = np.searchsorted(rkey, np.arange(P) * span + off, "right") - 1
    base_row = np.where((base_row < first_row) | no_bdate, first_row, base_row)
    base_row = np.where(has_rows, base_row, 0)
    baseline_day = np.where(has_rows, row_day[np.minimum(base_row, max(R - 1, 0))] if R else NA_DAY, NA_DAY)

    def B(name):
        return np.where(has_rows, F[name].to_numpy()[base_row] if R else np.nan, np.nan)

    s0, u0, k0, l0, bm0 = B("serum_m_protein"), B("urine_m_protein"), B("kappa_flc"), B("lambda_flc"), \
        B("bm_plasma_cells")
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio0 = k0 / l0
    serum_meas = I.ge(s0, icfg.measurable_serum)
    urine_meas = I.ge(u0, icfg.measurable_urine)
    kappa_inv = ratio0 > icfg.flc_ratio_high
    lambda_inv = ratio0 < icfg.flc_ratio_low
    abnormal = kappa_inv | lambda_inv
    iflc0 = np.where(kappa_inv, k0, l0)
    dflc0 = np.where(kappa_inv, k0 - l0, l0 - k0)
    flc_ok = I.ge(iflc0, icfg.measurable_flc) if icfg.measurable_flc_inclusive else I.gt(iflc0, icfg.measurable_flc)
    mprot_meas = serum_meas | urine_meas
    flc_meas = ~mprot_meas & abnormal & flc_ok
    marrow_meas = ~mprot_meas & ~flc_meas & ~np.isnan(bm0)
    measurable_by = np.select([serum_meas, urine_meas, flc_meas, marrow_meas],
                              ["serum", "urine", "flc", "marrow"], None).astype(object)
    use("imwg-measurable-serum", serum_meas)
    use("imwg-measurable-urine", urine_meas & ~serum_meas)
    use("imwg-measurable-flc", flc_meas)
    use("imwg-involved-flc", flc_meas)
    use("imwg-flc-ratio-normal", has_rows)
    use("imwg-hierarchy", flc_meas | marrow_meas)
    use("imwg-measurable-flc-operator", ~mprot_meas & abnormal & (np.abs(iflc0 - icfg.measurable_flc) < 1e-9))

    # ---- per-assessment values -----------------------------------------------------------------
    rp = row_pc
    cf_days = icfg.carry_forward_days

    def cf(name, limit=True):
        v = F[name].to_numpy()
        if limit:
            v = np.where(row_day - lastday[name].to_numpy() <= cf_days, v, np.nan)
        return v

    s = W["serum_m_protein"]
    u_raw = W["urine_m_protein"]
    u_cf = cf("urine_m_protein")
    k_raw, l_raw = W["kappa_flc"], W["lambda_flc"]
    kinv_r = kappa_inv[rp] if R else np.zeros(0, bool)
    dflc = np.where(kinv_r, k_raw - l_raw, l_raw - k_raw)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio_cf = cf("kappa_flc") / cf("lambda_flc")
    ratio_normal = np.where(np.isnan(ratio_cf), np.nan,
                            ((ratio_cf >= icfg.flc_ratio_low) & (ratio_cf <= icfg.flc_ratio_high)).astype(float))
    sife, uife = cf("serum_ife"), cf("urine_ife")
    bm_raw, bm = W["bm_plasma_cells"], cf("bm_plasma_cells", limit=False)
    clonal = cf("bm_clonal_cells", limit=False)
    lesion = np.fmax(W["new_bone_lesion"], W["new_plasmacytoma"])
    bday_r = baseline_day[rp] if R else np.zeros(0, np.int64)
    window = row_day >= bday_r
    assess_row = row_day > bday_r

    ns = _group_prev_min(s, rp, window)
    nu = _group_prev_min(u_raw, rp, window)
    ndf = _group_prev_min(dflc, rp, window)
    nbm = _group_prev_min(bm_raw, rp, window)

    sm, um, fm, mm = (x[rp] if R else np.zeros(0, bool) for x in (serum_meas, urine_meas, flc_meas, marrow_meas))
    depth_r, blocked = I.classify(
        serum_meas=sm, urine_meas=um, flc_meas=fm, marrow_meas=mm, s=s, s0=s0[rp], u=u_cf, u0=u0[rp],
        dflc=dflc, dflc0=dflc0[rp], ratio_normal=ratio_normal, sife=sife, uife=uife, bm=bm, bm0=bm0[rp],
        clonal=clonal, cfg=icfg)
    pdf = I.progression_flags(s=s, ns=ns, u=u_raw, nu=nu, dflc=dflc, ndflc=ndf, bm=bm_raw, nbm=nbm,
                              lesion=lesion, flc_path=fm, marrow_path=mm, cfg=icfg)
    pd_any = np.zeros(R, dtype=bool)
    for v in pdf.values():
        pd_any |= v
    pd_any &= assess_row
    measurable_r = sm | um | fm | mm
    driving = np.select([sm, um, fm, mm], [~np.isnan(s), ~np.isnan(u_raw), ~np.isnan(dflc), ~np.isnan(bm_raw)],
                        False)
    evaluable = assess_row & ((measurable_r & driving) | pd_any)
    depth = np.where(pd_any, I.PD, depth_r)
    depth = np.where(evaluable, depth, I.NE).astype(np.int8)

    # ---- confirmation, progression, best response ---------------------------------------------
    ev_idx = np.flatnonzero(evaluable)
    pc_e, d_e = rp[ev_idx], depth[ev_idx]
    same_next = np.r_[pc_e[1:] == pc_e[:-1], False] if len(pc_e) else np.zeros(0, bool)
    next_d = np.where(same_next, np.r_[d_e[1:], -2] if len(d_e) else d_e, -2)
    same_prev = np.r_[False, pc_e[1:] == pc_e[:-1]] if len(pc_e) else np.zeros(0, bool)
    prev_d = np.where(same_prev, np.r_[-2, d_e[:-1]] if len(d_e) else d_e, -2)
    pd_e = d_e == I.PD
    pd_conf = pd_e & (next_d == I.PD) if icfg.confirm_pd else pd_e
    prog_e = _first_per_group(pc_e, pd_conf, P)
    prog_row = np.where(prog_e >= 0, ev_idx[np.maximum(prog_e, 0)] if len(ev_idx) else -1, -1)
    prog_day = np.where(prog_row >= 0, row_day[np.maximum(prog_row, 0)] if R else NA_DAY, NA_DAY)
    before_prog = np.where(prog_day[pc_e] == NA_DAY, True, row_day[ev_idx] < prog_day[pc_e]) if len(pc_e) \
        else np.zeros(0, bool)
    conf_depth = np.where(next_d >= 0, np.minimum(d_e, next_d), -1)
    row_best = np.where(d_e >= I.SD, np.maximum(I.SD, conf_depth), -1)
    row_best = np.where(before_prog & measurable_r[ev_idx], row_best, -1)
    best = np.full(P, -1, dtype=np.int64)
    if len(pc_e):
        np.maximum.at(best, pc_e, row_best)
    best = np.where((best < I.SD) & (prog_row >= 0), I.PD, best)
    best_first = _first_per_group(pc_e, (row_best == best[pc_e]) & (row_best >= I.SD), P) if len(pc_e) \
        else np.full(P, -1)
    best_row = np.where(best == I.PD, prog_row, np.where(best_first >= 0, ev_idx[np.maximum(best_first, 0)]
                                                          if len(ev_idx) else -1, -1))
    confirmed_e = np.where(d_e == I.PD, pd_conf | (pd_e & (prev_d == I.PD)),
                           np.where(d_e >= I.MR, next_d >= d_e, d_e == I.SD))
    pd_unconf_e = pd_e & ~confirmed_e
    unconf_first = _first_per_group(pc_e, pd_unconf_e & (prog_day[pc_e] == NA_DAY), P)

    # rule bookkeeping
    for code, rid in I.DEPTH_RULE.items():
        use(rid, (best == code) | _per_patient_any(pc_e, d_e == code, P))
    pd_crit = np.full(R, "", dtype=object)
    conf_rows = np.zeros(R, dtype=bool)
    conf_rows[ev_idx[pd_e & confirmed_e]] = True
    for crit, v in pdf.items():
        pd_crit = np.where(v & pd_any, np.where(pd_crit == "", crit, pd_crit + "+" + crit), pd_crit)
        use(I.PD_RULE[crit], _per_patient_any(rp, v & conf_rows, P))
    prog_p = prog_row >= 0
    use("imwg-confirm-pd", _per_patient_any(rp, pd_any, P))
    use("imwg-progression-date", prog_p)
    use("imwg-nadir", _per_patient_any(rp, pd_any, P))
    use("imwg-confirm-response", best >= I.MR)
    use("imwg-downgrade", _per_patient_any(rp, blocked & evaluable, P))
    use("imwg-pd-high-nadir-reference", _per_patient_any(rp, pdf["serum_high_nadir"] & conf_rows, P))
    ds = s - ns
    use("imwg-pd-serum-operator", _per_patient_any(rp, pdf["serum"] & conf_rows & (np.abs(ds - icfg.pd_serum_abs) < 1e-9), P))
    used_cf = evaluable & ((np.isnan(u_raw) & ~np.isnan(u_cf)) | (np.isnan(W["serum_ife"]) & ~np.isnan(sife))
                           | (np.isnan(bm_raw) & ~np.isnan(bm)))
    use("imwg-missing-secondary", _per_patient_any(rp, used_cf, P))
    if icfg.flc_vgpr:
        use("imwg-vgpr-flc-only", _per_patient_any(rp, fm & (depth == I.VGPR), P))
    if icfg.mr_requires_urine_above_200:
        use("imwg-mr-urine-200", best == I.MR)
    use("endpoint-pfs", has_rows & (measurable_by != None))  # noqa: E711

    # relapse from CR (not PD): after the first confirmed CR, IFE turns positive or marrow >= 5%
    cr_conf_e = conf_depth >= I.CR
    cr_first = _first_per_group(pc_e, cr_conf_e, P)
    cr_day = np.where(cr_first >= 0, row_day[ev_idx[np.maximum(cr_first, 0)]] if len(ev_idx) else NA_DAY, NA_DAY)
    relapse_mask = (assess_row & (cr_day[rp] != NA_DAY) & (row_day > cr_day[rp])
                    & ((W["serum_ife"] == 1) | (W["urine_ife"] == 1) | (bm_raw >= icfg.cr_marrow_below)))
    relapse_row = _first_per_group(rp, relapse_mask, P)
    use("imwg-relapse-from-cr", relapse_row >= 0)

    # endpoints
    last_ev = np.full(P, NA_DAY)
    if len(pc_e):
        np.maximum.at(last_ev, pc_e, row_day[ev_idx])
    t0 = np.where(start != NA_DAY, start, baseline_day)
    end_day = np.where(prog_day != NA_DAY, prog_day, last_ev)
    ok_t = (t0 != NA_DAY) & (end_day != NA_DAY) & (measurable_by != None)  # noqa: E711
    pfs_days = np.where(ok_t, end_day - t0, -1)
    resp_first = _first_per_group(pc_e, (conf_depth >= I.PR) & before_prog, P)
    resp_day = np.where(resp_first >= 0, row_day[ev_idx[np.maximum(resp_first, 0)]] if len(ev_idx) else NA_DAY,
                        NA_DAY)
    dor = np.where((resp_day != NA_DAY) & (end_day != NA_DAY), end_day - resp_day, -1)
    use("endpoint-dor", resp_day != NA_DAY)

    # ---- CTCAE from labs ------------------------------------------------------------------------
    is_g = np.isin(acode, [U.ANALYTE_CODE[a] for a in GRADED])
    g_pc, g_day, g_a, g_v = pc_l[is_g], day[is_g], acode[is_g], value[is_g]
    g_lln = lln[is_g] if lln is not None else np.full(len(g_v), np.nan)
    g_uln = uln[is_g] if uln is not None else np.full(len(g_v), np.nan)
    grade = np.zeros(len(g_v), dtype=np.int8)
    used_default = np.zeros(len(g_v), dtype=bool)
    creat_base_raised = np.zeros(len(g_v), dtype=bool)
    crcl_start = np.full(P, np.nan)
    for name in GRADED:
        m = g_a == U.ANALYTE_CODE[name]
        if not m.any():
            continue
        if name == "creatinine":
            cpc, cday, cv = g_pc[m], g_day[m], g_v[m]
            ckey = cpc * span + (cday - dmin)
            # baseline creatinine: last value on/before the baseline day, else the first value
            first_c = np.searchsorted(cpc, np.arange(P), "left")
            has_c = np.searchsorted(cpc, np.arange(P), "right") > first_c
            boff = np.clip(np.where(baseline_day == NA_DAY, -1, baseline_day - dmin), -1, span - 1)
            bi = np.searchsorted(ckey, np.arange(P) * span + boff, "right") - 1
            bi = np.where(bi < first_c, first_c, bi)
            cbase = np.where(has_c, cv[np.minimum(bi, len(cv) - 1)], np.nan)
            u_ = np.where(np.isnan(g_uln[m]), cfg.limits.creatinine_uln, g_uln[m])
            gr = C.grade_creatinine(cv, u_, cbase[cpc], cfg.creatinine_use_baseline)
            creat_base_raised[np.flatnonzero(m)] = gr > C.grade_creatinine(cv, u_, None, False)
            used_default[m] = np.isnan(g_uln[m]) & (gr > 0)
            grade[m] = gr
            # creatinine clearance at maintenance start (for renal dose rules)
            soff = np.clip(np.where(start == NA_DAY, -1, start - dmin), -1, span - 1)
            si = np.searchsorted(ckey, np.arange(P) * span + soff, "right") - 1
            si = np.where(si < first_c, first_c, si)
            cstart = np.where(has_c, cv[np.minimum(si, len(cv) - 1)], np.nan)
            ok = ~np.isnan(age) & ~np.isnan(weight) & sex_known & ~np.isnan(cstart) & (cstart > 0)
            crcl_start[ok] = D.cockcroft_gault(age[ok], weight[ok], cstart[ok], female[ok])
        else:
            lo = np.where(np.isnan(g_lln[m]), cfg.limits.default_for(name), g_lln[m])
            gr = C.grade_low(g_v[m], C.LAB_TERM_BY_ANALYTE[name].cutoffs, lo)
            used_default[m] = np.isnan(g_lln[m]) & (gr == 1)
            grade[m] = gr
    gm = grade > 0
    term_of_code = {U.ANALYTE_CODE[a]: C.LAB_TERM_BY_ANALYTE[a].term for a in GRADED}
    unit_of_code = {U.ANALYTE_CODE[a]: U.ANALYTES[a].canonical_unit for a in GRADED}
    codes_sorted = sorted(term_of_code)
    lut = np.zeros(len(U.ANALYTE_NAMES), dtype=np.int8)
    lut[codes_sorted] = np.arange(len(codes_sorted))
    ga = lut[g_a[gm]]
    ct_lab = pd.DataFrame({"pcode": g_pc[gm], "day": g_day[gm],
                           "term": pd.Categorical.from_codes(ga, [term_of_code[c] for c in codes_sorted]),
                           "grade": grade[gm], "source": pd.Categorical.from_codes(np.zeros(len(ga), np.int8), ["lab"]),
                           "value": g_v[gm],
                           "unit": pd.Categorical([unit_of_code[c] for c in codes_sorted])[ga]})
    use(C.RULE_DEFAULT_LIMITS.id, _per_patient_any(g_pc, used_default, P))
    use(C.RULE_CREATININE_BASELINE.id, _per_patient_any(g_pc, creat_base_raised, P))
    for name in GRADED:
        t = C.LAB_TERM_BY_ANALYTE[name]
        use(t.rule.id, _per_patient_any(g_pc, gm & (g_a == U.ANALYTE_CODE[name]), P))

    if events is not None and len(events):
        e_pc = uniq.get_indexer(events["patient_id"].astype(uniq.dtype))
        e_day = events["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
        ct_ev = pd.DataFrame({"pcode": e_pc, "day": e_day, "term": events["term"].to_numpy(),
                              "grade": events["grade"].to_numpy().astype(np.int8), "source": "reported",
                              "value": np.nan, "unit": "",
                              "with_pain": events["with_pain"].to_numpy() if "with_pain" in events
                              else np.zeros(len(events), bool)})
        for t in C.EVENT_TERMS.values():
            use(t.rule.id, _per_patient_any(e_pc, ct_ev["term"].to_numpy() == t.term, P))
    else:
        ct_ev = pd.DataFrame(columns=["pcode", "day", "term", "grade", "source", "value", "unit", "with_pain"])
    if len(ct_ev):
        ct = pd.concat([ct_lab.astype({"term": object, "source": object, "unit": object}),
                        ct_ev.drop(columns="with_pain")], ignore_index=True).sort_values(
            ["pcode", "day", "term"], kind="stable")
    else:
        ct = ct_lab  # already sorted by (pcode, day); terms of one day follow the analyte order

    # ---- dose actions ---------------------------------------------------------------------------
    from plateau.monitor import signal as SG

    actions, alert_rows = SG.dose_actions(
        P=P, agent=agent, dose=dose, start=start, stop=stop, dialysis=dialysis, crcl_start=crcl_start,
        pc_l=pc_l, day=day, acode=acode, value=value, ct_ev=ct_ev, ct_lab=ct_lab, cfg=dcfg, use=use,
        last_obs=np.where(has_rows, last_ev, NA_DAY), baseline_day=baseline_day)

    # ---- tables --------------------------------------------------------------------------------
    pid_str = uniq.astype(str).to_numpy()
    keep = assess_row
    cat_names = np.array(["NE", "PD", "SD", "MR", "PR", "VGPR", "CR", "sCR"], dtype=object)
    confirmed_r = np.zeros(R, dtype=bool)
    confirmed_r[ev_idx] = confirmed_e
    note = np.where(blocked & evaluable & (depth < I.CR) & (depth != I.PD),
                    "CR criteria met except marrow (not evaluable for CR)", "")
    note = np.where(evaluable & (depth == I.PD) & ~confirmed_r, "PD criteria met, not (yet) confirmed", note)
    assessments = pd.DataFrame({
        "patient_id": pid_str[rp[keep]] if R else np.zeros(0, object), "pcode": rp[keep],
        "date": _date_str(row_day[keep]), "response": cat_names[depth[keep].astype(int) + 1],
        "confirmed": confirmed_r[keep], "pd_criteria": pd_crit[keep], "note": note[keep],
    })
    ct["patient_id"] = pid_str[ct["pcode"].to_numpy().astype(int)] if len(ct) else []
    ct["date"] = _date_str(ct["day"].to_numpy()) if len(ct) else []

    def dstr(d):
        return np.where(d == NA_DAY, None, _date_str(np.where(d == NA_DAY, 0, d))).astype(object)

    best_name = np.where(best >= 0, cat_names[np.maximum(best, -1) + 1], None).astype(object)
    best_name = np.where(has_rows & (measurable_by != None), best_name, None)  # noqa: E711
    best_day = np.where((best_row >= 0) & (best_name != None), row_day[np.maximum(best_row, 0)] if R else NA_DAY,  # noqa: E711
                        NA_DAY)
    ttp = np.where(ok_t, pfs_days, -1)
    patients_tbl = pd.DataFrame({
        "patient_id": pid_str, "pcode": np.arange(P),
        "baseline_date": dstr(np.where(has_rows, baseline_day, NA_DAY)),
        "measurable_by": np.where(has_rows, measurable_by, None),
        "best_response": best_name, "best_response_date": dstr(best_day),
        "progression_date": dstr(prog_day),
        "pfs_days": [int(x) if x >= 0 else None for x in pfs_days] if P < 200000 else pfs_days,
        "pfs_event": prog_p,
        "ttp_days": [int(x) if x >= 0 else None for x in ttp] if P < 200000 else ttp,
        "duration_of_response_days": [int(x) if x >= 0 else None for x in dor] if P < 200000 else dor,
        "time_on_maintenance_days": SG.time_on_maintenance(start, stop, last_ev),
    })
    # alerts from progression / relapse / toxicity / QoL, then the benefit-harm signal
    alerts = SG.build_alerts(
        P=P, pid=pid_str, prog_day=prog_day, prog_row=prog_row, pd_crit=pd_crit, unconf_row=
        np.where(unconf_first >= 0, ev_idx[np.maximum(unconf_first, 0)] if len(ev_idx) else -1, -1),
        row_day=row_day, relapse_row=relapse_row, ct=ct, actions=actions, extra=alert_rows, qol=qol,
        best=best, dor=dor, use=use, uniq=uniq)
    if len(actions):
        actions.insert(0, "patient_id", pid_str[actions.pop("pcode").to_numpy().astype(int)])
    rule_pids, rule_ids = [], []
    for rid, mask in rules.items():
        idx = np.flatnonzero(mask)
        rule_pids.append(idx)
        rule_ids.append(np.full(len(idx), rid, dtype=object))
    if rule_pids:
        rp_all = np.concatenate(rule_pids)
        order = np.argsort(rp_all, kind="stable")
        rules_used = pd.DataFrame({"patient_id": pid_str[rp_all[order]], "rule": np.concatenate(rule_ids)[order]})
    else:
        rules_used = pd.DataFrame(columns=["patient_id", "rule"])
    return MonitorResult(
        patients=patients_tbl, assessments=assessments.drop(columns="pcode"),
        ctcae=ct[["patient_id", "date", "term", "grade", "source", "value", "unit"]].reset_index(drop=True),
        dose_actions=actions, alerts=alerts, rules_used=rules_used, config=cfg, bad_rows=tuple(bad_rows),
        n_input_rows=n_in)
