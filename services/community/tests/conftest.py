"""Fixtures of the community service tests: the app on the session's PostgreSQL, its worker on RabbitMQ, and a
community whose zones and units reach the projection as residents would announce them."""

import uuid

import pytest

from guanjia import bus, events
from guanjia.db import Database, utcnow
from guanjia.testing import auth_header, wait_until


@pytest.fixture(scope="session")
def community_settings(infra):
    return infra.settings("community")


@pytest.fixture(scope="session")
def community_app(community_settings):
    from community.app import create_app

    return create_app(community_settings, upstreams={})


@pytest.fixture
def client(community_app):
    return community_app.test_client()


@pytest.fixture(scope="session")
def db(community_settings):
    database = Database(community_settings.database_url)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def community_worker(community_settings):
    from community.service import SPEC
    from guanjia.runtime import Worker, declare_queues

    declare_queues(SPEC, community_settings)
    worker = Worker(SPEC, community_settings).start()
    yield worker
    worker.stop()


def announce(settings, event_type: str, data: dict) -> None:
    """Publish an event as residents does (a real message on the session's exchange)."""
    publisher = bus.Publisher(settings.with_service("residents"))
    try:
        publisher.publish(
            events.build(
                type=event_type,
                source="/testcity/residents",
                subject=f"{event_type.split('.')[0]}/{uuid.uuid4()}",
                city="testcity",
                community=data["community_id"],
                data=data,
            )
        )
    finally:
        publisher.close()


@pytest.fixture
def world(community_worker, community_settings, db):
    """A community with two zones (一区 with two homes, 二区 with one), projected from zone.updated and unit.created."""
    from community.models import Unit

    s = community_settings
    community_id = str(uuid.uuid4())
    zones = {"一区": str(uuid.uuid4()), "二区": str(uuid.uuid4())}
    homes = {"1栋1-101": zones["一区"], "1栋1-102": zones["一区"], "2栋2-201": zones["二区"]}
    units = {label: str(uuid.uuid4()) for label in homes}
    for name, zone_id in zones.items():
        announce(s, "zone.updated", {"zone_id": zone_id, "community_id": community_id, "name": name, "butler_ids": []})
    for label, zone_id in homes.items():
        announce(
            s,
            "unit.created",
            {"unit_id": units[label], "community_id": community_id, "zone_id": zone_id, "label": label},
        )

    def projected():
        with db.transaction() as session:
            return all(session.get(Unit, unit_id) is not None for unit_id in units.values())

    wait_until(projected, message="units projected")
    first = units["1栋1-101"]
    outsider = str(uuid.uuid4())
    return {
        "community_id": community_id,
        "zones": zones,
        "units": units,
        "manager": auth_header(s, "cs_manager", communities=[community_id]),
        "senior": auth_header(s, "senior_butler", communities=[community_id]),
        "butler": auth_header(s, "butler", communities=[community_id], zones=[zones["一区"]]),
        "resident": auth_header(s, "resident", communities=[community_id], units=[first], resident_id="r1"),
        "outsider": auth_header(s, "senior_butler", communities=[outsider]),
        "outsider_community_id": outsider,
        "now": utcnow(),
    }


@pytest.fixture
def outbox_events(db):
    """The events of a subject in the outbox, oldest first — what the relay publishes."""
    import json

    from sqlalchemy import select

    from community.models import outbox

    def read(subject: str, event_type: str | None = None) -> list[dict]:
        with db.transaction() as session:
            found = [
                json.loads(p) for p in session.execute(select(outbox.c.payload).order_by(outbox.c.created_at)).scalars()
            ]
        return [e for e in found if e["subject"] == subject and event_type in (None, e["type"])]

    return read
