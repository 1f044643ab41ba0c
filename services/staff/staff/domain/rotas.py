"""Rotas (排班): a department's shift templates, its weekly rota with the minimum staffing of each shift (a week
below it is flagged, staff.rota_understaffed), and shift swaps (换班) asked for by a person and approved by the
superior. The arithmetic (windows, coverage) is attendance_rules'."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from guanjia.auth import Principal
from guanjia.db import as_utc, new_id
from guanjia.errors import Conflict, Forbidden, Invalid, NotFound

from .. import events
from ..models import Department, Position, RotaEntry, ShiftSwap, ShiftTemplate
from .attendance_rules import coverage, parse_clock, shift_window, week_days
from .common import MANAGERS, check_community, emit_event, visible_positions

SWAP_STATUSES = ("pending", "approved", "rejected")


# --- who may see and edit a department's rota -------------------------------------------------------------------


def _department(
    session: Session, principal: Principal, department_id: str, field: str | None = None, for_update: bool = False
) -> Department:
    department = session.get(Department, department_id, with_for_update=for_update)
    if department is None or not principal.sees_community(department.community_id):
        if field:
            raise Invalid(field, "no such department")
        raise NotFound(f"department {department_id} not found")
    return department


def _posts_in(session: Session, principal: Principal, department_id: str) -> list[Position]:
    query = select(Position).where(Position.department_id == department_id, Position.user_id == principal.subject)
    return list(session.execute(query).scalars())


def may_edit(session: Session, principal: Principal, department: Department) -> bool:
    """The community's manager, or a senior butler holding a post in the department, draws up its rota."""
    if principal.role in MANAGERS:
        return True
    return principal.role == "senior_butler" and bool(_posts_in(session, principal, department.id))


def _require_edit(session: Session, principal: Principal, department: Department) -> None:
    if not may_edit(session, principal, department):
        raise Forbidden("a department's rota is drawn up by its senior butler or the community's manager")


def _readable(session: Session, principal: Principal, department_id: str) -> Department:
    """A department's rota is read by its members (to see the week and ask for swaps) and by the manager; to anyone
    else it does not exist."""
    department = _department(session, principal, department_id)
    if principal.role not in MANAGERS and not _posts_in(session, principal, department_id):
        raise NotFound(f"department {department_id} not found")
    return department


# --- shift templates ------------------------------------------------------------------------------------------------


def create_template(session: Session, principal: Principal, data: dict, now: datetime) -> ShiftTemplate:
    department = _department(session, principal, data["department_id"], field="department_id")
    _require_edit(session, principal, department)
    for field in ("starts", "ends"):
        try:
            parse_clock(data[field])
        except ValueError:
            raise Invalid(field, "a local time like 08:30") from None
    taken = session.execute(
        select(ShiftTemplate.id).where(ShiftTemplate.department_id == department.id, ShiftTemplate.name == data["name"])
    ).first()
    if taken:
        raise Invalid("name", "this department already has a shift of this name")
    template = ShiftTemplate(
        id=new_id(),
        community_id=department.community_id,
        department_id=department.id,
        name=data["name"],
        starts=data["starts"],
        ends=data["ends"],
        min_staff=data["min_staff"],
        created_at=now,
    )
    session.add(template)
    return template


def templates_of(session: Session, department_id: str) -> list[ShiftTemplate]:
    query = select(ShiftTemplate).where(ShiftTemplate.department_id == department_id)
    return list(session.execute(query.order_by(ShiftTemplate.starts, ShiftTemplate.name)).scalars())


def list_templates(session: Session, principal: Principal, department_id: str) -> list[ShiftTemplate]:
    check_community(principal, _department(session, principal, department_id).community_id)
    return templates_of(session, department_id)


# --- the weekly rota ------------------------------------------------------------------------------------------------


def _check_week(week: date) -> None:
    if week.weekday() != 0:
        raise Invalid("week", "a week is named by its Monday")


def _entries(session: Session, department_id: str, days: list[date]) -> list[RotaEntry]:
    query = select(RotaEntry).where(RotaEntry.department_id == department_id, RotaEntry.day.in_(days))
    return list(session.execute(query.order_by(RotaEntry.day, RotaEntry.id)).scalars())


