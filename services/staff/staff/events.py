"""Events the staff service publishes: their type names and payload schemas (the contract)."""

import marshmallow as ma

ABSENCE_STARTED = "staff.absence_started"
ABSENCE_ENDED = "staff.absence_ended"
TASK_OVERDUE = "task.overdue"
TASK_DUE_SOON = "task.due_soon"
ROTA_UNDERSTAFFED = "staff.rota_understaffed"


class AbsenceStartedV1(ma.Schema):
    """staff.absence_started v1 — an approved leave began: the absent person and their stand-in, by gateway user
    id, and the period (UTC). Others follow it: residents widens the stand-in's zones, tickets routes to them."""

    absence_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    user_id = ma.fields.String(required=True)
    stand_in_id = ma.fields.String(required=True)
    starts_at = ma.fields.String(required=True)
    ends_at = ma.fields.String(required=True)


class AbsenceEndedV1(AbsenceStartedV1):
    """staff.absence_ended v1 — the leave is over: the stand-in's cover ends."""


class TaskOverdueV1(ma.Schema):
    """task.overdue v1 — a task handed down is past its due date and still open: the assigner escalates."""

    task_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    assignee_id = ma.fields.String(required=True)
    assigner_id = ma.fields.String(required=True)
    due_at = ma.fields.String(required=True)


class TaskDueSoonV1(TaskOverdueV1):
    """task.due_soon v1 — an open task handed down falls due within the reminder's lead (24 hours): the assignee is
    reminded, once."""


class RotaUnderstaffedV1(ma.Schema):
    """staff.rota_understaffed v1 — a department's weekly rota was saved with shifts below their minimum staffing:
    how many day × shift slots are short (the week by its Monday, a local date)."""

    community_id = ma.fields.String(required=True)
    department_id = ma.fields.String(required=True)
    week = ma.fields.String(required=True)
    gaps = ma.fields.Integer(required=True)


PUBLISHED = {
    ABSENCE_STARTED: AbsenceStartedV1,
    ABSENCE_ENDED: AbsenceEndedV1,
    TASK_OVERDUE: TaskOverdueV1,
    TASK_DUE_SOON: TaskDueSoonV1,
    ROTA_UNDERSTAFFED: RotaUnderstaffedV1,
}
