"""Arrears with ageing, the collection list (催缴清单), collection-rate KPIs, monthly and weekly fee reports."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select, text
from sqlalchemy.orm import Session

from guanjia import db as dbmod
from guanjia.auth import Principal
from guanjia.db import is_postgres
from guanjia.errors import Invalid
from guanjia.money import fen_to_str, parse_period, sub_periods

from ..models import (
    Allocation,
    Bill,
    BillingUnit,
    BillingZone,
    BillLine,
    CollectionNote,
    FeeItem,
    OverdueNotice,
    Payment,
)
from .common import COLLECTORS, MONEY_ROLES, READERS, policy_for, require, require_community
from .units import butlers_by_zone

BUCKETS = (("0-30", 0, 30), ("31-90", 31, 90), ("91-180", 91, 180), ("181-365", 181, 365), ("over_365", 366, None))
GROUPS = ("unit", "building", "zone", "butler", "community")


def _bucket(days: int) -> str:
    for name, low, high in BUCKETS:
        if days >= low and (high is None or days <= high):
            return name
    return BUCKETS[0][0]


def _zone_filter(principal: Principal):
    """A butler's reports cover their zones; everyone else's the whole community."""
    if principal.role == "butler":
        return Bill.zone_id.in_(principal.zones or ("",))
    return None


def _check_reader(principal: Principal, community_id: str, *also: str) -> None:
    require(principal, *READERS, *MONEY_ROLES, *also)
    require_community(principal, community_id)


def _end_of_day(settings, day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), ZoneInfo(settings.timezone))


def _plan_as_a_report(session: Session) -> None:
    """Planner settings for this transaction's report statements. A large table's estimates cross the JIT threshold,
    and the compilation alone costs more than the queries (tens of ms); once psycopg prepares the statements,
    PostgreSQL's generic plan (no dates known) scans where the dates allow an index (572 ms against 155 ms a call at
    30,000 units), so each statement is planned with its values; the per-unit sums of a large community's open
    bills are hashed in memory rather than spilled to disk (14 MB at 100,000 units); and no parallel workers: the
    reports come several at once (the dashboard asks six calls together), where workers cost more CPU than they save
    (at 100,000 units the dashboard's collection rate 196 → 108 ms and arrears 163 → 113 ms without them)."""
    if is_postgres(session):
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        session.execute(text("SET LOCAL work_mem = '64MB'"))
        session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))


def arrears(
    session: Session,
    settings,
    principal: Principal,
    community_id: str,
    group_by: str,
    as_of: date,
    staff: dict | None = None,
) -> dict:
    """Overdue money (due before `as_of`, still unpaid) grouped with ageing buckets by days past due."""
    _check_reader(principal, community_id)
    _plan_as_a_report(session)
    query = select(
        Bill.unit_id, Bill.building_id, Bill.zone_id, Bill.due_date, Bill.amount_fen - Bill.credited_fen - Bill.paid_fen
    ).where(
        Bill.community_id == community_id,
        Bill.kind != "deposit",
        Bill.amount_fen > Bill.credited_fen + Bill.paid_fen,
        Bill.due_date < as_of,
    )
    if (zone := _zone_filter(principal)) is not None:
        query = query.where(zone)
    butlers = butlers_by_zone(session, community_id) if group_by == "butler" else {}
    groups: dict = defaultdict(lambda: {"total": 0, "bills": 0, "units": set(), **{b[0]: 0 for b in BUCKETS}})
    if group_by in SUMMED:
        groups.update(_arrears_summed(session, query, SUMMED[group_by], as_of))
    for unit_id, building_id, zone_id, due_date, outstanding in (
        [] if group_by in SUMMED else session.execute(query).all()
    ):
        keys = {
            "unit": [unit_id],
            "building": [building_id],
            "zone": [zone_id],
            "butler": butlers.get(zone_id) or [None],
            "community": [community_id],
        }[group_by]
        for key in keys:
            group = groups[key]
            group["total"] += int(outstanding)
            group["bills"] += 1
            group["units"].add(unit_id)
            group[_bucket((as_of - due_date).days)] += int(outstanding)
    numbers = _unit_numbers(session, [k for k in groups]) if group_by == "unit" else {}
    names = group_names(session, community_id, group_by, staff)
    items = []
    for key, group in sorted(groups.items(), key=lambda kv: (-kv[1]["total"], str(kv[0]))):
        item = {
            "key": key,
            "total": fen_to_str(group["total"]),
            "bills": group["bills"],
            "units": group["units"] if isinstance(group["units"], int) else len(group["units"]),
            "buckets": {name: fen_to_str(group[name]) for name, _, _ in BUCKETS},
        }
        if group_by == "unit":
            item["unit_number"] = numbers.get(key)
        else:
            item["name"] = names.get(key)
        items.append(item)
    total = sum(group["total"] for group in groups.values())
    return {
        "community_id": community_id,
        "group_by": group_by,
        "as_of": as_of,
        "total": fen_to_str(total),
        "items": items,
    }


