"""Sign-in lockout per account and source (login_lockouts), so anonymous requests cannot lock an account out.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_lockouts",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("source_hash", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("user_id", "source_hash"),
    )
    op.create_index(op.f("ix_login_lockouts_locked_until"), "login_lockouts", ["locked_until"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_login_lockouts_locked_until"), table_name="login_lockouts")
    op.drop_table("login_lockouts")
