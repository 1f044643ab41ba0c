"""equipment register (设施设备台账), certificates, maintenance plans and orders; tickets linked to equipment

Revision ID: 0008_equipment
Revises: 0007_incidents
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_equipment"
down_revision = "0007_incidents"
branch_labels = None
depends_on = None

_when = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "equipment",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("community_id", sa.String(length=36), nullable=False),
        sa.Column("zone_id", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=True),
        sa.Column("building_id", sa.String(length=36), nullable=True),
        sa.Column("floor", sa.String(length=20), nullable=True),
        sa.Column("room", sa.String(length=50), nullable=True),
        sa.Column("location_note", sa.String(length=200), nullable=True),
        sa.Column("maker", sa.String(length=100), nullable=True),
        sa.Column("model", sa.String(length=100), nullable=True),
        sa.Column("serial_number", sa.String(length=100), nullable=True),
        sa.Column("installed_on", sa.Date(), nullable=True),
        sa.Column("contractor", sa.String(length=100), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("state_note", sa.Text(), nullable=True),
        sa.Column("state_changed_at", _when, nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", _when, nullable=False),
        sa.Column("updated_at", _when, nullable=False),
        sa.UniqueConstraint("community_id", "code", name="uq_equipment_community_code"),
    )
    op.create_index("ix_equipment_community_kind", "equipment", ["community_id", "kind"])
    op.create_table(
        "equipment_certificates",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("equipment_id", sa.String(length=36), nullable=False),
        sa.Column("community_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("number", sa.String(length=100), nullable=True),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("created_at", _when, nullable=False),
    )
    op.create_index("ix_equipment_certificates_equipment", "equipment_certificates", ["equipment_id"])
    op.create_index("ix_equipment_certificates_expiry", "equipment_certificates", ["community_id", "expires_on"])
    op.create_table(
        "maintenance_plans",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("equipment_id", sa.String(length=36), nullable=False),
        sa.Column("community_id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("frequency", sa.String(length=20), nullable=False),
        sa.Column("checklist", sa.Text(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("assignee_id", sa.String(length=100), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("next_n", sa.Integer(), nullable=False),
        sa.Column("next_due_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", _when, nullable=False),
    )
    op.create_index("ix_maintenance_plans_due", "maintenance_plans", ["next_due_on"])
    op.create_index("ix_maintenance_plans_equipment", "maintenance_plans", ["equipment_id"])
    op.create_table(
        "maintenance_orders",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("plan_id", sa.String(length=36), nullable=False),
        sa.Column("equipment_id", sa.String(length=36), nullable=False),
        sa.Column("community_id", sa.String(length=36), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("assignee_id", sa.String(length=100), nullable=True),
        sa.Column("checklist", sa.Text(), nullable=False),
        sa.Column("results", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("fault_ticket_ids", sa.Text(), nullable=False),
        sa.Column("completed_by", sa.String(length=100), nullable=True),
        sa.Column("completed_at", _when, nullable=True),
        sa.Column("overdue_at", _when, nullable=True),
        sa.Column("created_at", _when, nullable=False),
        sa.UniqueConstraint("plan_id", "due_on", name="uq_maintenance_orders_plan_due"),
    )
    op.create_index("ix_maintenance_orders_community_due", "maintenance_orders", ["community_id", "due_on"])
    op.create_index("ix_maintenance_orders_equipment", "maintenance_orders", ["equipment_id"])
    op.add_column("tickets", sa.Column("equipment_id", sa.String(length=36), nullable=True))
    op.create_index("ix_tickets_equipment", "tickets", ["equipment_id"])


def downgrade() -> None:
    op.drop_index("ix_tickets_equipment", table_name="tickets")
    op.drop_column("tickets", "equipment_id")
    for table in ("maintenance_orders", "maintenance_plans", "equipment_certificates", "equipment"):
        op.drop_table(table)
