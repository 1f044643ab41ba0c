#!/usr/bin/env python3
"""A Guanjia integrator's event consumer: copy it, change handle(), run it.

It uses nothing but pika (pip install pika) and the standard library:

    python consumer.py --url amqp://integrator:PASSWORD@rabbitmq.city.example:5672/%2F \
        --queue integrator.acme-access --bind 'resident.*' --bind 'unit.*'

What it does, and why (docs/integrators.md explains each point):
  * declares ITS OWN durable queue (the integrator user may only create `integrator.*` objects) and binds it
    to the `guanjia.events` topic exchange with the event types it wants (`#` for everything);
  * reads each message as a CloudEvents 1.0 structured-mode JSON envelope;
  * delivery is at least once: it remembers the ids it has handled (a SQLite file) and skips a repeat —
    including the copies an operator republishes on request, which carry `"replay": true` and the same id;
  * acknowledges a message only after handle() succeeded and the id is stored, so a crash redelivers it;
  * a message it cannot understand is rejected without requeue (dead-lettered if you gave the queue a
    dead-letter exchange), never retried for ever.
It prints one JSON line per event handled: {"id", "type", "subject", "replay", "data"}.
"""

from __future__ import annotations

import argparse
import json
import signal
import sqlite3
import sys

import pika

EXCHANGE = "guanjia.events"
CLOUDEVENTS_JSON = "application/cloudevents+json"


class SeenIds:
    """Event ids already handled, kept in SQLite so a restart still recognises them."""

    def __init__(self, path: str):
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, type TEXT)")

    def __contains__(self, event_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM seen WHERE id = ?", (event_id,)).fetchone() is not None

    def add(self, event_id: str, event_type: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO seen (id, type) VALUES (?, ?)", (event_id, event_type))
        self.db.commit()


def parse(body: bytes, content_type: str | None) -> dict:
    """The CloudEvent envelope as a dict; ValueError when the message is not one."""
    if content_type and not content_type.startswith(CLOUDEVENTS_JSON):
        raise ValueError(f"unexpected content type {content_type!r}")
    event = json.loads(body)
    for attribute in ("specversion", "id", "type", "source", "data"):
        if attribute not in event:
            raise ValueError(f"not a CloudEvent: no {attribute}")
    if event["specversion"] != "1.0":
        raise ValueError(f"unsupported specversion {event['specversion']}")
    return event


def handle(event: dict) -> None:
    """Your integration goes here (open a door, post a payment, update the warehouse). Raise to retry."""
    line = {
        "id": event["id"],
        "type": event["type"],
        "subject": event.get("subject"),
        "replay": bool(event.get("replay")),
        "data": event["data"],
    }
    print(json.dumps(line, ensure_ascii=False), flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="AMQP URL with the integrator credential")
    parser.add_argument("--exchange", default=EXCHANGE)
    parser.add_argument("--queue", required=True, help="your queue; must start with 'integrator.'")
    parser.add_argument("--bind", action="append", default=[], help="routing pattern, repeatable (ticket.*, #)")
    parser.add_argument("--seen-db", default="seen-events.sqlite3", help="where handled ids are remembered")
    parser.add_argument("--max-events", type=int, default=0, help="stop after this many new events (0: run on)")
    parser.add_argument("--idle-timeout", type=float, default=0, help="stop after this many idle seconds")
    args = parser.parse_args(argv)

    seen = SeenIds(args.seen_db)
    connection = pika.BlockingConnection(pika.URLParameters(args.url))
    channel = connection.channel()
    # Durable and not exclusive: events keep arriving while the consumer is stopped or restarting.
    channel.queue_declare(args.queue, durable=True, arguments={"x-queue-type": "quorum"})
    for pattern in args.bind or ["#"]:
        channel.queue_bind(args.queue, args.exchange, routing_key=pattern)
    channel.basic_qos(prefetch_count=50)
    handled = 0

    def stop(*_):
        channel.stop_consuming()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    timeout = args.idle_timeout or None
    for method, properties, body in channel.consume(args.queue, inactivity_timeout=timeout):
        if method is None:  # idle for --idle-timeout seconds
            break
        try:
            event = parse(body, properties.content_type)
        except ValueError as exc:
            print(json.dumps({"rejected": properties.message_id, "error": str(exc)}), file=sys.stderr, flush=True)
            channel.basic_reject(method.delivery_tag, requeue=False)
            continue
        if event["id"] not in seen:
            handle(event)
            seen.add(event["id"], event["type"])
            handled += 1
        channel.basic_ack(method.delivery_tag)
        if args.max_events and handled >= args.max_events:
            break
    channel.cancel()
    connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
