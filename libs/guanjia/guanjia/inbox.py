"""Inbox: the ids of events a consumer has applied, written in the same transaction as the effect."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from sqlalchemy import Column, MetaData, String, Table, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .db import UtcDateTime


def define_inbox(metadata: MetaData) -> Table:
    return Table(
        "inbox",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("event_id", String(64), primary_key=True),
        Column("event_type", String(100), nullable=False),
        Column("processed_at", UtcDateTime(), nullable=False),
    )


def seen(session: Session, table: Table, consumer: str, event_id: str) -> bool:
    query = select(table.c.event_id).where(table.c.consumer == consumer, table.c.event_id == event_id)
    return session.execute(query).first() is not None


def claim(session: Session, table: Table, consumer: str, event: dict) -> bool:
    """Record `event` as applied by `consumer` in this transaction, first thing: True when it is new, False for a
    duplicate. One `INSERT … ON CONFLICT DO NOTHING` instead of a look-up and a later insert: a concurrent replica
    applying the same event waits here on the primary key until this transaction ends, then sees a duplicate (or,
    if this one rolled back, applies it itself)."""
    if session.get_bind().dialect.name == "postgresql":
        # A fixed text per table: no statement to build and compile per event (the consumer claims one per event).
        values = {"consumer": consumer, "event_id": event["id"], "event_type": event["type"], "at": datetime.now(UTC)}
        return session.execute(_pg_claim(table), values).first() is not None
    statement = (
        sqlite.insert(table)
        .values(consumer=consumer, event_id=event["id"], event_type=event["type"], processed_at=datetime.now(UTC))
        .on_conflict_do_nothing(index_elements=[table.c.consumer, table.c.event_id])
        .returning(table.c.event_id)
    )
    return session.execute(statement).first() is not None


def claim_all(session: Session, table: Table, consumer: str, events: list[dict]) -> set[str]:
    """`claim` for several events (distinct ids) at once: the ids of those new to `consumer`. On PostgreSQL one
    statement, its rows taken in id order so that two replicas claiming overlapping batches wait on each other
    rather than deadlock."""
    if session.get_bind().dialect.name != "postgresql":
        return {event["id"] for event in events if claim(session, table, consumer, event)}
    ordered = sorted(events, key=lambda event: event["id"])
    values = {
        "consumer": consumer,
        "ids": [event["id"] for event in ordered],
        "types": [event["type"] for event in ordered],
        "at": datetime.now(UTC),
    }
    return set(session.execute(_pg_claim(table, many=True), values).scalars())


def release(session: Session, table: Table, consumer: str, event_ids: list[str]) -> None:
    """Undo `claim_all` for events that were not applied after all (in the same transaction)."""
    session.execute(table.delete().where(table.c.consumer == consumer, table.c.event_id.in_(event_ids)))


@functools.cache
def _pg_claim(table: Table, many: bool = False):
    name = postgresql.dialect().identifier_preparer.format_table(table)
    rows = (
        " SELECT :consumer, e.id, e.type, :at FROM unnest(CAST(:ids AS varchar[]), CAST(:types AS varchar[]))"
        " WITH ORDINALITY AS e(id, type, n) ORDER BY e.n"
        if many
        else " VALUES (:consumer, :event_id, :event_type, :at)"
    )
    return text(
        f"INSERT INTO {name} (consumer, event_id, event_type, processed_at){rows}"
        " ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id"
    )


def record(session: Session, table: Table, consumer: str, event: dict) -> None:
    """Insert the processed-event row; a concurrent duplicate fails the commit on the primary key."""
    session.execute(
        table.insert().values(
            consumer=consumer, event_id=event["id"], event_type=event["type"], processed_at=datetime.now(UTC)
        )
    )
