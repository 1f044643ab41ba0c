"""来电登记 (ticket intake), the ticket list with filters and XLSX export, and the ticket detail with its actions."""

from __future__ import annotations

import io
from datetime import datetime, time, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from urllib3 import encode_multipart_formdata

from guanjia import web
from guanjia.db import parse_time

from .. import client, i18n
from .common import items, me, sla_state
from .forms import attempt

bp = Blueprint("tickets", __name__, url_prefix="/tickets")

# The API's enums, in the order a person picks from them (the labels come from the catalogue).
CATEGORIES = ("repair", "complaint", "inquiry", "suggestion", "praise", "service_request", "dispute")
PRIORITIES = ("normal", "high", "emergency", "low")
CHANNELS = ("phone", "walk_in", "app", "wechat", "patrol")
STATUSES = ("new", "assigned", "in_progress", "on_hold", "resolved", "closed", "reopened", "cancelled")
DEPARTMENTS = ("engineering", "customer_service", "security", "cleaning", "landscaping")
SLA_STATES = ("breached", "due_soon", "on_track")
REOPEN_REASONS = ("dissatisfied", "not_fixed", "other")
LIST_FILTERS = ("status", "category", "zone_id", "assignee_id", "sla", "number", "unit_id", "q")
EXPORT_LIMIT = 5000
MAX_PHOTOS = 5
# Action name (as the API lists it in allowed_actions) → the fields its form posts.
ACTION_FIELDS = {
    "assign": ("department", "assignee_id", "reason"),
    "start": ("note",),
    "hold": ("reason",),
    "resume": ("note",),
    "quote": ("charge",),
    "accept-quote": ("via",),
    "resolve": ("note",),
    "reopen": ("reason_code", "comment"),
    "cancel": ("reason",),
    "close": ("note",),
}
# Kinds whose customer gets staged feedback (the API's domain.FEEDBACK_CATEGORIES; it refuses the others).
FEEDBACK_CATEGORIES = ("complaint", "dispute")


def _tz():
    return ZoneInfo(current_app.extensions["guanjia.settings"].timezone)


def _day_start(text: str, field: str, errors: dict, plus_days: int = 0):
    """A yyyy-mm-dd of the date filter as the UTC instant its local midnight is (errors name the field)."""
    if not text:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        errors[field] = _("Use the form 2026-12-02.")
        return None
    return datetime.combine(day + timedelta(days=plus_days), time(), _tz()).isoformat()


def _list_params(args, errors: dict) -> dict:
    params = {name: args.get(name) for name in LIST_FILTERS if args.get(name)}
    params["created_from"] = _day_start(args.get("from", ""), "from", errors)
    params["created_to"] = _day_start(args.get("to", ""), "to", errors, plus_days=1)
    return {k: v for k, v in params.items() if v}


@bp.get("")
def index():
    errors: dict = {}
    params = _list_params(request.args, errors)
    page = max(1, request.args.get("page", 1, type=int) or 1)
    found = {"items": [], "total": 0, "page": 1, "page_size": 50}
    if not errors:
        try:
            found = client.get("/api/v1/tickets", {**params, "page": page, "page_size": 50})
        except client.ApiError as exc:
            if isinstance(exc, client.Unavailable):
                raise
            errors = _list_errors(exc)
    now = web.now()
    for ticket in found["items"]:
        ticket["sla_state"] = sla_state(ticket, now)
    # htmx swaps only the rows; a history restore (the Back button) needs the whole page again.
    partial = request.headers.get("HX-Request") and not request.headers.get("HX-History-Restore-Request")
    template = "tickets_rows.html" if partial else "tickets.html"
    next_url = None
    if found["total"] > found["page"] * found["page_size"]:
        next_url = url_for("tickets.index", **{**request.args.to_dict(), "page": found["page"] + 1})
    return render_template(
        template,
        next_url=next_url,
        found=found,
        args=request.args,
        errors=errors,
        zones=_zones(),
        staff=items(client.get_or_none("/api/v1/users/staff")),
        statuses=STATUSES,
        categories=CATEGORIES,
        sla_states=SLA_STATES,
        export_query=request.query_string.decode(),
    )


