"""Bills: the billing run of a community and period, single charges, credit notes, and reading bills."""

from __future__ import annotations

import json
import operator
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, any_, bindparam, false, func, select
from sqlalchemy.orm import Session

from guanjia import db as dbmod
from guanjia import outbox as outboxmod
from guanjia.auth import Principal
from guanjia.errors import Invalid, NotFound
from guanjia.money import Period, add_days, fen_to_str, month_of, parse_period, to_fen

from ..events import BILL_ISSUED
from ..models import (
    Allocation,
    Bill,
    BillingRun,
    BillingUnit,
    BillLine,
    FeeItem,
    LedgerEntry,
    MeterReading,
    Occupancy,
    outbox,
)
from .common import (
    FACT_READERS,
    MONEY_ROLES,
    READERS,
    new_ids,
    policy_for,
    require,
    require_community,
)
from .fees import rate_on, rates_of
from .units import catch_up, check_payer, find_unit, lives_in

KINDS = ("periodic", "deposit", "fine", "repair", "one_off")


# --- the billing run -----------------------------------------------------------------------------------------------


def check_run(principal: Principal, community_id: str, period_name: str) -> Period:
    """Who may run billing, and the period — checked before residents is asked anything."""
    require(principal, *MONEY_ROLES)
    require_community(principal, community_id)
    try:
        return parse_period(period_name)
    except ValueError as exc:
        raise Invalid("period", str(exc)) from None


CHUNK_UNITS = 500  # units billed per transaction of a run: progress shows between them
# Units per COPY batch of a chunk at most: the next batch's rows are built while this one's are written
# (`db.copy_rows`); larger batches, fewer COPY statements and round trips.
COPY_BATCH_UNITS = 20000


def run_billing(
    session: Session,
    settings,
    principal: Principal,
    community_id: str,
    period_name: str,
    now: datetime,
    residents_units: list[str] | None = None,
    fetch_units: Callable[[], list[dict]] | None = None,
    run_id: str | None = None,
) -> BillingRun:
    """Bill every unit of the community for the period in one transaction (start, every unit, finish): one bill per
    unit, one line per fee item (split where an occupancy change makes the period part vacant). Units already billed
    for the period get nothing new. The API runs the same steps in a transaction each (`start_run`, `bill_units`
    per chunk, `finish_run`) so that the run's progress shows while it runs."""
    run, pending = start_run(
        session, principal, community_id, period_name, now, residents_units, fetch_units, run_id=run_id
    )
    bill_units(session, settings, run.id, pending, now)
    return finish_run(session, run.id, now)


def start_run(
    session: Session,
    principal: Principal,
    community_id: str,
    period_name: str,
    now: datetime,
    residents_units: list[str] | None = None,
    fetch_units: Callable[[], list[dict]] | None = None,
    run_id: str | None = None,
) -> tuple[BillingRun, list[str]]:
    """The run's record (status `running`) and the units it is to bill: those not billed for the period yet.

    `residents_units` (the unit ids residents lists for the community, asked just before) makes the run complete:
    units the projection has not seen yet are fetched with `fetch_units` first, and the run records how many units
    it covered, how many it fetched, and how many it left without a bill and why."""
    period = check_run(principal, community_id, period_name)
    fetched = None
    if residents_units is not None and fetch_units is not None:
        # Before the policy's lock: catching up may wait for the consumer's batch (see catch_up), which must then
        # find nothing of this transaction's in its way.
        fetched = catch_up(session, community_id, residents_units, fetch_units)
    policy_for(session, community_id, now, lock=True)  # one run of a community starts at a time
    already = (
        select(Bill.id).where(Bill.unit_id == BillingUnit.unit_id, Bill.source_key == f"period:{period.name}").exists()
    )
    pending = list(
        session.execute(
            select(BillingUnit.unit_id)
            .where(BillingUnit.community_id == community_id, ~already)
            .order_by(BillingUnit.unit_id)
        ).scalars()
    )
    known = session.execute(select(func.count()).where(BillingUnit.community_id == community_id)).scalar_one()
    skipped = {"already_billed": known - len(pending)}
    if residents_units is not None:
        # Listed by residents yet still unknown here (fetch failed for them): say so rather than miss them silently.
        skipped["not_in_billing"] = max(0, len(set(residents_units)) - known)
    run = BillingRun(
        id=run_id or dbmod.new_id(),
        community_id=community_id,
        period=period.name,
        started_at=now,
        bills_created=0,
        amount_fen=0,
        requested_by=principal.subject,
        units_total=len(set(residents_units)) if residents_units is not None else known,
        units_fetched=fetched,
        units_skipped=json.dumps({k: v for k, v in skipped.items() if v}),
        status="running",
        units_to_bill=len(pending),
        units_done=0,
    )
    session.add(run)
    session.flush()
    return run, pending


