"""new-building acceptance (新楼验收 / 承接查验): plans per building, per-unit checklists, defects with photos

Revision ID: 0012_acceptance
Revises: 0011_bigram_search
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_acceptance"
down_revision = "0011_bigram_search"
branch_labels = None
depends_on = None

_when = sa.DateTime(timezone=True)


def _id(name: str = "id", **kwargs):
    return sa.Column(name, sa.String(length=36), nullable=False, **kwargs)


def upgrade() -> None:
    op.create_table(
        "acceptance_templates",
        _id(primary_key=True),
        _id("community_id"),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", _when, nullable=False),
    )
    op.create_index("ix_acceptance_templates_community_id", "acceptance_templates", ["community_id"])
    op.create_table(
        "acceptance_plans",
        _id(primary_key=True),
        _id("community_id"),
        _id("building_id"),
        sa.Column("zone_id", sa.String(length=36), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("inspector_ids", sa.Text(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("template_id", sa.String(length=36), nullable=True),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", _when, nullable=False),
        sa.Column("updated_at", _when, nullable=False),
        sa.Column("closed_at", _when, nullable=True),
    )
    op.create_index("ix_acceptance_plans_community", "acceptance_plans", ["community_id", "starts_on"])
    op.create_index(
        "ux_acceptance_plans_open_building",
        "acceptance_plans",
        ["community_id", "building_id"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
        sqlite_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "acceptance_checks",
        _id(primary_key=True),
        _id("plan_id"),
        _id("unit_id"),
        _id("community_id"),
        sa.Column("results", sa.Text(), nullable=False),
        sa.Column("inspected_by", sa.String(length=100), nullable=False),
        sa.Column("inspected_at", _when, nullable=False),
        sa.UniqueConstraint("plan_id", "unit_id", name="uq_acceptance_checks_plan_unit"),
    )
    op.create_table(
        "acceptance_defects",
        _id(primary_key=True),
        _id("plan_id"),
        _id("check_id"),
        _id("unit_id"),
        _id("community_id"),
        _id("building_id"),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("item", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("responsible_party", sa.String(length=20), nullable=False),
        sa.Column("rectify_by", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reinspections", sa.Integer(), nullable=False),
        sa.Column("last_reinspected_at", _when, nullable=True),
        sa.Column("last_reinspection_note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", _when, nullable=False),
        sa.Column("closed_by", sa.String(length=100), nullable=True),
        sa.Column("closed_at", _when, nullable=True),
        sa.Column("updated_at", _when, nullable=False),
    )
    op.create_index("ix_acceptance_defects_plan", "acceptance_defects", ["plan_id", "status"])
    op.create_index("ix_acceptance_defects_unit", "acceptance_defects", ["unit_id", "status"])
    op.create_table(
        "acceptance_defect_photos",
        _id(primary_key=True),
        _id("defect_id"),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", _when, nullable=False),
    )
    op.create_index("ix_acceptance_defect_photos_defect_id", "acceptance_defect_photos", ["defect_id"])


def downgrade() -> None:
    for table in ("acceptance_defect_photos", "acceptance_defects", "acceptance_checks", "acceptance_plans"):
        op.drop_table(table)
    op.drop_table("acceptance_templates")
