"""The body of every service's Alembic env.py, and the library's own tables as the services' migrations create them.

The create_*/drop_* helpers are the outbox, inbox and idempotency tables exactly as revision 0001 of every service
made them (0002 for billing's idempotency keys). They are frozen on purpose: a change to define_outbox() and the
others needs a new revision in every service, never an edit here (tests/contract/test_migrations.py compares the
migrated schema with the models; libs/guanjia/tests/unit/test_migration_helpers.py pins this DDL).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy import MetaData, create_engine, pool


def run_migrations(target_metadata: MetaData) -> None:
    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=connection.dialect.name == "sqlite"
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Several pods may migrate at once (an init container per replica, the migration Job): one
                # runs, the others wait for it and then find the schema at head. Released at commit.
                connection.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('guanjia-migrations'))")
            context.run_migrations()
    engine.dispose()


def create_outbox() -> None:
    """The outbox (guanjia.outbox.define_outbox) and its index of the rows still to publish."""
    op.create_table(
        "outbox",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    )


def drop_outbox() -> None:
    op.drop_index(
        "ix_outbox_unpublished",
        table_name="outbox",
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    )
    op.drop_table("outbox")


def create_inbox() -> None:
    """The processed-event table (guanjia.inbox.define_inbox)."""
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id"),
    )


def drop_inbox() -> None:
    op.drop_table("inbox")


def create_idempotency_keys() -> None:
    """The stored first responses of idempotent commands (guanjia.idempotency.define_idempotency)."""
    op.create_table(
        "idempotency_keys",
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject", "key"),
    )


def drop_idempotency_keys() -> None:
    op.drop_table("idempotency_keys")
