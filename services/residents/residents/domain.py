"""Residents use cases: rules and scope checks, with the outbox rows written in the same transaction."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from guanjia import outbox as outboxmod
from guanjia.auth import Principal, require_role, scoped
from guanjia.db import new_id, utcnow
from guanjia.errors import Conflict, Invalid, NotFound
from guanjia.pii import mask_name, mask_phone, normalize_phone

from . import events
from .models import Building, Community, Resident, Unit, outbox
from .values import format_area

# Who shapes a community's structure (buildings, units): its managers and the instance admin.
MANAGERS = ("admin", "senior_butler", "cs_manager")
# Who registers residents and records move-ins: the community's front-line staff too.
FRONT_DESK = ("admin", "butler", "senior_butler", "cs_manager")
UNIT_STATUSES = ("vacant", "occupied")
RESIDENT_ROLES = ("owner", "tenant")
LOCALE = "zh-CN"


# --- communities -----------------------------------------------------------------------------------------------


def create_community(session: Session, principal: Principal, data: dict) -> Community:
    require_role(principal, "admin")
    community = Community(id=new_id(), name=data["name"].strip(), created_at=utcnow())
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


# --- buildings -------------------------------------------------------------------------------------------------


def create_building(session: Session, principal: Principal, data: dict) -> Building:
    require_role(principal, *MANAGERS)
    community = session.get(Community, data["community_id"])
    # Another community's id reads as unknown: its existence is not the caller's business.
    if community is None or not principal.sees_community(community.id):
        raise Invalid("community_id", "no such community")
    building = Building(id=new_id(), community_id=community.id, name=data["name"].strip(), created_at=utcnow())
    session.add(building)
    session.flush()
    return building


def visible_buildings(principal: Principal):
    query = select(Building).order_by(Building.name, Building.id)
    return scoped(query, principal, community_column=Building.community_id)


def list_buildings(principal: Principal, filters: dict):
    query = visible_buildings(principal)
    if filters.get("community_id"):
        query = query.where(Building.community_id == filters["community_id"])
    return query


def get_building(session: Session, principal: Principal, building_id: str) -> Building:
    building = session.execute(visible_buildings(principal).where(Building.id == building_id)).scalar_one_or_none()
    if building is None:
        raise NotFound(f"building {building_id} not found")
    return building


# --- units -----------------------------------------------------------------------------------------------------


def unit_event_data(unit: Unit) -> dict:
    return {
        "unit_id": unit.id,
        "community_id": unit.community_id,
        "building_id": unit.building_id,
        "number": unit.number,
        "floor": unit.floor,
        "area_m2": format_area(unit.area_m2),
        "status": unit.status,
    }


def create_unit(session: Session, settings, principal: Principal, data: dict) -> Unit:
    require_role(principal, *MANAGERS)
    building = session.get(Building, data["building_id"])
    if building is None or not principal.sees_community(building.community_id):
        raise Invalid("building_id", "no such building")
    number = data["number"].strip()
    taken = session.execute(select(Unit.id).where(Unit.building_id == building.id, Unit.number == number)).first()
    if taken:
        raise Conflict(f"unit {number} already exists in this building", errors={"number": ["already exists"]})
    now = utcnow()
    unit = Unit(
        id=new_id(),
        community_id=building.community_id,
        building_id=building.id,
        number=number,
        floor=data["floor"],
        area_m2=data["area_m2"],
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
    outboxmod.emit(
        session,
        outbox,
        settings,
        type=events.UNIT_CREATED,
        subject=f"unit/{unit.id}",
        community=unit.community_id,
        data=events.UnitCreatedV1().dump(unit_event_data(unit)),
    )
    return unit


def visible_units(principal: Principal):
    query = select(Unit).order_by(Unit.building_id, Unit.floor, Unit.number, Unit.id)
    return scoped(query, principal, community_column=Unit.community_id, unit_column=Unit.id)


def list_units(principal: Principal, filters: dict):
    query = visible_units(principal)
    for name in ("building_id", "community_id", "status"):
        if filters.get(name):
            query = query.where(getattr(Unit, name) == filters[name])
    return query


def get_unit(session: Session, principal: Principal, unit_id: str) -> Unit:
    unit = session.execute(visible_units(principal).where(Unit.id == unit_id)).scalar_one_or_none()
    if unit is None:
        raise NotFound(f"unit {unit_id} not found")
    return unit


# --- residents -------------------------------------------------------------------------------------------------


def register_resident(session: Session, settings, principal: Principal, data: dict) -> Resident:
    require_role(principal, *FRONT_DESK)
    phone = normalize_phone(data["phone"])
    unit = session.get(Unit, data["unit_id"])
    if unit is None or not principal.sees_community(unit.community_id):
        raise Invalid("unit_id", "no such unit")
    resident = Resident(
        id=new_id(),
        community_id=unit.community_id,
        unit_id=unit.id,
        name=data["name"].strip(),
        phone=phone,
        role=data["role"],
        status="registered",
        moved_in_at=None,
        created_at=utcnow(),
    )
    session.add(resident)
    session.flush()
    outboxmod.emit(
        session,
        outbox,
        settings,
        type=events.RESIDENT_REGISTERED,
        subject=f"resident/{resident.id}",
        community=resident.community_id,
        data=events.ResidentRegisteredV1().dump(
            {
                "resident_id": resident.id,
                "unit_id": resident.unit_id,
                "community_id": resident.community_id,
                "role": resident.role,
            }
        ),
    )
    return resident


def visible_residents(principal: Principal):
    query = select(Resident).order_by(Resident.created_at, Resident.id)
    # A resident sees their household (the units in their token) and their own record.
    return scoped(
        query,
        principal,
        community_column=Resident.community_id,
        unit_column=Resident.unit_id,
        resident_column=Resident.id,
    )


def list_residents(principal: Principal, filters: dict):
    query = visible_residents(principal)
    for name in ("unit_id", "community_id"):
        if filters.get(name):
            query = query.where(getattr(Resident, name) == filters[name])
    return query


def get_resident(session: Session, principal: Principal, resident_id: str) -> Resident:
    resident = session.execute(visible_residents(principal).where(Resident.id == resident_id)).scalar_one_or_none()
    if resident is None:
        raise NotFound(f"resident {resident_id} not found")
    return resident


def resident_view(principal: Principal, resident: Resident) -> dict:
    """The record as this caller may see it: name and phone in clear only for the resident themself.

    Staff, admin, integrators and other services see `张**` / `138****8000`; a service that must contact
    the person asks the internal contact endpoint instead.
    """
    own = principal.role == "resident" and principal.resident_id == resident.id
    return {
        "id": resident.id,
        "community_id": resident.community_id,
        "unit_id": resident.unit_id,
        "name": resident.name if own else mask_name(resident.name),
        "phone": resident.phone if own else mask_phone(resident.phone),
        "role": resident.role,
        "status": resident.status,
        "moved_in_at": resident.moved_in_at,
        "created_at": resident.created_at,
    }


def move_in(session: Session, settings, principal: Principal, unit_id: str, resident_id: str) -> tuple[Unit, Resident]:
    """Record that a registered resident moved into their unit; a repeat for the same resident changes nothing."""
    require_role(principal, *FRONT_DESK)
    # Row lock: two move-ins into one vacant unit are decided one after the other.
    unit = session.execute(
        visible_units(principal).where(Unit.id == unit_id).with_for_update(of=Unit)
    ).scalar_one_or_none()
    if unit is None:
        raise NotFound(f"unit {unit_id} not found")
    resident = session.get(Resident, resident_id)
    if resident is None or resident.unit_id != unit.id:
        raise Invalid("resident_id", "not a resident of this unit")
    if resident.status == "moved_in":
        return unit, resident
    if unit.status == "occupied":
        raise Conflict(f"unit {unit.number} is already occupied; the current household must move out first")
    now = utcnow()
    resident.status = "moved_in"
    resident.moved_in_at = now
    unit.status = "occupied"
    unit.updated_at = now
    session.flush()
    outboxmod.emit(
        session,
        outbox,
        settings,
        type=events.RESIDENT_MOVED_IN,
        subject=f"resident/{resident.id}",
        community=resident.community_id,
        data=events.ResidentMovedInV1().dump(
            {
                "resident_id": resident.id,
                "unit_id": unit.id,
                "community_id": unit.community_id,
                "moved_in_at": now.isoformat(),
            }
        ),
    )
    outboxmod.emit(
        session,
        outbox,
        settings,
        type=events.UNIT_UPDATED,
        subject=f"unit/{unit.id}",
        community=unit.community_id,
        data=events.UnitUpdatedV1().dump(unit_event_data(unit)),
    )
    return unit, resident


# --- for other services ----------------------------------------------------------------------------------------


def resident_contact(session: Session, principal: Principal, resident_id: str) -> dict:
    """Unmasked contact details, for a service that must reach the person now (notifications)."""
    require_role(principal, "service")
    resident = session.get(Resident, resident_id)
    if resident is None:
        raise NotFound(f"resident {resident_id} not found")
    return {
        "resident_id": resident.id,
        "unit_id": resident.unit_id,
        "community_id": resident.community_id,
        "name": resident.name,
        "phone": resident.phone,
        "locale": LOCALE,
    }
