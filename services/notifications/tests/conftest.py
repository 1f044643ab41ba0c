"""Fixtures of the notifications service tests: its app, the real residents app, and event helpers."""

import random
import uuid

import pytest

from guanjia import bus, events
from guanjia.http import WsgiUpstream
from guanjia.service import load_specs
from guanjia.testing import auth_header


@pytest.fixture(scope="session")
def notifications_settings(infra):
    return infra.settings("notifications")


@pytest.fixture(scope="session")
def notifications_app(notifications_settings):
    from notifications.app import create_app

    return create_app(notifications_settings, upstreams={})


@pytest.fixture
def client(notifications_app):
    return notifications_app.test_client()


@pytest.fixture(scope="session")
def residents_app(infra):
    """The real residents service (its contact endpoint); the tests that need it skip until it is installed."""
    spec = load_specs().get("residents")
    if spec is None:
        pytest.skip("the residents service is not installed yet: .venv/bin/pip install -e services/residents")
    return spec.create_app(infra.settings("residents"), {})


@pytest.fixture(scope="session")
def residents_upstream(residents_app):
    return WsgiUpstream("residents", residents_app)


@pytest.fixture
def resident(residents_app, notifications_settings):
    """A resident with a phone in the real residents service (its own community, building and unit)."""
    return _register_resident(residents_app, notifications_settings)


@pytest.fixture
def ticket_created():
    """Build a ticket.created event exactly as the tickets service does."""
    return _ticket_created


@pytest.fixture
def publish(notifications_settings):
    """Publish events on the session's exchange as the tickets service's relay would."""

    def publish(*messages):
        publisher = bus.Publisher(notifications_settings.with_service("tickets"))
        try:
            for message in messages:
                publisher.publish(message)
        finally:
            publisher.close()

    return publish


def _random_mobile() -> str:
    return f"+86138{random.randint(0, 99_999_999):08d}"


def _register_resident(residents_app, settings, phone: str | None = None) -> dict:
    """A resident with a phone, created through the residents API as an admin would."""
    client = residents_app.test_client()
    admin = auth_header(settings, "admin")

    def post(path, body):
        response = client.post(path, json=body, headers=admin)
        assert response.status_code == 201, (path, response.json)
        return response.json

    community = post("/api/v1/communities", {"name": f"测试小区{uuid.uuid4().hex[:6]}"})
    building = post("/api/v1/buildings", {"community_id": community["id"], "name": "1栋"})
    unit = post("/api/v1/units", {"building_id": building["id"], "number": "1-101", "floor": 1, "area_m2": "88.50"})
    phone = phone or _random_mobile()
    resident = post("/api/v1/residents", {"unit_id": unit["id"], "name": "张三", "phone": phone, "role": "owner"})
    return {"resident_id": resident["id"], "unit_id": unit["id"], "community_id": community["id"], "phone": phone}


def _ticket_created(reporter_id: str, community_id: str, /, *, category: str = "repair", **data_changes) -> dict:
    """A ticket.created event exactly as the tickets service builds it."""
    ticket_id = str(uuid.uuid4())
    data = {
        "ticket_id": ticket_id,
        "number": f"261127-{ticket_id[:6].upper()}",
        "community_id": community_id,
        "unit_id": str(uuid.uuid4()),
        "reporter_id": reporter_id,
        "category": category,
        "status": "new",
        "created_at": "2026-11-27T08:00:00+00:00",
    }
    data.update(data_changes)
    data = {k: v for k, v in data.items() if v is not None}
    return events.build(
        type="ticket.created",
        source="/testcity/tickets",
        subject=f"ticket/{ticket_id}",
        city="testcity",
        community=community_id,
        data=data,
    )
