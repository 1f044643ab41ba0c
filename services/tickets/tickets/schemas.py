"""Request and response schemas of the tickets API."""

import json

import marshmallow as ma

from guanjia import web
from guanjia.money import fen_to_str
from guanjia.web import PageArgs, UtcDateTime, enum_out, page_schema

from .domain.acceptance import CATEGORIES as ACCEPTANCE_CATEGORIES
from .domain.acceptance import DEFECT_STATUSES, OUTCOMES, PARTIES, PLAN_STATUSES, RESULTS
from .domain.common import CATEGORIES, CHANNELS, DEPARTMENTS, LOCATIONS, PRIORITIES, REOPEN_REASONS, STATUSES
from .domain.equipment import CERTIFICATE_KINDS, EQUIPMENT_KINDS, EQUIPMENT_STATES
from .domain.incidents import INCIDENT_SEVERITIES, INCIDENT_STATUSES, INCIDENT_TYPES, STEPS
from .domain.lifecycle import allowed_actions_for
from .domain.maintenance import FREQUENCIES, ORDER_STATUSES
from .domain.notes import NOTE_KINDS, NOTE_VISIBILITIES
from .domain.patrols import FINDING_KINDS, SEVERITIES
from .domain.quality import AUDIENCES, CASE_STATUSES, SOURCES
from .domain.tickets import SLA_STATES

_id = ma.fields.String
_one_of = ma.validate.OneOf
VISIT_OUTCOMES = ("reached", "unreachable")
ROUND_STATUSES = ("in_progress", "completed")


def _ids(**kwargs):
    return ma.fields.String(validate=ma.validate.Length(min=1, max=36), **kwargs)


class TicketCreate(ma.Schema):
    unit_id = _ids()
    zone_id = _ids()
    location = ma.fields.String(validate=_one_of(LOCATIONS), load_default="in_unit")
    category = ma.fields.String(required=True, validate=_one_of(CATEGORIES))
    subcategory = ma.fields.String(validate=ma.validate.Length(min=1, max=50))
    priority = ma.fields.String(validate=_one_of(PRIORITIES))
    channel = ma.fields.String(validate=_one_of(CHANNELS))
    description = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))
    reporter_id = _ids()
    department = ma.fields.String(validate=_one_of(DEPARTMENTS))
    assignee_id = ma.fields.String(validate=ma.validate.Length(min=1, max=100))
    urgent = ma.fields.Boolean(
        metadata={"description": "ask for a quick response; the service desk triages it (residents' only say)"}
    )


class TicketOut(ma.Schema):
    id = ma.fields.String()
    number = ma.fields.String()
    community_id = ma.fields.String()
    zone_id = ma.fields.String(allow_none=True)
    zone_name = ma.fields.String(dump_only=True, allow_none=True)
    unit_id = ma.fields.String(allow_none=True)
    unit_label = ma.fields.String(dump_only=True, allow_none=True, metadata={"description": "e.g. 1栋1-101"})
    location = enum_out(LOCATIONS)
    category = enum_out(CATEGORIES)
    subcategory = ma.fields.String(allow_none=True)
    priority = enum_out(PRIORITIES)
    channel = enum_out(CHANNELS)
    description = ma.fields.String()
    reporter_id = ma.fields.String(allow_none=True)
    urgent_requested = ma.fields.Boolean()
    first_responder = ma.fields.String()
    first_responder_name = ma.fields.String(dump_only=True, allow_none=True, metadata={"description": "display name"})
    department = enum_out(DEPARTMENTS, allow_none=True)
    assignee_id = ma.fields.String(allow_none=True)
    assignee_name = ma.fields.String(dump_only=True, allow_none=True, metadata={"description": "display name"})
    status = enum_out(STATUSES)
    allowed_actions = ma.fields.Function(
        lambda t: allowed_actions_for(t, web.principal()),
        metadata={"description": "what the caller may do to this ticket now (role, part in it, kind, status)"},
    )
    hold_reason = ma.fields.String(allow_none=True)
    response_due_at = UtcDateTime(allow_none=True)
    resolution_due_at = UtcDateTime(allow_none=True)
    responded_at = UtcDateTime(allow_none=True)
    resolved_at = UtcDateTime(allow_none=True)
    closed_at = UtcDateTime(allow_none=True)
    visit_due_at = UtcDateTime(allow_none=True)
    visit_attempts = ma.fields.Integer()
    visit_outcome = ma.fields.String(allow_none=True)
    satisfaction = ma.fields.Integer(allow_none=True)
    charge = ma.fields.Function(lambda t: None if t.quote_fen is None else fen_to_str(t.quote_fen))
    charge_accepted = ma.fields.Boolean()
    escalation_level = ma.fields.Integer()
    reopen_count = ma.fields.Integer()
    round_id = ma.fields.String(allow_none=True)
    equipment_id = ma.fields.String(allow_none=True, metadata={"description": "the equipment repaired"})
    violation_id = ma.fields.String(allow_none=True)
    hold_started_at = UtcDateTime(allow_none=True)
    held_seconds = ma.fields.Integer(metadata={"description": "time on hold so far; it does not count against the SLA"})
    next_feedback_at = UtcDateTime(allow_none=True, metadata={"description": "a complaint's next staged feedback"})
    visit_overdue_at = UtcDateTime(allow_none=True, metadata={"description": "when the return visit was reported late"})
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class TicketListArgs(PageArgs):
    status = ma.fields.String(validate=_one_of(STATUSES))
    category = ma.fields.String(validate=_one_of(CATEGORIES))
    subcategory = ma.fields.String()
    priority = ma.fields.String(validate=_one_of(PRIORITIES))
    channel = ma.fields.String(validate=_one_of(CHANNELS))
    department = ma.fields.String(validate=_one_of(DEPARTMENTS))
    unit_id = ma.fields.String()
    zone_id = ma.fields.String()
    community_id = ma.fields.String()
    reporter_id = ma.fields.String()
    assignee_id = ma.fields.String()
    first_responder = ma.fields.String()
    equipment_id = ma.fields.String(metadata={"description": "repairs of this piece of equipment"})
    open = ma.fields.Boolean(metadata={"description": "only tickets not yet resolved, closed or cancelled"})
    created_from = ma.fields.AwareDateTime()
    created_to = ma.fields.AwareDateTime()
    visit_due_before = ma.fields.AwareDateTime(metadata={"description": "resolved tickets whose visit is due by then"})
    number = ma.fields.String(validate=ma.validate.Length(min=1, max=40), metadata={"description": "ticket number"})
    sla = ma.fields.String(
        validate=_one_of(SLA_STATES),
        metadata={"description": "open tickets past their resolution deadline, due within 2 hours, or on track"},
    )
    escalated = ma.fields.Boolean(metadata={"description": "only tickets escalated at least once"})
    q = ma.fields.String(
        validate=ma.validate.Length(min=1, max=100),
        metadata={"description": "words (Chinese too) in the description or a note you may read, or the number"},
    )


