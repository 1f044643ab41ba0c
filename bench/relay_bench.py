"""Relay drain: a backlog of N outbox rows published by OutboxRelay, against a raw windowed confirmed-publish floor.

Both run in the same process on the same broker, one after the other: the floor publishes the same stored bodies
with py-amqp and confirms in windows of the same size (no database), the relay claims rows from PostgreSQL in
batches, publishes them as stored and marks them sent after their confirms.

    .venv/bin/python bench/relay_bench.py --rows 100000
    (GUANJIA_BENCH_PG / GUANJIA_BENCH_AMQP override the local servers)
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from datetime import UTC, datetime

from sqlalchemy import MetaData, func, select

from guanjia import bus, events, outbox
from guanjia.config import Settings
from guanjia.db import Database, drop_postgres_database, ensure_postgres_database


def _settings(tag: str) -> Settings:
    pg = os.environ.get("GUANJIA_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
    return Settings(
        service="relaybench",
        database_url=f"{pg}/guanjia_relaybench_{tag}",
        amqp_url=os.environ.get("GUANJIA_BENCH_AMQP", "amqp://guest:guest@127.0.0.1:5672/%2F"),
        city="bench",
        exchange=f"relaybench{tag}.guanjia.events",
        queue_prefix=f"relaybench{tag}.",
        service_key="x",
    )


def _rows(n: int) -> list[dict]:
    now = datetime.now(UTC)
    rows = []
    for i in range(n):
        event = events.build(
            type="ticket.created",
            source="/bench/tickets",
            subject=f"ticket/{uuid.uuid4()}",
            data={"ticket_id": str(uuid.uuid4()), "unit_id": str(uuid.uuid4()), "category": "repair", "n": i},
            city="bench",
            community=str(uuid.uuid4()),
        )
        payload = json.dumps(event, ensure_ascii=False)
        rows.append(
            {"id": event["id"], "event_type": event["type"], "payload": payload, "created_at": now, "attempts": 0}
        )
    return rows


def _sink(settings: Settings) -> str:
    """A queue bound to everything, so the broker does real routing and storing work (deleted at the end)."""
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(settings.amqp_url))
    channel = conn.channel()
    with bus.connect(settings) as kconn:
        bus.declare_topology(kconn.channel(), settings)
    name = f"{settings.queue_prefix}sink"
    channel.queue_declare(name, durable=True)
    channel.queue_bind(name, settings.exchange, routing_key="#")
    channel.queue_purge(name)
    conn.close()
    return name


def _purge_and_delete(settings: Settings, queues: list[str], delete: bool) -> None:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(settings.amqp_url))
    channel = conn.channel()
    for name in queues:
        channel.queue_purge(name) if not delete else channel.queue_delete(name)
    if delete:
        for exchange in (settings.exchange, f"{settings.exchange}.unrouted-ae"):
            channel.exchange_delete(exchange)
    conn.close()


def floor(settings: Settings, rows: list[dict], window: int) -> float:
    """Raw windowed confirmed publish of the same bodies: events/s."""
    publisher = bus.Publisher(settings)
    items = [(r["id"], r["event_type"], r["payload"].encode()) for r in rows]
    started = time.perf_counter()
    for start in range(0, len(items), 1000):
        confirmed, nacked = publisher.publish_batch(items[start : start + 1000], window=window)
        assert len(confirmed) == len(items[start : start + 1000]) and not nacked
    elapsed = time.perf_counter() - started
    publisher.close()
    return len(items) / elapsed


def relay(settings: Settings, rows: list[dict], window: int, batch: int) -> tuple[float, float]:
    """OutboxRelay draining the rows from PostgreSQL: (events/s, CPU seconds of this process per 1,000 events)."""
    ensure_postgres_database(settings.database_url)
    metadata = MetaData()
    table = outbox.define_outbox(metadata)
    database = Database(settings.database_url, pool_size=2)
    metadata.drop_all(database.engine)
    metadata.create_all(database.engine)
    with database.transaction() as session:
        for start in range(0, len(rows), 5000):
            session.execute(table.insert(), rows[start : start + 5000])
    worker = outbox.OutboxRelay(database, table, bus.Publisher(settings), batch_size=batch, window=window)
    cpu0, started = time.process_time(), time.perf_counter()
    published = worker.publish_pending()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu0
    with database.transaction() as session:
        left = session.execute(select(func.count()).select_from(table).where(table.c.published_at.is_(None))).scalar()
    assert published == len(rows) and left == 0, (published, left)
    worker.publisher.close()
    database.dispose()
    drop_postgres_database(settings.database_url)
    return len(rows) / elapsed, cpu / len(rows) * 1_000_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--window", type=int, default=500)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:6]
    settings = _settings(tag)
    rows = _rows(args.rows)
    sink = _sink(settings)
    try:
        floor_rate = floor(settings, rows, args.window)
        _purge_and_delete(settings, [sink], delete=False)
        relay_rate, cpu_per_1000 = relay(settings, rows, args.window, args.batch)
    finally:
        _purge_and_delete(settings, [sink, f"{settings.queue_prefix}guanjia.unrouted"], delete=True)
    print(
        json.dumps(
            {
                "rows": args.rows,
                "window": args.window,
                "batch": args.batch,
                "floor_events_per_s": round(floor_rate),
                "relay_events_per_s": round(relay_rate),
                "ratio_to_floor": round(relay_rate / floor_rate, 2),
                "relay_cpu_ms_per_1000_events": round(cpu_per_1000, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
