"""A ticket's life cycle: which action is legal in which status, who may take it, and what it does."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import object_session

from guanjia import money
from guanjia.auth import Principal
from guanjia.db import as_utc
from guanjia.errors import Conflict, Forbidden, Invalid

from .. import events
from ..models import Ticket
from . import people
from .common import DISPATCHERS, OPEN_STATUSES, add_timeline, emit, lock_ticket
from .community import DEFAULT_CONFIG, closable_kinds, community_config
from .sla import deadlines, escalate_emergency

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


def allowed_actions(status: str) -> list[str]:
    return [action for action, (sources, _) in TRANSITIONS.items() if status in sources]


# Who may take each action: the same parties the actions themselves require (require_actor, visits.record_visit).
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
MAX_CHARGE_FEN = 1_000_000 * 100  # a repair charge of up to one million yuan


def charge_fen(value, field: str) -> int:
    """A quoted charge in decimal yuan to integer fen (the library's parser), refused as a 422 naming `field`."""
    try:
        return money.yuan_to_fen(value, positive=True, max_fen=MAX_CHARGE_FEN)
    except money.AmountError as refused:
        if refused.reason == "not_a_number":
            raise Invalid(field, "a decimal amount such as 120.50") from None
        raise Invalid(field, "a positive amount with at most two decimals, up to 1000000") from None


def kind_actions(ticket: Ticket, closable) -> list[str]:
    """The actions of the ticket's status that its kind can take: only repairs and service requests are quoted,
    only the community's direct-close kinds are closed without a return visit."""
    actions = []
    for action in allowed_actions(ticket.status):
        if action in ("quote", "accept_quote") and ticket.category not in CHARGED_CATEGORIES:
            continue
        if action == "close" and ticket.category not in closable:
            continue
        actions.append(action)
    return actions


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


def check_transition(ticket: Ticket, action: str) -> None:
    sources, _ = TRANSITIONS[action]
    if ticket.status not in sources:
        session = object_session(ticket)
        allowed = kind_actions(ticket, closable_kinds(session, ticket.community_id))
        raise Conflict(
            f"cannot {action} a ticket that is {ticket.status}; allowed: {', '.join(allowed) or 'nothing'}",
            extra={"current_status": ticket.status, "allowed_actions": allowed},
        )


def may_act(principal: Principal, ticket: Ticket, *, dispatcher=False, worker=False, reporter=False) -> bool:
    """Who may act on a visible ticket: dispatchers, the assignee (worker), the reporting resident."""
    if dispatcher and principal.role in DISPATCHERS:
        return True
    if worker and (principal.role in DISPATCHERS or ticket.assignee_id == principal.subject):
        return True
    return bool(reporter and principal.role == "resident" and ticket.reporter_id == principal.resident_id)


def require_actor(principal: Principal, ticket: Ticket, *, dispatcher=False, worker=False, reporter=False) -> None:
    if not may_act(principal, ticket, dispatcher=dispatcher, worker=worker, reporter=reporter):
        raise Forbidden(f"role {principal.role} may not do this to ticket {ticket.number}")


def dispatch(session, settings, ticket, department, assignee_id, actor, reason, now) -> None:
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
    add_timeline(session, ticket, actor, action, from_status, now, reason, details)
    emit(session, settings, ticket, events.TICKET_ASSIGNED, assigned_data(ticket, actor, reason, now), now)


def assigned_data(ticket, actor: str, reason: str | None, now: datetime) -> dict:
    """The data of ticket.assigned for a ticket just given its department and assignee (the create's too)."""
    return {
        "ticket_id": ticket.id,
        "number": ticket.number,
        "community_id": ticket.community_id,
        "unit_id": ticket.unit_id,
        "zone_id": ticket.zone_id,
        "department": ticket.department,
        "assignee_id": ticket.assignee_id,
        "assigned_by": actor,
        "assigned_at": now.isoformat(),
        "reason": reason,
    }


def assign(session, settings, principal, ticket_id, data, now, directory=None) -> Ticket:
    ticket = lock_ticket(session, principal, ticket_id)
    require_actor(principal, ticket, dispatcher=True)
    check_transition(ticket, "assign")
    people.check_assignee(directory or people.People(), data["assignee_id"], ticket.community_id)
    if ticket.assignee_id is not None and not data.get("reason"):
        raise Invalid("reason", "required when a ticket is reassigned or transferred")
    if ticket.assignee_id == data["assignee_id"] and ticket.department == data["department"]:
        raise Invalid("assignee_id", "the ticket is already with this person and department")
    dispatch(
        session, settings, ticket, data["department"], data["assignee_id"], principal.subject, data.get("reason"), now
    )
    return ticket


def _move(session, principal, ticket, action, now, reason=None, details=None) -> None:
    check_transition(ticket, action)
    from_status = ticket.status
    ticket.status = TRANSITIONS[action][1]
    ticket.updated_at = now
    add_timeline(session, ticket, principal.subject, action, from_status, now, reason, details)


def start(session, settings, principal, ticket_id, data, now) -> Ticket:
    ticket = lock_ticket(session, principal, ticket_id)
    require_actor(principal, ticket, worker=True)
    _move(session, principal, ticket, "start", now, data.get("note"))
    if ticket.responded_at is None:
        ticket.responded_at = now  # the response clock stops when someone starts on it
    return ticket


def hold(session, settings, principal, ticket_id, data, now) -> Ticket:
    ticket = lock_ticket(session, principal, ticket_id)
    require_actor(principal, ticket, worker=True)
    _move(session, principal, ticket, "hold", now, data["reason"])
    ticket.hold_reason = data["reason"]
    ticket.hold_started_at = now
    return ticket


def end_hold(ticket: Ticket, now: datetime) -> int:
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
    ticket = lock_ticket(session, principal, ticket_id)
    require_actor(principal, ticket, worker=True)
    held = end_hold(ticket, now)
    _move(session, principal, ticket, "resume", now, data.get("note"), {"held_seconds": held})
    ticket.hold_reason = None
    return ticket


def quote(session, settings, principal, ticket_id, data, now) -> Ticket:
    """A paid repair: the engineer quotes a charge; the resident has to accept it before billing sees it."""
    ticket = lock_ticket(session, principal, ticket_id)
    require_actor(principal, ticket, worker=True)
    check_transition(ticket, "quote")
    if ticket.category not in CHARGED_CATEGORIES:
        raise Invalid("charge", "only repairs and service requests are charged")
    ticket.quote_fen = charge_fen(data["charge"], "charge")
    ticket.charge_accepted = False
    ticket.updated_at = now
    add_timeline(session, ticket, principal.subject, "quoted", ticket.status, now, details={"charge": data["charge"]})
    return ticket


def accept_quote(session, settings, principal, ticket_id, data, now) -> Ticket:
    ticket = lock_ticket(session, principal, ticket_id)
    require_actor(principal, ticket, dispatcher=True, reporter=True)
    check_transition(ticket, "accept_quote")
    if ticket.quote_fen is None:
        raise Conflict("there is no quote to accept", extra={"current_status": ticket.status, "allowed_actions": []})
    ticket.charge_accepted = True
    ticket.updated_at = now
    details = {"charge": money.fen_to_str(ticket.quote_fen), "via": data.get("via") or principal.role}
    add_timeline(session, ticket, principal.subject, "quote_accepted", ticket.status, now, details=details)
    return ticket


def resolve(session, settings, principal, ticket_id, data, now) -> Ticket:
    ticket = lock_ticket(session, principal, ticket_id)
    require_actor(principal, ticket, worker=True)
    _move(session, principal, ticket, "resolve", now, data.get("note"))
    ticket.resolved_at = now
    cfg = community_config(session, ticket.community_id)
    ticket.visit_due_at = now + timedelta(hours=cfg["visit_due_hours"])
    ticket.visit_overdue_at = None
    paid = ticket.quote_fen is not None
    emit(
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
            "charge": money.fen_to_str(ticket.quote_fen) if paid and ticket.charge_accepted else None,
            "charge_accepted": paid and ticket.charge_accepted,
        },
        now,
    )
    return ticket


