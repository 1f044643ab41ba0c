"""A run streamed into COPY writes for each unit the bill, lines, charge and bill.issued row built before."""

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from billing.domain import bills
from billing.domain.common import policy_for
from billing.domain.units import record_move, upsert_unit
from billing.events import BILL_ISSUED
from billing.models import Bill, BillingRun, BillLine, FeeItem, FeeRate, LedgerEntry, outbox
from billing.service import SPEC
from guanjia import outbox as outboxmod
from guanjia import tracing
from guanjia.auth import Principal
from guanjia.db import Database, upgrade

TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
NOW = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # the run of November, at midnight Beijing time


def _world(db, community_id: str) -> dict[str, str]:
    """Nine units: seven plain ones (two below the elevator's floors, two alike), one moved into on 11 November (its
    property fee split into occupied and vacant days, at half price vacant), one parking space no fee applies to."""
    numbers = {}
    with db.transaction() as session:
        for name, kind, basis, rate, exempt in (
            ("物业服务费", "property_service", "per_m2", "2.50", None),
            ("电梯费", "elevator", "per_unit", "30.00", 2),
        ):
            item_id = str(uuid.uuid4())
            session.add(
                FeeItem(
                    id=item_id,
                    community_id=community_id,
                    name=name,
                    kind=kind,
                    basis=basis,
                    unit_types='["residential"]',
                    exempt_floors_max=exempt,
                    rounding="half_even",
                    active=True,
                    created_at=NOW,
                )
            )
            session.flush()  # the run reads the items in the order they were created
            session.add(
                FeeRate(
                    id=str(uuid.uuid4()),
                    fee_item_id=item_id,
                    effective_from=date(2026, 1, 1),
                    rate=Decimal(rate),
                    created_at=NOW,
                )
            )
        policy_for(session, community_id, NOW).vacant_discount = Decimal("0.5000")
        for number, floor, unit_type, status in (
            *((f"1-{n}01", n, "residential", "occupied") for n in range(1, 7)),
            ("1-502", 5, "residential", "occupied"),  # alike 1-501 in all its lines depend on
            ("2-301", 3, "residential", "vacant"),
            ("P-01", -1, "parking", "occupied"),
        ):
            unit_id = str(uuid.uuid4())
            numbers[unit_id] = number
            data = {
                "unit_id": unit_id,
                "community_id": community_id,
                "building_id": f"b-{number[0]}",
                "zone_id": "zone-1",
                "number": number,
                "floor": floor,
                "unit_type": unit_type,
                "area_m2": Decimal("100.00"),
                "status": status,
            }
            upsert_unit(session, data, NOW)
            if number == "2-301":
                moved = {"resident_id": "resident-1", "unit_id": unit_id, "community_id": community_id}
                record_move(session, moved, moved_in_at=datetime(2026, 11, 10, 16, 0, tzinfo=UTC))  # 11 Nov there
    return numbers


def _run_and_read(db, settings, community_id: str) -> dict:
    principal = Principal(subject="finance-1", role="finance", communities=[community_id])
    with tracing.span("billing run", TRACE), db.transaction() as session:
        run = bills.run_billing(session, settings, principal, community_id, "2026-11", NOW)
        trace = tracing.current()
        # What the writer of before made of each bill's event: outbox.Batch.add, with the run's envelope.
        before = outboxmod.Batch(outbox, settings, BILL_ISSUED, time=NOW)
    with db.transaction() as session:
        run = session.get(BillingRun, run.id)
        written = session.execute(select(Bill).where(Bill.community_id == community_id)).scalars().all()
        ids = [bill.id for bill in written]
        lines = session.execute(select(BillLine).where(BillLine.bill_id.in_(ids))).scalars().all()
        ledger = session.execute(select(LedgerEntry).where(LedgerEntry.bill_id.in_(ids))).scalars().all()
        subjects = [f"bill/{bill_id}" for bill_id in ids]
        events = session.execute(select(outbox).where(outbox.c.event_type == BILL_ISSUED)).all()
        events = [row for row in events if json.loads(row.payload)["subject"] in subjects]
        return {
            "run": run,
            "bills": written,
            "lines": lines,
            "ledger": ledger,
            "events": events,
            "before": before,
            "trace": trace,
        }


