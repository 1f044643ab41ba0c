"""Transactional outbox: event rows written in the business transaction, and the relay that publishes them."""

from __future__ import annotations

import functools
import logging
import operator
import sys
import threading
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import (
    ARRAY,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    event,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session

from . import db as dbmod
from . import events, tracing
from .db import UtcDateTime
from .logging import current_request_id

log = logging.getLogger("guanjia.outbox")
NOTIFY_CHANNEL = "guanjia_outbox"
_NOTIFIED = "guanjia_outbox_notified"  # session.info: this transaction has sent its NOTIFY

# Every payload written is checked by this when set: the test plugin (guanjia.testing) sets it to validate the data
# against the producer's published schema (`<service>.events.PUBLISHED`). Production leaves it unset: a billing
# run writes 100,000 events at COPY speed, and the producers' tests have checked each path that writes them.
payload_check: Callable[[dict], None] | None = None

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


def encode(event_dict: dict) -> str:
    """The stored JSON of an event (compact UTF-8, published as it is): orjson, 10× cheaper than json.dumps."""
    return orjson.dumps(event_dict).decode("utf-8")


def add(session: Session, table: Table, event_dict: dict) -> None:
    """Write `event_dict` into the outbox inside the caller's transaction; the relay is woken on commit."""
    row = _row(event_dict, datetime.now(UTC))
    session.execute(table.insert(), row)  # parameters apart from the statement: one cached compiled form
    _wake_relay(session)


def insert_sql(
    session: Session | Connection, table: Table, event_dicts: list[dict], prefix: str = "ob"
) -> tuple[str, str, dict]:
    """PostgreSQL: the outbox rows of `event_dicts` as pieces of the caller's one statement (a data-modifying CTE):
    (`INSERT INTO outbox … VALUES …` with named parameters `:<prefix><i>_<column>`, the `pg_notify(…)` expression
    that wakes the relay at commit — or `NULL` when this transaction has notified already — and the parameters).
    The rows are those `add` writes (the same `_row`, checked the same way); the caller puts the notify expression
    in its statement's select list, so the relay is woken exactly as after `add`."""
    params: dict = {}
    values = []
    created_at = datetime.now(UTC)
    for i, event_dict in enumerate(event_dicts):
        names = {column: f"{prefix}{i}_{column}" for column in _ROW_COLUMNS}
        # The relay publishes in created_at order: each row a microsecond after the one before, as if added one by
        # one, so the events of one statement go out in the caller's order (ticket.created before ticket.assigned).
        params.update({names[column]: value for column, value in _row(event_dict, created_at).items()})
        created_at += timedelta(microseconds=1)
        values.append(
            f"(:{names['id']}, :{names['event_type']}, :{names['payload']}, "
            f"CAST(:{names['created_at']} AS timestamptz), :{names['attempts']})"
        )
    sql = f"INSERT INTO {table.name} ({', '.join(_ROW_COLUMNS)}) VALUES {', '.join(values)}"
    notify = "NULL"
    if event_dicts and _first_notify(session):
        notify, params[f"{prefix}_channel"] = f"pg_notify(:{prefix}_channel, '')", NOTIFY_CHANNEL
    return sql, notify, params


def _first_notify(tx: Session | Connection) -> bool:
    """Whether a statement about to run in this transaction sends the relay's NOTIFY. A Session's transaction sends
    it once (remembered in `info`, forgotten when the transaction ends); on a plain Connection every statement does
    — its `info` is the pooled connection's and outlives the transaction — and PostgreSQL delivers the same
    notification sent twice in one transaction once."""
    if not isinstance(tx, Session):
        return True
    if tx.info.get(_NOTIFIED):
        return False
    tx.info[_NOTIFIED] = True
    return True


_ROW_COLUMNS = ("id", "event_type", "payload", "created_at", "attempts")
_row_values = operator.itemgetter(*_ROW_COLUMNS)  # a row's values in `_ROW_COLUMNS` order (what COPY writes)


def _row(event_dict: dict, created_at: datetime) -> dict:
    """The outbox row of one event (checked first when the test plugin set `payload_check`)."""
    if payload_check is not None:
        payload_check(event_dict)
    return {
        "id": event_dict["id"],
        "event_type": event_dict["type"],
        "payload": encode(event_dict),
        "created_at": created_at,
        "attempts": 0,
    }


def emit(session: Session, table: Table, settings, **event) -> dict:
    """Build a CloudEvent from this service's settings and the current request (or consumed event) — `event` is
    what `build` takes: type, subject, data, community, version, time — and add it to the outbox."""
    event_dict = build(settings, **event)
    add(session, table, event_dict)
    return event_dict


def build(
    settings,
    *,
    type: str,
    subject: str,
    data: dict,
    community: str | None = None,
    version: int = 1,
    time: datetime | None = None,
) -> dict:
    """The CloudEvent `emit` writes, not yet written (for a caller that writes its rows in its own statement,
    `insert_sql`). `time` is the caller's clock (a job run with an explicit `now`); the wall clock otherwise."""
    return events.build(
        type=type,
        source=settings.source,
        subject=subject,
        data=data,
        city=settings.city,
        community=community,
        correlationid=current_request_id(),
        traceparent=tracing.current(),
        version=version,
        time=time,
        dataschema_url=events.schema_url(settings, type, version),
    )


SMALL_BATCH = 100  # up to this many rows a Batch flushes with one INSERT, more with COPY


@functools.cache
def _small_batch_insert(table_name: str, notify: bool):
    """`Batch.flush`'s INSERT of a few rows (arrays as parameters: one text whatever their number); with `notify`,
    the relay's NOTIFY is sent by the same statement (a one-row join evaluated once)."""
    sql = (
        f"INSERT INTO {table_name} (id, event_type, payload, created_at, attempts)"
        " SELECT u.id, u.event_type, u.payload, CAST(:created_at AS timestamptz), 0"
        " FROM unnest(CAST(:ids AS varchar[]), CAST(:types AS varchar[]), CAST(:payloads AS text[]))"
        " AS u(id, event_type, payload)"
    )
    if notify:
        sql += " CROSS JOIN (SELECT pg_notify(:channel, '')) AS n"
    return text(sql).bindparams(bindparam("created_at", type_=UtcDateTime()))


class Batch:
    """Many events of one type from one bulk operation (a billing run, an import, an overdue scan), written in one
    statement per flush. The envelope — source, city, correlation id, traceparent, the caller's time — is built
    and validated once by `events.build`, as `emit` builds it; each event then has its own id, subject,
    community and data."""

    def __init__(self, table: Table, settings, type: str, *, time: datetime | None = None, version: int = 1):
        self.table = table
        self.created_at = time or datetime.now(UTC)
        self.template = events.build(
            type=type,
            source=settings.source,
            subject="batch/1",
            data={},
            city=settings.city,
            correlationid=current_request_id(),
            traceparent=tracing.current(),
            version=version,
            time=self.created_at,
            dataschema_url=events.schema_url(settings, type, version),
        )
        self.rows: list[dict] = []

    def add(self, *, subject: str, data: dict, community: str | None = None, id: str | None = None) -> dict:
        event_dict = self._event(subject, data, community, id)
        self.rows.append(_row(event_dict, self.created_at))
        return event_dict

    def row(self, *, subject: str, data: dict, community: str | None = None, id: str | None = None) -> tuple:
        """The outbox row of one more event, not kept: for a caller that streams it with its own rows through
        `db.copy_rows` to `self.target` (the same event and row `add` makes; the relay is woken on commit)."""
        return _row_values(_row(self._event(subject, data, community, id), self.created_at))

    @property
    def target(self) -> dbmod.CopyTarget:
        """Where `db.copy_rows` writes the rows of `row`: this batch's outbox table, waking the relay once written."""
        return dbmod.CopyTarget(self.table, _ROW_COLUMNS, _wake_relay)

    def _event(self, subject: str, data: dict, community: str | None, id: str | None) -> dict:
        event_dict = {**self.template, "id": id or str(uuid.uuid4()), "subject": subject, "data": data}
        if community:
            event_dict["community"] = community
        return event_dict

    def flush(self, session: Session) -> int:
        """Write what was added, in the caller's transaction; the relay is woken on commit. On PostgreSQL a few
        rows (the dispatcher's record of a claim) are one INSERT that also sends the relay's NOTIFY, a round trip
        instead of COPY's two and the NOTIFY's one; more are COPY (a billing run's hundred thousand)."""
        count = len(self.rows)
        if not self.rows:
            return 0
        if dbmod.is_postgres(session) and count <= SMALL_BATCH:
            notify = _first_notify(session)
            values = {
                "ids": [row["id"] for row in self.rows],
                "types": [row["event_type"] for row in self.rows],
                "payloads": [row["payload"] for row in self.rows],
                "created_at": self.created_at,
            }
            if notify:
                values["channel"] = NOTIFY_CHANNEL
            session.connection().execute(_small_batch_insert(self.table.name, notify), values)
        else:
            dbmod.bulk_insert(session, self.table, self.rows)
            _wake_relay(session)
        self.rows = []
        return count

    def insert_selected(self, session: Session, ctes: str, params: dict) -> int:
        """PostgreSQL, set-based: one statement writes an outbox row for every row of the CTE named `events` at
        the end of `ctes` (columns: id, subject, community, data as json), the envelope merged in SQL. `ctes` may
        hold data-modifying CTEs before it (record what is sent in the same statement). Returns the rows written."""
        envelope = {k: v for k, v in self.template.items() if k not in ("id", "subject", "data")}
        sql = f"""
WITH {ctes},
written AS (
  INSERT INTO {self.table.name} (id, event_type, payload, created_at, attempts)
  SELECT e.id, CAST(:_outbox_type AS text),
         (CAST(:_outbox_envelope AS jsonb)
          || jsonb_build_object('id', e.id, 'subject', e.subject, 'data', e.data)
          || CASE WHEN e.community IS NULL THEN '{{}}'::jsonb ELSE jsonb_build_object('community', e.community) END
         )::text,
         CAST(:_outbox_created AS timestamptz), 0
  FROM events e
  RETURNING {"payload" if payload_check is not None else "1"}
)
SELECT {"payload" if payload_check is not None else "count(*)"} FROM written
"""
        values = {
            **params,
            "_outbox_type": self.template["type"],
            "_outbox_envelope": encode(envelope),
            "_outbox_created": self.created_at,
        }
        if payload_check is None:
            count = session.execute(text(sql), values).scalar_one()
        else:
            payloads = session.execute(text(sql), values).scalars().all()
            for payload in payloads:
                payload_check(orjson.loads(payload))
            count = len(payloads)
        if count:
            _wake_relay(session)
        return count


def _wake_relay(session: Session) -> None:
    """The relay learns of new rows when this transaction commits (never on rollback): PostgreSQL NOTIFY is
    delivered at commit; in embedded mode (SQLite) the relay thread's event is set after the commit."""
    if dbmod.is_postgres(session):
        # Once per transaction is enough: a second event in it would only cost another round trip.
        if _first_notify(session):
            session.execute(text("SELECT pg_notify(:ch, '')"), {"ch": NOTIFY_CHANNEL})
    else:
        session.info["guanjia_outbox_url"] = str(session.get_bind().url)


@event.listens_for(Session, "after_commit")
def _wake_embedded_relay(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released (a consumer's batch): the rows are committed with the transaction, later
    url = session.info.pop("guanjia_outbox_url", None)
    if url:
        wakeup_for(url).set()


@event.listens_for(Session, "after_rollback")
def _forget_on_rollback(session: Session) -> None:
    if session.in_nested_transaction():
        return  # one event's savepoint rolled back: the others' rows in the transaction are still to be published
    session.info.pop("guanjia_outbox_url", None)


@event.listens_for(Session, "after_transaction_end")
def _notify_again_in_the_next_transaction(session: Session, _transaction) -> None:
    # Also at the end of a savepoint: a NOTIFY made inside one that rolled back is gone, so notify again.
    session.info.pop(_NOTIFIED, None)


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


MAX_EVENT_BYTES = 4 * 1024 * 1024  # far below the broker's limit; an event is a few hundred bytes


def unpublishable(row) -> str | None:
    """Why a stored row cannot go out as it is (None when it can): checked cheaply, without re-encoding."""
    payload = row.payload
    if not isinstance(payload, str) or not payload.startswith("{"):
        return "payload is not a JSON object"
    if len(payload) > MAX_EVENT_BYTES:
        return f"payload larger than {MAX_EVENT_BYTES} bytes"
    try:
        event_dict = orjson.loads(payload)
    except ValueError as exc:
        return f"payload is not JSON: {exc}"[:300]
    if not isinstance(event_dict, dict) or event_dict.get("specversion") != "1.0":
        return "payload is not a CloudEvent 1.0"
    if event_dict.get("id") != row.id or event_dict.get("type") != row.event_type:
        return "payload id/type differ from the row's"
    if not isinstance(event_dict.get("data"), dict) or not event_dict.get("subject") or not event_dict.get("source"):
        return "payload lacks data, subject or source"
    return None


def dead_rows(session: Session, table: Table, max_attempts: int, limit: int = 100) -> list:
    """Rows set aside after `max_attempts` failed publishes (oldest first), with their last error."""
    query = (
        select(table.c.id, table.c.event_type, table.c.created_at, table.c.attempts, table.c.last_error)
        .where(table.c.published_at.is_(None), table.c.attempts >= max_attempts)
        .order_by(table.c.created_at)
        .limit(limit)
    )
    return session.execute(query).all()


def retry_dead(session: Session, table: Table, max_attempts: int, ids: list[str] | None = None) -> int:
    """Give set-aside rows (all, or `ids`) a fresh set of attempts: the relay picks them up again."""
    query = update(table).where(table.c.published_at.is_(None), table.c.attempts >= max_attempts)
    if ids is not None:
        query = query.where(table.c.id.in_(ids))
    return session.execute(query.values(attempts=0)).rowcount


class _Claimed:
    """A claimed batch: its open transaction (row locks held), its rows, and the publish awaiting confirms."""

    def __init__(self, stack: ExitStack, session: Connection, rows):
        self.stack = stack
        self.session = session
        self.rows = rows
        self.invalid: dict[str, str] = {}
        self.nacked: dict[str, str] = {}
        self.pending = None
        self.confirmed_before_failure: list[str] = []


class OutboxRelay:
    """Publishes unpublished outbox rows with publisher confirms; marks a row sent only after its confirm.

    Rows are claimed in batches and published as they are stored (the JSON written by `emit`), with confirms
    handled in windows. A row the broker nacks `max_attempts` times, or whose payload is not a publishable
    CloudEvent (at once), is set aside — left unpublished, its reason in `last_error` — and the rows behind go on.
    A broker or database outage spends no attempts: the relay backs off and retries until it is over."""

    def __init__(
        self,
        database: dbmod.Database,
        table: Table,
        publisher,
        *,
        batch_size: int = 1000,
        poll_seconds: float = 5.0,
        max_attempts: int = 5,
        window: int = 500,
    ):
        self.database = database
        self.table = table
        self.publisher = publisher
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.max_attempts = max_attempts
        self.window = window
        self.postgres = dbmod.is_postgres(database.engine)
        # A pass at the pipeline's pace claims a few rows: the statements are built once (fixed text with array
        # parameters on PostgreSQL), not composed, keyed and bound anew per pass.
        columns = (table.c.id, table.c.event_type, table.c.payload, table.c.attempts)
        if self.postgres:
            self._claim_statement = text(
                f"SELECT id, event_type, payload, attempts FROM {table.name}"
                f" WHERE published_at IS NULL AND attempts < {int(max_attempts)}"
                f" ORDER BY created_at LIMIT {int(batch_size)} FOR UPDATE SKIP LOCKED"
            ).columns(*columns)
            self._sent_statement = text(f"UPDATE {table.name} SET published_at = :now WHERE id = ANY(:ids)").bindparams(
                bindparam("now", type_=UtcDateTime()), bindparam("ids", type_=ARRAY(String))
            )
        else:
            self._claim_statement = (
                select(*columns)
                .where(table.c.published_at.is_(None), table.c.attempts < max_attempts)
                .order_by(table.c.created_at)
                .limit(batch_size)
            )
            self._sent_statement = (
                update(table)
                .where(table.c.id.in_(bindparam("ids", expanding=True)))
                .values(published_at=bindparam("now", type_=UtcDateTime()))
            )

    def publish_pending(self) -> int:
        """Claim batches (SKIP LOCKED on PostgreSQL), publish them, mark the confirmed rows sent. Returns rows sent.

        Two batches overlap: while the broker confirms one, the next is claimed and published, and the first is
        marked sent (only its confirmed rows) and committed — each in its own transaction, so the broker and the
        database work at the same time. A payload that cannot be published is set aside at once (it will not
        change by retrying); a nacked message spends one attempt, and the pass ends there so that it is not
        retried in a tight loop."""
        published = 0
        open_batches: list[_Claimed] = []
        try:
            previous = None
            while True:
                if previous is not None and not self.postgres:
                    # SQLite (embedded) has one writer and a synchronous memory:// broker: nothing to overlap.
                    published += self._commit(previous, open_batches)
                    if previous.nacked:
                        return published
                    previous = None
                current = self._claim_and_send(open_batches)
                stop = False
                if previous is not None:
                    published += self._commit(previous, open_batches)
                    stop = bool(previous.nacked)
                if current is None:
                    return published
                if stop or len(current.rows) < self.batch_size:
                    return published + self._commit(current, open_batches)
                previous = current
        except BaseException:
            # Commit what was confirmed even when the rest failed, so it is not published twice.
            for claimed in list(open_batches):
                try:
                    self._commit(claimed, open_batches, settle=False)
                except Exception as exc:
                    log.warning("outbox relay could not record confirms", extra={"error": str(exc)[:300]})
            raise

    def _claim_and_send(self, open_batches: list[_Claimed]) -> _Claimed | None:
        stack = ExitStack()
        # A plain connection: the relay needs no ORM unit of work, only its statements and one commit.
        session = stack.enter_context(self.database.engine.begin())
        try:
            rows = session.execute(self._claim()).all()
        except BaseException:
            stack.__exit__(*sys.exc_info())
            raise
        if not rows:
            stack.close()
            return None
        claimed = _Claimed(stack, session, rows)
        open_batches.append(claimed)
        items = []
        for row in rows:
            reason = unpublishable(row)
            if reason:
                claimed.invalid[row.id] = reason
            else:
                items.append((row.id, row.event_type, row.payload.encode("utf-8")))
        try:
            claimed.pending = self.publisher.send_batch(items, window=self.window)
        except Exception as exc:
            claimed.confirmed_before_failure = getattr(exc, "confirmed", [])
            raise
        return claimed

    def _commit(self, claimed: _Claimed, open_batches: list[_Claimed], *, settle: bool = True) -> int:
        """Record the batch's outcome and commit its transaction (raises a lost connection after committing)."""
        open_batches.remove(claimed)
        lost = None
        confirmed: list[str] = []
        nacked: dict[str, str] = {}
        if claimed.pending is not None:
            if settle:
                try:
                    confirmed, nacked = self.publisher.settle(claimed.pending)
                except Exception as exc:  # lost connection, confirm timeout: the confirmed part still counts
                    confirmed, lost = getattr(exc, "confirmed", []), exc
            else:
                confirmed = claimed.pending.confirmed_ids()
        else:
            confirmed = claimed.confirmed_before_failure
        claimed.nacked = nacked
        try:
            self._mark_sent(claimed.session, confirmed)
            self._mark_failed(claimed.session, nacked)
            self._mark_failed(claimed.session, claimed.invalid, set_aside=True)
        except BaseException:
            claimed.stack.__exit__(*sys.exc_info())
            raise
        claimed.stack.close()
        sent = set(confirmed)
        self._count([row.event_type for row in claimed.rows if row.id in sent])
        if claimed.invalid or nacked:
            self._report(claimed.rows, nacked, claimed.invalid)
        if lost is not None:
            raise lost
        return len(confirmed)

    def _claim(self):
        return self._claim_statement

    def _count(self, event_types: list[str]) -> None:
        settings = getattr(self.publisher, "settings", None)
        if settings is None:
            return
        from .metrics import EVENTS_PUBLISHED

        for event_type in event_types:
            EVENTS_PUBLISHED.labels(settings.service, event_type).inc()

    def _report(self, rows, nacked: dict[str, str], invalid: dict[str, str]) -> None:
        attempts = {row.id: row.attempts + 1 for row in rows}
        for row_id, reason in {**nacked, **invalid}.items():
            dead = row_id in invalid or attempts[row_id] >= self.max_attempts
            log.error(
                "outbox row set aside (dead)" if dead else "outbox row could not be published",
                extra={"event_id": row_id, "attempts": attempts[row_id], "error": reason[:200]},
            )

    def _mark_sent(self, session: Connection, ids: list[str]) -> None:
        if not ids:
            return
        # One array parameter on PostgreSQL rather than a thousand bound values to render and send.
        session.execute(self._sent_statement, {"ids": ids, "now": datetime.now(UTC)})

    def _mark_failed(self, session: Connection, failed: dict[str, str], *, set_aside: bool = False) -> None:
        if not failed:
            return  # the usual pass: nothing nacked, nothing unpublishable
        attempts = self.max_attempts if set_aside else self.table.c.attempts + 1
        for row_id, reason in failed.items():
            session.execute(
                update(self.table).where(self.table.c.id == row_id).values(attempts=attempts, last_error=reason[:500])
            )

    def run(self, stop: threading.Event) -> None:
        """Loop until `stop`: publish, then wait for a commit signal (or the slow safety poll)."""
        from .bus import jittered

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
                    log.warning("outbox relay could not publish, will retry", extra={"error": str(exc)[:300]})
                    self.publisher.reset()
                    stop.wait(jittered(backoff))
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
