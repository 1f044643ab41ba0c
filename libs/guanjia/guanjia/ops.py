"""Operator tools behind the `guanjia` CLI: inspect, replay and discard dead letters; replay the outbox.

Dead letters: `<service>.events.dead` holds what a consumer could not apply. Inspecting reads messages
without taking them (they return to the queue when the channel closes); replaying puts the chosen ones back
onto `<service>.events` with a fresh retry budget; discarding acknowledges them away. Every choice is by
event id (or all), and a message is acknowledged only after its replay was confirmed by the broker.

Outbox replay republishes events a service already published in a time range, unchanged except for the
extension `replay: true`. The id stays the same, so consumers that deduplicate on id (every Guanjia
service, and every integrator following docs/integrators.md) apply each event at most once.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from datetime import datetime

from kombu import Queue
from sqlalchemy import select

from . import bus, events
from .config import Settings


@dataclass
class DeadLetter:
    event_id: str | None
    event_type: str | None
    subject: str | None
    time: str | None
    error: str | None
    attempts: int

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _describe(message) -> DeadLetter:
    headers = dict(message.headers or {})
    props = message.properties or {}
    subject = time = None
    try:
        parsed = json.loads(message.body)
        subject, time = parsed.get("subject"), parsed.get("time")
    except (ValueError, TypeError, AttributeError):
        pass  # not JSON (that may be why it is here): id and type still come from the AMQP properties
    return DeadLetter(
        event_id=props.get("message_id"),
        event_type=props.get("type"),
        subject=subject,
        time=time,
        error=headers.get(bus.ERROR_HEADER),
        attempts=int(headers.get(bus.ATTEMPT_HEADER, 0)),
    )


def _walk(settings: Settings, limit: int | None, visit) -> None:
    """basic_get every message of the dead-letter queue once; `visit(message)` acks or leaves it.

    Messages left unacknowledged return to the queue, in order, when the channel closes.
    """
    dead_name = settings.queue_name("events.dead")
    with bus.connect(settings) as conn:
        conn.ensure_connection(max_retries=1)
        channel = conn.channel()
        queue = Queue(dead_name, durable=True)(channel)
        queue.declare()
        # Only what is there now: a message put back while we walk is not met again.
        remaining = queue.queue_declare(passive=True).message_count
        if limit is not None:
            remaining = min(remaining, limit)
        seen = []
        for _ in range(remaining):
            message = queue.get(no_ack=False)
            if message is None:
                break
            visit(message)
            seen.append(message)
        if not getattr(channel, "do_restore", True):
            # The in-memory transport (embedded mode) drops what is left unacknowledged on close: put it back.
            for message in seen:
                if not message.acknowledged:
                    message.requeue()
        channel.close()


def has_dead_letters_queue(settings: Settings) -> bool:
    """Whether the service's dead-letter queue exists (a service that consumes nothing has none: none is made)."""
    with bus.connect(settings) as conn:
        conn.ensure_connection(max_retries=1)
        channel = conn.channel()
        try:
            Queue(settings.queue_name("events.dead"), durable=True)(channel).queue_declare(passive=True)
        except conn.channel_errors:
            return False
        channel.close()
        return True


def list_dead_letters(settings: Settings, limit: int = 100) -> list[DeadLetter]:
    """The first `limit` dead letters of the service, left where they are."""
    found: list[DeadLetter] = []
    _walk(settings, limit, lambda message: found.append(_describe(message)))
    return found


def _selector(ids, all_: bool):
    if not ids and not all_:
        raise ValueError("name the event ids to act on, or all")
    wanted = set(ids or ())
    return lambda letter: all_ or letter.event_id in wanted


def replay_dead_letters(settings: Settings, ids=None, *, all_: bool = False) -> list[str]:
    """Put the chosen dead letters back on `<service>.events` for another full round of attempts."""
    chosen = _selector(ids, all_)
    publisher = bus.Publisher(settings)
    replayed: list[str] = []

    def visit(message):
        letter = _describe(message)
        if not chosen(letter):
            return
        headers = {k: v for k, v in (message.headers or {}).items() if k not in (bus.ATTEMPT_HEADER, bus.ERROR_HEADER)}
        properties = {
            "content_type": message.content_type,
            "content_encoding": message.content_encoding or "utf-8",
            "delivery_mode": 2,
        }
        for key in ("message_id", "type", "timestamp"):
            if (message.properties or {}).get(key) is not None:
                properties[key] = message.properties[key]
        publisher.publish_raw(
            message.body, properties, routing_key=settings.queue_name("events"), direct=True, headers=headers
        )
        message.ack()  # only after the broker confirmed the copy on the main queue
        replayed.append(letter.event_id)

    try:
        _walk(settings, None, visit)
    finally:
        publisher.close()
    return replayed


def discard_dead_letters(settings: Settings, ids=None, *, all_: bool = False) -> list[str]:
    """Remove the chosen dead letters for good (after inspecting them: nothing keeps a copy)."""
    chosen = _selector(ids, all_)
    discarded: list[str] = []

    def visit(message):
        letter = _describe(message)
        if chosen(letter):
            message.ack()
            discarded.append(letter.event_id)

    _walk(settings, None, visit)
    return discarded


def replay_outbox(
    settings: Settings,
    database,
    table,
    *,
    since: datetime,
    until: datetime,
    types: list[str] | None = None,
    queue: str | None = None,
    batch_size: int = 500,
) -> int:
    """Republish the events published between `since` and `until` (created_at), marked `replay: true`.

    `types` are event types or patterns (`ticket.*`); `queue` sends the copies to one queue only (an
    integrator's) instead of to every subscriber through guanjia.events.
    """
    if since >= until:
        raise ValueError("since must be before until")
    publisher = bus.Publisher(settings)
    count = 0
    last = None
    try:
        while True:
            query = (
                select(table.c.id, table.c.event_type, table.c.payload, table.c.created_at)
                .where(table.c.published_at.is_not(None), table.c.created_at >= since, table.c.created_at < until)
                .order_by(table.c.created_at, table.c.id)
                .limit(batch_size)
            )
            if last is not None:
                # Keyset pagination: rows that share a created_at are ordered by id.
                query = query.where(
                    (table.c.created_at > last[0]) | ((table.c.created_at == last[0]) & (table.c.id > last[1]))
                )
            with database.transaction() as session:
                rows = session.execute(query).all()
            for row in rows:
                if types and not any(fnmatch.fnmatchcase(row.event_type, pattern) for pattern in types):
                    continue
                event = {**json.loads(row.payload), "replay": True}
                if queue:
                    body, properties = events.to_message(event)
                    publisher.publish_raw(body, properties, routing_key=queue, direct=True)
                else:
                    publisher.publish(event)
                count += 1
            if len(rows) < batch_size:
                return count
            last = (rows[-1].created_at, rows[-1].id)
    finally:
        publisher.close()
