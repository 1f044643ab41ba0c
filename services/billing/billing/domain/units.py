"""Billing's projections of other services' objects: units, zones, occupancies; reading units with scope."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

import marshmallow as ma
from sqlalchemy import and_, exists, false, or_, select, text
from sqlalchemy.orm import Session

from guanjia import db as dbmod
from guanjia.auth import Principal
from guanjia.db import parse_time
from guanjia.errors import Invalid, NotFound, UpstreamUnavailable

from ..models import BillingUnit, BillingZone, LedgerEntry, Occupancy
from ..payloads import UnitChanged
from .common import FACT_READERS, upsert_insert

# When residents answers without an update time, any event we receive later wins over its answer.
OLDEST = "2000-01-01T00:00:00Z"


def upsert_unit(session: Session, data: dict, source_time: datetime) -> None:
    """Insert or update the unit unless what we hold is newer (one statement, safe against a concurrent writer)."""
    values = {name: data.get(name) for name in UnitChanged().fields} | {"source_time": source_time}
    if values["gross_area_m2"] is None:
        values["gross_area_m2"] = values["area_m2"]  # a v1 event: area_m2 is the gross area
    if values["area_m2"] is None:
        values["area_m2"] = values["gross_area_m2"]
    statement = upsert_insert(session)(BillingUnit).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[BillingUnit.unit_id],
        set_={name: statement.excluded[name] for name in values if name != "unit_id"},
        where=BillingUnit.source_time <= statement.excluded.source_time,  # an older event arriving late changes nothing
    )
    session.execute(statement)


def upsert_zone(session: Session, data: dict, source_time: datetime) -> None:
    values = {
        "zone_id": data["zone_id"],
        "community_id": data["community_id"],
        "name": data.get("name"),
        "butler_ids": json.dumps(sorted(set(data.get("butler_ids") or []))),
        "source_time": source_time,
    }
    statement = upsert_insert(session)(BillingZone).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[BillingZone.zone_id],
        set_={name: statement.excluded[name] for name in values if name != "zone_id"},
        where=BillingZone.source_time <= statement.excluded.source_time,
    )
    session.execute(statement)


def record_move(session: Session, data: dict, *, moved_in_at=None, moved_out_at=None) -> None:
    """A move-in or move-out; either may arrive first, each sets only its own time."""
    values = {"resident_id": data["resident_id"], "unit_id": data["unit_id"], "community_id": data["community_id"]}
    changes = {}
    if moved_in_at is not None:
        changes["moved_in_at"] = moved_in_at
    if moved_out_at is not None:
        changes["moved_out_at"] = moved_out_at
    statement = upsert_insert(session)(Occupancy).values(**values, **changes)
    statement = statement.on_conflict_do_update(
        index_elements=[Occupancy.resident_id, Occupancy.unit_id],
        set_={name: statement.excluded[name] for name in changes},
    )
    session.execute(statement)


def butlers_by_zone(session: Session, community_id: str) -> dict[str, list[str]]:
    rows = session.execute(select(BillingZone).where(BillingZone.community_id == community_id)).scalars()
    return {zone.zone_id: json.loads(zone.butler_ids or "[]") for zone in rows}


def lives_in(principal: Principal, unit_column, time_column=None):
    """SQL condition for a resident caller: the row's unit is one they live in now (billing's projection of
    resident.moved_in / moved_out), and the row is dated from their move-in on (`time_column`). The previous
    household's bills, payments and ledger are not theirs; after their move-out nothing of the unit is."""
    if not principal.resident_id or not principal.units:
        return false()
    stay = [
        Occupancy.resident_id == principal.resident_id,
        Occupancy.unit_id == unit_column,
        Occupancy.unit_id.in_(principal.units),
        Occupancy.moved_in_at.is_not(None),
        # A move-out older than the (re-)move-in is a stay that ended before this one began.
        or_(Occupancy.moved_out_at.is_(None), Occupancy.moved_out_at < Occupancy.moved_in_at),
    ]
    if time_column is not None:
        stay.append(time_column >= Occupancy.moved_in_at)
    return exists().where(and_(*stay))


def ledger_query(principal: Principal, unit_id: str):
    query = select(LedgerEntry).where(LedgerEntry.unit_id == unit_id)
    if principal.role == "resident":
        query = query.where(lives_in(principal, LedgerEntry.unit_id, LedgerEntry.created_at))
    return query.order_by(LedgerEntry.created_at.desc(), LedgerEntry.id)


