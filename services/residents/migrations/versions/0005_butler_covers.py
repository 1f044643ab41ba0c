"""butler covers

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 06:16:23.562095
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "butler_covers",
        sa.Column("absence_id", sa.String(length=36), nullable=False),
        sa.Column("community_id", sa.String(length=36), nullable=False),
        sa.Column("butler_id", sa.String(length=36), nullable=False),
        sa.Column("stand_in_id", sa.String(length=36), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("absence_id"),
    )
    op.create_index(op.f("ix_butler_covers_stand_in_id"), "butler_covers", ["stand_in_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_butler_covers_stand_in_id"), table_name="butler_covers")
    op.drop_table("butler_covers")
