"""The team's records (staff API): 考核 — scorecards (one's own; a superior the team's) with the workbook; 计划与总结 —
plans, month-end summaries and the superior's review; 例会 — meetings whose action items become tasks; 培训与配发 —
training records and tools issued. Who sees and may do what is the staff API's: these screens show what it answers."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from .. import client
from .common import items, me
from .forms import attempt, chosen_community, local_instant, q

bp = Blueprint("team", __name__, url_prefix="/team")

S = "/api/v1/staff"
LEADS = ("senior_butler", "cs_manager", "admin")

# The scorecard's measured figures, in the order of its workbook: (field, label, kind).
FIGURES = (
    ("collection_rate", lazy_gettext("Collection rate"), "percent"),
    ("tickets", lazy_gettext("Tickets"), "count"),
    ("tickets_resolved", lazy_gettext("Resolved"), "count"),
    ("sla_compliance", lazy_gettext("Within SLA"), "percent"),
    ("satisfaction_average", lazy_gettext("Average satisfaction"), "number"),
    ("satisfied_rate", lazy_gettext("Satisfied (4–5)"), "percent"),
    ("patrol_coverage", lazy_gettext("Patrol coverage"), "percent"),
    ("familiarity", lazy_gettext("Familiarity"), "percent"),
    ("communication", lazy_gettext("Effective communication"), "percent"),
)


def figure_text(value, kind: str) -> str:
    """A figure as shown: a ratio as 87.5 %, a count as it is, an average to two places; — for none."""
    if value is None or value == "":
        return "—"
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if kind == "percent":
        return f"{(number * 100).quantize(Decimal('0.1'))} %"
    if kind == "number":
        return str(number.quantize(Decimal("0.01")))
    return str(value)


def figures_of(record: dict | None) -> list[tuple[str, str]]:
    record = record or {}
    return [(str(text), figure_text(record.get(name), kind)) for name, text, kind in FIGURES]


def _context() -> dict:
    """The chosen community, its chart (post id → name) and the person's own posts in it."""
    known, community = chosen_community()
    if community is None:
        abort(404)
    chart = items(client.get_or_none(f"{S}/positions", {"community_id": community["id"], "page_size": 100}))
    person = me()
    return {
        "communities": known,
        "community": community,
        "chart": [(p["id"], p["display_name"]) for p in chart],
        "mine": [p["id"] for p in chart if p["user_id"] == person.get("id")],
        "me_id": person.get("id"),
        "leads": person.get("role") in LEADS,
    }


def _back(endpoint: str, community_id: str, errors: dict | None = None):
    """After a write: back to the screen (303); a refusal shows the screen again with the API's message (422)."""
    if errors:
        message = errors.get("_") or "; ".join(f"{k}: {v}" for k, v in errors.items())
        return current_app.view_functions[endpoint](refused=message), 422
    return redirect(url_for(endpoint, community_id=community_id), code=303)


# --- 考核: scorecards ------------------------------------------------------------------------------------------------


@bp.get("/scorecards")
def scorecards(refused: str | None = None):
    context = _context()
    params = {"community_id": context["community"]["id"], "page_size": 100}
    if request.args.get("month"):
        params["month"] = request.args["month"]
    if request.args.get("flagged"):
        params["flagged"] = "true"
    cards = items(client.get_or_none(f"{S}/scorecards", params))
    rows = [
        {
            **card,
            "mine": card["user_id"] == context["me_id"],
            "figures": figures_of(card),
            "money": (card.get("receivable"), card.get("collected")),
        }
        for card in cards
    ]
    return render_template(
        "team_scorecards.html",
        **context,
        cards=rows,
        headings=[str(text) for _n, text, _k in FIGURES],
        month=request.args.get("month", ""),
        flagged=bool(request.args.get("flagged")),
        refused=refused,
    )