def _check(found: dict, settings, community_id: str, numbers: dict[str, str]) -> dict:
    """Every row is the one built for its unit; returns them without their random ids, by unit number."""
    run, by_unit = found["run"], {}
    assert (run.bills_created, run.amount_fen) == (8, 7 * 25000 + 5 * 3000 + 16667 + 4167 + 3000)
    assert json.loads(run.units_skipped) == {"no_fee_applies": 1}  # the parking space
    lines_of, charges_of = {}, {}
    for line in found["lines"]:
        lines_of.setdefault(line.bill_id, []).append(line)
    for entry in found["ledger"]:
        charges_of.setdefault(entry.bill_id, []).append(entry)
    events_of = {json.loads(row.payload)["data"]["bill_id"]: row for row in found["events"]}
    assert len(found["bills"]) == len(events_of) == len(charges_of) == 8
    for bill in found["bills"]:
        payer = "resident-1" if numbers[bill.unit_id] == "2-301" else None
        columns = {c.name: getattr(bill, c.name) for c in Bill.__table__.columns}
        assert columns == {
            "id": bill.id,
            "community_id": community_id,
            "unit_id": bill.unit_id,
            "building_id": f"b-{numbers[bill.unit_id][0]}",
            "zone_id": "zone-1",
            "kind": "periodic",
            "source_key": "period:2026-11",
            "period": "2026-11",
            "period_start": date(2026, 11, 1),
            "period_end": date(2026, 11, 30),
            "due_date": date(2026, 11, 16),
            "description": None,
            "amount_fen": sum(line.amount_fen for line in lines_of[bill.id]),
            "credited_fen": 0,
            "paid_fen": 0,
            "payer_id": payer,
            "run_id": run.id,
            "renovation_id": None,
            "issued_at": NOW,
        }
        (charge,) = charges_of[bill.id]
        entry = {c.name: getattr(charge, c.name) for c in LedgerEntry.__table__.columns}
        assert entry == bills._charge_entry(community_id, bill.unit_id, bill.id, bill.amount_fen, NOW, charge.id)
        row = events_of[bill.id]
        assert (row.id, row.event_type, row.created_at, row.published_at, row.attempts) == (
            json.loads(row.payload)["id"],
            BILL_ISSUED,
            NOW,
            None,
            0,
        )
        data = bills._issued_data(bill.id, bill.unit_id, community_id, "2026-11", bill.amount_fen, bill.due_date, payer)
        # Byte for byte the payload the batch writer of before stored, and the envelope `outbox.build` makes.
        expected = found["before"].add(id=row.id, subject=f"bill/{bill.id}", data=data, community=community_id)
        assert row.payload == outboxmod.encode(expected)
        with tracing.span("billing run", TRACE):
            built = outboxmod.build(
                settings, type=BILL_ISSUED, subject=f"bill/{bill.id}", data=data, community=community_id, time=NOW
            )
        assert json.loads(row.payload) == {**built, "id": row.id, "traceparent": found["trace"]}
        by_unit[numbers[bill.unit_id]] = {
            "bill": {k: v for k, v in columns.items() if k not in ("id", "unit_id", "run_id")},
            "lines": sorted(
                (line.description, line.quantity, line.rate, line.days, line.amount_fen) for line in lines_of[bill.id]
            ),
            "charge": {k: v for k, v in entry.items() if k not in ("id", "unit_id", "bill_id")},
            # Each run its own span of the one trace: the trace id is the same, the span id is the run's.
            "event": {
                k: v.split("-")[1] if k == "traceparent" else v
                for k, v in json.loads(row.payload).items()
                if k not in ("id", "subject", "data")
            }
            | {"data": {k: v for k, v in data.items() if k not in ("bill_id", "unit_id")}},
        }
    hundred, one = Decimal("100.000"), Decimal("1.000")
    rate, elevator = Decimal("2.5000"), Decimal("30.0000")
    # With a vacancy discount set, the property fee names the days it charges, occupied or vacant.
    full = ("物业服务费（入住30天）", hundred, rate, 30, 25000)
    assert by_unit["1-101"]["lines"] == [full]  # floor 1: no elevator fee
    assert by_unit["1-501"]["lines"] == by_unit["1-502"]["lines"] == [full, ("电梯费", one, elevator, None, 3000)]
    occupied, vacant, lift = by_unit["2-301"]["lines"]  # sorted by description: 入住 before 空置
    assert vacant == ("物业服务费（空置10天，减免50%）", hundred, rate, 10, 4167)  # 250 × 10/30 × 0.5 = 41.666…
    assert occupied == ("物业服务费（入住20天）", hundred, rate, 20, 16667)  # 250 × 20/30 = 166.666…
    assert lift == ("电梯费", one, elevator, None, 3000)
    assert by_unit["2-301"]["event"]["data"] == {
        "community_id": community_id,
        "period": "2026-11",
        "amount": "238.34",
        "due_date": "2026-11-16",
        "payer_id": "resident-1",
    }
    return by_unit