TicketPage = page_schema(TicketOut, "TicketPage")


class FollowUpArgs(PageArgs):
    pass


class FeedbackDueArgs(PageArgs):
    before = ma.fields.AwareDateTime(metadata={"description": "due by this time (default: now)"})


class TicketNoteIn(ma.Schema):
    body = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))
    kind = ma.fields.String(
        validate=_one_of(NOTE_KINDS),
        metadata={"description": "feedback: a complaint's staged feedback to the customer"},
    )
    visibility = ma.fields.String(
        validate=_one_of(NOTE_VISIBILITIES), metadata={"description": "internal (default for notes) or resident"}
    )
    next_feedback_at = ma.fields.AwareDateTime(
        allow_none=True, metadata={"description": "feedback only: when the customer hears again; none = the last"}
    )


class TicketNoteOut(ma.Schema):
    id = ma.fields.String()
    ticket_id = ma.fields.String()
    kind = enum_out(NOTE_KINDS)
    visibility = enum_out(NOTE_VISIBILITIES)
    body = ma.fields.String()
    next_feedback_at = UtcDateTime(allow_none=True)
    author = ma.fields.String()
    author_name = ma.fields.String(dump_only=True, allow_none=True, metadata={"description": "display name"})
    created_at = UtcDateTime()


class TicketNoteList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(TicketNoteOut))


class AssignIn(ma.Schema):
    department = ma.fields.String(required=True, validate=_one_of(DEPARTMENTS))
    assignee_id = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    reason = ma.fields.String(validate=ma.validate.Length(min=1, max=500))


class TriageIn(ma.Schema):
    priority = ma.fields.String(required=True, validate=_one_of(PRIORITIES))
    note = ma.fields.String(validate=ma.validate.Length(max=2000))


class NoteIn(ma.Schema):
    note = ma.fields.String(validate=ma.validate.Length(max=2000))


class ReasonIn(ma.Schema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=500))


class QuoteIn(ma.Schema):
    charge = ma.fields.String(required=True, metadata={"description": "decimal yuan, e.g. 120.50"})


class AcceptQuoteIn(ma.Schema):
    via = ma.fields.String(validate=_one_of(("app", "phone", "walk_in", "wechat")))


class ResolveIn(ma.Schema):
    note = ma.fields.String(validate=ma.validate.Length(max=2000))


class ReopenIn(ma.Schema):
    reason_code = ma.fields.String(required=True, validate=_one_of(REOPEN_REASONS))
    comment = ma.fields.String(validate=ma.validate.Length(max=2000))


class VisitIn(ma.Schema):
    outcome = ma.fields.String(required=True, validate=_one_of(VISIT_OUTCOMES))
    satisfaction = ma.fields.Integer(validate=ma.validate.Range(min=1, max=5))
    comment = ma.fields.String(validate=ma.validate.Length(max=2000))


class VisitOut(ma.Schema):
    id = ma.fields.String()
    ticket_id = ma.fields.String()
    outcome = enum_out(VISIT_OUTCOMES)
    satisfaction = ma.fields.Integer(allow_none=True)
    comment = ma.fields.String(allow_none=True)
    visited_by = ma.fields.String()
    visited_at = UtcDateTime()


class TimelineOut(ma.Schema):
    at = UtcDateTime()
    actor = ma.fields.String()
    actor_name = ma.fields.String(
        dump_only=True, allow_none=True, metadata={"description": "display name; null for system actors"}
    )
    action = ma.fields.String()
    from_status = enum_out(STATUSES, allow_none=True)
    to_status = enum_out(STATUSES)
    reason = ma.fields.String(allow_none=True)
    details = ma.fields.Function(lambda e: json.loads(e.details or "{}"))


class TimelineList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(TimelineOut))


class AttachmentOut(ma.Schema):
    id = ma.fields.String()
    ticket_id = ma.fields.String()
    visit_id = ma.fields.String(allow_none=True)
    storage_key = ma.fields.String()
    filename = ma.fields.String()
    content_type = ma.fields.String()
    size = ma.fields.Integer()
    uploaded_by = ma.fields.String()
    created_at = UtcDateTime()


class AttachmentList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AttachmentOut))


class PhotoOut(ma.Schema):
    """A photo of an incident (of one of its log entries when `log_id` is set) or of a patrol finding."""

    id = ma.fields.String()
    log_id = ma.fields.String(allow_none=True)
    content_type = ma.fields.String()
    size = ma.fields.Integer()
    uploaded_by = ma.fields.String()
    uploaded_by_name = ma.fields.String(dump_only=True, allow_none=True)
    created_at = UtcDateTime()


class PhotoList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(PhotoOut))


