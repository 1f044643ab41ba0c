"""Payloads of the events notifications consumes, as it reads them: only what it uses, tolerant (unknown fields
are ignored, so additive changes never break it)."""

from __future__ import annotations

import marshmallow as ma

from guanjia.fields import Tolerant


def _id(**kwargs):
    return ma.fields.String(validate=ma.validate.Length(min=1, max=64), **kwargs)


class TicketCreated(Tolerant):
    ticket_id = _id(required=True)
    number = ma.fields.String(required=True, validate=ma.validate.Length(min=1))
    # Null for public-area and patrol tickets (nobody to tell), but always present.
    reporter_id = _id(required=True, allow_none=True)
    category = ma.fields.String(required=True)
    community_id = ma.fields.String(load_default=None)
    priority = ma.fields.String(load_default="normal")


class TicketAssigned(Tolerant):
    ticket_id = _id(required=True)
    number = ma.fields.String(required=True)
    community_id = _id(required=True)
    department = ma.fields.String(required=True)
    assignee_id = _id(required=True)


class TicketResolved(Tolerant):
    ticket_id = _id(required=True)
    number = ma.fields.String(required=True)
    community_id = _id(required=True)
    reporter_id = _id(load_default=None, allow_none=True)


class TicketSlaBreached(Tolerant):
    ticket_id = _id(required=True)
    number = ma.fields.String(required=True)
    community_id = _id(required=True)
    clock = ma.fields.String(required=True)
    escalate_to_role = ma.fields.String(required=True)


class FeeOverdue(Tolerant):
    bill_id = _id(required=True)
    unit_id = _id(required=True)
    community_id = _id(required=True)
    period = ma.fields.String(required=True)
    amount_due = ma.fields.String(required=True)
    due_date = ma.fields.String(required=True)
    stage = ma.fields.String(required=True, validate=ma.validate.OneOf(["first", "second", "final"]))
    payer_id = _id(load_default=None, allow_none=True)


class PaymentReceived(Tolerant):
    payment_id = _id(required=True)
    community_id = _id(required=True)
    unit_id = _id(required=True)
    amount = ma.fields.String(required=True)
    receipt_number = ma.fields.String(required=True)
    payer_id = _id(load_default=None, allow_none=True)


class RenovationViolation(Tolerant):
    violation_id = _id(required=True)
    unit_id = _id(required=True)
    community_id = _id(required=True)
    category = ma.fields.String(required=True)
    severity = ma.fields.String(required=True)
    rectify_by = ma.fields.String(required=True)


class ResidentMovedIn(Tolerant):
    resident_id = _id(required=True)
    unit_id = _id(required=True)
    community_id = _id(required=True)


class PatrolZoneOverdue(Tolerant):
    zone_id = _id(required=True)
    community_id = _id(required=True)
    overdue_days = ma.fields.Integer(required=True)


class IncidentScope(Tolerant):
    unit_ids = ma.fields.List(_id(), load_default=list)
    building_ids = ma.fields.List(_id(), load_default=list)
    zone_ids = ma.fields.List(_id(), load_default=list)


class IncidentOpened(Tolerant):
    incident_id = _id(required=True)
    community_id = _id(required=True)
    type = ma.fields.String(required=True)
    scope = ma.fields.Nested(IncidentScope, required=True)
    notify_residents = ma.fields.Boolean(load_default=True)


class SurveyReminderDue(Tolerant):
    survey_id = _id(required=True)
    community_id = _id(required=True)
    unit_id = _id(required=True)


class ActivityPublished(Tolerant):
    activity_id = _id(required=True)
    community_id = _id(required=True)
    kind = ma.fields.String(required=True)
    starts_at = ma.fields.String(required=True)
    signup_closes_at = ma.fields.String(required=True)
    zone_ids = ma.fields.List(_id(), load_default=list)  # the audience; absent (older events): everyone
    building_ids = ma.fields.List(_id(), load_default=list)


class ActivityReminderDue(Tolerant):
    activity_id = _id(required=True)
    signup_id = _id(required=True)
    community_id = _id(required=True)
    unit_id = _id(required=True)
    kind = ma.fields.String(required=True)
    starts_at = ma.fields.String(required=True)


class GreetingDue(Tolerant):
    """greeting.due from community: ids only (the birthday itself never leaves community)."""

    greeting_id = _id(required=True)
    community_id = _id(required=True)
    resident_id = _id(required=True)


class ReminderDue(Tolerant):
    """reminder.due from community: the household and the matter as a code (the text is ours)."""

    reminder_id = _id(required=True)
    community_id = _id(required=True)
    unit_id = _id(required=True)
    kind = ma.fields.String(required=True)
    due_on = ma.fields.String(required=True)


class TaskDue(Tolerant):
    """task.due_soon and task.overdue from staff: the task, its assignee and assigner (gateway user ids), due time."""

    task_id = _id(required=True)
    community_id = _id(required=True)
    assignee_id = _id(required=True)
    assigner_id = _id(required=True)
    due_at = ma.fields.String(required=True)


# The payload schema of every consumed type (checked against the producers' documents in tests/contract).
SCHEMAS = {
    "ticket.created": TicketCreated,
    "ticket.assigned": TicketAssigned,
    "ticket.resolved": TicketResolved,
    "ticket.sla_breached": TicketSlaBreached,
    "fee.overdue": FeeOverdue,
    "payment.received": PaymentReceived,
    "renovation.violation": RenovationViolation,
    "resident.moved_in": ResidentMovedIn,
    "patrol.zone_overdue": PatrolZoneOverdue,
    "incident.opened": IncidentOpened,
    "activity.published": ActivityPublished,
    "activity.reminder_due": ActivityReminderDue,
    "greeting.due": GreetingDue,
    "survey.reminder_due": SurveyReminderDue,
    "reminder.due": ReminderDue,
    "task.due_soon": TaskDue,
    "task.overdue": TaskDue,
}
