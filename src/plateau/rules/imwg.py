"""IMWG response and progression rule table: categories, cited rules, thresholds.

The vectorised evaluation lives in :mod:`plateau.monitor.imwg`; this module is the single
home of the rules and their citations (see docs/clinical-rules.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from plateau.rules.citations import (
    ASH_SAP_MR,
    CIBMTR_MM,
    CIBMTR_PCL,
    DURIE_2006,
    FARYDAK_IMWG,
    FLC_RATIO_RANGE,
    IMWG_2011_TABLE,
    IMWG_PCL,
    IMWG_RELAPSE,
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
            "VGPR in FLC-only disease (serum and urine M-protein unmeasurable): >= 90% fall in "
            "dFLC (IMWG plasma-cell leukaemia criteria footnote; the myeloma consensus table "
            "was read only in adapted form)",
            IMWG_PCL,
            "Table 1, footnote c",
            "C2",
        ),
        _rule(
            "imwg-vgpr-urine-not-retested",
            "VGPR needs a urine study showing urine M-protein < 100 mg/24h whether or not urine "
            "was measurable at baseline (the urine condition is part of the VGPR row; footnote a "
            "extends the serum and urine studies to VGPR and CR whatever was measurable at "
            "baseline, a sentence the stored copy of the table truncates): without a urine "
            "M-protein in the carry-forward window, or a negative urine immunofixation, the "
            "assessment is reported one level lower (PR) and flagged",
            DURIE_2006,
            "Table 5, VGPR ('>= 90% reduction in serum M-component plus urine M-component "
            "< 100 mg per 24 h') and footnote a (with the CIBMTR downgrade rule)",
            "C1",
        ),
        _rule(
            "imwg-marrow-no-confirmation",
            "bone-marrow results need no confirmation: a response in marrow-only disease counts "
            "from the marrow that shows it",
            CIBMTR_MM,
            "confirmation",
            "C2",
        ),
        _rule(
            "imwg-baseline",
            "response is measured against the pre-treatment (diagnosis) baseline: induction, "
            "transplant and maintenance form one line of therapy (Rajkumar et al., Blood "
            "2015;126:921, not read here); the maintenance-start baseline is an explicit option",
            PLATEAU,
            "plateau.monitor.engine.MonitorConfig.baseline",
            "DESIGN",
        ),
        _rule(
            "imwg-lesion-carried",
            "a new bone lesion or soft-tissue plasmacytoma, once reported, is present at every "
            "later assessment until the patient is re-imaged (it confirms progression at the "
            "next assessment)",
            PLATEAU,
            "plateau.monitor.engine._assessment_values",
            "DESIGN",
        ),
        _rule(
            "imwg-clinical-relapse",
            "clinical relapse (CRAB): new soft-tissue plasmacytomas or bone lesions; definite "
            "increase (>= 50%) in size of existing ones; hypercalcaemia (>= 11.5 mg/dL); fall in "
            "haemoglobin >= 2 g/dL; rise in serum creatinine >= 2 mg/dL; each attributable to "
            "myeloma (a clinical judgement plateau cannot make: alerts say 'possible')",
            IMWG_RELAPSE,
            "Table 2, clinical relapse",
            "C2",
        ),
        _rule(
            "imwg-crab-reference",
            "CRAB changes measured from the value at maintenance start (last on or before it, "
            "else the first); hypercalcaemia is a fixed level needing no reference value (any "
            "calcium after the start counts, also a first-ever one); hypercalcaemia "
            "'>= 11.5 mg/dL' (Table 2) vs '> 11.5 mg/dL' (Durie 2006 via Farydak) vs "
            "'> 11 mg/dL' (Kumar 2016 via a secondary page): 11.5 inclusive used",
            PLATEAU,
            "plateau.rules.imwg.ImwgConfig",
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
            "PD by marrow (only without measurable serum/urine M-protein and FLC): >= 25% "
            "increase from nadir with an absolute increase >= 10 percentage points, "
            "irrespective of baseline status",
            KUMAR_2016_ADAPTED,
            "Table 1, PD",
            "C2",
        ),
        _rule(
            "imwg-plasmacytoma-response",
            "soft-tissue plasmacytoma present at baseline (SPD > 0): MR, PR and VGPR also need a "
            ">= 50% reduction of its size (sum of the products of the diameters); CR needs its "
            "disappearance (SPD 0); the last SPD measured is used (imaging is not repeated at "
            "every assessment)",
            DURIE_2006,
            "Table 5, PR ('if present at baseline, >= 50% reduction in the size of soft tissue "
            "plasmacytomas') and CR",
            "C1",
        ),
        _rule(
            "imwg-pd-plasmacytoma",
            "PD: definite increase in the size of an existing plasmacytoma, taken as a >= 50% "
            "increase of the SPD from its nadir (nadir > 0); reported as the 'lesion' criterion",
            IMWG_RELAPSE,
            "Table 2, clinical relapse ('definite increase (>= 50%) in size')",
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
            "docs/clinical-rules.md section 1.5 (IMWG text not read)",
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
            "`carry_forward_days`; if still missing its criterion is not applied (marrow carried "
            "indefinitely)",
            PLATEAU,
            "plateau.rules.imwg.ImwgConfig",
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
    pd_marrow_mode: str = "2016"  # "2016": absolute increase >= 10 (C2); "2011": level >= 10% (C1)
    marrow_pr_baseline: float = 30.0
    cr_marrow_below: float = 5.0
    mr_requires_urine_above_200: bool = False
    flc_vgpr: bool = True  # >= 90% dFLC fall (C2, IMWG PCL table)
    vgpr_needs_urine: bool = True  # VGPR needs a urine study (< 100 mg/24h), whatever the baseline
    marrow_needs_confirmation: bool = False  # marrow results need no confirmation (C2)
    carry_lesions: bool = True  # a reported new lesion stays present (DESIGN)
    plasmacytoma_reduction: float = 0.5  # PR/MR/VGPR need >= 50% SPD reduction if present
    plasmacytoma_pd_increase: float = 0.5  # PD: SPD >= 50% above its nadir
    crab_calcium: float = 11.5  # mg/dL, >=
    crab_hb_fall: float = 2.0  # g/dL, >=
    crab_creatinine_rise: float = 2.0  # mg/dL, >=
    confirm_pd: bool = True
    carry_forward_days: int = 60

    def to_dict(self) -> dict:
        return asdict(self)


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
