"""scorecard figures from tickets and residents

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 17:55:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

RATIOS = ("sla_compliance", "satisfaction_average", "satisfied_rate", "patrol_coverage", "familiarity", "communication")


def upgrade() -> None:
    op.add_column("scorecards", sa.Column("tickets", sa.Integer(), nullable=True))
    op.add_column("scorecards", sa.Column("tickets_resolved", sa.Integer(), nullable=True))
    for name in RATIOS:
        op.add_column("scorecards", sa.Column(name, sa.String(length=10), nullable=True))


def downgrade() -> None:
    for name in reversed(RATIOS):
        op.drop_column("scorecards", name)
    op.drop_column("scorecards", "tickets_resolved")
    op.drop_column("scorecards", "tickets")
