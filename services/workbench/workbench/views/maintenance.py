"""维保: the maintenance work orders due and overdue (the earliest first), an order's checklist completed with one
result per item (a fault found opens a repair ticket linked to the equipment), and the plans paused or resumed."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from .. import client
from .common import items
from .equipment import PRIORITIES
from .forms import attempt, chosen_community, q

bp = Blueprint("maintenance", __name__, url_prefix="/maintenance")


def _index(errors=None, status=200):
    known, community = chosen_community()
    orders, overdue, plans = [], [], []
    if community is not None:
        scope = {"community_id": community["id"], "page_size": 100}
        orders = items(client.get_or_none("/api/v1/tickets/maintenance/orders", {**scope, "status": "open"}))
        overdue = [o for o in orders if o.get("overdue")]
        orders = [o for o in orders if not o.get("overdue")]
        plans = items(client.get_or_none("/api/v1/tickets/maintenance/plans", scope))
    context = {"communities": known, "community": community, "orders": orders, "overdue": overdue, "plans": plans}
    return render_template("maintenance.html", errors=errors or {}, **context), status


@bp.get("")
def index():
    return _index()


@bp.post("/plans/<plan_id>/active")
def set_active(plan_id):
    active = request.form.get("active") == "true"
    _, errors = attempt(client.post, f"/api/v1/tickets/maintenance/plans/{q(plan_id)}/active", {"active": active})
    if errors:
        return _index(errors, 422)
    target = request.form.get("next") or ""
    if target.startswith("/equipment/"):
        return redirect(target + "#plans", code=303)
    return redirect(url_for("maintenance.index", community_id=request.form.get("community_id") or None), code=303)


# The API's nested field names → the form's fields (`results.0.item` is shown under `results`).
_FIELDS = {"faults.0.description": "fault", "faults.0.priority": "fault_priority"}


def _order(order_id: str, errors=None, values=None, status=200):
    order = client.get(f"/api/v1/tickets/maintenance/orders/{q(order_id)}")
    rows = [{"item": item, "index": i} for i, item in enumerate(order["checklist"])]
    context = {"order": order, "rows": rows, "priorities": PRIORITIES, "errors": errors or {}, "values": values or {}}
    return render_template("maintenance_order.html", **context), status


@bp.get("/orders/<order_id>")
def order(order_id):
    return _order(order_id)


@bp.post("/orders/<order_id>/complete")
def complete(order_id):
    found = client.get(f"/api/v1/tickets/maintenance/orders/{q(order_id)}")
    form = request.form
    results = []
    for i, item in enumerate(found["checklist"]):
        result = {"item": item, "ok": form.get(f"ok-{i}") != "no"}
        if form.get(f"note-{i}", "").strip():
            result["note"] = form[f"note-{i}"].strip()
        results.append(result)
    body = {"results": results}
    if form.get("note", "").strip():
        body["note"] = form["note"].strip()
    if form.get("fault", "").strip():
        body["faults"] = [{"description": form["fault"].strip(), "priority": form.get("fault_priority") or "normal"}]
    _, errors = attempt(client.post, f"/api/v1/tickets/maintenance/orders/{q(order_id)}/complete", body)
    if errors:
        shown = {_FIELDS.get(k, k.split(".", 1)[0]): v for k, v in errors.items()}
        return _order(order_id, shown, form.to_dict(), 422)
    return redirect(url_for("maintenance.order", order_id=order_id), code=303)
