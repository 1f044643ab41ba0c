"""a payment keeps its cashier's name as it was when the money was taken: a receipt is a document, and a renamed
(or removed) staff member must not change the receipts they signed

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("payments", sa.Column("cashier_name", sa.String(100), nullable=True))


def downgrade() -> None:
    op.drop_column("payments", "cashier_name")
