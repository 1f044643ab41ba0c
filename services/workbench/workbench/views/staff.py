"""请假 (leave): ask for leave with a stand-in (代岗) and follow it; the superior approves or rejects the team's
requests here. Who sees and decides what is the staff API's: this screen shows what it answers."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import client
from .common import items, me
from .forms import attempt, communities, local_instant, q

bp = Blueprint("staff", __name__, url_prefix="/leave")

LEAVE_KINDS = ("annual", "sick", "personal", "compensatory", "other")


def _chart() -> list:
    """Every post of the person's communities (the organisation chart), with the community's name."""
    posts = []
    for community in communities():
        for post in items(
            client.get_or_none("/api/v1/staff/positions", {"community_id": community["id"], "page_size": 100})
        ):
            posts.append({**post, "community_name": community["name"]})
    return posts


def _page(values=None, errors=None, status=200):
    person, chart = me(), _chart()
    mine = [p for p in chart if p["user_id"] == person.get("id")]
    leaves = items(client.get_or_none("/api/v1/staff/leaves", {"page_size": 50}))
    return (
        render_template(
            "staff_leave.html",
            posts=[(p["id"], f"{p['community_name']} · {p['display_name']}") for p in mine],
            stand_ins=[(p["id"], p["display_name"]) for p in chart if p["user_id"] != person.get("id")],
            kinds=LEAVE_KINDS,
            leaves=leaves,
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
def ask():
    values, errors = request.form.to_dict(), {}
    body = {
        "position_id": values.get("position_id", ""),
        "stand_in_id": values.get("stand_in_id", ""),
        "kind": values.get("kind", ""),
        "starts_at": local_instant(values.get("starts_at", ""), "starts_at", errors),
        "ends_at": local_instant(values.get("ends_at", ""), "ends_at", errors),
        "reason": values.get("reason", "").strip() or None,
    }
    if errors:
        return _page(values, errors, 422)
    made, errors = attempt(client.post, "/api/v1/staff/leaves", body)
    if made is None:
        return _page(values, errors, 422)
    return redirect(url_for("staff.index", asked=made["id"]), code=303)


@bp.post("/<leave_id>/<any(approve, reject, cancel):action>")
def decide(leave_id, action):
    """The superior's approve / reject, or the person's withdrawal; a refusal is shown at the top."""
    body = None if action == "cancel" else {"note": request.form.get("note", "").strip() or None}
    path = f"/api/v1/staff/leaves/{q(leave_id)}/{action}"
    done, errors = attempt(client.post, path, body)
    if done is None:
        return _page(errors={"_": errors.get("_") or next(iter(errors.values()), _("Refused."))}, status=422)
    return redirect(url_for("staff.index"), code=303)
