"""On the real broker: an integrator's own pika subscriber, duplicates, poison messages, and a broker outage."""

import json
import subprocess
import time
import uuid

import pika
import pytest
from cloudevents.core.bindings.rabbitmq import RabbitMQMessage, from_rabbitmq
from cloudevents.core.formats.json import JSONFormat

from .conftest import ADMIN_PASSWORD, Client, make_household, wait_for_notifications


@pytest.fixture(scope="module")
def world(distributed_stack):
    admin = Client(distributed_stack.url).login("admin", ADMIN_PASSWORD)
    household = make_household(admin)
    resident = Client(distributed_stack.url).login(*household["login"])
    return {"stack": distributed_stack, "admin": admin, "household": household, "resident": resident}


def _file_ticket(world, description="门锁坏了"):
    return world["resident"].created(
        "/api/v1/tickets",
        {"unit_id": world["household"]["unit"]["id"], "category": "repair", "description": description},
    )


class Integrator:
    """What an integrator writes with pika: their own queue bound to guanjia.events."""

    def __init__(self, stack, pattern: str):
        env = stack.env
        self.connection = pika.BlockingConnection(pika.URLParameters(env["GUANJIA_AMQP_URL"]))
        self.channel = self.connection.channel()
        self.exchange = env["GUANJIA_EXCHANGE"]
        self.queue = self.channel.queue_declare(
            f"{env['GUANJIA_QUEUE_PREFIX']}integrator.{uuid.uuid4().hex[:6]}", exclusive=True
        ).method.queue
        self.channel.queue_bind(self.queue, self.exchange, routing_key=pattern)

    def next_message(self, timeout: float = 15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            method, properties, body = self.channel.basic_get(self.queue, auto_ack=True)
            if method:
                return properties, body
            self.connection.sleep(0.05)
        raise AssertionError("no message for the integrator")

    def close(self):
        self.connection.close()


def test_integrator_receives_ticket_created_with_its_own_pika_client(world):
    integrator = Integrator(world["stack"], "ticket.*")
    try:
        ticket = _file_ticket(world)
        while True:
            properties, body = integrator.next_message()
            event = from_rabbitmq(
                RabbitMQMessage(headers={}, content_type=properties.content_type, body=body), JSONFormat()
            )
            if event.get_data()["ticket_id"] == ticket["id"]:
                break
    finally:
        integrator.close()
    assert event.get_type() == "ticket.created"
    assert event.get_subject() == f"ticket/{ticket['id']}"
    assert event.get_source() == "/testcity/tickets"
    assert properties.message_id == event.get_id()
    assert properties.type == "ticket.created"
    assert properties.delivery_mode == 2
    assert properties.content_type == "application/cloudevents+json"
    assert "13800138000" not in body.decode() and "张三" not in body.decode()


def test_the_same_event_delivered_twice_sends_one_sms(world):
    integrator = Integrator(world["stack"], "ticket.created")
    try:
        ticket = _file_ticket(world)
        while True:
            properties, body = integrator.next_message()
            if json.loads(body)["data"]["ticket_id"] == ticket["id"]:
                break
        wait_for_notifications(world["resident"], f"ticket/{ticket['id']}")
        # Redeliver the very same message, as a broker would after a lost ack.
        integrator.channel.basic_publish(world["stack"].env["GUANJIA_EXCHANGE"], "ticket.created", body, properties)
    finally:
        integrator.close()
    time.sleep(2)
    assert len(wait_for_notifications(world["resident"], f"ticket/{ticket['id']}")) == 1


def test_poison_message_is_dead_lettered_and_later_events_still_flow(world):
    env = world["stack"].env
    connection = pika.BlockingConnection(pika.URLParameters(env["GUANJIA_AMQP_URL"]))
    channel = connection.channel()
    marker = f"poison-{uuid.uuid4().hex}"
    channel.basic_publish(
        env["GUANJIA_EXCHANGE"],
        "ticket.created",
        marker.encode(),
        pika.BasicProperties(content_type="application/cloudevents+json"),
    )
    ticket = _file_ticket(world)
    assert len(wait_for_notifications(world["resident"], f"ticket/{ticket['id']}")) == 1
    dead_queue = f"{env['GUANJIA_QUEUE_PREFIX']}notifications.events.dead"
    found = False
    deadline = time.monotonic() + 15
    while not found and time.monotonic() < deadline:
        method, properties, body = channel.basic_get(dead_queue, auto_ack=False)
        if method is None:
            connection.sleep(0.1)
            continue
        if body.decode(errors="replace") == marker:
            found = True
            assert "x-guanjia-error" in properties.headers
            channel.basic_ack(method.delivery_tag)
        else:
            channel.basic_nack(method.delivery_tag, requeue=True)
            connection.sleep(0.05)
    connection.close()
    assert found, "the poison message is not in the dead-letter queue"


def _rabbitmqctl(*args):
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=120)


def test_broker_outage_fails_no_request_and_loses_no_sms(world):
    """Stop RabbitMQ while tickets are being filed; start it again: every ticket gets exactly one SMS."""
    tickets = [_file_ticket(world, "停电前")]
    _rabbitmqctl("stop_app")
    try:
        for i in range(8):
            tickets.append(_file_ticket(world, f"停电中 {i}"))  # .created asserts 201: no request failed
            time.sleep(0.2)
    finally:
        _rabbitmqctl("start_app")
        _rabbitmqctl("await_startup")
    tickets.append(_file_ticket(world, "恢复后"))
    for ticket in tickets:
        wait_for_notifications(world["resident"], f"ticket/{ticket['id']}", timeout=90)
    time.sleep(2)
    for ticket in tickets:
        assert len(wait_for_notifications(world["resident"], f"ticket/{ticket['id']}")) == 1
