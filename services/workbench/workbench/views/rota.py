"""排班考勤 (rota and attendance): my shifts with clock-in / clock-out (phone-first), swap requests and the
superior's approval, the department's weekly rota editor with the understaffed flag, and the monthly attendance
sheet. Every rule (who may edit, what is late or absent, what a gap is) is the staff API's: these pages show what
it answers and post what the person chose."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from guanjia import web

from .. import client
from .common import items, me
from .forms import attempt, chosen_community, q

bp = Blueprint("rota", __name__, url_prefix="/rota")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DAYS_AHEAD = 14
# Roles that decide swaps (a superior or the manager); the API decides whose.
DECIDERS = ("senior_butler", "cs_manager", "admin")


def _today() -> date:
    return web.now().astimezone(ZoneInfo(current_app.extensions["guanjia.settings"].timezone)).date()


def _chart(community_id: str) -> list:
    return items(client.get_or_none("/api/v1/staff/positions", {"community_id": community_id, "page_size": 100}))


def _refusal(errors: dict) -> str:
    return errors.get("_") or next(iter(errors.values()), _("Refused."))


# --- my shifts, clock-in and swaps ------------------------------------------------------------------------------------


def _clock_state(community_id: str, post: dict | None) -> dict:
    state = client.get_or_none("/api/v1/staff/attendance/clock", {"community_id": community_id}) or {}
    return {"post": post, "clocked_in": bool(state.get("clocked_in")), "record": state.get("record")}


def _mine(errors=None, status=200):
    known, community = chosen_community()
    if community is None:
        return render_template("rota_mine.html", community=None, communities=known, errors={}), status
    person, chart = me(), _chart(community["id"])
    post = next((p for p in chart if p["user_id"] == person.get("id")), None)
    today = _today()
    shifts, colleagues = [], []
    if post is not None:
        shifts = items(
            client.get_or_none(
                "/api/v1/staff/attendance",
                {
                    "community_id": community["id"],
                    "position_id": post["id"],
                    "from": today.isoformat(),
                    "to": (today + timedelta(days=DAYS_AHEAD - 1)).isoformat(),
                },
            )
        )
        colleagues = [(p["id"], p["display_name"]) for p in chart if p["department_id"] == post["department_id"]]
        colleagues = [c for c in colleagues if c[0] != post["id"]]
    swaps = items(client.get_or_none("/api/v1/staff/swaps", {"community_id": community["id"], "page_size": 50}))
    return (
        render_template(
            "rota_mine.html",
            community=community,
            communities=known,
            clock=_clock_state(community["id"], post),
            shifts=shifts,
            colleagues=colleagues,
            swaps=swaps,
            me_post=post,
            may_decide=person.get("role") in DECIDERS,
            departments=items(client.get_or_none("/api/v1/staff/departments", {"community_id": community["id"]})),
            month=today.strftime("%Y-%m"),
            errors=errors or {},
        ),
        status,
    )


@bp.get("")
def index():
    return _mine()


@bp.post("/clock/<any(in, out):action>")
def clock(action):
    """打卡: from the phone's 我的班次 page; htmx swaps the clock card, a plain post comes back to the page."""
    community_id, position_id = request.form.get("community_id", ""), request.form.get("position_id", "")
    _done, errors = attempt(client.post, f"/api/v1/staff/attendance/clock-{action}", {"position_id": position_id})
    if request.headers.get("HX-Request"):
        post = next((p for p in _chart(community_id) if p["id"] == position_id), None)
        state = _clock_state(community_id, post)
        html = render_template("_rota_clock.html", clock=state, community={"id": community_id}, errors=errors)
        return html, 422 if errors else 200
    if errors:
        return _mine({"clock": _refusal(errors)}, 422)
    return redirect(url_for("rota.index", community_id=community_id), code=303)


@bp.post("/swaps")
def ask_swap():
    community_id = request.form.get("community_id", "")
    body = {
        "entry_id": request.form.get("entry_id", ""),
        "with_position_id": request.form.get("with_position_id", ""),
        "reason": request.form.get("reason", "").strip() or None,
    }
    _made, errors = attempt(client.post, "/api/v1/staff/swaps", body)
    if errors:
        return _mine({"swap": _refusal(errors)}, 422)
    return redirect(url_for("rota.index", community_id=community_id), code=303)


