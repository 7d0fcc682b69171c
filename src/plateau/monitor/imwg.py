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
* PD: increase >= 25% from nadir with serum >= 0.5 g/dL (>= 1 g/dL suffices if nadir >= 5),
  urine >= 200 mg/24h, dFLC > 10 mg/dL (FLC-only disease), marrow plasma cells >= 10%
  (absolute), or a new bone lesion / plasmacytoma; confirmed by two consecutive assessments.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from plateau.monitor.citations import (
    ASH_SAP_MR,
    CIBMTR_MM,
    CIBMTR_PCL,
    DURIE_2006,
    FARYDAK_IMWG,
    FLC_RATIO_RANGE,
    IMWG_2011_TABLE,
    INVOLVED_FLC,
    KUMAR_2016_ADAPTED,
    PFS_DEF,
    PLATEAU,
    Rule,
)

CATEGORIES = ("PD", "SD", "MR", "PR", "VGPR", "CR", "sCR")  # index = depth code
NE, PD, SD, MR, PR, VGPR, CR, SCR = -1, 0, 1, 2, 3, 4, 5, 6


def category_name(depth: int) -> str:
    return "NE" if depth < 0 else CATEGORIES[depth]


def _rule(rid, text, source, where, tag):
    return Rule(rid, text, source, where, tag)


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        _rule(
            "imwg-measurable-serum",
            "measurable disease: serum M-protein >= 1 g/dL",
            CIBMTR_PCL,
            "measurable disease",
            "C2",
        ),
        _rule(
            "imwg-measurable-urine",
            "measurable disease: urine M-protein >= 200 mg/24h",
            CIBMTR_PCL,
            "measurable disease",
            "C2",
        ),
        _rule(
            "imwg-measurable-flc",
            "measurable by FLC only if serum and urine are not: involved FLC > 10 mg/dL "
            "with an abnormal FLC ratio",
            CIBMTR_PCL,
            "measurable disease",
            "C2",
        ),
        _rule(
            "imwg-measurable-flc-operator",
            "FLC measurability boundary: '> 10 mg/dL' (CIBMTR) used; the "
            "Kumar 2016 wording (>= 10 mg/dL) could not be read",
            KUMAR_2016_ADAPTED,
            "response table",
            "UNCONFIRMED",
        ),
        _rule(
            "imwg-hierarchy",
            "FLC criteria only without measurable serum/urine M-protein; marrow criteria only "
            "if serum, urine and FLC are all unmeasurable",
            IMWG_2011_TABLE,
            "Table 1, PR and PD",
            "C1",
        ),
        _rule(
            "imwg-flc-ratio-normal",
            "normal kappa/lambda FLC ratio 0.26-1.65 (use the lab's range when known)",
            FLC_RATIO_RANGE,
            "light-chain MGUS row",
            "C2",
        ),
        _rule(
            "imwg-involved-flc",
            "involved FLC = the light chain above the normal range (kappa if ratio high, "
            "lambda if low); dFLC = involved - uninvolved",
            INVOLVED_FLC,
            "diagnostic criteria",
            "C2",
        ),
        _rule(
            "imwg-scr",
            "sCR: CR plus normal FLC ratio plus absence of clonal plasma cells in marrow",
            DURIE_2006,
            "Table 5, sCR",
            "C1",
        ),
        _rule(
            "imwg-cr",
            "CR: negative serum and urine immunofixation, disappearance of soft-tissue "
            "plasmacytomas, < 5% plasma cells in marrow",
            DURIE_2006,
            "Table 5, CR",
            "C1",
        ),
        _rule(
            "imwg-cr-flc-only",
            "CR in FLC-only disease: a normal FLC ratio in place of the M-protein criteria",
            CIBMTR_PCL,
            "Non-Measurable Myeloma",
            "C2",
        ),
        _rule(
            "imwg-vgpr",
            "VGPR: M-protein detectable by immunofixation but not electrophoresis, or >= 90% "
            "serum reduction plus urine < 100 mg/24h",
            DURIE_2006,
            "Table 5, VGPR",
            "C1",
        ),
        _rule(
            "imwg-vgpr-flc-only",
            "VGPR in FLC-only disease: >= 90% fall in dFLC (IMWG rule not read; from a "
            "plasma-cell leukaemia table)",
            KUMAR_2016_ADAPTED,
            "response table",
            "UNCONFIRMED",
        ),
        _rule(
            "imwg-pr",
            "PR: >= 50% serum reduction and urine reduction >= 90% or to < 200 mg/24h",
            IMWG_2011_TABLE,
            "Table 1, PR",
            "C1",
        ),
        _rule(
            "imwg-pr-flc",
            "PR in FLC-only disease: >= 50% decrease in dFLC",
            IMWG_2011_TABLE,
            "Table 1, PR",
            "C1",
        ),
        _rule(
            "imwg-pr-marrow",
            "PR in marrow-only disease: >= 50% fall in marrow plasma cells, baseline >= 30%",
            IMWG_2011_TABLE,
            "Table 1, PR",
            "C1",
        ),
        _rule(
            "imwg-mr",
            "MR: 25-49% serum reduction and 50-89% urine reduction",
            ASH_SAP_MR,
            "Table 4, MR",
            "C2",
        ),
        _rule(
            "imwg-mr-urine-200",
            "MR qualifier 'urine still exceeds 200 mg/24h' (ASH-SAP) conflicts with the "
            "Kumar-adapted table; plateau does not require it unless configured",
            ASH_SAP_MR,
            "Table 4, MR",
            "UNCONFIRMED",
        ),
        _rule(
            "imwg-sd",
            "SD: not meeting criteria for CR, VGPR, PR, MR or PD",
            KUMAR_2016_ADAPTED,
            "Table 1, SD",
            "C2",
        ),
        _rule(
            "imwg-nadir",
            "increases are measured from the lowest response value (nadir)",
            DURIE_2006,
            "Table 5, PD",
            "C1",
        ),
        _rule(
            "imwg-pd-serum",
            "PD: serum M-protein >= 25% above nadir and absolute increase >= 0.5 g/dL",
            IMWG_2011_TABLE,
            "Table 1, PD",
            "C1",
        ),
        _rule(
            "imwg-pd-serum-operator",
            "serum PD boundary: '>= 0.5 g/dL' (2006/2011) used; the Kumar-adapted "
            "2016 table prints '> 0.5 g/dL'",
            KUMAR_2016_ADAPTED,
            "Table 1, PD",
            "UNCONFIRMED",
        ),
        _rule(
            "imwg-pd-high-nadir",
            "PD: serum increase >= 1 g/dL suffices when the lowest M-component is >= 5 g/dL",
            KUMAR_2016_ADAPTED,
            "Table 1, PD",
            "C2",
        ),
        _rule(
            "imwg-pd-high-nadir-reference",
            "high-M-component rule compared with the nadir (Kumar wording); the "
            "Farydak page says 'starting M component'",
            FARYDAK_IMWG,
            "PD footnote",
            "UNCONFIRMED",
        ),
        _rule(
            "imwg-pd-urine",
            "PD: urine M-protein >= 25% above nadir and absolute increase >= 200 mg/24h",
            IMWG_2011_TABLE,
            "Table 1, PD",
            "C1",
        ),
        _rule(
            "imwg-pd-flc",
            "PD (no measurable serum/urine M-protein): dFLC >= 25% above nadir and absolute "
            "increase > 10 mg/dL",
            IMWG_2011_TABLE,
            "Table 1, PD",
            "C1",
        ),
        _rule(
            "imwg-pd-marrow",
            "PD: marrow plasma cells >= 25% above nadir with absolute percentage >= 10% "
            "(only without measurable serum, urine and FLC)",
            IMWG_2011_TABLE,
            "Table 1, PD",
            "C1",
        ),
        _rule(
            "imwg-pd-marrow-2016",
            "PD by marrow irrespective of baseline status, absolute increase >= 10%",
            KUMAR_2016_ADAPTED,
            "Table 1, PD (text truncated)",
            "C2",
        ),
        _rule(
            "imwg-pd-lesion",
            "PD: definite development of new bone lesions or soft-tissue plasmacytomas",
            IMWG_2011_TABLE,
            "Table 1, PD",
            "C1",
        ),
        _rule(
            "imwg-confirm-pd",
            "progression requires two consecutive assessments before classification or new therapy",
            FARYDAK_IMWG,
            "NOTE",
            "C2",
        ),
        _rule(
            "imwg-confirm-response",
            "response categories require two consecutive assessments by the same method; "
            "marrow need not be repeated",
            CIBMTR_MM,
            "confirmation",
            "C2",
        ),
        _rule(
            "imwg-downgrade",
            "if some criteria of a level are missing (e.g. no marrow for CR), report the next "
            "lower level",
            CIBMTR_MM,
            "downgrade rule",
            "C2",
        ),
        _rule(
            "imwg-progression-date",
            "date of progression = first of the two confirming assessments",
            PLATEAU,
            "issue 7 specification (IMWG text not read)",
            "UNCONFIRMED",
        ),
        _rule(
            "imwg-relapse-from-cr",
            "relapse from CR: reappearance of M-protein by IFE or >= 5% marrow plasma "
            "cells (not used for PFS/TTP)",
            FARYDAK_IMWG,
            "footnote (5% cut-off); other items C3",
            "C2",
        ),
        _rule(
            "imwg-missing-secondary",
            "a secondary parameter missing at an assessment is carried forward up to "
            "`carry_forward_days`; if still missing its criterion is not applied (marrow carried indefinitely)",
            PLATEAU,
            "plateau.monitor.imwg.ImwgConfig",
            "DESIGN",
        ),
        _rule(
            "endpoint-pfs",
            "PFS: from start of therapy (baseline) to progression or death",
            PFS_DEF,
            "definition",
            "C2",
        ),
        _rule(
            "endpoint-dor",
            "duration of response: from first confirmed >= PR to progression (IMWG text not read)",
            PLATEAU,
            "plateau.monitor.engine",
            "UNCONFIRMED",
        ),
    )
}


