"""scorecards

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 06:33:03.387334
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scorecards",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("community_id", sa.String(length=36), nullable=False),
        sa.Column("position_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("receivable", sa.String(length=20), nullable=True),
        sa.Column("collected", sa.String(length=20), nullable=True),
        sa.Column("collection_rate", sa.String(length=10), nullable=True),
        sa.Column("pay_period", sa.String(length=7), nullable=False),
        sa.Column("period_collection_rate", sa.String(length=10), nullable=True),
        sa.Column("grade_change", sa.Integer(), nullable=True),
        sa.Column("target_met", sa.Boolean(), nullable=True),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("scored_by", sa.String(length=36), nullable=True),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["position_id"],
            ["positions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("position_id", "month", name="uq_scorecards_position_month"),
    )
    op.create_index(op.f("ix_scorecards_community_id"), "scorecards", ["community_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_scorecards_community_id"), table_name="scorecards")
    op.drop_table("scorecards")
