"""birthday greetings, custom reminders and their once-only marks

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 14:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "greetings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("community_id", sa.String(length=36), nullable=False),
        sa.Column("unit_id", sa.String(length=36), nullable=False),
        sa.Column("zone_id", sa.String(length=36), nullable=True),
        sa.Column("resident_id", sa.String(length=64), nullable=False),
        sa.Column("birth_month", sa.Integer(), nullable=False),
        sa.Column("birth_day", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("resident_id"),
    )
    op.create_index("ix_greetings_birthday", "greetings", ["birth_month", "birth_day"], unique=False)
    op.create_index(op.f("ix_greetings_community_id"), "greetings", ["community_id"], unique=False)
    op.create_table(
        "reminders",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("community_id", sa.String(length=36), nullable=False),
        sa.Column("unit_id", sa.String(length=36), nullable=False),
        sa.Column("zone_id", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("repeat", sa.String(length=20), nullable=False),
        sa.Column("first_due", sa.Date(), nullable=False),
        sa.Column("next_due", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("occurrence", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_reminders_community_id"), "reminders", ["community_id"], unique=False)
    op.create_index("ix_reminders_status_due", "reminders", ["status", "next_due"], unique=False)
    op.create_table(
        "due_notices",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("ref_id", sa.String(length=36), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "ref_id", "due_on"),
    )


def downgrade() -> None:
    op.drop_table("due_notices")
    op.drop_index("ix_reminders_status_due", table_name="reminders")
    op.drop_index(op.f("ix_reminders_community_id"), table_name="reminders")
    op.drop_table("reminders")
    op.drop_index(op.f("ix_greetings_community_id"), table_name="greetings")
    op.drop_index("ix_greetings_birthday", table_name="greetings")
    op.drop_table("greetings")
