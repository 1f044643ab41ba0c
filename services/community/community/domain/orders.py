"""The service catalogue (特约服务, 有偿服务) and its orders: requested → scheduled → completed → rated; a priced
completed order is charged to the unit by billing under the item's name (service_order.completed)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanjia.auth import Principal
from guanjia.db import as_utc, new_id
from guanjia.errors import Conflict, Invalid, NotFound
from guanjia.money import fen_to_str, to_fen

from .. import events
from ..models import CatalogueItem, ServiceOrder
from . import units
from .common import emit

PRICINGS = ("free", "fixed", "per_unit", "quoted")
PROVIDERS = ("own_staff", "partner")
ORDER_STATUSES = ("requested", "scheduled", "completed", "rated", "cancelled")


def _check_price(pricing: str, price: Decimal | None) -> None:
    if pricing in ("fixed", "per_unit") and not price:
        raise Invalid("price", "a fixed or per-unit price needs a price above zero")
    if pricing in ("quoted", "free") and price is not None:
        raise Invalid("price", "a quoted or free item has no list price")


def item_view(item: CatalogueItem) -> dict:
    return {
        **{c.name: getattr(item, c.name) for c in CatalogueItem.__table__.columns},
        "price": fen_to_str(item.price_fen),
    }


def create_item(session: Session, principal: Principal, now: datetime, body: dict) -> CatalogueItem:
    if not principal.sees_community(body["community_id"]):
        raise NotFound("no such community")
    _check_price(body["pricing"], body.get("price"))
    item = CatalogueItem(
        id=new_id(),
        community_id=body["community_id"],
        name=body["name"],
        description=body.get("description"),
        pricing=body["pricing"],
        price_fen=to_fen(body.get("price")),
        unit_name=body.get("unit_name"),
        provider=body["provider"],
        partner_name=body.get("partner_name"),
        lead_days=body.get("lead_days", 0),
        active=body.get("active", True),
        created_at=now,
        updated_at=now,
    )
    session.add(item)
    session.flush()
    return item


def get_item(session: Session, principal: Principal, item_id: str) -> CatalogueItem:
    item = session.get(CatalogueItem, item_id)
    if item is None or not principal.sees_community(item.community_id):
        raise NotFound("no such catalogue item")
    if principal.role == "resident" and not item.active:
        raise NotFound("no such catalogue item")
    return item


def update_item(session: Session, principal: Principal, now: datetime, item_id: str, body: dict) -> CatalogueItem:
    item = get_item(session, principal, item_id)
    if "price" in body:
        item.price_fen = to_fen(body.pop("price"))
    for name, value in body.items():
        setattr(item, name, value)
    _check_price(item.pricing, None if item.price_fen is None else Decimal(item.price_fen))
    item.updated_at = now
    return item


def items_query(principal: Principal, args: dict):
    if not principal.sees_community(args["community_id"]):
        raise NotFound("no such community")
    query = select(CatalogueItem).where(CatalogueItem.community_id == args["community_id"])
    if principal.role == "resident":
        query = query.where(CatalogueItem.active.is_(True))
    return query.order_by(CatalogueItem.name, CatalogueItem.id)


def order_view(order: ServiceOrder) -> dict:
    return {
        **{c.name: getattr(order, c.name) for c in ServiceOrder.__table__.columns},
        "amount": fen_to_str(order.amount_fen),
    }


def place(session: Session, principal: Principal, now: datetime, body: dict) -> ServiceOrder:
    """A resident orders for their home, a butler for a home of their zones; the item must be offered in the
    household's own community."""
    unit = units.household_in_scope(session, principal, body["unit_id"])
    item = session.get(CatalogueItem, body["item_id"])
    if item is None or item.community_id != unit.community_id or not item.active:
        raise Invalid("item_id", "not an item of this household's community")
    quantity = body.get("quantity", 1)
    if item.pricing != "per_unit" and quantity != 1:
        raise Invalid("quantity", "only per-unit items take a quantity")
    amount = {"fixed": item.price_fen, "per_unit": (item.price_fen or 0) * quantity, "free": 0}.get(item.pricing)
    order = ServiceOrder(
        id=new_id(),
        community_id=unit.community_id,
        unit_id=unit.id,
        zone_id=unit.zone_id,
        item_id=item.id,
        item_name=item.name,
        quantity=quantity,
        amount_fen=amount,
        status="requested",
        note=body.get("note"),
        requested_by=principal.username or principal.subject,
        created_at=now,
    )
    session.add(order)
    session.flush()
    return order


def get_order(session: Session, principal: Principal, order_id: str) -> ServiceOrder:
    order = session.get(ServiceOrder, order_id)
    if order is None:
        raise NotFound("no such order")
    if principal.role == "resident":
        allowed = order.unit_id in principal.units
    else:
        allowed = principal.sees_zone(order.community_id, order.zone_id)
    if not allowed:
        raise NotFound("no such order")
    return order


