"""HTTP API of the staff service: load → call domain → dump; no rules here."""

from __future__ import annotations

from flask import Response, current_app

from guanjia import web
from guanjia.web import Blueprint
from guanjia.workbook import XLSX_TYPE

from . import display
from .domain import attendance, leaves, meetings, organisation, plans, rotas, scorecards, tasks, training
from .domain.payrule import grade_change
from .domain.plan_figures import quarter_months
from .schemas import (
    AttendanceArgs,
    AttendanceList,
    ClockArgs,
    ClockIn,
    ClockOut,
    ClockState,
    CommunityArgs,
    CompletionIn,
    DecisionIn,
    DepartmentArgs,
    DepartmentIn,
    DepartmentList,
    DepartmentOut,
    IssuedArgs,
    IssuedOut,
    IssuedPage,
    IssueIn,
    ItemStatusIn,
    LeaveArgs,
    LeaveIn,
    LeaveOut,
    LeavePage,
    MeetingIn,
    MeetingOut,
    MeetingPage,
    PayRuleArgs,
    PayRuleOut,
    PlanArgs,
    PlanIn,
    PlanItemIn,
    PlanOut,
    PlanPage,
    PlanReviewIn,
    PositionIn,
    PositionList,
    PositionOut,
    ReturnIn,
    ReviewIn,
    RotaArgs,
    RotaIn,
    RotaOut,
    ScorecardArgs,
    ScorecardIn,
    ScorecardOut,
    ScorecardPage,
    ShiftTemplateIn,
    ShiftTemplateList,
    ShiftTemplateOut,
    SummaryIn,
    SwapArgs,
    SwapIn,
    SwapOut,
    SwapPage,
    TaskArgs,
    TaskIn,
    TaskOut,
    TaskPage,
    TrainingArgs,
    TrainingIn,
    TrainingOut,
    TrainingPage,
)

blp = Blueprint(
    "staff",
    __name__,
    url_prefix="/api/v1/staff",
    description="Departments, positions, leave, rotas and attendance, tasks",
)


@blp.route("/departments", methods=["POST"])
@blp.arguments(DepartmentIn)
@blp.response(201, DepartmentOut)
def create_department(data):
    """A department of a community (客服, 工程, 秩序安管, 保洁, 绿化); the community's manager sets them up."""
    with web.database().transaction() as session:
        return organisation.create_department(session, web.principal(), data, web.now())


@blp.route("/departments", methods=["GET"])
@blp.arguments(CommunityArgs, location="query")
@blp.response(200, DepartmentList)
def list_departments(args):
    with web.database().transaction() as session:
        query = organisation.list_departments(web.principal(), args["community_id"])
        return web.paginate(session, query, args["page"], args["page_size"])


@blp.route("/positions", methods=["POST"])
@blp.arguments(PositionIn)
@blp.response(201, PositionOut)
def create_position(data):
    """Fill a post: its department, title, holder (a gateway user id) and the post it reports to."""
    with web.database().transaction() as session:
        return organisation.create_position(session, web.principal(), data, web.now())


@blp.route("/positions", methods=["GET"])
@blp.arguments(CommunityArgs, location="query")
@blp.response(200, PositionList)
def list_positions(args):
    """The community's organisation chart (every member of staff of the community sees it)."""
    with web.database().transaction() as session:
        query = organisation.list_positions(session, web.principal(), args["community_id"])
        return web.paginate(session, query, args["page"], args["page_size"])


@blp.route("/positions/<position_id>", methods=["GET"])
@blp.response(200, PositionOut)
def get_position(position_id):
    with web.database().transaction() as session:
        return organisation.get_position(session, web.principal(), position_id)


@blp.route("/leaves", methods=["POST"])
@blp.arguments(LeaveIn)
@blp.response(201, LeaveOut)
def file_leave(data):
    """请假: a leave request with a stand-in (代岗), decided by the superior. Refused when it overlaps one's own
    leave or when the stand-in is on leave then."""
    with web.database().transaction() as session:
        leave = leaves.file_leave(session, web.settings(), web.principal(), data, web.now())
        session.flush()
        return display.leaves(session, leave)


