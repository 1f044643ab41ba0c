"""SMS caps: the dispatcher's claim of a batch with 1,000 and with 100,000 SMS already sent today in the community.

    .venv/bin/python bench/notifications_caps.py [--sent 1000,100000] [--batch 200] [--repeats 30]
    (GUANJIA_BENCH_PG overrides the local PostgreSQL)

A scratch notifications database (migrated to head) holds `--sent` deliveries sent today in one community, with
their cap counters, and `--batch` pending deliveries due now (distinct recipients of the same community). Timed,
each in a transaction that is rolled back (so every repeat claims the same rows):

- floor: the claim's `SELECT … FOR UPDATE SKIP LOCKED` of the due rows alone, no cap at all;
- counters (now): the same select, then the caps read and locked as counters (one upsert) and raised for the
  batch (one upsert);
- counts (before): the same select, then the three `COUNT`s over the day's deliveries the claim used to run (per
  recipient per minute, per recipient per day, per community per day);
- and, for reference, the whole `domain.dispatch.claim_due` (marks the rows 'sending', builds the work items).

Prints medians (ms) and the ratio to the floor, with the load average: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import func, or_, select

from guanjia.db import Database, drop_postgres_database, ensure_postgres_database, upgrade
from notifications.config import SmsSettings
from notifications.domain import caps, dispatch, quiet_hours
from notifications.models import Delivery, SmsCounter

ROOT = Path(__file__).resolve().parent.parent
TZ = "Asia/Shanghai"


def _delivery(community: str, recipient: str, now: datetime, **values) -> dict:
    row = {
        "id": str(uuid.uuid4()),
        "event_id": str(uuid.uuid4()),
        "event_type": "fee.overdue",
        "kind": "event",
        "subject": f"bill/{uuid.uuid4()}",
        "community_id": community,
        "recipient_id": recipient,
        "recipient_kind": "resident",
        "channel": "sms",
        "locale": "zh-CN",
        "template": "fee_overdue",
        "variables": "{}",
        "urgent": False,
        "essential": True,
        "attempts": 0,
        "duplicate_risk": False,
        "resent_count": 0,
        "created_at": now,
    }
    row.update(values)
    return row


def load(database: Database, community: str, sent: int, batch: int, now: datetime) -> None:
    day = quiet_hours.local_day_start(now, TZ)
    recipients = [str(uuid.uuid4()) for _ in range(max(1, sent // 5))]
    with database.transaction() as session:
        rows = [
            _delivery(
                community,
                recipients[i % len(recipients)],
                now,
                status="delivered",
                sent_at=day + timedelta(seconds=i % 20_000),
                claimed_at=day + timedelta(seconds=i % 20_000),
                attempts=1,
            )
            for i in range(sent)
        ]
        for start in range(0, len(rows), 5000):
            session.execute(Delivery.__table__.insert(), rows[start : start + 5000])
        counters = Counter({(caps.COMMUNITY_DAY, community, day): sent})
        for i in range(sent):
            counters[caps.RECIPIENT_DAY, recipients[i % len(recipients)], day] += 1
        session.execute(
            SmsCounter.__table__.insert(),
            [{"scope": s, "key": k, "window_start": w, "count": c} for (s, k, w), c in counters.items()],
        )
        due = [
            _delivery(community, str(uuid.uuid4()), now, status="pending", next_attempt_at=now - timedelta(seconds=1))
            for _ in range(batch)
        ]
        session.execute(Delivery.__table__.insert(), due)
    with database.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE deliveries")
        conn.exec_driver_sql("ANALYZE sms_counters")


def _claim_query(batch: int):
    return (
        select(Delivery)
        .where(Delivery.status == "pending", Delivery.next_attempt_at <= func.now())
        .order_by(Delivery.urgent.desc(), Delivery.next_attempt_at)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )


def _old_counts(session, column, ids: set, since: datetime, strict: bool = False) -> Counter:
    """The COUNT the dispatcher ran before the counters (kept here as the 'before' of this bench)."""
    after = Delivery.sent_at > since if strict else Delivery.sent_at >= since
    query = (
        select(column, func.count()).where(column.in_(ids), or_(after, Delivery.status == "sending")).group_by(column)
    )
    return Counter(dict(session.execute(query).all()))


def timed(database: Database, work, repeats: int) -> float:
    times = []
    for _ in range(repeats + 3):
        session = database.sessionmaker()
        try:
            started = time.perf_counter()
            work(session)
            times.append(time.perf_counter() - started)
        finally:
            session.rollback()
            session.close()
    return statistics.median(times[3:]) * 1000


def run(sent: int, batch: int, repeats: int) -> dict:
    pg = os.environ.get("GUANJIA_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
    url = f"{pg}/guanjia_bench_caps_{uuid.uuid4().hex[:6]}"
    ensure_postgres_database(url)
    upgrade(url, ROOT / "services" / "notifications" / "migrations")
    database = Database(url, pool_size=2)
    now = datetime.now(UTC).replace(microsecond=0)
    # Noon local time: inside no quiet hours, whatever time the bench runs.
    now = quiet_hours.local_day_start(now, TZ) + timedelta(hours=12)
    community = str(uuid.uuid4())
    try:
        load(database, community, sent, batch, now)
        sms = SmsSettings(
            recipient_per_day=10**6, recipient_per_minute=10**6, community_daily_budget=10**9, dispatch_batch=batch
        )
        context = SimpleNamespace(sms=sms, settings=SimpleNamespace(timezone=TZ))

        def floor(session):
            assert len(session.execute(_claim_query(batch)).scalars().all()) == batch

        def counters(session):
            rows = session.execute(_claim_query(batch)).scalars().all()
            windows = [caps.cap_windows(r.recipient_id, r.community_id, now, TZ) for r in rows]
            counts = caps.lock_caps(session, {w for ws in windows for w in ws})
            assert counts[caps.COMMUNITY_DAY, community] == sent
            caps.add_caps(session, Counter(w for ws in windows for w in ws))

        def claim(session):
            assert len(dispatch.claim_due(session, context, now)) == batch

        def counts(session):
            rows = session.execute(_claim_query(batch)).scalars().all()
            recipients = {r.recipient_id for r in rows}
            day = quiet_hours.local_day_start(now, TZ)
            _old_counts(session, Delivery.recipient_id, recipients, now - timedelta(minutes=1), strict=True)
            _old_counts(session, Delivery.recipient_id, recipients, day)
            budget = _old_counts(session, Delivery.community_id, {community}, day)
            assert budget[community] == sent

        results = {name: timed(database, work, repeats) for name, work in (("floor", floor), ("counts", counts))}
        results["counters"] = timed(database, counters, repeats)
        results["claim"] = timed(database, claim, repeats)
    finally:
        database.dispose()
        drop_postgres_database(url)
    return {
        "sent_today": sent,
        "batch": batch,
        "floor_ms": round(results["floor"], 2),
        "counts_before_ms": round(results["counts"], 2),
        "counters_ms": round(results["counters"], 2),
        "counts_ratio": round(results["counts"] / results["floor"], 2),
        "counters_ratio": round(results["counters"] / results["floor"], 2),
        "whole_claim_due_ms": round(results["claim"], 2),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sent", default="1000,100000")
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    for sent in (int(n) for n in args.sent.split(",")):
        print(json.dumps(run(sent, args.batch, args.repeats)), flush=True)


if __name__ == "__main__":
    main()
