"""What every ticket use case shares: kinds and statuses, who sees which ticket, the timeline, events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import event as sa_event
from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import Session

from guanjia import outbox as outboxmod
from guanjia.auth import Principal, scoped
from guanjia.db import new_id
from guanjia.errors import NotFound
from guanjia.fields import schema_instance

from .. import events
from ..models import Ticket, TimelineEntry, outbox

CATEGORIES = ("repair", "complaint", "inquiry", "suggestion", "praise", "service_request", "dispute")
PRIORITIES = ("low", "normal", "high", "emergency")
CHANNELS = ("phone", "walk_in", "app", "wechat", "patrol", "survey", "maintenance", "owner_meeting")
LOCATIONS = ("in_unit", "public_area")
DEPARTMENTS = ("engineering", "security", "cleaning", "landscaping", "customer_service")
STATUSES = ("new", "assigned", "in_progress", "on_hold", "resolved", "closed", "reopened", "cancelled")
OPEN_STATUSES = ("new", "assigned", "in_progress", "on_hold", "reopened")
REOPEN_REASONS = ("dissatisfied", "not_fixed", "other")

STAFF_WHO_TAKE_TICKETS = ("admin", "butler", "senior_butler", "cs_manager")
DISPATCHERS = ("admin", "butler", "senior_butler", "cs_manager")
SUPERVISORS = ("admin", "senior_butler", "cs_manager")


_POSITIONS = "tickets_timeline_positions"


def add_timeline(session, ticket, actor, action, from_status, now, reason=None, details=None) -> None:
    # The ticket row is locked (or new) in this transaction, so max + 1 cannot race; the last position is then
    # remembered for the rest of the transaction (a new ticket starts at 0 without asking the database).
    positions = timeline_positions(session)
    last = positions.get(ticket.id)
    if last is None:
        last = session.execute(
            select(func.max(TimelineEntry.position)).where(TimelineEntry.ticket_id == ticket.id)
        ).scalar()
    positions[ticket.id] = (last or 0) + 1
    session.add(
        TimelineEntry(
            id=new_id(),
            ticket_id=ticket.id,
            position=positions[ticket.id],
            at=now,
            actor=actor,
            action=action,
            from_status=from_status,
            to_status=ticket.status,
            reason=reason,
            details=outboxmod.encode(details or {}),
        )
    )


def timeline_positions(session) -> dict:
    """{ticket id: last timeline position written} for the session's current transaction."""
    positions = session.info.get(_POSITIONS)
    if positions is None:
        positions = session.info[_POSITIONS] = {}
        # Forgotten when the transaction (or a savepoint) ends: the next one asks the database again.
        sa_event.listen(session, "after_transaction_end", lambda s, _t: s.info.pop(_POSITIONS, None), once=True)
    return positions


def emit(session, settings, ticket, event_type: str, data: dict, now: datetime) -> None:
    """The ticket's event, its payload dumped by the published schema, its time the caller's `now`."""
    outboxmod.emit(session, outbox, settings, **_ticket_fields(ticket.id, ticket.community_id, event_type, data, now))


def ticket_event(settings, ticket_id: str, community_id: str, event_type: str, data: dict, now: datetime) -> dict:
    """The CloudEvent `emit` writes for a ticket (for the create's one statement, which writes it itself)."""
    return outboxmod.build(settings, **_ticket_fields(ticket_id, community_id, event_type, data, now))


def _ticket_fields(ticket_id: str, community_id: str, event_type: str, data: dict, now: datetime) -> dict:
    return {
        "type": event_type,
        "subject": f"ticket/{ticket_id}",
        "community": community_id,
        "data": schema_instance(events.PUBLISHED[event_type]).dump(data),
        "time": now,
    }


def visible_tickets(principal: Principal):
    """Residents their own; engineers what is dispatched to them; butlers their zones plus what they took or hold;
    managers and integrators (read-only API keys) their communities; finance none."""
    query = select(Ticket).order_by(Ticket.created_at.desc(), Ticket.id)
    if principal.role == "engineer":
        # What was dispatched to them by name (contractors may carry no community at all).
        query = query.where(Ticket.assignee_id == principal.subject)
        return query.where(Ticket.community_id.in_(principal.communities)) if principal.communities else query
    if principal.role == "butler":
        if not principal.communities:
            return query.where(false())
        mine = or_(Ticket.first_responder == principal.subject, Ticket.assignee_id == principal.subject)
        in_zones = Ticket.zone_id.in_(principal.zones) if principal.zones else false()
        return query.where(Ticket.community_id.in_(principal.communities), or_(in_zones, mine))
    if principal.role == "finance":
        return query.where(false())
    if principal.role == "resident":
        # What they reported, in a unit they hold now: the token carries the units of the current occupancy only.
        if not principal.resident_id or not principal.units:
            return query.where(false())
        query = query.where(Ticket.reporter_id == principal.resident_id, Ticket.unit_id.in_(principal.units))
        return query.where(Ticket.community_id.in_(principal.communities)) if principal.communities else query
    return scoped(query, principal, community_column=Ticket.community_id, resident_column=Ticket.reporter_id)


def lock_ticket(session: Session, principal: Principal, ticket_id: str) -> Ticket:
    query = visible_tickets(principal).where(Ticket.id == ticket_id).with_for_update()
    ticket = session.execute(query).scalar_one_or_none()
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} not found")
    return ticket


def get_ticket(session: Session, principal: Principal, ticket_id: str) -> Ticket:
    ticket = session.execute(visible_tickets(principal).where(Ticket.id == ticket_id)).scalar_one_or_none()
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} not found")
    return ticket