@blp.route("/leaves", methods=["GET"])
@blp.arguments(LeaveArgs, location="query")
@blp.response(200, LeavePage)
def list_leaves(args):
    """Leave the caller may see, latest first: their own and those they stand in for, a senior butler their team's,
    a manager their community's."""
    with web.database().transaction() as session:
        query = leaves.visible_leaves(session, web.principal(), args)
        return display.leaves(session, web.paginate(session, query, args["page"], args["page_size"]))


@blp.route("/leaves/<leave_id>", methods=["GET"])
@blp.response(200, LeaveOut)
def get_leave(leave_id):
    with web.database().transaction() as session:
        return display.leaves(session, leaves.get_leave(session, web.principal(), leave_id))


def _decision(approve: bool, doc: str):
    def decide(data, leave_id):
        with web.database().transaction() as session:
            leave = leaves.decide_leave(
                session, web.settings(), web.principal(), leave_id, approve, data.get("note"), web.now()
            )
            return display.leaves(session, leave)

    decide.__doc__ = doc  # set before the decorators read it into the OpenAPI summary
    decide.__name__ = "approve_leave" if approve else "reject_leave"
    return decide


for _action, _approve, _doc in (
    ("approve", True, "The superior approves: the stand-in covers from the start (staff.absence_started)."),
    ("reject", False, "The superior turns the request down."),
):
    blp.route(f"/leaves/<leave_id>/{_action}", methods=["POST"])(
        blp.arguments(DecisionIn)(blp.response(200, LeaveOut)(_decision(_approve, _doc)))
    )


@blp.route("/leaves/<leave_id>/cancel", methods=["POST"])
@blp.response(200, LeaveOut)
def cancel_leave(leave_id):
    """Withdraw a leave that has not begun."""
    with web.database().transaction() as session:
        return display.leaves(session, leaves.cancel_leave(session, web.principal(), leave_id, web.now()))


@blp.route("/pay-rule", methods=["GET"])
@blp.arguments(PayRuleArgs, location="query")
@blp.response(200, PayRuleOut)
def pay_rule(args):
    """收费率与工资挂钩: the instance's rule; with collection_rate, the grade change it gives for a period."""
    rule = current_app.extensions["staff.settings"].pay_rule
    rate = args.get("collection_rate")
    return {**vars(rule), "grade_change": grade_change(rate, rule) if rate is not None else None}


@blp.route("/scorecards", methods=["POST"])
@blp.arguments(ScorecardIn)
@blp.response(201, ScorecardOut)
def measure_scorecard(data):
    """月度考核: draw up (or refresh) a post's scorecard for a month from billing's collection figures, with the
    grade change the pay rule gives for the period the month lies in. The superior or the manager draws it up."""
    rule, billing = current_app.extensions["staff.settings"].pay_rule, current_app.extensions["staff.billing"]
    with web.database().transaction() as session:
        position = scorecards.position_for_scorecard(session, web.principal(), data["position_id"])
        community_id = position.community_id
    # Billing is asked outside the database transaction, once per period (grouped by butler).
    period = scorecards.pay_period(data["month"], rule)
    month_figures = scorecards.butler_figures(billing, community_id, data["month"])
    period_figures = scorecards.butler_figures(billing, community_id, period)
    services = scorecards.service_figures(
        current_app.extensions["staff.tickets"], current_app.extensions["staff.residents"], community_id, data["month"]
    )
    with web.database().transaction() as session:
        position = scorecards.position_for_scorecard(session, web.principal(), data["position_id"])
        card = scorecards.measure(
            session,
            web.principal(),
            position,
            data["month"],
            month_figures,
            period_figures,
            period,
            rule,
            web.now(),
            services,
        )
        session.flush()
        return scorecards.with_names(session, [card])[0]


