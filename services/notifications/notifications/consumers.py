"""Events the notifications service handles: the rules (who hears what, an event's plan) and the one HANDLERS dict
(a batch's plans written together)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from guanjia.bus import Batched, RetryLater, Unavailable, is_outage
from guanjia.db import parse_time
from guanjia.fields import schema_instance

from .context import Context
from .directory import DirectoryUnavailable
from .domain import deliveries
from .domain.deliveries import Plan, Recipient
from .payloads import (
    SCHEMAS,
    ActivityPublished,
    ActivityReminderDue,
    FeeOverdue,
    GreetingDue,
    IncidentOpened,
    PatrolZoneOverdue,
    PaymentReceived,
    ReminderDue,
    RenovationViolation,
    ResidentMovedIn,
    SurveyReminderDue,
    TaskDue,
    TicketAssigned,
    TicketCreated,
    TicketResolved,
    TicketSlaBreached,
)

__all__ = ["HANDLERS", "SCHEMAS"]

# What the urgent notice calls an incident of each type (the event carries the type, never free text).
INCIDENT_NAMES = {
    "water_outage": "停水",
    "power_outage": "停电",
    "elevator_entrapment": "电梯困人",
    "fire": "火警",
    "flooding": "水浸",
    "gas_leak": "燃气泄漏",
    "security": "治安事件",
}


def _lookup(fn, *args):
    """A directory call from a handler: an unreachable residents/gateway pauses the consumer without spending the
    event's retry budget (nothing sent yet); a refusal (a credential mismatch) retries the event."""
    try:
        return fn(*args)
    except DirectoryUnavailable as exc:
        if is_outage(exc):
            raise Unavailable(str(exc)) from None
        raise RetryLater(str(exc)) from None


def _owners(context: Context, unit_id: str) -> list[Recipient]:
    contacts = _lookup(context.directory.unit_contacts, unit_id, "owner")
    if contacts is None:
        # The unit is not known to residents (yet): retried, then kept in the dead-letter queue for replay.
        raise RetryLater(f"unit {unit_id} unknown to residents")
    return [Recipient(c["resident_id"], "resident", bool(c.get("opted_out"))) for c in contacts]


def _payer_or_owners(context: Context, payer_id: str | None, unit_id: str) -> list[Recipient]:
    return [Recipient(payer_id)] if payer_id else _owners(context, unit_id)


def _local(context: Context, value: str) -> str:
    try:
        return parse_time(value).astimezone(ZoneInfo(context.settings.timezone)).strftime("%Y-%m-%d %H:%M")
    except (ValueError, TypeError):
        return value


def _plan_all(context: Context, session: Session, planned: list[tuple[dict, Plan | None]]) -> None:
    """The deliveries and inbox messages of a batch's events at once (each handler below gives its event's plan)."""
    now = context.clock()
    deliveries.plan_for_events(
        session, [(event, plan) for event, plan in planned if plan is not None], now, context.wechat
    )


def on_ticket_created(context: Context, event: dict) -> Plan | None:
    """Receipt to the reporter (a public-area or patrol ticket has none). Sent at once even in quiet hours:
    it answers something the resident did a moment ago, so they are awake and waiting for it."""
    data = schema_instance(TicketCreated).load(event["data"])
    if not data["reporter_id"]:
        return None
    plan = Plan(
        "ticket.created",
        {"category": data["category"], "number": data["number"]},
        [Recipient(data["reporter_id"])],
        data["community_id"] or event.get("community"),
        urgent=True,
    )
    return plan


def on_ticket_assigned(context: Context, event: dict) -> Plan | None:
    data = schema_instance(TicketAssigned).load(event["data"])
    plan = Plan(
        "ticket.assigned",
        {"number": data["number"], "department": data["department"]},
        [Recipient(data["assignee_id"], "user")],
        data["community_id"],
    )
    return plan


def on_ticket_resolved(context: Context, event: dict) -> Plan | None:
    """Ask the reporter for feedback: not essential (opted-out residents are not asked)."""
    data = schema_instance(TicketResolved).load(event["data"])
    if not data["reporter_id"]:
        return None
    plan = Plan(
        "ticket.resolved",
        {"number": data["number"]},
        [Recipient(data["reporter_id"])],
        data["community_id"],
        essential=False,
    )
    return plan


def on_ticket_sla_breached(context: Context, event: dict) -> Plan | None:
    """To everyone holding the escalation role in the community; urgent (goes out in quiet hours)."""
    data = schema_instance(TicketSlaBreached).load(event["data"])
    users = _lookup(context.directory.users, data["community_id"], data["escalate_to_role"])
    plan = Plan(
        "ticket.sla_breached",
        {"number": data["number"], "clock": data["clock"]},
        [Recipient(u["user_id"], "user") for u in users],
        data["community_id"],
        urgent=True,
    )
    return plan