class CommunityConfigIn(ma.Schema):
    business_day_start = ma.fields.String(validate=ma.validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$"))
    business_day_end = ma.fields.String(validate=ma.validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$"))
    business_days = ma.fields.String(validate=ma.validate.Regexp(r"^(?!.*(.).*\1)[1-7]{1,7}$"))
    visit_due_hours = ma.fields.Integer(validate=ma.validate.Range(min=1, max=24 * 30))
    max_unreachable_attempts = ma.fields.Integer(validate=ma.validate.Range(min=1, max=10))
    escalate_after_minutes = ma.fields.Integer(validate=ma.validate.Range(min=1, max=60 * 24 * 30))
    patrol_every_days = ma.fields.Integer(validate=ma.validate.Range(min=1, max=90))
    direct_close_categories = ma.fields.List(
        ma.fields.String(validate=_one_of(CATEGORIES)),
        metadata={"description": "kinds closed without a return visit (default inquiry, praise)"},
    )


class CommunityConfigOut(CommunityConfigIn):
    community_id = ma.fields.String()
    updated_at = UtcDateTime(allow_none=True)


class SlaPolicyIn(ma.Schema):
    community_id = _ids(required=True)
    category = ma.fields.String(required=True, validate=_one_of(CATEGORIES))
    priority = ma.fields.String(required=True, validate=_one_of(PRIORITIES))
    response_minutes = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=60 * 24 * 30))
    resolution_minutes = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=60 * 24 * 90))
    business_hours = ma.fields.Boolean(load_default=False)


class SlaPolicyOut(SlaPolicyIn):
    custom = ma.fields.Boolean()


class SlaPolicyList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SlaPolicyOut))


class CommunityArgs(ma.Schema):
    community_id = _ids(required=True)


class RoutingRuleIn(ma.Schema):
    community_id = _ids(required=True)
    category = ma.fields.String(validate=_one_of(CATEGORIES))
    subcategory = ma.fields.String(validate=ma.validate.Length(min=1, max=50))
    zone_id = _ids()
    department = ma.fields.String(required=True, validate=_one_of(DEPARTMENTS))
    assignee_id = ma.fields.String(validate=ma.validate.Length(min=1, max=100))


class RoutingRuleOut(RoutingRuleIn):
    id = ma.fields.String()
    created_at = UtcDateTime()


class RoutingRuleList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(RoutingRuleOut))


class ReportArgs(ma.Schema):
    community_id = _ids(required=True)
    format = ma.fields.String(load_default="json", validate=_one_of(("json", "xlsx")))


class MonthlyReportArgs(ReportArgs):
    month = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$"))


class WeeklyReportArgs(ReportArgs):
    week = ma.fields.Date(required=True, metadata={"description": "any day of the week (weeks start on Monday)"})


class ButlerFiguresArgs(ma.Schema):
    community_id = _ids(required=True)
    month = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$"))
    group_by = ma.fields.String(
        load_default="butler",
        validate=ma.validate.OneOf(("butler", "zone", "community")),
        metadata={"description": "a row per butler (default), per zone, or one for the community"},
    )


class ButlerFiguresRow(ma.Schema):
    key = ma.fields.String(metadata={"description": "the butler's gateway user id (the zone's, the community's)"})
    zones = ma.fields.Integer()
    tickets = ma.fields.Integer(metadata={"description": "tickets of their zones created in the month"})
    tickets_resolved = ma.fields.Integer()
    sla_compliance = ma.fields.Float(allow_none=True, metadata={"description": "resolution SLA met, a ratio"})
    satisfaction_average = ma.fields.Float(allow_none=True, metadata={"description": "1–5, reached return visits"})
    satisfied_rate = ma.fields.Float(allow_none=True)
    sla_met = ma.fields.Integer(metadata={"description": "resolution SLA met (the compliance's numerator)"})
    sla_breached = ma.fields.Integer()
    visits_reached = ma.fields.Integer(metadata={"description": "reached return visits with a score"})
    visits_score = ma.fields.Integer(metadata={"description": "their scores summed (the average's numerator)"})
    visits_satisfied = ma.fields.Integer(metadata={"description": "scored 4–5"})
    zones_patrolled = ma.fields.Integer()
    patrol_coverage = ma.fields.Float(metadata={"description": "share of their zones with a completed round"})


class ButlerFiguresOut(ma.Schema):
    community_id = ma.fields.String()
    month = ma.fields.String()
    items = ma.fields.List(ma.fields.Nested(ButlerFiguresRow))


class WeeklySeriesArgs(ma.Schema):
    community_id = _ids(required=True)
    week = ma.fields.Date(required=True, metadata={"description": "any day of the last week of the series"})
    weeks = ma.fields.Integer(load_default=8, validate=ma.validate.Range(min=1, max=53))


# ---------------------------------------------------------------- patrols


class CheckpointIn(ma.Schema):
    code = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))


class PlanIn(ma.Schema):
    zone_id = _ids(required=True)
    community_id = _ids()
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    frequency = ma.fields.String(required=True, validate=_one_of(("daily", "weekly", "every_n_days")))
    every_days = ma.fields.Integer(validate=ma.validate.Range(min=1, max=90))
    staff_ids = ma.fields.List(ma.fields.String(validate=ma.validate.Length(min=1, max=100)), load_default=list)
    checkpoints = ma.fields.List(
        ma.fields.Nested(CheckpointIn), required=True, validate=ma.validate.Length(min=1, max=200)
    )


class CheckpointOut(CheckpointIn):
    id = ma.fields.String()


class PlanOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    zone_id = ma.fields.String()
    zone_name = ma.fields.String(dump_only=True, allow_none=True)
    name = ma.fields.String()
    frequency = ma.fields.String()
    every_days = ma.fields.Integer()
    staff_ids = ma.fields.List(ma.fields.String())
    staff_names = ma.fields.List(ma.fields.String(allow_none=True), dump_only=True)
    checkpoints = ma.fields.List(ma.fields.Nested(CheckpointOut))
    created_at = UtcDateTime()