@dataclass(frozen=True)
class ImwgConfig:
    """Thresholds of the IMWG rules (defaults = the cited values; see :data:`RULES`)."""

    measurable_serum: float = 1.0  # g/dL, >=
    measurable_urine: float = 200.0  # mg/24h, >=
    measurable_flc: float = 10.0  # mg/dL, involved FLC
    measurable_flc_inclusive: bool = False  # False: ">" (CIBMTR, C2); True: ">=" (UNCONFIRMED)
    flc_ratio_low: float = 0.26
    flc_ratio_high: float = 1.65
    pd_relative: float = 0.25
    pd_serum_abs: float = 0.5  # g/dL
    pd_serum_inclusive: bool = True  # ">=" (2006/2011, C1); False -> ">" (Kumar-adapted)
    pd_high_nadir: float = 5.0  # g/dL
    pd_high_nadir_increase: float = 1.0  # g/dL
    pd_urine_abs: float = 200.0  # mg/24h, >=
    pd_flc_abs: float = 10.0  # mg/dL, >
    pd_marrow_abs: float = 10.0  # %, absolute percentage >=
    pd_marrow_mode: str = "2011"  # "2011" (C1) or "2016" (irrespective of baseline, C2)
    marrow_pr_baseline: float = 30.0
    cr_marrow_below: float = 5.0
    mr_requires_urine_above_200: bool = False
    flc_vgpr: bool = False  # UNCONFIRMED rule, off by default
    confirm_pd: bool = True
    carry_forward_days: int = 60

    def to_dict(self) -> dict:
        return asdict(self)


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
):
    """Response depth (SD..sCR) per assessment, ignoring PD (vectorised; NaN = not measured).

    Boolean "measurable" arrays are per assessment (the patient's baseline status broadcast).
    Returns ``(depth, cr_blocked_by_missing_marrow)``.
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
        vgpr_ep = mprot & s_ok(s == 0) & (~has_u | (u == 0)) & ife_pos
        vgpr_red = mprot & s_ok(ge(rs, 0.9)) & (~has_u | (u < 100.0))
        vgpr_m = vgpr_ep | vgpr_red
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
        cr = core & marrow_ok
        scr = cr & (ratio_normal == 1) & (clonal == 0)
        depth = np.full(s.shape, SD, dtype=np.int8)
        depth = np.where(mr_m, MR, depth)
        depth = np.where(pr_m | pr_f | pr_b, PR, depth)
        depth = np.where(vgpr_m | vgpr_f, VGPR, depth)
        # IFE-negative disease is at least VGPR by the electrophoresis criterion when marrow is missing
        depth = np.where(core & ~marrow_ok & mprot, np.maximum(depth, VGPR), depth)
        depth = np.where(cr, CR, depth)
        depth = np.where(scr, SCR, depth)
        blocked = core & marrow_missing
    return depth.astype(np.int8), blocked


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
        if cfg.pd_marrow_mode == "2016":
            marrow = ge(db, cfg.pd_relative * nbm) & ge(db, cfg.pd_marrow_abs)
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


PD_RULE = {
    "serum": "imwg-pd-serum",
    "serum_high_nadir": "imwg-pd-high-nadir",
    "urine": "imwg-pd-urine",
    "flc": "imwg-pd-flc",
    "marrow": "imwg-pd-marrow",
    "lesion": "imwg-pd-lesion",
}
DEPTH_RULE = {
    SD: "imwg-sd",
    MR: "imwg-mr",
    PR: "imwg-pr",
    VGPR: "imwg-vgpr",
    CR: "imwg-cr",
    SCR: "imwg-scr",
}
