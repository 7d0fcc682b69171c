"""What researchers see: de-identified timelines and decision fields."""

from __future__ import annotations

import datetime as dt
import json
import re

_ISO_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")


def deidentify_text(text: str, start) -> str:
    if start is None:
        return _ISO_DATE.sub("[date]", text)

    def day(match):
        try:
            return f"day {(dt.date.fromisoformat(match.group(1)) - start).days}"
        except ValueError:
            return "[date]"

    return _ISO_DATE.sub(day, text)


def deidentified_timeline(tl: dict, start) -> dict:
    """Every calendar date (fields and free text) becomes "day N" since the start of maintenance."""
    if start is None:
        dates = [p["date"] for pts in tl.get("series", {}).values() for p in pts]
        start = dt.date.fromisoformat(min(dates)) if dates else None
    return json.loads(deidentify_text(json.dumps(tl), start))


def observed(tl: dict) -> dict:
    mon = tl.get("monitor") or {}
    ctcae = mon.get("ctcae", [])
    doses = tl.get("doses", [])
    qol = [q for q in tl.get("qol", []) if q.get("QL2") is not None]
    return {
        "best_response": mon.get("best_response"),
        "progression_date": mon.get("progression_date"),
        "time_on_maintenance_days": (mon.get("endpoints") or {}).get("time_on_maintenance_days"),
        "grade3plus": sorted({c["term"].replace("_", " ") for c in ctcae if int(c["grade"]) >= 3}),
        "holds": sum(1 for d in doses if d["action"] == "hold"),
        "dose_changes": sum(1 for d in doses if d["action"] == "change"),
        "qol_change": (round(qol[-1]["QL2"] - qol[0]["QL2"], 1) if len(qol) >= 2 else None),
    }


_IDENTIFYING_KEYS = re.compile(r"name|birth|mrn|identifier|address|phone|email|patient_id", re.I)


def decision_fields(decision: dict | None, identified: bool, start) -> list[tuple[str, str]]:
    if not decision:
        return []
    fields = []
    for key, value in (decision.get("snapshot") or {}).items():
        if isinstance(value, (dict, list)) or key in ("date", "evidence_version"):
            continue
        if not identified and _IDENTIFYING_KEYS.search(key):
            continue
        text = str(value)
        if not identified:
            text = deidentify_text(text, start)
        fields.append((key.replace("_", " "), text[:300]))
    return fields[:20]