# Groupings whose figures PostgreSQL sums (a unit's bills are in one building and zone): the community's open bills
# are not sent to Python one by one (165,000 rows at 100,000 units). Units and butlers (a zone may have several
# butlers, a butler several zones) are counted from the rows.
SUMMED = {"zone": "zone_id", "building": "building_id", "community": "community_id"}


def _arrears_summed(session: Session, query, key: str, as_of: date) -> dict:
    """The arrears query's bills summed per `key` column in the database: total, bills, distinct units and each
    age bucket (days past due at `as_of` as `_bucket` counts them, compared as due dates)."""
    bills = query.add_columns(Bill.community_id).subquery()
    outstanding = list(bills.c)[4]
    sums = []
    for _name, low, high in BUCKETS:
        inside = bills.c.due_date <= as_of - timedelta(days=low)
        if high is not None:
            inside = inside & (bills.c.due_date >= as_of - timedelta(days=high))
        sums.append(func.sum(case((inside, outstanding), else_=0)))
    # Summed per unit first, then per key: the units are counted as rows of the first sums (hashed), not by the
    # sort a count(DISTINCT unit_id) needs (165,000 open bills of a community at 100,000 units).
    per_unit = (
        select(
            bills.c[key].label("key"),
            func.sum(outstanding).label("total"),
            func.count().label("bills"),
            *(total.label(name) for (name, _, _), total in zip(BUCKETS, sums, strict=True)),
        )
        .group_by(bills.c[key], bills.c.unit_id)
        .subquery()
    )
    found = session.execute(
        select(
            per_unit.c.key,
            func.sum(per_unit.c.total),
            func.sum(per_unit.c.bills),
            func.count(),
            *(func.sum(per_unit.c[name]) for name, _, _ in BUCKETS),
        ).group_by(per_unit.c.key)
    ).all()
    return {
        row[0]: {
            "total": int(row[1]),
            "bills": int(row[2]),
            "units": int(row[3]),
            **{name: int(value) for (name, _, _), value in zip(BUCKETS, row[4:], strict=True)},
        }
        for row in found
    }


def group_names(session: Session, community_id: str, group_by: str, staff: dict | None) -> dict:
    """Display names of the groups: zones from billing's zone projection, butlers from the gateway's staff names
    (`staff`, fetched once by the caller); other groupings have none (units carry their number)."""
    if group_by == "zone":
        rows = session.execute(
            select(BillingZone.zone_id, BillingZone.name).where(BillingZone.community_id == community_id)
        )
        return dict(rows.all())
    if group_by == "butler":
        return dict(staff or {})
    return {}


def _unit_numbers(session: Session, unit_ids: list[str]) -> dict:
    if not unit_ids:
        return {}
    rows = session.execute(select(BillingUnit.unit_id, BillingUnit.number).where(BillingUnit.unit_id.in_(unit_ids)))
    return dict(rows.all())


