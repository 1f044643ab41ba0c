"""the reports read from indexes alone: an allocation keeps its bill's period end (清欠率 finds the older bills paid
into since a date without reading every bill paid into since), and the open bills' and a period's bills' indexes
carry the columns the arrears and the collection rate sum (index-only scans); the open bills' two indexes become one,
led by community, zone and unit (the arrears sum per unit and per zone in index order)

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

OPEN_BILL = sa.text("amount_fen > credited_fen + paid_fen")
OPEN_BILL_COLUMNS = ["due_date", "period_end", "building_id", "kind", "amount_fen", "credited_fen", "paid_fen"]


def upgrade() -> None:
    op.add_column("allocations", sa.Column("bill_period_end", sa.Date(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE allocations a SET bill_period_end = b.period_end FROM bills b "
            "WHERE a.bill_id IS NOT NULL AND b.id = a.bill_id"
        )
    else:
        op.execute(
            "UPDATE allocations SET bill_period_end = (SELECT period_end FROM bills WHERE bills.id = allocations.bill_id) "
            "WHERE bill_id IS NOT NULL"
        )
    op.drop_index("ix_allocations_created_at", table_name="allocations")
    op.create_index(
        "ix_allocations_created_at",
        "allocations",
        ["created_at"],
        postgresql_include=["bill_period_end", "bill_id", "amount_fen"],
    )
    op.drop_index("ix_bills_community_open", table_name="bills")
    op.drop_index("ix_bills_open_due", table_name="bills")
    op.create_index(
        "ix_bills_open",
        "bills",
        ["community_id", "zone_id", "unit_id"],
        postgresql_include=OPEN_BILL_COLUMNS,
        postgresql_where=OPEN_BILL,
        sqlite_where=OPEN_BILL,
    )
    op.drop_index("ix_bills_community_period", table_name="bills")
    op.create_index(
        "ix_bills_community_period",
        "bills",
        ["community_id", "period"],
        postgresql_include=["zone_id", "kind", "amount_fen", "credited_fen", "paid_fen"],
    )


def downgrade() -> None:
    op.drop_index("ix_bills_community_period", table_name="bills")
    op.create_index("ix_bills_community_period", "bills", ["community_id", "period"])
    op.drop_index("ix_bills_open", table_name="bills")
    op.create_index("ix_bills_open_due", "bills", ["due_date"], postgresql_where=OPEN_BILL, sqlite_where=OPEN_BILL)
    op.create_index(
        "ix_bills_community_open",
        "bills",
        ["community_id", "period_end"],
        postgresql_where=OPEN_BILL,
        sqlite_where=OPEN_BILL,
    )
    op.drop_index("ix_allocations_created_at", table_name="allocations")
    op.create_index("ix_allocations_created_at", "allocations", ["created_at"])
    op.drop_column("allocations", "bill_period_end")
