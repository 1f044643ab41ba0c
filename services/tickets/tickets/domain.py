"""Ticket use cases: routing, life cycle, SLA clocks, return visits; outbox rows written in the same transaction."""

from __future__ import annotations

import functools
import json
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import and_, exists, false, func, or_, select, text, update
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, object_session

from guanjia import outbox as outboxmod
from guanjia.auth import Principal, scoped
from guanjia.db import as_utc, is_postgres, new_id, parse_time, utcnow
from guanjia.errors import Conflict, Forbidden, Invalid, NotFound

from . import events, people
from .clock import DEFAULT_RESOLUTION_BY_CATEGORY, DEFAULT_SLA, BusinessHours, add_minutes
from .models import (
    Absence,
    CommunityConfig,
    ReturnVisit,
    RoutingRule,
    SlaBreach,
    SlaPolicy,
    Ticket,
    TicketNote,
    TimelineEntry,
    Unit,
    Zone,
    outbox,
)

CATEGORIES = ("repair", "complaint", "inquiry", "suggestion", "praise", "service_request", "dispute")
PRIORITIES = ("low", "normal", "high", "emergency")
CHANNELS = ("phone", "walk_in", "app", "wechat", "patrol", "survey")
LOCATIONS = ("in_unit", "public_area")
DEPARTMENTS = ("engineering", "security", "cleaning", "landscaping", "customer_service")
STATUSES = ("new", "assigned", "in_progress", "on_hold", "resolved", "closed", "reopened", "cancelled")
OPEN_STATUSES = ("new", "assigned", "in_progress", "on_hold", "reopened")
REOPEN_REASONS = ("dissatisfied", "not_fixed", "other")

STAFF_WHO_TAKE_TICKETS = ("admin", "butler", "senior_butler", "cs_manager")
DISPATCHERS = ("admin", "butler", "senior_butler", "cs_manager")
SUPERVISORS = ("admin", "senior_butler", "cs_manager")

# Which action is legal in which status, and where it leads (visit decides its target itself).
TRANSITIONS = {
    "assign": (OPEN_STATUSES, "assigned"),
    "start": (("assigned", "reopened"), "in_progress"),
    "hold": (("in_progress",), "on_hold"),
    "resume": (("on_hold",), "in_progress"),
    "quote": (("assigned", "in_progress", "on_hold", "reopened"), None),
    "accept_quote": (("assigned", "in_progress", "on_hold", "reopened"), None),
    "resolve": (("in_progress",), "resolved"),
    "visit": (("resolved",), None),
    "reopen": (("resolved", "closed"), "reopened"),
    "cancel": (OPEN_STATUSES, "cancelled"),
    "triage": (OPEN_STATUSES, None),
    # Kinds that need no return visit (enquiry, praise; per community) are closed once answered.
    "close": (OPEN_STATUSES, "closed"),
}

# What a resident filing a ticket may say about it: the rest (priority, department, assignee) the staff decide.
RESIDENT_CHANNELS = ("app", "wechat")

DEFAULT_CONFIG = {
    "business_day_start": "09:00",
    "business_day_end": "18:00",
    "business_days": "12345",
    "visit_due_hours": 48,
    "max_unreachable_attempts": 3,
    "escalate_after_minutes": 120,
    "patrol_every_days": 5,
    "direct_close_categories": ("inquiry", "praise"),
}


# ---------------------------------------------------------------- projections (fed by consumers)


def upsert_unit(session: Session, data: dict, source_time: datetime) -> None:
    unit = session.get(Unit, data["unit_id"])
    if unit is None:
        session.add(
            Unit(
                id=data["unit_id"],
                community_id=data["community_id"],
                building_id=data.get("building_id"),
                number=data.get("number"),
                zone_id=data.get("zone_id"),
                label=data.get("label"),
                source_time=source_time,
            )
        )
        return
    if as_utc(unit.source_time) > source_time:
        return  # an older event arriving late
    if unit.zone_id != data.get("zone_id"):
        # Open tickets follow their unit into its new zone (its butlers see them; patrol coverage stays apart).
        session.execute(
            update(Ticket)
            .where(Ticket.unit_id == unit.id, Ticket.status.in_((*OPEN_STATUSES, "resolved")))
            .values(zone_id=data.get("zone_id"))
        )
    unit.community_id = data["community_id"]
    unit.building_id = data.get("building_id")
    unit.number = data.get("number")
    unit.zone_id = data.get("zone_id")
    unit.label = data.get("label")
    unit.source_time = source_time


def upsert_zone(session: Session, data: dict, source_time: datetime) -> None:
    zone = session.get(Zone, data["zone_id"])
    if zone is None:
        session.add(
            Zone(
                id=data["zone_id"],
                community_id=data["community_id"],
                name=data.get("name"),
                butler_ids=json.dumps(list(data.get("butler_ids") or [])),
                first_seen_at=source_time,
                source_time=source_time,
            )
        )
        return
    if as_utc(zone.source_time) > source_time:
        return
    zone.community_id = data["community_id"]
    zone.name = data.get("name")
    zone.butler_ids = json.dumps(list(data.get("butler_ids") or []))
    zone.source_time = source_time


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
            "zone_id": fetched.get("zone_id"),
            "label": fetched.get("unit_label"),
        },
        parse_time(fetched.get("updated_at") or "2000-01-01T00:00:00Z"),
    )
    session.flush()
    return session.get(Unit, unit_id)


