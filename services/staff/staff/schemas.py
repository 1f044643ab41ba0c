"""Request and response schemas of the staff API."""

import marshmallow as ma

from guanjia.web import PageArgs, UtcDateTime, enum_out, page_schema

from .config import PERIODS
from .domain.common import DEPARTMENT_KINDS, LEAVE_KINDS, LEAVE_STATUSES, TITLES
from .domain.plans import ITEM_STATUSES, PLAN_KINDS, PLAN_SCOPES
from .domain.rotas import SWAP_STATUSES
from .domain.tasks import TASK_STATUSES

ID = ma.validate.Length(min=1, max=36)


class CommunityArgs(PageArgs):
    community_id = ma.fields.String(required=True, validate=ID)


class DepartmentIn(ma.Schema):
    community_id = ma.fields.String(required=True, validate=ID)
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(DEPARTMENT_KINDS))
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=100))


class DepartmentOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    kind = enum_out(DEPARTMENT_KINDS)
    name = ma.fields.String()
    created_at = UtcDateTime()


class PositionIn(ma.Schema):
    department_id = ma.fields.String(required=True, validate=ID)
    title = ma.fields.String(required=True, validate=ma.validate.OneOf(TITLES))
    user_id = ma.fields.String(required=True, validate=ID, metadata={"description": "the holder's gateway user id"})
    display_name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    reports_to_id = ma.fields.String(load_default=None, allow_none=True, validate=ID)


class PositionOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    department_id = ma.fields.String()
    title = enum_out(TITLES)
    user_id = ma.fields.String()
    display_name = ma.fields.String()
    reports_to_id = ma.fields.String(allow_none=True)
    created_at = UtcDateTime()


class LeaveIn(ma.Schema):
    position_id = ma.fields.String(required=True, validate=ID, metadata={"description": "the post of the person away"})
    stand_in_id = ma.fields.String(required=True, validate=ID, metadata={"description": "the stand-in's position"})
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(LEAVE_KINDS))
    starts_at = ma.fields.AwareDateTime(required=True)
    ends_at = ma.fields.AwareDateTime(required=True)
    reason = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=500))


class DecisionIn(ma.Schema):
    note = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=500))


class LeaveArgs(PageArgs):
    community_id = ma.fields.String(validate=ID)
    position_id = ma.fields.String(validate=ID)
    status = ma.fields.String(validate=ma.validate.OneOf(LEAVE_STATUSES))


class LeaveOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    position_id = ma.fields.String()
    user_id = ma.fields.String()
    display_name = ma.fields.String()
    stand_in_id = ma.fields.String(attribute="stand_in_position_id")
    stand_in_user_id = ma.fields.String()
    stand_in_name = ma.fields.String()
    kind = enum_out(LEAVE_KINDS)
    reason = ma.fields.String(allow_none=True)
    starts_at = UtcDateTime()
    ends_at = UtcDateTime()
    status = enum_out(LEAVE_STATUSES)
    in_progress = ma.fields.Boolean(metadata={"description": "announced as begun and not yet ended"})
    decided_by = ma.fields.String(allow_none=True)
    decided_at = UtcDateTime(allow_none=True)
    decision_note = ma.fields.String(allow_none=True)
    created_at = UtcDateTime()


class PayRuleArgs(ma.Schema):
    collection_rate = ma.fields.Decimal(
        places=2,
        validate=ma.validate.Range(min=0, max=100),
        metadata={"description": "a period's collection rate in percent: the answer adds the grade change"},
    )


class GradeChangeOut(ma.Schema):
    collection_rate = ma.fields.Decimal(as_string=True, attribute="rate")
    target_met = ma.fields.Boolean()
    steps = ma.fields.Integer()
    grades = ma.fields.Integer(metadata={"description": "grades up (positive) or down (negative) for the period"})


class PayRuleOut(ma.Schema):
    threshold = ma.fields.Decimal(as_string=True)
    step = ma.fields.Decimal(as_string=True)
    grades_per_step = ma.fields.Integer()
    grades_when_missed = ma.fields.Integer()
    period = enum_out(PERIODS)
    grade_change = ma.fields.Nested(GradeChangeOut, allow_none=True)


