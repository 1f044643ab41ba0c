"""Routing to the real tickets service, in-process (embedded) and over HTTP (distributed)."""

import socket
import threading
import time
import uuid

import pytest
from sqlalchemy import text

from gateway.app import create_app
from guanjia import bus, events
from guanjia.db import Database
from guanjia.http import HttpUpstream, WsgiUpstream
from guanjia.testing import auth_header, running_worker, wait_until


class CountingApp:
    """Wraps the real tickets app to tell whether the gateway called it at all."""

    def __init__(self, app):
        self.app = app
        self.calls = 0

    def __call__(self, environ, start_response):
        # The gateway's own fetch of the service's OpenAPI (routing and audit tables) is not a routed request.
        if environ.get("PATH_INFO") != "/api/v1/openapi.json":
            self.calls += 1
        return self.app(environ, start_response)


def staff(settings, community_id):
    return auth_header(settings, "cs_manager", communities=[community_id])


def test_a_routed_request_without_a_valid_token_is_401_and_never_reaches_the_service(gateway_settings, tickets_app):
    counting = CountingApp(tickets_app)
    client = create_app(gateway_settings, upstreams={"tickets": WsgiUpstream("tickets", counting)}).test_client()
    forged = {
        "Authorization": "Bearer "
        + auth_header(
            gateway_settings.with_service("x", jwt_private_key="AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE"), "admin"
        )["Authorization"].split()[1]
    }
    for headers in ({}, {"Authorization": "Basic YWRtaW46YWRtaW4="}, forged):
        response = client.get("/api/v1/tickets", headers={**headers, "X-Request-ID": "req-anon"})
        assert response.status_code == 401
        assert response.mimetype == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.headers["X-Request-ID"] == "req-anon" == response.json["request_id"]
    assert counting.calls == 0
    assert client.get("/api/v1/tickets", headers=auth_header(gateway_settings, "admin")).status_code == 200
    assert counting.calls == 1


def test_routed_responses_come_back_as_the_service_sent_them(routed_client, gateway_settings):
    community = str(uuid.uuid4())
    listed = routed_client.get(
        "/api/v1/tickets",
        headers={**staff(gateway_settings, community), "X-Request-ID": "req-list-1"},
        query_string={"page_size": 5},
    )
    assert listed.status_code == 200
    assert listed.json["page_size"] == 5  # the query string reached the service
    assert listed.headers["X-Request-ID"] == "req-list-1"

    missing = routed_client.get(f"/api/v1/tickets/{uuid.uuid4()}", headers=staff(gateway_settings, community))
    assert missing.status_code == 404
    assert missing.mimetype == "application/problem+json"
    # The gateway generated the request id and the service used it: one id end to end.
    assert missing.headers["X-Request-ID"] and missing.json["request_id"] == missing.headers["X-Request-ID"]

    bad = routed_client.post(
        "/api/v1/tickets",
        headers=staff(gateway_settings, community),
        json={"unit_id": "u", "category": "plumbing", "description": "x", "reporter_id": "r"},
    )
    assert bad.status_code == 422
    assert bad.mimetype == "application/problem+json"
    assert "category" in bad.json["errors"]  # the body reached the service


def publish_unit_created(settings, unit_id, community_id):
    """unit.created as residents would publish it, on the session's real exchange."""
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
                    "number": "1-101",
                    "floor": 1,
                    "area_m2": "88.50",
                    "status": "vacant",
                },
            )
        )
    finally:
        publisher.close()


@pytest.fixture(scope="module")
def projected_unit(tickets_settings):
    """A unit the tickets service knows from its event, so tickets can be filed through the gateway."""
    unit_id, community_id = str(uuid.uuid4()), str(uuid.uuid4())
    database = Database(tickets_settings.database_url, pool_size=1)
    try:
        with running_worker("tickets", tickets_settings):
            publish_unit_created(tickets_settings, unit_id, community_id)

            def projected():
                with database.transaction() as session:
                    return session.execute(text("SELECT 1 FROM units WHERE id = :id"), {"id": unit_id}).first()

            wait_until(projected, message="unit.created projected by tickets")
    finally:
        database.dispose()
    return {"unit_id": unit_id, "community_id": community_id}


def test_a_ticket_filed_through_the_gateway_keeps_its_idempotency_key(routed_client, gateway_settings, projected_unit):
    headers = {
        **staff(gateway_settings, projected_unit["community_id"]),
        "Idempotency-Key": str(uuid.uuid4()),
        "X-Request-ID": f"req-{uuid.uuid4().hex[:8]}",
    }
    body = {
        "unit_id": projected_unit["unit_id"],
        "category": "repair",
        "description": "楼道灯不亮",
    }
    first = routed_client.post("/api/v1/tickets", headers=headers, json=body)
    assert first.status_code == 201, first.json
    assert first.headers["X-Request-ID"] == headers["X-Request-ID"]
    assert first.json["description"] == "楼道灯不亮"
    again = routed_client.post("/api/v1/tickets", headers=headers, json=body)
    assert again.status_code == 201 and again.json["id"] == first.json["id"]
    fetched = routed_client.get(f"/api/v1/tickets/{first.json['id']}", headers=headers)
    assert fetched.status_code == 200 and fetched.json["number"] == first.json["number"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/internal/residents/r-1/contact",
        "/api/v1/internal",
        "/api/v1//internal/residents/r-1/contact",
        "/api/v1/tickets/../internal/residents/r-1/contact",
        "/api/v1/tickets/%2E%2E/internal/residents/r-1/contact",
    ],
)
def test_internal_routes_are_never_reachable_from_outside(routed_client, gateway_settings, path):
    response = routed_client.get(path, headers=auth_header(gateway_settings, "service"))
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_an_unreachable_service_is_a_quick_502(gateway_settings, closed_port):
    upstream = HttpUpstream("tickets", f"http://127.0.0.1:{closed_port}")
    client = create_app(gateway_settings, upstreams={"tickets": upstream}).test_client()
    started = time.monotonic()
    response = client.get(
        "/api/v1/tickets", headers={**auth_header(gateway_settings, "admin"), "X-Request-ID": "r-502"}
    )
    assert time.monotonic() - started < 2
    assert response.status_code == 502
    assert response.mimetype == "application/problem+json"
    assert response.json["request_id"] == "r-502" == response.headers["X-Request-ID"]
    assert "tickets" in response.json["detail"]


def test_a_service_that_does_not_answer_in_time_is_504(gateway_settings):
    # A listener that accepts connections and never answers: a hung service.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    try:
        app = create_app(
            gateway_settings,
            upstreams={"tickets": HttpUpstream("tickets", f"http://127.0.0.1:{listener.getsockname()[1]}")},
        )
        app.extensions["gateway.router"].read_timeout = 0.3
        started = time.monotonic()
        response = app.test_client().get("/api/v1/tickets", headers=auth_header(gateway_settings, "admin"))
        assert time.monotonic() - started < 2
        assert response.status_code == 504
        assert response.mimetype == "application/problem+json"
    finally:
        for conn, _ in accepted:
            conn.close()
        listener.close()


def test_a_service_missing_from_the_instance_is_404(client, gateway_settings):
    response = client.get("/api/v1/billing/bills", headers=auth_header(gateway_settings, "admin"))
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_an_oversized_body_is_413_before_it_is_forwarded(distributed_gateway_app, gateway_settings):
    response = distributed_gateway_app.test_client().post(
        "/api/v1/tickets",
        headers=auth_header(gateway_settings, "admin"),
        data="x" * (gateway_settings.max_body_bytes + 1),
        content_type="application/json",
    )
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
