"""Fixtures of the billing service tests: its app, the real residents app, and unit.* publishing."""

import functools
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from guanjia import events
from guanjia.http import WsgiUpstream
from guanjia.service import load_specs
from guanjia.testing import auth_header, installed_app, publish_as, service_database


@pytest.fixture(scope="session")
def billing_settings(infra):
    return infra.settings("billing")


@pytest.fixture(scope="session")
def billing_upstreams():
    # Filled with the real residents app by the `residents_app` fixture of the tests that need it.
    return {}


@pytest.fixture(scope="session")
def billing_app(billing_settings, billing_upstreams, residents_app, residents_upstreams):
    # With the real residents app always present: a billing run checks the community's units with it first.
    from billing.app import create_app

    app = create_app(billing_settings, upstreams=billing_upstreams)
    residents_upstreams["billing"] = WsgiUpstream("billing", app)  # residents asks billing about deposits
    return app


@pytest.fixture(scope="session")
def residents_upstreams():
    # Filled with the billing app by `billing_app`: a renovation permit waits for the deposit billing holds.
    return {}


@pytest.fixture
def client(billing_app):
    return billing_app.test_client()


@pytest.fixture(scope="session")
def residents_app(infra, billing_upstreams, residents_upstreams):
    """The real residents service; the tests that need it skip until it is installed."""
    app = installed_app(infra, "residents", residents_upstreams)
    billing_upstreams["residents"] = WsgiUpstream("residents", app)
    return app


@pytest.fixture
def unit_event():
    """Build unit.created / unit.updated exactly as the residents service does."""
    return _unit_event


@pytest.fixture
def publish(billing_settings):
    """Publish on the session's exchange as the residents service's relay would."""
    return functools.partial(publish_as, billing_settings, "residents")


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
        "zone_id": "zone-1",
        "unit_type": "residential",
        "gross_area_m2": "88.50",
        "inner_area_m2": "70.20",
        "building_name": "3栋",
        "label": "3栋3-201",
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


# --- billing fixtures ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def db(billing_settings):
    yield from service_database(billing_settings)


@pytest.fixture
def admin(billing_settings):
    return auth_header(billing_settings, "admin")


@pytest.fixture
def resident_of(db, billing_settings):
    """resident_of(unit_id, community_id) → the header of a resident who moved in (as billing's projection has it)
    long before anything was billed: residents see their unit's records from their move-in on."""
    from datetime import UTC, datetime

    from billing.domain.units import record_move

    def make(unit_id: str, community_id: str, moved_in_at=datetime(2020, 1, 1, tzinfo=UTC)) -> dict:
        resident_id = str(uuid.uuid4())
        with db.transaction() as session:
            data = {"resident_id": resident_id, "unit_id": unit_id, "community_id": community_id}
            record_move(session, data, moved_in_at=moved_in_at)
        return auth_header(
            billing_settings, "resident", units=[unit_id], resident_id=resident_id, communities=[community_id]
        )

    return make


@pytest.fixture
def add_units(db):
    """Put units into billing's projection as unit.* events would (setup only; the consumer is tested apart)."""
    from billing.domain.units import upsert_unit

    def add(community_id, count=1, **overrides):
        ids = []
        with db.transaction() as session:
            for i in range(count):
                unit_id = str(uuid.uuid4())
                data = {
                    "unit_id": unit_id,
                    "community_id": community_id,
                    "building_id": "b-1",
                    "zone_id": "zone-1",
                    "number": f"1-{101 + i}",
                    "floor": 5,
                    "unit_type": "residential",
                    "area_m2": "100.00",
                    "gross_area_m2": "100.00",
                    "inner_area_m2": "80.00",
                    "status": "occupied",
                    **overrides,
                }
                data = {k: (Decimal(v) if k.endswith("area_m2") and v is not None else v) for k, v in data.items()}
                upsert_unit(session, data, datetime.now(UTC))
                ids.append(unit_id)
        return ids

    return add


@pytest.fixture
def community(client, finance, add_units):
    """A community with the property fee (2.50 per m² a month, 100 m² units → 250.00) and two units."""
    community_id = str(uuid.uuid4())
    headers = finance(community_id)
    response = client.post(
        "/api/v1/billing/fee-items",
        headers=headers,
        json={
            "community_id": community_id,
            "name": "物业服务费",
            "kind": "property_service",
            "basis": "per_m2",
            "rate": "2.50",
            "effective_from": "2026-01-01",
        },
    )
    assert response.status_code == 201, response.json
    units = add_units(community_id, 2)
    return {"id": community_id, "headers": headers, "units": units, "fee_item": response.json}


@pytest.fixture
def run(client):
    def run(community, period):
        response = client.post(
            "/api/v1/billing-runs",
            headers=community["headers"],
            json={"community_id": community["id"], "period": period},
        )
        assert response.status_code == 201, response.json
        return response.json

    return run


@pytest.fixture
def bills_of(client):
    def bills_of(community, **filters):
        response = client.get(
            "/api/v1/billing/bills",
            headers=community["headers"],
            query_string={"community_id": community["id"], "page_size": 100, **filters},
        )
        assert response.status_code == 200, response.json
        return response.json["items"]

    return bills_of


@pytest.fixture
def outbox_events(db):
    """The events a service wrote to its outbox (what its relay publishes), by type and subject prefix."""
    import json

    from sqlalchemy import select

    from billing.models import outbox

    def read(event_type, community_id=None):
        with db.transaction() as session:
            rows = session.execute(select(outbox.c.payload).where(outbox.c.event_type == event_type)).scalars()
            found = [json.loads(row) for row in rows]
        return [e for e in found if community_id is None or e["data"].get("community_id") == community_id]

    return read


@pytest.fixture
def make_app(billing_settings, billing_upstreams):
    """Build billing apps with other options (a clock, a callback verifier); their pools are closed afterwards."""
    from billing.app import create_app

    apps = []

    def make(**options):
        app = create_app(billing_settings, billing_upstreams, **options)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["guanjia.db"].dispose()


@pytest.fixture
def at(make_app):
    """A test client of an app whose clock stands at noon (Shanghai) of the given day: payments, reports, late fees."""
    from datetime import date, time
    from zoneinfo import ZoneInfo

    def at(day: str):
        moment = datetime.combine(date.fromisoformat(day), time(12), ZoneInfo("Asia/Shanghai")).astimezone(UTC)
        return make_app(clock=lambda: moment).test_client()

    return at


@pytest.fixture(scope="session")
def gateway_upstream(infra, billing_upstreams):
    """The real gateway (staff accounts) beside billing, as in the embedded stack."""
    app = load_specs()["gateway"].create_app(infra.settings("gateway"), {})
    billing_upstreams["gateway"] = WsgiUpstream("gateway", app)
    yield app
    billing_upstreams.pop("gateway", None)