class PlanList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(PlanOut))


class PlanListArgs(ma.Schema):
    community_id = ma.fields.String()
    zone_id = ma.fields.String()


class RoundIn(ma.Schema):
    plan_id = _ids(required=True)


class ScanIn(ma.Schema):
    code = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))


class FindingIn(ma.Schema):
    kind = ma.fields.String(required=True, validate=_one_of(FINDING_KINDS))
    severity = ma.fields.String(required=True, validate=_one_of(SEVERITIES))
    description = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))
    needs_work = ma.fields.Boolean(required=True)
    checkpoint_code = ma.fields.String(validate=ma.validate.Length(min=1, max=64))


class FindingOut(ma.Schema):
    id = ma.fields.String()
    kind = enum_out(FINDING_KINDS)
    severity = enum_out(SEVERITIES)
    description = ma.fields.String()
    needs_work = ma.fields.Boolean()
    ticket_id = ma.fields.String(allow_none=True)
    recorded_at = UtcDateTime()
    photos = ma.fields.List(ma.fields.Nested(PhotoOut))


class RoundCheckpointOut(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    scanned_at = UtcDateTime(allow_none=True)


class RoundOut(ma.Schema):
    id = ma.fields.String()
    plan_id = ma.fields.String()
    community_id = ma.fields.String()
    zone_id = ma.fields.String()
    zone_name = ma.fields.String(dump_only=True, allow_none=True)
    status = enum_out(ROUND_STATUSES)
    started_by = ma.fields.String()
    started_by_name = ma.fields.String(dump_only=True, allow_none=True)
    started_at = UtcDateTime()
    completed_at = UtcDateTime(allow_none=True)
    checkpoints = ma.fields.List(ma.fields.Nested(RoundCheckpointOut))
    missed_checkpoints = ma.fields.List(ma.fields.String())
    findings = ma.fields.List(ma.fields.Nested(FindingOut))


class RoundList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(RoundOut))


class RoundListArgs(ma.Schema):
    community_id = ma.fields.String()
    zone_id = ma.fields.String()
    plan_id = ma.fields.String()
    status = ma.fields.String(validate=_one_of(ROUND_STATUSES))
    days = ma.fields.Integer(
        load_default=1,
        validate=ma.validate.Range(min=1, max=31),
        metadata={"description": "started in the last N days"},
    )


class CoverageArgs(ma.Schema):
    community_id = _ids(required=True)
    days = ma.fields.Integer(load_default=30, validate=ma.validate.Range(min=1, max=366))


class GapOut(ma.Schema):
    from_ = UtcDateTime(data_key="from", attribute="from")
    to = UtcDateTime()
    days = ma.fields.Float()


class ZoneCoverageOut(ma.Schema):
    zone_id = ma.fields.String()
    name = ma.fields.String(allow_none=True)
    last_round_at = UtcDateTime(allow_none=True)
    days_since_last_round = ma.fields.Float(allow_none=True)
    rounds_in_window = ma.fields.Integer()
    overdue = ma.fields.Boolean()
    gaps = ma.fields.List(ma.fields.Nested(GapOut))


class CoverageOut(ma.Schema):
    community_id = ma.fields.String()
    required_every_days = ma.fields.Integer()
    window_days = ma.fields.Integer()
    generated_at = UtcDateTime()
    zones = ma.fields.List(ma.fields.Nested(ZoneCoverageOut))


# ---------------------------------------------------------------- incidents


def _id_list(**kwargs):
    return ma.fields.List(_ids(), validate=ma.validate.Length(max=500), load_default=list, **kwargs)


class IncidentScopeIn(ma.Schema):
    unit_ids = _id_list()
    building_ids = _id_list()
    zone_ids = _id_list()


class IncidentIn(ma.Schema):
    community_id = _ids(required=True)
    type = ma.fields.String(required=True, validate=_one_of(INCIDENT_TYPES))
    severity = ma.fields.String(required=True, validate=_one_of(INCIDENT_SEVERITIES))
    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    description = ma.fields.String(validate=ma.validate.Length(max=4000))
    scope = ma.fields.Nested(IncidentScopeIn, required=True)
    notify_residents = ma.fields.Boolean(
        load_default=True, metadata={"description": "send the urgent notice to the households of the scope"}
    )
    on_site = ma.fields.List(_ids(), validate=ma.validate.Length(max=50))
    reported_at = ma.fields.AwareDateTime(metadata={"description": "when it was reported (default now)"})


class IncidentStepIn(ma.Schema):
    step = ma.fields.String(required=True, validate=_one_of(STEPS))
    at = ma.fields.AwareDateTime(metadata={"description": "when it happened on site (default now)"})
    note = ma.fields.String(validate=ma.validate.Length(max=2000))


class IncidentPeopleIn(ma.Schema):
    staff_ids = ma.fields.List(_ids(), required=True, validate=ma.validate.Length(min=1, max=50))
    note = ma.fields.String(validate=ma.validate.Length(max=2000))


class IncidentTaskIn(ma.Schema):
    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    owner_id = _ids(required=True)
    due_at = ma.fields.AwareDateTime()


class IncidentCloseIn(ma.Schema):
    summary = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=4000))


class IncidentScopeOut(ma.Schema):
    unit_ids = ma.fields.List(ma.fields.String())
    building_ids = ma.fields.List(ma.fields.String())
    zone_ids = ma.fields.List(ma.fields.String())


class IncidentTaskOut(ma.Schema):
    id = ma.fields.String()
    title = ma.fields.String()
    owner_id = ma.fields.String()
    owner_name = ma.fields.String(dump_only=True, allow_none=True)
    due_at = UtcDateTime(allow_none=True)
    done_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()


