"""The fault matrix on a PRIVATE RabbitMQ node and PostgreSQL cluster (never the shared servers): an integrator's
own pika subscriber, duplicates, poison messages and malformed headers, broker stop / kill -9 / closed connections,
memory and disk alarms, the database down
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
        try:
            rabbit.start()
        except RuntimeError as exc:
            # Seen once on a loaded machine: the node exited at start-up (its ports are picked free, then bound
            # by the node — another process can take one in between). One more node on fresh ports.
            print(f"private RabbitMQ failed to start, trying fresh ports: {exc}")
            rabbit.close()
            rabbit = PrivateRabbit().start()
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
    found = _take_dead_letter(connection, channel, f"{env['GUANJIA_QUEUE_PREFIX']}notifications.events.dead", marker)
    connection.close()
    assert found, "the poison message is not in the dead-letter queue"


def test_a_malformed_header_is_dead_lettered_and_the_consumer_goes_on(world):
    """A well-formed event with an unreadable x-guanjia-attempt header (the issue's stuck pipeline): dead-lettered
    with the reason, acked, and the next ticket still gets its SMS."""
    env = world["stack"].env
    connection = pika.BlockingConnection(pika.URLParameters(env["GUANJIA_AMQP_URL"]))
    channel = connection.channel()
    marker = f"bad-header-{uuid.uuid4().hex}"
    body = json.dumps(
        {
            "specversion": "1.0",
            "id": marker,
            "source": "/testcity/tickets",
            "type": "ticket.created",
            "time": datetime.now(UTC).isoformat(),
            "datacontenttype": "application/json",
            "data": {"ticket_id": str(uuid.uuid4())},
        }
    ).encode()
    channel.basic_publish(
        env["GUANJIA_EXCHANGE"],
        "ticket.created",
        body,
        pika.BasicProperties(content_type="application/cloudevents+json", headers={"x-guanjia-attempt": "abc"}),
    )
    ticket = _file_ticket(world, "坏消息头之后")
    assert len(wait_for_notifications(world["resident"], f"ticket/{ticket['id']}")) == 1
    assert _take_dead_letter(connection, channel, f"{env['GUANJIA_QUEUE_PREFIX']}notifications.events.dead", marker)
    connection.close()


def _take_dead_letter(connection, channel, dead_queue: str, marker: str, timeout: float = 15) -> bool:
    """Find the message carrying `marker` in a dead-letter queue (with its reason) and remove it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        method, properties, body = channel.basic_get(dead_queue, auto_ack=False)
        if method is None:
            connection.sleep(0.1)
            continue
        if marker in body.decode(errors="replace"):
            assert "x-guanjia-error" in properties.headers
            channel.basic_ack(method.delivery_tag)
            return True
        channel.basic_nack(method.delivery_tag, requeue=True)
        connection.sleep(0.05)
    return False


def _wait_until(predicate, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"no {what} after {timeout}s"
        time.sleep(0.5)


@pytest.mark.parametrize(
    "alarm, raise_it, clear_it",
    [
        ("memory", ("set_vm_memory_high_watermark", "0.00001"), ("set_vm_memory_high_watermark", "0.4")),
        ("disk", ("set_disk_free_limit", "100000GB"), ("set_disk_free_limit", "50MB")),
    ],
)
def test_a_broker_alarm_blocks_publishing_and_loses_nothing(world, alarm, raise_it, clear_it):
    """RabbitMQ's memory or disk alarm blocks every publisher: requests still succeed (the outbox holds the
    events), and once the alarm clears every ticket gets exactly one SMS."""
    tickets = [_file_ticket(world, f"{alarm}告警前")]
    world["rabbit"].ctl(*raise_it)
    try:
        _wait_until(world["rabbit"].alarmed, f"the {alarm} alarm")
        for i in range(4):
            tickets.append(_file_ticket(world, f"{alarm}告警中 {i}"))  # .created asserts 201
            time.sleep(BROKER_OUTAGE_SECONDS / 4)
    finally:
        world["rabbit"].ctl(*clear_it)
    _wait_until(lambda: not world["rabbit"].alarmed(), f"the {alarm} alarm to clear")
    tickets.append(_file_ticket(world, f"{alarm}告警后"))
    _settle(world, tickets)
    _no_dead_letters(world)


def _settle(world, tickets, timeout=RECOVERY_TIMEOUT, **figures):
    """Every ticket got exactly one SMS (none lost, none doubled); with GUANJIA_FAULT_REPORT set, the fault's
    figures are appended to that file (one JSON line per fault: `make faults` prints them for bench/README.md)."""
    started = time.monotonic()
    for ticket in tickets:
        wait_for_notifications(world["resident"], f"ticket/{ticket['id']}", timeout=timeout)
    recovered_s = time.monotonic() - started
    time.sleep(2)
    sms = [len(wait_for_notifications(world["resident"], f"ticket/{ticket['id']}")) for ticket in tickets]
    report = os.environ.get("GUANJIA_FAULT_REPORT")
    if report:
        fault = os.environ.get("PYTEST_CURRENT_TEST", "?").split("::")[-1].split(" ")[0]
        line = {"fault": fault, "tickets": len(tickets), "sms": sum(sms), "lost": sms.count(0)}
        line |= {"doubled": sum(n - 1 for n in sms if n > 1), "recovered_s": round(recovered_s, 1), **figures}
        with open(report, "a", encoding="utf-8") as out:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
    for ticket, n in zip(tickets, sms, strict=True):
        assert n == 1, ticket["id"]


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
    _settle(world, accepted, outage_s=DB_OUTAGE_SECONDS, **{f"http_{s}": statuses.count(s) for s in set(statuses)})
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