@bp.post("/swaps/<swap_id>/<any(approve, reject):action>")
def decide_swap(swap_id, action):
    community_id = request.form.get("community_id", "")
    _done, errors = attempt(client.post, f"/api/v1/staff/swaps/{q(swap_id)}/{action}")
    if errors:
        return _mine({"swap": _refusal(errors)}, 422)
    return redirect(url_for("rota.index", community_id=community_id), code=303)


# --- the department's weekly rota -----------------------------------------------------------------------------------


def _monday(text: str | None) -> date:
    try:
        day = date.fromisoformat(text) if text else _today()
    except ValueError:
        abort(404)
    return day - timedelta(days=day.weekday())


def _week_page(department_id: str, week: date, errors=None, chosen=None, status=200):
    rota = client.get_or_none("/api/v1/staff/rotas", {"department_id": department_id, "week": week.isoformat()})
    if rota is None:
        abort(404)
    members = [p for p in _chart(rota["community_id"]) if p["department_id"] == department_id]
    if chosen is None:
        chosen = {(e["shift_id"], e["day"], e["position_id"]) for e in rota["entries"]}
    short = {(g["shift_id"], g["day"]): g for g in rota["gaps"]}
    return (
        render_template(
            "rota_week.html",
            rota=rota,
            members=members,
            chosen=chosen,
            short=short,
            previous=(week - timedelta(days=7)).isoformat(),
            following=(week + timedelta(days=7)).isoformat(),
            errors=errors or {},
        ),
        status,
    )


@bp.get("/departments/<department_id>")
def week(department_id):
    return _week_page(department_id, _monday(request.args.get("week")))


@bp.post("/departments/<department_id>")
def save_week(department_id):
    """The editor's checkboxes (`cell` = shift|day|position) become the week's entries; the API checks each."""
    monday = _monday(request.form.get("week"))
    chosen = set()
    for value in request.form.getlist("cell"):
        parts = value.split("|")
        if len(parts) == 3:
            chosen.add(tuple(parts))
    entries = [{"shift_id": s, "day": d, "position_id": p} for s, d, p in sorted(chosen)]
    body = {"department_id": department_id, "week": monday.isoformat(), "entries": entries}
    _saved, errors = attempt(client.post, "/api/v1/staff/rotas", body)
    if errors:
        return _week_page(department_id, monday, {"_": _refusal(errors)}, chosen, 422)
    return redirect(url_for("rota.week", department_id=department_id, week=monday.isoformat(), saved=1), code=303)


@bp.post("/departments/<department_id>/shifts")
def add_shift(department_id):
    monday = _monday(request.form.get("week"))
    body = {
        "department_id": department_id,
        "name": request.form.get("name", "").strip(),
        "starts": request.form.get("starts", ""),
        "ends": request.form.get("ends", ""),
        "min_staff": request.form.get("min_staff", "1") or "1",
    }
    _made, errors = attempt(client.post, "/api/v1/staff/shift-templates", body)
    if errors:
        return _week_page(department_id, monday, errors, None, 422)
    return redirect(url_for("rota.week", department_id=department_id, week=monday.isoformat()), code=303)


# --- the monthly attendance sheet ------------------------------------------------------------------------------------


@bp.get("/attendance.xlsx")
def attendance_xlsx():
    """考勤表 of a month, as the API makes it (one's own, the team's or the community's)."""
    args = {
        "community_id": request.args.get("community_id", ""),
        "month": request.args.get("month", ""),
        "format": "xlsx",
    }
    response = client.raw("GET", "/api/v1/staff/attendance?" + urlencode(args))
    if response.status != 200:
        abort(404 if response.status in (403, 404) else 422)
    disposition = response.headers.get("Content-Disposition") or "attachment"
    return Response(response.body, content_type=XLSX, headers={"Content-Disposition": disposition})
