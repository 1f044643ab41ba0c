"""unit label (`1栋1-101`) in the unit projection, for display fields

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("billing_units", sa.Column("label", sa.String(length=150), nullable=True))


def downgrade() -> None:
    op.drop_column("billing_units", "label")