@blp.route("/scorecards", methods=["GET"])
@blp.arguments(ScorecardArgs, location="query")
@blp.response(200, ScorecardPage)
def list_scorecards(args):
    """Scorecards, newest month first: one's own, a senior butler the team's, a manager the community's; history
    per person with position_id. format=xlsx gives the workbook."""
    with web.database().transaction() as session:
        query = scorecards.visible_scorecards(session, web.principal(), args)
        if args["format"] == "xlsx":
            cards = scorecards.with_names(session, list(session.execute(query).scalars()))
            body = scorecards.to_xlsx(cards, web.settings().timezone)
            return Response(
                body,
                mimetype=XLSX_TYPE,
                headers={"Content-Disposition": f'attachment; filename="scorecards-{args.get("month") or "all"}.xlsx"'},
            )
        page = web.paginate(session, query, args["page"], args["page_size"])
        page["items"] = scorecards.with_names(session, page["items"])
        return page


@blp.route("/scorecards/<scorecard_id>", methods=["GET"])
@blp.response(200, ScorecardOut)
def get_scorecard(scorecard_id):
    with web.database().transaction() as session:
        return scorecards.with_names(session, [scorecards.get_scorecard(session, web.principal(), scorecard_id)])[0]


@blp.route("/scorecards/<scorecard_id>/review", methods=["POST"])
@blp.arguments(ReviewIn)
@blp.response(200, ScorecardOut)
def review_scorecard(data, scorecard_id):
    """The superior's score (0–100) and comments on the month."""
    with web.database().transaction() as session:
        card = scorecards.review(session, web.principal(), scorecard_id, data["score"], data.get("comment"), web.now())
        return scorecards.with_names(session, [card])[0]


@blp.route("/tasks", methods=["POST"])
@blp.arguments(TaskIn)
@blp.response(201, TaskOut)
def hand_down_task(data):
    """领导交办: hand a task to a post below one's own (a manager: any post of the community), due by `due_at`."""
    with web.database().transaction() as session:
        return tasks.hand_down(session, web.principal(), data, web.now())


@blp.route("/tasks", methods=["GET"])
@blp.arguments(TaskArgs, location="query")
@blp.response(200, TaskPage)
def list_tasks(args):
    """One's own tasks and those one handed down, soonest due first; a senior butler the team's, a manager all."""
    with web.database().transaction() as session:
        query = tasks.visible_tasks(session, web.principal(), args)
        return web.paginate(session, query, args["page"], args["page_size"])


@blp.route("/tasks/<task_id>", methods=["GET"])
@blp.response(200, TaskOut)
def get_task(task_id):
    with web.database().transaction() as session:
        return tasks.get_task(session, web.principal(), task_id)


@blp.route("/tasks/<task_id>/complete", methods=["POST"])
@blp.response(200, TaskOut)
def complete_task(task_id):
    """The assignee reports the task done."""
    with web.database().transaction() as session:
        return tasks.complete(session, web.principal(), task_id, web.now())


# --- rotas, swaps and attendance ------------------------------------------------------------------------------------


@blp.route("/shift-templates", methods=["POST"])
@blp.arguments(ShiftTemplateIn)
@blp.response(201, ShiftTemplateOut)
def create_shift_template(data):
    """A shift of a department (name, local start and end — ending at or before its start: the next day — and the
    minimum staffing); its senior butler or the community's manager sets it up."""
    with web.database().transaction() as session:
        return rotas.create_template(session, web.principal(), data, web.now())


@blp.route("/shift-templates", methods=["GET"])
@blp.arguments(DepartmentArgs, location="query")
@blp.response(200, ShiftTemplateList)
def list_shift_templates(args):
    with web.database().transaction() as session:
        return {"items": rotas.list_templates(session, web.principal(), args["department_id"])}


@blp.route("/rotas", methods=["POST"])
@blp.arguments(RotaIn)
@blp.response(200, RotaOut)
def save_rota(data):
    """排班: draw up (replace) a department's week — person × day × shift; the answer flags the shifts below their
    minimum staffing (and staff.rota_understaffed goes out)."""
    with web.database().transaction() as session:
        rota = rotas.save_week(session, web.settings(), web.principal(), data, web.now())
        rota["editable"] = True
        return rota


@blp.route("/rotas", methods=["GET"])
@blp.arguments(RotaArgs, location="query")
@blp.response(200, RotaOut)
def get_rota(args):
    """A department's week with its gaps: for its members and the community's manager."""
    with web.database().transaction() as session:
        return rotas.get_week(session, web.principal(), args["department_id"], args["week"])