def reopen_ticket(session, settings, ticket, actor, reason_code, comment, now) -> None:
    from_status = ticket.status
    ticket.status = "reopened"
    ticket.reopen_count += 1
    ticket.resolved_at = ticket.closed_at = ticket.visit_due_at = None
    ticket.visit_attempts = 0
    ticket.updated_at = now
    # The resolution clock starts again; the response was given already.
    _, ticket.resolution_due_at = deadlines(session, settings, ticket, now)
    add_timeline(session, ticket, actor, "reopened", from_status, now, comment, {"reason_code": reason_code})
    emit(
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
        now,
    )


def reopen(session, settings, principal, ticket_id, data, now) -> Ticket:
    ticket = lock_ticket(session, principal, ticket_id)
    require_actor(principal, ticket, dispatcher=True, reporter=True)
    check_transition(ticket, "reopen")
    reopen_ticket(session, settings, ticket, principal.subject, data["reason_code"], data.get("comment"), now)
    return ticket


def close_ticket(session, settings, ticket, actor, outcome, now, reason=None) -> None:
    from_status = ticket.status
    ticket.status = "closed"
    ticket.closed_at = now
    ticket.visit_outcome = outcome
    ticket.next_feedback_at = None
    ticket.updated_at = now
    add_timeline(session, ticket, actor, "closed", from_status, now, reason, details={"visit_outcome": outcome})
    emit(
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
        now,
    )


