"""Tables of the billing database: projections, fee rules, bills, payments, the ledger, outbox and inbox.

Money is integer fen (分) in every column named *_fen; rates are exact decimals (yuan per basis unit).
Nothing money depends on is deleted or rewritten: corrections are new rows (credits, reversals).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from guanjia.db import UtcDateTime
from guanjia.idempotency import define_idempotency
from guanjia.inbox import define_inbox
from guanjia.outbox import define_outbox


class Base(DeclarativeBase):
    pass


outbox = define_outbox(Base.metadata)
inbox = define_inbox(Base.metadata)
idempotency_keys = define_idempotency(Base.metadata)

# What the reports read of an open bill, carried in the open bills' index so they never visit the table's rows.
OPEN_BILL_COLUMNS = ["due_date", "period_end", "building_id", "kind", "amount_fen", "credited_fen", "paid_fen"]


class BillingUnit(Base):
    """What billing knows of a unit (its area is what fees are charged on), built from unit.* events."""

    __tablename__ = "billing_units"
    unit_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36))
    building_id: Mapped[str | None] = mapped_column(String(36))
    zone_id: Mapped[str | None] = mapped_column(String(36))
    number: Mapped[str | None] = mapped_column(String(50))
    floor: Mapped[int | None] = mapped_column(Integer)
    unit_type: Mapped[str | None] = mapped_column(String(20))
    area_m2: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))  # = gross area (unit.* v1 field)
    gross_area_m2: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    inner_area_m2: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    status: Mapped[str | None] = mapped_column(String(20))
    label: Mapped[str | None] = mapped_column(String(150))  # `1栋1-101`, shown instead of the id
    # Time of the newest event (or residents answer) applied: an older event never overwrites a newer one.
    source_time: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_billing_units_community_number", "community_id", "number"),)


class BillingZone(Base):
    """A zone (片区) and its butlers, from zone.updated: arrears and collection rates by zone and by butler."""

    __tablename__ = "billing_zones"
    zone_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str | None] = mapped_column(String(100))
    butler_ids: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of gateway user ids
    source_time: Mapped[datetime] = mapped_column(UtcDateTime())


class Occupancy(Base):
    """Who lives in a unit and from/until when (resident.moved_in / moved_out): the payer and proration."""

    __tablename__ = "billing_occupancies"
    resident_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    moved_in_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    moved_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Policy(Base):
    """A community's billing policy. Its row is also the lock that serialises billing runs of the community."""

    __tablename__ = "billing_policies"
    community_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    area_basis: Mapped[str] = mapped_column(String(10), default="gross")  # gross | inner
    due_days: Mapped[int] = mapped_column(Integer, default=15)  # due date = period start + due_days
    vacant_discount: Mapped[Decimal | None] = mapped_column(Numeric(5, 4))  # 0.3000 = 30 % off while vacant
    reminder_first_days: Mapped[int] = mapped_column(Integer, default=1)
    reminder_second_days: Mapped[int] = mapped_column(Integer, default=15)
    reminder_final_days: Mapped[int] = mapped_column(Integer, default=30)
    late_fee_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    late_fee_daily_rate: Mapped[Decimal] = mapped_column(Numeric(8, 6), default=Decimal("0.0003"))
    late_fee_grace_days: Mapped[int] = mapped_column(Integer, default=30)
    late_fee_cap: Mapped[Decimal] = mapped_column(Numeric(5, 4), default=Decimal("0.1000"))  # of the principal
    collection_target: Mapped[Decimal] = mapped_column(Numeric(5, 4), default=Decimal("0.8500"))
    renovation_deposit_fen: Mapped[int | None] = mapped_column(BigInteger)
    fine_minor_fen: Mapped[int | None] = mapped_column(BigInteger)
    fine_serious_fen: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class FeeItem(Base):
    """A fee a community charges periodically (property service, elevator, parking, utilities)."""

    __tablename__ = "fee_items"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(30))
    basis: Mapped[str] = mapped_column(String(20))  # per_m2 | per_unit | per_space | metered
    unit_types: Mapped[str] = mapped_column(Text)  # JSON list of the unit types it applies to
    exempt_floors_max: Mapped[int | None] = mapped_column(Integer)  # floors <= this are exempt (elevator)
    rounding: Mapped[str] = mapped_column(String(20), default="half_even")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class FeeRate(Base):
    """A rate of a fee item from a date on; a new rate is a new row, so issued bills are never rewritten."""

    __tablename__ = "fee_rates"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    fee_item_id: Mapped[str] = mapped_column(String(36))
    effective_from: Mapped[date] = mapped_column(Date)
    rate: Mapped[Decimal] = mapped_column(Numeric(12, 4))  # yuan per m²/unit/space per month, or per metered unit
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (UniqueConstraint("fee_item_id", "effective_from"),)


