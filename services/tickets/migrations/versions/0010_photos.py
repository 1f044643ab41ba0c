"""photos of incidents (and of their on-site log entries) and of patrol findings

Revision ID: 0010_photos
Revises: 0009_quality_cases
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_photos"
down_revision = "0009_quality_cases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "photos",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("subject_kind", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("log_id", sa.String(length=36), nullable=True),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_photos_subject", "photos", ["subject_kind", "subject_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_photos_subject", table_name="photos")
    op.drop_table("photos")
