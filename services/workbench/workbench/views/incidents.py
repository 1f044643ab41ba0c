"""突发事件: open an incident for buildings and zones (the urgent notice goes to their households), follow it on
site — arrival, containment, resolution, aftermath tasks with owners — close it, and print or export its report."""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for

from .. import client
from .common import items
from .forms import attempt, form_values, q
from .notices import _targets
from .tickets import file_response, posted_photo, required_photo

bp = Blueprint("incidents", __name__, url_prefix="/incidents")

TYPES = ("water_outage", "power_outage", "elevator_entrapment", "fire", "flooding", "gas_leak", "security", "other")
SEVERITIES = ("major", "minor", "critical")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _scopes() -> list[tuple[str, str, str]]:
    """Buildings and zones the person may name, as (kind:id, label, community id)."""
    return [t for t in _targets() if not t[0].startswith("community:")]


def _page(values=None, errors=None, status=200):
    found = client.get("/api/v1/tickets/incidents", {"page_size": 50})
    context = {"found": found, "scopes": _scopes(), "types": TYPES, "severities": SEVERITIES}
    return render_template("incidents.html", values=values or {}, errors=errors or {}, **context), status


@bp.get("")
def index():
    return _page()


@bp.post("")
def create():
    scopes = _scopes()
    chosen = [s for s in scopes if s[0] in request.form.getlist("scope")]
    body = {
        **form_values("type", "severity", "title", "description"),
        "community_id": chosen[0][2] if chosen else "",
        "scope": {
            "building_ids": [v.split(":", 1)[1] for v, _, _ in chosen if v.startswith("building:")],
            "zone_ids": [v.split(":", 1)[1] for v, _, _ in chosen if v.startswith("zone:")],
        },
        "notify_residents": request.form.get("notify_residents") == "on",
    }
    if not chosen:
        body.pop("community_id")
    created, errors = attempt(client.post, "/api/v1/tickets/incidents", body)
    if errors:
        values = {**request.form.to_dict(), "scope": request.form.getlist("scope")}
        return _page(values, {k.replace("scope.", "").replace("_ids", ""): v for k, v in errors.items()}, 422)
    return redirect(url_for("incidents.detail", incident_id=created["id"]), code=303)


def _report(incident_id: str) -> dict:
    return client.get(f"/api/v1/tickets/incidents/{q(incident_id)}/report")


@bp.get("/<incident_id>")
def detail(incident_id, errors=None, status=200):
    incident = _report(incident_id)
    staff = items(client.get_or_none("/api/v1/users/staff", {"community_id": incident["community_id"]}))
    return render_template("incident_detail.html", incident=incident, staff=staff, errors=errors or {}), status


@bp.get("/<incident_id>/print")
def printable(incident_id):
    """The incident report on one printable page (the browser's 打印 prints it)."""
    return render_template("incident_print.html", incident=_report(incident_id))


@bp.get("/<incident_id>/report.xlsx")
def export(incident_id):
    response = client.raw("GET", f"/api/v1/tickets/incidents/{q(incident_id)}/report?format=xlsx")
    if response.status != 200:
        abort(404)
    disposition = response.headers.get("Content-Disposition") or "attachment"
    return Response(response.body, content_type=XLSX, headers={"Content-Disposition": disposition})


# Form → API path under the incident and the fields it posts.
ACTIONS = {
    "progress": ("step", "note"),
    "tasks": ("title", "owner_id"),
    "close": ("summary",),
}


def _photo(incident_id: str, log_id: str | None = None) -> dict:
    """The posted photo (field `photo`) onto the incident, of its log entry `log_id`; {} or {photo: message}."""
    fields = {"log_id": log_id} if log_id else {}
    return posted_photo(f"/api/v1/tickets/incidents/{q(incident_id)}/photos", **fields)


@bp.post("/<incident_id>/photos")
def add_photo(incident_id):
    errors = required_photo(f"/api/v1/tickets/incidents/{q(incident_id)}/photos")
    if errors:
        return detail(incident_id, errors=errors, status=422)
    return redirect(url_for("incidents.detail", incident_id=incident_id) + "#incident-photos", code=303)


@bp.get("/<incident_id>/photos/<photo_id>")
def photo(incident_id, photo_id):
    return file_response(f"/api/v1/tickets/incidents/{q(incident_id)}/photos/{q(photo_id)}/content")


@bp.post("/<incident_id>/<action>")
def act(incident_id, action):
    if action not in ACTIONS:
        abort(404)
    path = f"/api/v1/tickets/incidents/{q(incident_id)}/{action}"
    done, errors = attempt(client.post, path, form_values(*ACTIONS[action]))
    if errors:
        return detail(incident_id, errors=errors, status=422)
    if action == "progress":  # a photo taken at this step goes with its log entry (the newest)
        errors = _photo(incident_id, done["log"][-1]["id"] if done.get("log") else None)
        if errors:
            return detail(incident_id, errors=errors, status=422)
    return redirect(url_for("incidents.detail", incident_id=incident_id), code=303)


@bp.post("/<incident_id>/tasks/<task_id>/done")
def task_done(incident_id, task_id):
    _, errors = attempt(client.post, f"/api/v1/tickets/incidents/{q(incident_id)}/tasks/{q(task_id)}/done", {})
    if errors:
        return detail(incident_id, errors=errors, status=422)
    return redirect(url_for("incidents.detail", incident_id=incident_id), code=303)
