"""例会: a meeting of a community's staff — its date, attendees and minutes; its action items become tasks handed
down (the tasks domain's own rule: to a post below the caller's, due in the future)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from guanjia.auth import Principal, require_role
from guanjia.db import new_id
from guanjia.errors import Invalid

from ..models import Meeting, MeetingAttendee, Position, Task
from . import tasks
from .common import MANAGERS, check_community, listed_record, position_seen, visible_positions

CHAIRS = (*MANAGERS, "senior_butler")


def hold(session: Session, principal: Principal, data: dict, now: datetime) -> Meeting:
    """Record a meeting; each action item is handed down as a task (refused naming `action_items.N.<field>`)."""
    require_role(principal, *CHAIRS)
    check_community(principal, data["community_id"])
    attendees = []
    for i, position_id in enumerate(data["attendee_ids"]):
        position = session.get(Position, position_id)
        if position is None or position.community_id != data["community_id"]:
            raise Invalid(f"attendee_ids.{i}", "no such position in this community")
        attendees.append(position.id)
    meeting = Meeting(
        id=new_id(),
        community_id=data["community_id"],
        title=data["title"],
        held_on=data["held_on"],
        minutes=data.get("minutes"),
        task_ids=[],
        created_by=principal.subject,
        created_at=now,
    )
    task_ids = []
    for i, item in enumerate(data["action_items"]):
        try:
            position = position_seen(session, principal, item["position_id"], field="position_id")
            if position.community_id != meeting.community_id:
                raise Invalid("position_id", "no such position in this community")
            task = tasks.hand_down(session, principal, item, now)
        except Invalid as refused:
            [(field, messages)] = refused.errors.items()
            raise Invalid(f"action_items.{i}.{field}", messages[0]) from None
        task_ids.append(task.id)
    meeting.task_ids = task_ids
    session.add(meeting)
    session.flush()
    session.add_all(
        MeetingAttendee(id=new_id(), meeting_id=meeting.id, position_id=p) for p in dict.fromkeys(attendees)
    )
    return meeting


def visible_meetings(session: Session, principal: Principal, args: dict):
    """A manager the community's; anyone else those they chaired or attended, or one of their team attended."""
    check_community(principal, args["community_id"])
    query = select(Meeting).where(Meeting.community_id == args["community_id"])
    seen = visible_positions(session, principal)
    if seen is not None:
        attended = select(MeetingAttendee.meeting_id).where(MeetingAttendee.position_id.in_(seen))
        query = query.where(or_(Meeting.created_by == principal.subject, Meeting.id.in_(attended)))
    return query.order_by(Meeting.held_on.desc(), Meeting.id)


def get_meeting(session: Session, principal: Principal, meeting_id: str) -> Meeting:
    return listed_record(session, principal, Meeting, meeting_id, visible_meetings, "meeting")


def with_details(session: Session, meetings: list[Meeting]) -> list[Meeting]:
    """Adds attendees (id, name) and the action items' tasks (title, assignee's name, status): names, not ids."""
    ids = [m.id for m in meetings]
    pairs = session.execute(
        select(MeetingAttendee.meeting_id, Position.id, Position.display_name)
        .join(Position, Position.id == MeetingAttendee.position_id)
        .where(MeetingAttendee.meeting_id.in_(ids))
        .order_by(Position.display_name)
    ).all()
    task_ids = [t for m in meetings for t in m.task_ids or []]
    found = {t.id: t for t in session.execute(select(Task).where(Task.id.in_(task_ids))).scalars()}
    names = dict(
        session.execute(
            select(Position.id, Position.display_name).where(Position.id.in_({t.position_id for t in found.values()}))
        ).all()
    )
    for meeting in meetings:
        meeting.attendees = [{"id": p, "name": n} for m, p, n in pairs if m == meeting.id]
        meeting.action_items = [
            {
                "task_id": t.id,
                "title": t.title,
                "position_id": t.position_id,
                "assignee_name": names.get(t.position_id),
                "due_at": t.due_at,
                "status": t.status,
            }
            for t in (found[i] for i in meeting.task_ids or [] if i in found)
        ]
    return meetings
