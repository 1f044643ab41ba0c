"""each unit's last contact and last effective contact (kept by log_contact), and whether it is a household (has a
resident not moved out, kept by domain.common.keep_households), backfilled

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("units", sa.Column("last_contacted_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("units", sa.Column("last_effective_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("units", sa.Column("household", sa.Boolean(), server_default=sa.text("false"), nullable=False))
    # Correlated subqueries: the same statement on PostgreSQL and SQLite (embedded mode), by ix_contact_logs_unit_time
    # and ix_residents_unit.
    op.execute(
        "UPDATE units SET "
        "last_contacted_at = (SELECT max(c.contacted_at) FROM contact_logs c WHERE c.unit_id = units.id), "
        "last_effective_at = (SELECT max(c.contacted_at) FROM contact_logs c WHERE c.unit_id = units.id AND c.effective) "
        "WHERE EXISTS (SELECT 1 FROM contact_logs c WHERE c.unit_id = units.id)"
    )
    op.execute(
        "UPDATE units SET household = TRUE "
        "WHERE EXISTS (SELECT 1 FROM residents r WHERE r.unit_id = units.id AND r.status <> 'moved_out')"
    )


def downgrade() -> None:
    with op.batch_alter_table("units") as batch:
        batch.drop_column("household")
        batch.drop_column("last_effective_at")
        batch.drop_column("last_contacted_at")
