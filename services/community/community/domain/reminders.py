"""Birthday greetings (生日祝福) and custom reminders (事务提醒): opt-in, scheduling, and the daily announcement
(`greeting.due`, `reminder.due`) made once per greeting and day, or per reminder occurrence, on any replica."""

from __future__ import annotations

import calendar
from datetime import date, datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from guanjia.auth import Principal
from guanjia.db import insert_if_absent, new_id
from guanjia.errors import Conflict, Invalid, NotFound

from .. import events
from ..models import DueNotice, Greeting, Reminder
from . import units
from .common import emit
from .knowledge import local_today

REMINDER_KINDS = ("gas_safety_check", "key_collection", "document_expiry", "water_meter_reading", "other")
REPEATS = {"none": 0, "monthly": 1, "quarterly": 3, "yearly": 12}  # months between occurrences
REMINDER_STATUSES = ("active", "done", "cancelled")
MASKED = "**-**"  # what staff see instead of a birthday: they need to know who opted in, never the date


# -- birthday greetings ----------------------------------------------------------------------------------------------
def _check_birthday(month: int, day: int) -> None:
    # 29 February is a birthday too (greeted on the 28th in other years); 2000 was a leap year.
    try:
        date(2000, month, day)
    except ValueError:
        raise Invalid("birth_day", "not a day of that month") from None


def greeting_view(principal: Principal, greeting: Greeting) -> dict:
    """The opt-in as the caller may see it: the birthday only for the resident themselves."""
    own = principal.role == "resident" and principal.resident_id == greeting.resident_id
    return {
        "id": greeting.id,
        "community_id": greeting.community_id,
        "unit_id": greeting.unit_id,
        "resident_id": greeting.resident_id,
        "birthday": f"{greeting.birth_month:02d}-{greeting.birth_day:02d}" if own else MASKED,
        "created_at": greeting.created_at,
    }


def opt_in(session: Session, principal: Principal, now: datetime, body: dict) -> Greeting:
    """A resident opts in for themselves (consent is theirs to give); a second opt-in changes the date."""
    if principal.role != "resident" or not principal.resident_id:
        raise NotFound("no such resident")
    unit = units.household_in_scope(session, principal, body["unit_id"])
    _check_birthday(body["birth_month"], body["birth_day"])
    greeting = session.execute(
        select(Greeting).where(Greeting.resident_id == principal.resident_id)
    ).scalar_one_or_none()
    if greeting is None:
        greeting = Greeting(id=new_id(), resident_id=principal.resident_id, created_at=now)
        session.add(greeting)
    greeting.community_id, greeting.unit_id, greeting.zone_id = unit.community_id, unit.id, unit.zone_id
    greeting.birth_month, greeting.birth_day = body["birth_month"], body["birth_day"]
    session.flush()
    return greeting


def opt_out(session: Session, principal: Principal) -> None:
    """The resident withdraws: the birthday is deleted, not kept switched off."""
    if principal.role != "resident" or not principal.resident_id:
        raise NotFound("no such resident")
    deleted = session.execute(delete(Greeting).where(Greeting.resident_id == principal.resident_id)).rowcount
    if not deleted:
        raise NotFound("no greeting opt-in")


def greetings_query(principal: Principal, community_id: str):
    """A resident their own opt-in; a butler their zones' (birthdays masked); community roles the community's."""
    if not principal.sees_community(community_id):
        raise NotFound("no such community")
    query = select(Greeting).where(Greeting.community_id == community_id)
    if principal.role == "resident":
        query = query.where(Greeting.resident_id == (principal.resident_id or ""))
    elif principal.role == "butler":
        query = query.where(Greeting.zone_id.in_(principal.zones or ("",)))
    return query.order_by(Greeting.created_at, Greeting.id)


def _birthdays_of(today: date) -> list[tuple[int, int]]:
    days = [(today.month, today.day)]
    if (today.month, today.day) == (2, 28) and not calendar.isleap(today.year):
        days.append((2, 29))
    return days


# -- custom reminders ------------------------------------------------------------------------------------------------
def _add_months(first: date, months: int) -> date:
    month0 = first.month - 1 + months
    year, month = first.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(first.day, calendar.monthrange(year, month)[1]))


def _occurrence(reminder: Reminder, n: int) -> date | None:
    """The n-th occurrence (0 = the first), or None when a one-off has no further one."""
    step = REPEATS[reminder.repeat]
    if n and not step:
        return None
    return _add_months(reminder.first_due, step * n)


