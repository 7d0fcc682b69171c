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
            "non-haematologic adverse events 22.2/26.4/34.0%; treatment discontinuation "
            "16.5/20.8/31.2%",
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
    """Hazard multiplier of an R-ISS stage relative to the whole R-ISS cohort (PFS or OS)."""
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


# --------------------------------------------------------------------------------------------
# prognostic adjustment by MRD status (cited cohort HR + cited prevalence)
# --------------------------------------------------------------------------------------------

MRD_META = S(
    "munshi-2020-mrd",
    "Munshi et al., Blood Adv 2020;4(23):5988 (MRD meta-analysis, 44 studies), abstract",
    "https://doi.org/10.1182/bloodadvances.2020002827",
)
CASSIOPEIA_MRD = S(
    "cassiopeia-mrd-2025",
    "CASSIOPEIA long-term MRD analysis, Blood 2025;146(6):679, abstract",
    "http://ashpublications.net/blood/article/146/6/679/536289/",
)
#: MRD-negative vs MRD-positive hazard ratios (Munshi 2020 abstract: PFS 0.33, 0.29-0.37;
#: OS 0.45, 0.39-0.51)
MRD_HR: dict[str, tuple[float, float, float]] = {
    "PFS": (0.33, 0.29, 0.37),
    "OS": (0.45, 0.39, 0.51),
}
#: share MRD-negative (10^-5) before maintenance: CASSIOPEIA after consolidation 63.7% (D-VTd)
#: and 43.7% (VTd), equal arms -> 53.7%; post-ASCT only
MRD_NEGATIVE_SHARE_POST_ASCT = (63.7 + 43.7) / 2 / 100


def mrd_multiplier(status: str, outcome: str, share_negative: float | None = None) -> float:
    """Hazard multiplier of an MRD status relative to a trial population with ``share_negative``.

    Proportional hazards within a two-group mixture: the population hazard is approximately
    ``h (p HR + 1 - p)`` with ``h`` the MRD-positive hazard, so MRD-negative ``HR / (p HR + 1 - p)``
    and MRD-positive ``1 / (p HR + 1 - p)`` (an approximation, as for R-ISS).
    """
    p = MRD_NEGATIVE_SHARE_POST_ASCT if share_negative is None else share_negative
    hr = MRD_HR[outcome][0]
    denom = p * hr + 1 - p
    return hr / denom if status == "negative" else 1.0 / denom


# --------------------------------------------------------------------------------------------
# Q-TWiST defaults, thromboprophylaxis, values data, HRQoL on maintenance
# --------------------------------------------------------------------------------------------

QTWIST_REVIEW = S(
    "solem-2018-qtwist",
    "Solem et al., systematic review of Q-TWiST in oncology (ISPOR 2014 abstract; Expert Rev "
    "Pharmacoecon Outcomes Res 2018): u(TWiST) = 1, u(TOX) = u(REL) = 0.5 most common base case "
    "(28 of 45 articles); relative gain >= 10% clinically important, >= 15% clearly important",
    "https://www.ispor.org/heor-resources/presentations-database/presentation/"
    "ispor-19th-annual-international-meeting/systematic-review-of-the-q-twist-in-oncology",
)
IMWG_VTE = S(
    "palumbo-2008-vte",
    "Palumbo et al. (IMWG), Prevention of thalidomide- and lenalidomide-associated thrombosis "
    "in myeloma, Leukemia 2008;22:414-423, abstract",
    "https://doi.org/10.1038/sj.leu.2405062",
)
REVLIMID_BOXED = S(
    "revlimid-boxed-warning",
    "Lenalidomide US prescribing information, boxed warning (venous and arterial "
    "thromboembolism), as reproduced with the label",
    "https://api.fda.gov/drug/label.json?search=set_id%3A%2251bfdd53-8fd9-4f86-bebe-75de29e6379d%22",
)
MAYO_SURVEY = S(
    "mayo-2013-values",
    "Mayo Clinic survey of 736 patients on maintenance, Cancer 2013 (PMID 24105720), abstract",
    "https://pubmed.ncbi.nlm.nih.gov/24105720/",
)