@blp.route("/swaps", methods=["POST"])
@blp.arguments(SwapIn)
@blp.response(201, SwapOut)
def request_swap(data):
    """换班: hand one's own shift (not yet begun) to a colleague of the department; the superior approves."""
    with web.database().transaction() as session:
        swap = rotas.request_swap(session, web.settings(), web.principal(), data, web.now())
        session.flush()
        return rotas.with_details(session, web.settings(), [swap])[0]


@blp.route("/swaps", methods=["GET"])
@blp.arguments(SwapArgs, location="query")
@blp.response(200, SwapPage)
def list_swaps(args):
    """Swaps one asked for or takes over; a senior butler the team's; a manager the community's; latest first."""
    with web.database().transaction() as session:
        page = web.paginate(
            session, rotas.visible_swaps(session, web.principal(), args), args["page"], args["page_size"]
        )
        page["items"] = rotas.with_details(session, web.settings(), page["items"])
        return page


@blp.route("/swaps/<swap_id>", methods=["GET"])
@blp.response(200, SwapOut)
def get_swap(swap_id):
    with web.database().transaction() as session:
        return rotas.with_details(session, web.settings(), [rotas.get_swap(session, web.principal(), swap_id)])[0]


def _swap_decision(approve: bool, doc: str):
    def decide(swap_id):
        with web.database().transaction() as session:
            swap = rotas.decide_swap(session, web.principal(), swap_id, approve, web.now())
            return rotas.with_details(session, web.settings(), [swap])[0]

    decide.__doc__ = doc
    decide.__name__ = "approve_swap" if approve else "reject_swap"
    return decide


for _action, _approve, _doc in (
    ("approve", True, "The superior approves: the shift is the colleague's."),
    ("reject", False, "The superior turns the swap down."),
):
    blp.route(f"/swaps/<swap_id>/{_action}", methods=["POST"])(
        blp.response(200, SwapOut)(_swap_decision(_approve, _doc))
    )


@blp.route("/attendance/clock-in", methods=["POST"])
@blp.arguments(ClockIn)
@blp.response(201, ClockOut)
def clock_in(data):
    """打卡上班 from the workbench (no GPS); once until the clock-out."""
    with web.database().transaction() as session:
        return attendance.clock_in(session, web.settings(), web.principal(), data["position_id"], web.now())


@blp.route("/attendance/clock-out", methods=["POST"])
@blp.arguments(ClockIn)
@blp.response(200, ClockOut)
def clock_out(data):
    """打卡下班: closes the open clock-in (409 without one)."""
    with web.database().transaction() as session:
        return attendance.clock_out(session, web.principal(), data["position_id"], web.now())


@blp.route("/attendance/clock", methods=["GET"])
@blp.arguments(ClockArgs, location="query")
@blp.response(200, ClockState)
def clock_state(args):
    """Whether the caller is clocked in in the community, and since when."""
    with web.database().transaction() as session:
        record = attendance.current_record(session, web.principal(), args["community_id"])
        return {"clocked_in": record is not None, "record": record}


@blp.route("/attendance", methods=["GET"])
@blp.arguments(AttendanceArgs, location="query")
@blp.response(200, AttendanceList)
def list_attendance(args):
    """考勤: every rostered shift of a month (or from/to) with its clock-in and outcome — present, late, absent, on
    leave; one's own, a senior butler the team's, a manager the community's. format=xlsx gives the monthly sheet."""
    settings = web.settings()
    with web.database().transaction() as session:
        found = attendance.rows(session, settings, web.principal(), args, web.now())
    if args["format"] == "xlsx":
        name = args.get("month") or f"{args.get('day_from')}-{args.get('day_to')}"
        return Response(
            attendance.to_xlsx(found, settings.timezone),
            mimetype=XLSX_TYPE,
            headers={"Content-Disposition": f'attachment; filename="attendance-{name}.xlsx"'},
        )
    return {"items": found}


def _plan(session, plan):
    return plans.with_details(session, [plan])[0]


