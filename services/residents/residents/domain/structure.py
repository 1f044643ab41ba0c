"""Property structure: communities → zones (片区, with their butlers) → buildings → units."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from guanjia.auth import Principal, require_role, scoped
from guanjia.db import new_id
from guanjia.errors import Conflict, Invalid, NotFound

from .. import events
from ..models import Building, ButlerCover, Community, Unit, UnitStatusChange, Zone
from .common import MANAGERS, emit, emit_unit, load_unit, named_community, unit_event_data, unit_scope

DEFAULT_RENOVATION_HOURS = "08:00-12:00,14:00-18:00"
_HOURS_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")


def parse_hours(raw: str) -> str:
    """`"08:00-12:00, 14:00-18:00"` → the canonical `"08:00-12:00,14:00-18:00"`; ValueError otherwise."""
    spans = [s.strip() for s in raw.split(",") if s.strip()]
    if not spans:
        raise ValueError("at least one span such as 08:00-12:00")
    for span in spans:
        if not _HOURS_RE.match(span) or span[:5] >= span[6:]:
            raise ValueError(f"{span!r} is not a span such as 08:00-12:00")
    return ",".join(spans)


# --- communities -----------------------------------------------------------------------------------------------


def create_community(session: Session, principal: Principal, data: dict, now: datetime) -> Community:
    require_role(principal, "admin")
    community = Community(
        id=new_id(),
        name=data["name"].strip(),
        created_at=now,
        renovation_hours=data.get("renovation_hours") or DEFAULT_RENOVATION_HOURS,
        deposit_before_permit=data.get("deposit_before_permit", True),
        hold_handover_on_defects=data.get("hold_handover_on_defects", False),
    )
    session.add(community)
    session.flush()
    return community


def visible_communities(principal: Principal):
    query = select(Community).order_by(Community.name, Community.id)
    return scoped(query, principal, community_column=Community.id)


def get_community(session: Session, principal: Principal, community_id: str) -> Community:
    community = session.execute(visible_communities(principal).where(Community.id == community_id)).scalar_one_or_none()
    if community is None:
        raise NotFound(f"community {community_id} not found")
    return community


def update_community(session: Session, principal: Principal, community_id: str, data: dict) -> Community:
    require_role(principal, *MANAGERS)
    community = get_community(session, principal, community_id)
    if "name" in data:
        community.name = data["name"].strip()
    if "renovation_hours" in data:
        community.renovation_hours = data["renovation_hours"]
    for name in ("deposit_before_permit", "hold_handover_on_defects"):
        if name in data:
            setattr(community, name, data[name])
    session.flush()
    return community


def community_hours(community: Community) -> str:
    return community.renovation_hours or DEFAULT_RENOVATION_HOURS


# --- zones -----------------------------------------------------------------------------------------------------


def zone_event_data(zone: Zone) -> dict:
    return {"zone_id": zone.id, "community_id": zone.community_id, "name": zone.name, "butler_ids": zone.butler_ids}


def _unique_butlers(ids) -> list[str]:
    return list(dict.fromkeys(i.strip() for i in ids if i and i.strip()))


def create_zone(session: Session, settings, principal: Principal, data: dict, now: datetime) -> Zone:
    require_role(principal, *MANAGERS)
    community = named_community(session, principal, data["community_id"])
    name = data["name"].strip()
    if session.execute(select(Zone.id).where(Zone.community_id == community.id, Zone.name == name)).first():
        raise Conflict(f"zone {name} already exists in this community", errors={"name": ["already exists"]})
    zone = Zone(
        id=new_id(),
        community_id=community.id,
        name=name,
        butler_ids=_unique_butlers(data.get("butler_ids") or []),
        created_at=now,
        updated_at=now,
    )
    session.add(zone)
    session.flush()
    emit(session, settings, events.ZONE_UPDATED, f"zone/{zone.id}", zone.community_id, zone_event_data(zone))
    return zone


def visible_zones(principal: Principal):
    query = select(Zone).order_by(Zone.name, Zone.id)
    if principal.role == "resident":
        return query.where(Zone.id.is_(None))
    return scoped(query, principal, community_column=Zone.community_id, zone_column=Zone.id)


def list_zones(principal: Principal, filters: dict):
    query = visible_zones(principal)
    if filters.get("community_id"):
        query = query.where(Zone.community_id == filters["community_id"])
    return query


def get_zone(session: Session, principal: Principal, zone_id: str, *, field: str | None = None) -> Zone:
    zone = session.execute(visible_zones(principal).where(Zone.id == zone_id)).scalar_one_or_none()
    if zone is None:
        if field:
            raise Invalid(field, "no such zone")
        raise NotFound(f"zone {zone_id} not found")
    return zone


def update_zone(session: Session, settings, principal: Principal, zone_id: str, data: dict, now: datetime) -> Zone:
    """Rename a zone or (re)assign its butlers; publishes zone.updated when something changed."""
    require_role(principal, *MANAGERS)
    zone = get_zone(session, principal, zone_id)
    changed = False
    if "name" in data and data["name"].strip() != zone.name:
        name = data["name"].strip()
        clash = select(Zone.id).where(Zone.community_id == zone.community_id, Zone.name == name, Zone.id != zone.id)
        if session.execute(clash).first():
            raise Conflict(f"zone {name} already exists in this community", errors={"name": ["already exists"]})
        zone.name, changed = name, True
    if "butler_ids" in data:
        butlers = _unique_butlers(data["butler_ids"])
        if butlers != list(zone.butler_ids):
            zone.butler_ids, changed = butlers, True
    if changed:
        zone.updated_at = now
        session.flush()
        emit(session, settings, events.ZONE_UPDATED, f"zone/{zone.id}", zone.community_id, zone_event_data(zone))
    return zone


def internal_zone(session: Session, principal: Principal, zone_id: str) -> dict:
    require_role(principal, "service")
    zone = session.get(Zone, zone_id)
    if zone is None:
        raise NotFound(f"zone {zone_id} not found")
    return zone_event_data(zone)


def internal_units(session: Session, principal: Principal, community_id: str, detail: bool) -> dict:
    """Every unit of a community, for a service checking its projection (billing before a run): ids only, or
    with the unit.* event data and the time of the last change."""
    require_role(principal, "service")
    if session.get(Community, community_id) is None:
        raise NotFound(f"community {community_id} not found")
    if not detail:
        ids = list(session.execute(select(Unit.id).where(Unit.community_id == community_id)).scalars())
        return {"community_id": community_id, "count": len(ids), "unit_ids": ids, "units": []}
    query = select(Unit, Building.name).outerjoin(Building, Building.id == Unit.building_id)
    query = query.where(Unit.community_id == community_id)
    units = [{**unit_event_data(u, name), "updated_at": u.updated_at} for u, name in session.execute(query).all()]
    return {
        "community_id": community_id,
        "count": len(units),
        "unit_ids": [u["unit_id"] for u in units],
        "units": units,
    }


def zones_of_butler(session: Session, principal: Principal, user_id: str, now: datetime) -> dict:
    """The zones whose butlers include `user_id`: residents' zones are the one source of zone membership; the
    gateway puts them into the butler's token at sign-in and refresh."""
    require_role(principal, "service")
    all_zones = list(session.execute(select(Zone).order_by(Zone.id)).scalars())
    zones = [z for z in all_zones if user_id in (z.butler_ids or [])]
    return {
        "user_id": user_id,
        "zones": [z.id for z in zones],
        "communities": sorted({z.community_id for z in zones}),
        "cover": covers_of(session, user_id, all_zones, now),
    }


