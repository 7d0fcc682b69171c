"""When does an answer need review?  Comparing the fingerprints of its last review with today's.

An entry **needs review** when, for any result it refers to (:mod:`plateau.faq.refs`):

* a main number moved by more than :data:`RELATIVE_CHANGE` (relative: ``|new - old| / |old|``;
  from or to "not available" always counts);
* its 95% interval now includes the no-effect value (1 for ratios, 0 for differences) and did
  not before, or the other way round;
* a trial was added to or removed from it;
* a report used changed (a newer report superseded the one used, or an earlier report is used
  instead of the latest);
* the answer now refers to a result its last review did not see, or no longer to one it did.

Otherwise it stays **current**, whatever else changed in the evidence.  An entry with no
review at all is **not reviewed**.  The diff lists every result with old and new numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from plateau.evidence.vocabulary import EN_DASH
from plateau.faq.model import Fingerprint, Review

RELATIVE_CHANGE = 0.10  #: default threshold of relative change of a main number
CURRENT, NEEDS_REVIEW, NOT_REVIEWED = "current", "needs review", "not reviewed"


def _includes_null(fp: Fingerprint) -> bool | None:
    if fp.ci is None or fp.null is None:
        return None
    lo, hi = fp.ci
    return lo <= fp.null <= hi


def _fmt(value: float | None) -> str:
    if value is None:
        return "not available"
    return f"{value:.4g}"


@dataclass(frozen=True)
class Change:
    """How one referenced result moved since the last review."""

    key: str
    label: str
    reasons: tuple[str, ...]
    old: Fingerprint | None
    new: Fingerprint | None
    trials_added: tuple[str, ...] = ()
    trials_removed: tuple[str, ...] = ()
    reports_added: tuple[str, ...] = ()
    reports_removed: tuple[str, ...] = ()

    def numbers(self) -> list[tuple[str, str, str]]:
        """(name, old, new) for every number of the result, changed or not."""
        old = self.old.values if self.old else {}
        new = self.new.values if self.new else {}
        rows = [(k, _fmt(old.get(k)), _fmt(new.get(k))) for k in dict.fromkeys([*old, *new])]
        if (self.old and self.old.ci) or (self.new and self.new.ci):

            def ci(fp: Fingerprint | None) -> str:
                # four significant digits (a reviewer's diff), in the one interval format
                return f"{fp.ci[0]:.4g}{EN_DASH}{fp.ci[1]:.4g}" if fp and fp.ci else "not available"

            rows.append(("95% interval", ci(self.old), ci(self.new)))
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "result": self.key,
            "label": self.label,
            "reasons": list(self.reasons),
            "numbers": [{"name": n, "old": o, "new": w} for n, o, w in self.numbers()],
            "trials_added": list(self.trials_added),
            "trials_removed": list(self.trials_removed),
            "reports_added": list(self.reports_added),
            "reports_removed": list(self.reports_removed),
            "old": self.old.model_dump(mode="json") if self.old else None,
            "new": self.new.model_dump(mode="json") if self.new else None,
        }

    def text(self) -> str:
        lines = [f"{self.label} [{self.key}]: " + "; ".join(self.reasons)]
        for name, old, new in self.numbers():
            mark = "" if old == new else "  <-"
            lines.append(f"    {name}: {old} -> {new}{mark}")
        if self.trials_added:
            lines.append(f"    trials added: {', '.join(self.trials_added)}")
        if self.trials_removed:
            lines.append(f"    trials removed: {', '.join(self.trials_removed)}")
        for r in self.reports_removed:
            lines.append(f"    report no longer used: {r}")
        for r in self.reports_added:
            lines.append(f"    report now used: {r}")
        return "\n".join(lines)


def compare_fingerprint(
    key: str, old: Fingerprint, new: Fingerprint, threshold: float = RELATIVE_CHANGE
) -> Change | None:
    """The change of one result, or None when it has not moved enough to matter."""
    reasons: list[str] = []
    for name in dict.fromkeys([*old.values, *new.values]):
        a, b = old.values.get(name), new.values.get(name)
        if a is None and b is None:
            continue
        if a is None or b is None:
            reasons.append(f"{name} {'now available' if a is None else 'no longer available'}")
            continue
        if a == b:
            continue
        rel = abs(b - a) / abs(a) if a != 0 else math.inf
        if rel > threshold:
            how = f"{rel:+.0%}" if math.isfinite(rel) else "from 0"
            reasons.append(f"{name} moved {_fmt(a)} -> {_fmt(b)} ({how})")
    was, now = _includes_null(old), _includes_null(new)
    if was is not None and now is not None and was != now:
        null = f"{new.null:g}"
        reasons.append(
            f"95% interval now includes {null} (no effect)"
            if now
            else f"95% interval no longer includes {null} (no effect)"
        )
    elif (was is None) != (now is None) and not any("available" in r for r in reasons):
        reasons.append("interval " + ("now available" if was is None else "no longer available"))
    added = tuple(sorted(set(new.trials) - set(old.trials)))
    removed = tuple(sorted(set(old.trials) - set(new.trials)))
    if added:
        reasons.append(f"trials added: {', '.join(added)}")
    if removed:
        reasons.append(f"trials removed: {', '.join(removed)}")
    moved_trials = set(added) | set(removed)

    def own(report: str) -> bool:
        return report.split(":", 1)[0] not in moved_trials

    rep_added = tuple(r for r in sorted(set(new.reports) - set(old.reports)) if own(r))
    rep_removed = tuple(r for r in sorted(set(old.reports) - set(new.reports)) if own(r))
    if rep_added or rep_removed:
        reasons.append("reports used changed (a report superseded or replaced)")
    if not reasons:
        return None
    return Change(key, new.label, tuple(reasons), old, new, added, removed, rep_added, rep_removed)


@dataclass(frozen=True)
class EntryStatus:
    """An entry's review status against today's evidence."""

    entry_id: str
    status: str
    review: Review | None
    review_origin: str | None  #: "library file" or "records database"
    changes: tuple[Change, ...]
    current: dict[str, Fingerprint]

    @property
    def stale(self) -> bool:
        return self.status != CURRENT

    def to_dict(self) -> dict[str, Any]:
        r = self.review
        return {
            "entry": self.entry_id,
            "status": self.status,
            "last_review": None
            if r is None
            else {
                "date": r.date.isoformat(),
                "evidence_version": r.evidence_version,
                "reviewer": r.reviewer.model_dump(),
                "recorded_in": self.review_origin,
            },
            "changes": [c.to_dict() for c in self.changes],
        }


def entry_status(
    entry_id: str,
    current: dict[str, Fingerprint],
    review: Review | None,
    *,
    origin: str | None = None,
    threshold: float = RELATIVE_CHANGE,
) -> EntryStatus:
    """Compare an entry's current fingerprints with those of its last review."""
    if review is None:
        return EntryStatus(entry_id, NOT_REVIEWED, None, None, (), current)
    changes: list[Change] = []
    old = review.fingerprints
    for key, fp in current.items():
        if key not in old:
            changes.append(Change(key, fp.label, ("referred to since the last review",), None, fp))
            continue
        change = compare_fingerprint(key, old[key], fp, threshold)
        if change is not None:
            changes.append(change)
    for key, fp in old.items():
        if key not in current:
            changes.append(
                Change(key, fp.label, ("no longer referred to by the answer",), fp, None)
            )
    status = NEEDS_REVIEW if changes else CURRENT
    return EntryStatus(entry_id, status, review, origin, tuple(changes), current)
