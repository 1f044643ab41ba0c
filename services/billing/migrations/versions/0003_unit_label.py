"""unit label (`1栋1-101`) in the unit projection, for display fields

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("billing_units", sa.Column("label", sa.String(length=150), nullable=True))


def downgrade() -> None:
    op.drop_column("billing_units", "label")
