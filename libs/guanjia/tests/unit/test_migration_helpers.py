"""The migration helpers emit the DDL revision 0001 of every service always emitted: frozen, byte for byte."""

import io

from alembic.migration import MigrationContext
from alembic.operations import Operations

from guanjia import migrations

# What the services' 0001 revisions wrote out by hand before the helpers existed (PostgreSQL, offline mode).
CREATED = """CREATE TABLE outbox (
    id VARCHAR(36) NOT NULL, \n    event_type VARCHAR(100) NOT NULL, \n    payload TEXT NOT NULL, \n\
    created_at TIMESTAMP WITH TIME ZONE NOT NULL, \n    published_at TIMESTAMP WITH TIME ZONE, \n\
    attempts INTEGER NOT NULL, \n    last_error TEXT, \n    PRIMARY KEY (id)
);

CREATE INDEX ix_outbox_unpublished ON outbox (created_at) WHERE published_at IS NULL;

CREATE TABLE inbox (
    consumer VARCHAR(100) NOT NULL, \n    event_id VARCHAR(64) NOT NULL, \n    event_type VARCHAR(100) NOT NULL, \n\
    processed_at TIMESTAMP WITH TIME ZONE NOT NULL, \n    PRIMARY KEY (consumer, event_id)
);

CREATE TABLE idempotency_keys (
    subject VARCHAR(100) NOT NULL, \n    key VARCHAR(200) NOT NULL, \n    request_hash VARCHAR(64) NOT NULL, \n\
    status INTEGER NOT NULL, \n    body TEXT NOT NULL, \n    created_at TIMESTAMP WITH TIME ZONE NOT NULL, \n\
    PRIMARY KEY (subject, key)
);

"""
DROPPED = (
    "DROP INDEX ix_outbox_unpublished;\n\nDROP TABLE outbox;\n\nDROP TABLE inbox;\n\nDROP TABLE idempotency_keys;\n\n"
)


def _offline_sql(*helpers, dialect: str = "postgresql") -> str:
    out = io.StringIO()
    context = MigrationContext.configure(dialect_name=dialect, opts={"as_sql": True, "output_buffer": out})
    with Operations.context(context):
        for helper in helpers:
            helper()
    return out.getvalue()


def test_the_helpers_create_the_tables_revision_0001_created():
    created = _offline_sql(migrations.create_outbox, migrations.create_inbox, migrations.create_idempotency_keys)
    assert created == CREATED


def test_the_helpers_drop_what_they_created():
    assert _offline_sql(migrations.drop_outbox, migrations.drop_inbox, migrations.drop_idempotency_keys) == DROPPED


def test_sqlite_gets_the_same_partial_index_of_unpublished_rows():
    assert "WHERE published_at IS NULL" in _offline_sql(migrations.create_outbox, dialect="sqlite")
