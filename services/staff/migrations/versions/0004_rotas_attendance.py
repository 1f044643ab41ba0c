"""rotas and attendance: shift templates, weekly rota entries, shift swaps, clock records

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 17:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shift_templates",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("community_id", sa.String(length=36), nullable=False),
        sa.Column("department_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("starts", sa.String(length=5), nullable=False),
        sa.Column("ends", sa.String(length=5), nullable=False),
        sa.Column("min_staff", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("department_id", "name", name="uq_shift_templates_department_name"),
    )
    op.create_index(op.f("ix_shift_templates_community_id"), "shift_templates", ["community_id"], unique=False)
    op.create_table(
        "rota_entries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("community_id", sa.String(length=36), nullable=False),
        sa.Column("department_id", sa.String(length=36), nullable=False),
        sa.Column("shift_id", sa.String(length=36), nullable=False),
        sa.Column("position_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"]),
        sa.ForeignKeyConstraint(["position_id"], ["positions.id"]),
        sa.ForeignKeyConstraint(["shift_id"], ["shift_templates.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("position_id", "day", "shift_id", name="uq_rota_entries_position_day_shift"),
    )
    op.create_index(op.f("ix_rota_entries_community_id"), "rota_entries", ["community_id"], unique=False)
    op.create_index("ix_rota_entries_department_day", "rota_entries", ["department_id", "day"], unique=False)
    op.create_index("ix_rota_entries_user_day", "rota_entries", ["user_id", "day"], unique=False)
    op.create_table(
        "shift_swaps",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("community_id", sa.String(length=36), nullable=False),
        sa.Column("entry_id", sa.String(length=36), nullable=False),
        sa.Column("position_id", sa.String(length=36), nullable=False),
        sa.Column("with_position_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sa.String(length=36), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["rota_entries.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["position_id"], ["positions.id"]),
        sa.ForeignKeyConstraint(["with_position_id"], ["positions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_shift_swaps_community_id"), "shift_swaps", ["community_id"], unique=False)
    op.create_table(
        "clock_records",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("community_id", sa.String(length=36), nullable=False),
        sa.Column("position_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("clock_in_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("clock_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["position_id"], ["positions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_clock_records_community_id"), "clock_records", ["community_id"], unique=False)
    op.create_index("ix_clock_records_user_in", "clock_records", ["user_id", "clock_in_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_clock_records_user_in", table_name="clock_records")
    op.drop_index(op.f("ix_clock_records_community_id"), table_name="clock_records")
    op.drop_table("clock_records")
    op.drop_index(op.f("ix_shift_swaps_community_id"), table_name="shift_swaps")
    op.drop_table("shift_swaps")
    op.drop_index("ix_rota_entries_user_day", table_name="rota_entries")
    op.drop_index("ix_rota_entries_department_day", table_name="rota_entries")
    op.drop_index(op.f("ix_rota_entries_community_id"), table_name="rota_entries")
    op.drop_table("rota_entries")
    op.drop_index(op.f("ix_shift_templates_community_id"), table_name="shift_templates")
    op.drop_table("shift_templates")