def bill_units(session: Session, settings, run_id: str, unit_ids: list[str], now: datetime) -> BillingRun:
    """Bill these units of a started run (those still without a bill for its period) and count them as done."""
    run = session.execute(
        select(BillingRun).where(BillingRun.id == run_id).execution_options(populate_existing=True)
    ).scalar_one()
    community_id = run.community_id
    period = parse_period(run.period)
    policy = policy_for(session, community_id, now, lock=True)  # a concurrent run's chunk waits, then finds them billed
    source_key = f"period:{period.name}"
    skipped = json.loads(run.units_skipped or "{}")

    items = []
    for item in session.execute(
        select(FeeItem)
        .where(FeeItem.community_id == community_id, FeeItem.active.is_(True))
        .order_by(FeeItem.created_at)
    ).scalars():
        rate = rate_on(rates_of(session, item.id), period.start)
        if rate is not None:
            items.append((_Item(item), rate, set(json.loads(item.unit_types))))

    already = select(Bill.id).where(Bill.unit_id == BillingUnit.unit_id, Bill.source_key == source_key).exists()
    columns = (
        BillingUnit.unit_id,
        BillingUnit.building_id,
        BillingUnit.zone_id,
        BillingUnit.floor,
        BillingUnit.unit_type,
        BillingUnit.gross_area_m2,
        BillingUnit.inner_area_m2,
        BillingUnit.area_m2,
        BillingUnit.status,
    )
    joined = ",".join(unit_ids)
    if dbmod.is_postgres(session) and joined.count(",") == len(unit_ids) - 1:
        # One statement for a whole run's 100,000 units, their ids one text the server splits: psycopg adapts a
        # list parameter item by item in Python, ten times slower (no unit id holds a comma; checked just above).
        ids = func.string_to_array(bindparam("unit_ids", joined, type_=String), ",")
        units = session.execute(select(*columns).where(BillingUnit.unit_id == any_(ids), ~already)).all()
    else:
        units = []
        for start in range(0, len(unit_ids), CHUNK_UNITS):  # SQLite's limit on bound parameters
            units += session.execute(
                select(*columns).where(BillingUnit.unit_id.in_(unit_ids[start : start + CHUNK_UNITS]), ~already)
            ).all()
    # Billed meanwhile by a concurrent run of the same period: counted as such, never billed twice.
    _count(skipped, "already_billed", len(set(unit_ids)) - len(units))
    made = _Made()
    if units and items:
        tz = ZoneInfo(settings.timezone)
        occupancies = _occupancies(session, community_id, period, tz)
        readings = _readings(session, community_id, period.name)
        writer = outboxmod.Batch(outbox, settings, BILL_ISSUED, time=now)
        session.flush()
        # Built unit by unit while COPY writes the units before them: Python and PostgreSQL work at the same time.
        rows = _run_rows(made, units, items, policy, period, occupancies, readings, run.id, community_id, now, writer)
        dbmod.copy_rows(session, [_BILLS, _LINES, _LEDGER, writer.target], rows, batch=COPY_BATCH_UNITS)
        _count(skipped, "no_fee_applies", made.no_fee)
    elif units:
        _count(skipped, "no_fee_applies", len(units))
    run.bills_created += made.bills
    run.amount_fen += made.amount_fen
    run.units_done = (run.units_done or 0) + len(set(unit_ids))
    run.units_skipped = json.dumps({k: v for k, v in skipped.items() if v})
    from .payments import apply_prepaid  # payments builds on bills; the run only needs this one step of it

    apply_prepaid(session, made.unit_ids, now)
    session.flush()
    return run


