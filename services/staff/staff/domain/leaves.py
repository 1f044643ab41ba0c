"""Leave with stand-in cover, and the absence job that announces each approved leave's start and end."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from guanjia.auth import Principal
from guanjia.db import as_utc, new_id
from guanjia.errors import Conflict, Forbidden, Invalid, NotFound

from .. import events
from ..models import Leave, Position
from .common import HOLDING, MANAGERS, check_community, claim_due, emit_event, position_seen, visible_positions

# --- leave --------------------------------------------------------------------------------------------------------


def _overlapping(session: Session, user_id: str, starts_at: datetime, ends_at: datetime, exclude: str | None = None):
    query = select(Leave).where(
        Leave.user_id == user_id, Leave.status.in_(HOLDING), Leave.starts_at < ends_at, Leave.ends_at > starts_at
    )
    if exclude:
        query = query.where(Leave.id != exclude)
    return session.execute(query.order_by(Leave.starts_at)).scalars().first()


def _local(settings, value: datetime) -> str:
    return as_utc(value).astimezone(ZoneInfo(settings.timezone)).strftime("%Y-%m-%d %H:%M")


def file_leave(session: Session, settings, principal: Principal, data: dict, now: datetime) -> Leave:
    """A leave request for one's own post (or, by a manager, for someone's): the stand-in must be free then."""
    position = position_seen(session, principal, data["position_id"], field="position_id")
    if position.user_id != principal.subject and principal.role not in MANAGERS:
        raise Forbidden("a leave request is filed by the person themselves or by the community's manager")
    starts_at, ends_at = as_utc(data["starts_at"]), as_utc(data["ends_at"])
    if ends_at <= starts_at:
        raise Invalid("ends_at", "must be after starts_at")
    today = as_utc(now).astimezone(ZoneInfo(settings.timezone)).replace(hour=0, minute=0, second=0, microsecond=0)
    if starts_at < today:
        raise Invalid("starts_at", "a leave request cannot start before today")
    stand_in = session.get(Position, data["stand_in_id"])
    if stand_in is None or stand_in.community_id != position.community_id:
        raise Invalid("stand_in_id", "no such position in this community")
    if stand_in.user_id == position.user_id:
        raise Invalid("stand_in_id", "the stand-in must be someone else")
    clash = _overlapping(session, position.user_id, starts_at, ends_at)
    if clash is not None:
        raise Invalid(
            "starts_at",
            f"overlaps the leave from {_local(settings, clash.starts_at)} to {_local(settings, clash.ends_at)}",
        )
    _stand_in_free(session, settings, stand_in, starts_at, ends_at)
    leave = Leave(
        id=new_id(),
        community_id=position.community_id,
        position_id=position.id,
        user_id=position.user_id,
        stand_in_position_id=stand_in.id,
        stand_in_user_id=stand_in.user_id,
        kind=data["kind"],
        reason=data.get("reason"),
        starts_at=starts_at,
        ends_at=ends_at,
        status="pending",
        created_by=principal.subject,
        created_at=now,
    )
    session.add(leave)
    return leave


def _stand_in_free(session: Session, settings, stand_in: Position, starts_at: datetime, ends_at: datetime) -> None:
    away = _overlapping(session, stand_in.user_id, starts_at, ends_at)
    if away is not None:
        raise Invalid(
            "stand_in_id",
            f"{stand_in.display_name} is on leave from {_local(settings, away.starts_at)} "
            f"to {_local(settings, away.ends_at)}",
        )


def visible_leaves(session: Session, principal: Principal, args: dict):
    """Leave the caller may see: their own and the ones they stand in for; a senior butler their team's; a manager
    their communities'."""
    query = select(Leave).order_by(Leave.starts_at.desc(), Leave.id)
    if not principal.instance_wide:
        query = query.where(Leave.community_id.in_(principal.communities or ("",)))
    seen = visible_positions(session, principal)
    if seen is not None:
        query = query.where(or_(Leave.position_id.in_(seen), Leave.stand_in_user_id == principal.subject))
    if args.get("community_id"):
        check_community(principal, args["community_id"])
        query = query.where(Leave.community_id == args["community_id"])
    if args.get("status"):
        query = query.where(Leave.status == args["status"])
    if args.get("position_id"):
        query = query.where(Leave.position_id == args["position_id"])
    return query


