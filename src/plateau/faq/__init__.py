"""plateau.faq: a living clinical FAQ whose numbers come from the live evidence.

>>> from plateau.faq import Faq
>>> faq = Faq.open()                         # bundled library, bundled evidence  # doctest: +SKIP
>>> print(faq.render("goals-of-maintenance").text)                              # doctest: +SKIP
>>> [s.entry_id for s in faq.statuses() if s.stale]                            # doctest: +SKIP

* :mod:`plateau.faq.model` - entry files (Markdown + YAML front matter) and their validation.
* :mod:`plateau.faq.refs` - the reference grammar, resolution through plateau.analysis and
  plateau.decide, fingerprints of the referenced results.
* :mod:`plateau.faq.render` - Markdown to safe HTML with live numbers and numbered citations.
* :mod:`plateau.faq.staleness` - which entries need review since their last sign-off, and why.

Sign-offs live in two places: the records database (``plateau.store.faq_reviews``: who signed
what, audited, with history) and the entry file's ``last_review`` (written by
``plateau faq sign-off``) so that ``plateau faq check`` works in CI without a database.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from plateau.evidence.base import EvidenceBase
from plateau.faq.model import (
    BUNDLED_LIBRARY,
    CATEGORY_LABELS,
    Category,
    Citation,
    Entry,
    FaqError,
    Fingerprint,
    Library,
    Person,
    Review,
    load_library,
    parse_entry,
)
from plateau.faq.refs import ANALYSIS_RENAMES, NAMES, Ref, Resolved, Resolver, find_refs
from plateau.faq.render import Rendered, render_entry, render_text
from plateau.faq.staleness import (
    CURRENT,
    NEEDS_REVIEW,
    NOT_REVIEWED,
    RELATIVE_CHANGE,
    Change,
    EntryStatus,
    entry_status,
)

__all__ = [
    "ANALYSIS_RENAMES",
    "BUNDLED_LIBRARY",
    "CATEGORY_LABELS",
    "CURRENT",
    "Category",
    "Change",
    "Citation",
    "Entry",
    "EntryStatus",
    "Faq",
    "FaqError",
    "Fingerprint",
    "Library",
    "NAMES",
    "NEEDS_REVIEW",
    "NOT_REVIEWED",
    "Person",
    "RELATIVE_CHANGE",
    "Ref",
    "Rendered",
    "Resolved",
    "Review",
    "load_library",
    "render_text",
    "write_last_review",
]


def _evidence(evidence: EvidenceBase | str | Path | None) -> EvidenceBase:
    from plateau.evidence import load_bundled, load_path

    if isinstance(evidence, EvidenceBase):
        return evidence
    return load_path(evidence) if evidence is not None else load_bundled()


@dataclass
class Faq:
    """A validated library on one evidence base; renders entries and reports their status."""

    library: Library
    base: EvidenceBase
    threshold: float = RELATIVE_CHANGE
    resolver: Resolver = field(init=False)
    _rendered: dict[str, Rendered] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.resolver = Resolver(self.base, self.library.profiles)
        for entry in self.library:
            for ref in find_refs(entry.body, str(entry.path)):
                self.resolver.check(ref, str(entry.path))

    @classmethod
    def open(
        cls,
        library: str | Path | Library | None = None,
        evidence: EvidenceBase | str | Path | None = None,
        *,
        threshold: float = RELATIVE_CHANGE,
    ) -> Faq:
        """Load and validate ``library`` (default: bundled) on ``evidence`` (default: bundled).

        Raises FaqError naming the file and field, or the file and the reference, at the first
        problem; evidence problems raise the evidence loader's errors.
        """
        if not 0 < threshold < 10:
            raise FaqError(f"threshold: a relative change above 0 (got {threshold})")
        lib = library if isinstance(library, Library) else load_library(library)
        return cls(lib, _evidence(evidence), threshold)

    @property
    def evidence_version(self) -> str:
        return self.base.version

    def entry(self, entry_id: str) -> Entry:
        return self.library.get(entry_id)

    def render(self, entry_id: str) -> Rendered:
        if entry_id not in self._rendered:
            self._rendered[entry_id] = render_entry(self.entry(entry_id), self.resolver)
        return self._rendered[entry_id]

    def fingerprints(self, entry_id: str) -> dict[str, Fingerprint]:
        return self.resolver.fingerprints(self.entry(entry_id))

    def status(
        self, entry_id: str, review: Review | None = None, origin: str | None = None
    ) -> EntryStatus:
        """Status against ``review`` (default: the last review recorded in the entry file)."""
        entry = self.entry(entry_id)
        if review is None and entry.meta.last_review is not None:
            review, origin = entry.meta.last_review, "library file"
        return entry_status(
            entry_id, self.fingerprints(entry_id), review, origin=origin, threshold=self.threshold
        )

    def statuses(self, reviews: dict[str, tuple[Review, str]] | None = None) -> list[EntryStatus]:
        """Every entry's status; ``reviews`` (entry id -> (review, origin)) overrides the files."""
        reviews = reviews or {}
        return [self.status(e.id, *reviews.get(e.id, (None, None))) for e in self.library]

    def new_review(
        self,
        entry_id: str,
        reviewer: Person,
        *,
        date: dt.date | None = None,
        note: str | None = None,
    ) -> Review:
        """A sign-off of ``entry_id`` on the current evidence (its current fingerprints)."""
        return Review(
            date=date or dt.date.today(),
            evidence_version=self.base.version,
            reviewer=reviewer,
            note=note or None,
            fingerprints=self.fingerprints(entry_id),
        )

    def search(self, query: str, limit: int = 50) -> list[Entry]:
        """Entries containing every word of ``query`` (question matches rank first)."""
        words = [w for w in query.lower().split() if w][:12]
        if not words:
            return []
        hits = []
        for e in self.library:
            text = e.plain_text()
            if all(w in text for w in words):
                q = e.meta.question.lower()
                score = sum(3 * q.count(w) + text.count(w) for w in words)
                hits.append((-score, e.meta.question, e))
        return [e for *_, e in sorted(hits, key=lambda h: (h[0], h[1]))][:limit]


def write_last_review(entry: Entry, review: Review) -> Entry:
    """Record ``review`` as the entry file's ``last_review`` (the rest of the file is kept as is).

    The file is replaced atomically (temporary file + rename); the result is re-validated.
    """
    from plateau.faq.model import _FRONT

    text = entry.path.read_text(encoding="utf-8")
    match = _FRONT.match(text)
    if not match:
        raise FaqError(f"{entry.path}: no front matter to update")
    kept: list[str] = []
    skipping = False
    for line in match.group(1).splitlines():
        if line.startswith("last_review:"):
            skipping = True
            continue
        if skipping and (line[:1] in (" ", "\t", "-") or not line.strip()):
            continue
        skipping = False
        kept.append(line)
    block = yaml.safe_dump(
        {"last_review": review.model_dump(mode="json", exclude_none=True)},
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )
    new = "---\n" + "\n".join(kept).rstrip() + "\n" + block + "---\n" + match.group(2)
    fd, tmp = tempfile.mkstemp(dir=entry.path.parent, prefix=".faq-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(new)
        os.replace(tmp, entry.path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return parse_entry(entry.path)
