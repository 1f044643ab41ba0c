"""billing runs report how many units they covered and what they skipped

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:55:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("billing_runs") as batch:
        batch.add_column(sa.Column("units_total", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("units_fetched", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("units_skipped", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("billing_runs") as batch:
        batch.drop_column("units_skipped")
        batch.drop_column("units_fetched")
        batch.drop_column("units_total")