#: Q-TWiST defaults: utilities from the review above; months per grade >= 3 event: design
QTWIST_DEFAULTS: dict[str, float] = {"u_tox": 0.5, "u_rel": 0.5, "tox_months": 1.0}

RULES.update(
    {
        r.id: r
        for r in (
            Rule(
                "mrd-adjust",
                "baseline hazard multiplied by HR / (p HR + 1 - p) (MRD negative) or 1 / (p HR "
                "+ 1 - p) "
                "(MRD positive); HR MRD-negative vs positive PFS 0.33, OS 0.45 (Munshi 2020); "
                "p = 53.7% "
                "MRD-negative before maintenance (CASSIOPEIA after consolidation); post-ASCT only",
                MRD_META,
                "abstract",
                "C2",
            ),
            Rule(
                "qtwist-utilities",
                "default utilities u(TOX) = u(REL) = 0.5, u(TWiST) = 1 (the most common base "
                "case in "
                "published Q-TWiST analyses)",
                QTWIST_REVIEW,
                "abstract",
                "C2",
            ),
            Rule(
                "qtwist-tox-duration",
                "each grade >= 3 adverse event is counted as 1 month of toxicity (the trials "
                "do not "
                "report durations); user-settable",
                PLATEAU_DESIGN,
                "decision model",
                "UNCONFIRMED",
            ),
            Rule(
                "vte-imwg",
                "lenalidomide/thalidomide: aspirin if <= 1 VTE risk factor, LMWH (enoxaparin 40 mg "
                "daily equivalent) if >= 2; risk factors include age, history of VTE, central "
                "venous "
                "catheter, comorbidities (infections, diabetes, cardiac disease), immobilisation, "
                "surgery, inherited thrombophilia",
                IMWG_VTE,
                "abstract",
                "C1",
            ),
            Rule(
                "vte-age-threshold",
                "age counted as a VTE risk factor from 75 years (the abstract lists 'age' "
                "without a "
                "threshold; the paper's table was not read)",
                IMWG_VTE,
                "risk-assessment table (not read)",
                "C3",
            ),
            Rule(
                "len-boxed-vte",
                "lenalidomide carries a boxed warning for venous and arterial thromboembolism",
                REVLIMID_BOXED,
                "boxed warning",
                "C1",
            ),
            Rule(
                "mayo-values",
                "patients' stated willingness to take maintenance for a given survival gain, "
                "toxicity "
                "and cost",
                MAYO_SURVEY,
                "abstract",
                "C1",
            ),
        )
    }
)

#: what patients said (Mayo Clinic survey, Cancer 2013; 736 completed surveys)
VALUES_DATA: dict = {
    "respondents": 736,
    "would_choose": [
        ("free, no side effects, survival gain of 1 year or less", 49),
        ("same, with moderate side effects", 42),
        ("same, with moderate side effects and a cost of $25 a month", 39),
    ],
    "most_worrying_side_effect": [
        ("nerve damage (peripheral neuropathy)", 27),
        ("low blood counts", 24),
        ("blood clots (deep vein thrombosis)", 20),
        ("tiredness", 15),
        ("nausea", 8),
        ("diarrhoea or constipation", 7),
    ],
}

VALUES_QUESTIONS: tuple[tuple[str, str], ...] = (
    ("pfs", "More time without the myeloma getting worse"),
    ("os", "Living longer"),
    ("side_effects", "Avoiding side effects"),
    ("visits", "Fewer clinic visits and tests"),
    ("cost", "Lower cost"),
)


def values_data() -> dict:
    """Published data on what patients consider worth which burdens (shown in the values step)."""
    return {
        "citation": MAYO_SURVEY.title,
        "url": MAYO_SURVEY.url,
        "rule": RULES["mayo-values"].to_dict(),
        "respondents": VALUES_DATA["respondents"],
        "would_choose": [{"scenario": s, "percent": p} for s, p in VALUES_DATA["would_choose"]],
        "most_worrying_side_effect": [
            {"side_effect": s, "percent": p} for s, p in VALUES_DATA["most_worrying_side_effect"]
        ],
        "questions": [{"id": k, "text": t} for k, t in VALUES_QUESTIONS],
    }


