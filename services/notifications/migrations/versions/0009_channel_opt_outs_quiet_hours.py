"""per-channel opt-outs of residents, per-community quiet hours of the channels, images in long notices

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 14:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_opt_outs",
        sa.Column("recipient_id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("recipient_id", "channel"),
    )
    op.create_table(
        "community_quiet_hours",
        sa.Column("community_id", sa.String(length=36), nullable=False),
        sa.Column("wechat_at_night", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("community_id"),
    )
    op.add_column("notices", sa.Column("images", sa.Text(), nullable=True))
    op.add_column("inbox_messages", sa.Column("images", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("inbox_messages", "images")
    op.drop_column("notices", "images")
    op.drop_table("community_quiet_hours")
    op.drop_table("channel_opt_outs")
