"""The relay on the real PostgreSQL and RabbitMQ: windowed confirms, stored JSON as-is, rows set aside."""

import json
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from guanjia import bus, events, outbox
from guanjia.db import Database
from guanjia.testing import EventRecorder, scratch_outbox_and_inbox, wait_until


@pytest.fixture(scope="module")
def world(infra):
    yield from scratch_outbox_and_inbox(infra, "reltest", outbox_max_attempts=3)


def _event(n):
    return events.build(
        type="thing.batched", source="/testcity/reltest", subject=f"thing/{n}", data={"n": n}, city="testcity"
    )


def _unpublished(database, table):
    with database.transaction() as session:
        return session.execute(
            select(table.c.id, table.c.attempts, table.c.last_error).where(table.c.published_at.is_(None))
        ).all()


def test_a_batch_goes_out_in_windows_as_stored_each_once_and_marked_sent(world):
    settings, database, tables = world
    recorder = EventRecorder(settings, "thing.batched")
    stored = {}
    with database.transaction() as session:
        for n in range(1200):
            event = _event(n)
            outbox.add(session, tables["outbox"], event)
            stored[event["id"]] = json.dumps(event, ensure_ascii=False)
    # A window smaller than the batch: the relay waits for confirms several times within one batch.
    relay = outbox.OutboxRelay(database, tables["outbox"], bus.Publisher(settings), batch_size=500, window=64)
    assert relay.publish_pending() == 1200
    wait_until(lambda: len(recorder.of_type("thing.batched")) >= 1200, timeout=30, message="1200 events")
    received = recorder.of_type("thing.batched")
    recorder.close()
    assert sorted(e["id"] for e in received) == sorted(stored)
    assert not _unpublished(database, tables["outbox"])
    # The consumer side parses what was stored (id, type and data unchanged).
    assert all(e == json.loads(stored[e["id"]]) for e in received)


def test_confirm_bookkeeping_settles_multiple_and_single_acks_across_open_batches():
    state = bus._Confirms()
    first = state.begin()
    for n in range(5):
        state.sent(first, f"e{n}")
    state.ack(2, multiple=True)  # tags 1, 2
    state.nack(4)
    assert state.outstanding() == 2
    # The next batch is sent before the first one is settled: tags go on from 6.
    second = state.begin()
    state.sent(second, "f0")
    state.sent(second, "f1")
    state.ack(6, multiple=True)  # 3 and 5 of the first batch (4 already nacked), 6 of the second
    assert first.outstanding() == 0 and second.outstanding() == 1 and state.outstanding() == 1
    assert first.confirmed_ids() == ["e0", "e1", "e2", "e4"]
    assert first.nacked_ids() == {"e3": "nacked by the broker"}
    state.close(first)
    state.ack(6)  # a repeated confirm changes nothing
    state.nack(7)
    assert state.outstanding() == 0
    assert second.confirmed_ids() == ["f0"] and second.nacked_ids() == {"f1": "nacked by the broker"}


def test_overlapping_batches_each_marked_sent_only_for_their_confirmed_rows(world):
    """Several full batches in a row (the relay claims and publishes the next while the broker confirms the
    previous one); a second relay racing it publishes nothing twice."""
    settings, database, tables = world
    recorder = EventRecorder(settings, "thing.batched")
    ids = set()
    with database.transaction() as session:
        for n in range(1050):
            event = _event(n)
            outbox.add(session, tables["outbox"], event)
            ids.add(event["id"])
    relays = [
        outbox.OutboxRelay(database, tables["outbox"], bus.Publisher(settings), batch_size=100, window=30)
        for _ in range(2)
    ]
    counts = []
    threads = [threading.Thread(target=lambda r=r: counts.append(r.publish_pending())) for r in relays]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(counts) == 1050
    wait_until(lambda: len(recorder.of_type("thing.batched")) >= 1050, timeout=30, message="1050 events")
    time.sleep(0.5)  # a duplicate would arrive right behind
    received = [e["id"] for e in recorder.of_type("thing.batched")]
    recorder.close()
    assert sorted(received) == sorted(ids)
    assert not _unpublished(database, tables["outbox"])


def _insert_raw(database, table, payload: str, event_type="thing.batched", row_id=None):
    row_id = row_id or str(uuid.uuid4())
    with database.transaction() as session:
        session.execute(
            table.insert().values(
                id=row_id, event_type=event_type, payload=payload, created_at=datetime.now(UTC), attempts=0
            )
        )
    return row_id