def collection_list(
    session: Session, settings, principal: Principal, community_id: str, zone_id: str | None, as_of: date
) -> dict:
    """Units in arrears, most owed first, with their latest contact notes: the butler's 催缴清单."""
    require(principal, *COLLECTORS)
    require_community(principal, community_id)
    if principal.role == "butler" and zone_id and zone_id not in principal.zones:
        return {"community_id": community_id, "as_of": as_of, "items": []}
    query = select(
        Bill.unit_id,
        Bill.zone_id,
        func.sum(Bill.amount_fen - Bill.credited_fen - Bill.paid_fen),
        func.min(Bill.due_date),
        func.count(),
        func.max(Bill.payer_id),
    ).where(
        Bill.community_id == community_id,
        Bill.kind != "deposit",
        Bill.amount_fen > Bill.credited_fen + Bill.paid_fen,
        Bill.due_date < as_of,
    )
    if zone_id:
        query = query.where(Bill.zone_id == zone_id)
    if (zone := _zone_filter(principal)) is not None:
        query = query.where(zone)
    rows = session.execute(query.group_by(Bill.unit_id, Bill.zone_id)).all()
    notes = defaultdict(list)
    unit_ids = [row[0] for row in rows]
    if unit_ids:
        for note in session.execute(
            select(CollectionNote)
            .where(CollectionNote.unit_id.in_(unit_ids))
            .order_by(CollectionNote.created_at.desc())
        ).scalars():
            if len(notes[note.unit_id]) < 3:
                notes[note.unit_id].append(note)
    numbers = _unit_numbers(session, unit_ids)
    reminded = _last_reminders(session, community_id, unit_ids)
    items = [
        {
            "unit_id": unit_id,
            "unit_number": numbers.get(unit_id),
            "zone_id": zone,
            "amount_due": fen_to_str(int(total)),
            "oldest_due_date": oldest,
            "days_overdue": (as_of - oldest).days,
            "bills": count,
            "payer_id": payer,
            "notes": notes.get(unit_id, []),
            "last_reminder": reminded.get(unit_id),
        }
        for unit_id, zone, total, oldest, count, payer in sorted(rows, key=lambda r: (-int(r[2]), r[0]))
    ]
    return {"community_id": community_id, "as_of": as_of, "items": items}


def _last_reminders(session: Session, community_id: str, unit_ids: list) -> dict:
    """{unit_id: {stage, noticed_on}}: the newest overdue reminder (fee.overdue) sent for any bill of the unit."""
    found: dict = {}
    if not unit_ids:
        return found
    query = (
        select(Bill.unit_id, OverdueNotice.stage, OverdueNotice.noticed_on)
        .join(OverdueNotice, OverdueNotice.bill_id == Bill.id)
        .where(Bill.community_id == community_id, Bill.unit_id.in_(unit_ids))
    )
    ranks = {"first": 1, "second": 2, "final": 3}
    for unit_id, stage, noticed_on in session.execute(query).all():
        known = found.get(unit_id)
        if known is None or (noticed_on, ranks.get(stage, 0)) > (known["noticed_on"], ranks.get(known["stage"], 0)):
            found[unit_id] = {"stage": stage, "noticed_on": noticed_on}
    return found


def add_note(session: Session, principal: Principal, data: dict, now: datetime) -> CollectionNote:
    require(principal, *COLLECTORS)
    unit = session.get(BillingUnit, data["unit_id"])
    if unit is None or not principal.sees_community(unit.community_id):
        raise Invalid("unit_id", "no such unit in your communities")
    if principal.role == "butler" and not principal.sees_zone(unit.community_id, unit.zone_id):
        raise Invalid("unit_id", "no such unit in your zones")
    note = CollectionNote(
        id=dbmod.new_id(),
        community_id=unit.community_id,
        unit_id=unit.unit_id,
        author=principal.subject,
        outcome=data["outcome"],
        promised_on=data.get("promised_on"),
        note=data["note"],
        created_at=now,
    )
    session.add(note)
    session.flush()
    return note


# --- KPIs ----------------------------------------------------------------------------------------------------------


def _ratio(part: int, whole: int) -> str | None:
    if whole <= 0:
        return None
    return str((Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN))


def collection_rate(
    session: Session,
    settings,
    principal: Principal,
    community_id: str,
    period_name: str,
    group_by: str,
    as_of: date,
    staff: dict | None = None,
    *,
    now: datetime,
) -> dict:
    """收缴率 = collected on the period's bills ÷ their receivable; 清欠率 = collected during the period on older
    bills ÷ what they owed at its start; target, gap and a linear projection to the period's end. Staff's
    scorecards ask it too, with their service credential (the figures by butler, never billing's database)."""
    rates = collection_rates(session, settings, principal, community_id, period_name, [group_by], as_of, staff, now=now)
    return rates[group_by]