@bp.get("/scorecards.xlsx")
def scorecards_xlsx():
    """The staff API's workbook (考核表: Chinese headers, names, ¥ and percentages), passed through."""
    _known, community = chosen_community()
    if community is None:
        abort(404)
    params = {"community_id": community["id"], "format": "xlsx"}
    if request.args.get("month"):
        params["month"] = request.args["month"]
    response = client.raw("GET", f"{S}/scorecards", params=params)
    if response.status != 200:
        abort(response.status if response.status in (403, 404) else 502)
    return Response(
        response.body,
        mimetype=response.headers.get("Content-Type", "application/octet-stream"),
        headers={"Content-Disposition": response.headers.get("Content-Disposition", "attachment")},
    )


@bp.post("/scorecards")
def draw_up():
    community_id = request.form.get("community_id", "")
    body = {"position_id": request.form.get("position_id", ""), "month": request.form.get("month", "")}
    _done, errors = attempt(client.post, f"{S}/scorecards", body)
    return _back("team.scorecards", community_id, errors)


@bp.post("/scorecards/<card_id>/review")
def score(card_id):
    community_id = request.form.get("community_id", "")
    body = {"score": request.form.get("score", ""), "comment": request.form.get("comment", "").strip() or None}
    try:
        body["score"] = int(body["score"])
    except ValueError:
        return _back("team.scorecards", community_id, {"score": _("A whole number from 0 to 100.")})
    _done, errors = attempt(client.post, f"{S}/scorecards/{q(card_id)}/review", body)
    return _back("team.scorecards", community_id, errors)


# --- 计划与总结: plans and summaries -------------------------------------------------------------------------------


PLAN_SCOPES = ("person", "zone", "community")


def plan_heading(plan: dict, zone_names: dict, community_name: str) -> str:
    """Whose plan, by name: the person's, the zone's (its name from residents) or the community's."""
    if plan.get("scope") == "zone":
        return _("Zone %(name)s", name=zone_names.get(plan.get("zone_id")) or "—")
    if plan.get("scope") == "community":
        return _("Community %(name)s", name=community_name)
    return plan.get("display_name") or "—"


@bp.get("/plans")
def plans(refused: str | None = None):
    context = _context()
    community_id = context["community"]["id"]
    found = items(client.get_or_none(f"{S}/plans", {"community_id": community_id, "page_size": 50}))
    zones = items(client.get_or_none("/api/v1/zones", {"community_id": community_id, "page_size": 100}))
    names = {z["id"]: z["name"] for z in zones}
    rows = [
        {
            **plan,
            "heading": plan_heading(plan, names, context["community"]["name"]),
            "mine": plan["user_id"] == context["me_id"] if plan.get("scope", "person") == "person" else None,
            "measured": figures_of(plan.get("figures")),
        }
        for plan in found
    ]
    return render_template(
        "team_plans.html", **context, plans=rows, zones=[(z["id"], z["name"]) for z in zones], refused=refused
    )


@bp.post("/plans")
def new_plan():
    """A person's plan (the post chosen), a zone's (the zone chosen) or the community's."""
    form = request.form
    community_id = form.get("community_id", "")
    scope = form.get("scope", "person")
    body = {"scope": scope, "kind": form.get("kind", ""), "period": form.get("period", "")}
    if scope == "person":
        body["position_id"] = form.get("position_id", "")
    else:
        body["community_id"] = community_id
        if scope == "zone":
            body["zone_id"] = form.get("zone_id", "")
    if form.get("item_title", "").strip():
        item = {"title": form["item_title"].strip(), "due_on": form.get("item_due_on", "")}
        if scope != "person":
            item["owner_id"] = form.get("position_id", "")
        body["items"] = [item]
    _done, errors = attempt(client.post, f"{S}/plans", body)
    return _back("team.plans", community_id, errors)


@bp.post("/plans/<plan_id>/<any(items, summary, review):action>")
def plan_action(plan_id, action):
    form = request.form
    community_id = form.get("community_id", "")
    if action == "items":
        body = {"title": form.get("title", "").strip(), "due_on": form.get("due_on", "")}
        if form.get("owner_id"):
            body["owner_id"] = form["owner_id"]
    else:
        body = {"text": form.get("text", "").strip()}
    _done, errors = attempt(client.post, f"{S}/plans/{q(plan_id)}/{action}", body)
    return _back("team.plans", community_id, errors)


