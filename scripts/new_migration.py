"""Generate an Alembic revision for a service: autogenerate against a scratch PostgreSQL database.

Usage: .venv/bin/python scripts/new_migration.py <service> "<message>" [rev_id]
"""
import os
import sys
import uuid

from alembic import command
from alembic.config import Config
from guanjia.db import ensure_postgres_database, drop_postgres_database, upgrade
from guanjia.service import load_specs
name, message = sys.argv[1], sys.argv[2]
spec = load_specs()[name]
server = os.environ.get("GUANJIA_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres").rsplit("/", 1)[0]
url = f"{server}/autogen_{uuid.uuid4().hex[:6]}"
ensure_postgres_database(url)
try:
    upgrade(url, spec.migrations_dir)
    cfg = Config(); cfg.set_main_option("script_location", str(spec.migrations_dir)); cfg.set_main_option("sqlalchemy.url", url)
    command.revision(cfg, message=message, autogenerate=True, rev_id=sys.argv[3] if len(sys.argv) > 3 else None)
finally:
    drop_postgres_database(url)
