"""The consumer applies several events per transaction on the real PostgreSQL and RabbitMQ: without savepoints
while nothing fails, each in its own savepoint when something did, one commit, then the acks. A bad message fails alone; an outage of the database sends the whole batch
back to the queue; nothing is lost, nothing applied twice."""

import json
import threading

import pika
import pytest
from marshmallow import ValidationError
from sqlalchemy import MetaData, select, text
from sqlalchemy import event as sa_event

from guanjia import bus, events, inbox, outbox
from guanjia.db import Database
from guanjia.testing import scratch_outbox_and_inbox, wait_until


@pytest.fixture(scope="module")
def world(infra):
    yield from scratch_outbox_and_inbox(infra, "libbatch", retry_delays_ms=(100, 200))


@pytest.fixture
def whole_batches(monkeypatch):
    """Wait for the prefetched messages long enough that the batch is all of them even on a loaded machine (the
    gap is a couple of milliseconds in service): the test is about what a batch does, not how it is taken."""
    monkeypatch.setattr(bus, "BATCH_GAP_SECONDS", 0.5)
    monkeypatch.setattr(bus, "BATCH_WAIT_SECONDS", 3.0)


class Run:
    """A consumer of `event_type` in a thread; its handler emits `thing.noted` through the outbox for each event."""

    def __init__(self, world, event_type: str, handler_hook, batch: int = 50, batched=False):
        self.settings, self.database, self.tables = world
        self.type = event_type
        self.calls: dict[int, int] = {}
        self.transactions: dict[int, int] = {}
        self.applied: list[list[int]] = []  # batched: the events of each call of `apply`
        self.hook = handler_hook
        self.consumer_settings = self.settings.with_service(event_type.replace(".", "_"))
        handler = bus.Batched(self.prepare, self.apply) if batched else self.handle
        self.consumer = bus.EventConsumer(
            self.consumer_settings, self.database, self.tables["inbox"], {event_type: handler}, batch=batch
        )
        self.consumer.declare()  # the queue exists: what is published now waits for the consumer
        self.publisher = bus.Publisher(self.settings)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.consumer.run, args=(self.stop,))

    def event(self, n: int, **data) -> dict:
        return events.build(
            type=self.type, source="/testcity/libtest", subject=f"thing/{n}", data={"n": n, **data}, city="testcity"
        )

    def handle(self, context, session, event):
        n = event["data"]["n"]
        self.calls[n] = self.calls.get(n, 0) + 1
        self.effect(session, [event])
        self.hook(session, event, self.calls[n])

    def prepare(self, context, event):
        """Batched: the hook decides per event whether its payload is good (no database here)."""
        n = event["data"]["n"]
        self.calls[n] = self.calls.get(n, 0) + 1
        self.hook(None, event, self.calls[n])
        return n

    def apply(self, context, session, prepared):
        """Batched: one call for the batch's events."""
        self.applied.append([n for _, n in prepared])
        self.effect(session, [event for event, _ in prepared])

    def effect(self, session, applied: list[dict]) -> None:
        """`thing.noted` through the outbox for each event. `kill` in an event's data: the consumer's own connection
        killed by the server the first time, as in a database restart; `broken`: the effect of any events with it
        fails (a bug, not an outage)."""
        txid = session.execute(text("SELECT txid_current()")).scalar_one()
        for event in applied:
            n = event["data"]["n"]
            self.transactions[n] = txid
            noted = events.build(
                type="thing.noted", source="/testcity/libtest", subject=f"{self.type}/{n}", data={}, city="testcity"
            )
            outbox.add(session, self.tables["outbox"], noted)
            if event["data"].get("kill") and self.calls[n] == 1:
                session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        if any(event["data"].get("broken") for event in applied):
            raise RuntimeError("this event cannot be applied")

    def start(self):
        self.thread.start()
        assert self.consumer.ready.wait(10)

    def close(self):
        self.stop.set()
        self.thread.join(10)
        self.publisher.close()

    def noted(self) -> dict[int, int]:
        """How many `thing.noted` rows each event left in the outbox (committed effects)."""
        table = self.tables["outbox"]
        with self.database.transaction() as session:
            payloads = session.execute(select(table.c.payload).where(table.c.event_type == "thing.noted")).scalars()
            subjects = [json.loads(payload)["subject"] for payload in payloads]
        counts: dict[int, int] = {}
        for subject in subjects:
            kind, n = subject.rsplit("/", 1)
            if kind == self.type:
                counts[int(n)] = counts.get(int(n), 0) + 1
        return counts

    def dead_letters(self) -> list[tuple[bytes, dict]]:
        connection = pika.BlockingConnection(pika.URLParameters(self.settings.amqp_url))
        channel = connection.channel()
        dead = []
        while True:
            method, properties, body = channel.basic_get(
                self.consumer_settings.queue_name("events.dead"), auto_ack=True
            )
            if method is None:
                break
            dead.append((body, properties.headers or {}))
        connection.close()
        return dead


