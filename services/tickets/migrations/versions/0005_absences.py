"""absences

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 06:17:05.758892
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "absences",
        sa.Column("absence_id", sa.String(length=36), nullable=False),
        sa.Column("community_id", sa.String(length=36), nullable=False),
        sa.Column("butler_id", sa.String(length=36), nullable=False),
        sa.Column("stand_in_id", sa.String(length=36), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("absence_id"),
    )
    op.create_index(op.f("ix_absences_butler_id"), "absences", ["butler_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_absences_butler_id"), table_name="absences")
    op.drop_table("absences")