# ---------------------------------------------------------------- community rules


def community_config(session: Session, community_id: str) -> dict:
    row = session.get(CommunityConfig, community_id)
    if row is None:
        return {"community_id": community_id, **DEFAULT_CONFIG, "updated_at": None}
    config = {c: getattr(row, c) for c in ("community_id", *DEFAULT_CONFIG, "updated_at")}
    config["direct_close_categories"] = stored_kinds(row.direct_close_categories)
    return config


def stored_kinds(stored: str | None) -> tuple[str, ...]:
    return tuple(kind for kind in (stored or "").split(",") if kind)


def put_community_config(session: Session, principal: Principal, community_id: str, data: dict, now: datetime):
    _require_supervisor_of(principal, community_id)
    merged = {**community_config(session, community_id), **data}
    try:
        BusinessHours.parse("UTC", merged["business_day_start"], merged["business_day_end"], merged["business_days"])
        if merged["business_day_end"] <= merged["business_day_start"]:
            raise ValueError
    except ValueError:
        raise Invalid("business_day_end", "business hours need HH:MM times with the end after the start") from None
    row = session.get(CommunityConfig, community_id) or CommunityConfig(community_id=community_id)
    for name in DEFAULT_CONFIG:
        setattr(row, name, merged[name])
    row.direct_close_categories = ",".join(dict.fromkeys(merged["direct_close_categories"]))
    row.updated_at = now
    session.add(row)
    session.flush()
    return community_config(session, community_id)


def _require_supervisor_of(principal: Principal, community_id: str) -> None:
    if principal.role not in SUPERVISORS:
        raise Forbidden(f"role {principal.role} may not change the rules of a community")
    if not principal.sees_community(community_id):
        raise NotFound(f"community {community_id} not found")


def put_sla_policy(session: Session, principal: Principal, data: dict, now: datetime) -> SlaPolicy:
    _require_supervisor_of(principal, data["community_id"])
    row = session.execute(
        select(SlaPolicy).where(
            SlaPolicy.community_id == data["community_id"],
            SlaPolicy.category == data["category"],
            SlaPolicy.priority == data["priority"],
        )
    ).scalar_one_or_none()
    if row is None:
        row = SlaPolicy(id=new_id(), **{k: data[k] for k in ("community_id", "category", "priority")})
        session.add(row)
    row.response_minutes = data["response_minutes"]
    row.resolution_minutes = data["resolution_minutes"]
    row.business_hours = data.get("business_hours", False)
    row.updated_at = now
    session.flush()
    return row


def sla_policies(session: Session, principal: Principal, community_id: str) -> list[dict]:
    """The effective SLA of every kind and priority for a community (its overrides, else the defaults)."""
    if not principal.sees_community(community_id):
        raise NotFound(f"community {community_id} not found")
    overrides = {
        (p.category, p.priority): p
        for p in session.execute(select(SlaPolicy).where(SlaPolicy.community_id == community_id)).scalars()
    }
    result = []
    for category in CATEGORIES:
        for priority in PRIORITIES:
            response, resolution, business, custom = _sla_values(
                overrides.get((category, priority)), category, priority
            )
            result.append(
                {
                    "community_id": community_id,
                    "category": category,
                    "priority": priority,
                    "response_minutes": response,
                    "resolution_minutes": resolution,
                    "business_hours": business,
                    "custom": custom,
                }
            )
    return result


def _sla_values(policy, category: str, priority: str):
    if policy is not None:
        return policy.response_minutes, policy.resolution_minutes, policy.business_hours, True
    response, resolution = DEFAULT_SLA[priority]
    if category in DEFAULT_RESOLUTION_BY_CATEGORY and priority in ("low", "normal"):
        resolution = DEFAULT_RESOLUTION_BY_CATEGORY[category]
    return response, resolution, False, False


def _deadlines(session: Session, settings, ticket: Ticket, start: datetime) -> tuple[datetime, datetime]:
    policy = session.execute(
        select(SlaPolicy).where(
            SlaPolicy.community_id == ticket.community_id,
            SlaPolicy.category == ticket.category,
            SlaPolicy.priority == ticket.priority,
        )
    ).scalar_one_or_none()
    response, resolution, business, _ = _sla_values(policy, ticket.category, ticket.priority)
    hours = None
    if business:
        cfg = community_config(session, ticket.community_id)
        hours = BusinessHours.parse(
            settings.timezone, cfg["business_day_start"], cfg["business_day_end"], cfg["business_days"]
        )
    return add_minutes(start, response, hours), add_minutes(start, resolution, hours)


# ---------------------------------------------------------------- routing


