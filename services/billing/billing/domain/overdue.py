"""The overdue scan: fee.overdue once per bill and reminder stage (first, second, final), whatever the replicas."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from guanjia import db as dbmod
from guanjia import outbox as outboxmod
from guanjia.money import fen_to_str

from ..events import FEE_OVERDUE
from ..models import outbox

# The stage a bill has reached and the ones after it; the rank makes "no stage twice, never go back" one comparison.
STAGES = ("first", "second", "final")

# Bills with something left to pay, past the community's first reminder day, that have not had the stage they
# reached yet (nor a later one). Deposits are held money, not fees: no reminders. The newest stage reached is
# the one sent: a scan that did not run for weeks sends "final", not three reminders at once.
_DUE = """
SELECT b.id, b.unit_id, b.community_id, b.period, b.due_date, b.payer_id,
       b.amount_fen - b.credited_fen - b.paid_fen AS amount_due,
       CAST(:today AS DATE) - b.due_date AS days_overdue,
       CASE WHEN CAST(:today AS DATE) - b.due_date >= COALESCE(p.reminder_final_days, 30) THEN 3
            WHEN CAST(:today AS DATE) - b.due_date >= COALESCE(p.reminder_second_days, 15) THEN 2
            ELSE 1 END AS stage_rank
FROM bills b
LEFT JOIN billing_policies p ON p.community_id = b.community_id
WHERE b.amount_fen > b.credited_fen + b.paid_fen
  AND b.kind <> 'deposit'
  AND b.due_date <= CAST(:today AS DATE) - COALESCE(p.reminder_first_days, 1)
"""

_PG_DUE = f"""
SELECT * FROM ({_DUE}) d
WHERE NOT EXISTS (
  SELECT 1 FROM overdue_notices n WHERE n.bill_id = d.id
    AND array_position(ARRAY['first','second','final']::varchar[], n.stage) >= d.stage_rank)
"""

# PostgreSQL, set-based: the pass's due reminders into a temporary table; then one statement records them and writes
# the outbox rows of those it recorded (guanjia.outbox.Batch.insert_selected: the envelope built and validated once
# for this pass, merged with each event's id, subject and data in SQL). A (bill, stage) another replica recorded first is skipped by ON CONFLICT, so it gets no
# second event.
_PG_PASS = f"""
CREATE TEMPORARY TABLE overdue_pass ON COMMIT DROP AS
SELECT d.*, (ARRAY['first','second','final'])[d.stage_rank] AS stage FROM ({_PG_DUE}) d
"""

# What one pass records and announces: the (bill, stage) rows it wins, and the `events` CTE the library's
# outbox.Batch turns into outbox rows (envelope merged in SQL) in the same statement.
_PG_RECORD = """
won AS (
  INSERT INTO overdue_notices (bill_id, stage, days_overdue, noticed_on)
  SELECT id, stage, days_overdue, CAST(:today AS DATE) FROM overdue_pass
  ON CONFLICT DO NOTHING
  RETURNING bill_id
),
events AS (
  SELECT gen_random_uuid()::text AS id, 'bill/' || p.id AS subject, p.community_id AS community,
         json_build_object(
           'bill_id', p.id, 'unit_id', p.unit_id, 'community_id', p.community_id, 'period', p.period,
           'amount_due', to_char(p.amount_due / 100.0, 'FM999999999999990.00'),
           'due_date', to_char(p.due_date, 'YYYY-MM-DD'), 'stage', p.stage, 'days_overdue', p.days_overdue,
           'payer_id', p.payer_id) AS data
  FROM overdue_pass p JOIN won w ON w.bill_id = p.id
)
"""


def scan(session: Session, settings, today: date, now: datetime) -> int:
    """Publish fee.overdue for every bill that reached a reminder stage it has not had. Several replicas may scan
    at once: the (bill, stage) key lets one insert win and the others insert (and publish) nothing."""
    writer = outboxmod.Batch(outbox, settings, FEE_OVERDUE, time=now)
    if dbmod.is_postgres(session):
        session.execute(text(_PG_PASS), {"today": today})
        session.execute(text("ANALYZE overdue_pass"))  # real row counts: hash joins, not nested loops
        sent = writer.insert_selected(session, _PG_RECORD, {"today": today})
        session.execute(text("DROP TABLE overdue_pass"))  # a second scan in the same transaction starts afresh
        return sent
    rows = _scan_portable(session, today)
    for row in rows:
        due_date = row["due_date"] if isinstance(row["due_date"], date) else date.fromisoformat(row["due_date"])
        writer.add(
            subject=f"bill/{row['id']}",
            community=row["community_id"],
            data={
                "bill_id": row["id"],
                "unit_id": row["unit_id"],
                "community_id": row["community_id"],
                "period": row["period"],
                "amount_due": fen_to_str(int(row["amount_due"])),
                "due_date": due_date.isoformat(),
                "stage": row["stage"],
                "days_overdue": int(row["days_overdue"]),
                "payer_id": row["payer_id"],
            },
        )
    return writer.flush(session)


def _scan_portable(session: Session, today: date) -> list[dict]:
    """The same scan for SQLite (embedded mode: one process, one writer at a time)."""
    query = _DUE.replace(
        "CAST(:today AS DATE) - b.due_date", "CAST(julianday(:today) - julianday(b.due_date) AS INTEGER)"
    )
    query = query.replace(
        "b.due_date <= CAST(:today AS DATE) - COALESCE(p.reminder_first_days, 1)",
        "julianday(b.due_date) <= julianday(:today) - COALESCE(p.reminder_first_days, 1)",
    )
    sent = {}
    for bill_id, stage in session.execute(text("SELECT bill_id, stage FROM overdue_notices")).all():
        sent[bill_id] = max(sent.get(bill_id, 0), STAGES.index(stage) + 1)
    fresh = []
    for row in session.execute(text(query), {"today": today.isoformat()}).mappings():
        if sent.get(row["id"], 0) >= row["stage_rank"]:
            continue
        stage = STAGES[row["stage_rank"] - 1]
        session.execute(
            text("INSERT INTO overdue_notices (bill_id, stage, days_overdue, noticed_on) VALUES (:b, :s, :d, :t)"),
            {"b": row["id"], "s": stage, "d": row["days_overdue"], "t": today.isoformat()},
        )
        fresh.append({**row, "stage": stage})
    return fresh


def scheduled_scan(context, database) -> int:
    """The worker's periodic job: today in the instance's timezone, from the context's clock."""
    with database.transaction() as session:
        return scan(session, context.settings, context.today(), context.now())