# The columns of the rows a run writes, in the order of their tuples (`_run_rows`).
_BILLS = dbmod.CopyTarget(
    Bill,
    (
        "id",
        "community_id",
        "unit_id",
        "building_id",
        "zone_id",
        "kind",
        "source_key",
        "period",
        "period_start",
        "period_end",
        "due_date",
        "description",
        "amount_fen",
        "credited_fen",
        "paid_fen",
        "payer_id",
        "run_id",
        "renovation_id",
        "issued_at",
    ),
)
_LINES = dbmod.CopyTarget(
    BillLine, ("id", "bill_id", "fee_item_id", "description", "quantity", "rate", "days", "amount_fen")
)
_LEDGER = dbmod.CopyTarget(
    LedgerEntry,
    ("id", "community_id", "unit_id", "kind", "amount_fen", "bill_id", "payment_id", "reason", "created_at"),
)


_ledger_values = operator.itemgetter(*_LEDGER.columns)  # a ledger entry's values in `_LEDGER` order


class _Made:
    """What the rows of a run's chunk add up to, known once `copy_rows` has pulled them all."""

    __slots__ = ("bills", "amount_fen", "unit_ids", "no_fee")

    def __init__(self):
        self.bills = self.amount_fen = self.no_fee = 0
        self.unit_ids: set[str] = set()


def _run_rows(
    made: _Made, units, items, policy, period: Period, occupancies, readings, run_id, community_id, now, writer
):
    """Per unit billed: its bill, its lines, its ledger charge and its `bill.issued` row (one tuple of rows each, in
    `_BILLS`, `_LINES`, `_LEDGER` and `writer.target` order). Reads nothing from the database: it runs while COPY
    holds the connection."""
    source_key = f"period:{period.name}"
    due_date = add_days(period.start, policy.due_days)
    rules = _Rules(policy)
    # Units alike in all that `_lines_for` reads (type, floor, areas, status; no occupancy record, nothing metered)
    # get the same lines: computed once per kind of unit, not once per unit (a community repeats its floor plans).
    alike: dict[tuple, tuple[list[tuple], int]] | None = (
        None if any(item.basis == "metered" for item, _, _ in items) else {}
    )
    for unit in units:
        spans = occupancies.get(unit.unit_id)
        key = found = None
        if spans is None and alike is not None:
            key = (unit.unit_type, unit.floor, unit.gross_area_m2, unit.inner_area_m2, unit.area_m2, unit.status)
            found = alike.get(key)
        if found is None:
            found = _line_fields(_lines_for(unit, items, rules, period, spans, readings))
            if key is not None:
                alike[key] = found
        unit_lines, total = found
        if not unit_lines or total <= 0:
            made.no_fee += 1
            continue
        ids = new_ids(3 + len(unit_lines))
        bill_id, unit_id = ids[0], unit.unit_id
        payer_id = _payer(spans, period)
        made.bills += 1
        made.amount_fen += total
        made.unit_ids.add(unit_id)
        yield (
            (
                (
                    bill_id,
                    community_id,
                    unit_id,
                    unit.building_id,
                    unit.zone_id,
                    "periodic",
                    source_key,
                    period.name,
                    period.start,
                    period.end,
                    due_date,
                    None,
                    total,
                    0,
                    0,
                    payer_id,
                    run_id,
                    None,
                    now,
                ),
            ),
            [(line_id, bill_id, *fields) for line_id, fields in zip(ids[3:], unit_lines, strict=True)],
            (_ledger_values(_charge_entry(community_id, unit_id, bill_id, total, now, ids[1])),),
            (
                writer.row(
                    id=ids[2],
                    subject=f"bill/{bill_id}",
                    community=community_id,
                    data=_issued_data(bill_id, unit_id, community_id, period.name, total, due_date, payer_id),
                ),
            ),
        )


