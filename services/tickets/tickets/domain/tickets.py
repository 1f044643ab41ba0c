"""Filing tickets (checked, numbered, given SLA deadlines and dispatched) and finding them again."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import Boolean, String, and_, bindparam, exists, func, or_, select, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from guanjia.auth import Principal
from guanjia.db import in_selected, is_postgres
from guanjia.errors import Forbidden, Invalid

from .. import events
from ..models import Absence, Ticket, TicketNote, TimelineEntry, Zone
from . import filing, people
from .common import (
    OPEN_STATUSES,
    STAFF_WHO_TAKE_TICKETS,
    add_timeline,
    emit,
    get_ticket,
    timeline_positions,
    visible_tickets,
)
from .filing import check_unit, check_zone_matches, created_data, new_ticket
from .lifecycle import dispatch
from .projections import check_reporter, find_unit
from .routing import STAND_IN_REASON, route, stand_in_for
from .sla import deadlines, escalate_emergency

# What a resident filing a ticket may say about it: the rest (priority, department, assignee) the staff decide.
RESIDENT_CHANNELS = ("app", "wechat")


def next_ticket_seq(session: Session) -> int:
    if is_postgres(session):
        # A sequence hands out numbers without locking a row, so concurrent requests never wait on each other.
        return session.execute(text("SELECT nextval('ticket_number_seq')")).scalar_one()
    # Embedded SQLite: writers are serialised (BEGIN IMMEDIATE), so max + 1 is safe.
    return (session.execute(select(func.max(Ticket.seq))).scalar() or 0) + 1


def file_in_unit(conn, settings, principal: Principal, data: dict, now: datetime, directory=None):
    """The usual ticket (`filing.fits`) filed by the two statements on the request's plain connection; None when
    tickets does not know its unit (then `create_ticket(..., tried=True)` files it through the ORM)."""
    reporter_id, channel = caller_says(principal, data)
    directory = directory or people.People()
    return filing.create_in_unit(conn, settings, principal, data, reporter_id, channel, now, directory)


def create_ticket(
    session: Session,
    settings,
    principal: Principal,
    data: dict,
    fetch_unit,
    now: datetime,
    directory=None,
    *,
    tried: bool = False,
) -> Ticket | filing.FiledTicket:
    """A ticket filed through the API by a resident or by the staff member who takes it (the first responder).

    Every id in the body is checked: the unit (in the caller's units, or a butler's zones), the reporter (a current
    resident of that unit, asked of residents), the assignee (staff of the ticket's community, asked of the gateway).
    The usual ticket — in a unit tickets knows, on PostgreSQL — is filed in two statements (`filing`); the rest
    (a public area, an emergency, a named assignee, a unit not projected yet, SQLite) through the ORM. `tried`:
    the two statements were tried already (`file_in_unit`) and did not know the unit.
    """
    directory = directory or people.People()
    location = data.get("location", "in_unit")
    reporter_id, channel = caller_says(principal, data)
    if not tried and filing.fits(session, data):
        ticket = filing.create_in_unit(session, settings, principal, data, reporter_id, channel, now, directory)
        if ticket is not None:
            return ticket
    unit = zone = None
    if data.get("unit_id"):
        unit = find_unit(session, data["unit_id"], fetch_unit)
        if unit is None:
            raise Invalid("unit_id", "no such unit")
        check_unit(principal, unit.id, unit.community_id, unit.zone_id)
        community_id, zone_id = unit.community_id, unit.zone_id
        check_zone_matches(data, zone_id)
    elif location == "in_unit":
        raise Invalid("unit_id", "required for a ticket in a unit")
    else:
        if not data.get("zone_id"):
            raise Invalid("zone_id", "required for a public-area ticket")
        zone = session.get(Zone, data["zone_id"])
        if zone is None or not principal.sees_zone(zone.community_id, zone.id):
            raise Invalid("zone_id", "no such zone")
        community_id, zone_id = zone.community_id, zone.id
    if principal.role != "resident" and reporter_id:
        check_reporter(session, directory, reporter_id, community_id, unit.id if unit else None)
    if data.get("assignee_id"):
        people.check_assignee(directory, data["assignee_id"], community_id)

    return open_ticket(
        session,
        settings,
        actor=principal.subject,
        now=now,
        community_id=community_id,
        zone_id=zone_id,
        unit_id=unit.id if unit else None,
        location=location,
        category=data["category"],
        subcategory=data.get("subcategory"),
        priority=data.get("priority") or "normal",
        channel=channel,
        description=data["description"],
        reporter_id=reporter_id,
        department=data.get("department"),
        assignee_id=data.get("assignee_id"),
        urgent_requested=bool(data.get("urgent")),
    )


def caller_says(principal: Principal, data: dict) -> tuple[str | None, str]:
    """(reporter, channel) of a create, after what the caller's role may say about a ticket is checked."""
    if principal.role == "resident":
        if not data.get("unit_id"):
            raise Invalid("unit_id", "required")
        if data["unit_id"] not in principal.units:
            raise Invalid("unit_id", "not one of your units")
        reporter_id = data.get("reporter_id") or principal.resident_id
        if reporter_id != principal.resident_id:
            raise Invalid("reporter_id", "residents file tickets for themselves")
        for staff_only in ("department", "assignee_id"):
            if data.get(staff_only):
                raise Invalid(staff_only, "set by the property staff")
        if data.get("priority") not in (None, "normal"):
            # A resident's "urgent" is a request the service desk triages, never an emergency page at 04:40.
            raise Invalid("priority", "set by the service desk; send urgent: true to ask for a quick response")
        channel = data.get("channel") or "app"
        if channel not in RESIDENT_CHANNELS:
            raise Invalid("channel", f"residents file through {' or '.join(RESIDENT_CHANNELS)}")
    elif principal.role in STAFF_WHO_TAKE_TICKETS:
        reporter_id = data.get("reporter_id")
        channel = data.get("channel") or "phone"
    else:
        raise Forbidden(f"role {principal.role} may not file tickets")
    return reporter_id, channel


def open_ticket(
    session: Session,
    settings,
    *,
    actor: str,
    now: datetime,
    department: str | None = None,
    assignee_id: str | None = None,
    default_department: str = "customer_service",
    **fields,
) -> Ticket:
    """Create the ticket, its first timeline entry, SLA deadlines and ticket.created; then dispatch it."""
    ticket = new_ticket(next_ticket_seq(session), actor, now, **fields)
    ticket.response_due_at, ticket.resolution_due_at = deadlines(session, settings, ticket, now)
    session.add(ticket)
    session.flush()
    timeline_positions(session)[ticket.id] = 0  # a brand-new ticket has no timeline yet
    add_timeline(session, ticket, actor, "created", None, now, details={"channel": ticket.channel})
    emit(
        session,
        settings,
        ticket,
        events.TICKET_CREATED,
        created_data(ticket, now),
        now,
    )
    if ticket.priority == "emergency":
        escalate_emergency(session, settings, ticket, now)
    if assignee_id:
        dispatch(session, settings, ticket, department or default_department, assignee_id, actor, None, now)
    else:
        routed = route(session, ticket, department or default_department)
        if routed:
            # A butler on leave: the ticket goes to their stand-in, and the timeline says why.
            stand_in = stand_in_for(session, routed[1], now)
            assignee, reason = (stand_in, STAND_IN_REASON) if stand_in else (routed[1], None)
            dispatch(session, settings, ticket, routed[0], assignee, "system:routing", reason, now)
    return ticket


LIST_FILTERS = (
    "status",
    "category",
    "subcategory",
    "priority",
    "channel",
    "unit_id",
    "zone_id",
    "community_id",
    "reporter_id",
    "department",
    "assignee_id",
    "first_responder",
    "number",
    "equipment_id",
)
# The list's SLA filter: an open ticket whose resolution deadline has passed, is under two hours away, or further.
SLA_STATES = ("breached", "due_soon", "on_track")
SLA_DUE_SOON = timedelta(hours=2)


def list_tickets(principal: Principal, filters: dict, now: datetime):
    query = visible_tickets(principal)
    sla = filters.get("sla")
    if sla:
        query = query.where(Ticket.status.in_(OPEN_STATUSES), Ticket.resolution_due_at.is_not(None))
        if sla == "breached":
            query = query.where(Ticket.resolution_due_at < now)
        elif sla == "due_soon":
            query = query.where(Ticket.resolution_due_at >= now, Ticket.resolution_due_at < now + SLA_DUE_SOON)
        else:
            query = query.where(Ticket.resolution_due_at >= now + SLA_DUE_SOON)
    if filters.get("escalated"):
        query = query.where(Ticket.escalation_level > 0)
    for name in LIST_FILTERS:
        if filters.get(name):
            query = query.where(getattr(Ticket, name) == filters[name])
    if filters.get("open"):
        query = query.where(Ticket.status.in_(OPEN_STATUSES))
    if filters.get("created_from"):
        query = query.where(Ticket.created_at >= filters["created_from"])
    if filters.get("created_to"):
        query = query.where(Ticket.created_at < filters["created_to"])
    if filters.get("visit_due_before"):
        query = query.where(Ticket.status == "resolved", Ticket.visit_due_at <= filters["visit_due_before"])
    if filters.get("q"):
        query = query.where(text_matches(principal, filters["q"]))
    return query


def _contains(words: str) -> str:
    """An ILIKE pattern for `words` anywhere: the caller's % and _ are literal characters, not wildcards."""
    escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


TRIGRAM = 3  # pg_trgm's index serves a substring of at least three characters


class PairMatch(ColumnElement):
    """A two-character word anywhere in `column`, case-insensitive: on PostgreSQL through the character pairs of
    `ticket_bigrams()` and their GIN index (migration 0011), elsewhere (SQLite) a LIKE scan."""

    inherit_cache = True
    type = Boolean()
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("pair", InternalTraversal.dp_clauseelement),
        ("pattern", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column, word: str):
        self.column = column
        self.pair = bindparam(None, word.lower(), type_=String())
        self.pattern = bindparam(None, _contains(word), type_=String())


@compiles(PairMatch)
def _pair_match(element, compiler, **kw):
    column, pattern = compiler.process(element.column, **kw), compiler.process(element.pattern, **kw)
    return f"{column} LIKE {pattern} ESCAPE '\\'"


@compiles(PairMatch, "postgresql")
def _pair_match_postgres(element, compiler, **kw):
    column, pair = compiler.process(element.column, **kw), compiler.process(element.pair, **kw)
    return f"ticket_bigrams({column}) @> ARRAY[CAST({pair} AS text)]"


def text_matches(principal: Principal, q: str):
    """Free-text search (Chinese included: substring, served by pg_trgm on PostgreSQL): every word of `q` in the
    description or in a note the caller may read, or `q` is the ticket number."""
    conditions = []
    for word in q.split():
        pattern = _contains(word)
        # The tickets whose notes match are found once through the notes' index (not a subquery per ticket):
        # PostgreSQL then ORs the description's index, those ids and the caller's other filters as bitmaps, and
        # reads only the rows that match them all. Three characters or more: trigrams; two: character pairs; one
        # character has neither, and is checked row by row within the other filters.
        if len(word) == TRIGRAM - 1:
            in_description, in_body = PairMatch(Ticket.description, word), PairMatch(TicketNote.body, word)
        else:
            in_description = Ticket.description.ilike(pattern, escape="\\")
            in_body = TicketNote.body.ilike(pattern, escape="\\")
        notes = select(TicketNote.ticket_id).where(in_body)
        if principal.role == "resident":
            notes = notes.where(TicketNote.visibility == "resident")  # internal notes are never searched for them
        if len(word) >= TRIGRAM - 1:
            in_notes = in_selected(Ticket.id, notes)
        else:
            in_notes = exists(notes.where(TicketNote.ticket_id == Ticket.id))
        conditions.append(or_(in_description, in_notes))
    return or_(Ticket.number == q.strip().upper(), and_(*conditions))


def feedback_due(principal: Principal, before: datetime):
    """Complaints whose next staged feedback to the customer is due by `before`, the most overdue first."""
    return (
        visible_tickets(principal)
        .where(
            Ticket.next_feedback_at.is_not(None),
            Ticket.next_feedback_at <= before,
            Ticket.status.in_((*OPEN_STATUSES, "resolved")),
        )
        .order_by(None)
        .order_by(Ticket.next_feedback_at, Ticket.id)
    )


def follow_ups(session: Session, principal: Principal, now: datetime):
    """首问责任制: every open or unvisited ticket this person first took, wherever it was dispatched — and, while they
    stand in for someone on leave (代岗), that person's too (in the communities of the stand-in's token)."""
    mine = Ticket.first_responder == principal.subject
    covered = (
        session.execute(
            select(Absence.butler_id).where(
                Absence.stand_in_id == principal.subject,
                Absence.ended_at.is_(None),
                Absence.starts_at <= now,
                Absence.ends_at > now,
            )
        )
        .scalars()
        .all()
    )
    if covered and principal.communities:
        mine = or_(mine, and_(Ticket.first_responder.in_(covered), Ticket.community_id.in_(principal.communities)))
    return (
        select(Ticket)
        .where(mine, Ticket.status.in_((*OPEN_STATUSES, "resolved")))
        .order_by(Ticket.created_at.desc(), Ticket.id)
    )


def timeline(session: Session, principal: Principal, ticket_id: str) -> list[TimelineEntry]:
    get_ticket(session, principal, ticket_id)
    query = select(TimelineEntry).where(TimelineEntry.ticket_id == ticket_id).order_by(TimelineEntry.position)
    entries = list(session.execute(query).scalars())
    for entry in entries:
        entry.details_obj = json.loads(entry.details or "{}")
    return entries
