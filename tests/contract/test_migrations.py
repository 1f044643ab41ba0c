"""Each service's Alembic history builds exactly the tables its models describe (on PostgreSQL and SQLite)."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from guanjia.db import upgrade
from guanjia.service import load_specs

SPECS = load_specs()


@pytest.mark.parametrize("service", sorted(SPECS))
def test_migrations_match_models_on_postgresql(infra, service):
    url = infra.database_url(f"migrations_{service}")
    infra.settings(service, database=f"migrations_{service}")  # creates the database and upgrades it
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SPECS[service].metadata)
    engine.dispose()
    assert diff == [], f"{service}: models and migrations differ: {diff}"


@pytest.mark.parametrize("service", sorted(SPECS))
def test_migrations_run_on_sqlite_for_embedded_mode(tmp_path, service):
    url = f"sqlite:///{tmp_path}/{service}.db"
    upgrade(url, SPECS[service].migrations_dir)
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SPECS[service].metadata)
    engine.dispose()
    assert diff == [], f"{service}: models and migrations differ on SQLite: {diff}"
