"""收费项目 (fee items and their dated rates, per community): the finance roles add an item with its first rate,
rename it, say whom it applies to, stop charging it, and add a rate from a date on — billing's API validates every
field and its refusal is shown under that field. Other cashier roles read the same page without the forms."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for

from .. import client
from .common import items, me
from .forms import attempt, chosen_community, form_values, q

bp = Blueprint("fees", __name__, url_prefix="/finance/fees")
EDITORS = ("finance", "admin")  # billing's MONEY_ROLES: the roles that may change fee items and rates
KINDS = ("property_service", "elevator", "parking", "water", "electricity", "heating", "gas")
BASES = ("per_m2", "per_unit", "per_space", "metered")
ROUNDINGS = ("half_even", "half_up", "down", "up")
UNIT_TYPES = ("residential", "shop", "parking", "storage")
ITEM_FIELDS = ("name", "kind", "basis", "rate", "effective_from", "exempt_floors_max", "rounding")


def _page(values: dict, errors: dict, status: int = 200):
    known, community = chosen_community()
    fee_items = []
    if community:
        fee_items = items(client.get("/api/v1/billing/fee-items", {"community_id": community["id"], "page_size": 100}))
    page = render_template(
        "fees.html",
        communities=known,
        community=community,
        fee_items=fee_items,
        can_edit=me().get("role") in EDITORS,
        kinds=KINDS,
        bases=BASES,
        roundings=ROUNDINGS,
        unit_types=UNIT_TYPES,
        values=values,
        errors=errors,
    )
    return page, status


def _back(community_id: str):
    return redirect(url_for("fees.index", community_id=community_id), code=303)


def _integer(body: dict, name: str) -> None:
    """A number field as the API's integer; text that is no integer goes as it is, for the API to refuse by name."""
    if body.get(name, "").lstrip("-").isdigit():
        body[name] = int(body[name])


@bp.get("")
def index():
    return _page({"new": {"kind": "property_service", "basis": "per_m2", "rounding": "half_even"}}, {})


@bp.post("")
def create_item():
    _known, community = chosen_community()
    if community is None:
        abort(404)
    values = form_values(*ITEM_FIELDS)
    values["unit_types"] = [t for t in request.form.getlist("unit_types") if t]
    body = {k: v for k, v in values.items() if v}
    body["community_id"] = community["id"]
    _integer(body, "exempt_floors_max")
    _done, errors = attempt(client.post, "/api/v1/billing/fee-items", body)
    if errors:
        return _page({"new": values}, {"new": errors}, 422)
    return _back(community["id"])


@bp.post("/<fee_item_id>")
def update_item(fee_item_id):
    """Rename, whom it applies to, the exempt floors, and whether it is still charged (from the next run on)."""
    community_id = request.form.get("community_id", "")
    body = {**form_values("name", "exempt_floors_max"), "active": request.form.get("active") == "1"}
    unit_types = [t for t in request.form.getlist("unit_types") if t]
    if unit_types:
        body["unit_types"] = unit_types
    _integer(body, "exempt_floors_max")
    if "exempt_floors_max" not in body and request.form.get("exempt_floors_max") is not None:
        body["exempt_floors_max"] = None  # an emptied field: no floors exempt
    _done, errors = attempt(client.patch, f"/api/v1/billing/fee-items/{q(fee_item_id)}", body)
    if errors:
        return _page({}, {fee_item_id: errors}, 422)
    return _back(community_id)


@bp.post("/<fee_item_id>/rates")
def add_rate(fee_item_id):
    """A new rate from a date on; bills issued before keep their amounts."""
    community_id = request.form.get("community_id", "")
    values = form_values("rate", "effective_from")
    _done, errors = attempt(client.post, f"/api/v1/billing/fee-items/{q(fee_item_id)}/rates", values)
    if errors:
        return _page({f"rate-{fee_item_id}": values}, {f"rate-{fee_item_id}": errors}, 422)
    return _back(community_id)
