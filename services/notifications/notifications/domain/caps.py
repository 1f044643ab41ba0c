"""SMS caps as counters (sms_counters): per recipient per local day and per minute, per community per local day.

Read and locked in one statement, raised for what a claim takes, lowered when a claim ends without a message
accepted by a provider: a cap check costs the same whatever the day's volume."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import case, delete, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from guanjia.db import as_utc

from ..models import SmsCounter
from .quiet_hours import local_day_start

RECIPIENT_DAY, RECIPIENT_MINUTE, COMMUNITY_DAY = "recipient_day", "recipient_minute", "community_day"
COUNTER_DAYS_KEPT = 2  # older windows are never read again


def cap_windows(recipient_id: str, community_id: str | None, at: datetime, timezone: str) -> list[tuple]:
    """The counters a message claimed at `at` counts in: (scope, key, window start)."""
    day = local_day_start(at, timezone)
    windows = [(RECIPIENT_DAY, recipient_id, day), (RECIPIENT_MINUTE, recipient_id, minute_start(at))]
    if community_id:
        windows.append((COMMUNITY_DAY, community_id, day))
    return windows


def minute_start(at: datetime) -> datetime:
    """The start of the UTC minute holding `at` (the per-minute window)."""
    return as_utc(at).replace(second=0, microsecond=0)


# On PostgreSQL the counters move in statements of a fixed text with array parameters (compiled and planned once,
# whatever the batch size); SQLite (embedded) gets the same statements built by SQLAlchemy.
_PG_UPSERT = text(
    "INSERT INTO sms_counters (scope, key, window_start, count)"
    " SELECT * FROM unnest(CAST(:scopes AS varchar[]), CAST(:keys AS varchar[]),"
    " CAST(:windows AS timestamptz[]), CAST(:counts AS integer[]))"
    " ON CONFLICT (scope, key, window_start) DO UPDATE SET count = sms_counters.count + EXCLUDED.count"
    " RETURNING scope, key, count"
)
_PG_RELEASE = text(
    "UPDATE sms_counters SET count = GREATEST(sms_counters.count - r.amount, 0)"
    " FROM unnest(CAST(:scopes AS varchar[]), CAST(:keys AS varchar[]),"
    " CAST(:windows AS timestamptz[]), CAST(:counts AS integer[])) AS r(scope, key, window_start, amount)"
    " WHERE sms_counters.scope = r.scope AND sms_counters.key = r.key AND sms_counters.window_start = r.window_start"
)


def _arrays(deltas: dict[tuple, int]) -> dict:
    # In the order of the keys, so that two dispatchers lock shared counters in the same order (no deadlock).
    items = sorted(deltas.items())
    return {
        "scopes": [scope for (scope, _, _), _ in items],
        "keys": [key for (_, key, _), _ in items],
        "windows": [as_utc(window) for (_, _, window), _ in items],
        "counts": [delta for _, delta in items],
    }


def _upsert(session: Session, deltas: dict[tuple, int]) -> dict[tuple, int]:
    """Add `deltas` (≥ 0) to the counters, creating missing ones: {(scope, key): new count}."""
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(_PG_UPSERT, _arrays(deltas))
    else:
        table = SmsCounter.__table__
        insert = sqlite.insert(table).values(
            [
                {"scope": scope, "key": key, "window_start": window, "count": delta}
                for (scope, key, window), delta in sorted(deltas.items())
            ]
        )
        statement = insert.on_conflict_do_update(
            index_elements=[table.c.scope, table.c.key, table.c.window_start],
            set_={"count": table.c.count + insert.excluded.count},
        )
        rows = session.execute(statement.returning(table.c.scope, table.c.key, table.c.count))
    return {(row.scope, row.key): row.count for row in rows}


def lock_caps(session: Session, windows: set[tuple]) -> dict[tuple, int]:
    """The current counts of `windows`, {(scope, key): count}, each counter row locked until this transaction
    ends (created at 0 when missing): one statement whatever the day's volume."""
    return _upsert(session, dict.fromkeys(windows, 0)) if windows else {}


def add_caps(session: Session, claimed: Counter) -> None:
    """What a claim takes counts in its windows."""
    if claimed:
        _upsert(session, dict(claimed))


def release_caps(session: Session, released: Counter) -> None:
    """A claim that ended without a message accepted by a provider stops counting (never below 0)."""
    if not released:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_PG_RELEASE, _arrays(dict(released)))
        return
    table = SmsCounter.__table__
    for (scope, key, window), amount in sorted(released.items()):
        lowered = case((table.c.count > amount, table.c.count - amount), else_=0)
        match = (table.c.scope == scope) & (table.c.key == key) & (table.c.window_start == window)
        session.execute(update(table).where(match).values(count=lowered))


def forget_old_caps(session: Session, now: datetime) -> None:
    """Windows older than COUNTER_DAYS_KEPT are never read again."""
    session.execute(delete(SmsCounter).where(SmsCounter.window_start < now - timedelta(days=COUNTER_DAYS_KEPT)))