class MeterReading(Base):
    """A utility meter reading for a unit and period: the metered quantity billed on the next run."""

    __tablename__ = "meter_readings"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36))
    unit_id: Mapped[str] = mapped_column(String(36))
    fee_item_id: Mapped[str] = mapped_column(String(36))
    period: Mapped[str] = mapped_column(String(10))
    previous: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    current: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        UniqueConstraint("unit_id", "fee_item_id", "period"),
        Index("ix_meter_readings_community_period", "community_id", "period"),
    )


class BillingRun(Base):
    __tablename__ = "billing_runs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36))
    period: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    bills_created: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    requested_by: Mapped[str] = mapped_column(String(100))
    # What the run covered: the community's units as residents listed them, how many of those billing's projection
    # had not seen yet (fetched from residents before billing), and the units left without a bill, by reason.
    units_total: Mapped[int | None] = mapped_column(Integer)
    units_fetched: Mapped[int | None] = mapped_column(Integer)
    units_skipped: Mapped[str | None] = mapped_column(Text)  # JSON {reason: count}
    # Progress, committed per chunk of units: running → done (runs before these columns: NULL, read as done).
    status: Mapped[str | None] = mapped_column(String(20))
    units_to_bill: Mapped[int | None] = mapped_column(Integer)
    units_done: Mapped[int | None] = mapped_column(Integer)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_billing_runs_community_period", "community_id", "period"),)


class Bill(Base):
    """What a unit owes for one period or one charge. outstanding = amount − credited − paid."""

    __tablename__ = "bills"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36))
    unit_id: Mapped[str] = mapped_column(String(36))
    building_id: Mapped[str | None] = mapped_column(String(36))
    zone_id: Mapped[str | None] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(20))  # periodic | deposit | fine | repair | one_off
    # What the bill is for, unique per unit: "period:2026-11", "ticket:<id>", "renovation:<id>" — a replayed
    # run or event finds it and creates nothing.
    source_key: Mapped[str] = mapped_column(String(120))
    period: Mapped[str] = mapped_column(String(10))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(String(200))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    credited_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    payer_id: Mapped[str | None] = mapped_column(String(36))
    run_id: Mapped[str | None] = mapped_column(String(36))
    renovation_id: Mapped[str | None] = mapped_column(String(36))  # deposits and fines: what the refund nets
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        UniqueConstraint("unit_id", "source_key", name="uq_bills_unit_source"),
        # The collection-rate report sums a period's bills by zone from the index alone (an index-only scan).
        Index(
            "ix_bills_community_period",
            "community_id",
            "period",
            postgresql_include=["zone_id", "kind", "amount_fen", "credited_fen", "paid_fen"],
        ),
        # Bills with something left to pay: the overdue scan, the arrears, the collection list and the collection
        # rate's older bills still open read only these, from the index alone (an index-only scan); in zone and unit
        # order, so the arrears' sums per unit and per zone stream from it without a sort or a hash.
        Index(
            "ix_bills_open",
            "community_id",
            "zone_id",
            "unit_id",
            postgresql_include=OPEN_BILL_COLUMNS,
            postgresql_where=text("amount_fen > credited_fen + paid_fen"),
            sqlite_where=text("amount_fen > credited_fen + paid_fen"),
        ),
    )

    @property
    def outstanding_fen(self) -> int:
        return self.amount_fen - self.credited_fen - self.paid_fen


