"""领导交办 (tasks handed down): a superior hands a task to a post below their own with a due time and follows it;
the assignee completes it; an overdue task shows red. Who may hand to whom is the staff API's (a refusal is shown
under its field)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import client
from .common import items, me
from .forms import attempt, chosen_community, local_instant, q

bp = Blueprint("tasks", __name__, url_prefix="/tasks")

# Roles that hand tasks down (the API still decides which posts are below one's own).
ASSIGNERS = ("senior_butler", "cs_manager", "admin")


def _page(values=None, errors=None, status=200):
    known, community = chosen_community()
    person = me()
    found, posts = [], []
    if community is not None:
        found = items(client.get_or_none("/api/v1/staff/tasks", {"community_id": community["id"], "page_size": 100}))
        chart = items(
            client.get_or_none("/api/v1/staff/positions", {"community_id": community["id"], "page_size": 100})
        )
        names = {p["user_id"]: p["display_name"] for p in chart}
        for task in found:
            task["assignee_name"] = names.get(task["assignee_id"])
            task["assigner_name"] = names.get(task["assigner_id"])
        posts = [(p["id"], p["display_name"]) for p in chart if p["user_id"] != person.get("id")]
    return (
        render_template(
            "tasks.html",
            community=community,
            communities=known,
            tasks=found,
            posts=posts,
            may_assign=person.get("role") in ASSIGNERS,
            me_id=person.get("id"),
            values=values or {},
            errors=errors or {},
        ),
        status,
    )


@bp.get("")
def index():
    return _page()


@bp.post("")
def hand_down():
    values, errors = request.form.to_dict(), {}
    body = {
        "position_id": values.get("position_id", ""),
        "title": values.get("title", "").strip(),
        "details": values.get("details", "").strip() or None,
        "due_at": local_instant(values.get("due_at", ""), "due_at", errors),
    }
    if errors:
        return _page(values, errors, 422)
    _made, errors = attempt(client.post, "/api/v1/staff/tasks", body)
    if errors:
        return _page(values, errors, 422)
    return redirect(url_for("tasks.index", community_id=values.get("community_id", "")), code=303)


@bp.post("/<task_id>/complete")
def complete(task_id):
    _done, errors = attempt(client.post, f"/api/v1/staff/tasks/{q(task_id)}/complete")
    if errors:
        refusal = errors.get("_") or next(iter(errors.values()), _("Refused."))
        return _page(errors={"_": refusal}, status=422)
    return redirect(url_for("tasks.index", community_id=request.form.get("community_id", "")), code=303)
