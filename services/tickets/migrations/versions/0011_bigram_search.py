"""free-text search for one- and two-character words: character-bigram GIN indexes (PostgreSQL)

A trigram index cannot serve `漏水` (two characters have no trigram): the words of two characters are matched through
`ticket_bigrams(text)`, the text's distinct lower-cased character pairs, by an expression GIN index on the
descriptions and on the notes. Embedded mode (SQLite) scans, as before.

Revision ID: 0011_bigram_search
Revises: 0010_photos
"""

from alembic import op

revision = "0011_bigram_search"
down_revision = "0010_photos"
branch_labels = None
depends_on = None

FUNCTION = """
CREATE OR REPLACE FUNCTION ticket_bigrams(t text) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT lower(substr(t, i, 2))), '{}')
  FROM generate_series(1, greatest(char_length(t) - 1, 0)) AS i
$$
"""
INDEXES = {"ix_tickets_description_bigrams": ("tickets", "description"),
           "ix_ticket_notes_body_bigrams": ("ticket_notes", "body")}  # fmt: skip


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTION)
    for name, (table, column) in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON {table} USING gin (ticket_bigrams({column}))")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute("DROP FUNCTION IF EXISTS ticket_bigrams(text)")