DepartmentList = page_schema(DepartmentOut, "DepartmentList")
PositionList = page_schema(PositionOut, "PositionList")
LeavePage = page_schema(LeaveOut, "LeavePage")


MONTH = ma.validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error="a month like 2026-11")


class ScorecardIn(ma.Schema):
    position_id = ma.fields.String(required=True, validate=ID)
    month = ma.fields.String(required=True, validate=MONTH)


class ReviewIn(ma.Schema):
    score = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0, max=100))
    comment = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=1000))


class ScorecardArgs(PageArgs):
    community_id = ma.fields.String(required=True, validate=ID)
    month = ma.fields.String(validate=MONTH)
    position_id = ma.fields.String(validate=ID)
    flagged = ma.fields.Boolean(metadata={"description": "true: only cards whose pay period's target is missed"})
    format = ma.fields.String(load_default="json", validate=ma.validate.OneOf(("json", "xlsx")))


class ScorecardOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    position_id = ma.fields.String()
    user_id = ma.fields.String()
    display_name = ma.fields.String()
    month = ma.fields.String()
    receivable = ma.fields.String(allow_none=True, metadata={"description": "yuan, decimal string (billing's)"})
    collected = ma.fields.String(allow_none=True)
    collection_rate = ma.fields.String(allow_none=True, metadata={"description": "the month's 收缴率, a ratio"})
    pay_period = ma.fields.String(metadata={"description": "the pay rule's period the month lies in (2026-H2)"})
    period_collection_rate = ma.fields.String(allow_none=True)
    grade_change = ma.fields.Integer(allow_none=True, metadata={"description": "what the pay rule gives"})
    target_met = ma.fields.Boolean(allow_none=True, metadata={"description": "false: flagged for the manager"})
    tickets = ma.fields.Integer(allow_none=True, metadata={"description": "tickets of the butler's zones (tickets')"})
    tickets_resolved = ma.fields.Integer(allow_none=True)
    sla_compliance = ma.fields.String(allow_none=True, metadata={"description": "resolution SLA met, a ratio"})
    satisfaction_average = ma.fields.String(allow_none=True, metadata={"description": "return visits, 1–5"})
    satisfied_rate = ma.fields.String(allow_none=True, metadata={"description": "visits scoring 4–5, a ratio"})
    patrol_coverage = ma.fields.String(allow_none=True, metadata={"description": "zones patrolled, a ratio"})
    familiarity = ma.fields.String(allow_none=True, metadata={"description": "households contacted (residents')"})
    communication = ma.fields.String(allow_none=True, metadata={"description": "households reached effectively"})
    measured_at = UtcDateTime()
    score = ma.fields.Integer(allow_none=True)
    comment = ma.fields.String(allow_none=True)
    scored_by = ma.fields.String(allow_none=True)
    scored_by_name = ma.fields.String(allow_none=True)
    scored_at = UtcDateTime(allow_none=True)


ScorecardPage = page_schema(ScorecardOut, "ScorecardPage")


class TaskIn(ma.Schema):
    position_id = ma.fields.String(required=True, validate=ID, metadata={"description": "the assignee's post"})
    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    details = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=2000))
    due_at = ma.fields.AwareDateTime(required=True)


class TaskArgs(PageArgs):
    community_id = ma.fields.String(required=True, validate=ID)
    status = ma.fields.String(validate=ma.validate.OneOf(TASK_STATUSES))


class TaskOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    position_id = ma.fields.String()
    assignee_id = ma.fields.String()
    assigner_id = ma.fields.String()
    title = ma.fields.String()
    details = ma.fields.String(allow_none=True)
    due_at = UtcDateTime()
    status = enum_out(TASK_STATUSES)
    overdue = ma.fields.Boolean(metadata={"description": "past its due date while open (task.overdue went out)"})
    completed_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()


TaskPage = page_schema(TaskOut, "TaskPage")


# --- rotas and attendance -------------------------------------------------------------------------------------------

CLOCK = ma.validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="a local time like 08:30")


class ShiftTemplateIn(ma.Schema):
    department_id = ma.fields.String(required=True, validate=ID)
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=50))
    starts = ma.fields.String(required=True, validate=CLOCK, metadata={"description": "local time, 08:00"})
    ends = ma.fields.String(
        required=True, validate=CLOCK, metadata={"description": "local time; at or before `starts`: the next day"}
    )
    min_staff = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=0, max=50))


class ShiftTemplateOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    department_id = ma.fields.String()
    name = ma.fields.String()
    starts = ma.fields.String()
    ends = ma.fields.String()
    min_staff = ma.fields.Integer()
    crosses_midnight = ma.fields.Function(lambda t: t.ends <= t.starts, metadata={"description": "ends the next day"})


class DepartmentArgs(ma.Schema):
    department_id = ma.fields.String(required=True, validate=ID)


class ShiftTemplateList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ShiftTemplateOut))


class RotaEntryIn(ma.Schema):
    position_id = ma.fields.String(required=True, validate=ID)
    day = ma.fields.Date(required=True)
    shift_id = ma.fields.String(required=True, validate=ID)


class RotaIn(ma.Schema):
    department_id = ma.fields.String(required=True, validate=ID)
    week = ma.fields.Date(required=True, metadata={"description": "the week's Monday"})
    entries = ma.fields.List(ma.fields.Nested(RotaEntryIn), required=True, validate=ma.validate.Length(max=1000))


class RotaArgs(DepartmentArgs):
    week = ma.fields.Date(required=True, metadata={"description": "the week's Monday"})


class RotaEntryOut(ma.Schema):
    id = ma.fields.String()
    day = ma.fields.Date()
    shift_id = ma.fields.String()
    position_id = ma.fields.String()
    user_id = ma.fields.String()
    display_name = ma.fields.String()


class GapOut(ma.Schema):
    day = ma.fields.Date()
    shift_id = ma.fields.String()
    staffed = ma.fields.Integer()
    min_staff = ma.fields.Integer()


class RotaOut(ma.Schema):
    department_id = ma.fields.String()
    department_name = ma.fields.String()
    community_id = ma.fields.String()
    week = ma.fields.Date()
    days = ma.fields.List(ma.fields.Date())
    shifts = ma.fields.List(ma.fields.Nested(ShiftTemplateOut))
    entries = ma.fields.List(ma.fields.Nested(RotaEntryOut))
    gaps = ma.fields.List(ma.fields.Nested(GapOut), metadata={"description": "day × shift below its minimum"})
    understaffed = ma.fields.Boolean(metadata={"description": "some shift of the week is below its minimum"})
    editable = ma.fields.Boolean(metadata={"description": "the caller may draw up this rota"})


class ClockIn(ma.Schema):
    position_id = ma.fields.String(required=True, validate=ID, metadata={"description": "one's own post"})


class ClockOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    position_id = ma.fields.String()
    clock_in_at = UtcDateTime()
    clock_out_at = UtcDateTime(allow_none=True)


class ClockArgs(ma.Schema):
    community_id = ma.fields.String(required=True, validate=ID)


class ClockState(ma.Schema):
    clocked_in = ma.fields.Boolean()
    record = ma.fields.Nested(ClockOut, allow_none=True)


class AttendanceArgs(ma.Schema):
    community_id = ma.fields.String(required=True, validate=ID)
    month = ma.fields.String(validate=MONTH)
    day_from = ma.fields.Date(data_key="from")
    day_to = ma.fields.Date(data_key="to")
    position_id = ma.fields.String(validate=ID)
    department_id = ma.fields.String(validate=ID)
    format = ma.fields.String(load_default="json", validate=ma.validate.OneOf(("json", "xlsx")))


ATTENDANCE_STATUSES = ("upcoming", "on_duty", "present", "late", "absent", "on_leave")


class AttendanceRow(ma.Schema):
    entry_id = ma.fields.String()
    day = ma.fields.Date()
    department_id = ma.fields.String()
    department_name = ma.fields.String()
    shift_id = ma.fields.String()
    shift_name = ma.fields.String()
    starts_at = UtcDateTime()
    ends_at = UtcDateTime()
    position_id = ma.fields.String()
    user_id = ma.fields.String()
    display_name = ma.fields.String()
    clock_in_at = UtcDateTime(allow_none=True)
    clock_out_at = UtcDateTime(allow_none=True)
    status = enum_out(ATTENDANCE_STATUSES)
    late_minutes = ma.fields.Integer()