def _line_fields(lines: list[dict]) -> tuple[list[tuple], int]:
    """A unit's lines as the `_LINES` columns after id and bill_id, and their total."""
    fields = [
        (line["fee_item_id"], line["description"], line["quantity"], line["rate"], line["days"], line["amount_fen"])
        for line in lines
    ]
    return fields, sum(line["amount_fen"] for line in lines)


def _count(skipped: dict, reason: str, n: int) -> None:
    if n > 0:
        skipped[reason] = skipped.get(reason, 0) + n


def finish_run(session: Session, run_id: str, now: datetime, status: str = "done") -> BillingRun:
    run = session.execute(
        select(BillingRun).where(BillingRun.id == run_id).execution_options(populate_existing=True)
    ).scalar_one()
    run.status = status
    run.finished_at = now
    session.flush()
    return run


def fail_run(session: Session, run_id: str, now: datetime) -> BillingRun:
    """A chunk failed: the bills of the chunks before it stand; a re-run of the period bills the rest."""
    return finish_run(session, run_id, now, status="failed")


def by_fee_item(session: Session, run_id: str) -> list[dict]:
    """What a run billed per fee item: its name, how many bills carry it and their amount."""
    rows = session.execute(
        select(BillLine.fee_item_id, func.max(BillLine.description), func.count(), func.sum(BillLine.amount_fen))
        .join(Bill, Bill.id == BillLine.bill_id)
        .where(Bill.run_id == run_id)
        .group_by(BillLine.fee_item_id)
    ).all()
    names = dict(
        session.execute(select(FeeItem.id, FeeItem.name).where(FeeItem.id.in_([r[0] for r in rows if r[0]]))).all()
    )
    return sorted(
        (
            {"fee_item_id": item, "name": names.get(item) or text, "lines": int(n), "amount": int(amount)}
            for item, text, n, amount in rows
        ),
        key=lambda r: r["name"],
    )


def get_run(session: Session, principal: Principal, run_id: str) -> BillingRun:
    require(principal, *READERS, *MONEY_ROLES)
    run = session.get(BillingRun, run_id, populate_existing=True)
    if run is None or not principal.sees_community(run.community_id):
        raise NotFound(f"billing run {run_id} not found")
    return run


def _issued_data(bill_id, unit_id, community_id, period, amount_fen, due_date, payer_id) -> dict:
    return {
        "bill_id": bill_id,
        "unit_id": unit_id,
        "community_id": community_id,
        "period": period,
        "amount": fen_to_str(amount_fen),
        "due_date": due_date.isoformat(),
        "payer_id": payer_id,
    }


def _charge_entry(community_id: str, unit_id: str, bill_id: str, amount_fen: int, now: datetime, id=None) -> dict:
    return {
        "id": id or str(uuid.uuid4()),
        "community_id": community_id,
        "unit_id": unit_id,
        "kind": "charge",
        "amount_fen": amount_fen,
        "bill_id": bill_id,
        "payment_id": None,
        "reason": None,
        "created_at": now,
    }


class _Item:
    """A fee item's columns as plain attributes: the run reads them once per unit and item."""

    __slots__ = ("id", "name", "kind", "basis", "exempt_floors_max", "rounding")

    def __init__(self, item: FeeItem):
        for name in self.__slots__:
            setattr(self, name, getattr(item, name))


class _Rules:
    __slots__ = ("area_basis", "vacant_discount")

    def __init__(self, policy):
        self.area_basis = policy.area_basis
        self.vacant_discount = policy.vacant_discount


