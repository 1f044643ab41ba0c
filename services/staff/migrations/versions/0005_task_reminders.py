"""task reminders: when task.due_soon went out

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 17:21:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tasks", sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("tasks", "reminded_at")
