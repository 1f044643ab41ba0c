"""long notices: a long form (title, body, links) besides the SMS form

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 13:55:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notices") as batch:
        batch.add_column(sa.Column("long_title", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("long_body", sa.Text(), nullable=True))
        batch.add_column(sa.Column("links", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notices") as batch:
        batch.drop_column("links")
        batch.drop_column("long_body")
        batch.drop_column("long_title")
