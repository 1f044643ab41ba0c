"""Database engines and sessions: SQLite (WAL) when embedded, PostgreSQL (psycopg 3) when distributed."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Boolean, DateTime, create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeDecorator


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


def is_postgres(engine_or_session) -> bool:
    bind = engine_or_session.get_bind() if isinstance(engine_or_session, Session) else engine_or_session
    return bind.dialect.name == "postgresql"


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine for `url`; creates the SQLite folder and switches SQLite to WAL."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # WAL lets the relay and consumer threads read while a request writes.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # BEGIN IMMEDIATE: take the write lock up front so two writers queue instead of deadlocking.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        @event.listens_for(engine, "connect")
        def _no_pysqlite_autobegin(dbapi_conn, _record):
            dbapi_conn.isolation_level = None

        return engine
    engine = create_engine(url, pool_size=pool_size, max_overflow=20)
    _ping_after_idle(engine)
    return engine


IDLE_PING_SECONDS = 10.0


def _ping_after_idle(engine: Engine) -> None:
    """Ping a pooled connection before use only when it sat idle for IDLE_PING_SECONDS (a database restart or a
    dropped connection is likely to have gone unnoticed then), not on every checkout as `pool_pre_ping` does: that
    is a round trip per request, 4–6 % of creating a ticket. A connection that breaks while in use still fails
    that request, and SQLAlchemy then discards the whole pool, as it does with pre-ping."""
    import time

    from sqlalchemy import exc

    @event.listens_for(engine, "checkin")
    def _note_idle(_dbapi_conn, record):
        record.info["guanjia_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn, record, _proxy):
        idle_since = record.info.get("guanjia_idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            dbapi_conn.execute("SELECT 1")
            dbapi_conn.rollback()
        except Exception as error:
            # The pool replaces this connection with a fresh one and checks out again.
            raise exc.DisconnectionError(str(error)[:200]) from error


class Database:
    """An engine plus its session factory; `with db.transaction() as s:` commits or rolls back."""

    def __init__(self, url: str, *, pool_size: int = 10):
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self):
        with self.sessionmaker() as session, session.begin():
            yield session

    @contextmanager
    def core_transaction(self):
        """One transaction on a plain Core connection (committed, or rolled back on an error, at the end): for a hot
        path that does its SQL in its own statements and needs no unit of work — an ORM Session's own set-up, commit
        and close cost ~60 µs a transaction. Where such a path needs the ORM after all, `joined_session`."""
        with self.engine.begin() as conn:
            yield conn

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def joined_session(conn: Connection):
    """An ORM Session inside `conn`'s transaction, flushed at the end; it never commits that transaction (whoever
    began it does), and an error it meets rolls the whole of it back. PostgreSQL only: the outbox's wake-up there is
    a NOTIFY delivered at the connection's commit, while on SQLite it waits for the Session's own commit."""
    with Session(bind=conn, expire_on_commit=False, join_transaction_mode="rollback_only") as session:
        yield session
        session.flush()


# PostgreSQL's answers to two transactions that got in each other's way (deadlock detected, serialization failure):
# the transaction was rolled back and the same work done again succeeds — not an outage.
CONFLICT_SQLSTATES = frozenset({"40P01", "40001"})


def is_conflict(exc: BaseException) -> bool:
    """True when `exc` (a SQLAlchemy error or what it wraps) is a deadlock or a serialization failure."""
    orig = getattr(exc, "orig", exc)
    return getattr(orig, "sqlstate", None) in CONFLICT_SQLSTATES


def retried_on_conflict(work: Callable[[], Any], *, attempts: int = 3) -> Any:
    """`work()` — one whole transaction — done again when PostgreSQL rolled it back for a conflict with another
    (e.g. a request upserting rows a consumer's batch holds, each in its own order); anything else propagates."""
    for attempt in range(attempts):
        try:
            return work()
        except Exception as exc:
            if attempt == attempts - 1 or not is_conflict(exc):
                raise
    raise AssertionError("unreachable")


def upgrade(url: str, migrations_dir: Path, revision: str = "head") -> None:
    """Run a service's Alembic migrations (`guanjia migrate`, the embedded start-up, the tests)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    command.upgrade(cfg, revision)


def ensure_postgres_database(url: str) -> None:
    """Create the database named in `url` if the server lacks it (run-distributed, tests)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}).scalar()
            if not exists:
                conn.exec_driver_sql(f'CREATE DATABASE "{parsed.database}"')
    finally:
        admin.dispose()