def covers_of(session: Session, stand_in_id: str, all_zones: list[Zone], now: datetime) -> list[dict]:
    """代岗: the zones of each butler this person stands in for right now (staff's absences, time-boxed by their own
    period even if the end was not heard of yet). Kept apart from `zones`: the gateway never keeps them."""
    active = session.execute(
        select(ButlerCover)
        .where(
            ButlerCover.stand_in_id == stand_in_id,
            ButlerCover.ended_at.is_(None),
            ButlerCover.starts_at <= now,
            ButlerCover.ends_at > now,
        )
        .order_by(ButlerCover.starts_at)
    ).scalars()
    covers = []
    for cover in active:
        zone_ids = [z.id for z in all_zones if cover.butler_id in (z.butler_ids or [])]
        if zone_ids:
            covers.append(
                {
                    "absence_id": cover.absence_id,
                    "butler_id": cover.butler_id,
                    "zones": zone_ids,
                    "until": cover.ends_at,
                }
            )
    return covers


def _zone_in(session: Session, community_id: str, zone_id: str | None, field: str = "zone_id") -> str | None:
    if zone_id is None:
        return None
    zone = session.get(Zone, zone_id)
    if zone is None or zone.community_id != community_id:
        raise Invalid(field, "no such zone in this community")
    return zone.id


# --- buildings -------------------------------------------------------------------------------------------------


def create_building(session: Session, principal: Principal, data: dict, now: datetime) -> Building:
    require_role(principal, *MANAGERS)
    community = named_community(session, principal, data["community_id"])
    name = data["name"].strip()
    if session.execute(select(Building.id).where(Building.community_id == community.id, Building.name == name)).first():
        raise Conflict(f"building {name} already exists in this community", errors={"name": ["already exists"]})
    building = Building(
        id=new_id(),
        community_id=community.id,
        name=name,
        created_at=now,
        zone_id=_zone_in(session, community.id, data.get("zone_id")),
    )
    session.add(building)
    session.flush()
    return building


