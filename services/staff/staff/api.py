"""HTTP API of the staff service: load → call domain → dump; no rules here."""

from __future__ import annotations

from flask import current_app

from guanjia import web
from guanjia.web import Blueprint

from . import display, domain
from .payrule import grade_change
from .schemas import (
    CommunityArgs,
    DecisionIn,
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
)

blp = Blueprint("staff", __name__, url_prefix="/api/v1/staff", description="Departments, positions, leave")


def now():
    """The app's clock (a plain UTC clock; tests may hand create_app another)."""
    return current_app.extensions["staff.clock"]()


@blp.route("/departments", methods=["POST"])
@blp.arguments(DepartmentIn)
@blp.response(201, DepartmentOut)
def create_department(data):
    """A department of a community (客服, 工程, 秩序安管, 保洁, 绿化); the community's manager sets them up."""
    with web.database().transaction() as session:
        return domain.create_department(session, web.principal(), data, now())


@blp.route("/departments", methods=["GET"])
@blp.arguments(CommunityArgs, location="query")
@blp.response(200, DepartmentList)
def list_departments(args):
    with web.database().transaction() as session:
        query = domain.list_departments(web.principal(), args["community_id"])
        return web.paginate(session, query, args["page"], args["page_size"])


@blp.route("/positions", methods=["POST"])
@blp.arguments(PositionIn)
@blp.response(201, PositionOut)
def create_position(data):
    """Fill a post: its department, title, holder (a gateway user id) and the post it reports to."""
    with web.database().transaction() as session:
        return domain.create_position(session, web.principal(), data, now())


@blp.route("/positions", methods=["GET"])
@blp.arguments(CommunityArgs, location="query")
@blp.response(200, PositionList)
def list_positions(args):
    """The community's posts the caller may see: a manager all, a senior butler their team, others their own."""
    with web.database().transaction() as session:
        query = domain.list_positions(session, web.principal(), args["community_id"])
        return web.paginate(session, query, args["page"], args["page_size"])


@blp.route("/positions/<position_id>", methods=["GET"])
@blp.response(200, PositionOut)
def get_position(position_id):
    with web.database().transaction() as session:
        return domain.get_position(session, web.principal(), position_id)


@blp.route("/leaves", methods=["POST"])
@blp.arguments(LeaveIn)
@blp.response(201, LeaveOut)
def file_leave(data):
    """请假: a leave request with a stand-in (代岗), decided by the superior. Refused when it overlaps one's own
    leave or when the stand-in is on leave then."""
    with web.database().transaction() as session:
        leave = domain.file_leave(session, web.settings(), web.principal(), data, now())
        session.flush()
        return display.leaves(session, leave)


@blp.route("/leaves", methods=["GET"])
@blp.arguments(LeaveArgs, location="query")
@blp.response(200, LeavePage)
def list_leaves(args):
    """Leave the caller may see, latest first: their own and those they stand in for, a senior butler their team's,
    a manager their community's."""
    with web.database().transaction() as session:
        query = domain.visible_leaves(session, web.principal(), args)
        return display.leaves(session, web.paginate(session, query, args["page"], args["page_size"]))


@blp.route("/leaves/<leave_id>", methods=["GET"])
@blp.response(200, LeaveOut)
def get_leave(leave_id):
    with web.database().transaction() as session:
        return display.leaves(session, domain.get_leave(session, web.principal(), leave_id))


def _decision(approve: bool, doc: str):
    def decide(data, leave_id):
        with web.database().transaction() as session:
            leave = domain.decide_leave(
                session, web.settings(), web.principal(), leave_id, approve, data.get("note"), now()
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
        return display.leaves(session, domain.cancel_leave(session, web.principal(), leave_id, now()))


@blp.route("/pay-rule", methods=["GET"])
@blp.arguments(PayRuleArgs, location="query")
@blp.response(200, PayRuleOut)
def pay_rule(args):
    """收费率与工资挂钩: the instance's rule; with collection_rate, the grade change it gives for a period."""
    rule = current_app.extensions["staff.settings"].pay_rule
    rate = args.get("collection_rate")
    return {**vars(rule), "grade_change": grade_change(rate, rule) if rate is not None else None}