class AttendanceList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AttendanceRow))


class SwapIn(ma.Schema):
    entry_id = ma.fields.String(required=True, validate=ID, metadata={"description": "one's own rota entry"})
    with_position_id = ma.fields.String(required=True, validate=ID, metadata={"description": "who takes it"})
    reason = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=500))


class SwapArgs(PageArgs):
    community_id = ma.fields.String(required=True, validate=ID)
    status = ma.fields.String(validate=ma.validate.OneOf(SWAP_STATUSES))


class SwapOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    entry_id = ma.fields.String()
    position_id = ma.fields.String()
    display_name = ma.fields.String()
    with_position_id = ma.fields.String()
    with_name = ma.fields.String()
    day = ma.fields.Date()
    shift_name = ma.fields.String()
    starts_at = UtcDateTime()
    ends_at = UtcDateTime()
    reason = ma.fields.String(allow_none=True)
    status = enum_out(SWAP_STATUSES)
    decided_by = ma.fields.String(allow_none=True)
    decided_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()


SwapPage = page_schema(SwapOut, "SwapPage")
QUARTER = r"^\d{4}-Q[1-4]$"


class PlanItemIn(ma.Schema):
    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    owner_id = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ID,
        metadata={"description": "the owner's post (default: the plan's)"},
    )
    due_on = ma.fields.Date(required=True)


class PlanIn(ma.Schema):
    scope = ma.fields.String(
        load_default="person",
        validate=ma.validate.OneOf(PLAN_SCOPES),
        metadata={"description": "a person's plan (default), a zone's or the community's"},
    )
    position_id = ma.fields.String(validate=ID, metadata={"description": "whose plan (scope person: required)"})
    community_id = ma.fields.String(validate=ID, metadata={"description": "scope zone or community: required"})
    zone_id = ma.fields.String(validate=ID, metadata={"description": "scope zone: the zone (片区), required"})
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(PLAN_KINDS))
    period = ma.fields.String(required=True, metadata={"description": "2026-11 (monthly) or 2026-Q4 (quarterly)"})
    items = ma.fields.List(ma.fields.Nested(PlanItemIn), load_default=list, validate=ma.validate.Length(max=100))

    @ma.validates_schema
    def period_of_kind(self, data, **kwargs):
        import re

        pattern = QUARTER if data.get("kind") == "quarterly" else r"^\d{4}-(0[1-9]|1[0-2])$"
        if data.get("kind") and not re.match(pattern, data.get("period") or ""):
            raise ma.ValidationError("a month like 2026-11, a quarter like 2026-Q4", "period")


class PlanArgs(PageArgs):
    community_id = ma.fields.String(required=True, validate=ID)
    scope = ma.fields.String(validate=ma.validate.OneOf(PLAN_SCOPES))
    position_id = ma.fields.String(validate=ID)
    zone_id = ma.fields.String(validate=ID)
    kind = ma.fields.String(validate=ma.validate.OneOf(PLAN_KINDS))
    period = ma.fields.String(validate=ma.validate.Length(max=7))


class ItemStatusIn(ma.Schema):
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(ITEM_STATUSES))


class SummaryIn(ma.Schema):
    text = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=5000))


class PlanReviewIn(ma.Schema):
    text = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))


class PlanItemOut(ma.Schema):
    id = ma.fields.String()
    title = ma.fields.String()
    owner_id = ma.fields.String(attribute="owner_position_id")
    owner_name = ma.fields.String()
    due_on = ma.fields.Date()
    status = enum_out(ITEM_STATUSES)


class PlanOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    scope = enum_out(PLAN_SCOPES)
    zone_id = ma.fields.String(allow_none=True, metadata={"description": "scope zone: the zone"})
    position_id = ma.fields.String(allow_none=True, metadata={"description": "scope person: the post"})
    user_id = ma.fields.String(allow_none=True)
    display_name = ma.fields.String()
    kind = enum_out(PLAN_KINDS)
    period = ma.fields.String()
    items = ma.fields.List(ma.fields.Nested(PlanItemOut), attribute="item_list")
    summary = ma.fields.String(allow_none=True)
    figures = ma.fields.Dict(
        allow_none=True,
        metadata={
            "description": "the period's measured figures of the plan's scope as the scorecard names them, with the "
            "counts behind the ratios (a quarter: its months combined), pulled with the summary"
        },
    )
    summarised_at = UtcDateTime(allow_none=True)
    review = ma.fields.String(allow_none=True)
    reviewed_by = ma.fields.String(allow_none=True)
    reviewed_by_name = ma.fields.String(allow_none=True)
    reviewed_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()


