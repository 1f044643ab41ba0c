"""Inbox: the ids of events a consumer has applied, written in the same transaction as the effect."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, MetaData, String, Table, select
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
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(table)
        .values(consumer=consumer, event_id=event["id"], event_type=event["type"], processed_at=datetime.now(UTC))
        .on_conflict_do_nothing(index_elements=[table.c.consumer, table.c.event_id])
        .returning(table.c.event_id)
    )
    return session.execute(statement).first() is not None


def record(session: Session, table: Table, consumer: str, event: dict) -> None:
    """Insert the processed-event row; a concurrent duplicate fails the commit on the primary key."""
    session.execute(
        table.insert().values(
            consumer=consumer, event_id=event["id"], event_type=event["type"], processed_at=datetime.now(UTC)
        )
    )