def create_routing_rule(
    session: Session, principal: Principal, data: dict, now: datetime, directory=None
) -> RoutingRule:
    _require_supervisor_of(principal, data["community_id"])
    directory = directory or people.People()
    if data.get("zone_id"):
        zone = session.get(Zone, data["zone_id"])
        zone_community = zone.community_id if zone is not None else people.zone_community(directory, data["zone_id"])
        if zone_community != data["community_id"]:
            raise Invalid("zone_id", "no such zone in this community")
    if data.get("assignee_id"):
        people.check_assignee(directory, data["assignee_id"], data["community_id"])
    rule = RoutingRule(id=new_id(), created_at=now, **data)
    session.add(rule)
    session.flush()
    return rule


def list_routing_rules(session: Session, principal: Principal, community_id: str) -> list[RoutingRule]:
    if not principal.sees_community(community_id):
        raise NotFound(f"community {community_id} not found")
    query = select(RoutingRule).where(RoutingRule.community_id == community_id).order_by(RoutingRule.created_at)
    return list(session.execute(query).scalars())


def delete_routing_rule(session: Session, principal: Principal, rule_id: str) -> None:
    rule = session.get(RoutingRule, rule_id)
    if rule is None or not principal.sees_community(rule.community_id):
        raise NotFound(f"routing rule {rule_id} not found")
    _require_supervisor_of(principal, rule.community_id)
    session.delete(rule)


STAND_IN_REASON = "代岗：负责管家请假中，由代岗人处理"


def zone_butlers(session: Session, zone_id: str | None) -> list[str]:
    zone = session.get(Zone, zone_id) if zone_id else None
    return json.loads(zone.butler_ids) if zone is not None else []


def stand_in_for(session: Session, user_id: str, now: datetime) -> str | None:
    """代岗: who stands in for this person right now (their leave, from staff's absences), or None."""
    return session.execute(
        select(Absence.stand_in_id)
        .where(
            Absence.butler_id == user_id,
            Absence.ended_at.is_(None),
            Absence.starts_at <= now,
            Absence.ends_at > now,
        )
        .order_by(Absence.starts_at.desc())
    ).scalar()


def upsert_absence(session: Session, data: dict, ended_at: datetime | None = None) -> None:
    """staff.absence_started/_ended in any order: the row follows the payload; an end, once heard, stays."""
    absence = session.get(Absence, data["absence_id"])
    if absence is None:
        absence = Absence(absence_id=data["absence_id"])
        session.add(absence)
    absence.community_id, absence.butler_id, absence.stand_in_id = (
        data["community_id"],
        data["user_id"],
        data["stand_in_id"],
    )
    absence.starts_at, absence.ends_at = parse_time(data["starts_at"]), parse_time(data["ends_at"])
    absence.ended_at = absence.ended_at or ended_at


def route(session: Session, ticket: Ticket, default_department: str = "customer_service") -> tuple[str, str] | None:
    """(department, assignee) for a new ticket: the most specific matching rule, else the zone's butler."""
    rules = session.execute(select(RoutingRule).where(RoutingRule.community_id == ticket.community_id)).scalars()
    best, best_score = None, -1
    for rule in rules:
        checks = (
            (rule.category, ticket.category),
            (rule.subcategory, ticket.subcategory),
            (rule.zone_id, ticket.zone_id),
        )
        if any(wanted is not None and wanted != actual for wanted, actual in checks):
            continue
        # zone beats subcategory beats category; ties go to the older rule.
        score = (rule.zone_id is not None) * 4 + (rule.subcategory is not None) * 2 + (rule.category is not None)
        if score > best_score:
            best, best_score = rule, score
    butlers = zone_butlers(session, ticket.zone_id)
    if best is not None:
        assignee = best.assignee_id or (butlers[0] if butlers else None)
        return (best.department, assignee) if assignee else None
    return (default_department, butlers[0]) if butlers else None


# ---------------------------------------------------------------- creating tickets


def next_ticket_seq(session: Session) -> int:
    if is_postgres(session):
        # A sequence hands out numbers without locking a row, so concurrent requests never wait on each other.
        return session.execute(text("SELECT nextval('ticket_number_seq')")).scalar_one()
    # Embedded SQLite: writers are serialised (BEGIN IMMEDIATE), so max + 1 is safe.
    return (session.execute(select(func.max(Ticket.seq))).scalar() or 0) + 1


