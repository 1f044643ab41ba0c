"""重大投诉 / 疑似负面信息: the manager's list of quality cases, the nearest deadline first (overdue in red), opening a
case with its source, linked tickets (by their numbers), owner and deadline, the stage feedback log to the customer
and to the quality department, and the closure report (结案报告)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import client
from .common import items, me
from .forms import attempt, chosen_community, form_values, local_instant, q

bp = Blueprint("quality", __name__, url_prefix="/quality-cases")

SOURCES = ("quality_department", "hotline_12345", "social_media", "media", "other")
AUDIENCES = ("customer", "quality_department")
# Who opens and closes cases (the API's MANAGERS): the forms are offered to them only.
MANAGERS = ("senior_butler", "cs_manager", "admin")


def _index(values=None, errors=None, status=200):
    known, community = chosen_community()
    cases, staff = [], []
    show_closed = request.args.get("closed") == "1"
    if community is not None:
        params = {"community_id": community["id"], "page_size": 100}
        if show_closed:
            params["status"] = "closed"
        cases = items(client.get_or_none("/api/v1/tickets/quality-cases", params))
        if me().get("role") in MANAGERS:
            staff = items(client.get_or_none("/api/v1/users/staff", {"community_id": community["id"]}))
    context = {
        "communities": known,
        "community": community,
        "cases": cases,
        "staff": staff,
        "sources": SOURCES,
        "manager": me().get("role") in MANAGERS,
        "show_closed": show_closed,
    }
    return render_template("quality_cases.html", values=values or {}, errors=errors or {}, **context), status


@bp.get("")
def index():
    return _index()


def _ticket_ids(text: str, community_id: str, errors: dict) -> list[str]:
    """The ids of the tickets named by their numbers (T00000123, separated by spaces or commas)."""
    found = []
    for number in text.replace(",", " ").replace("，", " ").split():
        rows = items(client.get_or_none("/api/v1/tickets", {"number": number.upper(), "community_id": community_id}))
        if not rows:
            errors["ticket_ids"] = _("No ticket %(number)s in this community.", number=number)
            return []
        found.append(rows[0]["id"])
    return found


@bp.post("")
def create():
    form = request.form
    errors: dict = {}
    body = {**form_values("community_id", "source", "title", "description", "owner_id")}
    if form.get("deadline_at", "").strip():
        body["deadline_at"] = local_instant(form["deadline_at"].strip(), "deadline_at", errors)
    body["ticket_ids"] = _ticket_ids(form.get("tickets", ""), body.get("community_id", ""), errors)
    if errors:
        return _index(form.to_dict(), {k if k != "ticket_ids" else "tickets": v for k, v in errors.items()}, 422)
    created, errors = attempt(client.post, "/api/v1/tickets/quality-cases", body)
    if errors:
        shown = {("tickets" if k.startswith("ticket_ids") else k): v for k, v in errors.items()}
        return _index(form.to_dict(), shown, 422)
    return redirect(url_for("quality.detail", case_id=created["id"]), code=303)


def _detail(case_id: str, errors=None, values=None, status=200):
    case = client.get(f"/api/v1/tickets/quality-cases/{q(case_id)}")
    case["tickets"] = [
        {"id": tid, "number": number} for tid, number in zip(case["ticket_ids"], case["ticket_numbers"], strict=True)
    ]
    context = {"case": case, "audiences": AUDIENCES, "manager": me().get("role") in MANAGERS}
    return render_template("quality_case.html", errors=errors or {}, values=values or {}, **context), status


@bp.get("/<case_id>")
def detail(case_id):
    return _detail(case_id)


@bp.post("/<case_id>/feedback")
def feedback(case_id):
    _, errors = attempt(client.post, f"/api/v1/tickets/quality-cases/{q(case_id)}/feedback",
                        form_values("audience", "body"))  # fmt: skip
    if errors:
        return _detail(case_id, errors, request.form.to_dict(), 422)
    return redirect(url_for("quality.detail", case_id=case_id) + "#feedback", code=303)


@bp.post("/<case_id>/close")
def close(case_id):
    _, errors = attempt(client.post, f"/api/v1/tickets/quality-cases/{q(case_id)}/close", form_values("report"))
    if errors:
        return _detail(case_id, errors, request.form.to_dict(), 422)
    return redirect(url_for("quality.detail", case_id=case_id), code=303)
