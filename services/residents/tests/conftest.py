"""Fixtures of the residents service tests: the app on the session's database, and a fresh place per test."""

import uuid

import pytest

from guanjia.testing import auth_header, outbox_events, service_database


@pytest.fixture(scope="session")
def residents_settings(infra):
    return infra.settings("residents")


class Clock:
    """The app's clock: the wall clock, unless a test fixed it (clock.set)."""

    def __init__(self):
        self.now = None

    def __call__(self):
        from guanjia.db import utcnow

        return self.now or utcnow()

    def set(self, value):
        self.now = value


@pytest.fixture(scope="session")
def app_clock():
    return Clock()


@pytest.fixture(scope="session")
def residents_app(residents_settings, app_clock, tmp_path_factory):
    from residents.app import create_app

    return create_app(residents_settings, upstreams={}, clock=app_clock, files_dir=tmp_path_factory.mktemp("files"))


@pytest.fixture
def client(residents_app):
    return residents_app.test_client()


@pytest.fixture(scope="session")
def db(residents_settings):
    yield from service_database(residents_settings)


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
    zone = client.post("/api/v1/zones", headers=manager, json={"community_id": community_id, "name": "A区"})
    assert zone.status_code == 201, zone.json
    building = client.post(
        "/api/v1/buildings",
        headers=manager,
        json={"community_id": community_id, "name": "1栋", "zone_id": zone.json["id"]},
    )
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
        "zone_id": zone.json["id"],
        "staff": as_role("butler", communities=[community_id], zones=[zone.json["id"]]),
        "manager": manager,
    }


@pytest.fixture
def register(client):
    """register(place, name=..., phone=..., role=...) → the created resident as staff see it."""

    def _register(place, *, name="张三丰", phone="13800138000", role="owner", unit_id=None, headers=None):
        response = client.post(
            "/api/v1/residents",
            headers=headers or (place["manager"] if unit_id else place["staff"]),
            json={"unit_id": unit_id or place["unit_id"], "name": name, "phone": phone, "role": role},
        )
        assert response.status_code == 201, response.json
        return response.json

    return _register


@pytest.fixture
def count(db):
    """count(table) → rows in that table of the session's database (to prove nothing was written)."""
    from sqlalchemy import func, select

    def _count(table):
        with db.transaction() as s:
            return s.execute(select(func.count()).select_from(table)).scalar_one()

    return _count


@pytest.fixture
def outbox_types(db):
    """outbox_types(subject) → the event types written to the outbox for that subject, oldest first."""
    from residents.models import outbox

    return lambda subject: [event["type"] for event in outbox_events(db, outbox, subject)]


@pytest.fixture
def second_zone(client, place):
    """Zone B of the same community with its own building, unit and butler."""
    manager = place["manager"]
    zone = client.post("/api/v1/zones", headers=manager, json={"community_id": place["community_id"], "name": "B区"})
    assert zone.status_code == 201, zone.json
    building = client.post(
        "/api/v1/buildings",
        headers=manager,
        json={"community_id": place["community_id"], "name": "9栋", "zone_id": zone.json["id"]},
    )
    unit = client.post(
        "/api/v1/units",
        headers=manager,
        json={"building_id": building.json["id"], "number": "9-901", "floor": 9, "area_m2": "120.00"},
    )
    assert unit.status_code == 201, unit.json
    return {"zone_id": zone.json["id"], "building_id": building.json["id"], "unit_id": unit.json["id"]}


@pytest.fixture
def clock(app_clock):
    """clock.set(datetime) fixes the service's notion of now (time-driven rules); reset after the test."""
    yield app_clock
    app_clock.set(None)


@pytest.fixture
def kept_households(db):
    """kept_households(community_id) → {unit_id: household} as the units keep it, after checking it is what the
    residents say (a unit with a resident who has not moved out)."""
    from sqlalchemy import select

    from residents.models import Resident, Unit

    def _kept(community_id):
        with db.transaction() as s:
            kept = dict(s.execute(select(Unit.id, Unit.household).where(Unit.community_id == community_id)).all())
            current = select(Resident.unit_id).where(
                Resident.community_id == community_id, Resident.status != "moved_out"
            )
            truth = set(s.execute(current).scalars())
        assert kept == {unit_id: unit_id in truth for unit_id in kept}
        return kept

    return _kept
