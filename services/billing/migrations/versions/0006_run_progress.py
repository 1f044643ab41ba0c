"""a billing run's progress (status, units to bill and done, finish time), committed per chunk of units

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("billing_runs") as batch:
        batch.add_column(sa.Column("status", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("units_to_bill", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("units_done", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("billing_runs") as batch:
        for name in ("finished_at", "units_done", "units_to_bill", "status"):
            batch.drop_column(name)
