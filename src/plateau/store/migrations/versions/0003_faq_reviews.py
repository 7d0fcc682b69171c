"""faq reviews: sign-offs of living-FAQ entries with the fingerprints they were made on

Revision ID: 0003_faq_reviews
Revises: 0001
Create Date: 2026-12-06 06:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_faq_reviews"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "faq_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.String(length=80), nullable=False),
        sa.Column("evidence_version", sa.String(length=64), nullable=False),
        sa.Column("fingerprints", sa.JSON(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("reviewer_name", sa.String(length=120), nullable=False),
        sa.Column("reviewer_role", sa.String(length=120), nullable=False),
        sa.Column("reviewer_affiliation", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_faq_reviews_entry", "faq_reviews", ["entry_id", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_faq_reviews_entry", table_name="faq_reviews")
    op.drop_table("faq_reviews")