def test_an_unpublishable_row_is_set_aside_and_the_rows_behind_it_go_on(world):
    settings, database, tables = world
    table = tables["outbox"]
    recorder = EventRecorder(settings, "thing.batched")
    bad = [
        _insert_raw(database, table, "not json at all"),
        _insert_raw(database, table, '{"specversion": "1.0", "id": "x"}'),
        _insert_raw(database, table, json.dumps({**_event(1), "id": "another-id"})),
    ]
    good = _event(99)
    with database.transaction() as session:
        outbox.add(session, table, good)
    relay = outbox.OutboxRelay(
        database, table, bus.Publisher(settings), max_attempts=settings.outbox_max_attempts, batch_size=2
    )
    relay.publish_pending()
    recorder.wait_for("thing.batched", lambda e: e["id"] == good["id"], timeout=15)
    recorder.close()
    left = {row.id: row for row in _unpublished(database, table)}
    assert set(left) == set(bad)
    assert all(row.attempts >= settings.outbox_max_attempts and row.last_error for row in left.values())
    # Set aside rows are not claimed again: a second pass publishes nothing and changes nothing.
    assert relay.publish_pending() == 0
    # Visible to the operator: listed with their reason (as `guanjia outbox dead` prints), counted on /metrics.
    with database.transaction() as session:
        dead = outbox.dead_rows(session, table, settings.outbox_max_attempts)
    assert {row.id for row in dead} == set(bad)
    assert "not a JSON object" in next(row.last_error for row in dead if row.id == bad[0])
    from guanjia.metrics import ServiceStateCollector

    families = {f.name: f for f in ServiceStateCollector(settings, database).collect()}
    assert families["guanjia_outbox_dead_rows"].samples[0].value == 3
    assert families["guanjia_outbox_backlog"].samples[0].value == 0
    # Handing one back: it is claimed again (and set aside again, as its payload is still bad).
    with database.transaction() as session:
        assert outbox.retry_dead(session, table, settings.outbox_max_attempts, [bad[0]]) == 1
    relay.publish_pending()
    with database.transaction() as session:
        assert {row.id for row in outbox.dead_rows(session, table, settings.outbox_max_attempts)} == set(bad)


def test_guanjia_outbox_dead_lists_the_set_aside_rows_of_a_service(infra):
    """The CLI of a real service (tickets) on its real database."""
    settings = infra.settings("tickets", database="tickets_outboxcli")
    database = Database(settings.database_url)
    from tickets.models import outbox as tickets_outbox

    row_id = _insert_raw(database, tickets_outbox, "{broken", event_type="ticket.created")
    relay = outbox.OutboxRelay(database, tickets_outbox, bus.Publisher(settings))
    relay.publish_pending()
    database.dispose()
    env = {
        "GUANJIA_TICKETS_DATABASE_URL": settings.database_url,
        "GUANJIA_AMQP_URL": settings.amqp_url,
        "GUANJIA_SERVICE_KEY": settings.service_key,
        "GUANJIA_PII_KEY": settings.pii_key,
    }
    cli = [sys.executable, "-m", "guanjia.cli", "outbox"]
    listed = subprocess.run([*cli, "dead", "tickets"], env=env, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [r["id"] for r in rows] == [row_id]
    assert rows[0]["event_type"] == "ticket.created" and "JSON" in rows[0]["error"]
    retried = subprocess.run([*cli, "retry", "tickets", "--all"], env=env, capture_output=True, text=True, timeout=60)
    assert retried.returncode == 0 and "1 outbox row(s)" in retried.stderr
    listed = subprocess.run([*cli, "dead", "tickets"], env=env, capture_output=True, text=True, timeout=60)
    assert listed.stdout.strip() == ""


@pytest.fixture
def clean_world(infra):
    yield from scratch_outbox_and_inbox(infra, "relfew")  # its own outbox: no rows left by the tests above


def test_a_pass_of_a_few_rows_is_one_claim_and_one_mark_in_one_transaction(clean_world):
    """The pipeline's pace: a pass claims a ticket's two events. Nothing nacked, nothing unpublishable: no
    per-row statements, no bookkeeping of failures — the claim, the mark of the confirmed ids, the commit."""
    from sqlalchemy import event as sa_event

    settings, database, tables = clean_world
    with database.transaction() as session:
        outbox.add(session, tables["outbox"], _event("a"))
        outbox.add(session, tables["outbox"], _event("b"))
    relay = outbox.OutboxRelay(database, tables["outbox"], bus.Publisher(settings))
    statements = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()))

    sa_event.listen(database.engine, "before_cursor_execute", seen)
    try:
        assert relay.publish_pending() == 2
    finally:
        sa_event.remove(database.engine, "before_cursor_execute", seen)
        relay.publisher.close()
    assert [s.split()[0] for s in statements] == ["SELECT", "UPDATE"], statements
    assert statements[0].endswith("FOR UPDATE SKIP LOCKED") and "ANY(" in statements[1]
    assert not _unpublished(database, tables["outbox"])
