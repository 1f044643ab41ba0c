"""work plans of a zone or of the community beside a person's: scope, target, zone; position and holder nullable

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 18:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

ID = sa.String(length=36)


def upgrade() -> None:
    with op.batch_alter_table("work_plans") as batch:
        batch.add_column(sa.Column("scope", sa.String(length=20), nullable=False, server_default="person"))
        batch.add_column(sa.Column("target_id", ID, nullable=True))
        batch.add_column(sa.Column("zone_id", ID, nullable=True))
    op.execute("UPDATE work_plans SET target_id = position_id")
    with op.batch_alter_table("work_plans") as batch:
        batch.alter_column("target_id", existing_type=ID, nullable=False)
        batch.alter_column("position_id", existing_type=ID, nullable=True)
        batch.alter_column("user_id", existing_type=ID, nullable=True)
        batch.drop_constraint("uq_work_plans_position_period", type_="unique")
        batch.create_unique_constraint("uq_work_plans_target_period", ["scope", "target_id", "kind", "period"])
    op.create_index(op.f("ix_work_plans_zone_id"), "work_plans", ["zone_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_work_plans_zone_id"), table_name="work_plans")
    op.execute("DELETE FROM plan_items WHERE plan_id IN (SELECT id FROM work_plans WHERE scope <> 'person')")
    op.execute("DELETE FROM work_plans WHERE scope <> 'person'")
    with op.batch_alter_table("work_plans") as batch:
        batch.drop_constraint("uq_work_plans_target_period", type_="unique")
        batch.create_unique_constraint("uq_work_plans_position_period", ["position_id", "kind", "period"])
        batch.alter_column("user_id", existing_type=ID, nullable=False)
        batch.alter_column("position_id", existing_type=ID, nullable=False)
        batch.drop_column("zone_id")
        batch.drop_column("target_id")
        batch.drop_column("scope")
