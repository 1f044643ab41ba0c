"""物业结构 (property structure, admins): communities, their zones with the zones' butlers, buildings and units —
all written through residents' public API (the one source of the structure), shown by name, never by id."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for

from .. import client
from .common import items
from .forms import attempt, communities, form_values, q

bp = Blueprint("structure", __name__, url_prefix="/admin/structure")
UNIT_TYPES = ("residential", "shop", "parking", "storage")


def _butlers() -> list:
    """Active butler accounts, to tick a zone's butlers by name."""
    found = items(client.get_or_none("/api/v1/users", {"role": "butler", "active": "true", "page_size": 100}))
    return sorted(found, key=lambda u: u.get("display_name") or u.get("username") or "")


def _page(community_id: str | None, values: dict | None = None, errors: dict | None = None, status: int = 200):
    known = communities()
    chosen = community_id or (known[0]["id"] if known else None)
    community = next((c for c in known if c["id"] == chosen), None)
    if chosen and community is None:
        abort(404)
    zones = buildings = []
    if community:
        zones = items(client.get("/api/v1/zones", {"community_id": chosen, "page_size": 100}))
        buildings = items(client.get("/api/v1/buildings", {"community_id": chosen, "page_size": 100}))
    page = render_template(
        "structure.html",
        communities=known,
        community=community,
        zones=zones,
        buildings=buildings,
        butlers=_butlers(),
        values=values or {},
        errors=errors or {},
    )
    return page, status


def _back(community_id: str):
    return redirect(url_for("structure.index", community_id=community_id), code=303)


@bp.get("")
def index():
    return _page(request.args.get("community_id"))


@bp.post("/communities")
def create_community():
    values = form_values("name")
    created, errors = attempt(client.post, "/api/v1/communities", values)
    if errors:
        return _page(request.form.get("current") or None, {"community": values}, {"community": errors}, 422)
    return _back(created["id"])


@bp.post("/communities/<community_id>")
def rename_community(community_id):
    values = form_values("name")
    _done, errors = attempt(client.patch, f"/api/v1/communities/{q(community_id)}", values)
    if errors:
        return _page(community_id, {"rename": values}, {"rename": errors}, 422)
    return _back(community_id)


@bp.post("/communities/<community_id>/zones")
def create_zone(community_id):
    values = form_values("name")
    body = {**values, "community_id": community_id, "butler_ids": request.form.getlist("butler_ids")}
    _done, errors = attempt(client.post, "/api/v1/zones", body)
    if errors:
        return _page(community_id, {"zone": body}, {"zone": errors}, 422)
    return _back(community_id)


@bp.post("/zones/<zone_id>")
def update_zone(zone_id):
    """Rename a zone and set its butlers (residents publishes zone.updated: the butlers' access follows)."""
    community_id = request.form.get("community_id", "")
    body = {**form_values("name"), "butler_ids": [b for b in request.form.getlist("butler_ids") if b]}
    _done, errors = attempt(client.patch, f"/api/v1/zones/{q(zone_id)}", body)
    if errors:
        return _page(community_id, {}, {f"zone-{zone_id}": errors}, 422)
    return _back(community_id)


@bp.post("/communities/<community_id>/buildings")
def create_building(community_id):
    values = form_values("name", "zone_id")
    _done, errors = attempt(client.post, "/api/v1/buildings", {**values, "community_id": community_id})
    if errors:
        return _page(community_id, {"building": values}, {"building": errors}, 422)
    return _back(community_id)


@bp.post("/buildings/<building_id>")
def update_building(building_id):
    """Rename a building or move it to another zone (its units follow)."""
    community_id = request.form.get("community_id", "")
    body = {**form_values("name"), "zone_id": request.form.get("zone_id") or None}
    _done, errors = attempt(client.patch, f"/api/v1/buildings/{q(building_id)}", body)
    if errors:
        return _page(community_id, {}, {f"building-{building_id}": errors}, 422)
    return _back(community_id)


def _building_page(building_id: str, values: dict, errors: dict, status: int = 200):
    building = client.get(f"/api/v1/buildings/{q(building_id)}")
    community = client.get(f"/api/v1/communities/{q(building['community_id'])}")
    zones = items(client.get("/api/v1/zones", {"community_id": building["community_id"], "page_size": 100}))
    units = items(client.get("/api/v1/units", {"building_id": building_id, "page_size": 100}))
    page = render_template(
        "structure_building.html",
        building=building,
        community=community,
        zones=zones,
        units=sorted(units, key=lambda u: (u.get("floor") or 0, u.get("number") or "")),
        unit_types=UNIT_TYPES,
        values=values,
        errors=errors,
    )
    return page, status


@bp.get("/buildings/<building_id>")
def building(building_id):
    return _building_page(building_id, {"unit_type": "residential", "floor": "1"}, {})


@bp.post("/buildings/<building_id>/units")
def create_unit(building_id):
    values = form_values("number", "floor", "area_m2", "inner_area_m2", "unit_type")
    body = {**values, "building_id": building_id}
    if values.get("floor", "").lstrip("-").isdigit():
        body["floor"] = int(values["floor"])  # the API's integer is strict; anything else it refuses by name
    _done, errors = attempt(client.post, "/api/v1/units", body)
    if errors:
        return _building_page(building_id, values, errors, 422)
    return redirect(url_for("structure.building", building_id=building_id), code=303)