def _list_errors(exc: client.ApiError) -> dict:
    errors = exc.field_errors
    renamed = {"created_from": "from", "created_to": "to"}
    return {renamed.get(k, k): v for k, v in errors.items()} or {"_": exc.message}


def _zones() -> list:
    """The zones the person may filter by (their own; managers every zone of their communities)."""
    person = me()
    zones = []
    for community_id in person.get("communities") or []:
        zones += items(client.get_or_none("/api/v1/zones", {"community_id": community_id, "page_size": 100}))
    if person.get("zones"):
        zones = [z for z in zones if z["id"] in person["zones"]] or zones
    return zones


@bp.get("/export.xlsx")
def export():
    """The filtered list as an XLSX workbook (at most EXPORT_LIMIT rows, newest first)."""
    from openpyxl import Workbook

    errors: dict = {}
    params = _list_params(request.args, errors)
    if errors:
        abort(422)
    rows, page = [], 1
    while len(rows) < EXPORT_LIMIT:
        found = client.get("/api/v1/tickets", {**params, "page": page, "page_size": 100})
        rows += found["items"]
        if page * 100 >= found["total"]:
            break
        page += 1
    tz = current_app.extensions["guanjia.settings"].timezone
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Tickets")
    sheet.append(
        [
            _("Number"),
            _("Created"),
            _("Kind"),
            _("Priority"),
            _("Status"),
            _("Unit"),
            _("Assignee"),
            _("Resolution due"),
            _("Description"),
        ]
    )
    for t in rows[:EXPORT_LIMIT]:
        sheet.append(
            [
                t.get("number"),
                i18n.local_time(t.get("created_at"), tz),
                i18n.label(t.get("category"), "category"),
                i18n.label(t.get("priority"), "priority"),
                i18n.label(t.get("status"), "status"),
                unit_label(t),
                person_label(t, "assignee"),
                i18n.local_time(t.get("resolution_due_at"), tz),
                t.get("description"),
            ]
        )
    out = io.BytesIO()
    workbook.save(out)
    return Response(
        out.getvalue(),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": "attachment; filename=\"tickets.xlsx\"; filename*=UTF-8''"
            + quote(_("tickets") + ".xlsx")
        },
    )


def unit_label(ticket: dict) -> str:
    """房号 from the API's display field when it has one (else the short id)."""
    return ticket.get("unit_label") or ticket.get("unit_number") or (ticket.get("unit_id") or "")[:8]


def person_label(ticket: dict, role: str) -> str:
    return ticket.get(f"{role}_name") or (ticket.get(f"{role}_id") or "")


# ---------------------------------------------------------------- intake


@bp.get("/new")
def new():
    unit = _unit_or_none(request.args.get("unit_id"))
    return render_template(
        "ticket_new.html",
        unit=unit,
        values={"channel": "phone", "priority": "normal", "category": "repair", "location": "in_unit"},
        errors={},
        categories=CATEGORIES,
        priorities=PRIORITIES,
        channels=CHANNELS,
    )


def _unit_or_none(unit_id: str | None):
    if not unit_id:
        return None
    return client.get_or_none(f"/api/v1/units/{quote(unit_id, safe='')}")


@bp.get("/unit-picker")
def unit_picker():
    """htmx: units and residents matching what the desk typed (房号, phone or name)."""
    q = request.args.get("q", "").strip()
    residents = []
    if len(q) >= 2:
        residents = items(client.get_or_none("/api/v1/residents", {"q": q, "page_size": 10}))
    return render_template("unit_picker.html", residents=residents, q=q)


