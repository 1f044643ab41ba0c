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