# --------------------------------------------------------------------------------------------
# health-related quality of life reported on maintenance (shown beside each option)
# --------------------------------------------------------------------------------------------

CONNECT_MM_QOL = S(
    "abonour-2018-connect-qol",
    "Abonour et al., Ann Hematol 2018;97(12):2425-2436 (Connect MM registry), PMID 30056582, "
    "abstract",
    "https://pmc.ncbi.nlm.nih.gov/articles/PMC6208675",
)
FIRST_QOL = S(
    "delforge-2015-first-qol",
    "Delforge et al., Haematologica 2015;100(6):826-833 (FIRST trial HRQoL), PMID 25769541, "
    "abstract",
    "https://pmc.ncbi.nlm.nih.gov/articles/PMC4450629",
)
LENAMAIN_QOL = S(
    "lenamain-2023-qol",
    "LenaMain trial HRQoL, Cancers 2023;15(21):5157, doi 10.3390/cancers15215157, PMID 37958331, "
    "abstract",
    "https://pubmed.ncbi.nlm.nih.gov/37958331/",
)
MM3_QOL = S(
    "schjesvold-2020-mm3-qol",
    "Schjesvold et al., Eur J Haematol 2020;104(5):443-458 (TOURMALINE-MM3 HRQoL), PMID 31880006, "
    "abstract",
    "https://pubmed.ncbi.nlm.nih.gov/31880006/",
)
HOVON87_QOL = S(
    "nielsen-2020-hovon87-qol",
    "Nielsen et al., Haematologica 2020;105(6):1650-1659 (HOVON-87/NMSG18 HRQoL), PMID 31515355, "
    "abstract",
    "https://pubmed.ncbi.nlm.nih.gov/31515355/",
)
MM015_QOL = S(
    "dimopoulos-2013-mm015-qol",
    "Dimopoulos et al., MM-015 HRQoL (MPR-R vs MPR vs MP), abstract as indexed",
    "https://ichgcp.net/cs/clinical-trials-registry/publications/77987-lenalidomide-melphalan-and-"
    "prednisone-followed-by-lenalidomide-maintenance-improves-health-related",
)


@dataclass(frozen=True)
class HRQoL:
    agent: str
    settings: tuple[str, ...]
    study: str
    design: str
    instrument: str
    finding: str
    source: Source
    tag: str

    def to_dict(self) -> dict:
        return {
            "agent": self.agent,
            "study": self.study,
            "design": self.design,
            "instrument": self.instrument,
            "finding": self.finding,
            "citation": self.source.title,
            "url": self.source.url,
            "tag": self.tag,
        }


