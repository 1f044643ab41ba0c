"""Generate an Alembic revision for a service: autogenerate against a scratch PostgreSQL database.

Usage: .venv/bin/python scripts/new_migration.py <service> "<message>" [rev_id]
"""

import os
import sys
import uuid

from alembic import command
from alembic.config import Config

from guanjia.db import drop_postgres_database, ensure_postgres_database, upgrade
from guanjia.service import load_specs


def main(name: str, message: str, rev_id: str | None = None) -> None:
    spec = load_specs()[name]
    server = os.environ.get("GUANJIA_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    url = f"{server.rsplit('/', 1)[0]}/autogen_{uuid.uuid4().hex[:6]}"
    ensure_postgres_database(url)
    try:
        upgrade(url, spec.migrations_dir)  # bring the scratch database to head, then diff against the models
        cfg = Config()
        cfg.set_main_option("script_location", str(spec.migrations_dir))
        cfg.set_main_option("sqlalchemy.url", url)
        command.revision(cfg, message=message, autogenerate=True, rev_id=rev_id)
    finally:
        drop_postgres_database(url)


if __name__ == "__main__":
    main(*sys.argv[1:4])
