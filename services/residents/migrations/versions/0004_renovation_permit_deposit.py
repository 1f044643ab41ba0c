"""renovation permit as its own step: the community's paid-deposit rule, the permit's issuer, a manager's waiver

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 00:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "communities", sa.Column("deposit_before_permit", sa.Boolean(), nullable=False, server_default=sa.true())
    )
    op.add_column("renovations", sa.Column("permit_issued_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("renovations", sa.Column("permit_issued_by", sa.String(length=100), nullable=True))
    op.add_column("renovations", sa.Column("deposit_waived_by", sa.String(length=100), nullable=True))
    op.add_column("renovations", sa.Column("deposit_waived_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("renovations", sa.Column("deposit_waiver_reason", sa.Text(), nullable=True))
    # Permits issued before this revision were issued at approval.
    op.execute("UPDATE renovations SET permit_issued_at = approved_at WHERE permit_number IS NOT NULL")


def downgrade() -> None:
    for column in ("deposit_waiver_reason", "deposit_waived_at", "deposit_waived_by", "permit_issued_by"):
        op.drop_column("renovations", column)
    op.drop_column("renovations", "permit_issued_at")
    op.drop_column("communities", "deposit_before_permit")
