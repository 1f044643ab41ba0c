"""scheduled e-mail reports to managers, once per community, period and address

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 14:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_mails",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("community_id", sa.String(length=36), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("period_start", sa.String(length=10), nullable=False),
        sa.Column("recipient_hash", sa.String(length=64), nullable=False),
        sa.Column("recipient_masked", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "community_id", "period", "period_start", "recipient_hash", name="uq_report_mails_report_recipient"
        ),
    )
    op.create_index("ix_report_mails_status", "report_mails", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_report_mails_status", table_name="report_mails")
    op.drop_table("report_mails")
