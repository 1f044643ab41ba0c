"""Idempotent commands: a POST with an Idempotency-Key replays its first response; another body is 422."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, select, text
from sqlalchemy.orm import Session

from .db import UtcDateTime, is_postgres
from .errors import Invalid


def define_idempotency(metadata: MetaData) -> Table:
    return Table(
        "idempotency_keys",
        metadata,
        Column("subject", String(100), primary_key=True),  # keys are per caller
        Column("key", String(200), primary_key=True),
        Column("request_hash", String(64), nullable=False),
        Column("status", Integer, nullable=False),
        Column("body", Text, nullable=False),
        Column("created_at", UtcDateTime(), nullable=False),
    )


def request_hash(payload) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def lookup(session: Session, table: Table, subject: str, key: str, payload_hash: str) -> tuple[int, dict] | None:
    """The stored (status, body) of a replay; Invalid (422) when the key was used with another body.

    On PostgreSQL the caller's key is first locked for the rest of the transaction: a retry arriving while the
    first request still runs (a double click) waits for it and replays its answer, instead of running the command
    again against what the first one changed (a payment would find its bills paid and be refused)."""
    if is_postgres(session):  # the request's Session, or its plain connection (Database.core_transaction)
        digest = hashlib.sha256(f"{table.name}\0{subject}\0{key}".encode()).digest()
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": int.from_bytes(digest[:8], "big", signed=True)})
    row = session.execute(select(table).where(table.c.subject == subject, table.c.key == key)).first()
    if row is None:
        return None
    if row.request_hash != payload_hash:
        raise Invalid("Idempotency-Key", "already used with a different request body")
    return row.status, json.loads(row.body)


def remember(
    session: Session, table: Table, subject: str, key: str, payload_hash: str, status: int, body: dict
) -> None:
    """Store the response in the same transaction as the effect it describes."""
    session.execute(
        table.insert().values(
            subject=subject,
            key=key,
            request_hash=payload_hash,
            status=status,
            body=json.dumps(body, ensure_ascii=False, default=str),
            created_at=datetime.now(UTC),
        )
    )
