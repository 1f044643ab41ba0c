"""major complaints / quality cases (重大投诉, 疑似负面信息): source, linked tickets, owner, feedback log, closure

Revision ID: 0009_quality_cases
Revises: 0008_equipment
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_quality_cases"
down_revision = "0008_equipment"
branch_labels = None
depends_on = None

_when = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "quality_cases",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("community_id", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.String(length=100), nullable=False),
        sa.Column("ticket_ids", sa.Text(), nullable=False),
        sa.Column("deadline_at", _when, nullable=False),
        sa.Column("report", sa.Text(), nullable=True),
        sa.Column("opened_by", sa.String(length=100), nullable=False),
        sa.Column("opened_at", _when, nullable=False),
        sa.Column("closed_at", _when, nullable=True),
        sa.Column("updated_at", _when, nullable=False),
    )
    op.create_index("ix_quality_cases_community_deadline", "quality_cases", ["community_id", "deadline_at"])
    op.create_table(
        "quality_case_feedback",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("audience", sa.String(length=30), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("at", _when, nullable=False),
    )
    op.create_index("ix_quality_case_feedback_case", "quality_case_feedback", ["case_id"])


def downgrade() -> None:
    op.drop_table("quality_case_feedback")
    op.drop_table("quality_cases")
