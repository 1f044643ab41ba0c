"""Fixtures of the tickets service tests."""

import dataclasses
import threading
import uuid
from datetime import UTC, datetime

import pytest

from guanjia.db import utcnow
from guanjia.testing import announce, auth_header, outbox_events, service_database, wait_until


class Clock:
    """The app's clock: real time unless a test sets it (and the fixture puts it back)."""

    def __init__(self):
        self.fixed = None

    def __call__(self) -> datetime:
        return self.fixed or utcnow()

    def set(self, value: datetime) -> None:
        self.fixed = value.astimezone(UTC)


_CLOCK = Clock()


@pytest.fixture(scope="session")
def tickets_settings(infra):
    return infra.settings("tickets")


@pytest.fixture(scope="session")
def gateway_app(infra):
    """The real gateway, in-process: tickets asks it who an assignee is (staff of which community)."""
    from gateway.app import create_app

    return create_app(infra.settings("gateway"), upstreams={})


@pytest.fixture(scope="session")
def tickets_app(tickets_settings, gateway_app, tmp_path_factory):
    from guanjia.http import WsgiUpstream
    from tickets.app import create_app

    upstreams = {"gateway": WsgiUpstream("gateway", gateway_app)}
    return create_app(tickets_settings, upstreams=upstreams, clock=_CLOCK, files_dir=tmp_path_factory.mktemp("files"))


@pytest.fixture(scope="session")
def staff_user(infra, gateway_app):
    """staff_user(community_id, role="engineer") → the id of a real gateway account of that community."""
    client = gateway_app.test_client()

    def create(community_id: str, role: str = "engineer") -> str:
        admin = auth_header(infra.settings("gateway"), "admin")  # per call: the session outlives a token
        body = {
            "username": f"{role}-{uuid.uuid4().hex[:8]}",
            "password": "staff-password-42",
            "role": role,
            "communities": [community_id],
        }
        response = client.post("/api/v1/users", headers=admin, json=body)
        assert response.status_code == 201, response.json
        return response.json["id"]

    return create


@pytest.fixture
def clock():
    yield _CLOCK
    _CLOCK.fixed = None


@pytest.fixture
def client(tickets_app):
    return tickets_app.test_client()


@pytest.fixture(scope="session")
def db(tickets_settings):
    yield from service_database(tickets_settings)


@pytest.fixture(scope="session")
def tickets_worker(tickets_settings):
    """The relay and the consumer, without the scheduled jobs: tests run those themselves at a chosen `now`
    (a job firing at the real time mid-test would escalate tickets the test created in the past)."""
    from guanjia.runtime import Worker, declare_queues
    from tickets.service import SPEC

    spec = dataclasses.replace(SPEC, periodic=[])
    declare_queues(spec, tickets_settings)
    worker = Worker(spec, tickets_settings).start()
    yield worker
    worker.stop()


def _at_once(count: int, job) -> None:
    """Run `job()` on `count` threads released together (workers racing); raise what any of them raised."""
    barrier, errors = threading.Barrier(count), []

    def run():
        try:
            barrier.wait()
            job()
        except Exception as exc:  # surfaced below, on the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@pytest.fixture
def at_once():
    return _at_once


@pytest.fixture
def publish():
    return _publish


@pytest.fixture
def publish_unit_created():
    return _publish_unit_created


@pytest.fixture
def staff():
    return _staff


# Publish an event as another service would (a real message on the session's exchange).
_publish = announce


def _publish_unit_created(settings, unit_id, community_id, number="1-101", zone_id=None):
    data = {
        "unit_id": unit_id,
        "community_id": community_id,
        "building_id": "b1",
        "number": number,
        "floor": 1,
        "area_m2": "88.50",
    }
    if zone_id:
        data["zone_id"] = zone_id
    _publish(settings, "unit.created", data)


def _staff(settings, community_id, role="cs_manager", **scopes):
    return auth_header(settings, role, communities=[community_id], **scopes)


@pytest.fixture
def world(tickets_worker, tickets_settings, db):
    """A community with one zone (its butler announced by zone.updated) and one unit in it, projected."""
    from tickets.models import Unit, Zone

    community_id, zone_id, unit_id = (str(uuid.uuid4()) for _ in range(3))
    butler = f"butler-{uuid.uuid4().hex[:6]}"
    _publish(
        tickets_settings,
        "zone.updated",
        {"zone_id": zone_id, "community_id": community_id, "name": "一区", "butler_ids": [butler]},
    )
    _publish_unit_created(tickets_settings, unit_id, community_id, zone_id=zone_id)

    def projected():
        with db.transaction() as s:
            unit = s.get(Unit, unit_id)
            return s.get(Zone, zone_id) is not None and unit is not None and unit.zone_id == zone_id

    wait_until(projected, message="zone and unit projected")
    s = tickets_settings
    resident_id = str(uuid.uuid4())
    return {
        "community_id": community_id,
        "zone_id": zone_id,
        "unit_id": unit_id,
        "butler_id": butler,
        "resident_id": resident_id,
        "resident": auth_header(s, "resident", units=[unit_id], resident_id=resident_id, communities=[community_id]),
        "butler": auth_header(s, "butler", communities=[community_id], zones=[zone_id], subject=butler),
        "manager": auth_header(s, "cs_manager", communities=[community_id], subject=f"mgr-{uuid.uuid4().hex[:6]}"),
        "senior": auth_header(s, "senior_butler", communities=[community_id]),
    }


@pytest.fixture(name="outbox_events")
def outbox_events_fixture(db):
    """The events a ticket (or any subject) wrote to the outbox, oldest first — what the relay will publish."""
    from tickets.models import outbox

    return lambda subject, event_type=None: outbox_events(db, outbox, subject, event_type)