class IncidentLogOut(ma.Schema):
    id = ma.fields.String()
    at = UtcDateTime()
    actor = ma.fields.String()
    actor_name = ma.fields.String(dump_only=True, allow_none=True)
    action = ma.fields.String()
    note = ma.fields.String(allow_none=True)


class IncidentOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    type = enum_out(INCIDENT_TYPES)
    severity = enum_out(INCIDENT_SEVERITIES)
    status = enum_out(INCIDENT_STATUSES)
    title = ma.fields.String()
    description = ma.fields.String()
    notify_residents = ma.fields.Boolean()
    scope = ma.fields.Nested(IncidentScopeOut)
    on_site = ma.fields.List(ma.fields.String())
    on_site_names = ma.fields.List(ma.fields.String(allow_none=True), dump_only=True)
    summary = ma.fields.String(allow_none=True)
    reported_by = ma.fields.String()
    reported_by_name = ma.fields.String(dump_only=True, allow_none=True)
    reported_at = UtcDateTime()
    arrived_at = UtcDateTime(allow_none=True)
    contained_at = UtcDateTime(allow_none=True)
    resolved_at = UtcDateTime(allow_none=True)
    closed_at = UtcDateTime(allow_none=True)
    updated_at = UtcDateTime()
    allowed_steps = ma.fields.List(enum_out(STEPS))
    tasks = ma.fields.List(ma.fields.Nested(IncidentTaskOut))
    log = ma.fields.List(ma.fields.Nested(IncidentLogOut))
    photos = ma.fields.List(ma.fields.Nested(PhotoOut), metadata={"description": "photos from the scene"})


class IncidentReportOut(IncidentOut):
    minutes_to_arrive = ma.fields.Float(allow_none=True, metadata={"description": "from the report to arrival"})
    minutes_to_contain = ma.fields.Float(allow_none=True)
    minutes_to_resolve = ma.fields.Float(allow_none=True)
    scope_labels = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.String(), metadata={"description": "unit, building, zone names"}
    )


class IncidentSummaryOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    type = enum_out(INCIDENT_TYPES)
    severity = enum_out(INCIDENT_SEVERITIES)
    status = enum_out(INCIDENT_STATUSES)
    title = ma.fields.String()
    reported_at = UtcDateTime()
    resolved_at = UtcDateTime(allow_none=True)
    closed_at = UtcDateTime(allow_none=True)


IncidentPage = page_schema(IncidentSummaryOut, "IncidentPage")


class IncidentListArgs(PageArgs):
    community_id = ma.fields.String()
    status = ma.fields.String(validate=_one_of(INCIDENT_STATUSES))
    type = ma.fields.String(validate=_one_of(INCIDENT_TYPES))
    severity = ma.fields.String(validate=_one_of(INCIDENT_SEVERITIES))
    open = ma.fields.Boolean(metadata={"description": "only incidents not closed yet"})


class IncidentReportArgs(ma.Schema):
    format = ma.fields.String(load_default="json", validate=_one_of(("json", "xlsx")))


# ---------------------------------------------------------------- equipment and maintenance


def _text(max_length: int, **kwargs):
    return ma.fields.String(validate=ma.validate.Length(min=1, max=max_length), **kwargs)


class EquipmentFields(ma.Schema):
    """What the register says of a piece of equipment, besides its community and state."""

    kind = ma.fields.String(validate=_one_of(EQUIPMENT_KINDS))
    name = _text(100)
    code = _text(50, allow_none=True, metadata={"description": "the asset tag, unique in the community"})
    zone_id = _ids(allow_none=True, metadata={"description": "the zone its repair tickets are routed in"})
    building_id = _ids(allow_none=True)
    floor = _text(20, allow_none=True, metadata={"description": "a label: B2, 12, 屋面"})
    room = _text(50, allow_none=True)
    location_note = _text(200, allow_none=True)
    maker = _text(100, allow_none=True)
    model = _text(100, allow_none=True)
    serial_number = _text(100, allow_none=True)
    installed_on = ma.fields.Date(allow_none=True)
    contractor = _text(100, allow_none=True, metadata={"description": "the maintenance contractor (维保单位)"})


class EquipmentIn(EquipmentFields):
    community_id = _ids(required=True)
    kind = ma.fields.String(required=True, validate=_one_of(EQUIPMENT_KINDS))
    name = _text(100, required=True)
    state = ma.fields.String(load_default="operating", validate=_one_of(EQUIPMENT_STATES[:-1]))


class EquipmentStateIn(ma.Schema):
    state = ma.fields.String(required=True, validate=_one_of(EQUIPMENT_STATES))
    note = ma.fields.String(validate=ma.validate.Length(max=2000))


class CertificateIn(ma.Schema):
    kind = ma.fields.String(required=True, validate=_one_of(CERTIFICATE_KINDS))
    number = _text(100)
    issued_on = ma.fields.Date()
    expires_on = ma.fields.Date(required=True)


class CertificateOut(ma.Schema):
    id = ma.fields.String()
    kind = enum_out(CERTIFICATE_KINDS)
    number = ma.fields.String(allow_none=True)
    issued_on = ma.fields.Date(allow_none=True)
    expires_on = ma.fields.Date()
    days_left = ma.fields.Integer(metadata={"description": "negative once expired"})


class ExpiringCertificateOut(CertificateOut):
    equipment_id = ma.fields.String()
    equipment_name = ma.fields.String()
    equipment_kind = enum_out(EQUIPMENT_KINDS)


class ExpiringCertificateList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ExpiringCertificateOut))


class ExpiringArgs(ma.Schema):
    community_id = ma.fields.String(required=True)
    within_days = ma.fields.Integer(load_default=30, validate=ma.validate.Range(min=0, max=366))


class EquipmentSummaryOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    zone_id = ma.fields.String(allow_none=True)
    kind = enum_out(EQUIPMENT_KINDS)
    name = ma.fields.String()
    code = ma.fields.String(allow_none=True)
    zone_name = ma.fields.String(allow_none=True, dump_only=True)
    building_id = ma.fields.String(allow_none=True)
    floor = ma.fields.String(allow_none=True)
    room = ma.fields.String(allow_none=True)
    state = enum_out(EQUIPMENT_STATES)
    state_changed_at = UtcDateTime()


class EquipmentOut(EquipmentSummaryOut):
    location_note = ma.fields.String(allow_none=True)
    maker = ma.fields.String(allow_none=True)
    model = ma.fields.String(allow_none=True)
    serial_number = ma.fields.String(allow_none=True)
    installed_on = ma.fields.Date(allow_none=True)
    contractor = ma.fields.String(allow_none=True)
    state_note = ma.fields.String(allow_none=True)
    certificates = ma.fields.List(ma.fields.Nested(CertificateOut))
    created_by = ma.fields.String()
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


EquipmentPage = page_schema(EquipmentSummaryOut, "EquipmentPage")


class EquipmentListArgs(PageArgs):
    community_id = ma.fields.String()
    kind = ma.fields.String(validate=_one_of(EQUIPMENT_KINDS))
    state = ma.fields.String(validate=_one_of(EQUIPMENT_STATES))
    building_id = ma.fields.String()
    zone_id = ma.fields.String()


class FaultIn(ma.Schema):
    description = _text(2000, required=True)
    priority = ma.fields.String(load_default="normal", validate=_one_of(PRIORITIES))


class EquipmentTicketOut(ma.Schema):
    id = ma.fields.String()
    number = ma.fields.String()
    status = enum_out(STATUSES)
    priority = enum_out(PRIORITIES)
    channel = enum_out(CHANNELS)
    description = ma.fields.String()
    assignee_id = ma.fields.String(allow_none=True)
    assignee_name = ma.fields.String(allow_none=True, dump_only=True)
    created_at = UtcDateTime()
    resolved_at = UtcDateTime(allow_none=True)
    closed_at = UtcDateTime(allow_none=True)


class ChecklistResultIn(ma.Schema):
    item = _text(200, required=True)
    ok = ma.fields.Boolean(required=True)
    note = ma.fields.String(validate=ma.validate.Length(max=1000))


class ChecklistResultOut(ma.Schema):
    item = ma.fields.String()
    ok = ma.fields.Boolean()
    note = ma.fields.String(allow_none=True)


class MaintenanceOrderOut(ma.Schema):
    id = ma.fields.String()
    plan_id = ma.fields.String()
    equipment_id = ma.fields.String()
    equipment_name = ma.fields.String(allow_none=True, dump_only=True)
    community_id = ma.fields.String()
    due_on = ma.fields.Date()
    status = enum_out(ORDER_STATUSES)
    overdue = ma.fields.Boolean(metadata={"description": "open after its due date"})
    assignee_id = ma.fields.String(allow_none=True)
    assignee_name = ma.fields.String(allow_none=True, dump_only=True)
    checklist = ma.fields.List(ma.fields.String())
    results = ma.fields.List(ma.fields.Nested(ChecklistResultOut))
    note = ma.fields.String(allow_none=True)
    fault_ticket_ids = ma.fields.List(ma.fields.String())
    fault_ticket_numbers = ma.fields.List(ma.fields.String(allow_none=True), dump_only=True)
    completed_by = ma.fields.String(allow_none=True)
    completed_by_name = ma.fields.String(allow_none=True, dump_only=True)
    completed_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()
    allowed_actions = ma.fields.List(ma.fields.String())


class EquipmentHistoryOut(ma.Schema):
    equipment_id = ma.fields.String()
    tickets = ma.fields.List(ma.fields.Nested(EquipmentTicketOut))
    maintenance = ma.fields.List(ma.fields.Nested(MaintenanceOrderOut))


class MaintenancePlanIn(ma.Schema):
    equipment_id = _ids(required=True)
    title = _text(200, required=True)
    frequency = ma.fields.String(required=True, validate=_one_of(FREQUENCIES))
    checklist = ma.fields.List(_text(200), required=True, validate=ma.validate.Length(min=1, max=100))
    starts_on = ma.fields.Date(required=True, metadata={"description": "the first due date (local)"})
    assignee_id = ma.fields.String(validate=ma.validate.Length(min=1, max=100))


class MaintenancePlanActiveIn(ma.Schema):
    active = ma.fields.Boolean(required=True)


class MaintenancePlanOut(ma.Schema):
    id = ma.fields.String()
    equipment_id = ma.fields.String()
    equipment_name = ma.fields.String(allow_none=True, dump_only=True)
    community_id = ma.fields.String()
    title = ma.fields.String()
    frequency = enum_out(FREQUENCIES)
    checklist = ma.fields.List(ma.fields.String())
    starts_on = ma.fields.Date()
    next_due_on = ma.fields.Date(metadata={"description": "the next date an order will be made for"})
    assignee_id = ma.fields.String(allow_none=True)
    assignee_name = ma.fields.String(allow_none=True, dump_only=True)
    active = ma.fields.Boolean()
    created_by = ma.fields.String()
    created_at = UtcDateTime()


MaintenancePlanPage = page_schema(MaintenancePlanOut, "MaintenancePlanPage")
MaintenanceOrderPage = page_schema(MaintenanceOrderOut, "MaintenanceOrderPage")


class MaintenancePlanListArgs(PageArgs):
    community_id = ma.fields.String()
    equipment_id = ma.fields.String()
    frequency = ma.fields.String(validate=_one_of(FREQUENCIES))
    active = ma.fields.Boolean()