def orders_query(principal: Principal, args: dict):
    """A resident sees their household's orders; a butler their zones'; community roles the community's."""
    if not principal.sees_community(args["community_id"]):
        raise NotFound("no such community")
    query = select(ServiceOrder).where(ServiceOrder.community_id == args["community_id"])
    if principal.role == "resident":
        query = query.where(ServiceOrder.unit_id.in_(list(principal.units)))
    elif principal.role == "butler":
        query = query.where(ServiceOrder.zone_id.in_(list(principal.zones)))
    if args.get("status"):
        query = query.where(ServiceOrder.status == args["status"])
    return query.order_by(ServiceOrder.created_at.desc(), ServiceOrder.id)


def _move(order: ServiceOrder, allowed_from: tuple[str, ...], to: str) -> None:
    if order.status not in allowed_from:
        raise Conflict("the order cannot take this step in its present state")
    order.status = to


def schedule(session: Session, principal: Principal, order_id: str, body: dict) -> ServiceOrder:
    """Staff agree the time with the household; a quoted item gets its price here."""
    if principal.role == "resident":
        raise NotFound("no such order")
    order = get_order(session, principal, order_id)
    _move(order, ("requested", "scheduled"), "scheduled")
    order.scheduled_for = body["scheduled_for"]
    if body.get("price") is not None:
        if session.get(CatalogueItem, order.item_id).pricing != "quoted":
            raise Invalid("price", "only a quoted item is priced per order")
        order.amount_fen = to_fen(body["price"])
    return order


def complete(session: Session, settings, principal: Principal, now: datetime, order_id: str) -> ServiceOrder:
    """The service was delivered: a priced order is charged to the unit by billing under the item's name."""
    if principal.role == "resident":
        raise NotFound("no such order")
    order = get_order(session, principal, order_id)
    if order.amount_fen is None:
        raise Invalid("price", "price the quoted order when scheduling it")
    _move(order, ("scheduled",), "completed")
    order.completed_at = now
    emit(
        session,
        settings,
        events.SERVICE_ORDER_COMPLETED,
        f"service_order/{order.id}",
        {
            "order_id": order.id,
            "community_id": order.community_id,
            "unit_id": order.unit_id,
            "item_id": order.item_id,
            "item_name": order.item_name,
            "quantity": order.quantity,
            "amount": fen_to_str(order.amount_fen),
            "completed_at": now.isoformat(),
        },
    )
    return order


def rate(session: Session, principal: Principal, order_id: str, rating: int) -> ServiceOrder:
    if principal.role != "resident":
        raise Invalid("rating", "the household rates its own order")
    order = get_order(session, principal, order_id)
    _move(order, ("completed",), "rated")
    order.rating = rating
    return order


def cancel(session: Session, principal: Principal, order_id: str) -> ServiceOrder:
    order = get_order(session, principal, order_id)
    _move(order, ("requested", "scheduled"), "cancelled")
    return order


def monthly_figures(session: Session, principal: Principal, settings, community_id: str, month: str) -> dict:
    """Promotion figures: completed orders and revenue by item and by zone in a local month (YYYY-MM)."""
    if not principal.sees_community(community_id):
        raise NotFound("no such community")
    zone = ZoneInfo(settings.timezone)
    rows = session.execute(
        select(ServiceOrder).where(ServiceOrder.community_id == community_id, ServiceOrder.completed_at.is_not(None))
    ).scalars()
    by_item: dict = defaultdict(lambda: [0, 0])
    by_zone: dict = defaultdict(lambda: [0, 0])
    for order in rows:
        if as_utc(order.completed_at).astimezone(zone).strftime("%Y-%m") != month:
            continue
        if principal.role == "butler" and order.zone_id not in principal.zones:
            continue
        for bucket in (by_item[order.item_name], by_zone[order.zone_id]):
            bucket[0] += 1
            bucket[1] += order.amount_fen or 0
    names = units.zone_names(session, by_zone)
    return {
        "community_id": community_id,
        "month": month,
        "by_item": [
            {"item_name": name, "orders": n, "revenue": fen_to_str(total)}
            for name, (n, total) in sorted(by_item.items())
        ],
        "by_zone": [
            {"zone_id": z, "zone_name": names.get(z), "orders": n, "revenue": fen_to_str(total)}
            for z, (n, total) in sorted(by_zone.items(), key=lambda kv: names.get(kv[0]) or "")
        ],
    }


def figures_xlsx(figures: dict, timezone: str) -> bytes:
    """The promotion figures as a workbook: a sheet by item and one by zone, Chinese headers, revenue in yuan."""
    from guanjia.workbook import Column, Workbook

    book = Workbook(timezone)
    columns = [Column("订单数", "int"), Column("收入", "money")]
    book.sheet(
        "按服务项目",
        [Column("服务项目", width=24), *columns],
        [[r["item_name"], r["orders"], r["revenue"]] for r in figures["by_item"]],
    )
    book.sheet(
        "按片区",
        [Column("片区", width=16), *columns],
        [[r["zone_name"] or "未分片区", r["orders"], r["revenue"]] for r in figures["by_zone"]],
    )
    return book.to_bytes()