def save_week(session: Session, settings, principal: Principal, data: dict, now: datetime) -> dict:
    """Replace the department's rota for the week starting on `week` (a Monday) with `entries` (position × day ×
    shift). Every entry is checked before anything is written; entries that stay keep their ids (and swaps)."""
    department = _department(session, principal, data["department_id"], field="department_id")
    _require_edit(session, principal, department)
    week = data["week"]
    _check_week(week)
    days = week_days(week)
    shifts = {t.id: t for t in templates_of(session, department.id)}
    members = {
        p.id: p for p in session.execute(select(Position).where(Position.department_id == department.id)).scalars()
    }
    wanted: dict[tuple[str, date, str], dict] = {}
    for n, entry in enumerate(data["entries"]):
        if entry["shift_id"] not in shifts:
            raise Invalid(f"entries.{n}.shift_id", "not a shift template of this department")
        if entry["day"] not in days:
            raise Invalid(f"entries.{n}.day", "not a day of this week")
        if entry["position_id"] not in members:
            raise Invalid(f"entries.{n}.position_id", "not a post of this department")
        key = (entry["position_id"], entry["day"], entry["shift_id"])
        if key in wanted:
            raise Invalid(f"entries.{n}", "the same person is on this shift twice")
        wanted[key] = entry
    existing = {(e.position_id, e.day, e.shift_id): e for e in _entries(session, department.id, days)}
    for key, entry in existing.items():
        if key not in wanted:
            session.execute(ShiftSwap.__table__.delete().where(ShiftSwap.entry_id == entry.id))
            session.delete(entry)
    for key in wanted.keys() - existing.keys():
        position_id, day, shift_id = key
        session.add(
            RotaEntry(
                id=new_id(),
                community_id=department.community_id,
                department_id=department.id,
                shift_id=shift_id,
                position_id=position_id,
                user_id=members[position_id].user_id,
                day=day,
                created_by=principal.subject,
                created_at=now,
            )
        )
    session.flush()
    rota = _view(session, department, week)
    if rota["gaps"]:
        emit_event(
            session,
            settings,
            events.ROTA_UNDERSTAFFED,
            f"rota/{department.id}/{week.isoformat()}",
            department.community_id,
            {
                "community_id": department.community_id,
                "department_id": department.id,
                "week": week.isoformat(),
                "gaps": len(rota["gaps"]),
            },
        )
    return rota


def _view(session: Session, department: Department, week: date) -> dict:
    days = week_days(week)
    shifts = templates_of(session, department.id)
    entries = _entries(session, department.id, days)
    names = dict(
        session.execute(select(Position.id, Position.display_name).where(Position.department_id == department.id)).all()
    )
    for entry in entries:
        entry.display_name = names.get(entry.position_id)
    gaps = coverage(days, {s.id: s.min_staff for s in shifts}, [(e.day, e.shift_id) for e in entries])
    return {
        "department_id": department.id,
        "department_name": department.name,
        "community_id": department.community_id,
        "week": week,
        "days": days,
        "shifts": shifts,
        "entries": entries,
        "gaps": [{"day": g.day, "shift_id": g.shift_id, "staffed": g.staffed, "min_staff": g.minimum} for g in gaps],
        "understaffed": bool(gaps),
    }


def get_week(session: Session, principal: Principal, department_id: str, week: date) -> dict:
    department = _readable(session, principal, department_id)
    _check_week(week)
    rota = _view(session, department, week)
    rota["editable"] = may_edit(session, principal, department)
    return rota


# --- shift swaps ----------------------------------------------------------------------------------------------------


def _window(settings, entry: RotaEntry, shift: ShiftTemplate) -> tuple[datetime, datetime]:
    return shift_window(entry.day, parse_clock(shift.starts), parse_clock(shift.ends), settings.timezone)


def _on_shift(session: Session, position_id: str, entry: RotaEntry) -> bool:
    query = select(RotaEntry.id).where(
        RotaEntry.position_id == position_id, RotaEntry.day == entry.day, RotaEntry.shift_id == entry.shift_id
    )
    return session.execute(query).first() is not None