def get_leave(session: Session, principal: Principal, leave_id: str, for_update: bool = False) -> Leave:
    query = visible_leaves(session, principal, {}).where(Leave.id == leave_id)
    leave = session.execute(query.with_for_update() if for_update else query).scalars().first()
    if leave is None:
        raise NotFound(f"leave {leave_id} not found")
    return leave


def _require_superior(session: Session, principal: Principal, leave: Leave) -> None:
    """The holder's superior (the post their post reports to) decides; the community's manager may as well."""
    if leave.user_id == principal.subject:
        raise Forbidden("one's own leave is decided by one's superior")
    if principal.role in MANAGERS:
        return
    position = session.get(Position, leave.position_id)
    superior = session.get(Position, position.reports_to_id) if position.reports_to_id else None
    if superior is None or superior.user_id != principal.subject:
        raise Forbidden("only the superior of the person on leave (or the community's manager) decides")


def decide_leave(
    session: Session, settings, principal: Principal, leave_id: str, approve: bool, note: str | None, now: datetime
) -> Leave:
    leave = get_leave(session, principal, leave_id, for_update=True)
    _require_superior(session, principal, leave)
    if leave.status != "pending":
        raise Conflict(f"this leave is {leave.status}, not pending")
    if approve:
        # The stand-in may have taken leave since the request was filed.
        stand_in = session.get(Position, leave.stand_in_position_id)
        _stand_in_free(session, settings, stand_in, leave.starts_at, leave.ends_at)
    leave.status = "approved" if approve else "rejected"
    leave.decided_by, leave.decided_at, leave.decision_note = principal.subject, now, note
    return leave


def cancel_leave(session: Session, principal: Principal, leave_id: str, now: datetime) -> Leave:
    """The person (or the manager) withdraws a leave that has not begun."""
    leave = get_leave(session, principal, leave_id, for_update=True)
    if leave.user_id != principal.subject and principal.role not in MANAGERS:
        raise Forbidden("a leave is withdrawn by the person themselves or by the community's manager")
    if leave.status not in HOLDING or leave.started_at is not None:
        raise Conflict("only a leave that has not begun can be withdrawn")
    leave.status = "cancelled"
    leave.decided_by, leave.decided_at = principal.subject, now
    return leave


# --- the absence job: announce each approved leave's start and end -----------------------------------------------


def _absence(leave: Leave) -> dict:
    return {
        "absence_id": leave.id,
        "community_id": leave.community_id,
        "user_id": leave.user_id,
        "stand_in_id": leave.stand_in_user_id,
        "starts_at": as_utc(leave.starts_at).isoformat(),
        "ends_at": as_utc(leave.ends_at).isoformat(),
    }


def _emit(session: Session, settings, leave: Leave, event_type: str) -> None:
    emit_event(session, settings, event_type, f"absence/{leave.id}", leave.community_id, _absence(leave))


def announce_absences(session: Session, settings, now: datetime) -> int:
    """staff.absence_started when an approved leave begins, staff.absence_ended when it is over; each once."""
    count = 0
    starting = select(Leave).where(Leave.status == "approved", Leave.started_at.is_(None), Leave.starts_at <= now)
    for leave in claim_due(session, starting.order_by(Leave.starts_at)):
        leave.started_at = now
        _emit(session, settings, leave, events.ABSENCE_STARTED)
        count += 1
    ending = select(Leave).where(Leave.started_at.is_not(None), Leave.ended_at.is_(None), Leave.ends_at <= now)
    for leave in claim_due(session, ending.order_by(Leave.ends_at)):
        leave.ended_at = now
        _emit(session, settings, leave, events.ABSENCE_ENDED)
        count += 1
    return count