def on_fee_overdue(context: Context, event: dict) -> Plan | None:
    """缴费提醒 per stage to the payer, or else to the unit's owners."""
    data = schema_instance(FeeOverdue).load(event["data"])
    plan = Plan(
        f"fee.overdue.{data['stage']}",
        {"period": data["period"], "amount": data["amount_due"], "due_date": data["due_date"]},
        _payer_or_owners(context, data["payer_id"], data["unit_id"]),
        data["community_id"],
    )
    return plan


def on_payment_received(context: Context, event: dict) -> Plan | None:
    data = schema_instance(PaymentReceived).load(event["data"])
    plan = Plan(
        "payment.received",
        {"amount": data["amount"], "receipt_number": data["receipt_number"]},
        _payer_or_owners(context, data["payer_id"], data["unit_id"]),
        data["community_id"],
    )
    return plan


def on_renovation_violation(context: Context, event: dict) -> Plan | None:
    """To the unit's owners; a serious violation is urgent."""
    data = schema_instance(RenovationViolation).load(event["data"])
    plan = Plan(
        "renovation.violation",
        {"violation": data["category"], "rectify_by": _local(context, data["rectify_by"])},
        _owners(context, data["unit_id"]),
        data["community_id"],
        urgent=data["severity"] == "serious",
    )
    return plan


def on_resident_moved_in(context: Context, event: dict) -> Plan | None:
    """A welcome: not essential."""
    data = schema_instance(ResidentMovedIn).load(event["data"])
    plan = Plan("resident.moved_in", {}, [Recipient(data["resident_id"])], data["community_id"], essential=False)
    return plan


def on_patrol_zone_overdue(context: Context, event: dict) -> Plan | None:
    """To the zone's butlers (the zone and its butlers from residents)."""
    data = schema_instance(PatrolZoneOverdue).load(event["data"])
    zone = _lookup(context.directory.zone, data["zone_id"])
    if zone is None:
        raise RetryLater(f"zone {data['zone_id']} unknown to residents")
    plan = Plan(
        "patrol.zone_overdue",
        {"zone": zone.get("name") or data["zone_id"], "overdue_days": str(data["overdue_days"])},
        [Recipient(uid, "user") for uid in zone.get("butler_ids") or []],
        data["community_id"],
    )
    return plan


def on_incident_opened(context: Context, event: dict) -> Plan | None:
    """突发事件: the urgent notice to exactly the households of the affected units, buildings and zones, each
    resident once (essential and urgent: opted-out residents hear it too, also in quiet hours)."""
    data = schema_instance(IncidentOpened).load(event["data"])
    if not data["notify_residents"]:
        return None
    community_id, scope = data["community_id"], data["scope"]
    contacts = _area_contacts(context, community_id, "building", scope["building_ids"])
    contacts.update(_area_contacts(context, community_id, "zone", scope["zone_ids"]))
    for unit_id in scope["unit_ids"]:
        found = _lookup(context.directory.unit_contacts, unit_id, "owner,tenant,family")
        if found is None:
            raise RetryLater(f"unit {unit_id} unknown to residents")
        contacts.update((c["resident_id"], c) for c in found)
    plan = Plan(
        "incident.opened",
        {"incident": INCIDENT_NAMES.get(data["type"], "突发事件")},
        [Recipient(rid, "resident", bool(c.get("opted_out"))) for rid, c in contacts.items()],
        community_id,
        urgent=True,
    )
    return plan


def _each_once(contacts: list[dict]) -> list[Recipient]:
    found = {c["resident_id"]: Recipient(c["resident_id"], "resident", bool(c.get("opted_out"))) for c in contacts}
    return list(found.values())


def _household(context: Context, unit_id: str) -> list[Recipient]:
    """The owners and tenants of a home, each once (community's events name the household, not a person)."""
    contacts = _lookup(context.directory.unit_contacts, unit_id, "owner,tenant")
    if contacts is None:
        raise RetryLater(f"unit {unit_id} unknown to residents")
    return _each_once(contacts)


def _area_contacts(context: Context, community_id: str, kind: str, targets: list[str]) -> dict[str, dict]:
    contacts: dict[str, dict] = {}
    for target in targets:
        found = _lookup(context.directory.community_recipients, community_id, kind, target)
        if found is None:
            raise RetryLater(f"{kind} {target} unknown to residents")
        contacts.update((c["resident_id"], c) for c in found)
    return contacts


def _audience_contacts(context: Context, community_id: str, zone_ids: list[str], building_ids: list[str]) -> list:
    """The residents of the zones, of the buildings, or (both given) of both."""
    by_zone = _area_contacts(context, community_id, "zone", zone_ids) if zone_ids else None
    by_building = _area_contacts(context, community_id, "building", building_ids) if building_ids else None
    if by_zone is not None and by_building is not None:
        return [c for rid, c in by_zone.items() if rid in by_building]
    return list((by_zone if by_zone is not None else by_building).values())