def create_ticket(
    session: Session, settings, principal: Principal, data: dict, fetch_unit, now: datetime, directory=None
) -> Ticket:
    """A ticket filed through the API by a resident or by the staff member who takes it (the first responder).

    Every id in the body is checked: the unit (in the caller's units, or a butler's zones), the reporter (a current
    resident of that unit, asked of residents), the assignee (staff of the ticket's community, asked of the gateway).
    """
    directory = directory or people.People()
    location = data.get("location", "in_unit")
    unit = zone = None
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

    if data.get("unit_id"):
        unit = find_unit(session, data["unit_id"], fetch_unit)
        if unit is None or not principal.sees_unit(unit.community_id, unit.id):
            raise Invalid("unit_id", "no such unit")
        if principal.role == "butler" and not principal.sees_zone(unit.community_id, unit.zone_id):
            raise Invalid("unit_id", "not in one of your zones")
        community_id, zone_id = unit.community_id, unit.zone_id
    elif location == "in_unit":
        raise Invalid("unit_id", "required for a ticket in a unit")
    else:
        if not data.get("zone_id"):
            raise Invalid("zone_id", "required for a public-area ticket")
        zone = session.get(Zone, data["zone_id"])
        if zone is None or not principal.sees_zone(zone.community_id, zone.id):
            raise Invalid("zone_id", "no such zone")
        community_id, zone_id = zone.community_id, zone.id
    if data.get("zone_id") and unit is not None and data["zone_id"] != zone_id:
        raise Invalid("zone_id", "does not match the unit's zone")
    if principal.role != "resident" and reporter_id:
        people.check_reporter(directory, reporter_id, community_id, unit.id if unit else None)
    if data.get("assignee_id"):
        people.check_assignee(directory, data["assignee_id"], community_id)

    ticket = open_ticket(
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
    return ticket


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
    seq = next_ticket_seq(session)
    ticket = Ticket(
        id=new_id(),
        seq=seq,
        number=f"T{seq:08d}",
        first_responder=actor,
        status="new",
        visit_attempts=0,
        charge_accepted=False,
        escalation_level=0,
        reopen_count=0,
        created_at=now,
        updated_at=now,
        **fields,
    )
    ticket.response_due_at, ticket.resolution_due_at = _deadlines(session, settings, ticket, now)
    session.add(ticket)
    session.flush()
    _timeline_positions(session)[ticket.id] = 0  # a brand-new ticket has no timeline yet
    _timeline(session, ticket, actor, "created", None, now, details={"channel": ticket.channel})
    _emit(
        session,
        settings,
        ticket,
        events.TICKET_CREATED,
        {
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
        },
    )
    if ticket.priority == "emergency":
        _escalate_emergency(session, settings, ticket, now)
    if assignee_id:
        _dispatch(session, settings, ticket, department or default_department, assignee_id, actor, None, now)
    else:
        routed = route(session, ticket, department or default_department)
        if routed:
            # A butler on leave: the ticket goes to their stand-in, and the timeline says why.
            stand_in = stand_in_for(session, routed[1], now)
            assignee, reason = (stand_in, STAND_IN_REASON) if stand_in else (routed[1], None)
            _dispatch(session, settings, ticket, routed[0], assignee, "system:routing", reason, now)
    return ticket


# ---------------------------------------------------------------- life cycle


_POSITIONS = "tickets_timeline_positions"


def _timeline(session, ticket, actor, action, from_status, now, reason=None, details=None) -> None:
    # The ticket row is locked (or new) in this transaction, so max + 1 cannot race; the last position is then
    # remembered for the rest of the transaction (a new ticket starts at 0 without asking the database).
    positions = _timeline_positions(session)
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


def _timeline_positions(session) -> dict:
    """{ticket id: last timeline position written} for the session's current transaction."""
    positions = session.info.get(_POSITIONS)
    if positions is None:
        positions = session.info[_POSITIONS] = {}
        # Forgotten when the transaction (or a savepoint) ends: the next one asks the database again.
        sa_event.listen(session, "after_transaction_end", lambda s, _t: s.info.pop(_POSITIONS, None), once=True)
    return positions


@functools.cache
def _event_schema(event_type: str):
    """The payload schema of `event_type`, built once (building a schema costs more than using it)."""
    return events.PUBLISHED[event_type]()


def _emit(session, settings, ticket, event_type: str, data: dict) -> None:
    outboxmod.emit(
        session,
        outbox,
        settings,
        type=event_type,
        subject=f"ticket/{ticket.id}",
        community=ticket.community_id,
        data=_event_schema(event_type).dump(data),
    )


def allowed_actions(status: str) -> list[str]:
    return [action for action, (sources, _) in TRANSITIONS.items() if status in sources]


# Who may take each action: the same parties the actions themselves require (_require, record_visit).
ACTION_ACTORS = {
    "assign": {"dispatcher": True},
    "start": {"worker": True},
    "hold": {"worker": True},
    "resume": {"worker": True},
    "quote": {"worker": True},
    "accept_quote": {"dispatcher": True, "reporter": True},
    "resolve": {"worker": True},
    "visit": {"dispatcher": True},
    "reopen": {"dispatcher": True, "reporter": True},
    "cancel": {"dispatcher": True, "reporter": True},
    "triage": {"dispatcher": True},
    "close": {"dispatcher": True},
}
CHARGED_CATEGORIES = ("repair", "service_request")


def kind_actions(ticket: Ticket, closable_kinds) -> list[str]:
    """The actions of the ticket's status that its kind can take: only repairs and service requests are quoted,
    only the community's direct-close kinds are closed without a return visit."""
    actions = []
    for action in allowed_actions(ticket.status):
        if action in ("quote", "accept_quote") and ticket.category not in CHARGED_CATEGORIES:
            continue
        if action == "close" and ticket.category not in closable_kinds:
            continue
        actions.append(action)
    return actions


def closable_kinds(session: Session, community_id: str) -> tuple[str, ...]:
    return tuple(community_config(session, community_id)["direct_close_categories"])


def allowed_actions_for(ticket: Ticket, principal: Principal) -> list[str]:
    """What THIS caller may do to THIS ticket now: its status, the caller's part in it, its kind and its quote.
    `closable_kinds` is put on the ticket by display.tickets (the community's setting, read once per page)."""
    actions = []
    for action in kind_actions(ticket, getattr(ticket, "closable_kinds", DEFAULT_CONFIG["direct_close_categories"])):
        if not may_act(principal, ticket, **ACTION_ACTORS[action]):
            continue
        if action == "accept_quote" and (ticket.quote_fen is None or ticket.charge_accepted):
            continue
        actions.append(action)
    return actions


def _check_transition(ticket: Ticket, action: str) -> None:
    sources, _ = TRANSITIONS[action]
    if ticket.status not in sources:
        session = object_session(ticket)
        allowed = kind_actions(ticket, closable_kinds(session, ticket.community_id))
        raise Conflict(
            f"cannot {action} a ticket that is {ticket.status}; allowed: {', '.join(allowed) or 'nothing'}",
            extra={"current_status": ticket.status, "allowed_actions": allowed},
        )


def _lock(session: Session, principal: Principal, ticket_id: str) -> Ticket:
    query = visible_tickets(principal).where(Ticket.id == ticket_id).with_for_update()
    ticket = session.execute(query).scalar_one_or_none()
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} not found")
    return ticket


