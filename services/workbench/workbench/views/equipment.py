"""设施设备台账 and 维保: the community's equipment by kind, state and building, a piece's page (location, maker and
model, contractor, certificates with their expiry, running state, 报故障 opening a repair ticket, its maintenance
plans and history), the certificates expiring soon, and the maintenance work orders with their checklists."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for

from .. import client
from ..i18n import label
from .common import items, me
from .forms import attempt, chosen_community, form_values, q

bp = Blueprint("equipment", __name__, url_prefix="/equipment")

KINDS = (
    "elevator",
    "escalator",
    "water_pump",
    "fire_system",
    "generator",
    "power_distribution",
    "hvac",
    "gate",
    "access_control",
    "cctv",
    "boiler",
    "other",
)
STATES = ("operating", "fault", "under_maintenance", "stopped", "retired")
CERTIFICATES = (
    "elevator_annual_inspection",
    "special_equipment_registration",
    "fire_inspection",
    "pressure_vessel_inspection",
    "other",
)
PRIORITIES = ("normal", "low", "high", "emergency")
FREQUENCIES = ("daily", "weekly", "monthly", "yearly")
# Who keeps the register and plans maintenance (the API's KEEPERS): the forms are offered to them only.
KEEPERS = ("engineer", "senior_butler", "cs_manager", "admin")
REGISTER_FIELDS = (
    "kind",
    "name",
    "code",
    "zone_id",
    "building_id",
    "floor",
    "room",
    "location_note",
    "maker",
    "model",
    "serial_number",
    "installed_on",
    "contractor",
)
FILTERS = ("kind", "state", "building_id")


def _buildings(community_id: str) -> list:
    return items(client.get_or_none("/api/v1/buildings", {"community_id": community_id, "page_size": 100}))


def _zones(community_id: str) -> list:
    return items(client.get_or_none("/api/v1/zones", {"community_id": community_id, "page_size": 100}))


def _index(values=None, errors=None, status=200):
    known, community = chosen_community()
    context = {"communities": known, "community": community, "kinds": KINDS, "states": STATES}
    if community is None:
        return render_template("equipment.html", found=[], expiring=[], building_options=[], zone_options=[],
                               filters={}, values={}, errors={}, keeper=False, **context), status  # fmt: skip
    filters = {name: request.args.get(name, "") for name in FILTERS if request.args.get(name)}
    found, filter_errors = attempt(
        client.get, "/api/v1/tickets/equipment", {"community_id": community["id"], "page_size": 100, **filters}
    )
    expiring = client.get_or_none("/api/v1/tickets/equipment/certificates/expiring", {"community_id": community["id"]})
    buildings = _buildings(community["id"])
    names = {b["id"]: b["name"] for b in buildings}
    rows = items(found)
    for row in rows:
        row["building_name"] = names.get(row.get("building_id"))
    return (
        render_template(
            "equipment.html",
            found=rows,
            expiring=items(expiring),
            building_options=[(b["id"], b["name"]) for b in buildings],
            kind_options=[(k, label(k, "kind")) for k in KINDS],
            state_options=[(s, label(s, "state")) for s in STATES],
            zone_options=[(z["id"], z["name"]) for z in _zones(community["id"])],
            filters=filters,
            values=values or {},
            errors={**filter_errors, **(errors or {})},
            keeper=me().get("role") in KEEPERS,
            **context,
        ),
        status,
    )


@bp.get("")
def index():
    return _index()


@bp.post("")
def register():
    body = {**form_values(*REGISTER_FIELDS), "community_id": request.form.get("community_id", "")}
    created, errors = attempt(client.post, "/api/v1/tickets/equipment", body)
    if errors:
        return _index(request.form.to_dict(), errors, 422)
    return redirect(url_for("equipment.detail", equipment_id=created["id"]), code=303)


def _detail(equipment_id: str, errors=None, values=None, status=200):
    base = f"/api/v1/tickets/equipment/{q(equipment_id)}"
    piece = client.get(base)
    building = None
    if piece.get("building_id"):
        building = client.get_or_none(f"/api/v1/buildings/{q(piece['building_id'])}")
    piece["building_name"] = (building or {}).get("name")
    history = client.get(f"{base}/history")
    plans = items(
        client.get_or_none("/api/v1/tickets/maintenance/plans", {"equipment_id": equipment_id, "page_size": 100})
    )
    keeper = me().get("role") in KEEPERS
    staff = items(client.get_or_none("/api/v1/users/staff", {"community_id": piece["community_id"]})) if keeper else []
    engineers = [s for s in staff if s.get("role") == "engineer"]
    context = {
        "piece": piece,
        "history": history,
        "plans": plans,
        "engineers": engineers,
        "keeper": keeper,
        "states": [s for s in STATES if s != piece["state"]],
        "certificates": CERTIFICATES,
        "priorities": PRIORITIES,
        "frequencies": FREQUENCIES,
        "errors": errors or {},
        "errored": {name.split(".", 1)[0] for name in errors or {}},  # the forms to show open
        "values": values or {},
    }
    return render_template("equipment_detail.html", **context), status


@bp.get("/<equipment_id>")
def detail(equipment_id):
    return _detail(equipment_id)


# Form → API path under the piece and the fields it posts (its errors are shown under `<action>.<field>`).
ACTIONS = {
    "state": ("state", "note"),
    "certificates": ("kind", "number", "issued_on", "expires_on"),
}


@bp.post("/<equipment_id>/<action>")
def act(equipment_id, action):
    if action not in ACTIONS:
        abort(404)
    path = f"/api/v1/tickets/equipment/{q(equipment_id)}/{action}"
    _, errors = attempt(client.post, path, form_values(*ACTIONS[action]))
    if errors:
        return _detail(equipment_id, {f"{action}.{k}": v for k, v in errors.items()}, request.form.to_dict(), 422)
    return redirect(url_for("equipment.detail", equipment_id=equipment_id), code=303)


@bp.post("/<equipment_id>/fault")
def fault(equipment_id):
    """报故障: a repair ticket for engineering, linked to the piece; the ticket's page follows."""
    body = form_values("description", "priority")
    ticket, errors = attempt(client.post, f"/api/v1/tickets/equipment/{q(equipment_id)}/faults", body)
    if errors:
        return _detail(equipment_id, {f"fault.{k}": v for k, v in errors.items()}, request.form.to_dict(), 422)
    return redirect(url_for("tickets.detail", ticket_id=ticket["id"]), code=303)


@bp.post("/<equipment_id>/plans")
def new_plan(equipment_id):
    checklist = [line.strip() for line in request.form.get("checklist", "").splitlines() if line.strip()]
    body = {**form_values("title", "frequency", "starts_on", "assignee_id"), "equipment_id": equipment_id}
    body["checklist"] = checklist
    _, errors = attempt(client.post, "/api/v1/tickets/maintenance/plans", body)
    if errors:
        shown = {f"plan.{k.split('.', 1)[0]}": v for k, v in errors.items()}
        return _detail(equipment_id, shown, request.form.to_dict(), 422)
    return redirect(url_for("equipment.detail", equipment_id=equipment_id) + "#plans", code=303)
