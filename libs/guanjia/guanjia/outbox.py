"""Transactional outbox: event rows written in the business transaction, and the relay that publishes them."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime

from sqlalchemy import Column, Index, Integer, MetaData, String, Table, Text, event, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from . import db as dbmod
from . import events, tracing
from .db import UtcDateTime
from .logging import current_request_id

log = logging.getLogger("guanjia.outbox")
NOTIFY_CHANNEL = "guanjia_outbox"

# In embedded mode the relay thread waits on one of these; a commit that wrote outbox rows sets it.
_wakeups: dict[str, threading.Event] = {}
_wakeups_lock = threading.Lock()


def wakeup_for(url: str) -> threading.Event:
    with _wakeups_lock:
        return _wakeups.setdefault(url, threading.Event())


def define_outbox(metadata: MetaData) -> Table:
    """The outbox table in a service's own database (each service calls this from models.py)."""
    return Table(
        "outbox",
        metadata,
        Column("id", String(36), primary_key=True),  # the event id
        Column("event_type", String(100), nullable=False),
        Column("payload", Text, nullable=False),  # the whole CloudEvent as JSON
        Column("created_at", UtcDateTime(), nullable=False),
        Column("published_at", UtcDateTime(), nullable=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("last_error", Text, nullable=True),
        Index(
            "ix_outbox_unpublished",
            "created_at",
            postgresql_where=text("published_at IS NULL"),
            sqlite_where=text("published_at IS NULL"),
        ),
    )


def add(session: Session, table: Table, event_dict: dict) -> None:
    """Write `event_dict` into the outbox inside the caller's transaction; the relay is woken on commit."""
    session.execute(
        table.insert().values(
            id=event_dict["id"],
            event_type=event_dict["type"],
            payload=json.dumps(event_dict, ensure_ascii=False),
            created_at=datetime.now(UTC),
            attempts=0,
        )
    )
    if dbmod.is_postgres(session):
        # Delivered to LISTENers only when this transaction commits, never on rollback.
        session.execute(text("SELECT pg_notify(:ch, '')"), {"ch": NOTIFY_CHANNEL})
    else:
        session.info["guanjia_outbox_url"] = str(session.get_bind().url)


def add_many(session: Session, table: Table, event_dicts: list[dict], chunk: int = 5000) -> None:
    """`add` for a bulk operation (an import of thousands of rows): multi-row inserts and one wake-up."""
    if not event_dicts:
        return
    now = datetime.now(UTC)
    rows = [
        {
            "id": e["id"],
            "event_type": e["type"],
            "payload": json.dumps(e, ensure_ascii=False),
            "created_at": now,
            "attempts": 0,
        }
        for e in event_dicts
    ]
    for start in range(0, len(rows), chunk):
        session.execute(table.insert(), rows[start : start + chunk])
    if dbmod.is_postgres(session):
        session.execute(text("SELECT pg_notify(:ch, '')"), {"ch": NOTIFY_CHANNEL})
    else:
        session.info["guanjia_outbox_url"] = str(session.get_bind().url)


def emit(
    session: Session,
    table: Table,
    settings,
    *,
    type: str,
    subject: str,
    data: dict,
    community: str | None = None,
    version: int = 1,
) -> dict:
    """Build a CloudEvent from this service's settings and the current request, and add it to the outbox."""
    event_dict = events.build(
        type=type,
        source=settings.source,
        subject=subject,
        data=data,
        city=settings.city,
        community=community,
        correlationid=current_request_id(),
        traceparent=tracing.current(),
        version=version,
    )
    add(session, table, event_dict)
    return event_dict


@event.listens_for(Session, "after_commit")
def _wake_embedded_relay(session: Session) -> None:
    url = session.info.pop("guanjia_outbox_url", None)
    if url:
        wakeup_for(url).set()


@event.listens_for(Session, "after_rollback")
def _forget_on_rollback(session: Session) -> None:
    session.info.pop("guanjia_outbox_url", None)


def backlog(session: Session, table: Table) -> tuple[int, float | None]:
    """Unpublished rows and the age in seconds of the oldest (for /metrics and the operators)."""
    row = session.execute(
        select(text("count(*)"), text("min(created_at)")).select_from(table).where(table.c.published_at.is_(None))
    ).one()
    oldest = row[1]
    if oldest is None:
        return row[0], None
    if isinstance(oldest, str):
        oldest = datetime.fromisoformat(oldest)
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return row[0], (datetime.now(UTC) - oldest).total_seconds()


class OutboxRelay:
    """Publishes unpublished outbox rows with publisher confirms; marks a row sent only after its confirm."""

    def __init__(
        self, database: dbmod.Database, table: Table, publisher, *, batch_size: int = 200, poll_seconds: float = 5.0
    ):
        self.database = database
        self.table = table
        self.publisher = publisher
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.postgres = dbmod.is_postgres(database.engine)

    def publish_pending(self) -> int:
        """One pass: claim a batch (SKIP LOCKED on PostgreSQL), publish, mark sent. Returns rows published."""
        published = 0
        while True:
            with self.database.transaction() as session:
                query = (
                    select(self.table.c.id, self.table.c.event_type, self.table.c.payload)
                    .where(self.table.c.published_at.is_(None))
                    .order_by(self.table.c.created_at)
                    .limit(self.batch_size)
                )
                if self.postgres:
                    query = query.with_for_update(skip_locked=True)
                rows = session.execute(query).all()
                if not rows:
                    return published
                sent_ids = []
                error = None
                for row in rows:
                    try:
                        self.publisher.publish(json.loads(row.payload))
                    except Exception as exc:
                        error = exc
                        session.execute(
                            update(self.table)
                            .where(self.table.c.id == row.id)
                            .values(attempts=self.table.c.attempts + 1, last_error=str(exc)[:500])
                        )
                        break
                    sent_ids.append(row.id)
                # Commit what was confirmed even when a later row failed, so it is not published twice.
                self._mark_sent(session, sent_ids)
                published += len(sent_ids)
            self._count([row.event_type for row in rows[: len(sent_ids)]])
            if error is not None:
                raise error
            if len(rows) < self.batch_size:
                return published

    def _count(self, event_types: list[str]) -> None:
        settings = getattr(self.publisher, "settings", None)
        if settings is None:
            return
        from .metrics import EVENTS_PUBLISHED

        for event_type in event_types:
            EVENTS_PUBLISHED.labels(settings.service, event_type).inc()

    def _mark_sent(self, session: Session, ids: list[str]) -> None:
        if ids:
            session.execute(update(self.table).where(self.table.c.id.in_(ids)).values(published_at=datetime.now(UTC)))

    def run(self, stop: threading.Event) -> None:
        """Loop until `stop`: publish, then wait for a commit signal (or the slow safety poll)."""
        waiter = _PostgresWaiter(self.database.url) if self.postgres else _EmbeddedWaiter(self.database.url)
        # Listen before the first pass: a commit between the pass and LISTEN would otherwise wait for the poll.
        waiter.prepare()
        backoff = 0.5
        try:
            while not stop.is_set():
                try:
                    self.publish_pending()
                    backoff = 0.5
                except Exception as exc:  # broker down, confirm nack/timeout, database hiccup
                    log.warning("outbox relay could not publish, will retry", extra={"error": str(exc)})
                    self.publisher.reset()
                    stop.wait(backoff)
                    backoff = min(backoff * 2, 10.0)
                    continue
                waiter.wait(self.poll_seconds, stop)
        finally:
            waiter.close()
            self.publisher.close()


class _EmbeddedWaiter:
    def __init__(self, url: str):
        self.event = wakeup_for(url)

    def prepare(self) -> None:
        self.event.clear()

    def wait(self, timeout: float, stop: threading.Event) -> None:
        deadline = timeout
        while deadline > 0 and not stop.is_set():
            if self.event.wait(min(0.5, deadline)):
                break
            deadline -= 0.5
        self.event.clear()

    def close(self) -> None:
        pass


class _PostgresWaiter:
    """LISTEN on the outbox channel with a dedicated autocommit connection."""

    def __init__(self, url: str):
        self.dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.conn = None

    def _connect(self):
        import psycopg

        self.conn = psycopg.connect(self.dsn, autocommit=True)
        self.conn.execute(f"LISTEN {NOTIFY_CHANNEL}")

    def prepare(self) -> None:
        try:
            self._connect()
        except Exception as exc:
            log.warning("outbox LISTEN connection failed", extra={"error": str(exc)})
            self.conn = None

    def wait(self, timeout: float, stop: threading.Event) -> None:
        try:
            if self.conn is None or self.conn.closed:
                self._connect()
                return  # notifications may have been missed while disconnected: do a pass now
            remaining = timeout
            # Wake in short slices so `stop` is honoured promptly.
            while remaining > 0 and not stop.is_set():
                slice_ = min(1.0, remaining)
                for _ in self.conn.notifies(timeout=slice_, stop_after=1):
                    return
                remaining -= slice_
        except Exception as exc:
            log.warning("outbox LISTEN connection lost", extra={"error": str(exc)})
            self.close()
            stop.wait(min(timeout, 1.0))

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
            self.conn = None
