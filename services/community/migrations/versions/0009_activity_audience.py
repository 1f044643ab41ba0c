"""an activity's audience: zones and/or buildings (both empty: the whole community)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 18:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("activities") as batch:
        batch.add_column(sa.Column("zone_ids", sa.Text(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("building_ids", sa.Text(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("activities") as batch:
        batch.drop_column("building_ids")
        batch.drop_column("zone_ids")