class BillLine(Base):
    __tablename__ = "bill_lines"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    bill_id: Mapped[str] = mapped_column(String(36), index=True)
    fee_item_id: Mapped[str | None] = mapped_column(String(36))
    description: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[Decimal | None] = mapped_column(Numeric(14, 3))
    rate: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    days: Mapped[int | None] = mapped_column(Integer)  # days charged when the line is prorated
    amount_fen: Mapped[int] = mapped_column(BigInteger)


class Payment(Base):
    __tablename__ = "payments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36))
    unit_id: Mapped[str] = mapped_column(String(36), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="received")  # received | reversed
    receipt_seq: Mapped[int] = mapped_column(BigInteger)
    receipt_number: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    payer_id: Mapped[str | None] = mapped_column(String(36))
    provider: Mapped[str | None] = mapped_column(String(40))
    provider_reference: Mapped[str | None] = mapped_column(String(100))
    # What the cashier typed from the slip (bank transfer number, WeChat/Alipay order number): shown, not unique.
    reference: Mapped[str | None] = mapped_column(String(100))
    recorded_by: Mapped[str] = mapped_column(String(100))
    # The cashier's name when the payment was taken (receipts keep it; None: not known then, looked up when shown).
    cashier_name: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(String(500))
    reversed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    reversal_reason: Mapped[str | None] = mapped_column(String(20))

    __table_args__ = (
        UniqueConstraint("community_id", "receipt_seq", name="uq_payments_receipt"),
        UniqueConstraint("provider", "provider_reference", name="uq_payments_provider_reference"),
    )


class Allocation(Base):
    """Where a payment's money sits: on a bill, or (bill_id NULL) in the unit's prepaid balance. Signed; a move
    or a reversal is new rows, so a payment's allocations always sum to what it still holds."""

    __tablename__ = "allocations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    payment_id: Mapped[str] = mapped_column(String(36), index=True)
    unit_id: Mapped[str] = mapped_column(String(36), index=True)
    bill_id: Mapped[str | None] = mapped_column(String(36), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(20))  # payment | prepaid | prepaid_use | transfer | reversal | refund
    # The bill's period end, kept with the allocation: the collection-rate report's 清欠率 finds the older bills paid
    # into since a period's start in this table's index alone, without reading every bill paid into since.
    bill_period_end: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        Index(
            "ix_allocations_created_at", "created_at", postgresql_include=["bill_period_end", "bill_id", "amount_fen"]
        ),
    )


class LedgerEntry(Base):
    """The unit's account: + what it owes (charge, reversal, refund paid out), − what settles it (payment, credit).
    The sum of a unit's entries is its balance: outstanding bills minus prepaid money."""

    __tablename__ = "ledger_entries"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36))
    unit_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # charge | payment | reversal | credit | refund
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    bill_id: Mapped[str | None] = mapped_column(String(36))
    payment_id: Mapped[str | None] = mapped_column(String(36))
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ReceiptCounter(Base):
    """The last receipt number of a community; locked in the payment transaction, so numbers have no gaps."""

    __tablename__ = "receipt_counters"
    community_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    last_number: Mapped[int] = mapped_column(BigInteger)


class OverdueNotice(Base):
    """fee.overdue sent for a bill at a stage: the key makes it once per bill and stage across replicas."""

    __tablename__ = "overdue_notices"
    bill_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    stage: Mapped[str] = mapped_column(String(10), primary_key=True)  # first | second | final
    days_overdue: Mapped[int] = mapped_column(Integer)
    noticed_on: Mapped[date] = mapped_column(Date)


class Deposit(Base):
    """A renovation deposit: due on renovation.approved, refunded less unpaid fines on renovation.completed."""

    __tablename__ = "deposits"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    renovation_id: Mapped[str] = mapped_column(String(36), unique=True)
    community_id: Mapped[str] = mapped_column(String(36))
    unit_id: Mapped[str] = mapped_column(String(36))
    bill_id: Mapped[str] = mapped_column(String(36))
    applicant_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(20), default="due")  # due | refunded | closed
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    fines_deducted_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class CollectionNote(Base):
    """A butler's contact note on a unit in arrears (催缴记录). Free text: never in events or logs."""

    __tablename__ = "collection_notes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(36))
    unit_id: Mapped[str] = mapped_column(String(36), index=True)
    author: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(20))  # reached | unreachable | promised | refused
    promised_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
