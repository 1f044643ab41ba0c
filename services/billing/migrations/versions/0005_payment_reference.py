"""the cashier's reference of a payment (bank transfer number, WeChat/Alipay order number) for the receipt

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("payments", sa.Column("reference", sa.String(length=100), nullable=True))


def downgrade() -> None:
    op.drop_column("payments", "reference")