def _occupancies(session: Session, community_id: str, period: Period, tz) -> dict[str, list[tuple]]:
    """unit → [(resident_id, first day, last day)] of occupancies overlapping the period (local dates)."""
    found = defaultdict(list)
    rows = session.execute(select(Occupancy).where(Occupancy.community_id == community_id)).scalars()
    for row in rows:
        if row.moved_in_at is None:
            continue
        first = dbmod.as_utc(row.moved_in_at).astimezone(tz).date()
        # The move-out day is the last day charged to the leaving resident.
        last = dbmod.as_utc(row.moved_out_at).astimezone(tz).date() if row.moved_out_at else date.max
        if first <= period.end and last >= period.start and first <= last:
            found[row.unit_id].append((row.resident_id, first, last))
    for spans in found.values():
        spans.sort(key=lambda span: (span[1], span[0]))
    return found


def _readings(session: Session, community_id: str, period_name: str) -> dict[tuple[str, str], Decimal]:
    rows = session.execute(
        select(MeterReading).where(MeterReading.community_id == community_id, MeterReading.period == period_name)
    ).scalars()
    return {(row.unit_id, row.fee_item_id): row.current - row.previous for row in rows}


def _occupied_days(spans, period: Period) -> int:
    days = set()
    for _, first, last in spans or ():
        start, end = max(first, period.start), min(last, period.end)
        days.update(range(start.toordinal(), end.toordinal() + 1))
    return len(days)


def _payer(spans, period: Period) -> str | None:
    """Who lives there at the end of the period; else the last to live there during it."""
    if not spans:
        return None
    at_end = [span for span in spans if span[1] <= period.end <= span[2]]
    if at_end:
        return at_end[0][0]  # the first to move in of those living there (owner before family)
    return max(spans, key=lambda span: span[2])[0]


def _area(unit, policy) -> Decimal | None:
    if policy.area_basis == "inner" and unit.inner_area_m2 is not None:
        return unit.inner_area_m2
    return unit.gross_area_m2 if unit.gross_area_m2 is not None else unit.area_m2


def _lines_for(unit, items, policy, period: Period, spans, readings) -> list[dict]:
    lines = []
    unit_type = unit.unit_type or "residential"  # unit.* v1 events carried no type: they were homes
    for item, rate, unit_types in items:
        if unit_type not in unit_types:
            continue
        if item.exempt_floors_max is not None and unit.floor is not None and unit.floor <= item.exempt_floors_max:
            continue
        if item.basis == "metered":
            quantity = readings.get((unit.unit_id, item.id))
            if quantity is None or quantity == 0:
                continue
            lines.append(_line(item, f"{item.name} {quantity}", quantity, rate, rate * quantity, None))
            continue
        if item.basis == "per_m2":
            quantity = _area(unit, policy)
            if quantity is None:
                continue
        else:
            quantity = Decimal(1)
        full = rate * quantity * period.months
        discount = policy.vacant_discount
        if item.kind != "property_service" or discount is None:
            lines.append(_line(item, item.name, quantity, rate, full, None))
            continue
        if spans is None:
            occupied = period.days if unit.status in ("occupied", "renovating") else 0
        else:
            occupied = _occupied_days(spans, period)
        vacant = period.days - occupied
        if occupied:
            part = full if not vacant else full * occupied / period.days
            lines.append(_line(item, f"{item.name}（入住{occupied}天）", quantity, rate, part, occupied))
        if vacant:
            part = full * vacant / period.days * (1 - discount)
            # The line is what the bill and the receipt show: Chinese, and 50 % as "50", never Decimal's "5E+1".
            label = f"{item.name}（空置{vacant}天，减免{format((discount * 100).normalize(), 'f')}%）"
            lines.append(_line(item, label, quantity, rate, part, vacant))
    return lines


def _line(item: _Item, description: str, quantity, rate, amount: Decimal, days: int | None) -> dict:
    return {
        "fee_item_id": item.id,
        "description": description[:200],
        "quantity": quantity,
        "rate": rate,
        "days": days,
        "amount_fen": to_fen(amount, item.rounding),
    }


# --- single charges (events and one-off charges) -------------------------------------------------------------------


