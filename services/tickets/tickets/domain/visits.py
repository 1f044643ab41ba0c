"""Return visits (回访): the outcome closes or reopens the ticket; a late visit is announced once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanjia.db import as_utc, new_id
from guanjia.errors import Forbidden, Invalid

from .. import events
from ..models import ReturnVisit, Ticket
from .common import DISPATCHERS, add_timeline, emit, lock_ticket
from .community import community_config
from .lifecycle import check_transition, close_ticket, may_act, reopen_ticket


def record_visit(session, settings, principal, ticket_id, data, now):
    """回访: reached and satisfied closes; dissatisfied reopens; unreachable closes after the allowed attempts."""
    ticket = lock_ticket(session, principal, ticket_id)
    if principal.role not in DISPATCHERS and not may_act(principal, ticket, reporter=True):
        raise Forbidden(f"role {principal.role} may not record return visits")
    if principal.role == "resident" and data["outcome"] != "reached":
        # The reporting resident answers the visit themselves (the mobile pages): they are reached by definition.
        raise Invalid("outcome", "a resident answering the visit is reached")
    check_transition(ticket, "visit")
    outcome, satisfaction = data["outcome"], data.get("satisfaction")
    if outcome == "reached" and satisfaction is None:
        raise Invalid("satisfaction", "required when the resident was reached")
    if outcome == "unreachable" and satisfaction is not None:
        raise Invalid("satisfaction", "only for a resident who was reached")
    visit = ReturnVisit(
        id=new_id(),
        ticket_id=ticket.id,
        outcome=outcome,
        satisfaction=satisfaction,
        comment=data.get("comment"),
        visited_by=principal.subject,
        visited_at=now,
    )
    session.add(visit)
    details = {"visit_id": visit.id, "outcome": outcome, "satisfaction": satisfaction}
    if outcome == "reached":
        ticket.satisfaction = satisfaction
        add_timeline(session, ticket, principal.subject, "visited", ticket.status, now, data.get("comment"), details)
        if satisfaction <= 2:
            reopen_ticket(session, settings, ticket, principal.subject, "dissatisfied", data.get("comment"), now)
        else:
            close_ticket(session, settings, ticket, principal.subject, "reached", now)
    else:
        ticket.visit_attempts += 1
        details["attempt"] = ticket.visit_attempts
        add_timeline(
            session, ticket, principal.subject, "visit_attempt", ticket.status, now, data.get("comment"), details
        )
        if ticket.visit_attempts >= community_config(session, ticket.community_id)["max_unreachable_attempts"]:
            close_ticket(session, settings, ticket, principal.subject, "unreachable", now)
    session.flush()
    return ticket, visit


def list_visits(session: Session, ticket_id: str):
    query = select(ReturnVisit).where(ReturnVisit.ticket_id == ticket_id).order_by(ReturnVisit.visited_at)
    return list(session.execute(query).scalars())


def check_visit_overdue(session: Session, settings, now: datetime) -> int:
    """ticket.visit_overdue once per resolution whose return visit is past due; safe on several workers (the
    candidates are locked SKIP LOCKED and marked in the same transaction)."""
    query = (
        select(Ticket)
        .where(Ticket.status == "resolved", Ticket.visit_due_at <= now, Ticket.visit_overdue_at.is_(None))
        .order_by(Ticket.visit_due_at, Ticket.id)
        .limit(1000)
        .with_for_update(skip_locked=True)
    )
    alerted = 0
    for ticket in session.execute(query).scalars():
        ticket.visit_overdue_at = now
        add_timeline(session, ticket, "system:visits", "visit_overdue", ticket.status, now)
        emit(
            session,
            settings,
            ticket,
            events.TICKET_VISIT_OVERDUE,
            {
                "ticket_id": ticket.id,
                "number": ticket.number,
                "community_id": ticket.community_id,
                "zone_id": ticket.zone_id,
                "first_responder": ticket.first_responder,
                "visit_due_at": as_utc(ticket.visit_due_at).isoformat(),
                "detected_at": now.isoformat(),
            },
            now,
        )
        alerted += 1
    return alerted
