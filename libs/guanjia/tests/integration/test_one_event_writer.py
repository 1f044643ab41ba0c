"""The library's one event writer (outbox.emit, outbox.Batch) on PostgreSQL: the caller's clock, the current trace,
valid envelopes — one event at a time, in bulk, and set-based in SQL."""

import json
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import MetaData, select
from sqlalchemy.engine import make_url

from guanjia import events, outbox, tracing
from guanjia.db import Database, ensure_postgres_database

TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
THEN = datetime(2026, 6, 30, 16, 0, tzinfo=UTC)  # a job run for "midnight, 1 July" Beijing time


@pytest.fixture(scope="module")
def world(infra):
    settings = infra.settings("onewriter")
    ensure_postgres_database(settings.database_url)
    metadata = MetaData()
    table = outbox.define_outbox(metadata)
    database = Database(settings.database_url)
    metadata.create_all(database.engine)
    yield settings, database, table
    database.dispose()


def _written(database, table, event_type: str) -> list[dict]:
    with database.transaction() as session:
        rows = session.execute(select(table.c.payload).where(table.c.event_type == event_type)).scalars()
        return [json.loads(payload) for payload in rows]


def test_emit_takes_the_callers_clock_and_the_current_trace(world):
    settings, database, table = world
    with tracing.span("job", TRACE), database.transaction() as session:
        outbox.emit(session, table, settings, type="thing.emitted", subject="thing/1", data={"n": 1}, time=THEN)
        trace = tracing.current()
    (event,) = _written(database, table, "thing.emitted")
    assert event["time"] == "2026-06-30T16:00:00Z"
    assert event["traceparent"] == trace and trace.split("-")[1] == TRACE.split("-")[1]


def test_a_batch_shares_one_envelope_and_each_event_has_its_own_id(world):
    settings, database, table = world
    with tracing.span("run", TRACE), database.transaction() as session:
        batch = outbox.Batch(table, settings, "thing.batched", time=THEN)
        for n in range(3):
            batch.add(subject=f"thing/{n}", data={"n": n}, community="c-1" if n else None)
        assert batch.flush(session) == 3
        trace = tracing.current()
    written = sorted(_written(database, table, "thing.batched"), key=lambda e: e["data"]["n"])
    for event in written:
        events.validate(event)
    assert len({e["id"] for e in written}) == 3
    assert {e["time"] for e in written} == {"2026-06-30T16:00:00Z"}
    assert {e["traceparent"] for e in written} == {trace}
    assert ["community" in e for e in written] == [False, True, True]


@pytest.mark.parametrize("count", [2, outbox.SMALL_BATCH + 1], ids=["insert", "copy"])
def test_a_batch_of_a_few_rows_and_one_of_many_write_the_same_rows_and_wake_the_relay_at_commit(world, count):
    settings, database, table = world
    listener = psycopg.connect(make_url(settings.database_url).set(drivername="postgresql").render_as_string(False))
    listener.autocommit = True
    listener.execute(f"LISTEN {outbox.NOTIFY_CHANNEL}")
    kind = "thing.flushed" if count < outbox.SMALL_BATCH else "thing.copied"
    try:
        with database.transaction() as session:
            batch = outbox.Batch(table, settings, kind, time=THEN)
            for n in range(count):
                batch.add(subject=f"thing/{n}", data={"n": n})
            assert batch.flush(session) == count
            assert not list(listener.notifies(timeout=0.2))  # not before the commit
        assert len(list(listener.notifies(timeout=2, stop_after=1))) == 1
    finally:
        listener.close()
    written = _written(database, table, kind)
    assert sorted(e["data"]["n"] for e in written) == list(range(count))
    with database.transaction() as session:
        rows = session.execute(
            select(table.c.created_at, table.c.attempts, table.c.published_at).where(table.c.event_type == kind)
        ).all()
    assert {tuple(row) for row in rows} == {(THEN, 0, None)}
    for event in written:
        events.validate(event)


def test_a_set_based_batch_is_written_by_one_statement_with_the_same_envelope(world):
    settings, database, table = world
    ctes = """
numbers AS (SELECT n FROM generate_series(1, 50) AS n),
events AS (
  SELECT gen_random_uuid()::text AS id, 'thing/' || n AS subject,
         CASE WHEN n % 2 = 0 THEN 'c-' || n END AS community, json_build_object('n', n) AS data
  FROM numbers WHERE n <= :upto
)"""
    with tracing.span("scan", TRACE), database.transaction() as session:
        written = outbox.Batch(table, settings, "thing.selected", time=THEN).insert_selected(
            session, ctes, {"upto": 40}
        )
        trace = tracing.current()
    assert written == 40
    rows = _written(database, table, "thing.selected")
    assert len(rows) == 40
    for event in rows:
        events.validate(event)
        assert (event["time"], event["traceparent"], event["source"]) == (
            "2026-06-30T16:00:00Z",
            trace,
            settings.source,
        )
        assert ("community" in event) == (event["data"]["n"] % 2 == 0)


def test_rows_for_the_callers_own_statement_are_those_emit_writes(world):
    settings, database, table = world
    from sqlalchemy import text

    with tracing.span("request", TRACE), database.transaction() as session:
        built = [
            outbox.build(settings, type="thing.inlined", subject=f"thing/{n}", data={"n": n}, community="c1", time=THEN)
            for n in (1, 2)
        ]
        sql, notify, params = outbox.insert_sql(session, table, built)
        assert notify.startswith("pg_notify(")
        # The caller's statement: here just the insert and the wake-up; the ticket create adds its own rows.
        session.execute(text(f"WITH written AS ({sql}) SELECT {notify}"), params)
        again = outbox.insert_sql(session, table, built[:1], prefix="x")
        assert again[1] == "NULL"  # one NOTIFY per transaction, as after `add`
        trace = tracing.current()
    with database.transaction() as session:
        rows = session.execute(
            select(table.c.id, table.c.payload, table.c.attempts)
            .where(table.c.event_type == "thing.inlined")
            .order_by(table.c.created_at)
        ).all()
    # In the caller's order (the relay publishes by created_at), stored exactly as `add` stores them.
    assert [row.payload for row in rows] == [outbox.encode(event) for event in built]
    assert [row.id for row in rows] == [event["id"] for event in built] and {row.attempts for row in rows} == {0}
    assert built[0]["traceparent"] == trace and built[0]["time"] == "2026-06-30T16:00:00Z"