@pytest.mark.parametrize("batched", [False, True], ids=["handler", "batched"])
def test_a_batch_commits_together_and_a_bad_message_fails_alone(world, whole_batches, batched):
    def hook(session, event, call):
        if event["data"].get("invalid"):
            raise ValidationError({"n": ["not a thing"]})
        if event["data"].get("fail_once") and call == 1:
            raise bus.RetryLater("refers to something not seen yet")

    run = Run(world, "batched.mixed" if batched else "batch.mixed", hook, batched=batched)
    good = [n for n in range(30) if n not in (7, 12, 20, 25)]
    invalid = run.event(7, invalid=True)
    for n in range(30):
        if n == 7:
            run.publisher.publish(invalid)  # the handler's schema refuses it: dead letter
        elif n == 12:
            body, properties = events.to_message(run.event(n))
            run.publisher.publish_raw(body, properties, routing_key=run.type, headers={bus.ATTEMPT_HEADER: "lots"})
        elif n == 20:
            run.publisher.publish(run.event(n, fail_once=True))  # applied on its retry
        elif n == 25:
            run.publisher.publish(run.event(n, broken=True))  # batched: the batch's apply fails, it alone is retried
        else:
            run.publisher.publish(run.event(n))
    duplicate = run.event(30)
    run.publisher.publish(duplicate)
    run.publisher.publish(duplicate)  # the same event twice in one batch: applied once
    seen_before = run.event(31)
    with run.database.transaction() as session:  # applied long ago (its inbox row): a duplicate now
        assert inbox.claim(session, run.tables["inbox"], run.consumer.name, seen_before)
    run.publisher.publish(seen_before)
    run.publisher.publish_raw(b"{not a cloudevent", {"content_type": events.CONTENT_TYPE}, routing_key=run.type)
    run.start()
    try:
        wait_until(lambda: run.noted().keys() >= {*good, 20, 30}, message="events applied")
        dead_queue = run.consumer_settings.queue_name("events.dead")
        wait_until(lambda: bus.queue_depth(run.settings, dead_queue) == 4, message="dead letters")
    finally:
        run.close()
    assert run.noted() == {n: 1 for n in [*good, 20, 30]}  # each effect committed once, none of the failed ones
    assert 7 not in run.noted() and run.calls[7] == 1  # rolled back to its savepoint, not retried
    with run.database.transaction() as session:  # batched: its inbox row claimed with the batch's, then released
        assert not inbox.seen(session, run.tables["inbox"], run.consumer.name, invalid["id"])
    assert 31 not in run.calls  # a duplicate is not even prepared
    # Applied on its retry; a plain handler's event runs once more when a failing event in its batch rolled the
    # batch back (tried without savepoints first, then with them): a prepare runs once per delivery.
    assert run.calls[20] == 2 if batched else run.calls[20] in (2, 3)
    assert run.calls[25] == 3  # once per delivery (the first, two retries): not prepared again when redone alone
    # The good events of the first delivery shared transactions (ten batches at most for 31 messages … one here).
    assert len({run.transactions[n] for n in good}) < len(good)
    if batched:  # one call of apply had most of the batch (a batch may be split by how the broker delivered it)
        assert max(len(ns) for ns in run.applied) >= 10
    dead = run.dead_letters()
    assert len(dead) == 4
    reasons = sorted(headers[bus.ERROR_HEADER] for _, headers in dead)
    assert any("invalid payload" in r for r in reasons)
    assert any(bus.ATTEMPT_HEADER in r for r in reasons)
    assert any("this event cannot be applied" in r for r in reasons)  # retried alone, then dead-lettered
    assert any(body == b"{not a cloudevent" for body, _ in dead)


