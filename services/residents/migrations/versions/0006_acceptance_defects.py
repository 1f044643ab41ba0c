"""acceptance defects: a community's handover hold, the open defects of each unit (from tickets' events)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 17:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "communities", sa.Column("hold_handover_on_defects", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.create_table(
        "acceptance_defects",
        sa.Column("defect_id", sa.String(length=36), primary_key=True),
        sa.Column("unit_id", sa.String(length=36), nullable=False),
        sa.Column("community_id", sa.String(length=36), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("item", sa.String(length=200), nullable=False),
        sa.Column("responsible_party", sa.String(length=20), nullable=False),
        sa.Column("rectify_by", sa.String(length=10), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_acceptance_defects_unit_id", "acceptance_defects", ["unit_id"])


def downgrade() -> None:
    op.drop_table("acceptance_defects")
    op.drop_column("communities", "hold_handover_on_defects")
