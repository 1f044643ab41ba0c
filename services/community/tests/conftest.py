"""Fixtures of the community service tests: the app on the session's PostgreSQL, its worker on RabbitMQ, and a
community whose zones and units reach the projection as residents would announce them."""

import uuid

import pytest

from guanjia.db import utcnow
from guanjia.testing import announce, auth_header, outbox_events, service_database, wait_until


@pytest.fixture(scope="session")
def community_settings(infra):
    return infra.settings("community")


@pytest.fixture(scope="session")
def community_app(community_settings, tmp_path_factory):
    from community.app import create_app

    return create_app(community_settings, upstreams={}, files_dir=tmp_path_factory.mktemp("files"))


@pytest.fixture
def client(community_app):
    return community_app.test_client()


@pytest.fixture(scope="session")
def db(community_settings):
    yield from service_database(community_settings)


@pytest.fixture(scope="session")
def community_worker(community_settings):
    from community.service import SPEC
    from guanjia.runtime import Worker, declare_queues

    declare_queues(SPEC, community_settings)
    worker = Worker(SPEC, community_settings).start()
    yield worker
    worker.stop()


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


@pytest.fixture(name="outbox_events")
def outbox_events_fixture(db):
    """The events of a subject in the outbox, oldest first — what the relay publishes."""
    from community.models import outbox

    return lambda subject, event_type=None: outbox_events(db, outbox, subject, event_type)