@pytest.mark.parametrize("batched", [False, True], ids=["handler", "batched"])
def test_the_database_lost_in_the_middle_of_a_batch_sends_the_whole_batch_back(world, whole_batches, batched):
    run = Run(
        world, "batched.outage" if batched else "batch.outage", lambda session, event, call: None, batched=batched
    )
    for n in range(10):
        run.publisher.publish(run.event(n, kill=n == 5))
    run.start()
    try:
        wait_until(lambda: len(run.noted()) == 10, timeout=30, message="all applied after the outage")
        wait_until(lambda: not run.consumer.paused, message="consumer resumed")
    finally:
        run.close()
    assert run.noted() == {n: 1 for n in range(10)}  # nothing lost, nothing committed twice
    # The events before the outage in its batch were applied (batched: prepared), rolled back with it and again.
    assert run.calls[0] == 2 and run.calls[5] == 2
    assert run.dead_letters() == []  # an outage is never a dead letter


def test_a_batch_of_one_is_one_transaction_per_event(world):
    run = Run(world, "batch.single", lambda session, event, call: None, batch=1)
    for n in range(5):
        run.publisher.publish(run.event(n))
    run.start()
    try:
        wait_until(lambda: len(run.noted()) == 5, message="all applied")
    finally:
        run.close()
    assert len(set(run.transactions.values())) == 5


@pytest.mark.parametrize("batched", [False, True], ids=["handler", "batched"])
def test_a_batch_is_tried_without_savepoints_and_with_them_only_when_something_in_it_failed(
    world, whole_batches, batched
):
    def hook(session, event, call):
        if event["data"].get("fail_once") and call == 1:
            raise bus.RetryLater("refers to something not seen yet")

    run = Run(world, "batched.optimistic" if batched else "batch.optimistic", hook, batched=batched)
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement.split(None, 1)[0].upper())

    sa_event.listen(run.database.engine, "before_cursor_execute", seen)
    try:
        for n in range(10):
            run.publisher.publish(run.event(n))
        run.start()
        wait_until(lambda: len(run.noted()) == 10, message="the clean batch applied")
        assert "SAVEPOINT" not in statements  # nothing failed: no savepoint, its two round trips saved
        statements.clear()
        for n in (10, 11, 12):  # one batch: 12 fails the first time
            run.publisher.publish(run.event(n, fail_once=n == 12))
        wait_until(lambda: 12 in run.noted(), message="applied on its retry")
    finally:
        run.close()
        sa_event.remove(run.database.engine, "before_cursor_execute", seen)
    assert run.noted() == {n: 1 for n in range(13)}
    assert run.calls[12] == 2  # the failing attempt was not run again with savepoints: its failure was kept
    # A plain handler's failure rolled the batch back: 10 and 11 applied again, each in a savepoint. Batched: a
    # prepare's failure touches no table, nothing to roll back.
    assert ("SAVEPOINT" in statements) is not batched
    assert run.calls[10] == run.calls[11] == (1 if batched else 2)


def test_the_embedded_relay_is_woken_by_the_batch_commit_not_by_a_released_savepoint(tmp_path):
    metadata = MetaData()
    table = outbox.define_outbox(metadata)
    database = Database(f"sqlite:///{tmp_path}/batch.db")
    metadata.create_all(database.engine)
    wakeup = outbox.wakeup_for(str(database.engine.url))
    wakeup.clear()
    try:
        with database.transaction() as session:
            with session.begin_nested():
                outbox.add(
                    session,
                    table,
                    events.build(type="thing.noted", source="/t/x", subject="t/1", data={}, city="testcity"),
                )
            with pytest.raises(RuntimeError), session.begin_nested():
                raise RuntimeError("the next event of the batch fails: its savepoint is rolled back")
            assert not wakeup.is_set()  # nothing committed yet: a relay woken now would find no row
        assert wakeup.is_set()
    finally:
        database.dispose()
