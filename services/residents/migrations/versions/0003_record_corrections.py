"""audited corrections of resident records (removal, merge, a note after move-out)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 23:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "record_corrections",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("community_id", sa.String(length=36), nullable=False),
        sa.Column("unit_id", sa.String(length=36), nullable=False),
        sa.Column("resident_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("into_resident_id", sa.String(length=36), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.String(length=100), nullable=False),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_record_corrections_community_id"), "record_corrections", ["community_id"])
    op.create_index(op.f("ix_record_corrections_resident_id"), "record_corrections", ["resident_id"])
    op.create_index(op.f("ix_record_corrections_into_resident_id"), "record_corrections", ["into_resident_id"])


def downgrade() -> None:
    op.drop_table("record_corrections")
