"""work plans and summaries, meetings, training records, items issued

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 17:55:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ID = sa.String(length=36)
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "work_plans",
        sa.Column("id", ID, nullable=False),
        sa.Column("community_id", ID, nullable=False),
        sa.Column("position_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("figures", sa.JSON(), nullable=True),
        sa.Column("summarised_at", WHEN, nullable=True),
        sa.Column("review", sa.Text(), nullable=True),
        sa.Column("reviewed_by", ID, nullable=True),
        sa.Column("reviewed_at", WHEN, nullable=True),
        sa.Column("created_by", ID, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["position_id"], ["positions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("position_id", "kind", "period", name="uq_work_plans_position_period"),
    )
    op.create_index(op.f("ix_work_plans_community_id"), "work_plans", ["community_id"], unique=False)
    op.create_table(
        "plan_items",
        sa.Column("id", ID, nullable=False),
        sa.Column("plan_id", ID, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("owner_position_id", ID, nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["work_plans.id"]),
        sa.ForeignKeyConstraint(["owner_position_id"], ["positions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_plan_items_plan_id"), "plan_items", ["plan_id"], unique=False)
    op.create_table(
        "meetings",
        sa.Column("id", ID, nullable=False),
        sa.Column("community_id", ID, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("minutes", sa.Text(), nullable=True),
        sa.Column("task_ids", sa.JSON(), nullable=False),
        sa.Column("created_by", ID, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_meetings_community_id"), "meetings", ["community_id"], unique=False)
    op.create_table(
        "meeting_attendees",
        sa.Column("id", ID, nullable=False),
        sa.Column("meeting_id", ID, nullable=False),
        sa.Column("position_id", ID, nullable=False),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"]),
        sa.ForeignKeyConstraint(["position_id"], ["positions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("meeting_id", "position_id", name="uq_meeting_attendees"),
    )
    op.create_index(op.f("ix_meeting_attendees_meeting_id"), "meeting_attendees", ["meeting_id"], unique=False)
    op.create_index(op.f("ix_meeting_attendees_position_id"), "meeting_attendees", ["position_id"], unique=False)
    op.create_table(
        "trainings",
        sa.Column("id", ID, nullable=False),
        sa.Column("community_id", ID, nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("created_by", ID, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_trainings_community_id"), "trainings", ["community_id"], unique=False)
    op.create_table(
        "training_attendees",
        sa.Column("id", ID, nullable=False),
        sa.Column("training_id", ID, nullable=False),
        sa.Column("position_id", ID, nullable=False),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.Column("completed_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(["training_id"], ["trainings.id"]),
        sa.ForeignKeyConstraint(["position_id"], ["positions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("training_id", "position_id", name="uq_training_attendees"),
    )
    op.create_index(op.f("ix_training_attendees_training_id"), "training_attendees", ["training_id"], unique=False)
    op.create_index(op.f("ix_training_attendees_position_id"), "training_attendees", ["position_id"], unique=False)
    op.create_table(
        "issued_items",
        sa.Column("id", ID, nullable=False),
        sa.Column("community_id", ID, nullable=False),
        sa.Column("position_id", ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("returned_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("issued_by", ID, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["position_id"], ["positions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_issued_items_community_id"), "issued_items", ["community_id"], unique=False)
    op.create_index(op.f("ix_issued_items_position_id"), "issued_items", ["position_id"], unique=False)


def downgrade() -> None:
    for table in (
        "issued_items",
        "training_attendees",
        "trainings",
        "meeting_attendees",
        "meetings",
        "plan_items",
        "work_plans",
    ):
        op.drop_table(table)
