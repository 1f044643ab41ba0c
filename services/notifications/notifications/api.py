"""HTTP API of the notifications service: the delivery log, scoped to the caller; no rules here."""

from __future__ import annotations

from flask_smorest import Blueprint

from guanjia import web

from . import domain
from .schemas import NotificationListArgs, NotificationOut, NotificationPage

blp = Blueprint(
    "notifications",
    __name__,
    url_prefix="/api/v1/notifications",
    description="Delivery log of the messages sent to residents",
)


@blp.route("", methods=["GET"])
@blp.arguments(NotificationListArgs, location="query")
@blp.response(200, NotificationPage)
def list_notifications(args):
    """Deliveries the caller may see, newest first; a resident sees only those sent to them."""
    query = domain.list_deliveries(web.principal(), args)
    with web.database().transaction() as session:
        return web.paginate(session, query, args["page"], args["page_size"])


@blp.route("/<delivery_id>", methods=["GET"])
@blp.response(200, NotificationOut)
def get_notification(delivery_id):
    with web.database().transaction() as session:
        return domain.get_delivery(session, web.principal(), delivery_id)
