"""incidents (突发事件): scope, on-site timeline, aftermath tasks, log

Revision ID: 0007_incidents
Revises: 0006_notes
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_incidents"
down_revision = "0006_notes"
branch_labels = None
depends_on = None

_when = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("community_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=30), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("notify_residents", sa.Boolean(), nullable=False),
        sa.Column("on_site", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("log_steps", sa.Integer(), nullable=False),
        sa.Column("reported_by", sa.String(length=100), nullable=False),
        sa.Column("reported_at", _when, nullable=False),
        sa.Column("arrived_at", _when, nullable=True),
        sa.Column("contained_at", _when, nullable=True),
        sa.Column("resolved_at", _when, nullable=True),
        sa.Column("closed_at", _when, nullable=True),
        sa.Column("updated_at", _when, nullable=False),
    )
    op.create_index("ix_incidents_community_reported", "incidents", ["community_id", "reported_at"])
    op.create_table(
        "incident_scope",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("target_id", sa.String(length=36), nullable=False),
        sa.UniqueConstraint("incident_id", "kind", "target_id", name="uq_incident_scope"),
    )
    op.create_index("ix_incident_scope_incident_id", "incident_scope", ["incident_id"])
    op.create_table(
        "incident_tasks",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("owner_id", sa.String(length=100), nullable=False),
        sa.Column("due_at", _when, nullable=True),
        sa.Column("done_at", _when, nullable=True),
        sa.Column("created_at", _when, nullable=False),
    )
    op.create_index("ix_incident_tasks_incident_id", "incident_tasks", ["incident_id"])
    op.create_table(
        "incident_log",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("at", _when, nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.UniqueConstraint("incident_id", "position", name="uq_incident_log_position"),
    )


def downgrade() -> None:
    for table in ("incident_log", "incident_tasks", "incident_scope", "incidents"):
        op.drop_table(table)