def collection_rates(
    session: Session,
    settings,
    principal: Principal,
    community_id: str,
    period_name: str,
    groupings: list[str],
    as_of: date,
    staff: dict | None = None,
    *,
    now: datetime,
) -> dict[str, dict]:
    """collection_rate's report for each grouping of `groupings` ({grouping: report}): the database's figures are
    per zone and read once, whatever the groupings (the dashboard asks by zone and by butler)."""
    _check_reader(principal, community_id, "service")
    try:
        period = parse_period(period_name)
    except ValueError as exc:
        raise Invalid("period", str(exc)) from None
    tz = ZoneInfo(settings.timezone)
    start = datetime.combine(period.start, time(), tz)
    # Collected by `as_of`, as the docs say: a payment made after the period ends still counts for a later as_of.
    cutoff = _end_of_day(settings, as_of)
    # 清欠率 counts what was recovered *during* the period.
    recovery_cutoff = _end_of_day(settings, min(as_of, period.end))
    zones: dict = defaultdict(lambda: defaultdict(int))
    _plan_as_a_report(session)
    base = [Bill.community_id == community_id, Bill.kind != "deposit"]
    if (zone := _zone_filter(principal)) is not None:
        base.append(zone)
    # Allocations are signed and kept (a move or a reversal is new rows) and paid_fen is their sum, so what a bill
    # had been paid by a moment is paid_fen minus what was allocated to it since: the report reads only the
    # allocations made after the moments it asks about (few, by created_at), never a bill's whole history.
    open_bill = Bill.amount_fen > Bill.credited_fen + Bill.paid_fen
    # This period's bills: receivable and what was collected on them by the cut-off.
    current = [*base, Bill.period.in_(sub_periods(period))]
    rows = session.execute(
        select(Bill.zone_id, func.sum(Bill.amount_fen - Bill.credited_fen), func.sum(Bill.paid_fen))
        .where(*current)
        .group_by(Bill.zone_id)
    ).all()
    # Paid into after the cut-off: what they had been paid by it is paid_fen minus that.
    later = _allocated_since(session, cutoff, period_ends=(period.start, period.end))
    for zone_id, bill_id, _outstanding in _bills_among(session, later, current):
        zones[zone_id]["collected"] -= later[bill_id][0]
    for zone_id, receivable, paid in rows:
        zones[zone_id]["receivable"] += int(receivable)
        zones[zone_id]["collected"] += int(paid)
    # Older bills: owed at the period's start (outstanding today plus what was allocated since the start),
    # recovered between the start and the cut-off. Only the bills open today and those paid into since the start
    # can have owed something at it. The open ones are summed from their index as they are today; those paid into
    # since the start (found by the period end kept on each allocation, never by reading every bill paid into since)
    # then replace their today's figure with what they owed at the start.
    older = [*base, Bill.period_end < period.start]
    outstanding = Bill.amount_fen - Bill.credited_fen - Bill.paid_fen
    for zone_id, owed_today in session.execute(
        select(Bill.zone_id, func.sum(outstanding)).where(*older, open_bill).group_by(Bill.zone_id)
    ).all():
        zones[zone_id]["arrears_at_start"] += int(owed_today)
    since = _allocated_since(
        session, start, period_ends=(None, period.start - timedelta(days=1)), until=recovery_cutoff
    )
    for zone_id, bill_id, owed_today in _bills_among(session, since, older):
        paid_since, recovered = since[bill_id]
        zones[zone_id]["arrears_at_start"] -= max(owed_today, 0)  # summed above if it is open
        if owed_today + paid_since > 0:
            zones[zone_id]["arrears_at_start"] += owed_today + paid_since
            zones[zone_id]["recovered"] += recovered

    policy = policy_for(session, community_id, now)
    target = policy.collection_target
    elapsed = max(0, min((as_of - period.start).days + 1, period.days))
    butlers = butlers_by_zone(session, community_id) if "butler" in groupings else {}
    reports = {}
    for group_by in groupings:
        groups: dict = defaultdict(lambda: defaultdict(int))
        for zone_id, sums in zones.items():
            keys = {"community": [community_id], "zone": [zone_id], "butler": butlers.get(zone_id) or [None]}
            for key in keys[group_by]:
                for name, value in sums.items():
                    groups[key][name] += value
        names = group_names(session, community_id, group_by, staff)
        reports[group_by] = {
            "community_id": community_id,
            "period": period.name,
            "as_of": as_of,
            "group_by": group_by,
            "items": _rate_items(groups, names, target, period, elapsed),
        }
    return reports


