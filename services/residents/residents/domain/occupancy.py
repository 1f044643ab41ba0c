"""Occupancy: handover (交付) → move-in (入住) → move-out (迁出), moving appointments, goods release passes (放行条)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanjia.auth import Principal, require_role
from guanjia.db import as_utc, new_id
from guanjia.errors import Conflict, Invalid, NotFound

from .. import events
from ..models import AcceptanceDefect, Community, Handover, MovingAppointment, ReleasePass, Resident, Unit
from .common import FRONT_DESK, change_unit_status, emit, iso, keep_households, load_unit, since_move_in, unit_scope

MOVING_LIST_LIMIT = 500


def _household_member(session: Session, unit: Unit, resident_id: str, field: str = "resident_id") -> Resident:
    resident = session.get(Resident, resident_id)
    if resident is None or resident.unit_id != unit.id:
        raise Invalid(field, "not a resident of this unit")
    return resident


def handover(session: Session, settings, principal: Principal, unit_id: str, data: dict, now: datetime) -> Unit:
    """交付: the keys go to a registered owner; the unit turns from vacant to delivered."""
    require_role(principal, *FRONT_DESK)
    unit = load_unit(session, principal, unit_id, lock=True)
    owner = _household_member(session, unit, data["owner_id"], "owner_id")
    if owner.role != "owner" or owner.status == "moved_out":
        raise Invalid("owner_id", "must be a current owner of this unit")
    if unit.status != "vacant":
        raise Conflict(f"unit {unit.number} is {unit.status}; only a vacant unit is handed over")
    _check_acceptance(session, unit)
    at = as_utc(data.get("handed_over_at") or now)
    session.add(
        Handover(
            id=new_id(),
            unit_id=unit.id,
            owner_id=owner.id,
            handed_over_at=at,
            notes=data.get("notes"),
            recorded_by=principal.subject,
        )
    )
    unit.handed_over_at = at
    change_unit_status(session, settings, unit, "delivered", "handover", principal, now)
    return unit


CATEGORY_LABELS = {
    "walls_ceilings": "墙面天花",
    "doors_windows": "门窗",
    "plumbing_drainage": "给排水",
    "electrical": "电气",
    "waterproofing": "防水",
    "fittings": "配套设施",
}


def open_defects(session: Session, unit_id: str) -> list[AcceptanceDefect]:
    query = select(AcceptanceDefect).where(AcceptanceDefect.unit_id == unit_id, AcceptanceDefect.closed_at.is_(None))
    return list(session.execute(query.order_by(AcceptanceDefect.rectify_by, AcceptanceDefect.defect_id)).scalars())


def _check_acceptance(session: Session, unit: Unit) -> None:
    """Where the community holds handover on acceptance defects, a unit with open ones is not handed over: 409
    naming each defect (its checklist item) and the party that must rectify it."""
    community = session.get(Community, unit.community_id)
    if community is None or not community.hold_handover_on_defects:
        return
    defects = open_defects(session, unit.id)
    if not defects:
        return
    named = [f"{CATEGORY_LABELS.get(d.category, d.category)}：{d.item}" for d in defects]
    raise Conflict(
        f"unit {unit.number} has {len(defects)} open acceptance defect(s); it is handed over once they are "
        f"rectified: " + "; ".join(named),
        errors={"unit_id": [f"open acceptance defect: {n}" for n in named]},
        extra={
            "open_defects": [
                {
                    "defect_id": d.defect_id,
                    "category": d.category,
                    "item": d.item,
                    "responsible_party": d.responsible_party,
                    "rectify_by": d.rectify_by,
                }
                for d in defects
            ],
            "allowed_actions": [],
        },
    )


def move_in(
    session: Session, settings, principal: Principal, unit_id: str, resident_ids: list[str], now: datetime
) -> tuple[Unit, list[Resident]]:
    """Move a household in (one or several registered residents of the unit); a repeat changes nothing.

    A unit occupied by another household must be moved out first; a unit under renovation waits for acceptance.
    """
    require_role(principal, *FRONT_DESK)
    unit = load_unit(session, principal, unit_id, lock=True)
    people = [_household_member(session, unit, rid) for rid in dict.fromkeys(resident_ids)]
    arriving = [r for r in people if r.status != "moved_in"]
    if not arriving:
        return unit, people
    if unit.status == "occupied":
        raise Conflict(
            f"unit {unit.number} is already occupied; the current household must move out first",
            errors={"resident_id": ["the unit is occupied"]},
        )
    if unit.status == "renovating":
        raise Conflict(
            f"unit {unit.number} is under renovation; move in after its acceptance",
            errors={"resident_id": ["the unit is under renovation"]},
        )
    for resident in arriving:
        resident.status = "moved_in"
        resident.moved_in_at = now
        resident.moved_out_at = None
        resident.updated_at = now
        session.flush()
        emit(
            session,
            settings,
            events.RESIDENT_MOVED_IN,
            f"resident/{resident.id}",
            resident.community_id,
            {
                "resident_id": resident.id,
                "unit_id": unit.id,
                "community_id": unit.community_id,
                "moved_in_at": iso(now),
            },
        )
    change_unit_status(session, settings, unit, "occupied", "move_in", principal, now)
    return unit, people


def move_out(
    session: Session, settings, principal: Principal, unit_id: str, resident_ids: list[str] | None, now: datetime
) -> tuple[Unit, list[Resident]]:
    """Move residents out (default: the whole household); the unit is vacant again when nobody is left."""
    require_role(principal, *FRONT_DESK)
    unit = load_unit(session, principal, unit_id, lock=True)
    living = list(
        session.execute(select(Resident).where(Resident.unit_id == unit.id, Resident.status == "moved_in")).scalars()
    )
    if resident_ids:
        leaving = [_household_member(session, unit, rid, "resident_ids") for rid in dict.fromkeys(resident_ids)]
        if any(r.status != "moved_in" for r in leaving):
            raise Invalid("resident_ids", "only residents who moved in can move out")
    else:
        leaving = living
    if not leaving:
        raise Conflict(f"nobody lives in unit {unit.number}", errors={"resident_ids": ["nobody has moved in"]})
    for resident in leaving:
        resident.status = "moved_out"
        resident.moved_out_at = now
        resident.updated_at = now
        session.flush()
        emit(
            session,
            settings,
            events.RESIDENT_MOVED_OUT,
            f"resident/{resident.id}",
            resident.community_id,
            {
                "resident_id": resident.id,
                "unit_id": unit.id,
                "community_id": unit.community_id,
                "moved_out_at": iso(now),
            },
        )
    keep_households(session, unit.community_id, [unit.id])
    if len(leaving) == len(living) and unit.status == "occupied":
        change_unit_status(session, settings, unit, "vacant", "move_out", principal, now)
    return unit, leaving


# --- moving appointments and release passes --------------------------------------------------------------------


def book_moving(session: Session, principal: Principal, unit_id: str, data: dict, now: datetime) -> MovingAppointment:
    require_role(principal, *FRONT_DESK)
    unit = load_unit(session, principal, unit_id)
    resident = _household_member(session, unit, data["resident_id"])
    if as_utc(data["scheduled_at"]) < now:
        raise Invalid("scheduled_at", "must be in the future")
    appointment = MovingAppointment(
        id=new_id(),
        unit_id=unit.id,
        resident_id=resident.id,
        kind=data["kind"],
        scheduled_at=data["scheduled_at"],
        notes=data.get("notes"),
        recorded_by=principal.subject,
        created_at=now,
    )
    session.add(appointment)
    session.flush()
    return appointment


def list_moving(session: Session, principal: Principal, unit_id: str) -> list[MovingAppointment]:
    load_unit(session, principal, unit_id)
    query = since_move_in(
        select(MovingAppointment).where(MovingAppointment.unit_id == unit_id),
        principal,
        unit_id,
        MovingAppointment.created_at,
    )
    return list(session.execute(query.order_by(MovingAppointment.scheduled_at)).scalars())


def issue_pass(
    session: Session, principal: Principal, unit_id: str, data: dict, now: datetime, today=None
) -> ReleasePass:
    """A release pass needs a current member of the household to authorise it (the resident themself may ask), and
    is for today or a later day (`today` is the instance's local date): the guard checks it on that day only."""
    if today is not None and data["valid_on"] < today:
        raise Invalid("valid_on", f"must not be in the past (today is {today.isoformat()})")
    if principal.role != "resident":
        require_role(principal, *FRONT_DESK)
    unit = load_unit(session, principal, unit_id)
    resident = _household_member(session, unit, data["resident_id"])
    if resident.status == "moved_out":
        raise Invalid("resident_id", "has moved out")
    if principal.role == "resident" and principal.resident_id != resident.id:
        raise Invalid("resident_id", "residents authorise passes in their own name")
    release = ReleasePass(
        id=new_id(),
        unit_id=unit.id,
        resident_id=resident.id,
        carrier_name=data["carrier_name"].strip(),
        items=data["items"].strip(),
        valid_on=data["valid_on"],
        status="issued",
        issued_by=principal.subject,
        created_at=now,
    )
    session.add(release)
    session.flush()
    return release


def list_passes(session: Session, principal: Principal, unit_id: str) -> list[ReleasePass]:
    load_unit(session, principal, unit_id)
    query = since_move_in(
        select(ReleasePass).where(ReleasePass.unit_id == unit_id), principal, unit_id, ReleasePass.created_at
    )
    return list(session.execute(query.order_by(ReleasePass.created_at)).scalars())


def use_pass(session: Session, principal: Principal, unit_id: str, pass_id: str, today, now: datetime) -> ReleasePass:
    """The gate lets the goods out: once, on the day the pass is valid for."""
    require_role(principal, *FRONT_DESK)
    query = unit_scope(
        select(ReleasePass).join(Unit, Unit.id == ReleasePass.unit_id).where(ReleasePass.id == pass_id), principal
    )
    release = session.execute(query.with_for_update(of=ReleasePass)).scalar_one_or_none()
    if release is None or release.unit_id != unit_id:
        raise NotFound(f"pass {pass_id} not found")
    if release.status != "issued":
        raise Conflict(f"this pass is {release.status}")
    if release.valid_on != today:
        raise Conflict(f"this pass is valid on {release.valid_on.isoformat()} only")
    release.status, release.used_at = "used", now
    session.flush()
    return release


def moving_between(principal: Principal, filters: dict):
    """Moving appointments of the units the caller sees, in [start, end) — a butler's day, without a call per unit."""
    query = select(MovingAppointment, Unit).join(Unit, Unit.id == MovingAppointment.unit_id)
    query = unit_scope(query, principal).where(
        MovingAppointment.scheduled_at >= filters["start"], MovingAppointment.scheduled_at < filters["end"]
    )
    if filters.get("zone_id"):
        query = query.where(Unit.zone_id == filters["zone_id"])
    if filters.get("community_id"):
        query = query.where(Unit.community_id == filters["community_id"])
    return query.order_by(MovingAppointment.scheduled_at, MovingAppointment.id).limit(MOVING_LIST_LIMIT)