class MaintenanceOrderListArgs(PageArgs):
    community_id = ma.fields.String()
    equipment_id = ma.fields.String()
    plan_id = ma.fields.String()
    status = ma.fields.String(validate=_one_of(ORDER_STATUSES))
    assignee_id = ma.fields.String()
    overdue = ma.fields.Boolean(metadata={"description": "only open orders past their due date"})


class MaintenanceCompleteIn(ma.Schema):
    results = ma.fields.List(
        ma.fields.Nested(ChecklistResultIn), required=True, validate=ma.validate.Length(min=1, max=100)
    )
    note = ma.fields.String(validate=ma.validate.Length(max=2000))
    faults = ma.fields.List(
        ma.fields.Nested(FaultIn),
        load_default=list,
        validate=ma.validate.Length(max=20),
        metadata={"description": "faults found: each opens a repair ticket linked to the equipment"},
    )


# ---------------------------------------------------------------- quality cases (重大投诉)


class QualityCaseIn(ma.Schema):
    community_id = _ids(required=True)
    source = ma.fields.String(required=True, validate=_one_of(SOURCES))
    title = _text(200, required=True)
    description = ma.fields.String(validate=ma.validate.Length(max=4000))
    owner_id = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    deadline_at = ma.fields.AwareDateTime(required=True)
    ticket_ids = ma.fields.List(_ids(), load_default=list, validate=ma.validate.Length(max=50))


class QualityFeedbackIn(ma.Schema):
    audience = ma.fields.String(required=True, validate=_one_of(AUDIENCES))
    body = _text(4000, required=True)


class QualityCloseIn(ma.Schema):
    report = _text(8000, required=True, metadata={"description": "the closure report (结案报告)"})


class QualityFeedbackOut(ma.Schema):
    audience = enum_out(AUDIENCES)
    body = ma.fields.String()
    author = ma.fields.String()
    author_name = ma.fields.String(allow_none=True, dump_only=True)
    at = UtcDateTime()


class QualityCaseSummaryOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    source = enum_out(SOURCES)
    status = enum_out(CASE_STATUSES)
    title = ma.fields.String()
    owner_id = ma.fields.String()
    owner_name = ma.fields.String(allow_none=True, dump_only=True)
    deadline_at = UtcDateTime()
    opened_at = UtcDateTime()
    closed_at = UtcDateTime(allow_none=True)
    overdue = ma.fields.Boolean(metadata={"description": "open past its deadline"})


class QualityCaseOut(QualityCaseSummaryOut):
    description = ma.fields.String()
    ticket_ids = ma.fields.List(ma.fields.String())
    ticket_numbers = ma.fields.List(ma.fields.String(allow_none=True), dump_only=True)
    report = ma.fields.String(allow_none=True)
    opened_by = ma.fields.String()
    opened_by_name = ma.fields.String(allow_none=True, dump_only=True)
    feedback = ma.fields.List(ma.fields.Nested(QualityFeedbackOut))
    allowed_actions = ma.fields.List(ma.fields.String())


QualityCasePage = page_schema(QualityCaseSummaryOut, "QualityCasePage")


class QualityCaseListArgs(PageArgs):
    community_id = ma.fields.String()
    status = ma.fields.String(validate=_one_of(CASE_STATUSES))
    source = ma.fields.String(validate=_one_of(SOURCES))
    owner_id = ma.fields.String()
    open = ma.fields.Boolean(load_default=True, metadata={"description": "only cases not closed (default true)"})


# ---------------------------------------------------------------- new-building acceptance


class AcceptanceItemIn(ma.Schema):
    category = ma.fields.String(required=True, validate=_one_of(ACCEPTANCE_CATEGORIES))
    item = _text(200, required=True)


class AcceptanceItemOut(ma.Schema):
    category = enum_out(ACCEPTANCE_CATEGORIES)
    item = ma.fields.String()


class AcceptanceTemplateIn(ma.Schema):
    community_id = _ids(required=True)
    name = _text(100, required=True)
    items = ma.fields.List(
        ma.fields.Nested(AcceptanceItemIn), required=True, validate=ma.validate.Length(min=1, max=200)
    )


class AcceptanceTemplateOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String(allow_none=True, metadata={"description": "null: the default template"})
    name = ma.fields.String()
    items = ma.fields.List(ma.fields.Nested(AcceptanceItemOut))


class AcceptanceTemplateList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AcceptanceTemplateOut))


class AcceptanceTemplateArgs(ma.Schema):
    community_id = _ids(required=True)


class AcceptancePlanIn(ma.Schema):
    community_id = _ids(required=True)
    building_id = _ids(required=True)
    name = _text(200, required=True, metadata={"example": "3栋承接查验"})
    inspector_ids = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(min=1, max=100)),
        required=True,
        validate=ma.validate.Length(min=1, max=20),
        metadata={"description": "staff user ids of the inspectors"},
    )
    starts_on = ma.fields.Date(required=True)
    ends_on = ma.fields.Date(required=True)
    template_id = ma.fields.String(
        validate=ma.validate.Length(min=1, max=36), metadata={"description": "default: the default checklist"}
    )


class AcceptanceProgressOut(ma.Schema):
    units_total = ma.fields.Integer()
    units_inspected = ma.fields.Integer()
    units_pending = ma.fields.Integer()
    defects_open = ma.fields.Integer()
    defects_closed = ma.fields.Integer()
    percent_inspected = ma.fields.Integer()


class AcceptancePlanSummaryOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    building_id = ma.fields.String()
    building_name = ma.fields.String(dump_only=True, allow_none=True)
    zone_id = ma.fields.String(allow_none=True)
    name = ma.fields.String()
    inspector_ids = ma.fields.List(ma.fields.String())
    inspector_names = ma.fields.List(ma.fields.String(allow_none=True), dump_only=True)
    starts_on = ma.fields.Date()
    ends_on = ma.fields.Date()
    template_id = ma.fields.String(allow_none=True)
    status = enum_out(PLAN_STATUSES)
    progress = ma.fields.Nested(AcceptanceProgressOut)
    created_at = UtcDateTime()
    closed_at = UtcDateTime(allow_none=True)
    allowed_actions = ma.fields.List(ma.fields.String())


