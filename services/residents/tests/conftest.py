"""Fixtures of the residents service tests: the app on the session's database, and a fresh place per test."""

import uuid

import pytest

from guanjia.db import Database
from guanjia.testing import auth_header


@pytest.fixture(scope="session")
def residents_settings(infra):
    return infra.settings("residents")


@pytest.fixture(scope="session")
def residents_app(residents_settings):
    from residents.app import create_app

    return create_app(residents_settings, upstreams={})


@pytest.fixture
def client(residents_app):
    return residents_app.test_client()


@pytest.fixture(scope="session")
def db(residents_settings):
    database = Database(residents_settings.database_url)
    yield database
    database.dispose()


@pytest.fixture
def as_role(residents_settings):
    """as_role("butler", communities=[...]) → an Authorization header, as the gateway would issue it."""
    return lambda role, **scopes: auth_header(residents_settings, role, **scopes)


@pytest.fixture
def place(client, as_role):
    """A community with one building and one vacant unit, created through the API; unique per test."""
    admin = as_role("admin")
    community = client.post("/api/v1/communities", headers=admin, json={"name": f"翠湖苑 {uuid.uuid4().hex[:6]}"})
    assert community.status_code == 201, community.json
    community_id = community.json["id"]
    manager = as_role("senior_butler", communities=[community_id])
    building = client.post("/api/v1/buildings", headers=manager, json={"community_id": community_id, "name": "1栋"})
    assert building.status_code == 201, building.json
    unit = client.post(
        "/api/v1/units",
        headers=manager,
        json={"building_id": building.json["id"], "number": "1-101", "floor": 1, "area_m2": "88.50"},
    )
    assert unit.status_code == 201, unit.json
    return {
        "community_id": community_id,
        "building_id": building.json["id"],
        "unit_id": unit.json["id"],
        "staff": as_role("butler", communities=[community_id]),
        "manager": manager,
    }


@pytest.fixture
def register(client):
    """register(place, name=..., phone=..., role=...) → the created resident as staff see it."""

    def _register(place, *, name="张三丰", phone="13800138000", role="owner", unit_id=None):
        response = client.post(
            "/api/v1/residents",
            headers=place["staff"],
            json={"unit_id": unit_id or place["unit_id"], "name": name, "phone": phone, "role": role},
        )
        assert response.status_code == 201, response.json
        return response.json

    return _register