def _allocated_since(session: Session, moment: datetime, period_ends: tuple, until: datetime | None = None) -> dict:
    """{bill_id: (allocated since `moment`, of which before `until`)} for the bills whose period ends within
    `period_ends` (from, to; None: open-ended), from the allocations' index alone: each allocation keeps its bill's
    period end, so the bills of other periods paid into since are never read."""
    low, high = period_ends
    during = (
        Allocation.amount_fen
        if until is None
        else case((Allocation.created_at < until, Allocation.amount_fen), else_=0)
    )
    query = (
        select(Allocation.bill_id, func.sum(Allocation.amount_fen), func.sum(during))
        .where(Allocation.created_at >= moment, Allocation.bill_id.is_not(None))
        .group_by(Allocation.bill_id)
    )
    within = []
    if low is not None:
        within.append(Allocation.bill_period_end >= low)
    if high is not None:
        within.append(Allocation.bill_period_end <= high)
    if within:
        # Without a period end: written by the previous release during a rolling upgrade (before migration 0008
        # the column did not exist); kept, the bill's own conditions decide.
        query = query.where(or_(Allocation.bill_period_end.is_(None), and_(*within)))
    return {bill_id: (int(total), int(part)) for bill_id, total, part in session.execute(query).all()}


def _bills_among(session: Session, bill_ids, conditions: list, chunk: int = 5000):
    """(zone_id, id, outstanding) of the bills of `bill_ids` that meet `conditions`, looked up by id in chunks (the
    planner cannot know how few the allocations' filters leave, so the bills are fetched by key, not joined)."""
    ids = list(bill_ids)
    for offset in range(0, len(ids), chunk):
        yield from session.execute(
            select(Bill.zone_id, Bill.id, Bill.amount_fen - Bill.credited_fen - Bill.paid_fen).where(
                Bill.id.in_(ids[offset : offset + chunk]), *conditions
            )
        ).all()


def _rate_items(groups: dict, names: dict, target: Decimal, period, elapsed: int) -> list[dict]:
    """The report's rows of one grouping: rates, target, gap and projection from each group's sums."""
    items = []
    for key, group in sorted(groups.items(), key=lambda kv: str(kv[0])):
        rate = _ratio(group["collected"], group["receivable"])
        projected = None
        if rate is not None and elapsed:
            share = Decimal(group["collected"]) * period.days / (Decimal(group["receivable"]) * elapsed)
            projected = str(min(share, Decimal(1)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN))
        items.append(
            {
                "key": key,
                "name": names.get(key),
                "receivable": fen_to_str(group["receivable"]),
                "collected": fen_to_str(group["collected"]),
                "collection_rate": rate,
                "target": str(target.quantize(Decimal("0.0001"))),
                "gap": str((target - Decimal(rate)).quantize(Decimal("0.0001"))) if rate is not None else None,
                "projected_rate": projected,
                "arrears_at_start": fen_to_str(group["arrears_at_start"]),
                "recovered": fen_to_str(group["recovered"]),
                "arrears_recovery_rate": _ratio(group["recovered"], group["arrears_at_start"]),
            }
        )
    return items


# --- monthly and weekly reports ------------------------------------------------------------------------------------


def _payments_between(session: Session, principal, community_id: str, start: datetime, end: datetime) -> list:
    return session.execute(
        select(Payment.method, Payment.amount_fen, Payment.status, Payment.received_at).where(
            Payment.community_id == community_id, Payment.received_at >= start, Payment.received_at < end
        )
    ).all()


