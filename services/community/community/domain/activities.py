"""Community activities and owner meetings: publish, sign-up within the capacity (else a waiting list), cancel
(the first waiting household moves up), check-in, minutes, and the reminder the day before."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from guanjia.auth import Principal
from guanjia.db import as_utc, insert_if_absent, new_id
from guanjia.errors import Conflict, Invalid, NotFound

from .. import events
from ..models import Activity, DueNotice, SignUp, Unit
from . import units
from .common import emit

KINDS = ("festival", "sport", "culture", "volunteer", "owner_meeting")
STATUSES = ("draft", "published", "cancelled")
SIGNUP_STATUSES = ("confirmed", "waiting", "cancelled")


def _confirmed_people(session: Session, activity_id: str) -> int:
    return session.execute(
        select(func.coalesce(func.sum(SignUp.people), 0)).where(
            SignUp.activity_id == activity_id, SignUp.status == "confirmed"
        )
    ).scalar_one()


def view(session: Session, activity: Activity) -> dict:
    taken = _confirmed_people(session, activity.id)
    waiting = session.execute(
        select(func.count()).select_from(SignUp).where(SignUp.activity_id == activity.id, SignUp.status == "waiting")
    ).scalar_one()
    zone_ids = audience(activity)[0]
    return {
        **{c.name: getattr(activity, c.name) for c in Activity.__table__.columns},
        "zone_ids": zone_ids,
        "building_ids": audience(activity)[1],
        "zone_names": [units.zone_names(session, zone_ids).get(z) for z in zone_ids],
        "confirmed_people": taken,
        "places_left": max(activity.capacity - taken, 0),
        "waiting": waiting,
    }


def audience(activity: Activity) -> tuple[list[str], list[str]]:
    """The zones and buildings the activity is for (both empty: the whole community)."""
    return json.loads(activity.zone_ids or "[]"), json.loads(activity.building_ids or "[]")


def _set_audience(session: Session, activity: Activity, body: dict) -> None:
    zone_ids = body.pop("zone_ids", None)
    building_ids = body.pop("building_ids", None)
    if zone_ids is None and building_ids is None:
        return
    if activity.status not in (None, "draft"):
        raise Conflict("the activity has been announced: its audience is fixed")
    old_zones, old_buildings = audience(activity)
    zone_ids = sorted(set(old_zones if zone_ids is None else zone_ids))
    building_ids = sorted(set(old_buildings if building_ids is None else building_ids))
    units.check_audience(session, activity.community_id, zone_ids, building_ids)
    activity.zone_ids, activity.building_ids = json.dumps(zone_ids), json.dumps(building_ids)


def _check_times(body: dict) -> None:
    if body["ends_at"] <= body["starts_at"]:
        raise Invalid("ends_at", "must be after the start")
    if body["signup_closes_at"] > body["starts_at"]:
        raise Invalid("signup_closes_at", "sign-up must close by the start")


def create(session: Session, principal: Principal, now: datetime, body: dict) -> Activity:
    if not principal.sees_community(body["community_id"]):
        raise NotFound("no such community")
    _check_times(body)
    given = {"zone_ids": body.pop("zone_ids", None) or [], "building_ids": body.pop("building_ids", None) or []}
    activity = Activity(
        id=new_id(),
        status="draft",
        zone_ids="[]",
        building_ids="[]",
        created_by=principal.username or principal.subject,
        created_at=now,
        waiting_list=body.pop("waiting_list", True),
        **body,
    )
    _set_audience(session, activity, given)
    session.add(activity)
    session.flush()
    return activity


def get(session: Session, principal: Principal, activity_id: str) -> Activity:
    activity = session.get(Activity, activity_id)
    if activity is None or not principal.sees_community(activity.community_id):
        raise NotFound("no such activity")
    if principal.role == "resident" and (activity.status == "draft" or not _for_resident(session, principal, activity)):
        raise NotFound("no such activity")
    return activity


def _for_resident(session: Session, principal: Principal, activity: Activity) -> bool:
    """Whether one of the resident's homes is in the activity's audience."""
    zone_ids, building_ids = audience(activity)
    homes = [session.get(Unit, unit_id) for unit_id in principal.units]
    return any(home is not None and units.in_audience(home, zone_ids, building_ids) for home in homes)


def list_query(session: Session, principal: Principal, args: dict):
    if not principal.sees_community(args["community_id"]):
        raise NotFound("no such community")
    query = select(Activity).where(Activity.community_id == args["community_id"])
    if principal.role == "resident":
        query = query.where(
            Activity.status != "draft",
            units.json_audience_for(session, principal.units, Activity.zone_ids, Activity.building_ids),
        )
    if args.get("kind"):
        query = query.where(Activity.kind == args["kind"])
    return query.order_by(Activity.starts_at.desc(), Activity.id)


def update(session: Session, settings, principal: Principal, now: datetime, activity_id: str, body: dict) -> Activity:
    """Change the details, publish (activity.published: the announcement), cancel, or record the minutes."""
    activity = get(session, principal, activity_id)
    if activity.status == "cancelled":
        raise Conflict("the activity is cancelled")
    status = body.pop("status", None)
    _set_audience(session, activity, body)
    if "minutes" in body and activity.kind != "owner_meeting":
        raise Invalid("minutes", "only an owner meeting has minutes")
    for name, value in body.items():
        setattr(activity, name, value)
    _check_times(
        {
            "starts_at": as_utc(activity.starts_at),
            "ends_at": as_utc(activity.ends_at),
            "signup_closes_at": as_utc(activity.signup_closes_at),
        }
    )
    if status == "published" and activity.status == "draft":
        activity.status, activity.published_at = "published", now
        emit(
            session,
            settings,
            events.ACTIVITY_PUBLISHED,
            f"activity/{activity.id}",
            {
                "activity_id": activity.id,
                "community_id": activity.community_id,
                "kind": activity.kind,
                "starts_at": as_utc(activity.starts_at).isoformat(),
                "signup_closes_at": as_utc(activity.signup_closes_at).isoformat(),
                "capacity": activity.capacity,
                "zone_ids": audience(activity)[0],
                "building_ids": audience(activity)[1],
            },
        )
    elif status == "cancelled":
        activity.status = "cancelled"
    elif status is not None and status != activity.status:
        raise Conflict("a published activity cannot go back to draft")
    return activity


def sign_up(session: Session, principal: Principal, now: datetime, activity_id: str, body: dict) -> SignUp:
    """The resident for their household, the butler on its behalf: confirmed while places last, then waiting (or
    refused when the activity keeps no waiting list)."""
    activity = get(session, principal, activity_id)
    unit = units.household_in_scope(session, principal, body["unit_id"])
    if unit.community_id != activity.community_id:
        raise NotFound("no such household")
    if not units.in_audience(unit, *audience(activity)):
        raise Invalid("unit_id", "this household is not in the activity's audience")
    if activity.status != "published":
        raise Conflict("the activity is not open for sign-up")
    if now > as_utc(activity.signup_closes_at):
        raise Conflict("sign-up has closed")
    people = body.get("people", 1)
    # Lock the activity row: two sign-ups for the last place are decided one after the other.
    session.execute(select(Activity.id).where(Activity.id == activity.id).with_for_update())
    full = _confirmed_people(session, activity.id) + people > activity.capacity
    if full and not activity.waiting_list:
        raise Conflict("the activity is full")
    row = SignUp(
        id=new_id(),
        activity_id=activity.id,
        unit_id=unit.id,
        zone_id=unit.zone_id,
        people=people,
        status="waiting" if full else "confirmed",
        signed_up_by=principal.username or principal.subject,
        created_at=now,
    )
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict("this household has already signed up") from None
    return row


def signups_query(session: Session, principal: Principal, activity_id: str):
    activity = get(session, principal, activity_id)
    query = select(SignUp).where(SignUp.activity_id == activity.id)
    if principal.role == "resident":
        query = query.where(SignUp.unit_id.in_(list(principal.units)))
    elif principal.role == "butler":
        query = query.where(SignUp.zone_id.in_(list(principal.zones)))
    return query.order_by(SignUp.created_at, SignUp.id)


def _signup(session: Session, principal: Principal, activity_id: str, signup_id: str) -> tuple[Activity, SignUp]:
    activity = get(session, principal, activity_id)
    row = session.get(SignUp, signup_id)
    if row is None or row.activity_id != activity.id:
        raise NotFound("no such sign-up")
    units.household_in_scope(session, principal, row.unit_id)
    return activity, row


def cancel_signup(session: Session, principal: Principal, activity_id: str, signup_id: str) -> SignUp:
    """Withdraw a sign-up; the waiting households move up, oldest first, as far as the freed places go."""
    activity, row = _signup(session, principal, activity_id, signup_id)
    if row.status == "cancelled":
        raise Conflict("the sign-up is already cancelled")
    row.status = "cancelled"
    session.flush()
    free = activity.capacity - _confirmed_people(session, activity.id)
    waiting = session.execute(
        select(SignUp)
        .where(SignUp.activity_id == activity.id, SignUp.status == "waiting")
        .order_by(SignUp.created_at, SignUp.id)
    ).scalars()
    for candidate in waiting:
        if candidate.people <= free:
            candidate.status, free = "confirmed", free - candidate.people
    return row


def check_in(session: Session, principal: Principal, now: datetime, activity_id: str, signup_id: str) -> SignUp:
    if principal.role == "resident":
        raise NotFound("no such sign-up")
    _, row = _signup(session, principal, activity_id, signup_id)
    if row.status != "confirmed":
        raise Conflict("only a confirmed sign-up can check in")
    row.checked_in_at = row.checked_in_at or now
    return row


def announce_reminders(session: Session, settings, now: datetime) -> int:
    """The day before (instance time zone), `activity.reminder_due` for each confirmed sign-up of a published
    activity starting tomorrow — once per sign-up (a household confirmed later that day, off the waiting list, is
    reminded on the next run). Returns the events written."""
    zone = ZoneInfo(settings.timezone)
    today = now.astimezone(zone).date()
    start = datetime.combine(today + timedelta(days=1), datetime.min.time(), zone)
    end = start + timedelta(days=1)
    rows = session.execute(
        select(Activity, SignUp)
        .join(SignUp, SignUp.activity_id == Activity.id)
        .where(
            Activity.status == "published",
            Activity.starts_at >= start,
            Activity.starts_at < end,
            SignUp.status == "confirmed",
        )
        .order_by(Activity.starts_at, SignUp.created_at)
    ).all()
    written = 0
    for activity, signup in rows:
        mark = {"kind": "activity", "ref_id": signup.id, "due_on": today, "created_at": now}
        if not insert_if_absent(session, DueNotice, mark):
            continue
        data = {
            "activity_id": activity.id,
            "signup_id": signup.id,
            "community_id": activity.community_id,
            "unit_id": signup.unit_id,
            "kind": activity.kind,
            "starts_at": as_utc(activity.starts_at).isoformat(),
        }
        emit(session, settings, events.ACTIVITY_REMINDER_DUE, f"activity/{activity.id}", data)
        written += 1
    return written