class AcceptanceUnitOut(ma.Schema):
    unit_id = ma.fields.String()
    unit_label = ma.fields.String(dump_only=True, allow_none=True)
    inspected = ma.fields.Boolean()
    inspected_at = UtcDateTime(allow_none=True)
    defects_open = ma.fields.Integer()
    defects_closed = ma.fields.Integer()


class AcceptancePlanOut(AcceptancePlanSummaryOut):
    checklist = ma.fields.List(ma.fields.Nested(AcceptanceItemOut))
    units = ma.fields.List(ma.fields.Nested(AcceptanceUnitOut))


AcceptancePlanPage = page_schema(AcceptancePlanSummaryOut, "AcceptancePlanPage")


class AcceptancePlanListArgs(PageArgs):
    community_id = ma.fields.String()
    building_id = ma.fields.String()
    status = ma.fields.String(validate=_one_of(PLAN_STATUSES))


class AcceptancePlanCloseIn(ma.Schema):
    note = ma.fields.String(validate=ma.validate.Length(max=2000))


class AcceptanceResultIn(ma.Schema):
    position = ma.fields.Integer(required=True, metadata={"description": "the checklist item (0-based)"})
    result = ma.fields.String(required=True, validate=_one_of(RESULTS))
    note = ma.fields.String(validate=ma.validate.Length(max=2000))
    description = ma.fields.String(
        validate=ma.validate.Length(min=1, max=4000), metadata={"description": "required for a defect"}
    )
    responsible_party = ma.fields.String(validate=_one_of(PARTIES), metadata={"description": "required for a defect"})
    rectify_by = ma.fields.Date(metadata={"description": "rectification deadline, required for a defect"})


class AcceptanceInspectionIn(ma.Schema):
    results = ma.fields.List(
        ma.fields.Nested(AcceptanceResultIn), required=True, validate=ma.validate.Length(min=1, max=200)
    )


class AcceptancePhotoOut(ma.Schema):
    id = ma.fields.String()
    filename = ma.fields.String()
    content_type = ma.fields.String()
    size = ma.fields.Integer()
    uploaded_by = ma.fields.String()
    created_at = UtcDateTime()


class AcceptanceDefectOut(ma.Schema):
    id = ma.fields.String()
    plan_id = ma.fields.String()
    community_id = ma.fields.String()
    building_id = ma.fields.String()
    unit_id = ma.fields.String()
    unit_label = ma.fields.String(dump_only=True, allow_none=True)
    position = ma.fields.Integer()
    category = enum_out(ACCEPTANCE_CATEGORIES)
    item = ma.fields.String()
    description = ma.fields.String()
    responsible_party = enum_out(PARTIES)
    rectify_by = ma.fields.Date()
    status = enum_out(DEFECT_STATUSES)
    overdue = ma.fields.Boolean(metadata={"description": "open past its rectification deadline"})
    reinspections = ma.fields.Integer()
    last_reinspected_at = UtcDateTime(allow_none=True)
    last_reinspection_note = ma.fields.String(allow_none=True)
    created_by = ma.fields.String()
    created_at = UtcDateTime()
    closed_by = ma.fields.String(allow_none=True)
    closed_at = UtcDateTime(allow_none=True)
    photo_count = ma.fields.Integer()
    photos = ma.fields.List(ma.fields.Nested(AcceptancePhotoOut))
    allowed_actions = ma.fields.List(ma.fields.String())


AcceptanceDefectPage = page_schema(AcceptanceDefectOut, "AcceptanceDefectPage")


class AcceptanceDefectListArgs(PageArgs):
    plan_id = ma.fields.String()
    community_id = ma.fields.String()
    building_id = ma.fields.String()
    unit_id = ma.fields.String()
    status = ma.fields.String(validate=_one_of(DEFECT_STATUSES))
    responsible_party = ma.fields.String(validate=_one_of(PARTIES))
    category = ma.fields.String(validate=_one_of(ACCEPTANCE_CATEGORIES))
    overdue = ma.fields.Boolean(metadata={"description": "only open defects past their deadline"})
    format = ma.fields.String(load_default="json", validate=_one_of(("json", "xlsx")))


class AcceptanceChecklistItemOut(ma.Schema):
    position = ma.fields.Integer()
    category = enum_out(ACCEPTANCE_CATEGORIES)
    item = ma.fields.String()
    result = ma.fields.String(allow_none=True, validate=_one_of(RESULTS))
    note = ma.fields.String(allow_none=True)


class AcceptanceChecklistOut(ma.Schema):
    plan_id = ma.fields.String()
    plan_name = ma.fields.String()
    plan_status = enum_out(PLAN_STATUSES)
    community_id = ma.fields.String()
    building_id = ma.fields.String()
    unit_id = ma.fields.String()
    unit_label = ma.fields.String(dump_only=True, allow_none=True)
    inspected = ma.fields.Boolean()
    inspected_by = ma.fields.String(allow_none=True)
    inspected_by_name = ma.fields.String(dump_only=True, allow_none=True)
    inspected_at = UtcDateTime(allow_none=True)
    checklist = ma.fields.List(ma.fields.Nested(AcceptanceChecklistItemOut))
    defects = ma.fields.List(ma.fields.Nested(AcceptanceDefectOut))
    allowed_actions = ma.fields.List(ma.fields.String())


class AcceptanceReinspectIn(ma.Schema):
    outcome = ma.fields.String(required=True, validate=_one_of(OUTCOMES))
    note = ma.fields.String(validate=ma.validate.Length(max=2000))
    rectify_by = ma.fields.Date(metadata={"description": "a new deadline for a defect still open"})