def test_a_run_streamed_in_batches_writes_the_rows_built_for_each_unit(db, billing_settings, monkeypatch):
    monkeypatch.setattr(bills, "COPY_BATCH_UNITS", 2)  # four COPY batches, each built while the one before is sent
    community_id = str(uuid.uuid4())
    numbers = _world(db, community_id)
    _check(_run_and_read(db, billing_settings, community_id), billing_settings, community_id, numbers)


def test_postgresql_and_sqlite_write_the_same_rows(db, billing_settings, tmp_path, monkeypatch):
    monkeypatch.setattr(bills, "COPY_BATCH_UNITS", 3)
    community_id = str(uuid.uuid4())
    numbers = _world(db, community_id)
    on_postgres = _check(_run_and_read(db, billing_settings, community_id), billing_settings, community_id, numbers)
    url = f"sqlite:///{tmp_path}/billing.db"
    upgrade(url, SPEC.migrations_dir)
    sqlite = Database(url)
    try:
        settings = billing_settings.with_service("billing", database_url=url)
        numbers = _world(sqlite, community_id)
        on_sqlite = _check(_run_and_read(sqlite, settings, community_id), settings, community_id, numbers)
    finally:
        sqlite.dispose()
    assert on_sqlite == on_postgres


@pytest.mark.parametrize("batch", [1, 2, 5, 1000])
def test_copy_rows_writes_every_row_of_every_batch_in_order(db, batch):
    """The library's streaming COPY on its own: items with no rows for a table or none at all (whole batches of
    them), batches of every size; every row is written, and each target's hook runs once, after its rows."""
    from guanjia import db as dbmod

    community_id, woken = str(uuid.uuid4()), []

    def items():
        for n in range(11):
            bill = (
                f"{community_id[:30]}-{n:03}",
                community_id,
                f"{community_id[:30]}-u{n}",
                "periodic",
                f"k:{n}",
                "2026-11",
                date(2026, 11, 1),
                date(2026, 11, 30),
                date(2026, 11, 16),
                n,
                0,
                0,
                NOW,
            )
            if n < 3 or n % 4 == 3:
                yield (), ()  # units that got nothing: whole batches of them at first
                continue
            yield (bill,), tuple((f"{bill[0]}-{k}", bill[0], "line", k) for k in range(n % 3))

    bill_columns = tuple(
        "id community_id unit_id kind source_key period period_start period_end due_date amount_fen credited_fen "
        "paid_fen issued_at".split()
    )
    targets = [
        dbmod.CopyTarget(Bill, bill_columns, woken.append),
        dbmod.CopyTarget(BillLine, ("id", "bill_id", "description", "amount_fen")),
    ]
    with db.transaction() as session:
        counts = dbmod.copy_rows(session, targets, items(), batch=batch)
        assert woken == [session]
    expected_bills = [n for n in range(11) if n >= 3 and n % 4 != 3]
    expected_lines = sum(n % 3 for n in expected_bills)
    assert counts == [len(expected_bills), expected_lines]
    with db.transaction() as session:
        stored = session.execute(select(Bill.id, Bill.amount_fen).where(Bill.community_id == community_id)).all()
        lines = session.execute(select(BillLine.id).where(BillLine.bill_id.in_([row.id for row in stored]))).all()
    assert sorted(amount for _, amount in stored) == expected_bills and len(lines) == expected_lines
