"""allocations by creation time, and a community's open bills by period end: the collection-rate report's 清欠率
reads the older bills still open and those paid into since the period's start

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_allocations_created_at", "allocations", ["created_at"])
    open_bill = sa.text("amount_fen > credited_fen + paid_fen")
    op.create_index(
        "ix_bills_community_open",
        "bills",
        ["community_id", "period_end"],
        postgresql_where=open_bill,
        sqlite_where=open_bill,
    )


def downgrade() -> None:
    op.drop_index("ix_bills_community_open", table_name="bills")
    op.drop_index("ix_allocations_created_at", table_name="allocations")
