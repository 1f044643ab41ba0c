"""SLA clocks: the response and resolution times of each kind and priority, deadlines, escalation."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from guanjia.auth import Principal
from guanjia.db import as_utc, insert_if_absent, new_id
from guanjia.errors import NotFound

from .. import events
from ..models import SlaBreach, SlaPolicy, Ticket
from .business_hours import BusinessHours, add_minutes
from .common import CATEGORIES, OPEN_STATUSES, PRIORITIES, add_timeline, emit
from .community import community_config, require_supervisor_of

# Built-in SLA, minutes: (response, resolution) by priority; communities override per kind and priority.
DEFAULT_SLA = {
    "emergency": (15, 4 * 60),
    "high": (30, 24 * 60),
    "normal": (2 * 60, 72 * 60),
    "low": (8 * 60, 7 * 24 * 60),
}
# Enquiries, praise and suggestions need an answer rather than work: a shorter resolution clock.
DEFAULT_RESOLUTION_BY_CATEGORY = {"inquiry": 24 * 60, "praise": 72 * 60, "suggestion": 7 * 24 * 60}


def put_sla_policy(session: Session, principal: Principal, data: dict, now: datetime) -> SlaPolicy:
    require_supervisor_of(principal, data["community_id"])
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
            response, resolution, business, custom = sla_values(overrides.get((category, priority)), category, priority)
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


def sla_values(policy, category: str, priority: str):
    if policy is not None:
        return policy.response_minutes, policy.resolution_minutes, policy.business_hours, True
    response, resolution = DEFAULT_SLA[priority]
    if category in DEFAULT_RESOLUTION_BY_CATEGORY and priority in ("low", "normal"):
        resolution = DEFAULT_RESOLUTION_BY_CATEGORY[category]
    return response, resolution, False, False


def deadlines(session: Session, settings, ticket: Ticket, start: datetime) -> tuple[datetime, datetime]:
    policy = session.execute(
        select(SlaPolicy).where(
            SlaPolicy.community_id == ticket.community_id,
            SlaPolicy.category == ticket.category,
            SlaPolicy.priority == ticket.priority,
        )
    ).scalar_one_or_none()
    response, resolution, business, _ = sla_values(policy, ticket.category, ticket.priority)
    hours = None
    if business:
        cfg = community_config(session, ticket.community_id)
        hours = BusinessHours.parse(
            settings.timezone, cfg["business_day_start"], cfg["business_day_end"], cfg["business_days"]
        )
    return add_minutes(start, response, hours), add_minutes(start, resolution, hours)


def _breach(session, settings, ticket, clock, level, deadline, now, emergency) -> bool:
    inserted = insert_if_absent(
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
    add_timeline(
        session,
        ticket,
        "system:sla",
        "escalated",
        ticket.status,
        now,
        details={"clock": clock, "level": level, "escalate_to_role": role, "deadline": as_utc(deadline).isoformat()},
    )
    emit(
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
        now,
    )
    return True


def escalate_emergency(session, settings, ticket, now) -> None:
    """突发事件: the manager hears of an emergency at once, without waiting for a clock to run out."""
    insert_if_absent(
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
