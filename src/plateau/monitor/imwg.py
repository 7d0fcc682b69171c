"""IMWG response and progression rules as a cited table, and their vectorised evaluation.

The criteria are those of the IMWG uniform response criteria (Durie et al., Leukemia 2006;
Rajkumar et al., Blood 2011) with the 2016 consensus additions (Kumar et al., Lancet Oncol
2016; read only as adapted in a 2023 review table, hence C2).  Every threshold below is a field
of :class:`ImwgConfig` and every decision an entry of :data:`RULES`.

Response depth codes: NE -1, PD 0, SD 1, MR 2, PR 3, VGPR 4, CR 5, sCR 6.

Per assessment (all reductions from baseline, increases from the nadir = lowest value of the
parameter from baseline up to the previous assessment):

* M-protein disease (serum >= 1 g/dL or urine >= 200 mg/24h at baseline), with
  ``rs = 1 - S/S0`` and ``ru = 1 - U/U0`` applied to the measurable compartments:
  PR ``rs >= 0.50`` and (``ru >= 0.90`` or ``U < 200``); VGPR ``rs >= 0.90`` and ``U < 100``, or
  M-protein detectable by immunofixation only; MR ``0.25 <= rs`` and ``0.50 <= ru``;
  CR negative serum and urine IFE and marrow plasma cells < 5%; sCR CR + normal FLC ratio +
  no clonal plasma cells in marrow.
* FLC-only disease (involved FLC > 10 mg/dL with an abnormal ratio): PR ``dFLC`` falls >= 50%;
  CR needs a normal FLC ratio in place of the M-protein criteria.
* Marrow-only disease: PR a >= 50% fall in marrow plasma cells if baseline >= 30%.
* FLC-only VGPR: dFLC falls >= 90% (C2).  M-protein VGPR needs a urine study showing urine
  M-protein < 100 mg/24h (a urine M-protein within the carry-forward window, or a negative urine
  immunofixation) whether or not urine was measurable at baseline (Durie 2006 Table 5 footnote:
  "VGPR and CR categories require serum and urine studies regardless of whether disease at
  baseline was measurable on serum, urine, both or either"); without one the assessment is PR
  and flagged.
* PD: increase >= 25% from nadir with serum >= 0.5 g/dL (>= 1 g/dL suffices if nadir >= 5),
  urine >= 200 mg/24h, dFLC > 10 mg/dL (FLC-only disease), marrow plasma cells rising by >= 10
  percentage points (Kumar 2016; marrow-only disease; the 2011 wording "absolute percentage
  >= 10%" is ``pd_marrow_mode="2011"``), or a new bone lesion / plasmacytoma; confirmed by two
  consecutive assessments.
"""

from __future__ import annotations

import numpy as np

from plateau.rules.imwg import (  # the cited rule table (single home: plateau.rules)
    CATEGORIES,
    CR,
    DEPTH_RULE,
    MR,
    NE,
    PD,
    PD_RULE,
    PR,
    RULES,
    SCR,
    SD,
    VGPR,
    ImwgConfig,
    category_name,
)

__all__ = [  # re-exported table names used by the evaluation code
    "CATEGORIES",
    "CR",
    "DEPTH_RULE",
    "ImwgConfig",
    "MR",
    "NE",
    "PD",
    "PD_RULE",
    "PR",
    "RULES",
    "SCR",
    "SD",
    "VGPR",
    "category_name",
]


_EPS = 1e-9


def ge(a, b):
    """``a >= b`` robust to binary rounding of unit conversions (relative tolerance 1e-9)."""
    return np.asarray(a) >= np.asarray(b) - _EPS * np.maximum(1.0, np.abs(b))


def gt(a, b):
    return np.asarray(a) > np.asarray(b) + _EPS * np.maximum(1.0, np.abs(b))


