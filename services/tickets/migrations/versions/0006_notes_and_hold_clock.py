"""progress notes and staged feedback, the hold clock, visit-overdue alerts, direct-close kinds, text search

Revision ID: 0006_notes
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_notes"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("hold_started_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("held_seconds", sa.Integer(), nullable=False, server_default=sa.text("0")))
        batch.add_column(sa.Column("next_feedback_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("visit_overdue_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_tickets_next_feedback",
        "tickets",
        ["next_feedback_at"],
        postgresql_where=sa.text("next_feedback_at IS NOT NULL"),
    )
    with op.batch_alter_table("community_configs") as batch:
        batch.add_column(
            sa.Column(
                "direct_close_categories",
                sa.String(length=200),
                nullable=False,
                server_default=sa.text("'inquiry,praise'"),
            )
        )
    op.create_table(
        "ticket_notes",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("ticket_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("visibility", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("next_feedback_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_ticket_notes_ticket_created", "ticket_notes", ["ticket_id", "created_at"])
    if op.get_bind().dialect.name == "postgresql":
        # Trigram indexes serve ILIKE '%漏水%' (pg_trgm is a trusted extension: the database owner may create it).
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    _trigram_index("ix_tickets_description_trgm", "tickets", "description")
    _trigram_index("ix_ticket_notes_body_trgm", "ticket_notes", "body")


def _trigram_index(name: str, table: str, column: str) -> None:
    op.create_index(name, table, [column], postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"})


def downgrade() -> None:
    op.drop_index("ix_tickets_description_trgm", table_name="tickets")
    op.drop_table("ticket_notes")
    with op.batch_alter_table("community_configs") as batch:
        batch.drop_column("direct_close_categories")
    op.drop_index("ix_tickets_next_feedback", table_name="tickets")
    with op.batch_alter_table("tickets") as batch:
        for column in ("visit_overdue_at", "next_feedback_at", "held_seconds", "hold_started_at"):
            batch.drop_column(column)