@bp.post("/plans/<plan_id>/items/<item_id>/status")
def item_status(plan_id, item_id):
    community_id = request.form.get("community_id", "")
    body = {"status": request.form.get("status", "")}
    _done, errors = attempt(client.post, f"{S}/plans/{q(plan_id)}/items/{q(item_id)}/status", body)
    return _back("team.plans", community_id, errors)


# --- 例会: meetings --------------------------------------------------------------------------------------------------


@bp.get("/meetings")
def meetings(refused: str | None = None):
    context = _context()
    found = items(client.get_or_none(f"{S}/meetings", {"community_id": context["community"]["id"], "page_size": 50}))
    return render_template("team_meetings.html", **context, meetings=found, refused=refused)


@bp.post("/meetings")
def hold_meeting():
    form = request.form
    community_id = form.get("community_id", "")
    body = {
        "community_id": community_id,
        "title": form.get("title", "").strip(),
        "held_on": form.get("held_on", ""),
        "attendee_ids": form.getlist("attendee_ids"),
        "minutes": form.get("minutes", "").strip() or None,
        "action_items": [],
    }
    if form.get("action_title", "").strip():
        # Due at the end of the working day chosen, in the instance's timezone.
        errors: dict = {}
        due_at = local_instant(f"{form.get('action_due_on', '')}T18:00", "action_items.0.due_at", errors)
        if errors:
            return _back("team.meetings", community_id, errors)
        body["action_items"].append(
            {"position_id": form.get("action_position_id", ""), "title": form["action_title"].strip(), "due_at": due_at}
        )
    _done, errors = attempt(client.post, f"{S}/meetings", body)
    return _back("team.meetings", community_id, errors)


# --- 培训与配发: training and items issued ---------------------------------------------------------------------------


@bp.get("/training")
def training(refused: str | None = None):
    context = _context()
    community_id = context["community"]["id"]
    sessions = items(client.get_or_none(f"{S}/trainings", {"community_id": community_id, "page_size": 50}))
    issued = items(client.get_or_none(f"{S}/issued-items", {"community_id": community_id, "page_size": 100}))
    return render_template("team_training.html", **context, sessions=sessions, issued=issued, refused=refused)


@bp.post("/training")
def record_training():
    form = request.form
    community_id = form.get("community_id", "")
    body = {
        "community_id": community_id,
        "topic": form.get("topic", "").strip(),
        "held_on": form.get("held_on", ""),
        "attendee_ids": form.getlist("attendee_ids"),
    }
    _done, errors = attempt(client.post, f"{S}/trainings", body)
    return _back("team.training", community_id, errors)


@bp.post("/training/<training_id>/completion")
def completed(training_id):
    community_id = request.form.get("community_id", "")
    body = {"position_id": request.form.get("position_id", ""), "completed": True}
    _done, errors = attempt(client.post, f"{S}/trainings/{q(training_id)}/completion", body)
    return _back("team.training", community_id, errors)


@bp.post("/items")
def issue_item():
    form = request.form
    community_id = form.get("community_id", "")
    body = {
        "position_id": form.get("position_id", ""),
        "name": form.get("name", "").strip(),
        "issued_on": form.get("issued_on", ""),
    }
    if form.get("quantity"):
        body["quantity"] = form["quantity"]
    _done, errors = attempt(client.post, f"{S}/issued-items", body)
    return _back("team.training", community_id, errors)


@bp.post("/items/<item_id>/return")
def return_item(item_id):
    community_id = request.form.get("community_id", "")
    body = {"returned_on": request.form.get("returned_on", "")}
    _done, errors = attempt(client.post, f"{S}/issued-items/{q(item_id)}/return", body)
    return _back("team.training", community_id, errors)
