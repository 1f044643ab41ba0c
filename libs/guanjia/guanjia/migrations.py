"""The body of every service's Alembic env.py: online migrations against the configured URL."""

from __future__ import annotations

from alembic import context
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
