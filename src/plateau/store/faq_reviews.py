"""Sign-offs of living-FAQ entries in the records database (append-only, audited).

A sign-off (:func:`sign_off`) stores who reviewed which entry on which evidence version with the
fingerprints of every referenced result, and writes an audit entry in the same transaction, so
no review exists without its audit record.  Only users with the ``reviewer`` role may sign off.
Rows are never updated or deleted: the history of an entry is every row for it.
"""

from __future__ import annotations

import logging

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from plateau.faq import Faq, Person, Review
from plateau.store import audit
from plateau.store.models import FaqReview, User
from plateau.store.permissions import AccessDenied, allowed, roles_with

log = logging.getLogger(__name__)
SIGN_OFF_ROLES = roles_with("faq.sign_off")  #: from the one permission table


def sign_off(
    session: Session,
    user: User,
    faq: Faq,
    entry_id: str,
    reviewer: Person,
    *,
    note: str = "",
    ip: str = "",
) -> FaqReview:
    """Record ``user``'s sign-off of ``entry_id`` on ``faq``'s current evidence (audited)."""
    if not allowed(user.role, "faq.sign_off"):
        # the caller's transaction is rolled back on this error: callers record the denial in a
        # transaction of their own (the web app does, with its audit helper)
        raise AccessDenied(f"role: {user.role} may not sign off FAQ entries (needs reviewer)")
    review = faq.new_review(entry_id, reviewer, note=note or None)  # FaqError if unknown entry
    row = FaqReview(
        entry_id=entry_id,
        evidence_version=review.evidence_version,
        fingerprints={k: v.model_dump(mode="json") for k, v in review.fingerprints.items()},
        user_id=user.id,
        username=user.username,
        reviewer_name=reviewer.name,
        reviewer_role=reviewer.role,
        reviewer_affiliation=reviewer.affiliation,
        note=note or "",
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        user,
        "faq-sign-off",
        f"faq {entry_id}"[:200],
        ip=ip,
        detail=f"evidence {review.evidence_version}; review #{row.id}",
    )
    return row


def as_review(row: FaqReview) -> Review:
    return Review(
        date=row.at.date(),
        evidence_version=row.evidence_version,
        reviewer=Person(
            name=row.reviewer_name, role=row.reviewer_role, affiliation=row.reviewer_affiliation
        ),
        note=row.note or None,
        fingerprints=row.fingerprints,
    )


def history(session: Session, entry_id: str) -> list[FaqReview]:
    """Every sign-off of ``entry_id``, newest first."""
    query = (
        select(FaqReview)
        .where(FaqReview.entry_id == entry_id)
        .order_by(FaqReview.at.desc(), FaqReview.id.desc())
    )
    return list(session.scalars(query))


def latest_reviews(session: Session) -> dict[str, tuple[Review, str]]:
    """The newest valid database sign-off per entry: ``{entry_id: (review, "records database")}``.

    A row whose reviewer is a placeholder (written before they were refused) is skipped.
    """
    out: dict[str, tuple[Review, str]] = {}
    for row in session.scalars(select(FaqReview).order_by(FaqReview.at, FaqReview.id)):
        try:
            review = as_review(row)
        except ValidationError as exc:
            # a row written before placeholder reviewers ('...', 'TBD') were refused: it stays in
            # the history (rows are never deleted) but does not count as a review
            why = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            log.warning(
                "faq_reviews: review #%s of %s does not count: %s", row.id, row.entry_id, why
            )
            continue
        out[row.entry_id] = (review, "records database")
    return out
