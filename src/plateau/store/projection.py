"""What researchers see: a projection BUILT from allowed fields, never a filter over identified
data.

A researcher's view of a patient is constructed field by field from the identified record:

* the patient: ``pseudonym`` (random ``R-XXXXXXXX``, also the opaque id in URLs, so nothing
  follows import order) - never the identifier, name, birth date or internal id;
* every date: ``day N`` since the start of maintenance (:func:`day`), never a calendar date or a
  timestamp;
* values: numbers, units, and coded values (IMWG response categories, CTCAE terms and grades,
  alert rules and severities, agents, dose actions, decision-profile choices); free text (alert
  messages, notes, decision labels) is not carried over.

Anything not listed here is absent from the projection because it is never copied into it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plateau.store.models import TreatmentLine

_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_ +/>=<.-]{0,59}$")
_DATE_LIKE = re.compile(r"\d{4}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}")


def maintenance_starts(session: Session, ids: list[int]) -> dict[int, dt.date]:
    """Start of the latest maintenance line per patient (day 0 of the projection)."""
    out: dict[int, dt.date] = {}
    if not ids:
        return out
    for pid, start in session.execute(
        select(TreatmentLine.patient_id, TreatmentLine.start_date)
        .where(TreatmentLine.patient_id.in_(ids), TreatmentLine.kind == "maintenance")
        .order_by(TreatmentLine.start_date)
    ):
        out[pid] = start
    return out


def day(value: Any, start: dt.date | None) -> str | None:
    """``day N`` since ``start`` for an ISO date (or timestamp); None when unknown."""
    if value in (None, "") or start is None:
        return None
    try:
        d = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
    if isinstance(d, dt.datetime):
        d = d.date()
    return f"day {(d - start).days}"


def code(value: Any) -> str | None:
    """A coded value (short token without digits that could form a date); else None."""
    if value is None:
        return None
    text = str(value)
    if not _CODE.match(text) or _DATE_LIKE.search(text):
        return None
    return text


def number(value: Any) -> float | int | bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value == value:
        return value
    return None


def _items(rows, start, *, dates=("date",), codes=(), numbers=()) -> list[dict]:
    out = []
    for r in rows or []:
        item: dict[str, Any] = {}
        for k in dates:
            item[k] = day(r.get(k), start)
        for k in codes:
            item[k] = code(r.get(k))
        for k in numbers:
            item[k] = number(r.get(k))
        out.append(item)
    return out


def decision_projection(decision: dict | None, start: dt.date | None) -> dict | None:
    """A decision snapshot projected: day of the decision, evidence version, coded profile choices
    and numeric profile values only (labels, names and free text never copied)."""
    if not decision:
        return None
    from plateau.decide.profile import CHOICES

    snapshot = decision.get("snapshot") or {}
    raw_profile = snapshot.get("profile")
    profile: dict = raw_profile if isinstance(raw_profile, dict) else {}
    fields: list[tuple[str, str]] = []
    for key, value in list(profile.items()) + list(snapshot.items()):
        if key in CHOICES and isinstance(value, str) and value in CHOICES[key]:
            fields.append((key.replace("_", " "), value))
        elif key in CHOICES or key in _NUMERIC_PROFILE:
            n = number(value)
            if n is not None and not isinstance(n, bool):
                fields.append((key.replace("_", " "), f"{n:g}"))
    version = code(decision.get("evidence_version")) or (
        str(decision.get("evidence_version"))
        if re.fullmatch(r"[0-9a-f]{6,64}", str(decision.get("evidence_version") or ""))
        else None
    )
    return {"date": day(decision.get("date"), start), "evidence_version": version, "fields": fields}


_NUMERIC_PROFILE = {
    "age",
    "weight_kg",
    "creatinine_clearance_ml_min",
    "ecog",
    "years",
    "horizon_years",
}


def timeline_projection(tl: dict, start: dt.date | None) -> dict:
    """The researcher's timeline, built from allowed fields of the identified timeline ``tl``."""
    m = tl.get("maintenance")
    monitor = tl.get("monitor")
    out: dict[str, Any] = {
        "maintenance": {
            "agent": code(m.get("agent")),
            "start": "day 0",
            "stop": day(m.get("stop"), start),
            "current_dose": number(m.get("current_dose")),
        }
        if m
        else None,
        "series": {
            code(analyte) or "analyte": _items(pts, start, codes=("unit",), numbers=("value",))
            for analyte, pts in (tl.get("series") or {}).items()
        },
        "doses": _items(
            tl.get("doses"), start, codes=("action", "unit", "agent"), numbers=("dose",)
        ),
        "qol": _items(tl.get("qol"), start, numbers=("QL2", "FA")),
        "alerts": [
            {**a, "message": ""}
            for a in _items(tl.get("alerts"), start, codes=("severity", "status", "rule", "tag"))
        ],
        "decision": decision_projection(tl.get("decision"), start),
        "monitor": None,
    }
    if monitor:
        out["monitor"] = {
            "baseline_date": day(monitor.get("baseline_date"), start),
            "measurable_by": code(monitor.get("measurable_by")),
            "assessments": _items(
                monitor.get("assessments"), start, codes=("response",), numbers=("confirmed",)
            ),
            "best_response": code(monitor.get("best_response")),
            "best_response_date": day(monitor.get("best_response_date"), start),
            "progression_date": day(monitor.get("progression_date"), start),
            "ctcae": _items(
                monitor.get("ctcae"),
                start,
                codes=("term", "source", "unit"),
                numbers=("grade", "value"),
            ),
            "alerts": _items(monitor.get("alerts"), start, codes=("severity", "rule", "tag")),
            "endpoints": {
                code(k) or "endpoint": number(v)
                for k, v in (monitor.get("endpoints") or {}).items()
            },
        }
    return out


def observed(tl: dict) -> dict:
    mon = tl.get("monitor") or {}
    ctcae = mon.get("ctcae", [])
    doses = tl.get("doses", [])
    qol = [q for q in tl.get("qol", []) if q.get("QL2") is not None]
    return {
        "best_response": mon.get("best_response"),
        "progression_date": mon.get("progression_date"),
        "time_on_maintenance_days": (mon.get("endpoints") or {}).get("time_on_maintenance_days"),
        "grade3plus": sorted(
            {str(c["term"]).replace("_", " ") for c in ctcae if int(c["grade"] or 0) >= 3}
        ),
        "holds": sum(1 for d in doses if d["action"] == "hold"),
        "dose_changes": sum(1 for d in doses if d["action"] == "change"),
        "qol_change": (round(qol[-1]["QL2"] - qol[0]["QL2"], 1) if len(qol) >= 2 else None),
    }


def decision_fields(decision: dict | None) -> list[tuple[str, str]]:
    """The identified decision snapshot's scalar fields, for the clinician's page."""
    if not decision:
        return []
    fields = []
    for key, value in (decision.get("snapshot") or {}).items():
        if isinstance(value, (dict, list)) or key in ("date", "evidence_version"):
            continue
        fields.append((key.replace("_", " "), str(value)[:300]))
    return fields[:20]