@bp.post("")
def create():
    form = request.form
    values = {k: form.get(k, "") for k in ("unit_id", "category", "channel", "priority", "description", "location")}
    body = {k: v for k, v in values.items() if v}
    photos = [f for f in request.files.getlist("photos") if f and f.filename][:MAX_PHOTOS]
    errors = {}
    if not body.get("unit_id"):
        errors["unit_id"] = _("Find the unit first.")
    ticket = None
    if not errors:
        try:
            ticket = client.post("/api/v1/tickets", body)
        except client.ApiError as exc:
            if isinstance(exc, client.Unavailable):
                raise
            errors = exc.field_errors or {"_": exc.message}
    if ticket is None:
        return (
            render_template(
                "ticket_new.html",
                unit=_unit_or_none(values["unit_id"]),
                values=values,
                errors=errors,
                categories=CATEGORIES,
                priorities=PRIORITIES,
                channels=CHANNELS,
            ),
            422,
        )
    for photo in photos:
        _upload(ticket["id"], photo)
    return redirect(url_for("tickets.detail", ticket_id=ticket["id"]), code=303)


def _upload(ticket_id: str, upload) -> None:
    upload_file(f"/api/v1/tickets/{quote(ticket_id, safe='')}/attachments", upload)


def upload_file(path: str, upload, **fields) -> dict:
    """Post a browser's file (and small form fields) to an API upload route as multipart; the API's answer (or
    its refusal as client.ApiError)."""
    parts = {"file": (upload.filename, upload.read(), upload.mimetype or "application/octet-stream"), **fields}
    body, content_type = encode_multipart_formdata(parts)
    return client.decode(client.raw("POST", path, body=body, content_type=content_type))


def posted_photo(path: str, **fields) -> dict:
    """The browser's file field `photo`, if one was chosen, posted to the API photo route `path`: {} when kept (or
    none was chosen), else {"photo": the API's refusal}."""
    photo = request.files.get("photo")
    if not (photo and photo.filename):
        return {}
    _, errors = attempt(upload_file, path, photo, **fields)
    return {"photo": errors.get("file") or next(iter(errors.values()))} if errors else {}


def photo_chosen() -> bool:
    return bool(request.files.get("photo") and request.files["photo"].filename)


def required_photo(path: str, **fields) -> dict:
    """`posted_photo` for a form that is only the photo: none chosen is an error too."""
    return posted_photo(path, **fields) if photo_chosen() else {"photo": _("Choose a photo.")}


# ---------------------------------------------------------------- detail and actions


def _detail_context(ticket_id: str, errors=None, action=None, values=None) -> dict:
    base = f"/api/v1/tickets/{quote(ticket_id, safe='')}"
    ticket = client.get(base)
    ticket["sla_state"] = sla_state(ticket, web.now())
    timeline = items(client.get(f"{base}/timeline"))
    visits = items(client.get(f"{base}/visits"))
    attachments = items(client.get(f"{base}/attachments"))
    notes = items(client.get(f"{base}/notes"))
    unit = _unit_or_none(ticket.get("unit_id"))
    return {
        "ticket": ticket,
        "notes": notes,
        "takes_feedback": ticket.get("category") in FEEDBACK_CATEGORIES,
        "timeline": timeline,
        "visits": visits,
        "attachments": attachments,
        "unit": unit,
        "staff": _staff(ticket),
        "errors": errors or {},
        "failed_action": action,
        "values": values or {},
        "departments": DEPARTMENTS,
        "reopen_reasons": REOPEN_REASONS,
    }


def _staff(ticket: dict) -> list:
    """People the ticket can be dispatched to: the gateway's staff directory of the ticket's community."""
    found = client.get_or_none("/api/v1/users/staff", {"community_id": ticket.get("community_id")})
    return items(found)


@bp.get("/<ticket_id>")
def detail(ticket_id):
    return render_template("ticket_detail.html", **_detail_context(ticket_id))


@bp.post("/<ticket_id>/actions/<action>")
def act(ticket_id, action):
    if action not in ACTION_FIELDS:
        abort(404)
    body = {name: request.form[name] for name in ACTION_FIELDS[action] if request.form.get(name)}
    try:
        client.post(f"/api/v1/tickets/{quote(ticket_id, safe='')}/{action}", body)
    except client.ApiError as exc:
        if isinstance(exc, client.Unavailable):
            raise
        errors = exc.field_errors or {"_": exc.message}
        context = _detail_context(ticket_id, errors=errors, action=action, values=body)
        return render_template("ticket_detail.html", **context), 422
    return redirect(url_for("tickets.detail", ticket_id=ticket_id), code=303)