def may_act(principal: Principal, ticket: Ticket, *, dispatcher=False, worker=False, reporter=False) -> bool:
    """Who may act on a visible ticket: dispatchers, the assignee (worker), the reporting resident."""
    if dispatcher and principal.role in DISPATCHERS:
        return True
    if worker and (principal.role in DISPATCHERS or ticket.assignee_id == principal.subject):
        return True
    return bool(reporter and principal.role == "resident" and ticket.reporter_id == principal.resident_id)


def _require(principal: Principal, ticket: Ticket, *, dispatcher=False, worker=False, reporter=False) -> None:
    if not may_act(principal, ticket, dispatcher=dispatcher, worker=worker, reporter=reporter):
        raise Forbidden(f"role {principal.role} may not do this to ticket {ticket.number}")


def _dispatch(session, settings, ticket, department, assignee_id, actor, reason, now) -> None:
    previous = (ticket.department, ticket.assignee_id)
    from_status = ticket.status
    if previous[1] is None:
        action = "assigned"
    elif previous[0] != department:
        action = "transferred"
    else:
        action = "reassigned"
    ticket.department, ticket.assignee_id = department, assignee_id
    ticket.status = "assigned"
    ticket.updated_at = now
    details = {"department": department, "assignee_id": assignee_id}
    if previous[1] is not None:
        details.update(previous_department=previous[0], previous_assignee_id=previous[1])
    _timeline(session, ticket, actor, action, from_status, now, reason, details)
    _emit(
        session,
        settings,
        ticket,
        events.TICKET_ASSIGNED,
        {
            "ticket_id": ticket.id,
            "number": ticket.number,
            "community_id": ticket.community_id,
            "unit_id": ticket.unit_id,
            "zone_id": ticket.zone_id,
            "department": department,
            "assignee_id": assignee_id,
            "assigned_by": actor,
            "assigned_at": now.isoformat(),
            "reason": reason,
        },
    )


def assign(session, settings, principal, ticket_id, data, now, directory=None) -> Ticket:
    ticket = _lock(session, principal, ticket_id)
    _require(principal, ticket, dispatcher=True)
    _check_transition(ticket, "assign")
    people.check_assignee(directory or people.People(), data["assignee_id"], ticket.community_id)
    if ticket.assignee_id is not None and not data.get("reason"):
        raise Invalid("reason", "required when a ticket is reassigned or transferred")
    if ticket.assignee_id == data["assignee_id"] and ticket.department == data["department"]:
        raise Invalid("assignee_id", "the ticket is already with this person and department")
    _dispatch(
        session, settings, ticket, data["department"], data["assignee_id"], principal.subject, data.get("reason"), now
    )
    return ticket


def _move(session, principal, ticket, action, now, reason=None, details=None) -> None:
    _check_transition(ticket, action)
    from_status = ticket.status
    ticket.status = TRANSITIONS[action][1]
    ticket.updated_at = now
    _timeline(session, ticket, principal.subject, action, from_status, now, reason, details)


def start(session, settings, principal, ticket_id, data, now) -> Ticket:
    ticket = _lock(session, principal, ticket_id)
    _require(principal, ticket, worker=True)
    _move(session, principal, ticket, "start", now, data.get("note"))
    if ticket.responded_at is None:
        ticket.responded_at = now  # the response clock stops when someone starts on it
    return ticket


def hold(session, settings, principal, ticket_id, data, now) -> Ticket:
    ticket = _lock(session, principal, ticket_id)
    _require(principal, ticket, worker=True)
    _move(session, principal, ticket, "hold", now, data["reason"])
    ticket.hold_reason = data["reason"]
    ticket.hold_started_at = now
    return ticket


def _end_hold(ticket: Ticket, now: datetime) -> int:
    """Stop the hold clock: the resolution deadline moves on by the time held (on hold counts against no SLA)."""
    if ticket.hold_started_at is None:
        return 0
    held = max(0, int((now - as_utc(ticket.hold_started_at)).total_seconds()))
    if ticket.resolution_due_at is not None:
        ticket.resolution_due_at = as_utc(ticket.resolution_due_at) + timedelta(seconds=held)
    ticket.held_seconds = (ticket.held_seconds or 0) + held
    ticket.hold_started_at = None
    return held