def issue_charge(
    session: Session,
    settings,
    *,
    community_id: str,
    unit_id: str,
    kind: str,
    source_key: str,
    amount_fen: int,
    description: str,
    payer_id: str | None,
    day: date,
    due_days: int | None = None,
    renovation_id: str | None = None,
    now: datetime,
) -> Bill | None:
    """One bill with one line; None when a bill for this source exists already (a replayed event)."""
    exists = session.execute(
        select(Bill).where(Bill.unit_id == unit_id, Bill.source_key == source_key)
    ).scalar_one_or_none()
    if exists is not None:
        return None
    policy = policy_for(session, community_id, now)
    unit = session.get(BillingUnit, unit_id)
    period = month_of(day)
    bill = Bill(
        id=dbmod.new_id(),
        community_id=community_id,
        unit_id=unit_id,
        building_id=unit.building_id if unit else None,
        zone_id=unit.zone_id if unit else None,
        kind=kind,
        source_key=source_key,
        period=period.name,
        period_start=day,
        period_end=day,
        due_date=add_days(day, policy.due_days if due_days is None else due_days),
        description=description,
        amount_fen=amount_fen,
        credited_fen=0,
        paid_fen=0,
        payer_id=payer_id,
        renovation_id=renovation_id,
        issued_at=now,
    )
    session.add(bill)
    session.add(
        BillLine(
            id=dbmod.new_id(), bill_id=bill.id, description=description, quantity=Decimal(1), amount_fen=amount_fen
        )
    )
    session.add(LedgerEntry(**_charge_entry(community_id, unit_id, bill.id, amount_fen, now)))
    session.flush()
    outboxmod.emit(
        session,
        outbox,
        settings,
        type=BILL_ISSUED,
        subject=f"bill/{bill.id}",
        community=community_id,
        data=_issued_data(bill.id, unit_id, community_id, bill.period, amount_fen, bill.due_date, payer_id),
        time=now,
    )
    from .payments import apply_prepaid

    apply_prepaid(session, {unit_id}, now)
    return bill


def create_one_off(
    session: Session,
    settings,
    principal: Principal,
    data: dict,
    today: date,
    fetch_unit=None,
    fetch_resident=None,
    *,
    now: datetime,
) -> Bill:
    require(principal, *MONEY_ROLES)
    if data.get("due_date") and data["due_date"] < today:
        raise Invalid("due_date", "must not be in the past")
    unit = find_unit(session, data["unit_id"], fetch_unit)
    if unit is None or not principal.sees_community(unit.community_id):
        raise Invalid("unit_id", "no such unit in your communities")
    check_payer(session, data.get("payer_id"), unit, fetch_resident)
    bill = issue_charge(
        session,
        settings,
        community_id=unit.community_id,
        unit_id=unit.unit_id,
        kind="one_off",
        source_key=f"one_off:{dbmod.new_id()}",
        amount_fen=data["amount"],
        description=data["description"],
        payer_id=data.get("payer_id"),
        day=today,
        due_days=(data["due_date"] - today).days if data.get("due_date") else None,
        now=now,
    )
    return bill


def credit_bill(
    session: Session, principal: Principal, bill_id: str, amount_fen: int, reason: str, now: datetime
) -> Bill:
    """A correction: a credit entry lowers what the bill asks for; the bill and its lines stay as issued."""
    require(principal, *MONEY_ROLES)
    bill = _locked_bill(session, principal, bill_id)
    if amount_fen > bill.outstanding_fen:
        raise Invalid("amount", f"more than the {fen_to_str(bill.outstanding_fen)} outstanding on the bill")
    bill.credited_fen += amount_fen
    session.add(
        LedgerEntry(
            id=dbmod.new_id(),
            community_id=bill.community_id,
            unit_id=bill.unit_id,
            kind="credit",
            amount_fen=-amount_fen,
            bill_id=bill.id,
            reason=reason,
            created_at=now,
        )
    )
    session.flush()
    return bill


