"""initial tables

Revision ID: 0001
Revises:
Create Date: 2026-12-02 06:15:13.262226
"""

import sqlalchemy as sa
from alembic import op

from guanjia import migrations

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "departments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("community_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("community_id", "kind", name="uq_departments_community_kind"),
    )
    op.create_index(op.f("ix_departments_community_id"), "departments", ["community_id"], unique=False)
    migrations.create_inbox()
    migrations.create_outbox()
    op.create_table(
        "positions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("community_id", sa.String(length=36), nullable=False),
        sa.Column("department_id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=30), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("reports_to_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
        ),
        sa.ForeignKeyConstraint(
            ["reports_to_id"],
            ["positions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("community_id", "user_id", name="uq_positions_community_user"),
    )
    op.create_index(op.f("ix_positions_community_id"), "positions", ["community_id"], unique=False)
    op.create_index(op.f("ix_positions_user_id"), "positions", ["user_id"], unique=False)
    op.create_table(
        "leaves",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("community_id", sa.String(length=36), nullable=False),
        sa.Column("position_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("stand_in_position_id", sa.String(length=36), nullable=False),
        sa.Column("stand_in_user_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sa.String(length=36), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["position_id"],
            ["positions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["stand_in_position_id"],
            ["positions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_leaves_community_id"), "leaves", ["community_id"], unique=False)
    op.create_index(op.f("ix_leaves_stand_in_user_id"), "leaves", ["stand_in_user_id"], unique=False)
    op.create_index("ix_leaves_status_starts", "leaves", ["status", "starts_at"], unique=False)
    op.create_index("ix_leaves_user_period", "leaves", ["user_id", "starts_at", "ends_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_leaves_user_period", table_name="leaves")
    op.drop_index("ix_leaves_status_starts", table_name="leaves")
    op.drop_index(op.f("ix_leaves_stand_in_user_id"), table_name="leaves")
    op.drop_index(op.f("ix_leaves_community_id"), table_name="leaves")
    op.drop_table("leaves")
    op.drop_index(op.f("ix_positions_user_id"), table_name="positions")
    op.drop_index(op.f("ix_positions_community_id"), table_name="positions")
    op.drop_table("positions")
    migrations.drop_outbox()
    migrations.drop_inbox()
    op.drop_index(op.f("ix_departments_community_id"), table_name="departments")
    op.drop_table("departments")
