"""特约服务与有偿服务: the community's catalogue (name, description, price fixed / per unit / quoted / free, who
delivers, lead time), orders the butler places for a household and follows — scheduled (a quoted one priced),
delivered (a priced one is billed to the unit), rated by the household, or cancelled — and the promotion figures:
orders and revenue by item and zone in a month, with the XLSX. The API decides who may do what."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for

from guanjia import web

from .. import client
from .common import items
from .forms import attempt, chosen_community, form_values, household_form, local_instant, q

bp = Blueprint("services", __name__, url_prefix="/services")

PRICINGS = ("fixed", "per_unit", "quoted", "free")
PROVIDERS = ("own_staff", "partner")
ORDER_STATUSES = ("requested", "scheduled", "completed", "rated", "cancelled")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _catalogue(community) -> list:
    if not community:
        return []
    return items(client.get_or_none("/api/v1/catalogue", {"community_id": community["id"], "page_size": 100}))


def _catalogue_page(errors=None, status=200):
    places, community = chosen_community()
    return (
        render_template(
            "services.html",
            places=places,
            community=community,
            catalogue=_catalogue(community),
            pricings=PRICINGS,
            providers=PROVIDERS,
            errors=errors or {},
            values=request.form,
        ),
        status,
    )


@bp.get("")
def index():
    return _catalogue_page()


@bp.post("/items")
def create_item():
    _, community = chosen_community()
    form = request.form
    body = {
        "community_id": community["id"] if community else "",
        "pricing": form.get("pricing", ""),
        "provider": form.get("provider", ""),
        **form_values("name", "description", "price", "unit_name", "partner_name", "lead_days"),
    }
    created, errors = attempt(client.post, "/api/v1/catalogue", body)
    if created is None:
        return _catalogue_page(errors, 422)
    return redirect(url_for("services.index", community_id=body["community_id"]), code=303)


@bp.post("/items/<item_id>/active")
def toggle_item(item_id):
    _, errors = attempt(client.patch, f"/api/v1/catalogue/{q(item_id)}", {"active": request.form.get("active") == "on"})
    if errors:
        return _catalogue_page(errors, 422)
    return redirect(url_for("services.index", community_id=request.values.get("community_id", "")), code=303)


# -- orders ----------------------------------------------------------------------------------------------------------
def _orders_page(errors=None, form_name=None, status=200):
    places, community = chosen_community()
    chosen = request.args.get("status", "")
    found = []
    if community:
        params = {"community_id": community["id"], "page_size": 100, **({"status": chosen} if chosen else {})}
        found = items(client.get_or_none("/api/v1/service-orders", params))
    catalogue = [i for i in _catalogue(community) if i.get("active")]
    return (
        render_template(
            "service_orders.html",
            places=places,
            community=community,
            orders=found,
            statuses=ORDER_STATUSES,
            status=chosen if chosen in ORDER_STATUSES else "",
            catalogue=catalogue,
            **household_form(errors, form_name),
        ),
        status,
    )


@bp.get("/orders")
def orders():
    return _orders_page()


@bp.post("/orders")
def place_order():
    body = form_values("unit_id", "item_id", "quantity", "note")
    created, errors = attempt(client.post, "/api/v1/service-orders", {"unit_id": "", "item_id": "", **body})
    if created is None:
        return _orders_page(errors, "order", 422)
    return redirect(url_for("services.orders", community_id=created["community_id"]), code=303)


@bp.post("/orders/<order_id>/<action>")
def order_action(order_id, action):
    errors: dict = {}
    if action == "schedule":
        body = {"scheduled_for": local_instant(request.form.get("scheduled_for", ""), "scheduled_for", errors)}
        body.update(form_values("price"))
    elif action in ("complete", "cancel"):
        body = {}
    else:
        abort(404)
    if not errors:
        _, errors = attempt(client.post, f"/api/v1/service-orders/{q(order_id)}/{action}", body)
    if errors:
        return _orders_page(errors, f"order-{order_id}", 422)
    return redirect(url_for("services.orders", community_id=request.values.get("community_id", "")), code=303)


# -- promotion figures -----------------------------------------------------------------------------------------------
def _month() -> str:
    chosen = request.args.get("month", "")
    if chosen:
        return chosen[:7]
    zone = ZoneInfo(current_app.extensions["guanjia.settings"].timezone)
    return web.now().astimezone(zone).strftime("%Y-%m")


@bp.get("/figures")
def figures():
    places, community = chosen_community()
    month, found, errors = _month(), None, {}
    if community:
        found, errors = attempt(
            client.get, "/api/v1/service-orders/figures", {"community_id": community["id"], "month": month}
        )
    return render_template(
        "service_figures.html", places=places, community=community, month=month, figures=found, errors=errors
    )


@bp.get("/figures.xlsx")
def figures_xlsx():
    _, community = chosen_community()
    if not community:
        abort(404)
    month = _month()
    params = {"community_id": community["id"], "month": month, "format": "xlsx"}
    response = client.raw("GET", "/api/v1/service-orders/figures", params=params)
    if response.status != 200:
        abort(response.status if response.status in (403, 404, 422) else 502)
    name = f"service-figures-{month}.xlsx"
    return Response(response.body, mimetype=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})