def request_swap(session: Session, settings, principal: Principal, data: dict, now: datetime) -> ShiftSwap:
    """换班: hand one's own rostered shift (not yet begun) to a colleague of the department who is not on it."""
    entry = session.get(RotaEntry, data["entry_id"])
    if entry is None or not principal.sees_community(entry.community_id):
        raise Invalid("entry_id", "no such rota entry")
    if entry.user_id != principal.subject and principal.role not in MANAGERS:
        raise Invalid("entry_id", "one asks to swap one's own shift")
    if _window(settings, entry, session.get(ShiftTemplate, entry.shift_id))[0] <= as_utc(now):
        raise Invalid("entry_id", "this shift has already begun")
    pending = select(ShiftSwap.id).where(ShiftSwap.entry_id == entry.id, ShiftSwap.status == "pending")
    if session.execute(pending).first():
        raise Invalid("entry_id", "a swap of this shift is already waiting for approval")
    colleague = session.get(Position, data["with_position_id"])
    if colleague is None or colleague.department_id != entry.department_id:
        raise Invalid("with_position_id", "not a post of this department")
    if colleague.id == entry.position_id or colleague.user_id == entry.user_id:
        raise Invalid("with_position_id", "the colleague must be someone else")
    if _on_shift(session, colleague.id, entry):
        raise Invalid("with_position_id", "already on this shift")
    swap = ShiftSwap(
        id=new_id(),
        community_id=entry.community_id,
        entry_id=entry.id,
        position_id=entry.position_id,
        with_position_id=colleague.id,
        reason=data.get("reason"),
        status="pending",
        created_by=principal.subject,
        created_at=now,
    )
    session.add(swap)
    return swap


def visible_swaps(session: Session, principal: Principal, args: dict):
    """Swaps one asked for or takes over; a senior butler the team's; a manager the community's."""
    check_community(principal, args["community_id"])
    query = select(ShiftSwap).where(ShiftSwap.community_id == args["community_id"])
    seen = visible_positions(session, principal)
    if seen is not None:
        query = query.where(or_(ShiftSwap.position_id.in_(seen), ShiftSwap.with_position_id.in_(seen)))
    if args.get("status"):
        query = query.where(ShiftSwap.status == args["status"])
    return query.order_by(ShiftSwap.created_at.desc(), ShiftSwap.id)


def get_swap(session: Session, principal: Principal, swap_id: str, for_update: bool = False) -> ShiftSwap:
    swap = session.get(ShiftSwap, swap_id)
    if swap is not None and principal.sees_community(swap.community_id):
        query = visible_swaps(session, principal, {"community_id": swap.community_id}).where(ShiftSwap.id == swap_id)
        found = session.execute(query.with_for_update() if for_update else query).scalars().first()
        if found is not None:
            return found
    raise NotFound(f"swap {swap_id} not found")


def decide_swap(session: Session, principal: Principal, swap_id: str, approve: bool, now: datetime) -> ShiftSwap:
    """The superior of the person giving the shift away (or the manager) decides; approved, the shift is the
    colleague's."""
    swap = get_swap(session, principal, swap_id, for_update=True)
    giver = session.get(Position, swap.position_id)
    if giver.user_id == principal.subject:
        raise Forbidden("one's own swap is decided by one's superior")
    if principal.role not in MANAGERS:
        superior = session.get(Position, giver.reports_to_id) if giver.reports_to_id else None
        if superior is None or superior.user_id != principal.subject:
            raise Forbidden("only the superior (or the community's manager) decides a swap")
    if swap.status != "pending":
        raise Conflict(f"this swap is {swap.status}, not pending")
    if approve:
        entry = session.get(RotaEntry, swap.entry_id)
        if _on_shift(session, swap.with_position_id, entry):
            raise Invalid("with_position_id", "already on this shift")
        colleague = session.get(Position, swap.with_position_id)
        entry.position_id, entry.user_id = colleague.id, colleague.user_id
    swap.status = "approved" if approve else "rejected"
    swap.decided_by, swap.decided_at = principal.subject, now
    return swap


def with_details(session: Session, settings, swaps: list[ShiftSwap]) -> list[ShiftSwap]:
    """Each swap with the names of both people, the shift's name and day, and its local times (one query each)."""
    if not swaps:
        return swaps
    positions = {s.position_id for s in swaps} | {s.with_position_id for s in swaps}
    names = dict(session.execute(select(Position.id, Position.display_name).where(Position.id.in_(positions))).all())
    rows = session.execute(
        select(RotaEntry, ShiftTemplate)
        .join(ShiftTemplate, ShiftTemplate.id == RotaEntry.shift_id)
        .where(RotaEntry.id.in_({s.entry_id for s in swaps}))
    ).all()
    entries = {entry.id: (entry, shift) for entry, shift in rows}
    for swap in swaps:
        swap.display_name = names.get(swap.position_id)
        swap.with_name = names.get(swap.with_position_id)
        entry, shift = entries[swap.entry_id]
        swap.day, swap.shift_name = entry.day, shift.name
        swap.starts_at, swap.ends_at = _window(settings, entry, shift)
    return swaps
