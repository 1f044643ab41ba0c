"""Fixtures of the billing service tests: its app, the real residents app, and unit.* publishing."""

from datetime import datetime

import pytest

from guanjia import bus, events
from guanjia.http import WsgiUpstream
from guanjia.service import load_specs
from guanjia.testing import auth_header


@pytest.fixture(scope="session")
def billing_settings(infra):
    return infra.settings("billing")


@pytest.fixture(scope="session")
def billing_upstreams():
    # Filled with the real residents app by the `residents_app` fixture of the tests that need it.
    return {}


@pytest.fixture(scope="session")
def billing_app(billing_settings, billing_upstreams):
    from billing.app import create_app

    return create_app(billing_settings, upstreams=billing_upstreams)


@pytest.fixture
def client(billing_app):
    return billing_app.test_client()


@pytest.fixture(scope="session")
def residents_app(infra, billing_upstreams):
    """The real residents service; the tests that need it skip until it is installed."""
    spec = load_specs().get("residents")
    if spec is None:
        pytest.skip("the residents service is not installed yet: .venv/bin/pip install -e services/residents")
    app = spec.create_app(infra.settings("residents"), {})
    billing_upstreams["residents"] = WsgiUpstream("residents", app)
    return app


@pytest.fixture
def unit_event():
    """Build unit.created / unit.updated exactly as the residents service does."""
    return _unit_event


@pytest.fixture
def publish(billing_settings):
    """Publish on the session's exchange as the residents service's relay would."""

    def publish(*messages):
        publisher = bus.Publisher(billing_settings.with_service("residents"))
        try:
            for message in messages:
                publisher.publish(message)
        finally:
            publisher.close()

    return publish


@pytest.fixture
def finance(billing_settings):
    """Headers of a finance officer of `community_id`."""
    return lambda community_id: auth_header(billing_settings, "finance", communities=[community_id])


def _unit_event(
    unit_id: str, community_id: str, *, type: str = "unit.created", time: datetime | None = None, **changes
) -> dict:
    """unit.created / unit.updated exactly as the residents service builds them."""
    data = {
        "unit_id": unit_id,
        "community_id": community_id,
        "building_id": "b-1",
        "number": "3-201",
        "floor": 2,
        "area_m2": "88.50",
        "status": "delivered",
        **changes,
    }
    return events.build(
        type=type,
        source="/testcity/residents",
        subject=f"unit/{unit_id}",
        city="testcity",
        community=community_id,
        data=data,
        time=time,
    )
