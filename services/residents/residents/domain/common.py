"""What every use case shares: roles, scoped loading of units and residents, status changes, event writing."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy import and_, false, or_, select, update
from sqlalchemy.orm import Session

from guanjia import outbox as outboxmod
from guanjia.auth import Principal, scoped
from guanjia.db import as_utc, new_id
from guanjia.errors import Invalid, NotFound

from .. import events
from ..models import Building, Community, Resident, Unit, UnitStatusChange, outbox
from ..values import format_area

# Who shapes a community's structure (zones, buildings, units) and decides renovations.
MANAGERS = ("admin", "senior_butler", "cs_manager")
# Who registers residents and records the everyday affairs of a household: front-line staff too.
FRONT_DESK = ("admin", "butler", "senior_butler", "cs_manager")
# Engineering reviews renovation plans and inspects sites alongside the butlers.
REVIEWERS = ("admin", "engineer", "senior_butler", "cs_manager")
INSPECTORS = ("admin", "engineer", "butler", "senior_butler", "cs_manager")

UNIT_STATUSES = ("delivered", "vacant", "occupied", "renovating")
UNIT_TYPES = ("residential", "shop", "parking", "storage")
RESIDENT_ROLES = ("owner", "tenant", "family")
RESIDENT_STATUSES = ("registered", "moved_in", "moved_out")
RESIDENT_TAGS = ("living_alone", "hardship", "key_customer", "disabled", "elderly")
LOCALE = "zh-CN"


def iso(value: datetime) -> str:
    return as_utc(value).isoformat()


# --- a resident's household, from their move-in to their move-out ------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Household(Principal):
    """A resident caller narrowed to what their own records say now: the units they live in (or are registered
    in, not moved out), each with the time their stay began. The token's units are only an upper bound."""

    since: tuple[tuple[str, datetime], ...] = ()

    def since_of(self, unit_id: str) -> datetime | None:
        return dict(self.since).get(unit_id)


def household(session: Session, principal: Principal) -> Principal:
    """The resident's current households: every record of the same person (same phone) that has not moved out,
    in a unit the token names. A moved-out resident keeps their own record and nothing else."""
    if principal.role != "resident":
        return principal
    own = session.get(Resident, principal.resident_id) if principal.resident_id else None
    stays: dict[str, datetime] = {}
    if own is not None:
        records = session.execute(
            select(Resident).where(
                Resident.phone == own.phone,
                Resident.status != "moved_out",
                Resident.unit_id.in_(principal.units or ("",)),
            )
        ).scalars()
        for record in records:
            start = as_utc(record.moved_in_at or record.created_at)
            stays[record.unit_id] = min(start, stays.get(record.unit_id, start))
    fields = {f.name: getattr(principal, f.name) for f in dataclasses.fields(Principal)}
    fields["units"] = tuple(stays)
    return Household(**fields, since=tuple(stays.items()))


def since_move_in(query, principal: Principal, unit_id: str, column):
    """Limit a unit's records (passes, keys, appointments, checks) to those of the resident's own stay."""
    if principal.role != "resident":
        return query
    since = principal.since_of(unit_id) if isinstance(principal, Household) else None
    return query.where(column >= since) if since is not None else query.where(false())


def unit_scope(query, principal: Principal):
    """A select() over Unit (or joined to it) limited to what the caller may see: butlers their zones."""
    return scoped(query, principal, community_column=Unit.community_id, zone_column=Unit.zone_id, unit_column=Unit.id)


def load_unit(session: Session, principal: Principal, unit_id: str, *, field: str | None = None, lock=False) -> Unit:
    """The unit if the caller may see it; otherwise 404 (or 422 naming `field` when the id came in a body)."""
    query = unit_scope(select(Unit).where(Unit.id == unit_id), principal)
    if lock:
        # Row lock: two flows changing one unit's status are decided one after the other.
        query = query.with_for_update(of=Unit)
    unit = session.execute(query).scalar_one_or_none()
    if unit is None:
        if field:
            raise Invalid(field, "no such unit")
        raise NotFound(f"unit {unit_id} not found")
    return unit


HOUSEHOLD_CHUNK = 5000  # units locked and recounted per statement (bound parameters stay well under 65,535)


