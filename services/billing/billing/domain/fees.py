"""Fee rules of a community: its policy, fee items and their dated rates, and meter readings."""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanjia import db as dbmod
from guanjia.auth import Principal
from guanjia.errors import Conflict, Invalid, NotFound

from ..models import BillingUnit, FeeItem, FeeRate, MeterReading, Policy
from .common import MONEY_ROLES, READERS, policy_for, require, require_community

# The unit types a fee item applies to when the request does not say.
DEFAULT_UNIT_TYPES = {
    "property_service": ["residential", "shop", "storage"],
    "elevator": ["residential", "shop"],
    "parking": ["parking"],
}
ALL_UNIT_TYPES = ["residential", "shop", "parking", "storage"]
# The bases that make sense for each kind of fee. Heating (采暖费) is metered where flats have heat meters and
# charged by area where they have not (most northern communities); the elevator fee by area or per unit.
ALLOWED_BASES = {
    "property_service": ("per_m2",),
    "elevator": ("per_m2", "per_unit"),
    "parking": ("per_space",),
    "water": ("metered",),
    "electricity": ("metered",),
    "gas": ("metered",),
    "heating": ("metered", "per_m2"),
}


def get_policy(session: Session, principal: Principal, community_id: str, now: datetime) -> Policy:
    require(principal, *READERS, *MONEY_ROLES)
    require_community(principal, community_id)
    return policy_for(session, community_id, now)


def update_policy(session: Session, principal: Principal, community_id: str, changes: dict, now: datetime) -> Policy:
    require(principal, *MONEY_ROLES)
    require_community(principal, community_id)
    policy = policy_for(session, community_id, now, lock=True)
    merged = {
        name: changes.get(name, getattr(policy, name))
        for name in ("reminder_first_days", "reminder_second_days", "reminder_final_days")
    }
    if not merged["reminder_first_days"] < merged["reminder_second_days"] < merged["reminder_final_days"]:
        raise Invalid("reminder_second_days", "reminder days must grow: first < second < final")
    for name, value in changes.items():
        setattr(policy, name, value)
    policy.updated_at = now
    return policy


def create_fee_item(session: Session, principal: Principal, data: dict, now: datetime) -> FeeItem:
    require(principal, *MONEY_ROLES)
    require_community(principal, data["community_id"])
    kind, basis = data["kind"], data["basis"]
    allowed = ALLOWED_BASES.get(kind, ())
    if basis not in allowed:
        raise Invalid("basis", f"a {kind} fee is charged {' or '.join(allowed)}")
    item = FeeItem(
        id=dbmod.new_id(),
        community_id=data["community_id"],
        name=data["name"],
        kind=kind,
        basis=basis,
        unit_types=json.dumps(data.get("unit_types") or DEFAULT_UNIT_TYPES.get(kind, ALL_UNIT_TYPES)),
        exempt_floors_max=data.get("exempt_floors_max"),
        rounding=data.get("rounding", "half_even"),
        active=True,
        created_at=now,
    )
    session.add(item)
    session.flush()
    add_rate(session, principal, item.id, {"rate": data["rate"], "effective_from": data["effective_from"]}, now)
    return item


def _item(session: Session, principal: Principal, fee_item_id: str) -> FeeItem:
    item = session.get(FeeItem, fee_item_id)
    if item is None or not principal.sees_community(item.community_id):
        raise NotFound(f"fee item {fee_item_id} not found")
    return item


def get_fee_item(session: Session, principal: Principal, fee_item_id: str) -> FeeItem:
    require(principal, *READERS, *MONEY_ROLES)
    return _item(session, principal, fee_item_id)


def update_fee_item(session: Session, principal: Principal, fee_item_id: str, changes: dict) -> FeeItem:
    """Rename an item or stop (restart) charging it from the next run on; issued bills keep their lines."""
    require(principal, *MONEY_ROLES)
    item = _item(session, principal, fee_item_id)
    for name in ("name", "active", "exempt_floors_max"):
        if name in changes:
            setattr(item, name, changes[name])
    if "unit_types" in changes:
        item.unit_types = json.dumps(changes["unit_types"])
    session.flush()
    return item


def add_rate(session: Session, principal: Principal, fee_item_id: str, data: dict, now: datetime) -> FeeRate:
    """A new rate from a date on. Bills already issued keep the amounts they were issued with."""
    require(principal, *MONEY_ROLES)
    item = _item(session, principal, fee_item_id)
    exists = session.execute(
        select(FeeRate).where(FeeRate.fee_item_id == item.id, FeeRate.effective_from == data["effective_from"])
    ).first()
    if exists:
        raise Conflict(
            f"fee item {item.id} already has a rate from {data['effective_from']}",
            errors={"effective_from": ["a rate from this date exists; add one from another date"]},
        )
    rate = FeeRate(
        id=dbmod.new_id(),
        fee_item_id=item.id,
        effective_from=data["effective_from"],
        rate=data["rate"],
        created_at=now,
    )
    session.add(rate)
    session.flush()
    return rate


def rates_of(session: Session, fee_item_id: str) -> list[FeeRate]:
    query = select(FeeRate).where(FeeRate.fee_item_id == fee_item_id).order_by(FeeRate.effective_from)
    return list(session.execute(query).scalars())


def rate_on(rates: list[FeeRate], day: date):
    """The rate in effect on `day` (the newest effective_from not after it), or None."""
    found = None
    for rate in rates:
        if rate.effective_from <= day:
            found = rate.rate
    return found


def list_fee_items(principal: Principal, community_id: str):
    require(principal, *READERS, *MONEY_ROLES)
    require_community(principal, community_id)
    return select(FeeItem).where(FeeItem.community_id == community_id).order_by(FeeItem.created_at, FeeItem.id)


def record_reading(session: Session, principal: Principal, data: dict, now: datetime) -> MeterReading:
    require(principal, *MONEY_ROLES)
    item = _item(session, principal, data["fee_item_id"])
    if item.basis != "metered":
        raise Invalid("fee_item_id", "not a metered fee item")
    unit = session.get(BillingUnit, data["unit_id"])
    if unit is None or unit.community_id != item.community_id:
        raise Invalid("unit_id", "no such unit in the fee item's community")
    if data["current"] < data["previous"]:
        raise Invalid("current", "must not be below the previous reading")
    exists = session.execute(
        select(MeterReading.id).where(
            MeterReading.unit_id == unit.unit_id,
            MeterReading.fee_item_id == item.id,
            MeterReading.period == data["period"],
        )
    ).first()
    if exists:
        raise Conflict(
            "a reading for this unit, item and period exists", errors={"period": ["already read for this period"]}
        )
    reading = MeterReading(
        id=dbmod.new_id(),
        community_id=item.community_id,
        unit_id=unit.unit_id,
        fee_item_id=item.id,
        period=data["period"],
        previous=data["previous"],
        current=data["current"],
        created_at=now,
    )
    session.add(reading)
    session.flush()
    return reading