def resume(session, settings, principal, ticket_id, data, now) -> Ticket:
    ticket = _lock(session, principal, ticket_id)
    _require(principal, ticket, worker=True)
    held = _end_hold(ticket, now)
    _move(session, principal, ticket, "resume", now, data.get("note"), {"held_seconds": held})
    ticket.hold_reason = None
    return ticket


def to_fen(value: str, field: str) -> int:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise Invalid(field, "a decimal amount such as 120.50") from None
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")) or amount > Decimal("1000000"):
        raise Invalid(field, "a positive amount with at most two decimals, up to 1000000")
    return int(amount * 100)


def fen_to_str(fen: int | None) -> str | None:
    return None if fen is None else f"{Decimal(fen) / 100:.2f}"


def quote(session, settings, principal, ticket_id, data, now) -> Ticket:
    """A paid repair: the engineer quotes a charge; the resident has to accept it before billing sees it."""
    ticket = _lock(session, principal, ticket_id)
    _require(principal, ticket, worker=True)
    _check_transition(ticket, "quote")
    if ticket.category not in CHARGED_CATEGORIES:
        raise Invalid("charge", "only repairs and service requests are charged")
    ticket.quote_fen = to_fen(data["charge"], "charge")
    ticket.charge_accepted = False
    ticket.updated_at = now
    _timeline(session, ticket, principal.subject, "quoted", ticket.status, now, details={"charge": data["charge"]})
    return ticket


def accept_quote(session, settings, principal, ticket_id, data, now) -> Ticket:
    ticket = _lock(session, principal, ticket_id)
    _require(principal, ticket, dispatcher=True, reporter=True)
    _check_transition(ticket, "accept_quote")
    if ticket.quote_fen is None:
        raise Conflict("there is no quote to accept", extra={"current_status": ticket.status, "allowed_actions": []})
    ticket.charge_accepted = True
    ticket.updated_at = now
    details = {"charge": fen_to_str(ticket.quote_fen), "via": data.get("via") or principal.role}
    _timeline(session, ticket, principal.subject, "quote_accepted", ticket.status, now, details=details)
    return ticket


def resolve(session, settings, principal, ticket_id, data, now) -> Ticket:
    ticket = _lock(session, principal, ticket_id)
    _require(principal, ticket, worker=True)
    _move(session, principal, ticket, "resolve", now, data.get("note"))
    ticket.resolved_at = now
    cfg = community_config(session, ticket.community_id)
    ticket.visit_due_at = now + timedelta(hours=cfg["visit_due_hours"])
    ticket.visit_overdue_at = None
    paid = ticket.quote_fen is not None
    _emit(
        session,
        settings,
        ticket,
        events.TICKET_RESOLVED,
        {
            "ticket_id": ticket.id,
            "number": ticket.number,
            "community_id": ticket.community_id,
            "unit_id": ticket.unit_id,
            "reporter_id": ticket.reporter_id,
            "resolved_at": now.isoformat(),
            "paid": paid,
            "charge": fen_to_str(ticket.quote_fen) if paid and ticket.charge_accepted else None,
            "charge_accepted": paid and ticket.charge_accepted,
        },
    )
    return ticket


def _reopen(session, settings, ticket, actor, reason_code, comment, now) -> None:
    from_status = ticket.status
    ticket.status = "reopened"
    ticket.reopen_count += 1
    ticket.resolved_at = ticket.closed_at = ticket.visit_due_at = None
    ticket.visit_attempts = 0
    ticket.updated_at = now
    # The resolution clock starts again; the response was given already.
    _, ticket.resolution_due_at = _deadlines(session, settings, ticket, now)
    _timeline(session, ticket, actor, "reopened", from_status, now, comment, {"reason_code": reason_code})
    _emit(
        session,
        settings,
        ticket,
        events.TICKET_REOPENED,
        {
            "ticket_id": ticket.id,
            "number": ticket.number,
            "community_id": ticket.community_id,
            "reopened_at": now.isoformat(),
            "reason_code": reason_code,
        },
    )


def reopen(session, settings, principal, ticket_id, data, now) -> Ticket:
    ticket = _lock(session, principal, ticket_id)
    _require(principal, ticket, dispatcher=True, reporter=True)
    _check_transition(ticket, "reopen")
    _reopen(session, settings, ticket, principal.subject, data["reason_code"], data.get("comment"), now)
    return ticket


def _close(session, settings, ticket, actor, outcome, now, reason=None) -> None:
    from_status = ticket.status
    ticket.status = "closed"
    ticket.closed_at = now
    ticket.visit_outcome = outcome
    ticket.next_feedback_at = None
    ticket.updated_at = now
    _timeline(session, ticket, actor, "closed", from_status, now, reason, details={"visit_outcome": outcome})
    _emit(
        session,
        settings,
        ticket,
        events.TICKET_CLOSED,
        {
            "ticket_id": ticket.id,
            "number": ticket.number,
            "community_id": ticket.community_id,
            "closed_at": now.isoformat(),
            "satisfaction": ticket.satisfaction if outcome == "reached" else None,
            "visit_outcome": outcome,
        },
    )


