"""HTTP API of the staff service: load → call domain → dump; no rules here."""

from __future__ import annotations

from flask import Response, current_app

from guanjia import web
from guanjia.web import Blueprint
from guanjia.workbook import XLSX_TYPE

from . import display
from .domain import attendance, leaves, organisation, rotas, scorecards, tasks
from .domain.payrule import grade_change
from .schemas import (
    AttendanceArgs,
    AttendanceList,
    ClockArgs,
    ClockIn,
    ClockOut,
    ClockState,
    CommunityArgs,
    DecisionIn,
    DepartmentArgs,
    DepartmentIn,
    DepartmentList,
    DepartmentOut,
    LeaveArgs,
    LeaveIn,
    LeaveOut,
    LeavePage,
    PayRuleArgs,
    PayRuleOut,
    PositionIn,
    PositionList,
    PositionOut,
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
    SwapArgs,
    SwapIn,
    SwapOut,
    SwapPage,
    TaskArgs,
    TaskIn,
    TaskOut,
    TaskPage,
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
    with web.database().transaction() as session:
        position = scorecards.position_for_scorecard(session, web.principal(), data["position_id"])
        card = scorecards.measure(
            session, web.principal(), position, data["month"], month_figures, period_figures, period, rule, web.now()
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
