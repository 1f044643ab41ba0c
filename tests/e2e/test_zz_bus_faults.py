"""The fault matrix on a PRIVATE RabbitMQ node and PostgreSQL cluster (never the shared servers): an integrator's
own pika subscriber, duplicates, poison messages, broker stop / kill -9 / closed connections, the database down
under load, unroutable events, an unpublishable outbox row and a killed worker — 0 lost, 0 doubled, 0 `500`,
recovered without a person. Bounded here (CI); `make faults` runs it with longer outages (GUANJIA_FAULT_*)."""

import json
import os
import signal
import threading
import time
import uuid
from datetime import UTC, datetime

import pika
import pytest
import requests
from cloudevents.core.bindings.rabbitmq import RabbitMQMessage, from_rabbitmq
from cloudevents.core.formats.json import JSONFormat

from guanjia.testing import free_port_block
from guanjia.testservers import PrivatePostgres, PrivateRabbit

from .conftest import ADMIN_PASSWORD, Client, make_household, wait_for_notifications

# Seconds the database stays down under load (CI: bounded; `make faults`: 120).
DB_OUTAGE_SECONDS = float(os.environ.get("GUANJIA_FAULT_DB_OUTAGE_SECONDS", "20"))
BROKER_OUTAGE_SECONDS = float(os.environ.get("GUANJIA_FAULT_BROKER_OUTAGE_SECONDS", "2"))
RECOVERY_TIMEOUT = 60 + 2 * DB_OUTAGE_SECONDS
# Starting a RabbitMQ node, a PostgreSQL cluster and a whole stack takes longer than one ordinary test.
pytestmark = pytest.mark.timeout(300 + 4 * DB_OUTAGE_SECONDS)


@pytest.fixture(scope="module")
def servers():
    pg, rabbit = PrivatePostgres(), PrivateRabbit()
    try:
        pg.start()
        rabbit.start()
        yield pg, rabbit
    finally:
        rabbit.close()
        pg.close()


@pytest.fixture(scope="module")
def world(servers, infra, tmp_path_factory):
    from guanjia.stack import DistributedStack

    pg, rabbit = servers
    env = infra.stack_env(
        "faults", GUANJIA_ADMIN_PASSWORD=ADMIN_PASSWORD, GUANJIA_VAR_DIR=str(tmp_path_factory.mktemp("faults-var"))
    )
    env["GUANJIA_DATABASE_URL"] = pg.database_url_template()
    env["GUANJIA_AMQP_URL"] = rabbit.url
    stack = DistributedStack(
        env=env, port=free_port_block(5), web_workers=1, log_dir=tmp_path_factory.mktemp("faults-logs")
    ).start(timeout=120)
    try:
        admin = Client(stack.url).login("admin", ADMIN_PASSWORD)
        household = make_household(admin)
        resident = Client(stack.url).login(*household["login"])
        yield {"stack": stack, "admin": admin, "household": household, "resident": resident, "pg": pg, "rabbit": rabbit}
    finally:
        stack.stop()


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


def _settle(world, tickets, timeout=RECOVERY_TIMEOUT):
    """Every ticket got exactly one SMS (none lost, none doubled)."""
    for ticket in tickets:
        wait_for_notifications(world["resident"], f"ticket/{ticket['id']}", timeout=timeout)
    time.sleep(2)
    for ticket in tickets:
        assert len(wait_for_notifications(world["resident"], f"ticket/{ticket['id']}")) == 1, ticket["id"]


def _queue_depths(world) -> dict[str, int]:
    """Ready messages in every queue of the private node (one rabbitmqctl call)."""
    out = world["rabbit"].ctl("list_queues", "name", "messages")
    depths = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            depths[parts[0]] = int(parts[1])
    return depths


def _no_dead_letters(world) -> None:
    dead = {name: n for name, n in _queue_depths(world).items() if name.endswith(".events.dead") and n}
    assert not dead, f"dead letters after an outage: {dead}"


def test_broker_outage_fails_no_request_and_loses_no_sms(world):
    """Stop RabbitMQ while tickets are being filed; start it again: every ticket gets exactly one SMS."""
    tickets = [_file_ticket(world, "停电前")]
    world["rabbit"].stop_app()
    try:
        for i in range(8):
            tickets.append(_file_ticket(world, f"停电中 {i}"))  # .created asserts 201: no request failed
            time.sleep(BROKER_OUTAGE_SECONDS / 8)
    finally:
        world["rabbit"].start_app()
    tickets.append(_file_ticket(world, "恢复后"))
    _settle(world, tickets)


