"""An event carries the trace of the request that caused it, whichever service wrote it and however (one event, a
bulk batch): an integrator's own AMQP client sees the caller's trace id on residents', tickets' and billing's
events (issue 20: no billing event carried `traceparent`)."""

import json
import os
import time
import uuid

import pika

from .conftest import ADMIN_PASSWORD, Client, make_household


def _traced(client: Client, method: str, path: str, body: dict) -> tuple[dict, str]:
    trace_id = os.urandom(16).hex()
    headers = {"traceparent": f"00-{trace_id}-{os.urandom(8).hex()}-01", "Idempotency-Key": str(uuid.uuid4())}
    response = client.request(method, path, json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    return response.json(), trace_id


def test_events_carry_the_trace_of_the_request_that_caused_them(distributed_stack):
    env = distributed_stack.env
    connection = pika.BlockingConnection(pika.URLParameters(env["GUANJIA_AMQP_URL"]))
    channel = connection.channel()
    queue = channel.queue_declare(f"{env['GUANJIA_QUEUE_PREFIX']}traces.{uuid.uuid4().hex[:6]}", exclusive=True)
    for key in ("resident.registered", "ticket.created", "payment.received"):
        channel.queue_bind(queue.method.queue, env["GUANJIA_EXCHANGE"], routing_key=key)
    try:
        admin = Client(distributed_stack.url).login("admin", ADMIN_PASSWORD)
        household = make_household(admin)
        unit_id = household["unit"]["id"]
        resident, resident_trace = _traced(
            admin,
            "POST",
            "/api/v1/residents",
            {"unit_id": unit_id, "name": "李四", "phone": "13900139000", "role": "family"},
        )
        ticket, ticket_trace = _traced(
            Client(distributed_stack.url).login(*household["login"]),
            "POST",
            "/api/v1/tickets",
            {"unit_id": unit_id, "category": "repair", "description": "水管漏水"},
        )
        payment, payment_trace = _traced(
            admin,
            "POST",
            "/api/v1/payments",
            {"unit_id": unit_id, "amount": "10.00", "method": "cash", "prepaid": True},
        )
        wanted = {
            ("resident.registered", resident["id"]): resident_trace,
            ("ticket.created", ticket["id"]): ticket_trace,
            ("payment.received", payment["id"]): payment_trace,
        }
        seen = {}
        deadline = time.monotonic() + 30
        while len(seen) < len(wanted) and time.monotonic() < deadline:
            method, _properties, body = channel.basic_get(queue.method.queue, auto_ack=True)
            if method is None:
                connection.sleep(0.1)
                continue
            event = json.loads(body)
            key = (event["type"], event["subject"].split("/", 1)[1])
            if key in wanted:
                seen[key] = event.get("traceparent", "").split("-")[1:2]
    finally:
        connection.close()
    assert seen == {key: [trace] for key, trace in wanted.items()}