def create_reminder(session: Session, principal: Principal, now: datetime, today: date, body: dict) -> Reminder:
    """A butler schedules a reminder for a household of their zones; the first day is today or later."""
    unit = units.household_in_scope(session, principal, body["unit_id"])
    if body["due_on"] < today:
        raise Invalid("due_on", "must be today or later")
    reminder = Reminder(
        id=new_id(),
        community_id=unit.community_id,
        unit_id=unit.id,
        zone_id=unit.zone_id,
        kind=body["kind"],
        note=body.get("note"),
        repeat=body.get("repeat") or "none",
        first_due=body["due_on"],
        next_due=body["due_on"],
        status="active",
        occurrence=0,
        created_by=principal.username or principal.subject,
        created_at=now,
    )
    session.add(reminder)
    session.flush()
    return reminder


def get_reminder(session: Session, principal: Principal, reminder_id: str) -> Reminder:
    reminder = session.get(Reminder, reminder_id)
    if reminder is None:
        raise NotFound("no such reminder")
    units.household_in_scope(session, principal, reminder.unit_id)  # another household's: 404 as well
    return reminder


def cancel_reminder(session: Session, principal: Principal, reminder_id: str) -> Reminder:
    reminder = get_reminder(session, principal, reminder_id)
    if reminder.status != "active":
        raise Conflict("the reminder is no longer active")
    reminder.status, reminder.next_due = "cancelled", None
    return reminder


def reminders_query(principal: Principal, args: dict):
    """A resident their household's reminders, a butler their zones', community roles the community's."""
    if not principal.sees_community(args["community_id"]):
        raise NotFound("no such community")
    query = select(Reminder).where(Reminder.community_id == args["community_id"])
    if principal.role == "resident":
        query = query.where(Reminder.unit_id.in_(principal.units or ("",)))
    elif principal.role == "butler":
        query = query.where(Reminder.zone_id.in_(principal.zones or ("",)))
    if args.get("unit_id"):
        query = query.where(Reminder.unit_id == args["unit_id"])
    if args.get("status"):
        query = query.where(Reminder.status == args["status"])
    return query.order_by(Reminder.next_due, Reminder.id)


# -- the daily announcement ------------------------------------------------------------------------------------------
def _mark(session: Session, kind: str, ref_id: str, due_on: date, now: datetime) -> bool:
    """True the first time (this replica writes the mark); False when it was announced already."""
    values = {"kind": kind, "ref_id": ref_id, "due_on": due_on, "created_at": now}
    return insert_if_absent(session, DueNotice, values)


def announce_due(session: Session, settings, now: datetime) -> int:
    """Write `greeting.due` for today's birthdays and `reminder.due` for the reminders due by today, each once;
    a repeating reminder moves on to its next occurrence after today. Returns the events written."""
    today = local_today(now, settings.timezone)
    written = 0
    birthdays = or_(*(((Greeting.birth_month == m) & (Greeting.birth_day == d)) for m, d in _birthdays_of(today)))
    for greeting in session.execute(select(Greeting).where(birthdays)).scalars():
        if _mark(session, "greeting", greeting.id, today, now):
            data = {
                "greeting_id": greeting.id,
                "community_id": greeting.community_id,
                "resident_id": greeting.resident_id,
            }
            emit(session, settings, events.GREETING_DUE, f"greeting/{greeting.id}", data)
            written += 1
    due = (
        select(Reminder)
        .where(Reminder.status == "active", Reminder.next_due <= today)
        .order_by(Reminder.next_due, Reminder.id)
        .with_for_update(skip_locked=True)
    )
    for reminder in session.execute(due).scalars():
        if _mark(session, "reminder", reminder.id, reminder.next_due, now):
            data = {
                "reminder_id": reminder.id,
                "community_id": reminder.community_id,
                "unit_id": reminder.unit_id,
                "kind": reminder.kind,
                "due_on": reminder.next_due.isoformat(),
            }
            emit(session, settings, events.REMINDER_DUE, f"reminder/{reminder.id}", data)
            written += 1
        _advance(reminder, today)
    return written


def _advance(reminder: Reminder, today: date) -> None:
    """The next occurrence after today (a worker that was down for days announces the missed one once, late)."""
    n = reminder.occurrence + 1
    following = _occurrence(reminder, n)
    while following is not None and following <= today:
        n += 1
        following = _occurrence(reminder, n)
    reminder.occurrence, reminder.next_due = n, following
    if following is None:
        reminder.status = "done"
