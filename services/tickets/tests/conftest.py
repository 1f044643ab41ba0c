"""Fixtures of the tickets service tests."""

import pytest

from guanjia import bus, events
from guanjia.testing import auth_header


@pytest.fixture(scope="session")
def tickets_settings(infra):
    return infra.settings("tickets")


@pytest.fixture(scope="session")
def tickets_app(tickets_settings):
    from tickets.app import create_app

    return create_app(tickets_settings, upstreams={})


@pytest.fixture
def client(tickets_app):
    return tickets_app.test_client()


@pytest.fixture
def publish_unit_created():
    return _publish_unit_created


@pytest.fixture
def staff():
    return _staff


def _publish_unit_created(settings, unit_id, community_id, number="1-101"):
    """Publish unit.created as the residents service would (a real message on the session's exchange)."""
    publisher = bus.Publisher(settings.with_service("residents"))
    try:
        publisher.publish(
            events.build(
                type="unit.created",
                source="/testcity/residents",
                subject=f"unit/{unit_id}",
                city="testcity",
                community=community_id,
                data={
                    "unit_id": unit_id,
                    "community_id": community_id,
                    "building_id": "b1",
                    "number": number,
                    "floor": 1,
                    "area_m2": "88.50",
                },
            )
        )
    finally:
        publisher.close()


def _staff(settings, community_id):
    return auth_header(settings, "butler", communities=[community_id])