def record_visit(session, settings, principal, ticket_id, data, now):
    """回访: reached and satisfied closes; dissatisfied reopens; unreachable closes after the allowed attempts."""
    ticket = _lock(session, principal, ticket_id)
    if principal.role not in DISPATCHERS:
        raise Forbidden(f"role {principal.role} may not record return visits")
    _check_transition(ticket, "visit")
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
        _timeline(session, ticket, principal.subject, "visited", ticket.status, now, data.get("comment"), details)
        if satisfaction <= 2:
            _reopen(session, settings, ticket, principal.subject, "dissatisfied", data.get("comment"), now)
        else:
            _close(session, settings, ticket, principal.subject, "reached", now)
    else:
        ticket.visit_attempts += 1
        details["attempt"] = ticket.visit_attempts
        _timeline(session, ticket, principal.subject, "visit_attempt", ticket.status, now, data.get("comment"), details)
        if ticket.visit_attempts >= community_config(session, ticket.community_id)["max_unreachable_attempts"]:
            _close(session, settings, ticket, principal.subject, "unreachable", now)
    session.flush()
    return ticket, visit


def cancel(session, settings, principal, ticket_id, data, now) -> Ticket:
    ticket = _lock(session, principal, ticket_id)
    _require(principal, ticket, dispatcher=True, reporter=True)
    _move(session, principal, ticket, "cancel", now, data["reason"])
    _end_hold(ticket, now)
    ticket.next_feedback_at = None
    return ticket


def close(session, settings, principal, ticket_id, data, now) -> Ticket:
    """An enquiry answered, a praise passed on: closed without a return visit (kinds set per community)."""
    ticket = _lock(session, principal, ticket_id)
    _require(principal, ticket, dispatcher=True)
    _check_transition(ticket, "close")
    kinds = closable_kinds(session, ticket.community_id)
    if ticket.category not in kinds:
        raise Conflict(
            f"a {ticket.category} ticket is closed after its return visit, not directly",
            extra={"current_status": ticket.status, "allowed_actions": kind_actions(ticket, kinds)},
        )
    _end_hold(ticket, now)
    if ticket.responded_at is None:
        ticket.responded_at = now  # the answer is the response
    ticket.resolved_at = ticket.resolved_at or now
    _close(session, settings, ticket, principal.subject, "not_needed", now, data.get("note"))
    return ticket


def triage(session, settings, principal, ticket_id, data, now) -> Ticket:
    """The service desk decides the priority (a resident's urgent request among others); SLA clocks follow it."""
    ticket = _lock(session, principal, ticket_id)
    _require(principal, ticket, dispatcher=True)
    _check_transition(ticket, "triage")
    previous = ticket.priority
    ticket.priority = data["priority"]
    ticket.urgent_requested = False
    ticket.updated_at = now
    # The clocks run from the filing: a later triage does not buy the desk extra time.
    ticket.response_due_at, ticket.resolution_due_at = _deadlines(session, settings, ticket, as_utc(ticket.created_at))
    details = {"from_priority": previous, "to_priority": ticket.priority}
    _timeline(session, ticket, principal.subject, "triaged", ticket.status, now, data.get("note"), details)
    if ticket.priority == "emergency" and previous != "emergency":
        _escalate_emergency(session, settings, ticket, now)
    return ticket


def list_visits(session: Session, ticket_id: str):
    query = select(ReturnVisit).where(ReturnVisit.ticket_id == ticket_id).order_by(ReturnVisit.visited_at)
    return list(session.execute(query).scalars())


# ---------------------------------------------------------------- reading


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
)
# The list's SLA filter: an open ticket whose resolution deadline has passed, is under two hours away, or further.
SLA_STATES = ("breached", "due_soon", "on_track")
SLA_DUE_SOON = timedelta(hours=2)


def list_tickets(principal: Principal, filters: dict, now: datetime | None = None):
    query = visible_tickets(principal)
    now = now or utcnow()
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


def text_matches(principal: Principal, q: str):
    """Free-text search (Chinese included: substring, served by pg_trgm on PostgreSQL): every word of `q` in the
    description or in a note the caller may read, or `q` is the ticket number."""
    conditions = []
    for word in q.split():
        pattern = _contains(word)
        notes = select(TicketNote.id).where(
            TicketNote.ticket_id == Ticket.id, TicketNote.body.ilike(pattern, escape="\\")
        )
        if principal.role == "resident":
            notes = notes.where(TicketNote.visibility == "resident")  # internal notes are never searched for them
        conditions.append(or_(Ticket.description.ilike(pattern, escape="\\"), exists(notes)))
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


def get_ticket(session: Session, principal: Principal, ticket_id: str) -> Ticket:
    ticket = session.execute(visible_tickets(principal).where(Ticket.id == ticket_id)).scalar_one_or_none()
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} not found")
    return ticket


def timeline(session: Session, principal: Principal, ticket_id: str) -> list[TimelineEntry]:
    get_ticket(session, principal, ticket_id)
    query = select(TimelineEntry).where(TimelineEntry.ticket_id == ticket_id).order_by(TimelineEntry.position)
    entries = list(session.execute(query).scalars())
    for entry in entries:
        entry.details_obj = json.loads(entry.details or "{}")
    return entries


