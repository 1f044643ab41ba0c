"""residents projection: the reporter a staff member names is checked without asking residents each time

Revision ID: 0013_resident_projection
Revises: 0012_acceptance
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_resident_projection"
down_revision = "0012_acceptance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "residents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("community_id", sa.String(length=36), nullable=False),
        sa.Column("unit_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("source_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("residents")