def monthly_report(
    session: Session, settings, principal: Principal, community_id: str, month: str, *, now: datetime
) -> dict:
    """月度物业费分析: the month's receivable and collection by fee item and zone, payments by method, arrears."""
    _check_reader(principal, community_id)
    try:
        period = parse_period(month)
    except ValueError as exc:
        raise Invalid("month", str(exc)) from None
    if period.months != 1:
        raise Invalid("month", 'must be a month, like "2026-11"')
    rate = collection_rate(session, settings, principal, community_id, month, "community", period.end, now=now)
    by_zone = collection_rate(session, settings, principal, community_id, month, "zone", period.end, now=now)["items"]
    lines = session.execute(
        select(FeeItem.name, func.sum(BillLine.amount_fen), func.count(func.distinct(Bill.id)))
        .select_from(BillLine)
        .join(Bill, Bill.id == BillLine.bill_id)
        .outerjoin(FeeItem, FeeItem.id == BillLine.fee_item_id)
        .where(Bill.community_id == community_id, Bill.period == month, Bill.kind != "deposit")
        .group_by(FeeItem.name)
    ).all()
    tz = ZoneInfo(settings.timezone)
    start = datetime.combine(period.start, time(), tz)
    end = _end_of_day(settings, period.end)
    methods = _by_method(_payments_between(session, principal, community_id, start, end))
    total = rate["items"][0] if rate["items"] else None
    return {
        "community_id": community_id,
        "month": month,
        "summary": total,
        "by_fee_item": [
            {"fee_item": name or "other charges", "receivable": fen_to_str(int(amount)), "bills": count}
            for name, amount, count in sorted(lines, key=lambda r: str(r[0]))
        ],
        "by_zone": by_zone,
        "payments_by_method": methods,
        "arrears": arrears(session, settings, principal, community_id, "community", period.end + timedelta(days=1))[
            "items"
        ],
        "arrears_by_zone": arrears(session, settings, principal, community_id, "zone", period.end + timedelta(days=1))[
            "items"
        ],
    }


def _collected_by_zone(session: Session, principal, community_id: str, start: datetime, end: datetime) -> dict:
    """{zone: fen} settled on bills between start and end (payments less their reversals), by the bill's zone."""
    query = (
        select(Bill.zone_id, func.sum(Allocation.amount_fen))
        .join(Allocation, Allocation.bill_id == Bill.id)
        .where(Bill.community_id == community_id, Allocation.created_at >= start, Allocation.created_at < end)
        .group_by(Bill.zone_id)
    )
    if (zone := _zone_filter(principal)) is not None:
        query = query.where(zone)
    return {zone_id: int(total or 0) for zone_id, total in session.execute(query).all()}


def _by_method(payments) -> list[dict]:
    totals = defaultdict(lambda: [0, 0])
    for method, amount, status, _ in payments:
        if status == "reversed":
            continue
        totals[method][0] += 1
        totals[method][1] += int(amount)
    return [{"method": m, "payments": c, "amount": fen_to_str(a)} for m, (c, a) in sorted(totals.items())]


def weekly_report(
    session: Session, settings, principal: Principal, community_id: str, week_of: date, *, now: datetime
) -> dict:
    """Weekly fee report: the week's (Mon–Sun) payments by day and method and the month's collection rate at the
    week's end compared with its start."""
    _check_reader(principal, community_id)
    monday = week_of - timedelta(days=week_of.weekday())
    sunday = monday + timedelta(days=6)
    tz = ZoneInfo(settings.timezone)
    start = datetime.combine(monday, time(), tz)
    end = _end_of_day(settings, sunday)
    payments = _payments_between(session, principal, community_id, start, end)
    by_day = defaultdict(int)
    for _, amount, status, received_at in payments:
        if status != "reversed":
            by_day[dbmod.as_utc(received_at).astimezone(tz).date()] += int(amount)
    month = f"{sunday.year}-{sunday.month:02d}"
    day_before = monday - timedelta(days=1)
    before = collection_rate(session, settings, principal, community_id, month, "community", day_before, now=now)
    after = collection_rate(session, settings, principal, community_id, month, "community", sunday, now=now)
    by_zone = collection_rate(session, settings, principal, community_id, month, "zone", sunday, now=now)["items"]
    in_week = _collected_by_zone(session, principal, community_id, start, end)
    owed = arrears(session, settings, principal, community_id, "zone", sunday + timedelta(days=1))
    return {
        "community_id": community_id,
        "week_start": monday,
        "week_end": sunday,
        "collected": fen_to_str(sum(by_day.values())),
        "by_zone": [{**row, "collected_in_week": fen_to_str(in_week.get(row["key"], 0))} for row in by_zone],
        "arrears_total": owed["total"],
        "arrears_by_zone": owed["items"],
        "payments_by_day": [
            {"date": monday + timedelta(days=i), "amount": fen_to_str(by_day.get(monday + timedelta(days=i), 0))}
            for i in range(7)
        ],
        "payments_by_method": _by_method(payments),
        "collection_rate_at_start": before["items"][0]["collection_rate"] if before["items"] else None,
        "collection_rate_at_end": after["items"][0]["collection_rate"] if after["items"] else None,
        "month": month,
    }


