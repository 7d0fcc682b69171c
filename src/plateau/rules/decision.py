"""Cited tables used by decision support: risk-group adjustment, safety flags, burden.

Dose and renal rules are *not* restated here: they are the monitoring rule table
:data:`plateau.rules.dosing.RULES` (one table for the project).  This module adds only what
decision support needs on top, each rule with its source and confidence tag (C1/C2/C3/
UNCONFIRMED/DESIGN, as in :mod:`plateau.rules.citations`).

Risk-group adjustment of the baseline (R-ISS)
---------------------------------------------
R-ISS (Palumbo et al., J Clin Oncol 2015) in 3,060 patients from 11 trials: stage I n = 871
(28%), II n = 1,894 (62%), III n = 295 (10%) (ASH Clinical News,
https://ashpublications.org/ashclinicalnews/news/2274/, C2); 5-year OS 82/62/40% and 5-year PFS
55/36/24% (Cancer Therapy Advisor report of the paper, C2; clinical-rules spec section 5.1).
plateau turns these into a multiplier on the control arms' hazard, assuming the trials' control
populations have the R-ISS cohort's stage mix and that stages differ by proportional hazards:

    M_stage = ln S_stage(60) / ln S_all(60),   S_all(60) = sum_s p_s S_s(60)

(OS: M = 0.467 / 1.126 / 2.158; PFS: 0.655 / 1.119 / 1.563 for I / II / III).  This is an
approximation (a mixture of exponentials is not exponential; R-ISS survival is from diagnosis
and from an older era) and is reported as such with every adjusted number.  R2-ISS, ISS alone,
cytogenetics alone and IMWG frailty do **not** adjust the baseline: their outcome tables by
stage are either unconfirmed in the primary paper (R2-ISS, spec section 5.2, C2 only) or lack
the cohort mix needed for the multiplier; the profile's value is shown with a note instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from plateau.rules.citations import Rule, Source

S = Source

RISS_PAPER = S(
    "palumbo-2015-riss",
    "Palumbo et al., J Clin Oncol 2015 (R-ISS), as reported by ASH Clinical News",
    "https://ashpublications.org/ashclinicalnews/news/2274/IMWG-Revises-International-Staging-System-for",
)
RISS_OUTCOMES = S(
    "palumbo-2015-riss-outcomes",
    "Palumbo et al., J Clin Oncol 2015 (R-ISS), as reported by Cancer Therapy Advisor",
    "https://www.cancertherapyadvisor.com/home/cancer-topics/multiple-myeloma/"
    "imwg-revises-international-staging-system-for-multiple-myeloma/2/",
)
RISS_DEFINITION = S(
    "ash-hematologist-riss",
    "The Hematologist (ASH): Multiple myeloma ISS and R-ISS",
    "https://thehematologist.org/multiple-myeloma-iss-and-r-iss/",
)
FRAILTY_PAPER = S(
    "palumbo-2015-frailty",
    "Palumbo et al., Blood 2015;125(13):2068 (IMWG frailty score) abstract",
    "http://ashpublications.net/blood/article/125/13/2068/33964/",
)
R2ISS_SECONDARY = S(
    "r2iss-secondary",
    "R2-ISS (D'Agostino, JCO 2022) as restated in Blood Cancer J 2025 (RW-ISS)",
    "http://preview-www.nature.com/articles/s41408-025-01268-y",
)
PLATEAU_DESIGN = S("plateau", "plateau design choice (no source rule)", "")

#: stage -> (proportion of the cohort, 5-year OS %, 5-year PFS %)
RISS_TABLE: dict[str, tuple[float, float, float]] = {
    "I": (871 / 3060, 82.0, 55.0),
    "II": (1894 / 3060, 62.0, 36.0),
    "III": (295 / 3060, 40.0, 24.0),
}

RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule(
            "riss-adjust",
            "baseline hazard multiplied by ln S_stage(5 y) / ln S_all(5 y) from the R-ISS cohort "
            "(5-year OS 82/62/40%, PFS 55/36/24%; stages 28/62/10% of 3,060 patients)",
            RISS_PAPER,
            "cohort sizes; 5-year OS and PFS by stage",
            "C2",
        ),
        Rule(
            "riss-definition",
            "R-ISS I: ISS I, standard-risk cytogenetics [no del(17p), t(4;14), t(14;16)] and "
            "normal LDH; R-ISS III: ISS III and high-risk cytogenetics or high LDH",
            RISS_DEFINITION,
            "R-ISS table",
            "C1",
        ),
        Rule(
            "r2iss-no-adjust",
            "R2-ISS outcome by stage not confirmed in the primary paper: no baseline adjustment",
            R2ISS_SECONDARY,
            "R2-ISS scoring restated",
            "C2",
        ),
        Rule(
            "frailty-outcomes",
            "IMWG frailty (fit / intermediate / frail): 3-year OS 84/76/57%; 12-month grade >= 3 "
            "non-haematologic adverse events 22.2/26.4/34.0%; treatment discontinuation 16.5/20.8/31.2%",
            FRAILTY_PAPER,
            "abstract",
            "C1",
        ),
        Rule(
            "high-risk-no-subgroup",
            "no hazard ratio by cytogenetic risk with a confidence interval is in the "
            "evidence base: the whole-trial hazard ratio is applied",
            PLATEAU_DESIGN,
            "decision model",
            "DESIGN",
        ),
        Rule(
            "vte-prophylaxis",
            "thromboprophylaxis recommendations for thalidomide or lenalidomide were not among the "
            "sources read; check the current label and local guideline",
            PLATEAU_DESIGN,
            "safety flags",
            "UNCONFIRMED",
        ),
        Rule(
            "baseline-exponential",
            "control-arm curves are exponential through each arm's published median or "
            "x-year rate, pooled on the log-hazard scale (REML)",
            PLATEAU_DESIGN,
            "decision model",
            "DESIGN",
        ),
    )
}


def riss_multiplier(stage: str, outcome: str) -> float:
    """Hazard multiplier of an R-ISS stage relative to the whole R-ISS cohort (``outcome`` PFS or OS)."""
    column = 1 if outcome == "OS" else 2
    s_all = sum(row[0] * row[column] / 100 for row in RISS_TABLE.values())
    return math.log(RISS_TABLE[stage][column] / 100) / math.log(s_all)


# --------------------------------------------------------------------------------------------
# burden: how each agent is taken (route) — with the document it was read from
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    route: str  #: "oral" or "injection"
    text: str
    source: str  #: where it was read


ROUTES: dict[str, Route] = {
    "lenalidomide": Route(
        "oral", "capsules by mouth, daily", "Myeloma XI arm: 'lenalidomide 10 mg orally'"
    ),
    "thalidomide": Route(
        "oral",
        "capsules by mouth, daily",
        "HOVON-50 / HOVON-65 thalidomide 50 mg daily (clinical-rules spec 3.3, C1)",
    ),
    "ixazomib": Route(
        "oral",
        "capsules by mouth on days 1, 8 and 15 of each 4-week cycle",
        "TOURMALINE-MM3 abstract: 'oral ixazomib' (clinical-rules spec 3.4, C1)",
    ),
    "daratumumab": Route(
        "injection",
        "intravenous infusion in clinic every 8 weeks",
        "CASSIOPEIA arm: 'daratumumab IV 16 mg/kg every 8 weeks'",
    ),
    "bortezomib": Route(
        "injection",
        "injection in clinic",
        "HOVON-65/GMMG-HD4 1.3 mg/m2 every 2 weeks (clinical-rules spec 3.2, C1)",
    ),
    "carfilzomib": Route("injection", "intravenous infusion in clinic", "ATLAS arm regimen (KRd)"),
}

#: clinic visits per year for treatment given in clinic, from the trial schedule
INFUSION_VISITS_PER_YEAR: dict[str, tuple[float, str]] = {
    "daratumumab": (52 / 8, "every 8 weeks (CASSIOPEIA)"),
    "bortezomib": (26.0, "every 2 weeks (HOVON-65/GMMG-HD4)"),
}


# --------------------------------------------------------------------------------------------
# subgroup rows of the evidence that match a profile (harms and effects)
# --------------------------------------------------------------------------------------------

#: (trial id, subgroup label as stored) -> does this profile belong to the subgroup?
SUBGROUP_MATCHERS: dict[tuple[str, str], Callable] = {
    ("MyelomaXI", "transplant non-eligible aged >74 y"): lambda p: (
        p.transplant_status == "not_eligible" and p.age > 74
    ),
    ("TOURMALINE-MM4", "CR or VGPR after induction"): lambda p: p.response in ("sCR", "CR", "VGPR"),
    ("TT2", "cytogenetic abnormalities (CA+)"): lambda p: bool(p.high_risk_cytogenetics),
}
