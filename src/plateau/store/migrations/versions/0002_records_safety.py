"""records safety: alert states, lab-result history, stored monitoring results, audit no-replace

Revision ID: 0002_records_safety
Revises: 0003_faq_reviews
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_records_safety"
down_revision = "0003_faq_reviews"
branch_labels = None
depends_on = None

SQLITE_NO_REPLACE = (
    "CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log "
    "WHEN EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id) "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
)


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resolved_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key("fk_alerts_resolved_by", "users", ["resolved_by"], ["id"])
        batch_op.create_index(
            "ix_alerts_status_severity_date", ["status", "severity", "date"], unique=False
        )
    op.create_table(
        "lab_result_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lab_result_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("lln", sa.Float(), nullable=True),
        sa.Column("uln", sa.Float(), nullable=True),
        sa.Column("loinc", sa.String(length=20), nullable=True),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replaced_by_batch", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["lab_result_id"], ["lab_results.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["replaced_by_batch"], ["import_batches.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("lab_result_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lab_result_versions_lab_result_id"), ["lab_result_id"], unique=False
        )
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("data_version", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "monitor_results",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("data_version", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("patient_id"),
    )
    if op.get_bind().dialect.name == "sqlite":
        # INSERT OR REPLACE deletes the old row without firing DELETE triggers: refuse the insert
        op.execute(SQLITE_NO_REPLACE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_replace")
    op.drop_table("monitor_results")
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_column("data_version")
    op.drop_table("lab_result_versions")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_status_severity_date")
        batch_op.drop_constraint("fk_alerts_resolved_by", type_="foreignkey")
        batch_op.drop_column("superseded_at")
        batch_op.drop_column("resolved_at")
        batch_op.drop_column("resolved_by")