def visible_buildings(principal: Principal):
    query = select(Building).order_by(Building.name, Building.id)
    return scoped(query, principal, community_column=Building.community_id)


def list_buildings(principal: Principal, filters: dict):
    query = visible_buildings(principal)
    for name in ("community_id", "zone_id"):
        if filters.get(name):
            query = query.where(getattr(Building, name) == filters[name])
    return query


def get_building(session: Session, principal: Principal, building_id: str) -> Building:
    building = session.execute(visible_buildings(principal).where(Building.id == building_id)).scalar_one_or_none()
    if building is None:
        raise NotFound(f"building {building_id} not found")
    return building


def update_building(
    session: Session, settings, principal: Principal, building_id: str, data: dict, now: datetime
) -> Building:
    """Rename a building or move it to a zone: its units follow into the zone (unit.updated for each)."""
    require_role(principal, *MANAGERS)
    building = get_building(session, principal, building_id)
    if "name" in data:
        name = data["name"].strip()
        clash = select(Building.id).where(
            Building.community_id == building.community_id, Building.name == name, Building.id != building.id
        )
        if session.execute(clash).first():
            raise Conflict(f"building {name} already exists in this community", errors={"name": ["already exists"]})
        building.name = name
    if "zone_id" in data:
        building.zone_id = _zone_in(session, building.community_id, data["zone_id"])
        for unit in session.execute(select(Unit).where(Unit.building_id == building.id)).scalars():
            if unit.zone_id != building.zone_id:
                unit.zone_id = building.zone_id
                unit.updated_at = now
                emit_unit(session, settings, unit)
    session.flush()
    return building


# --- units -----------------------------------------------------------------------------------------------------


def create_unit(session: Session, settings, principal: Principal, data: dict, now: datetime) -> Unit:
    require_role(principal, *MANAGERS)
    building = session.get(Building, data["building_id"])
    if building is None or not principal.sees_community(building.community_id):
        raise Invalid("building_id", "no such building")
    number = data["number"].strip()
    taken = session.execute(select(Unit.id).where(Unit.building_id == building.id, Unit.number == number)).first()
    if taken:
        raise Conflict(f"unit {number} already exists in this building", errors={"number": ["already exists"]})
    zone_id = _zone_in(session, building.community_id, data["zone_id"]) if "zone_id" in data else building.zone_id
    unit = Unit(
        id=new_id(),
        community_id=building.community_id,
        building_id=building.id,
        zone_id=zone_id,
        number=number,
        floor=data["floor"],
        unit_type=data.get("unit_type") or "residential",
        area_m2=data["area_m2"],
        inner_area_m2=data.get("inner_area_m2"),
        status="vacant",
        created_at=now,
        updated_at=now,
    )
    try:
        # A savepoint: a concurrent twin losing the unique race becomes a 409, not a 500.
        with session.begin_nested():
            session.add(unit)
            session.flush()
    except IntegrityError:
        raise Conflict(
            f"unit {number} already exists in this building", errors={"number": ["already exists"]}
        ) from None
    emit_unit(session, settings, unit, events.UNIT_CREATED)
    return unit


def list_units(principal: Principal, filters: dict):
    query = unit_scope(select(Unit).order_by(Unit.building_id, Unit.floor, Unit.number, Unit.id), principal)
    for name in ("building_id", "community_id", "status", "zone_id", "unit_type"):
        if filters.get(name):
            query = query.where(getattr(Unit, name) == filters[name])
    return query


def get_unit(session: Session, principal: Principal, unit_id: str) -> Unit:
    return load_unit(session, principal, unit_id)


def update_unit(session: Session, settings, principal: Principal, unit_id: str, data: dict, now: datetime) -> Unit:
    """Correct a unit's facts (areas, type, floor, zone); its status changes only through the flows."""
    require_role(principal, *MANAGERS)
    unit = load_unit(session, principal, unit_id, lock=True)
    changes = dict(data)
    if "zone_id" in changes:
        changes["zone_id"] = _zone_in(session, unit.community_id, changes["zone_id"])
    gross = changes.get("area_m2", unit.area_m2)
    inner = changes.get("inner_area_m2", unit.inner_area_m2)
    if inner is not None and inner > gross:
        raise Invalid("inner_area_m2", "must not exceed the gross area")
    changed = False
    for name, value in changes.items():
        if getattr(unit, name) != value:
            setattr(unit, name, value)
            changed = True
    if changed:
        unit.updated_at = now
        session.flush()
        emit_unit(session, settings, unit)
    return unit


def unit_history(session: Session, principal: Principal, unit_id: str) -> list[UnitStatusChange]:
    load_unit(session, principal, unit_id)
    query = select(UnitStatusChange).where(UnitStatusChange.unit_id == unit_id)
    return list(session.execute(query.order_by(UnitStatusChange.at, UnitStatusChange.id)).scalars())
