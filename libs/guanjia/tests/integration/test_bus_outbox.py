"""Outbox relay, confirmed publishing and the consumer loop on the real PostgreSQL and RabbitMQ."""

import threading

import pika
import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanjia import bus, events, outbox
from guanjia.testing import EventRecorder, scratch_outbox_and_inbox, wait_until


@pytest.fixture(scope="module")
def world(infra):
    """A scratch 'service' with its own outbox/inbox tables on PostgreSQL."""
    yield from scratch_outbox_and_inbox(infra, "libtest", retry_delays_ms=(100, 200))


def _event(n, **data):
    return events.build(
        type="thing.happened", source="/testcity/libtest", subject=f"thing/{n}", data={"n": n, **data}, city="testcity"
    )


def test_relay_publishes_each_row_once_with_two_relays_racing(world):
    settings, database, tables = world
    recorder = EventRecorder(settings, "thing.happened")
    ids = []
    with database.transaction() as session:
        for n in range(300):
            event = _event(n)
            ids.append(event["id"])
            outbox.add(session, tables["outbox"], event)
    relays = [outbox.OutboxRelay(database, tables["outbox"], bus.Publisher(settings), batch_size=20) for _ in range(2)]
    threads = [threading.Thread(target=r.publish_pending) for r in relays]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait_until(lambda: len(recorder.of_type("thing.happened")) >= 300, message="300 events")
    seen = [e["id"] for e in recorder.of_type("thing.happened")]
    recorder.close()
    assert sorted(seen) == sorted(ids)  # every row once, none twice
    with database.transaction() as session:
        unpublished = session.execute(
            select(func.count()).select_from(tables["outbox"]).where(tables["outbox"].c.published_at.is_(None))
        ).scalar_one()
    assert unpublished == 0


def test_relay_is_woken_by_the_commit_not_by_polling(world):
    settings, database, tables = world
    recorder = EventRecorder(settings, "thing.happened")
    relay = outbox.OutboxRelay(database, tables["outbox"], bus.Publisher(settings), poll_seconds=600)
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,))
    thread.start()
    try:
        event = _event(1000)
        with database.transaction() as session:
            outbox.add(session, tables["outbox"], event)
        # With a 600 s safety poll, only the NOTIFY on commit can deliver it within the wait.
        recorder.wait_for("thing.happened", lambda e: e["id"] == event["id"], timeout=15)
    finally:
        stop.set()
        thread.join(10)
        recorder.close()


def test_rolled_back_transaction_publishes_nothing(world):
    settings, database, tables = world
    event = _event(2000)
    with pytest.raises(RuntimeError), database.transaction() as session:
        outbox.add(session, tables["outbox"], event)
        raise RuntimeError("business rule failed")
    with database.transaction() as session:
        assert session.get_bind() is not None
        assert (
            session.execute(select(tables["outbox"].c.id).where(tables["outbox"].c.id == event["id"])).first() is None
        )


def test_publisher_reports_an_unreachable_broker_as_not_published(world):
    settings, _, _ = world
    broken = bus.Publisher(settings.with_service("libtest", amqp_url="amqp://guest:guest@127.0.0.1:1/%2F"))
    with pytest.raises(bus.PublishError):
        broken.publish(_event(1))


def test_consumer_applies_once_retries_then_dead_letters_and_keeps_going(world):
    settings, database, tables = world
    applied, attempts = [], {}

    def handler(context, session, event):
        n = event["data"]["n"]
        attempts[n] = attempts.get(n, 0) + 1
        if event["data"].get("always_fail"):
            raise bus.RetryLater("refers to something not seen yet")
        if event["data"].get("fail_once") and attempts[n] == 1:
            raise bus.RetryLater("not yet")
        session.info.setdefault("applied", []).append(n)

    # Applied = committed: a batch rolled back (tried without savepoints, then again with them) applied nothing.
    def committed(session):
        if not session.in_nested_transaction():
            applied.extend(session.info.pop("applied", []))

    sa_event.listen(Session, "after_commit", committed)

    consumer_settings = settings.with_service("libconsumer")
    consumer = bus.EventConsumer(consumer_settings, database, tables["inbox"], {"thing.happened": handler})
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,))
    thread.start()
    publisher = bus.Publisher(settings)
    try:
        assert consumer.ready.wait(10)
        duplicate = _event(1)
        publisher.publish(duplicate)
        publisher.publish(duplicate)  # redelivery of the same event id
        publisher.publish_raw(
            b"{not a cloudevent", {"content_type": "application/cloudevents+json"}, routing_key="thing.happened"
        )
        publisher.publish(_event(2, fail_once=True))
        publisher.publish(_event(3, always_fail=True))
        publisher.publish(_event(4))
        wait_until(lambda: {1, 2, 4} <= set(applied), message="events applied")
        wait_until(lambda: attempts.get(3) == 3, message="poison retried twice then dead-lettered")
    finally:
        stop.set()
        thread.join(10)
        publisher.close()
        sa_event.remove(Session, "after_commit", committed)
    assert applied.count(1) == 1 and applied.count(2) == 1
    connection = pika.BlockingConnection(pika.URLParameters(settings.amqp_url))
    channel = connection.channel()
    dead = []
    while True:
        method, properties, body = channel.basic_get(consumer_settings.queue_name("events.dead"), auto_ack=True)
        if method is None:
            break
        dead.append((body, properties.headers))
    connection.close()
    assert len(dead) == 2
    assert any(body == b"{not a cloudevent" for body, _ in dead)
    assert all("x-guanjia-error" in headers for _, headers in dead)