def cancel(session, settings, principal, ticket_id, data, now) -> Ticket:
    ticket = lock_ticket(session, principal, ticket_id)
    require_actor(principal, ticket, dispatcher=True, reporter=True)
    _move(session, principal, ticket, "cancel", now, data["reason"])
    end_hold(ticket, now)
    ticket.next_feedback_at = None
    return ticket


def close(session, settings, principal, ticket_id, data, now) -> Ticket:
    """An enquiry answered, a praise passed on: closed without a return visit (kinds set per community)."""
    ticket = lock_ticket(session, principal, ticket_id)
    require_actor(principal, ticket, dispatcher=True)
    check_transition(ticket, "close")
    kinds = closable_kinds(session, ticket.community_id)
    if ticket.category not in kinds:
        raise Conflict(
            f"a {ticket.category} ticket is closed after its return visit, not directly",
            extra={"current_status": ticket.status, "allowed_actions": kind_actions(ticket, kinds)},
        )
    end_hold(ticket, now)
    if ticket.responded_at is None:
        ticket.responded_at = now  # the answer is the response
    ticket.resolved_at = ticket.resolved_at or now
    close_ticket(session, settings, ticket, principal.subject, "not_needed", now, data.get("note"))
    return ticket


def triage(session, settings, principal, ticket_id, data, now) -> Ticket:
    """The service desk decides the priority (a resident's urgent request among others); SLA clocks follow it."""
    ticket = lock_ticket(session, principal, ticket_id)
    require_actor(principal, ticket, dispatcher=True)
    check_transition(ticket, "triage")
    previous = ticket.priority
    ticket.priority = data["priority"]
    ticket.urgent_requested = False
    ticket.updated_at = now
    # The clocks run from the filing: a later triage does not buy the desk extra time.
    ticket.response_due_at, ticket.resolution_due_at = deadlines(session, settings, ticket, as_utc(ticket.created_at))
    details = {"from_priority": previous, "to_priority": ticket.priority}
    add_timeline(session, ticket, principal.subject, "triaged", ticket.status, now, data.get("note"), details)
    if ticket.priority == "emergency" and previous != "emergency":
        escalate_emergency(session, settings, ticket, now)
    return ticket
