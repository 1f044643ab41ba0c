"""Filing the usual ticket in two statements: one read, one write, no ORM unit of work on the hot path.

The read gathers, for a ticket in a unit tickets knows, everything the create decides with: the unit (community,
zone, label), the named reporter as the resident projection knows them, the zone's butlers and name, the next
ticket number, the community's SLA policy for the kind and priority, its business hours and direct-close kinds,
its routing rules (oldest first) and the running absences of everyone a rule or the zone could route to. Nothing of it is cached: a rule, policy or absence changed a moment ago
is what this read sees, in every process. Python then checks and decides exactly as the ORM create does (the same
checks, `sla_values`, `best_rule`, `destination`, the stand-in), and one statement writes the ticket, its timeline
entries and its events — built by the shared outbox writer (`guanjia.outbox.build` / `insert_sql`) — and wakes the
relay, in the request's one transaction (synchronous commit as everywhere).

What this path does not take (an emergency's immediate escalation, a named assignee, a public-area ticket, a unit
not projected yet, SQLite) goes through the ORM create unchanged.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import NamedTuple

import orjson
from sqlalchemy import column, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from guanjia import outbox as outboxmod
from guanjia.auth import Principal
from guanjia.db import is_postgres, new_id
from guanjia.errors import Invalid

from .. import events
from ..models import Ticket, TimelineEntry, outbox
from .business_hours import BusinessHours, add_minutes
from .common import ticket_event
from .community import DEFAULT_CONFIG, stored_kinds
from .lifecycle import assigned_data
from .projections import check_reporter
from .routing import STAND_IN_REASON, best_rule, destination
from .sla import sla_values

DEFAULT_DEPARTMENT = "customer_service"


def check_unit(principal: Principal, unit_id: str, community_id: str, zone_id: str | None) -> None:
    """The caller may file in this unit (in their units, a butler's zones)."""
    if not principal.sees_unit(community_id, unit_id):
        raise Invalid("unit_id", "no such unit")
    if principal.role == "butler" and not principal.sees_zone(community_id, zone_id):
        raise Invalid("unit_id", "not in one of your zones")


def check_zone_matches(data: dict, zone_id: str | None) -> None:
    if data.get("zone_id") and data["zone_id"] != zone_id:
        raise Invalid("zone_id", "does not match the unit's zone")


def created_data(ticket, now: datetime) -> dict:
    """The data of ticket.created (the ORM create and the two-statement create write the same)."""
    return {
        "ticket_id": ticket.id,
        "number": ticket.number,
        "community_id": ticket.community_id,
        "unit_id": ticket.unit_id,
        "reporter_id": ticket.reporter_id,
        "category": ticket.category,
        "status": "new",
        "created_at": now.isoformat(),
        "priority": ticket.priority,
        "channel": ticket.channel,
        "zone_id": ticket.zone_id,
        "location": ticket.location,
    }


def new_ticket(seq: int, first_responder: str, now: datetime, **fields) -> Ticket:
    """A new ticket numbered `seq`, not dispatched yet (the ORM create adds it; the two statements file a
    FiledTicket of the same values)."""
    return Ticket(**_new_values(seq, first_responder, now, fields))


class FiledTicket:
    """A ticket the two statements filed, as plain attributes: every column of Ticket (None where the ORM
    instance would read None) and the display fields set on it. What the create reads and the response dumps is
    the same as from a Ticket; building the ORM instance and reading its instrumented attributes back cost
    ~1/20 of the create, and this ticket is never added to the session."""

    def __init__(self, values: dict):
        self.__dict__.update(_NO_VALUES)
        self.__dict__.update(values)


def _new_values(seq: int, first_responder: str, now: datetime, fields: dict) -> dict:
    """The column values a new ticket starts with (the rest are None)."""
    return dict(
        id=new_id(),
        seq=seq,
        number=f"T{seq:08d}",
        first_responder=first_responder,
        department=None,
        assignee_id=None,
        status="new",
        visit_attempts=0,
        charge_accepted=False,
        escalation_level=0,
        reopen_count=0,
        held_seconds=0,
        created_at=now,
        updated_at=now,
        **fields,
    )


def fits(session: Session, data: dict) -> bool:
    """Whether this create is one the two statements file (checked before anything is read)."""
    return (
        bool(data.get("unit_id"))
        and data.get("priority") != "emergency"
        and not data.get("assignee_id")
        and is_postgres(session)
    )


class Rule(NamedTuple):
    """A routing rule as `best_rule` and `destination` read it."""

    category: str | None
    subcategory: str | None
    zone_id: str | None
    department: str
    assignee_id: str | None


# Named result columns (untyped: psycopg's values as they come) let SQLAlchemy keep the result's metadata with the
# cached statement instead of building it from the cursor's description on every create.
_READ_COLUMNS = (
    "community_id",
    "zone_id",
    "unit_label",
    "zone_name",
    "butler_ids",
    "seq",
    "response_minutes",
    "resolution_minutes",
    "business_hours",
    "configured",
    "business_day_start",
    "business_day_end",
    "business_days",
    "direct_close_categories",
    "reporter_community_id",
    "reporter_unit_id",
    "reporter_status",
    "rules",
    "absences",
)
# One row, or none when tickets does not know the unit (then the ORM create asks residents). nextval() is in the
# select list of that one row: a unit not found takes no number.
_READ = text("""
SELECT u.community_id, u.zone_id, coalesce(nullif(u.label, ''), u.number) AS unit_label, z.name AS zone_name,
       z.butler_ids, nextval('ticket_number_seq') AS seq,
       p.response_minutes, p.resolution_minutes, p.business_hours,
       c.community_id IS NOT NULL AS configured, c.business_day_start, c.business_day_end, c.business_days,
       c.direct_close_categories,
       rr.community_id AS reporter_community_id, rr.unit_id AS reporter_unit_id, rr.status AS reporter_status,
       (SELECT json_agg(json_build_array(r.category, r.subcategory, r.zone_id, r.department, r.assignee_id)
                        ORDER BY r.created_at, r.id)
          FROM routing_rules r WHERE r.community_id = u.community_id) AS rules,
       (SELECT json_agg(json_build_array(a.butler_id, a.stand_in_id) ORDER BY a.starts_at DESC)
          FROM absences a
         WHERE a.ended_at IS NULL AND a.starts_at <= :now AND a.ends_at > :now
           AND (a.butler_id = CAST(z.butler_ids AS json) ->> 0
                OR a.butler_id IN (SELECT r.assignee_id FROM routing_rules r
                                    WHERE r.community_id = u.community_id))) AS absences
  FROM units u
  LEFT JOIN zones z ON z.id = u.zone_id
  LEFT JOIN sla_policies p
         ON p.community_id = u.community_id AND p.category = :category AND p.priority = :priority
  LEFT JOIN community_configs c ON c.community_id = u.community_id
  LEFT JOIN residents rr ON rr.id = :reporter_id
 WHERE u.id = :unit_id
""").columns(*(column(name) for name in _READ_COLUMNS))

_TICKET_COLUMNS = tuple(column.name for column in Ticket.__table__.columns)
_NO_VALUES = dict.fromkeys(_TICKET_COLUMNS)
_TIMELINE_COLUMNS = tuple(column.name for column in TimelineEntry.__table__.columns)


def create_in_unit(
    tx: Session | Connection,
    settings,
    principal: Principal,
    data: dict,
    reporter_id,
    channel: str,
    now: datetime,
    directory,
) -> FiledTicket | None:
    """File the ticket in two statements — on the request's plain connection (the api's usual create) or its
    Session's; None when tickets does not know the unit (the ORM create then asks)."""
    priority = data.get("priority") or "normal"
    conn = tx if isinstance(tx, Connection) else tx.connection()
    # The reporter a staff member names, as the resident projection knows them (a resident files for themself).
    named = reporter_id if principal.role != "resident" else None
    read = conn.execute(
        _READ,
        {
            "unit_id": data["unit_id"],
            "category": data["category"],
            "priority": priority,
            "now": now,
            "reporter_id": named,
        },
    ).one_or_none()
    if read is None:
        return None
    community_id, zone_id = read.community_id, read.zone_id
    check_unit(principal, data["unit_id"], community_id, zone_id)
    check_zone_matches(data, zone_id)
    if named:
        known = None
        if read.reporter_status is not None:
            known = {
                "community_id": read.reporter_community_id,
                "unit_id": read.reporter_unit_id,
                "status": read.reporter_status,
            }
        check_reporter(tx, directory, named, community_id, data["unit_id"], known)

    fields = {
        "community_id": community_id,
        "zone_id": zone_id,
        "unit_id": data["unit_id"],
        "location": data.get("location", "in_unit"),
        "category": data["category"],
        "subcategory": data.get("subcategory"),
        "priority": priority,
        "channel": channel,
        "description": data["description"],
        "reporter_id": reporter_id,
        "urgent_requested": bool(data.get("urgent")),
    }
    ticket = FiledTicket(_new_values(read.seq, principal.subject, now, fields))
    ticket.response_due_at, ticket.resolution_due_at = _deadlines(settings, read, ticket, now)
    timeline = [_timeline_row(ticket, principal.subject, "created", None, now, None, {"channel": channel})]
    emitted = [ticket_event(settings, ticket.id, community_id, events.TICKET_CREATED, created_data(ticket, now), now)]

    rules = [Rule(*rule) for rule in read.rules or ()]
    butlers = json.loads(read.butler_ids) if read.butler_ids is not None else []
    routed = destination(best_rule(rules, ticket), butlers, data.get("department") or DEFAULT_DEPARTMENT)
    if routed:
        department, assignee = routed
        # A butler on leave: the ticket goes to their stand-in, and the timeline says why (the newest leave first).
        stand_in = next((stand_in for butler, stand_in in read.absences or () if butler == assignee), None)
        assignee, reason = (stand_in, STAND_IN_REASON) if stand_in else (assignee, None)
        ticket.department, ticket.assignee_id, ticket.status = department, assignee, "assigned"
        details = {"department": department, "assignee_id": assignee}
        timeline.append(_timeline_row(ticket, "system:routing", "assigned", "new", now, reason, details))
        data_assigned = assigned_data(ticket, "system:routing", reason, now)
        emitted.append(ticket_event(settings, ticket.id, community_id, events.TICKET_ASSIGNED, data_assigned, now))

    outbox_sql, notify, params = outboxmod.insert_sql(tx, outbox, emitted)
    # The ticket and its timeline as two JSON parameters, not ~60 bound values: psycopg keeps the converted form
    # of a statement of at most 50 parameters (else it parses it again on every execution), and nothing is bound
    # value by value. The n-th timeline row is position n.
    params["ticket"] = _json({name: getattr(ticket, name) for name in _TICKET_COLUMNS})
    params["timeline"] = _json([{**row, "position": i + 1} for i, row in enumerate(timeline)])
    conn.execute(_write(outbox_sql, notify), params)

    # What the response shows, from the same read (display.filed adds the staff names).
    ticket.unit_label, ticket.zone_name = read.unit_label, read.zone_name
    ticket.closable_kinds = (
        stored_kinds(read.direct_close_categories) if read.configured else DEFAULT_CONFIG["direct_close_categories"]
    )
    ticket.display_read = True
    return ticket


def _deadlines(settings, read, ticket, now: datetime) -> tuple[datetime, datetime]:
    """sla.deadlines, from the policy and business hours of the read."""
    policy = read if read.response_minutes is not None else None
    response, resolution, business, _ = sla_values(policy, ticket.category, ticket.priority)
    hours = None
    if business:
        start, end, days = (
            (read.business_day_start, read.business_day_end, read.business_days)
            if read.configured
            else (
                DEFAULT_CONFIG["business_day_start"],
                DEFAULT_CONFIG["business_day_end"],
                DEFAULT_CONFIG["business_days"],
            )
        )
        hours = BusinessHours.parse(settings.timezone, start, end, days)
    return add_minutes(now, response, hours), add_minutes(now, resolution, hours)


def _timeline_row(ticket, actor, action, from_status, now, reason, details) -> dict:
    """The timeline row add_timeline writes, but its position: the n-th row of `_write` is position n."""
    return {
        "id": new_id(),
        "ticket_id": ticket.id,
        "at": now,
        "actor": actor,
        "action": action,
        "from_status": from_status,
        "to_status": ticket.status,
        "reason": reason,
        "details": outboxmod.encode(details),
    }


def _json(value) -> str:
    # Aware datetimes as RFC 3339 (timestamptz reads them exactly); a Decimal, were one set, as its text.
    return orjson.dumps(value, default=str).decode()


@functools.lru_cache(maxsize=16)
def _write(outbox_sql: str, notify: str):
    """The one write: ticket, timeline, outbox rows and the relay's wake-up (cached per shape: fixed text)."""
    tickets, timeline = ", ".join(_TICKET_COLUMNS), ", ".join(_TIMELINE_COLUMNS)
    return text(f"""
WITH ticket AS (INSERT INTO tickets ({tickets})
                SELECT {tickets} FROM json_populate_record(NULL::tickets, CAST(:ticket AS json))),
timeline AS (INSERT INTO ticket_timeline ({timeline})
             SELECT {timeline} FROM json_populate_recordset(NULL::ticket_timeline, CAST(:timeline AS json))),
events AS ({outbox_sql})
SELECT {notify}
""")