# ---------------------------------------------------------------- SLA clocks and escalation


def insert_once(session: Session, table, values: dict) -> bool:
    """INSERT … ON CONFLICT DO NOTHING: True if this transaction inserted the row (another worker did not)."""
    if is_postgres(session):
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    statement = dialect_insert(table).values(**values).on_conflict_do_nothing().returning(table.c.id)
    return session.execute(statement).first() is not None


def _breach(session, settings, ticket, clock, level, deadline, now, emergency) -> bool:
    inserted = insert_once(
        session,
        SlaBreach.__table__,
        {
            "id": new_id(),
            "ticket_id": ticket.id,
            "clock": clock,
            "cycle": ticket.reopen_count,
            "level": level,
            "deadline": deadline,
            "breached_at": now,
        },
    )
    if not inserted:
        return False
    role = "senior_butler" if level == 1 else "cs_manager"
    ticket.escalation_level = max(ticket.escalation_level, level)
    _timeline(
        session,
        ticket,
        "system:sla",
        "escalated",
        ticket.status,
        now,
        details={"clock": clock, "level": level, "escalate_to_role": role, "deadline": as_utc(deadline).isoformat()},
    )
    _emit(
        session,
        settings,
        ticket,
        events.TICKET_SLA_BREACHED,
        {
            "ticket_id": ticket.id,
            "number": ticket.number,
            "community_id": ticket.community_id,
            "zone_id": ticket.zone_id,
            "priority": ticket.priority,
            "clock": clock,
            "deadline": as_utc(deadline).isoformat(),
            "breached_at": now.isoformat(),
            "escalation_level": level,
            "escalate_to_role": role,
            "emergency": emergency,
        },
    )
    return True


def _escalate_emergency(session, settings, ticket, now) -> None:
    """突发事件: the manager hears of an emergency at once, without waiting for a clock to run out."""
    insert_once(
        session,
        SlaBreach.__table__,
        {
            "id": new_id(),
            "ticket_id": ticket.id,
            "clock": "response",
            "cycle": 0,
            "level": 1,
            "deadline": ticket.response_due_at,
            "breached_at": now,
        },
    )
    _breach(session, settings, ticket, "response", 2, ticket.response_due_at, now, True)


def check_sla(session: Session, settings, now: datetime) -> int:
    """Escalate every clock that ran out by `now`: level 1 at the deadline (senior butler), level 2 after the
    community's escalation delay (manager); emergencies go straight to level 2. Safe to run on several workers."""
    escalated = 0
    open_ = Ticket.status.in_(OPEN_STATUSES)
    clocks = (
        ("response", Ticket.response_due_at, and_(open_, Ticket.responded_at.is_(None))),
        # On hold the clock stands still (resume moves the deadline on by the time held).
        ("resolution", Ticket.resolution_due_at, and_(open_, Ticket.status != "on_hold")),
    )
    for clock, due_column, condition in clocks:
        done = exists().where(
            SlaBreach.ticket_id == Ticket.id,
            SlaBreach.clock == clock,
            SlaBreach.cycle == Ticket.reopen_count,
            SlaBreach.level == 2,
        )
        query = (
            select(Ticket)
            .where(condition, due_column <= now, ~done)
            .order_by(Ticket.id)
            .limit(1000)
            .with_for_update(skip_locked=True)
        )
        configs: dict[str, dict] = {}
        for ticket in session.execute(query).scalars():
            cfg = configs.setdefault(ticket.community_id, community_config(session, ticket.community_id))
            deadline = as_utc(getattr(ticket, f"{clock}_due_at"))
            emergency = ticket.priority == "emergency"
            if emergency:
                escalated += _breach(session, settings, ticket, clock, 2, deadline, now, True)
                continue
            escalated += _breach(session, settings, ticket, clock, 1, deadline, now, False)
            if now >= deadline + timedelta(minutes=cfg["escalate_after_minutes"]):
                escalated += _breach(session, settings, ticket, clock, 2, deadline, now, False)
    return escalated


def breaches(session: Session, ticket_id: str) -> list[SlaBreach]:
    query = select(SlaBreach).where(SlaBreach.ticket_id == ticket_id).order_by(SlaBreach.breached_at, SlaBreach.level)
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
        _timeline(session, ticket, "system:visits", "visit_overdue", ticket.status, now)
        _emit(
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
        )
        alerted += 1
    return alerted


# ---------------------------------------------------------------- progress notes and staged feedback

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
    ticket = _lock(session, principal, ticket_id)
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
    _emit(
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
    )
    return note


def list_notes(session: Session, principal: Principal, ticket_id: str) -> list[TicketNote]:
    """The ticket's notes, oldest first; a resident reads only those meant for them."""
    get_ticket(session, principal, ticket_id)
    query = select(TicketNote).where(TicketNote.ticket_id == ticket_id)
    if principal.role == "resident":
        query = query.where(TicketNote.visibility == "resident")
    return list(session.execute(query.order_by(TicketNote.created_at, TicketNote.id)).scalars())