PlanPage = page_schema(PlanOut, "PlanPage")


class ActionItemIn(TaskIn):
    """An action item of a meeting: handed down as a task (TaskIn's fields and rules)."""


class MeetingIn(ma.Schema):
    community_id = ma.fields.String(required=True, validate=ID)
    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    held_on = ma.fields.Date(required=True)
    attendee_ids = ma.fields.List(
        ma.fields.String(validate=ID),
        load_default=list,
        validate=ma.validate.Length(max=200),
        metadata={"description": "the attendees' posts"},
    )
    minutes = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=20000))
    action_items = ma.fields.List(
        ma.fields.Nested(ActionItemIn), load_default=list, validate=ma.validate.Length(max=50)
    )


class PersonRef(ma.Schema):
    id = ma.fields.String(metadata={"description": "the post"})
    name = ma.fields.String()


class ActionItemOut(ma.Schema):
    task_id = ma.fields.String()
    title = ma.fields.String()
    position_id = ma.fields.String()
    assignee_name = ma.fields.String(allow_none=True)
    due_at = UtcDateTime()
    status = enum_out(TASK_STATUSES)


class MeetingOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    title = ma.fields.String()
    held_on = ma.fields.Date()
    attendees = ma.fields.List(ma.fields.Nested(PersonRef))
    minutes = ma.fields.String(allow_none=True)
    action_items = ma.fields.List(ma.fields.Nested(ActionItemOut))
    created_by = ma.fields.String()
    created_at = UtcDateTime()


MeetingPage = page_schema(MeetingOut, "MeetingPage")


class TrainingIn(ma.Schema):
    community_id = ma.fields.String(required=True, validate=ID)
    topic = ma.fields.String(
        required=True, validate=ma.validate.Length(min=1, max=200), metadata={"example": "百问百答"}
    )
    held_on = ma.fields.Date(required=True)
    attendee_ids = ma.fields.List(
        ma.fields.String(validate=ID), required=True, validate=ma.validate.Length(min=1, max=200)
    )


class TrainingArgs(PageArgs):
    community_id = ma.fields.String(required=True, validate=ID)
    topic = ma.fields.String(validate=ma.validate.Length(max=200))


class CompletionIn(ma.Schema):
    position_id = ma.fields.String(required=True, validate=ID)
    completed = ma.fields.Boolean(load_default=True)


class AttendeeOut(PersonRef):
    completed = ma.fields.Boolean()
    completed_at = UtcDateTime(allow_none=True)


class TrainingOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    topic = ma.fields.String()
    held_on = ma.fields.Date()
    attendees = ma.fields.List(ma.fields.Nested(AttendeeOut))
    created_by = ma.fields.String()
    created_at = UtcDateTime()


TrainingPage = page_schema(TrainingOut, "TrainingPage")


class IssueIn(ma.Schema):
    position_id = ma.fields.String(required=True, validate=ID, metadata={"description": "to whom"})
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100), metadata={"example": "对讲机"})
    quantity = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=1000))
    issued_on = ma.fields.Date(required=True)
    note = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=500))


class ReturnIn(ma.Schema):
    returned_on = ma.fields.Date(required=True)


class IssuedArgs(PageArgs):
    community_id = ma.fields.String(required=True, validate=ID)
    position_id = ma.fields.String(validate=ID)
    outstanding = ma.fields.Boolean(metadata={"description": "true: not returned yet; false: returned"})


class IssuedOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    position_id = ma.fields.String()
    holder_name = ma.fields.String()
    name = ma.fields.String()
    quantity = ma.fields.Integer()
    issued_on = ma.fields.Date()
    returned_on = ma.fields.Date(allow_none=True)
    note = ma.fields.String(allow_none=True)
    issued_by = ma.fields.String()
    created_at = UtcDateTime()


IssuedPage = page_schema(IssuedOut, "IssuedPage")