def check_payer(session: Session, payer_id: str | None, unit: BillingUnit, fetch_resident) -> None:
    """A payer named in a bill or payment is a resident of that unit (never someone of another community, who
    would then get this community's SMS receipt). Billing's own projection first, else residents is asked."""
    if not payer_id:
        return
    known = session.get(Occupancy, {"resident_id": payer_id, "unit_id": unit.unit_id})
    if known is not None:
        return
    found = fetch_resident(payer_id) if fetch_resident is not None else None
    if found is None or found.get("unit_id") != unit.unit_id or found.get("community_id") != unit.community_id:
        raise Invalid("payer_id", "not a resident of this unit")


def sees_unit(principal: Principal, unit: BillingUnit) -> bool:
    if principal.instance_wide:
        return True
    if principal.role == "resident":
        return unit.unit_id in principal.units
    if principal.role == "butler":
        return principal.sees_zone(unit.community_id, unit.zone_id)
    if principal.role in FACT_READERS:
        return principal.sees_community(unit.community_id)
    return False


def _may_see_some_unit(principal: Principal, unit_id: str) -> bool:
    """Whether asking residents about `unit_id` could ever end in an answer for this caller."""
    if principal.role == "resident":
        return unit_id in principal.units
    return principal.instance_wide or (principal.role in FACT_READERS and bool(principal.communities))


def find_unit(session: Session, unit_id: str, fetch_unit: Callable[[str], dict | None] | None) -> BillingUnit | None:
    """The unit from the projection; on a miss ask residents (it may have been created a moment ago)."""
    unit = session.get(BillingUnit, unit_id)
    if unit is not None or fetch_unit is None:
        return unit
    fetched = fetch_unit(unit_id)
    if fetched is None:
        return None
    try:
        data = UnitChanged().load({**fetched, "unit_id": fetched["id"], "label": fetched.get("unit_label")})
    except (KeyError, ma.ValidationError) as exc:
        raise UpstreamUnavailable(f"residents answered an unexpected unit: {exc}") from None
    upsert_unit(session, data, parse_time(fetched.get("updated_at") or OLDEST))
    return session.get(BillingUnit, unit_id)


def catch_up(session: Session, community_id: str, listed_ids: list[str], fetch_all: Callable[[], list[dict]]) -> int:
    """Read-your-writes before a run: the units residents lists for the community that the projection has not seen
    yet (events still on their way after a large import) are fetched and stored now. Returns how many."""
    known = set(session.execute(select(BillingUnit.unit_id).where(BillingUnit.community_id == community_id)).scalars())
    missing = set(listed_ids) - known
    if not missing:
        return 0
    if dbmod.is_postgres(session):
        # The consumer's batch upserts the same new units in its events' order, each row locked to its commit:
        # upserting them here too, in another order, deadlocked the two (a run's 503 right after an import). Writers
        # of the projection wait for each other instead — readers, and bills' foreign keys, are not held up.
        session.execute(text(f"LOCK TABLE {BillingUnit.__tablename__} IN SHARE ROW EXCLUSIVE MODE"))
    schema = UnitChanged()
    fetched = 0
    for unit in sorted(fetch_all(), key=lambda found: str(found.get("unit_id"))):
        if unit.get("unit_id") not in missing:
            continue
        try:
            data = schema.load({k: v for k, v in unit.items() if k != "updated_at"})
        except ma.ValidationError as exc:
            raise UpstreamUnavailable(f"residents answered an unexpected unit: {exc}") from None
        # An event applied later with a newer time still wins; one older than residents' answer changes nothing.
        upsert_unit(session, data, parse_time(unit.get("updated_at") or OLDEST))
        fetched += 1
    return fetched


def get_unit(session: Session, principal: Principal, unit_id: str, fetch_unit) -> BillingUnit:
    unit = find_unit(session, unit_id, fetch_unit) if _may_see_some_unit(principal, unit_id) else None
    if unit is None or not sees_unit(principal, unit):
        raise NotFound(f"unit {unit_id} not found")
    if (
        principal.role == "resident"
        and not session.execute(
            select(lives_in(principal, BillingUnit.unit_id))
            .select_from(BillingUnit)
            .where(BillingUnit.unit_id == unit_id)
        ).scalar()
    ):
        raise NotFound(f"unit {unit_id} not found")
    return unit


def list_units(principal: Principal, filters: dict):
    query = select(BillingUnit).order_by(BillingUnit.community_id, BillingUnit.number, BillingUnit.unit_id)
    if principal.role == "resident":
        query = query.where(BillingUnit.unit_id.in_(principal.units), lives_in(principal, BillingUnit.unit_id))
    elif principal.role in FACT_READERS:
        query = query.where(BillingUnit.community_id.in_(principal.communities))
        if principal.role == "butler":
            query = query.where(BillingUnit.zone_id.in_(principal.zones) if principal.zones else false())
    elif not principal.instance_wide:
        query = query.where(false())
    for name in ("community_id", "building_id", "zone_id"):
        if filters.get(name):
            query = query.where(getattr(BillingUnit, name) == filters[name])
    return query
