"""Events the community service publishes: their type names and payload schemas (the contract)."""

import marshmallow as ma

SURVEY_OPENED = "survey.opened"
SURVEY_CLOSED = "survey.closed"
SURVEY_LOW_SCORE = "survey.low_score"
SERVICE_ORDER_COMPLETED = "service_order.completed"
ACTIVITY_PUBLISHED = "activity.published"
ACTIVITY_REMINDER_DUE = "activity.reminder_due"
SURVEY_REMINDER_DUE = "survey.reminder_due"
GREETING_DUE = "greeting.due"
REMINDER_DUE = "reminder.due"
MEETING_ISSUE_RAISED = "meeting.issue_raised"


class SurveyOpenedV1(ma.Schema):
    """survey.opened v1 — the questions are frozen and the audience drawn."""

    survey_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    households = ma.fields.Integer(required=True)
    zone_ids = ma.fields.List(ma.fields.String(), required=True)
    opened_at = ma.fields.String(required=True)


class SurveyClosedV1(ma.Schema):
    """survey.closed v1 — no more answers; the report is computed."""

    survey_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    households = ma.fields.Integer(required=True)
    answered = ma.fields.Integer(required=True)
    # Mean of the 1–5 questions over every answer (null when none was answered).
    score = ma.fields.Float(required=True, allow_none=True)
    closed_at = ma.fields.String(required=True)


class SurveyLowScoreV1(ma.Schema):
    """survey.low_score v1 — a household scored a service line low: ids and scores, never a name or a comment."""

    survey_id = ma.fields.String(required=True)
    answer_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    zone_id = ma.fields.String(required=True, allow_none=True)
    # Null for an anonymous survey: the follow-up then goes to the zone, not to the household.
    unit_id = ma.fields.String(required=True, allow_none=True)
    service_line = ma.fields.String(required=True)
    question_id = ma.fields.String(required=True)
    score = ma.fields.Integer(required=True)
    scale_max = ma.fields.Integer(required=True)


class SurveyReminderDueV1(ma.Schema):
    """survey.reminder_due v1 — a household drawn into an open survey has not answered yet: notifications asks it
    to answer (ids only; at most once per household and day)."""

    survey_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    unit_id = ma.fields.String(required=True)


class ServiceOrderCompletedV1(ma.Schema):
    """service_order.completed v1 — a catalogue service was delivered; billing charges a priced one to the unit under
    the item's name (an item name, not a person's)."""

    order_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    unit_id = ma.fields.String(required=True)
    item_id = ma.fields.String(required=True)
    item_name = ma.fields.String(required=True)
    quantity = ma.fields.Integer(required=True)
    amount = ma.fields.String(required=True, metadata={"description": "decimal yuan, e.g. 120.00; 0.00 for free"})
    completed_at = ma.fields.String(required=True)


class ActivityPublishedV1(ma.Schema):
    """activity.published v1 — an activity or owner meeting is announced to its audience (zone and building ids;
    both empty: the whole community)."""

    activity_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    starts_at = ma.fields.String(required=True)
    signup_closes_at = ma.fields.String(required=True)
    capacity = ma.fields.Integer(required=True)
    zone_ids = ma.fields.List(ma.fields.String(), required=True)  # the audience's zones; empty: no narrowing
    building_ids = ma.fields.List(ma.fields.String(), required=True)  # its buildings (with zones: in both)


class ActivityReminderDueV1(ma.Schema):
    """activity.reminder_due v1 — the day before an activity, per confirmed sign-up: notifications reminds the
    household (ids, kind and start; the title and place are read from the API)."""

    activity_id = ma.fields.String(required=True)
    signup_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    unit_id = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    starts_at = ma.fields.String(required=True)


class GreetingDueV1(ma.Schema):
    """greeting.due v1 — today is the birthday of a resident who opted in: ids only (never the date or a name);
    notifications renders and sends the greeting."""

    greeting_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    resident_id = ma.fields.String(required=True)


class ReminderDueV1(ma.Schema):
    """reminder.due v1 — a household's custom reminder (事务提醒) is due today: ids and the kind of matter (a code;
    the butler's note stays in community); notifications renders the text."""

    reminder_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    unit_id = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    due_on = ma.fields.String(required=True, metadata={"description": "the local day, e.g. 2026-12-05"})


class MeetingIssueRaisedV1(ma.Schema):
    """meeting.issue_raised v1 — staff hand an issue raised at an owner meeting on as a ticket: tickets opens one
    (once per issue). Ids, the topic and the ticket category as codes; the issue's words stay in community."""

    issue_id = ma.fields.String(required=True)
    activity_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    # The household that raised it and its zone; both null for an issue of the whole community.
    zone_id = ma.fields.String(required=True, allow_none=True)
    unit_id = ma.fields.String(required=True, allow_none=True)
    topic = ma.fields.String(required=True)
    category = ma.fields.String(required=True)


PUBLISHED = {
    SURVEY_OPENED: SurveyOpenedV1,
    SURVEY_CLOSED: SurveyClosedV1,
    SURVEY_LOW_SCORE: SurveyLowScoreV1,
    SURVEY_REMINDER_DUE: SurveyReminderDueV1,
    SERVICE_ORDER_COMPLETED: ServiceOrderCompletedV1,
    ACTIVITY_PUBLISHED: ActivityPublishedV1,
    ACTIVITY_REMINDER_DUE: ActivityReminderDueV1,
    GREETING_DUE: GreetingDueV1,
    REMINDER_DUE: ReminderDueV1,
    MEETING_ISSUE_RAISED: MeetingIssueRaisedV1,
}