def classify(
    *,
    serum_meas,
    urine_meas,
    flc_meas,
    marrow_meas,
    s,
    s0,
    u,
    u0,
    dflc,
    dflc0,
    ratio_normal,
    sife,
    uife,
    bm,
    bm0,
    clonal,
    cfg: ImwgConfig,
    spd=None,
    spd0=None,
):
    """Response depth (SD..sCR) per assessment, ignoring PD (vectorised; NaN = not measured).

    ``spd``/``spd0``: plasmacytoma size (sum of the products of the diameters) at the
    assessment (last measured) and at baseline; with a plasmacytoma at baseline, MR/PR/VGPR
    need a >= 50% reduction and CR its disappearance (rule ``imwg-plasmacytoma-response``).

    Boolean "measurable" arrays are per assessment (the patient's baseline status broadcast).
    Returns ``(depth, cr_blocked_by_missing_marrow, vgpr_blocked_by_missing_urine)``.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        rs = 1.0 - s / s0
        ru = 1.0 - u / u0
        rf = 1.0 - dflc / dflc0
        has_u = ~np.isnan(u)
        mprot = serum_meas | urine_meas
        ife_neg = (sife == 0) & (uife == 0)
        ife_pos = (sife == 1) | (uife == 1)
        marrow_ok = bm < cfg.cr_marrow_below
        marrow_missing = np.isnan(bm)

        # M-protein pathway
        s_ok = lambda cond: ~serum_meas | cond  # noqa: E731  (criterion applies only if measurable)
        pr_m = mprot & s_ok(ge(rs, 0.5)) & (~urine_meas | ~has_u | ge(ru, 0.9) | (u < 200.0))
        # VGPR needs a urine study whatever was measurable at baseline (rule
        # imwg-vgpr-urine-not-retested): a urine M-protein (carried forward up to
        # carry_forward_days) or a negative urine immunofixation shows urine < 100 mg/24h
        u_missing = (~has_u & ~(uife == 0)) if cfg.vgpr_needs_urine else np.zeros_like(has_u)
        vgpr_ep = mprot & s_ok(s == 0) & (~has_u | (u == 0)) & ife_pos
        vgpr_red = mprot & s_ok(ge(rs, 0.9)) & (~has_u | (u < 100.0))
        vgpr_urine_missing = (vgpr_ep | vgpr_red) & u_missing
        vgpr_m = (vgpr_ep | vgpr_red) & ~u_missing
        mr_m = mprot & s_ok(ge(rs, 0.25)) & (~urine_meas | ~has_u | ge(ru, 0.5))
        if cfg.mr_requires_urine_above_200:
            mr_m &= ~urine_meas | ~has_u | (u > 200.0)
        cr_core = ife_neg
        # FLC pathway
        pr_f = flc_meas & ge(rf, 0.5)
        vgpr_f = flc_meas & ge(rf, 0.9) if cfg.flc_vgpr else np.zeros_like(pr_f)
        cr_f_core = flc_meas & ife_neg & (ratio_normal == 1)
        # marrow pathway
        pr_b = marrow_meas & (bm0 >= cfg.marrow_pr_baseline) & ge(1.0 - bm / bm0, 0.5)
        cr_b_core = marrow_meas & ife_neg

        core = np.where(flc_meas, cr_f_core, np.where(marrow_meas, cr_b_core, mprot & cr_core))
        if spd0 is not None:
            present = spd0 > 0
            shrunk = ~present | ge(
                1.0 - spd / np.where(present, spd0, 1.0), cfg.plasmacytoma_reduction
            )
            gone = ~present | (spd == 0)
            mr_m &= shrunk
            pr_m &= shrunk
            pr_f &= shrunk
            pr_b &= shrunk
            vgpr_m &= shrunk
            vgpr_f &= shrunk
            vgpr_urine_missing &= shrunk
            core &= gone
        cr = core & marrow_ok
        scr = cr & (ratio_normal == 1) & (clonal == 0)
        depth = np.full(s.shape, SD, dtype=np.int8)
        depth = np.where(mr_m, MR, depth)
        depth = np.where(pr_m | pr_f | pr_b, PR, depth)
        depth = np.where(vgpr_m | vgpr_f, VGPR, depth)
        # IFE-negative disease is at least VGPR by the electrophoresis criterion when marrow is
        # missing
        depth = np.where(core & ~marrow_ok & mprot, np.maximum(depth, VGPR), depth)
        depth = np.where(cr, CR, depth)
        depth = np.where(scr, SCR, depth)
        blocked = core & marrow_missing
        vgpr_urine_missing &= depth < VGPR
    return depth.astype(np.int8), blocked, vgpr_urine_missing


def progression_flags(
    *, s, ns, u, nu, dflc, ndflc, bm, nbm, lesion, flc_path, marrow_path, cfg: ImwgConfig
):
    """PD criteria per assessment against the nadirs ``ns, nu, ndflc, nbm`` (NaN = unknown).

    Returns a dict of boolean arrays: serum, serum_high_nadir, urine, flc, marrow, lesion.
    """
    with np.errstate(invalid="ignore"):
        ds, du, df, db = s - ns, u - nu, dflc - ndflc, bm - nbm
        abs_s = ge(ds, cfg.pd_serum_abs) if cfg.pd_serum_inclusive else gt(ds, cfg.pd_serum_abs)
        serum = ge(ds, cfg.pd_relative * ns) & abs_s
        serum_hi = ge(ns, cfg.pd_high_nadir) & ge(ds, cfg.pd_high_nadir_increase) & ~serum
        urine = ge(du, cfg.pd_relative * nu) & ge(du, cfg.pd_urine_abs)
        flc = flc_path & ge(df, cfg.pd_relative * ndflc) & gt(df, cfg.pd_flc_abs)
        if cfg.pd_marrow_mode == "2016":  # absolute increase, marrow-only disease (Kumar 2016)
            marrow = marrow_path & ge(db, cfg.pd_relative * nbm) & ge(db, cfg.pd_marrow_abs)
        else:
            marrow = marrow_path & ge(db, cfg.pd_relative * nbm) & ge(bm, cfg.pd_marrow_abs)
        return {
            "serum": serum,
            "serum_high_nadir": serum_hi,
            "urine": urine,
            "flc": flc,
            "marrow": marrow,
            "lesion": lesion == 1,
        }