METHOD_LABELS = {"cash": "现金", "wechat": "微信支付", "alipay": "支付宝", "bank_transfer": "银行转账", "card": "刷卡"}
BUCKET_LABELS = {"0-30": "0–30 天", "31-90": "31–90 天", "91-180": "91–180 天", "181-365": "181–365 天"}
BUCKET_LABELS["over_365"] = "365 天以上"
RATE_COLUMNS = (
    ("receivable", "应收", "money"),
    ("collected", "实收", "money"),
    ("collection_rate", "收缴率", "percent"),
    ("target", "目标", "percent"),
    ("gap", "差距", "percent"),
    ("projected_rate", "预计收缴率", "percent"),
    ("arrears_at_start", "期初欠费", "money"),
    ("recovered", "清欠金额", "money"),
    ("arrears_recovery_rate", "清欠率", "percent"),
)


def to_xlsx(title: str, report: dict, timezone: str = "Asia/Shanghai") -> bytes:
    """A monthly or weekly fee report as a workbook in guanjia.workbook's house style: Chinese headers and labels,
    money as ¥ numbers, rates as percentages, names instead of ids."""
    from guanjia.workbook import Column, Workbook

    book = Workbook(timezone)

    def method_sheet():
        book.sheet(
            "按支付方式",
            [Column("支付方式"), Column("笔数", "int"), Column("金额", "money")],
            [
                [METHOD_LABELS.get(r["method"], r["method"]), r["payments"], r["amount"]]
                for r in report["payments_by_method"]
            ],
        )

    if "month" in report and "summary" in report:
        summary = report["summary"] or {}
        book.pairs(
            "汇总",
            [
                ("报表", f"月度物业费分析 {report['month']}"),
                *((h, summary.get(k), kind) for k, h, kind in RATE_COLUMNS),
            ],
        )
        book.sheet(
            "按收费项目",
            [Column("收费项目"), Column("应收", "money"), Column("账单数", "int")],
            [
                [r["fee_item"] if r["fee_item"] != "other charges" else "其他费用", r["receivable"], r["bills"]]
                for r in report["by_fee_item"]
            ],
        )
        book.sheet(
            "按片区",
            [Column("片区"), *(Column(h, kind) for _, h, kind in RATE_COLUMNS)],
            [
                [r.get("name") or r["key"] or "未分片区", *(r.get(k) for k, _, _ in RATE_COLUMNS)]
                for r in report["by_zone"]
            ],
        )
        method_sheet()
        arrears_rows = [
            [r["total"], r["bills"], r["units"], *(r["buckets"][b] for b, _, _ in BUCKETS)] for r in report["arrears"]
        ]
        book.sheet(
            "欠费账龄",
            [Column("欠费合计", "money"), Column("账单数", "int"), Column("户数", "int")]
            + [Column(BUCKET_LABELS[b], "money") for b, _, _ in BUCKETS],
            arrears_rows,
        )
    else:
        book.pairs(
            "汇总",
            [
                ("报表", f"物业费周报 {report['week_start']} 至 {report['week_end']}"),
                ("周一", report["week_start"], "date"),
                ("周日", report["week_end"], "date"),
                ("统计月份", report["month"]),
                ("周初收缴率", report["collection_rate_at_start"], "percent"),
                ("周末收缴率", report["collection_rate_at_end"], "percent"),
            ],
        )
        book.sheet(
            "按日收款",
            [Column("日期", "date"), Column("金额", "money")],
            [[r["date"], r["amount"]] for r in report["payments_by_day"]],
        )
        method_sheet()
    return book.to_bytes()
