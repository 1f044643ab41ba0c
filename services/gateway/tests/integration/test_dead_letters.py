"""The admin's dead letters: each service lists, replays and discards its own (the gateway asks it with the service
credential), only an admin may, and every replay or discard is in the audit log."""

import json
import uuid

import pytest
from kombu import Queue

from gateway.app import create_app
from guanjia import bus
from guanjia.http import WsgiUpstream
from guanjia.service import load_specs
from guanjia.testing import auth_header


@pytest.fixture(scope="module")
def residents_settings(infra):
    """Residents on queues of this module's own: in a whole run the session's residents dead-letter queue holds the
    letters of other tests (hundreds from the hostile-message tests), and a listing shows a queue's first 200."""
    return infra.settings("residents", queue_prefix=f"{infra.prefix}.deadletters.")


@pytest.fixture(scope="module")
def residents_app(residents_settings):
    return load_specs()["residents"].create_app(residents_settings, {})


@pytest.fixture
def dead_gateway(gateway_settings, residents_app, tickets_app, clock):
    upstreams = {
        "residents": WsgiUpstream("residents", residents_app),
        "tickets": WsgiUpstream("tickets", tickets_app),
    }
    return create_app(gateway_settings, upstreams=upstreams, clock=clock).test_client()


def dead_letter(settings) -> str:
    """A dead letter of residents with a phone in its body and its reason."""
    with bus.connect(settings) as conn:  # as a worker declares it at start
        Queue(settings.queue_name("events.dead"), durable=True)(conn.channel()).declare()
    event_id = str(uuid.uuid4())
    body = {"specversion": "1.0", "id": event_id, "type": "test.unhandled", "subject": f"unit/{event_id}"}
    publisher = bus.Publisher(settings)
    try:
        publisher.publish_raw(
            json.dumps({**body, "data": {"phone": "13912345678"}}).encode(),
            {"content_type": "application/cloudevents+json", "message_id": event_id, "type": "test.unhandled"},
            routing_key=settings.queue_name("events.dead"),
            direct=True,
            headers={bus.ERROR_HEADER: "bad phone 13912345678", bus.ATTEMPT_HEADER: 4},
        )
    finally:
        publisher.close()
    return event_id


def test_only_an_admin_reads_or_acts_on_dead_letters(dead_gateway, gateway_settings):
    for role in ("cs_manager", "butler", "integrator"):
        headers = auth_header(gateway_settings, role)
        assert dead_gateway.get("/api/v1/dead-letters", headers=headers).status_code == 403
        answer = dead_gateway.post(
            "/api/v1/dead-letters/discard", headers=headers, json={"service": "residents", "all": True}
        )
        assert answer.status_code == 403


def test_listed_masked_replayed_discarded_and_audited(dead_gateway, gateway_settings, residents_settings):
    admin = auth_header(gateway_settings, "admin")
    event_id = dead_letter(residents_settings)
    listed = dead_gateway.get("/api/v1/dead-letters", headers=admin)
    assert listed.status_code == 200, listed.json
    # Services not in this instance are named, the others still listed.
    assert {"billing", "notifications", "community", "staff"} <= set(listed.json["unavailable"])
    mine = [d for d in listed.json["items"] if d["event_id"] == event_id]
    assert mine and mine[0]["service"] == "residents" and mine[0]["subject"] == f"unit/{event_id}"
    assert mine[0]["attempts"] == 4 and "13912345678" not in listed.get_data(as_text=True)
    assert "phone" not in mine[0]  # facts only: never the event's body

    refused = dead_gateway.post("/api/v1/dead-letters/replay", headers=admin, json={"service": "residents"})
    assert refused.status_code == 422 and "ids" in refused.json["errors"]
    unknown = dead_gateway.post("/api/v1/dead-letters/replay", headers=admin, json={"service": "x", "all": True})
    assert unknown.status_code == 422 and "service" in unknown.json["errors"]

    gone = str(uuid.uuid4())
    discarded = dead_gateway.post(
        "/api/v1/dead-letters/discard", headers=admin, json={"service": "residents", "ids": [event_id, gone]}
    )
    assert discarded.status_code == 200, discarded.json
    assert discarded.json == {"service": "residents", "done": [event_id], "missing": [gone]}
    listed = dead_gateway.get("/api/v1/dead-letters", headers=admin).json
    assert event_id not in [d["event_id"] for d in listed["items"]]
    audit = dead_gateway.get("/api/v1/audit", headers=admin, query_string={"action": "dead_letters.discard"}).json
    assert any(e["target_id"] == "residents" and event_id in e["details"]["done"] for e in audit["items"])