def drop_postgres_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    finally:
        admin.dispose()


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_time(value: str) -> datetime:
    """An ISO 8601 time from an event or another service (trailing Z accepted)."""
    return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))


class UtcDateTime(TypeDecorator):
    """A timestamp column that stores and returns UTC on every database: the one type of every time column.

    SQLite has no time zone: a `09:00+08:00` written as is comes back as `09:00` (read as UTC, 8 hours off),
    and a filter compares the local wall-clock text. Normalising every bound value to UTC (a naive one is
    taken as UTC already) makes SQLite and PostgreSQL store, compare and return the same instant."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return as_utc(value) if isinstance(value, datetime) else value

    def process_result_value(self, value, dialect):
        if isinstance(value, str):  # a value SQLite computed (func.max over text) comes back unparsed
            value = datetime.fromisoformat(value)
        return as_utc(value) if isinstance(value, datetime) else value


def bulk_insert(session: Session, table, rows: list[dict]) -> None:
    """Insert many rows in the caller's transaction: PostgreSQL COPY on the session's own connection (a billing run
    writes hundreds of thousands), else executemany. `table` is a Table or a mapped class."""
    if not rows:
        return
    table = getattr(table, "__table__", table)
    if not is_postgres(session):
        session.execute(table.insert(), rows)
        return
    columns = list(rows[0])
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cursor:
        names = ", ".join(f'"{c}"' for c in columns)
        with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy_:
            for row in rows:
                copy_.write_row([row[c] for c in columns])


class CopyTarget(NamedTuple):
    """Where `copy_rows` writes: a table (or mapped class), the columns its row tuples hold in this order, and what
    to do once rows were written in the transaction (the outbox's batch wakes its relay)."""

    table: Any
    columns: tuple[str, ...]
    written: Callable[[Session], None] | None = None


_DONE = object()


def copy_rows(session: Session, targets: Sequence[CopyTarget], items: Iterable[Sequence], *, batch: int = 2000):
    """Insert the rows `items` yields — each item one sequence of row tuples per target, in `targets` order — in the
    caller's transaction, and return how many rows each target got.

    PostgreSQL: one COPY per target and batch of items (up to `batch`), and the next batch is built *while* the
    current one is written: items are pulled from their iterator between the rows sent, so Python builds rows
    while the server stores those before them (one connection holds one COPY at a time: the targets take turns
    per batch).
    `items` must therefore not use the session. Elsewhere (SQLite): one executemany per target."""
    tables = [getattr(target.table, "__table__", target.table) for target in targets]
    counts = [0] * len(targets)
    items = iter(items)
    if not is_postgres(session):
        pending: list[list] = [[] for _ in targets]
        for item in items:
            for rows, extra in zip(pending, item, strict=True):
                rows.extend(extra)
        for k, (table, target, rows) in enumerate(zip(tables, targets, pending, strict=True)):
            bulk_insert(session, table, [dict(zip(target.columns, row, strict=True)) for row in rows])
            counts[k] = len(rows)
        _copied(session, targets, counts)
        return counts
    statements = [
        'COPY "{}" ({}) FROM STDIN'.format(table.name, ", ".join(f'"{c}"' for c in target.columns))
        for table, target in zip(tables, targets, strict=True)
    ]
    raw = session.connection().connection.driver_connection

    def take(into: list[list]) -> bool:
        item = next(items, _DONE)
        if item is _DONE:
            return False
        for rows, extra in zip(into, item, strict=True):
            rows.extend(extra)
        return True

    def fill(into: list[list], count: int) -> bool:
        """Build `count` more items into `into`; False once the items ran out."""
        return all(take(into) for _ in range(count))

    # The first batch is built before anything is sent, the one part not overlapped: small, then doubling to `batch`.
    size = max(1, batch // 8)
    current: list[list] = [[] for _ in targets]
    more = fill(current, size)
    with raw.cursor() as cursor:
        while more or any(current):
            size = min(batch, size * 2)
            upcoming: list[list] = [[] for _ in targets]
            wanted = size if more else 0
            # One item built every `every` rows written spreads the next batch's building over this batch's COPYs.
            every = max(1, sum(map(len, current)) // max(1, wanted))
            built = written = 0
            for k, (statement, rows) in enumerate(zip(statements, current, strict=True)):
                if not rows:
                    continue
                counts[k] += len(rows)
                with cursor.copy(statement) as copy_:
                    write = copy_.write_row
                    for row in rows:
                        write(row)
                        written += 1
                        if built < wanted and written % every == 0:
                            if take(upcoming):
                                built += 1
                            else:
                                more, wanted = False, built
            if built < wanted:  # fewer rows than items (units that got nothing): the rest of the batch is built now
                more = fill(upcoming, wanted - built)
            current = upcoming
    _copied(session, targets, counts)
    return counts


def _copied(session: Session, targets: Sequence[CopyTarget], counts: list[int]) -> None:
    for target, count in zip(targets, counts, strict=True):
        if count and target.written is not None:
            target.written(session)


def insert_if_absent(session: Session, table, values: dict, *, index_elements=None) -> bool:
    """INSERT … ON CONFLICT DO NOTHING on PostgreSQL and SQLite alike: True if this statement inserted the row,
    False if it was there already (another worker or request wrote it first). `table` is a Table or a mapped
    class; `index_elements` names the unique columns to conflict on (default: any unique constraint)."""
    return bool(insert_many_if_absent(session, table, [values], index_elements=index_elements))


def insert_many_if_absent(session: Session, table, rows: list[dict], *, index_elements=None) -> set:
    """`insert_if_absent` for many rows (SQLAlchemy's insertmanyvalues: one compiled statement, a round trip per
    1,000 rows): the primary keys (tuples for a composite key) of the rows this call inserted (those already there — written by another worker
    first — are left out)."""
    from sqlalchemy.dialects import postgresql, sqlite

    if not rows:
        return set()
    table = getattr(table, "__table__", table)
    insert = postgresql.insert if is_postgres(session) else sqlite.insert
    keys = list(table.primary_key.columns)
    statement = insert(table).on_conflict_do_nothing(index_elements=index_elements).returning(*keys)
    found = session.execute(statement, rows).all()
    # A one-column key comes back as its values; a composite key (due_notices) as tuples.
    return {row[0] for row in found} if len(keys) == 1 else {tuple(row) for row in found}


class InSelected(ColumnElement):
    """`column IN (subquery)` that PostgreSQL can serve with the column's index inside an OR.

    PostgreSQL plans `x IN (SELECT …)` under an OR as a filter over every candidate row (a hashed subplan); written
    `x = ANY(ARRAY(SELECT …))` the subquery runs once first and the column's index joins a BitmapOr with the other
    arms (a trigram index, say). Elsewhere (SQLite) it is the plain IN.
    """

    inherit_cache = True
    type = Boolean()
    # Both parts are in the statement's cache key (another column or subquery is another compiled form).
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("subquery", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column, subquery):
        self.column, self.subquery = column, subquery


@compiles(InSelected)
def _in_selected(element, compiler, **kw):
    return f"{compiler.process(element.column, **kw)} IN ({compiler.process(element.subquery, **kw)})"


@compiles(InSelected, "postgresql")
def _in_selected_postgres(element, compiler, **kw):
    return f"{compiler.process(element.column, **kw)} = ANY(ARRAY({compiler.process(element.subquery, **kw)}))"


def in_selected(column, subquery) -> InSelected:
    return InSelected(column, subquery)
