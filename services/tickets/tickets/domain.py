"""Ticket use cases: rules and scope checks, with the outbox row written in the same transaction."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from guanjia import outbox as outboxmod
from guanjia.auth import Principal, scoped
from guanjia.db import is_postgres, new_id, parse_time, utcnow
from guanjia.errors import Forbidden, Invalid, NotFound

from . import events
from .consumers import upsert_unit
from .models import Ticket, Unit, outbox

CATEGORIES = ("repair", "complaint", "inquiry", "suggestion")
STAFF_WHO_TAKE_TICKETS = ("admin", "butler", "senior_butler", "cs_manager")


def find_unit(session: Session, unit_id: str, fetch_unit) -> Unit | None:
    """The unit from the projection; on a miss ask residents (it may have been created a moment ago)."""
    unit = session.get(Unit, unit_id)
    if unit is not None:
        return unit
    fetched = fetch_unit(unit_id)
    if fetched is None:
        return None
    upsert_unit(
        session,
        {
            "unit_id": fetched["id"],
            "community_id": fetched["community_id"],
            "building_id": fetched.get("building_id"),
            "number": fetched.get("number"),
        },
        parse_time(fetched.get("updated_at") or "2000-01-01T00:00:00Z"),
    )
    return session.get(Unit, unit_id)


def next_ticket_seq(session: Session) -> int:
    if is_postgres(session):
        # A sequence hands out numbers without locking a row, so concurrent requests never wait on each other.
        return session.execute(text("SELECT nextval('ticket_number_seq')")).scalar_one()
    # Embedded SQLite: writers are serialised (BEGIN IMMEDIATE), so max + 1 is safe.
    return (session.execute(select(func.max(Ticket.seq))).scalar() or 0) + 1


def create_ticket(session: Session, settings, principal: Principal, data: dict, fetch_unit) -> Ticket:
    if principal.role == "resident":
        if data["unit_id"] not in principal.units:
            raise Invalid("unit_id", "not one of your units")
        reporter_id = data.get("reporter_id") or principal.resident_id
        if reporter_id != principal.resident_id:
            raise Invalid("reporter_id", "residents file tickets for themselves")
    elif principal.role in STAFF_WHO_TAKE_TICKETS:
        reporter_id = data.get("reporter_id")
        if not reporter_id:
            raise Invalid("reporter_id", "required when staff file a ticket")
    else:
        raise Forbidden(f"role {principal.role} may not file tickets")

    unit = find_unit(session, data["unit_id"], fetch_unit)
    if unit is None or not principal.sees_unit(unit.community_id, unit.id):
        raise Invalid("unit_id", "no such unit")

    now = utcnow()
    seq = next_ticket_seq(session)
    ticket = Ticket(
        id=new_id(),
        seq=seq,
        number=f"T{seq:08d}",
        community_id=unit.community_id,
        unit_id=unit.id,
        category=data["category"],
        description=data["description"],
        reporter_id=reporter_id,
        first_responder=principal.subject,
        status="new",
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    session.flush()
    outboxmod.emit(
        session,
        outbox,
        settings,
        type=events.TICKET_CREATED,
        subject=f"ticket/{ticket.id}",
        community=ticket.community_id,
        data=events.TicketCreatedV1().dump(
            {
                "ticket_id": ticket.id,
                "number": ticket.number,
                "community_id": ticket.community_id,
                "unit_id": ticket.unit_id,
                "reporter_id": ticket.reporter_id,
                "category": ticket.category,
                "status": ticket.status,
                "created_at": now.isoformat(),
            }
        ),
    )
    return ticket


def visible_tickets(principal: Principal):
    query = select(Ticket).order_by(Ticket.created_at.desc(), Ticket.id)
    return scoped(query, principal, community_column=Ticket.community_id, resident_column=Ticket.reporter_id)


def list_tickets(principal: Principal, filters: dict):
    query = visible_tickets(principal)
    for name in ("status", "category", "unit_id", "community_id", "reporter_id"):
        if filters.get(name):
            query = query.where(getattr(Ticket, name) == filters[name])
    return query


def get_ticket(session: Session, principal: Principal, ticket_id: str) -> Ticket:
    ticket = session.execute(visible_tickets(principal).where(Ticket.id == ticket_id)).scalar_one_or_none()
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} not found")
    return ticket