def on_activity_published(context: Context, event: dict) -> Plan | None:
    """社区活动 announcement to the current residents of its audience — the zones and/or buildings (with both: the
    residents in both), else the whole community: not essential (opted-out residents are not told; quiet hours
    hold it)."""
    data = schema_instance(ActivityPublished).load(event["data"])
    community_id = data["community_id"]
    if not data["zone_ids"] and not data["building_ids"]:
        contacts = _lookup(context.directory.community_recipients, community_id, "community", None)
        if contacts is None:
            raise RetryLater(f"community {community_id} unknown to residents")
    else:
        contacts = _audience_contacts(context, community_id, data["zone_ids"], data["building_ids"])
    plan = Plan(
        "activity.published",
        {
            "kind": data["kind"],
            "starts_at": _local(context, data["starts_at"]),
            "signup_closes_at": _local(context, data["signup_closes_at"]),
        },
        _each_once(contacts),
        data["community_id"],
        essential=False,
    )
    return plan


def on_activity_reminder_due(context: Context, event: dict) -> Plan | None:
    """活动提醒 the day before, to the household that signed up (they asked to come: essential)."""
    data = schema_instance(ActivityReminderDue).load(event["data"])
    plan = Plan(
        "activity.reminder_due",
        {"kind": data["kind"], "starts_at": _local(context, data["starts_at"])},
        _household(context, data["unit_id"]),
        data["community_id"],
    )
    return plan


def on_greeting_due(context: Context, event: dict) -> Plan | None:
    """生日祝福 to the resident who opted in (community keeps the birthday): not essential, so never in quiet hours
    and not to a resident who opted out of non-essential messages."""
    data = schema_instance(GreetingDue).load(event["data"])
    plan = Plan("greeting.due", {}, [Recipient(data["resident_id"])], data["community_id"], essential=False)
    return plan


def on_reminder_due(context: Context, event: dict) -> Plan | None:
    """事务提醒 to the household a butler scheduled it for: its owners and tenants, each once; held in quiet hours."""
    data = schema_instance(ReminderDue).load(event["data"])
    plan = Plan(
        "reminder.due",
        {"matter": data["kind"], "due_date": data["due_on"]},
        _household(context, data["unit_id"]),
        data["community_id"],
    )
    return plan


def on_survey_reminder_due(context: Context, event: dict) -> Plan | None:
    """满意度调查 reminder to the owners of a household that has not answered: a request, so not essential."""
    data = schema_instance(SurveyReminderDue).load(event["data"])
    plan = Plan("survey.reminder_due", {}, _owners(context, data["unit_id"]), data["community_id"], essential=False)
    return plan


def on_task_due_soon(context: Context, event: dict) -> Plan | None:
    """交办任务提醒 to the assignee before the task falls due (held in quiet hours)."""
    data = schema_instance(TaskDue).load(event["data"])
    plan = Plan(
        "task.due_soon",
        {"due_at": _local(context, data["due_at"])},
        [Recipient(data["assignee_id"], "user")],
        data["community_id"],
    )
    return plan


def on_task_overdue(context: Context, event: dict) -> Plan | None:
    """交办任务逾期: the escalation to the assigner, who handed the task down (held in quiet hours)."""
    data = schema_instance(TaskDue).load(event["data"])
    plan = Plan(
        "task.overdue",
        {"due_at": _local(context, data["due_at"])},
        [Recipient(data["assigner_id"], "user")],
        data["community_id"],
    )
    return plan


HANDLERS = {
    "ticket.created": Batched(on_ticket_created, _plan_all),
    "ticket.assigned": Batched(on_ticket_assigned, _plan_all),
    "ticket.resolved": Batched(on_ticket_resolved, _plan_all),
    "ticket.sla_breached": Batched(on_ticket_sla_breached, _plan_all),
    "fee.overdue": Batched(on_fee_overdue, _plan_all),
    "payment.received": Batched(on_payment_received, _plan_all),
    "renovation.violation": Batched(on_renovation_violation, _plan_all),
    "resident.moved_in": Batched(on_resident_moved_in, _plan_all),
    "patrol.zone_overdue": Batched(on_patrol_zone_overdue, _plan_all),
    "incident.opened": Batched(on_incident_opened, _plan_all),
    "activity.published": Batched(on_activity_published, _plan_all),
    "activity.reminder_due": Batched(on_activity_reminder_due, _plan_all),
    "greeting.due": Batched(on_greeting_due, _plan_all),
    "reminder.due": Batched(on_reminder_due, _plan_all),
    "survey.reminder_due": Batched(on_survey_reminder_due, _plan_all),
    "task.due_soon": Batched(on_task_due_soon, _plan_all),
    "task.overdue": Batched(on_task_overdue, _plan_all),
}