def keep_households(session: Session, community_id: str, unit_ids: list[str] | None = None) -> None:
    """Units.household again from the residents, for these units (or all of the community's): call it wherever a
    resident is added, moves out or is removed. The units' rows are locked first, so of two flows changing one
    unit's residents at once the second recounts after the first committed."""
    session.flush()
    units = Unit.__table__
    current = select(Resident.id).where(Resident.unit_id == units.c.id, Resident.status != "moved_out").exists()
    if unit_ids is None:
        chosen = units.c.community_id == community_id
        session.execute(update(units).where(chosen, units.c.household != current).values(household=current))
        return
    # In id order and in chunks (a roster import names thousands): two flows lock shared units in the same order.
    ordered = sorted(set(unit_ids))
    for start in range(0, len(ordered), HOUSEHOLD_CHUNK):
        chosen = and_(units.c.community_id == community_id, units.c.id.in_(ordered[start : start + HOUSEHOLD_CHUNK]))
        session.execute(select(units.c.id).where(chosen).order_by(units.c.id).with_for_update())
        session.execute(update(units).where(chosen, units.c.household != current).values(household=current))


def resident_scope(query, principal: Principal):
    """A select() joined to Unit on Resident.unit_id: a resident sees their household and themself.

    The household is the people who lived in the unit during the resident's own stay: a previous household
    (moved out before this resident's move-in) is not theirs to see."""
    if principal.role == "resident":
        stays = principal.since if isinstance(principal, Household) else ()
        members = [
            and_(Resident.unit_id == unit_id, or_(Resident.moved_out_at.is_(None), Resident.moved_out_at > since))
            for unit_id, since in stays
        ]
        own = Resident.id == principal.resident_id if principal.resident_id else false()
        return query.where(or_(own, *members))
    return scoped(
        query,
        principal,
        community_column=Resident.community_id,
        zone_column=Unit.zone_id,
        unit_column=Resident.unit_id,
        resident_column=Resident.id,
    )


def residents_query():
    return select(Resident).join(Unit, Unit.id == Resident.unit_id)


def named_community(session: Session, principal: Principal, community_id: str) -> Community:
    """The community a request names (`community_id`); another community's id reads as unknown: its existence is
    not the caller's business."""
    community = session.get(Community, community_id)
    if community is None or not principal.sees_community(community.id):
        raise Invalid("community_id", "no such community")
    return community


def load_resident(
    session: Session, principal: Principal, resident_id: str, *, field: str | None = None, lock=False
) -> Resident:
    query = resident_scope(residents_query().where(Resident.id == resident_id), principal)
    if lock:
        query = query.with_for_update(of=Resident)
    resident = session.execute(query).scalar_one_or_none()
    if resident is None:
        if field:
            raise Invalid(field, "no such resident")
        raise NotFound(f"resident {resident_id} not found")
    return resident


def emit(session: Session, settings, event_type: str, subject: str, community: str, data: dict) -> dict:
    """Write one event in the caller's transaction, its payload passed through the published schema."""
    schema = events.PUBLISHED[event_type]()
    return outboxmod.emit(
        session, outbox, settings, type=event_type, subject=subject, community=community, data=schema.dump(data)
    )


def unit_event_data(unit: Unit, building_name: str | None = None) -> dict:
    """The unit's facts for unit.*; with the building's name also its display label (not personal data)."""
    gross = format_area(unit.area_m2)
    shown = {} if building_name is None else {"building_name": building_name, "label": f"{building_name}{unit.number}"}
    return shown | {
        "unit_id": unit.id,
        "community_id": unit.community_id,
        "building_id": unit.building_id,
        "zone_id": unit.zone_id,
        "number": unit.number,
        "floor": unit.floor,
        "unit_type": unit.unit_type or "residential",
        "area_m2": gross,
        "gross_area_m2": gross,
        "inner_area_m2": None if unit.inner_area_m2 is None else format_area(unit.inner_area_m2),
        "status": unit.status,
    }


def emit_unit(session: Session, settings, unit: Unit, event_type: str = events.UNIT_UPDATED) -> None:
    building = session.get(Building, unit.building_id)
    data = unit_event_data(unit, building.name if building is not None else None)
    emit(session, settings, event_type, f"unit/{unit.id}", unit.community_id, data)


def resident_event_data(resident: Resident) -> dict:
    return {
        "resident_id": resident.id,
        "unit_id": resident.unit_id,
        "community_id": resident.community_id,
        "role": resident.role,
        "status": resident.status,
    }


def change_unit_status(
    session: Session, settings, unit: Unit, to_status: str, reason: str, actor: Principal, now: datetime
) -> None:
    """The only way a unit's status changes: recorded with its reason and actor, published as unit.updated."""
    if unit.status == to_status:
        return
    session.add(
        UnitStatusChange(
            id=new_id(),
            unit_id=unit.id,
            from_status=unit.status,
            to_status=to_status,
            reason=reason,
            actor_id=actor.subject,
            at=now,
        )
    )
    unit.status = to_status
    unit.updated_at = now
    session.flush()
    emit_unit(session, settings, unit)