@blp.route("/plans", methods=["POST"])
@blp.arguments(PlanIn)
@blp.response(201, PlanOut)
def create_plan(data):
    """工作计划: a monthly (2026-11) or quarterly (2026-Q4) plan with its items (title, owner's post, due date) of a
    person (by the person, their superior or the manager), a zone (senior butlers, the manager) or the community
    (the manager); one per target and period."""
    principal, zones = web.principal(), None
    if data.get("scope") == "zone" and data.get("zone_id") and principal.sees_community(data.get("community_id")):
        # The zone is residents': asked before the transaction, checked by the domain.
        month = data["period"] if data["kind"] == "monthly" else quarter_months(data["period"])[0]
        zones = scorecards.community_zones(current_app.extensions["staff.residents"], data["community_id"], month)
    with web.database().transaction() as session:
        plan = plans.create_plan(session, principal, data, web.now(), zones)
        session.flush()
        return _plan(session, plan)


@blp.route("/plans", methods=["GET"])
@blp.arguments(PlanArgs, location="query")
@blp.response(200, PlanPage)
def list_plans(args):
    """Plans one may see, latest period first: one's own, a senior butler the team's, a manager the community's."""
    with web.database().transaction() as session:
        page = web.paginate(
            session, plans.visible_plans(session, web.principal(), args), args["page"], args["page_size"]
        )
        page["items"] = plans.with_details(session, page["items"])
        return page


@blp.route("/plans/<plan_id>", methods=["GET"])
@blp.response(200, PlanOut)
def get_plan(plan_id):
    with web.database().transaction() as session:
        return _plan(session, plans.get_plan(session, web.principal(), plan_id))


@blp.route("/plans/<plan_id>/items", methods=["POST"])
@blp.arguments(PlanItemIn)
@blp.response(201, PlanOut)
def add_plan_item(data, plan_id):
    with web.database().transaction() as session:
        plan = plans.add_item(session, web.principal(), plan_id, data, web.now())
        session.flush()
        return _plan(session, plan)


@blp.route("/plans/<plan_id>/items/<item_id>/status", methods=["POST"])
@blp.arguments(ItemStatusIn)
@blp.response(200, PlanOut)
def set_plan_item_status(data, plan_id, item_id):
    """An item open, done or dropped."""
    with web.database().transaction() as session:
        return _plan(session, plans.set_item_status(session, web.principal(), plan_id, item_id, data["status"]))


@blp.route("/plans/<plan_id>/summary", methods=["POST"])
@blp.arguments(SummaryIn)
@blp.response(200, PlanOut)
def summarise_plan(data, plan_id):
    """月末总结: the holder's text beside the period's measured figures of the plan's scope — a person's, the zone's
    or the community's (the scorecard's calls: billing's, tickets', residents', over their APIs); a quarterly
    plan's figures combine its three months (counts summed, ratios from the sums). Rewritable until reviewed
    (then 409)."""
    extensions = current_app.extensions
    with web.database().transaction() as session:
        plan, months = plans.summary_months(session, web.principal(), plan_id)
        scope, community_id = plan.scope, plan.community_id
        key = {"person": plan.user_id, "zone": plan.zone_id, "community": plan.community_id}[scope]
    clients = (extensions["staff.billing"], extensions["staff.tickets"], extensions["staff.residents"])
    figures = scorecards.plan_figures(*clients, scope, community_id, key, months)
    with web.database().transaction() as session:
        plan = plans.summarise(session, web.principal(), plan_id, data["text"], figures, web.now())
        return _plan(session, plan)


@blp.route("/plans/<plan_id>/review", methods=["POST"])
@blp.arguments(PlanReviewIn)
@blp.response(200, PlanOut)
def review_plan(data, plan_id):
    """The superior's (or the manager's) review and comments on the summary."""
    with web.database().transaction() as session:
        return _plan(session, plans.review(session, web.principal(), plan_id, data["text"], web.now()))


