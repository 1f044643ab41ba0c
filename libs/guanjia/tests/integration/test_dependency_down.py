"""A database that cannot be reached is a 503 problem+json with Retry-After (never a 500), and /readyz names it."""

import uuid

import pytest

from guanjia.config import Settings
from guanjia.testing import TEST_JWT_PRIVATE_KEY, TEST_PII_KEY, TEST_SERVICE_KEY, auth_header
from guanjia.testservers import free_port


@pytest.fixture
def app_without_database(tmp_path):
    """The real tickets app, its database URL pointing at a port where no PostgreSQL listens (a stopped server)."""
    from tickets.app import create_app

    settings = Settings(
        service="tickets",
        database_url=f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/guanjia_gone",
        jwt_private_key=TEST_JWT_PRIVATE_KEY,
        service_key=TEST_SERVICE_KEY,
        pii_key=TEST_PII_KEY,
    )
    return settings, create_app(settings, upstreams={}, files_dir=tmp_path)


def test_a_request_while_the_database_is_down_gets_503_with_retry_after(app_without_database):
    settings, app = app_without_database
    client = app.test_client()
    headers = auth_header(settings, "admin")
    for method, path, body in [
        ("GET", "/api/v1/tickets", None),
        ("POST", "/api/v1/tickets", {"unit_id": str(uuid.uuid4()), "category": "repair", "description": "门锁坏了"}),
    ]:
        response = client.open(path, method=method, json=body, headers=headers)
        assert response.status_code == 503, (path, response.status_code, response.get_data(as_text=True))
        assert response.mimetype == "application/problem+json"
        assert int(response.headers["Retry-After"]) > 0
        assert "database" in response.get_json()["detail"]


def test_readyz_names_the_missing_dependency(app_without_database):
    _, app = app_without_database
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "database" in response.get_json()["missing"]


def test_a_pooled_connection_dropped_while_idle_is_replaced_before_use(infra, monkeypatch):
    """No pre-ping per checkout: a connection is pinged only after sitting idle, and one the server dropped
    meanwhile (a restart, an idle timeout) is replaced there, so the request using it does not fail."""
    from sqlalchemy import text

    from guanjia import db

    settings = infra.settings("pingtest")
    db.ensure_postgres_database(settings.database_url)
    database = db.Database(settings.database_url, pool_size=1)
    try:
        with database.engine.connect() as conn:
            victim = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with database.engine.connect() as conn:  # within the idle threshold: the same connection, no ping
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() == victim
        killer = db.Database(settings.database_url, pool_size=1)
        with killer.engine.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": victim}).scalar_one()
        killer.dispose()
        monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)
        with database.engine.connect() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != victim
    finally:
        database.dispose()
