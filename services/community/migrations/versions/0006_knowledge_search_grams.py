"""knowledge search: an index in the list's order, and the entry's characters and two-character pairs in a GIN-indexed generated column

A `LIKE '%漏水%'` cannot use a pg_trgm index (a two-character query has no trigram), so every search read all the
community's entries twice (the page and the total). The grams column holds each single character and each pair of
adjacent characters of the question and of the answer; a query's pairs (or its one character) must all be there,
which the GIN index answers, and the LIKE still decides — the results are the same rows as before.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 17:30:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

GRAMS_FUNCTION = """
CREATE FUNCTION knowledge_grams(t text) RETURNS text[] IMMUTABLE PARALLEL SAFE LANGUAGE sql AS $$
    SELECT coalesce(array_agg(DISTINCT g), '{}') FROM (
        SELECT substr(t, i, 1) AS g FROM generate_series(1, char_length(t)) AS i
        UNION ALL
        SELECT substr(t, i, 2) FROM generate_series(1, char_length(t) - 1) AS i
    ) AS grams
$$
"""


def upgrade() -> None:
    # The list's order (category, question): the first page of a search is read off this index, stopping at the
    # page's last row, instead of sorting every match.
    op.create_index(
        "ix_knowledge_community_order",
        "knowledge_entries",
        ["community_id", "category", "question", "id"],
        unique=False,
    )
    if op.get_bind().dialect.name != "postgresql":
        # The embedded mode's SQLite: the column (empty) and a plain index, so the tables match the models; its
        # search is the LIKE alone (see community.domain.knowledge.GramsContain).
        op.add_column("knowledge_entries", sa.Column("search_grams", sa.Text(), nullable=True))
        op.create_index("ix_knowledge_search_grams", "knowledge_entries", ["search_grams"], unique=False)
        return
    op.execute(GRAMS_FUNCTION)
    op.add_column(
        "knowledge_entries",
        sa.Column(
            "search_grams",
            postgresql.ARRAY(sa.Text()),
            sa.Computed("knowledge_grams(question::text) || knowledge_grams(answer)", persisted=True),
            nullable=True,
        ),
    )
    op.create_index(
        "ix_knowledge_search_grams", "knowledge_entries", ["search_grams"], unique=False, postgresql_using="gin"
    )


def downgrade() -> None:
    op.drop_index("ix_knowledge_community_order", table_name="knowledge_entries")
    op.drop_index("ix_knowledge_search_grams", table_name="knowledge_entries")
    with op.batch_alter_table("knowledge_entries") as batch:
        batch.drop_column("search_grams")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION knowledge_grams(text)")
