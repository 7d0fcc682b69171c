"""EORTC QLQ-C30 / QLQ-MY20 scales, minimal important differences and cited scoring rules.

Evaluation lives in :mod:`plateau.monitor.qol`.
"""

from __future__ import annotations

from dataclasses import dataclass

from plateau.rules.citations import (
    EORTC_SAS,
    KVAM_2010,
    MY20_MID_2019,
    OSOBA_1998,
    PROSCORER,
    QOLR_MY20,
    Rule,
)


@dataclass(frozen=True)
class Scale:
    code: str
    name: str
    kind: str  # "functional", "symptom", "global"
    items: tuple[str, ...]
    item_range: int
    instrument: str
    mid: float
    mid_rule: str


C30_MID = 10.0
_C30 = (
    ("QL2", "Global health status/QoL", "global", (29, 30), 6),
    ("PF2", "Physical functioning", "functional", (1, 2, 3, 4, 5), 3),
    ("RF2", "Role functioning", "functional", (6, 7), 3),
    ("EF", "Emotional functioning", "functional", (21, 22, 23, 24), 3),
    ("CF", "Cognitive functioning", "functional", (20, 25), 3),
    ("SF", "Social functioning", "functional", (26, 27), 3),
    ("FA", "Fatigue", "symptom", (10, 12, 18), 3),
    ("NV", "Nausea and vomiting", "symptom", (14, 15), 3),
    ("PA", "Pain", "symptom", (9, 19), 3),
    ("DY", "Dyspnoea", "symptom", (8,), 3),
    ("SL", "Insomnia", "symptom", (11,), 3),
    ("AP", "Appetite loss", "symptom", (13,), 3),
    ("CO", "Constipation", "symptom", (16,), 3),
    ("DI", "Diarrhoea", "symptom", (17,), 3),
    ("FI", "Financial difficulties", "symptom", (28,), 3),
)
_MY20 = (
    ("MYDS", "Disease symptoms", "symptom", tuple(range(1, 7)), 10.0),
    ("MYSE", "Side effects of treatment", "symptom", tuple(range(7, 17)), 10.0),
    ("MYBI", "Body image", "functional", (17,), 13.0),
    ("MYFP", "Future perspective", "functional", (18, 19, 20), 9.0),
)
SCALES: tuple[Scale, ...] = tuple(
    Scale(c, n, k, tuple(f"q{i}" for i in items), r, "QLQ-C30", C30_MID, "qol-mid-c30")
    for c, n, k, items, r in _C30
) + tuple(
    Scale(c, n, k, tuple(f"my{i}" for i in items), 3, "QLQ-MY20", mid, "qol-mid-my20")
    for c, n, k, items, mid in _MY20
)
SCALE_BY_CODE = {s.code: s for s in SCALES}

RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule(
            "qol-c30-scoring",
            "QLQ-C30 v3 scales: raw score = mean of answered items; functional "
            "(1-(RS-1)/range)x100, symptom/global (RS-1)/range x100",
            EORTC_SAS,
            "macro %score (types F, S, G)",
            "C2",
        ),
        Rule(
            "qol-half-rule",
            "a scale is scored if at least half of its items are answered",
            PROSCORER,
            "R/qlq_c30.R (okmiss = 0.5)",
            "C2",
        ),
        Rule(
            "qol-my20-scoring",
            "QLQ-MY20: DS items 1-6, SE 7-16 (symptom); BI 17, FP 18-20 (functional); half rule",
            QOLR_MY20,
            "R/scoring.QLQMY20.R",
            "C2",
        ),
        Rule(
            "qol-mid-c30",
            "QLQ-C30 MID 10 points (moderate change, Osoba 1998)",
            OSOBA_1998,
            "secondary description",
            "C2",
        ),
        Rule(
            "qol-mid-c30-myeloma",
            "myeloma QLQ-C30 changes < 6 points unlikely to matter; deterioration 9-17",
            KVAM_2010,
            "abstract",
            "C1",
        ),
        Rule(
            "qol-mid-my20",
            "QLQ-MY20 MIDs: DS 10, SE 10, BI 13, FP 9 points",
            MY20_MID_2019,
            "abstract",
            "C2",
        ),
    )
}
