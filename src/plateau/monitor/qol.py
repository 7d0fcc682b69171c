"""EORTC QLQ-C30 v3.0 and QLQ-MY20 scoring, change from baseline and minimal important differences.

Scoring (EORTC QLQ-C30 Scoring Manual, 3rd ed. 2001, as implemented by the EORTC SAS macro and
PROscorer — C2): for a scale with items ``I1..In`` the raw score is the mean of the answered
items, ``RS = mean(I)``; with ``range`` = 3 for 4-point items and 6 for the 7-point items 29-30:

* functional scales: ``S = (1 - (RS - 1) / range) * 100``
* symptom scales, single items and global health status: ``S = (RS - 1) / range * 100``

A scale is scored when at least half of its items are answered (the "half rule"; a single
item needs its answer).  QLQ-MY20 (items my1-my20 = questionnaire items 31-50): disease symptoms
DS items 1-6 and side effects SE items 7-16 are symptom scales, body image BI item 17 and future
perspective FP items 18-20 functional scales (QoLR ``scoring.QLQMY20``, C2).

Change from baseline is judged against minimal important differences (MIDs): QLQ-C30 10 points
(Osoba 1998 "moderate" change, C2; consistent with the myeloma study of Kvam 2010, where changes
< 6 were unlikely to matter, C1 abstract) and QLQ-MY20 DS 10, SE 10, BI 13, FP 9 points (Eur J
Haematol 2019;103:500, C2).  A "decline" is a fall of a functional/global score or a rise of a
symptom score by at least the MID.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from plateau.errors import PlateauError
from plateau.rules.citations import (
    Rule,
)
from plateau.rules.qol import (  # the cited rule table (single home: plateau.rules)
    C30_MID,
    RULES,
    SCALE_BY_CODE,
    SCALES,
    Scale,
)

__all__ = [  # re-exported table names used by the evaluation code
    "C30_MID",
    "RULES",
    "SCALES",
    "SCALE_BY_CODE",
    "Scale",
]


def score_items(items: pd.DataFrame, scales=SCALES) -> pd.DataFrame:
    """Score every scale for every row at once (NumPy); NaN where the half rule fails.

    ``items`` has columns q1..q30 (and optionally my1..my20) holding answers or NaN.
    """
    out = {}
    for sc in scales:
        present = [c for c in sc.items if c in items.columns]
        if len(present) < len(sc.items):
            if sc.instrument == "QLQ-C30":
                raise PlateauError(f"QLQ-C30 scale {sc.code} needs items {', '.join(sc.items)}")
            continue
        x = items[list(sc.items)].to_numpy(dtype=float)
        answered = (~np.isnan(x)).sum(axis=1)
        with np.errstate(invalid="ignore"):
            rs = np.nansum(x, axis=1) / np.where(answered > 0, answered, np.nan)
        ok = answered * 2 >= len(sc.items)
        if sc.kind == "functional":
            s = (1.0 - (rs - 1.0) / sc.item_range) * 100.0
        else:
            s = (rs - 1.0) / sc.item_range * 100.0
        out[sc.code] = np.where(ok, s, np.nan)
    return pd.DataFrame(out, index=items.index)


@dataclass(frozen=True)
class QolResult:
    """Scores per questionnaire, change from each patient's baseline (first questionnaire), MID
    flags."""

    scores: pd.DataFrame  # patient_id, date, one column per scale
    changes: pd.DataFrame  # patient_id, date, scale, baseline, score, change, mid, status
    rules: tuple[Rule, ...] = field(default_factory=tuple)

    def declines(self) -> pd.DataFrame:
        return self.changes[self.changes["status"] == "decline"]

    def summary(self) -> str:
        n_p = self.scores["patient_id"].nunique() if len(self.scores) else 0
        d = self.declines()
        lines = [
            f"QLQ scoring: {len(self.scores)} questionnaires from {n_p} patients; "
            f"{len(d)} scale changes beyond the MID (decline)."
        ]
        for r in d.head(10).itertuples():
            lines.append(
                f"  {r.patient_id} {r.date}: {SCALE_BY_CODE[r.scale].name} {r.baseline:.1f} -> "
                f"{r.score:.1f} (change {r.change:+.1f}, MID {r.mid:g})"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict:
        patients = []
        for pid, grp in self.scores.groupby("patient_id", sort=False):
            ch = self.changes[self.changes["patient_id"] == pid]
            patients.append(
                {
                    "patient_id": str(pid),
                    "questionnaires": [
                        {
                            "date": str(row["date"]),
                            "scores": {
                                c: (None if pd.isna(row[c]) else round(float(row[c]), 4))
                                for c in grp.columns
                                if c not in ("patient_id", "date")
                            },
                        }
                        for _, row in grp.iterrows()
                    ],
                    "changes": [
                        {
                            "date": str(r.date),
                            "scale": r.scale,
                            "name": SCALE_BY_CODE[r.scale].name,
                            "baseline": round(float(r.baseline), 4),
                            "score": round(float(r.score), 4),
                            "change": round(float(r.change), 4),
                            "mid": float(r.mid),
                            "status": r.status,
                            "rule": SCALE_BY_CODE[r.scale].mid_rule,
                        }
                        for r in ch.itertuples()
                        if r.status != "within MID"
                    ],
                }
            )
        return {"patients": patients, "citations": [r.to_dict() for r in self.rules]}


def assess_qol(qlq: pd.DataFrame, baseline_dates: dict | None = None) -> QolResult:
    """Score questionnaires and compare each with the patient's baseline questionnaire.

    Baseline = the last questionnaire on or before ``baseline_dates[patient_id]`` (e.g. the start of
    maintenance) if given and present, else the patient's first questionnaire.
    """
    q = qlq.sort_values(["patient_id", "date"], kind="stable").reset_index(drop=True)
    scores = score_items(q)
    scored = pd.concat([q[["patient_id", "date"]], scores], axis=1)
    dates = q["date"].to_numpy()
    pid = q["patient_id"].to_numpy()
    is_base = ~pd.Series(pid).duplicated().to_numpy()  # first per patient
    if baseline_dates:
        bd = pd.Series(pid).map(baseline_dates).to_numpy(dtype="datetime64[ns]")
        before = (dates <= bd) & ~np.isnat(bd)
        has_before = pd.Series(before).groupby(pid).transform("any").to_numpy()
        last_before = (
            before & ~pd.Series(np.where(before, pid, None)).duplicated(keep="last").to_numpy()
        )
        is_base = np.where(has_before, last_before, is_base)
    base_idx = (
        pd.Series(np.where(is_base, np.arange(len(q)), np.nan))
        .groupby(pid)
        .transform("max")
        .to_numpy()
    )
    rows = []
    for sc in scores.columns:
        s = scores[sc].to_numpy()
        b = s[base_idx.astype(int)]
        after = np.arange(len(q)) > base_idx
        change = s - b
        spec = SCALE_BY_CODE[sc]
        worse = -change if spec.kind in ("functional", "global") else change
        status = np.where(
            worse >= spec.mid, "decline", np.where(-worse >= spec.mid, "improvement", "within MID")
        )
        m = after & ~np.isnan(change)
        rows.append(
            pd.DataFrame(
                {
                    "patient_id": pid[m],
                    "date": q["date"].dt.strftime("%Y-%m-%d").to_numpy()[m],
                    "scale": sc,
                    "baseline": b[m],
                    "score": s[m],
                    "change": change[m],
                    "mid": spec.mid,
                    "status": status[m],
                }
            )
        )
    changes = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    scored["date"] = scored["date"].dt.strftime("%Y-%m-%d")
    used = ["qol-c30-scoring", "qol-half-rule", "qol-mid-c30", "qol-mid-c30-myeloma"]
    if any(c.startswith("MY") for c in scores.columns):
        used += ["qol-my20-scoring", "qol-mid-my20"]
    return QolResult(scored, changes, tuple(RULES[r] for r in used))