def test_broker_killed_with_sigkill_recovers_without_a_person(world):
    tickets = [_file_ticket(world, "崩溃前")]
    world["rabbit"].kill()
    try:
        for i in range(4):
            tickets.append(_file_ticket(world, f"崩溃中 {i}"))
    finally:
        world["rabbit"].start()
    tickets.append(_file_ticket(world, "重启后"))
    _settle(world, tickets)


def test_closed_connections_are_reopened(world):
    world["rabbit"].close_connections()
    tickets = [_file_ticket(world, f"断线后 {i}") for i in range(3)]
    _settle(world, tickets)


def test_database_down_under_load_gives_503_not_500_and_nothing_lost_or_dead_lettered(world):
    """PostgreSQL stops while tickets are filed steadily: requests answer 201 or 503 (never 500); afterwards every
    accepted ticket gets exactly one SMS, and no event was dead-lettered (the outage spent no retry budget)."""
    accepted: list[dict] = []
    statuses: list[int] = []
    stop = threading.Event()
    resident = Client(world["stack"].url, world["resident"].token)

    def load():
        while not stop.is_set():
            try:
                response = resident.post(
                    "/api/v1/tickets",
                    json={"unit_id": world["household"]["unit"]["id"], "category": "repair", "description": "负载"},
                )
            except requests.RequestException:
                statuses.append(-1)
                continue
            statuses.append(response.status_code)
            if response.status_code == 201:
                accepted.append(response.json())
            elif response.status_code == 503 and not response.headers.get("Retry-After"):
                statuses.append(-503)  # a 503 without Retry-After: fails the test below
            stop.wait(0.2)

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    time.sleep(1)
    world["pg"].stop()
    try:
        time.sleep(DB_OUTAGE_SECONDS)
    finally:
        world["pg"].start()
    time.sleep(3)
    stop.set()
    thread.join(30)
    assert statuses.count(500) == 0, {s: statuses.count(s) for s in set(statuses)}
    assert set(statuses) <= {201, 503, 502, 504}, {s: statuses.count(s) for s in set(statuses)}
    assert 503 in statuses, "the outage was not seen by any request"
    accepted.append(_file_ticket(world, "数据库恢复后"))
    _settle(world, accepted)
    _no_dead_letters(world)


def test_unroutable_events_are_kept_and_routine_ones_are_not(world):
    env = world["stack"].env
    connection = pika.BlockingConnection(pika.URLParameters(env["GUANJIA_AMQP_URL"]))
    channel = connection.channel()
    channel.confirm_delivery()
    channel.basic_publish(env["GUANJIA_EXCHANGE"], "nobody.binds_this", b"{}", pika.BasicProperties(type="x"))
    unrouted = f"{env['GUANJIA_QUEUE_PREFIX']}guanjia.unrouted"
    types = []
    while True:
        method, properties, _ = channel.basic_get(unrouted, auto_ack=True)
        if method is None:
            break
        types.append(properties.type)
    connection.close()
    assert "x" in types  # the unexpected is kept for inspection
    # Every ticket above sent an SMS (notification.sent, .delivered): none of those routine events was kept.
    assert not [t for t in types if t and t.startswith("notification.")], types


def _metric(url: str, name: str) -> float | None:
    for line in requests.get(url + "/metrics", timeout=10).text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_an_unpublishable_outbox_row_is_set_aside_and_events_behind_it_flow(world):
    import psycopg

    pg = world["pg"]
    with psycopg.connect(f"host=127.0.0.1 port={pg.port} user=postgres dbname=guanjia_tickets", autocommit=True) as c:
        c.execute(
            "INSERT INTO outbox (id, event_type, payload, created_at, attempts) VALUES (%s, %s, %s, %s, 0)",
            (str(uuid.uuid4()), "ticket.created", "{not a cloudevent", datetime.now(UTC)),
        )
        c.execute("SELECT pg_notify('guanjia_outbox', '')")
    ticket = _file_ticket(world, "坏行之后")
    _settle(world, [ticket])
    assert _metric(world["stack"].service_url("tickets"), "guanjia_outbox_dead_rows") == 1


def test_a_killed_worker_is_restarted_and_its_events_flow(world):
    stack = world["stack"]
    index = next(i for i, (name, *_) in enumerate(stack.launches) if name.startswith("tickets-worker"))
    victim = stack.processes[index]
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(10)
    tickets = [_file_ticket(world, f"进程被杀后 {i}") for i in range(3)]
    _settle(world, tickets)
    assert stack.restarts.get(stack.launches[index][0]) >= 1
