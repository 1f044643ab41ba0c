"""WeChat bindings (openid sealed, lookup hash) and one-time binding codes

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 14:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wechat_bindings",
        sa.Column("resident_id", sa.String(length=36), nullable=False),
        sa.Column("unit_id", sa.String(length=36), nullable=False),
        sa.Column("community_id", sa.String(length=36), nullable=True),
        sa.Column("openid", sa.Text(), nullable=False),
        sa.Column("openid_hash", sa.String(length=64), nullable=False),
        sa.Column("openid_masked", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("resident_id"),
    )
    op.create_index(op.f("ix_wechat_bindings_openid_hash"), "wechat_bindings", ["openid_hash"], unique=False)
    op.create_table(
        "wechat_binding_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.String(length=36), nullable=False),
        sa.Column("community_id", sa.String(length=36), nullable=True),
        sa.Column("issued_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("redeemed_by", sa.String(length=36), nullable=True),
        sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("code_hash"),
    )


def downgrade() -> None:
    op.drop_table("wechat_binding_codes")
    op.drop_index(op.f("ix_wechat_bindings_openid_hash"), table_name="wechat_bindings")
    op.drop_table("wechat_bindings")