@bp.post("/<ticket_id>/visits")
def visit(ticket_id):
    body = {k: request.form[k] for k in ("outcome", "satisfaction", "comment") if request.form.get(k)}
    if "satisfaction" in body:
        try:
            body["satisfaction"] = int(body["satisfaction"])
        except ValueError:
            pass  # sent as typed: the API names the field
    try:
        client.post(f"/api/v1/tickets/{quote(ticket_id, safe='')}/visits", body)
    except client.ApiError as exc:
        if isinstance(exc, client.Unavailable):
            raise
        context = _detail_context(ticket_id, errors=exc.field_errors or {"_": exc.message}, action="visit", values=body)
        return render_template("ticket_detail.html", **context), 422
    return redirect(url_for("tickets.detail", ticket_id=ticket_id), code=303)


@bp.post("/<ticket_id>/notes")
def add_note(ticket_id):
    """A progress note, or on a complaint a staged feedback with the local date and time of the next one."""
    body = {k: request.form[k] for k in ("body", "visibility", "kind") if request.form.get(k)}
    if body.get("kind") == "feedback":
        body.pop("visibility", None)  # staged feedback is the customer's to read: the API sets it
    errors: dict = {}
    if request.form.get("next_feedback_at"):
        try:
            local = datetime.strptime(request.form["next_feedback_at"], "%Y-%m-%dT%H:%M")
            body["next_feedback_at"] = local.replace(tzinfo=_tz()).isoformat()
        except ValueError:
            errors["next_feedback_at"] = _("Use the form 2026-12-02 09:30.")
    if not errors:
        errors = attempt(client.post, f"/api/v1/tickets/{quote(ticket_id, safe='')}/notes", body)[1]
    if errors:
        values = {**body, "next_feedback_at": request.form.get("next_feedback_at", "")}
        context = _detail_context(ticket_id, errors=errors, action="note", values=values)
        return render_template("ticket_detail.html", **context), 422
    return redirect(url_for("tickets.detail", ticket_id=ticket_id) + "#notes", code=303)


@bp.get("/feedback-due")
def feedback_due():
    """阶段性反馈: the complaints whose customer is due their next feedback (now, or within the coming day)."""
    soon = request.args.get("within") == "day"
    params = {"page_size": 100}
    if soon:
        params["before"] = (web.now() + timedelta(days=1)).isoformat()
    found = client.get("/api/v1/tickets/feedback-due", params)
    now = web.now()
    for ticket in found["items"]:
        # The "due" column shows the feedback date; red once it has passed.
        ticket["sla_due"] = ticket["next_feedback_at"]
        ticket["sla_state"] = "breached" if parse_time(ticket["next_feedback_at"]) <= now else "due_soon"
    return render_template("feedback_due.html", found=found, soon=soon)


@bp.get("/<ticket_id>/attachments/<attachment_id>")
def attachment(ticket_id, attachment_id):
    return attachment_response(ticket_id, attachment_id)


def attachment_response(ticket_id: str, attachment_id: str) -> Response:
    """An attachment's bytes through the person's own token (the page shows photos as images; residents' too)."""
    return file_response(
        f"/api/v1/tickets/{quote(ticket_id, safe='')}/attachments/{quote(attachment_id, safe='')}/content"
    )


def file_response(path: str) -> Response:
    """A stored file's bytes from the API `path`: an image shown inline on our pages, anything else a download."""
    response = client.raw("GET", path)
    if response.status != 200:
        abort(404)
    content_type = response.headers.get("Content-Type", "application/octet-stream")
    headers = {"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff"}
    if not content_type.startswith("image/"):
        headers["Content-Disposition"] = "attachment"
    return Response(response.body, content_type=content_type, headers=headers)
