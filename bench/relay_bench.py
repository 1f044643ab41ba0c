"""Relay drain: a backlog of N outbox rows published by OutboxRelay, against a raw windowed confirmed-publish floor.

Both run in the same process on the same broker, one after the other: the floor publishes the same stored bodies
with bare py-amqp (one socket write per message, none of our code) and confirms in windows of the same size (no
database), the relay claims rows from PostgreSQL in
batches, publishes them as stored and marks them sent after their confirms.

    .venv/bin/python bench/relay_bench.py --rows 100000 [--rounds 3]
    (floor and relay alternate for --rounds rounds; the medians and the spread are printed, with the load average)
    (GUANJIA_BENCH_PG / GUANJIA_BENCH_AMQP override the local servers)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid
from datetime import UTC, datetime

import kombu
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


def floor(settings: Settings, rows: list[dict], window: int) -> tuple[float, float]:
    """Raw windowed confirmed publish of the same bodies with py-amqp alone (none of our code, no database):
    (events/s, CPU ms of this process per 1,000 events)."""
    import amqp

    url = kombu.Connection(settings.amqp_url)
    conn = amqp.Connection(f"{url.hostname}:{url.port or 5672}", userid=url.userid, password=url.password)
    conn.connect()
    channel = conn.channel()
    channel.confirm_select()
    acked = [0]

    def on_ack(tag, multiple=False):
        acked[0] = tag if multiple else acked[0] + 1  # sequential single acks or a cumulative one

    channel.events["basic_ack"].add(on_ack)
    bodies = [(r["id"], r["event_type"], r["payload"].encode()) for r in rows]
    cpu0, started = time.process_time(), time.perf_counter()
    for sent, (event_id, event_type, body) in enumerate(bodies, 1):
        message = amqp.Message(body, **bus.event_properties(event_id, event_type))
        channel.basic_publish(message, exchange=settings.exchange, routing_key=event_type)
        while sent - acked[0] >= window:
            conn.drain_events(timeout=10)
    while acked[0] < len(bodies):
        conn.drain_events(timeout=10)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu0
    conn.close()
    return len(bodies) / elapsed, cpu / len(bodies) * 1_000_000


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
    parser.add_argument("--rounds", type=int, default=3, help="floor and relay interleaved, medians reported")
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:6]
    settings = _settings(tag)
    rows = _rows(args.rows)
    sink = _sink(settings)
    runs = []
    try:
        for _ in range(args.rounds):
            load = os.getloadavg()[0]
            floor_rate, floor_cpu = floor(settings, rows, args.window)
            _purge_and_delete(settings, [sink], delete=False)
            relay_rate, relay_cpu = relay(settings, rows, args.window, args.batch)
            _purge_and_delete(settings, [sink], delete=False)
            runs.append((relay_rate / floor_rate, floor_rate, relay_rate, floor_cpu, relay_cpu, load))
            print(
                json.dumps(
                    {
                        "round": len(runs),
                        "ratio": round(runs[-1][0], 2),
                        "floor": round(floor_rate),
                        "relay": round(relay_rate),
                        "load_average_1m": load,
                    }
                ),
                flush=True,
            )
    finally:
        _purge_and_delete(settings, [sink, f"{settings.queue_prefix}guanjia.unrouted"], delete=True)

    def median(i):
        return statistics.median(run[i] for run in runs)

    print(
        json.dumps(
            {
                "code": outbox.__file__,
                "rows": args.rows,
                "window": args.window,
                "batch": args.batch,
                "rounds": args.rounds,
                "floor_events_per_s": round(median(1)),
                "relay_events_per_s": round(median(2)),
                "relay_events_per_s_min_max": [round(min(r[2] for r in runs)), round(max(r[2] for r in runs))],
                "ratio_to_floor_median": round(median(0), 2),
                "ratio_min_max": [round(min(r[0] for r in runs), 2), round(max(r[0] for r in runs), 2)],
                "floor_cpu_ms_per_1000_events": round(median(3), 1),
                "relay_cpu_ms_per_1000_events": round(median(4), 1),
                "load_average_1m": [round(r[5], 2) for r in runs],
            }
        )
    )


if __name__ == "__main__":
    main()
