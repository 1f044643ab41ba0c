"""Photos of an activity and what an owner meeting (业主见面会) records besides its minutes: the issues raised —
by a household or in general — each of which staff may turn into a ticket (meeting.issue_raised → tickets)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanjia import uploads
from guanjia.auth import Principal
from guanjia.db import new_id
from guanjia.errors import Conflict, Invalid, NotFound

from .. import events
from ..models import ActivityPhoto, MeetingIssue
from . import activities, units
from .common import emit

# What an issue is about: a code, so the ticket (and the event) say it without repeating anyone's words.
TOPICS = ("lift", "parking", "cleaning", "greening", "security", "repairs", "fees", "noise", "facilities", "other")
ISSUE_STATUSES = ("open", "ticket_requested", "closed")
# The tickets' categories an issue may become.
TICKET_CATEGORIES = ("repair", "complaint", "inquiry", "suggestion", "service_request")


def _staff_activity(session: Session, principal: Principal, activity_id: str):
    if principal.role == "resident":
        raise NotFound("no such activity")
    return activities.get(session, principal, activity_id)


# -- photos ----------------------------------------------------------------------------------------------------------
def add_photo(database, store, principal: Principal, activity_id: str, upload, max_bytes: int, now: datetime):
    """Keep an uploaded photo (its type already proven by its content) for an activity the caller organises (no
    file stays without its row)."""
    with database.transaction() as session:
        activity = _staff_activity(session, principal, activity_id)
        if activity.status == "cancelled":
            raise Conflict("the activity is cancelled")

    uploaded_by = principal.username or principal.subject
    return uploads.keep_row(
        database, store, upload, max_bytes, ActivityPhoto, uploaded_by=uploaded_by, now=now, activity_id=activity_id
    )


def photos_query(session: Session, principal: Principal, activity_id: str):
    activity = activities.get(session, principal, activity_id)
    return (
        select(ActivityPhoto)
        .where(ActivityPhoto.activity_id == activity.id)
        .order_by(ActivityPhoto.created_at, ActivityPhoto.id)
    )


def find_photo(session: Session, principal: Principal, activity_id: str, photo_id: str) -> ActivityPhoto:
    activity = activities.get(session, principal, activity_id)
    photo = session.get(ActivityPhoto, photo_id)
    if photo is None or photo.activity_id != activity.id:
        raise NotFound("no such photo")
    return photo


# -- issues raised at an owner meeting -------------------------------------------------------------------------------
def _meeting(session: Session, principal: Principal, activity_id: str):
    activity = _staff_activity(session, principal, activity_id)
    if activity.kind != "owner_meeting":
        raise NotFound("only an owner meeting records issues")
    return activity


def issue_view(issue: MeetingIssue, labels: dict) -> dict:
    return {
        **{c.name: getattr(issue, c.name) for c in MeetingIssue.__table__.columns},
        "unit_label": labels.get(issue.unit_id),
    }


def raise_issue(session: Session, principal: Principal, now: datetime, activity_id: str, body: dict) -> MeetingIssue:
    """Record an issue raised at the meeting; `unit_id` (optional) is the household that raised it — a butler's
    own zones' (another household is 404)."""
    activity = _meeting(session, principal, activity_id)
    if activity.status == "cancelled":
        raise Conflict("the activity is cancelled")
    unit = None
    if body.get("unit_id"):
        unit = units.household_in_scope(session, principal, body["unit_id"])
        if unit.community_id != activity.community_id:
            raise NotFound("no such household")
    issue = MeetingIssue(
        id=new_id(),
        activity_id=activity.id,
        community_id=activity.community_id,
        unit_id=unit.id if unit else None,
        zone_id=unit.zone_id if unit else None,
        topic=body["topic"],
        description=body["description"],
        status="open",
        raised_by=principal.username or principal.subject,
        created_at=now,
    )
    session.add(issue)
    session.flush()
    return issue


def issues_query(session: Session, principal: Principal, activity_id: str):
    """The meeting's issues; a butler sees the general ones and their zones' households'."""
    activity = _meeting(session, principal, activity_id)
    query = select(MeetingIssue).where(MeetingIssue.activity_id == activity.id)
    if principal.role == "butler":
        query = query.where(MeetingIssue.zone_id.is_(None) | MeetingIssue.zone_id.in_(list(principal.zones)))
    return query.order_by(MeetingIssue.created_at, MeetingIssue.id)


def _issue(session: Session, principal: Principal, activity_id: str, issue_id: str) -> MeetingIssue:
    activity = _meeting(session, principal, activity_id)
    issue = session.get(MeetingIssue, issue_id)
    if issue is None or issue.activity_id != activity.id:
        raise NotFound("no such issue")
    if issue.unit_id:
        units.household_in_scope(session, principal, issue.unit_id)
    return issue


def to_ticket(
    session: Session, settings, principal: Principal, now: datetime, activity_id: str, issue_id: str, body: dict
) -> MeetingIssue:
    """Ask tickets to open a ticket for the issue (meeting.issue_raised: ids, the topic and the category; the
    description stays here). Once per issue: a second request is 409."""
    issue = _issue(session, principal, activity_id, issue_id)
    if issue.status != "open":
        raise Conflict("this issue has already been handed on")
    category = body["category"]
    if category not in TICKET_CATEGORIES:
        raise Invalid("category", "not a ticket category")
    issue.status, issue.ticket_category, issue.ticket_requested_at = "ticket_requested", category, now
    emit(
        session,
        settings,
        events.MEETING_ISSUE_RAISED,
        f"meeting_issue/{issue.id}",
        {
            "issue_id": issue.id,
            "activity_id": issue.activity_id,
            "community_id": issue.community_id,
            "zone_id": issue.zone_id,
            "unit_id": issue.unit_id,
            "topic": issue.topic,
            "category": category,
        },
    )
    return issue


def close_issue(session: Session, principal: Principal, activity_id: str, issue_id: str) -> MeetingIssue:
    """Answered at the meeting itself: nothing to hand on."""
    issue = _issue(session, principal, activity_id, issue_id)
    if issue.status != "open":
        raise Conflict("this issue has already been handed on")
    issue.status = "closed"
    return issue