HRQOL_ON_MAINTENANCE: tuple[HRQoL, ...] = (
    HRQoL(
        "lenalidomide",
        ("post_asct",),
        "Connect MM registry",
        "observational: lenalidomide-only maintenance (n = 169) vs no maintenance (n = 137) "
        "after ASCT",
        "FACT-MM, EQ-5D, Brief Pain Inventory",
        "no significant difference in change from pre-ASCT baseline (FACT-MM total P = 0.72; "
        "EQ-5D index, pain and trial outcome index also not different)",
        CONNECT_MM_QOL,
        "C1",
    ),
    HRQoL(
        "lenalidomide",
        ("non_transplant",),
        "FIRST",
        "randomised: continuous lenalidomide-dexamethasone until progression vs fixed-duration "
        "regimens (not maintenance vs observation)",
        "QLQ-C30, QLQ-MY20, EQ-5D",
        "quality of life improved from baseline in all pre-selected domains on both; side-effects "
        "of treatment (MY20) scored lower (better) with lenalidomide-dexamethasone than MPT",
        FIRST_QOL,
        "C1",
    ),
    HRQoL(
        "lenalidomide",
        ("post_asct",),
        "LenaMain",
        "randomised: lenalidomide maintenance 25 mg vs 5 mg after ASCT (dose comparison)",
        "QLQ-C30",
        "global health status/QoL constant over 2 years without significant difference between "
        "doses (mean change < 2; median 68 at baseline, 58 and 68 at 2 years); diarrhoea "
        "increased on both doses",
        LENAMAIN_QOL,
        "C1",
    ),
    HRQoL(
        "ixazomib",
        ("post_asct",),
        "TOURMALINE-MM3",
        "randomised, double-blind: ixazomib (n = 386) vs placebo (n = 251) maintenance after ASCT",
        "QLQ-C30, QLQ-MY20",
        "changes small and similar between arms for global health status, physical functioning, "
        "pain, disease symptoms and neuropathy; nausea/vomiting and diarrhoea consistently worse "
        "with ixazomib; no difference reached the minimal important difference of 10",
        MM3_QOL,
        "C1",
    ),
    HRQoL(
        "lenalidomide",
        ("non_transplant",),
        "MM-015",
        "randomised: MPR followed by lenalidomide maintenance vs MPR vs MP (no maintenance)",
        "QLQ-C30, QLQ-MY20",
        "patients on lenalidomide maintenance had the most pronounced improvements in global "
        "health status/QoL (P < 0.05), physical functioning (P < 0.01) and side effects of "
        "treatment (P < 0.05)",
        MM015_QOL,
        "C2",
    ),
    HRQoL(
        "lenalidomide",
        ("non_transplant",),
        "HOVON-87/NMSG18",
        "randomised: MP-thalidomide then thalidomide maintenance vs MP-lenalidomide then "
        "lenalidomide maintenance (no observation arm)",
        "QLQ-C30, QLQ-MY20",
        "both groups reported clinically relevant improvement in global QoL and other domains "
        "(596 patients reporting); the lenalidomide group reported increasing diarrhoea",
        HOVON87_QOL,
        "C2",
    ),
    HRQoL(
        "thalidomide",
        ("non_transplant",),
        "HOVON-87/NMSG18",
        "randomised: MP-thalidomide then thalidomide maintenance vs MP-lenalidomide then "
        "lenalidomide maintenance (no observation arm)",
        "QLQ-C30, QLQ-MY20",
        "both groups reported clinically relevant improvement in global QoL and other domains; "
        "few patients completed thalidomide therapy (42 of the MPT-T group, 15%)",
        HOVON87_QOL,
        "C2",
    ),
)


def hrqol_for(agent: str, setting: str) -> list[dict]:
    """Reported HRQoL on ``agent`` maintenance relevant to ``setting`` (may be empty)."""
    return [h.to_dict() for h in HRQOL_ON_MAINTENANCE if h.agent == agent and setting in h.settings]


# --------------------------------------------------------------------------------------------
# effect modifiers reported by trials (shown; applied only with a cited interaction and CIs)
# --------------------------------------------------------------------------------------------

CASSIOPEIA_EHA2021 = S(
    "cassiopeia-eha-2021",
    "CASSIOPEIA part 2 interim analysis, EHA 2021 (ecancer report)",
    "https://m.ecancer.org/en/news/20460-eha-2021-daratumumab-maintenance-improves-progression-"
    "free-survival-after-autologous-stem-cell-transplantation-in-multiple-myeloma-patients",
)
RULES["cassiopeia-induction-modifier"] = Rule(
    "cassiopeia-induction-modifier",
    "daratumumab maintenance by induction: the 2021 interim analysis reported the PFS benefit "
    "only after VTd induction/consolidation (comparable PFS to observation after D-VTd); the "
    "2024 long-term analysis (Moreau, Lancet Oncol 2024) and the 2025 MRD analysis report a PFS "
    "benefit regardless of induction. Subgroup hazard ratios with CIs and the interaction test "
    "were not read, so the whole-trial HR is applied",
    CASSIOPEIA_EHA2021,
    "report of the interim subgroup analysis",
    "C2",
)

RULES["riss-mrd-not-both"] = Rule(
    "riss-mrd-not-both",
    "when both R-ISS stage and MRD status are known, only the MRD multiplier is applied: the "
    "published hazard ratios are each unadjusted for the other, so multiplying them would count "
    "shared prognostic information twice",
    PLATEAU_DESIGN,
    "decision model",
    "DESIGN",
)
