"""Progress notes, and the staged feedback (阶段性反馈) a complaint's customer is given until it is settled."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanjia.auth import Principal
from guanjia.db import as_utc, new_id
from guanjia.errors import Conflict, Forbidden, Invalid

from .. import events
from ..models import TicketNote
from .common import OPEN_STATUSES, emit, get_ticket, lock_ticket

NOTE_KINDS = ("note", "feedback")
NOTE_VISIBILITIES = ("internal", "resident")
# Kinds whose customer is given staged feedback (阶段性反馈) until the matter is settled.
FEEDBACK_CATEGORIES = ("complaint", "dispute")
NOTE_WRITERS = ("admin", "butler", "senior_butler", "cs_manager", "engineer")


def add_note(session: Session, settings, principal: Principal, ticket_id: str, data: dict, now: datetime):
    """A progress note (internal, or for the resident to read); on a complaint a staged feedback to the customer,
    with the date of the next one (none: this was the last). The ticket row is locked: notes keep their order."""
    if principal.role not in NOTE_WRITERS:
        raise Forbidden(f"role {principal.role} may not write notes on tickets")
    ticket = lock_ticket(session, principal, ticket_id)
    if principal.role == "engineer" and ticket.assignee_id != principal.subject:
        raise Forbidden("engineers write notes on the tickets dispatched to them")
    kind = data.get("kind") or "note"
    visibility = data.get("visibility") or ("resident" if kind == "feedback" else "internal")
    next_at = data.get("next_feedback_at")
    if kind == "feedback":
        if ticket.category not in FEEDBACK_CATEGORIES:
            raise Invalid("kind", "staged feedback is given on complaints and disputes")
        if visibility != "resident":
            raise Invalid("visibility", "feedback is given to the customer: resident")
        if ticket.status not in (*OPEN_STATUSES, "resolved"):
            raise Conflict(
                f"cannot give feedback on a ticket that is {ticket.status}",
                extra={"current_status": ticket.status, "allowed_actions": []},
            )
        if next_at is not None and as_utc(next_at) <= now:
            raise Invalid("next_feedback_at", "the next feedback is a time in the future")
    elif next_at is not None:
        raise Invalid("next_feedback_at", "only with kind feedback")
    note = TicketNote(
        id=new_id(),
        ticket_id=ticket.id,
        kind=kind,
        visibility=visibility,
        body=data["body"],
        next_feedback_at=next_at,
        author=principal.subject,
        created_at=now,
    )
    session.add(note)
    if kind == "feedback":
        ticket.next_feedback_at = next_at
        ticket.updated_at = now
    session.flush()
    emit(
        session,
        settings,
        ticket,
        events.TICKET_NOTE_ADDED,
        {
            "ticket_id": ticket.id,
            "number": ticket.number,
            "community_id": ticket.community_id,
            "note_id": note.id,
            "kind": kind,
            "visibility": visibility,
            "author": principal.subject,
            "added_at": now.isoformat(),
            "next_feedback_at": as_utc(next_at).isoformat() if next_at else None,
        },
        now,
    )
    return note


def list_notes(session: Session, principal: Principal, ticket_id: str) -> list[TicketNote]:
    """The ticket's notes, oldest first; a resident reads only those meant for them."""
    get_ticket(session, principal, ticket_id)
    query = select(TicketNote).where(TicketNote.ticket_id == ticket_id)
    if principal.role == "resident":
        query = query.where(TicketNote.visibility == "resident")
    return list(session.execute(query.order_by(TicketNote.created_at, TicketNote.id)).scalars())
