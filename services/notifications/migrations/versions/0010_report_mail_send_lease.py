"""report mails: a send lease (claimed_at) and the duplicate_risk of a mail sent again after a lost worker

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("report_mails", sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "report_mails", sa.Column("duplicate_risk", sa.Boolean(), server_default=sa.text("false"), nullable=False)
    )


def downgrade() -> None:
    op.drop_column("report_mails", "duplicate_risk")
    op.drop_column("report_mails", "claimed_at")