def _locked_bill(session: Session, principal: Principal, bill_id: str) -> Bill:
    query = select(Bill).where(Bill.id == bill_id).execution_options(populate_existing=True)
    if dbmod.is_postgres(session):
        query = query.with_for_update()
    bill = session.execute(query).scalar_one_or_none()
    if bill is None or not principal.sees_community(bill.community_id):
        raise NotFound(f"bill {bill_id} not found")
    return bill


# --- reading -------------------------------------------------------------------------------------------------------


def scope_bills(query, principal: Principal):
    """Residents their own units' bills; butlers their zones; other staff their communities."""
    if principal.instance_wide:
        return query
    if principal.role == "resident":
        return query.where(lives_in(principal, Bill.unit_id, Bill.issued_at))
    if principal.role not in FACT_READERS or not principal.communities:
        return query.where(false())
    query = query.where(Bill.community_id.in_(principal.communities))
    if principal.role == "butler":
        query = query.where(Bill.zone_id.in_(principal.zones) if principal.zones else false())
    return query


def list_bills(principal: Principal, filters: dict):
    query = scope_bills(select(Bill), principal).order_by(Bill.due_date.desc(), Bill.issued_at.desc(), Bill.id)
    for name in ("community_id", "unit_id", "period", "kind", "zone_id", "building_id"):
        if filters.get(name):
            query = query.where(getattr(Bill, name) == filters[name])
    status = filters.get("status")
    if status == "open":
        query = query.where(Bill.amount_fen > Bill.credited_fen + Bill.paid_fen)
    elif status == "settled":
        query = query.where(Bill.amount_fen <= Bill.credited_fen + Bill.paid_fen)
    return query


def get_bill(session: Session, principal: Principal, bill_id: str) -> Bill:
    bill = session.execute(scope_bills(select(Bill).where(Bill.id == bill_id), principal)).scalar_one_or_none()
    if bill is None:
        raise NotFound(f"bill {bill_id} not found")
    return bill


def lines_of(session: Session, bill_id: str) -> list[BillLine]:
    return list(session.execute(select(BillLine).where(BillLine.bill_id == bill_id).order_by(BillLine.id)).scalars())


def late_fee_fen(policy, bill: Bill, today: date) -> int:
    """Accrued late fee (违约金): off unless the community enables it; simple interest on the unpaid principal
    after the grace days, capped, never compounding (it is never charged on itself). It is shown, not billed:
    the law requires notice before a late fee is demanded."""
    outstanding = bill.outstanding_fen
    if not policy.late_fee_enabled or outstanding <= 0 or bill.kind == "deposit":
        return 0
    days = (today - bill.due_date).days - policy.late_fee_grace_days
    if days <= 0:
        return 0
    fee = Decimal(outstanding) * policy.late_fee_daily_rate * days
    cap = Decimal(bill.amount_fen - bill.credited_fen) * policy.late_fee_cap
    return int(min(fee, cap).to_integral_value())


def list_runs(principal: Principal, community_id: str):
    require(principal, *READERS, *MONEY_ROLES)
    require_community(principal, community_id)
    return (
        select(BillingRun)
        .where(BillingRun.community_id == community_id)
        .order_by(BillingRun.started_at.desc(), BillingRun.id)
    )


def unit_balance(session: Session, unit_id: str) -> dict:
    """The unit's account: ledger sum, outstanding bills, prepaid money (the ledger sum = outstanding − prepaid)."""
    ledger = session.execute(
        select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).where(LedgerEntry.unit_id == unit_id)
    ).scalar_one()
    outstanding = session.execute(
        select(func.coalesce(func.sum(Bill.amount_fen - Bill.credited_fen - Bill.paid_fen), 0)).where(
            Bill.unit_id == unit_id
        )
    ).scalar_one()
    prepaid = session.execute(
        select(func.coalesce(func.sum(Allocation.amount_fen), 0)).where(
            and_(Allocation.unit_id == unit_id, Allocation.bill_id.is_(None))
        )
    ).scalar_one()
    return {"ledger_fen": int(ledger), "outstanding_fen": int(outstanding), "prepaid_fen": int(prepaid)}