@blp.route("/meetings", methods=["POST"])
@blp.arguments(MeetingIn)
@blp.response(201, MeetingOut)
def hold_meeting(data):
    """例会: date, attendees (posts), minutes; each action item becomes a task handed down (the tasks' rules: to a
    post below the chair's, due in the future; refused naming `action_items.N.<field>`, nothing written)."""
    with web.database().transaction() as session:
        meeting = meetings.hold(session, web.principal(), data, web.now())
        session.flush()
        return meetings.with_details(session, [meeting])[0]


@blp.route("/meetings", methods=["GET"])
@blp.arguments(CommunityArgs, location="query")
@blp.response(200, MeetingPage)
def list_meetings(args):
    """Latest first: a manager the community's; others those they chaired, attended, or their team attended."""
    with web.database().transaction() as session:
        query = meetings.visible_meetings(session, web.principal(), args)
        page = web.paginate(session, query, args["page"], args["page_size"])
        page["items"] = meetings.with_details(session, page["items"])
        return page


@blp.route("/meetings/<meeting_id>", methods=["GET"])
@blp.response(200, MeetingOut)
def get_meeting(meeting_id):
    with web.database().transaction() as session:
        return meetings.with_details(session, [meetings.get_meeting(session, web.principal(), meeting_id)])[0]


@blp.route("/trainings", methods=["POST"])
@blp.arguments(TrainingIn)
@blp.response(201, TrainingOut)
def record_training(data):
    """A training session (topic, e.g. 百问百答; date; attendees' posts) — by a senior butler for the team or a
    manager."""
    with web.database().transaction() as session:
        principal = web.principal()
        found = training.record_training(session, principal, data, web.now())
        session.flush()
        return training.trainings_with_attendees(session, principal, [found])[0]


@blp.route("/trainings", methods=["GET"])
@blp.arguments(TrainingArgs, location="query")
@blp.response(200, TrainingPage)
def list_trainings(args):
    """Latest first: a manager the community's; others those they gave or they (or their team) attended."""
    with web.database().transaction() as session:
        principal = web.principal()
        query = training.visible_trainings(session, principal, args)
        page = web.paginate(session, query, args["page"], args["page_size"])
        page["items"] = training.trainings_with_attendees(session, principal, page["items"])
        return page


@blp.route("/trainings/<training_id>", methods=["GET"])
@blp.response(200, TrainingOut)
def get_training(training_id):
    with web.database().transaction() as session:
        principal = web.principal()
        found = training.get_training(session, principal, training_id)
        return training.trainings_with_attendees(session, principal, [found])[0]


@blp.route("/trainings/<training_id>/completion", methods=["POST"])
@blp.arguments(CompletionIn)
@blp.response(200, TrainingOut)
def mark_training_completed(data, training_id):
    """Whether an attendee completed the session."""
    with web.database().transaction() as session:
        principal = web.principal()
        found = training.mark_completed(
            session, principal, training_id, data["position_id"], data["completed"], web.now()
        )
        return training.trainings_with_attendees(session, principal, [found])[0]


@blp.route("/issued-items", methods=["POST"])
@blp.arguments(IssueIn)
@blp.response(201, IssuedOut)
def issue_item(data):
    """配发工具物品: a tool or item issued to a post (a senior butler's team, any post for a manager)."""
    with web.database().transaction() as session:
        item = training.issue(session, web.principal(), data, web.now())
        session.flush()
        return training.items_with_names(session, [item])[0]


@blp.route("/issued-items", methods=["GET"])
@blp.arguments(IssuedArgs, location="query")
@blp.response(200, IssuedPage)
def list_issued_items(args):
    """One's own, a senior butler the team's, a manager the community's; outstanding first."""
    with web.database().transaction() as session:
        query = training.visible_items(session, web.principal(), args)
        page = web.paginate(session, query, args["page"], args["page_size"])
        page["items"] = training.items_with_names(session, page["items"])
        return page


@blp.route("/issued-items/<item_id>/return", methods=["POST"])
@blp.arguments(ReturnIn)
@blp.response(200, IssuedOut)
def return_issued_item(data, item_id):
    """The item came back (409 if it already had)."""
    with web.database().transaction() as session:
        item = training.return_item(session, web.principal(), item_id, data["returned_on"])
        return training.items_with_names(session, [item])[0]
