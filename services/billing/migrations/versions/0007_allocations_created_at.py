"""allocations by creation time: the collection-rate report finds the bills paid into since a period's start

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_allocations_created_at", "allocations", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_allocations_created_at", table_name="allocations")
