"""HTTP API of the billing service: load → call domain → dump; no rules here."""

from __future__ import annotations

from urllib.parse import quote

from flask import current_app
from flask_smorest import Blueprint

from guanjia import web
from guanjia.errors import UpstreamUnavailable

from . import domain
from .schemas import BillingUnitListArgs, BillingUnitOut, BillingUnitPage

blp = Blueprint(
    "billing_units",
    __name__,
    url_prefix="/api/v1/billing/units",
    description="Units as billing knows them: the area fees are charged on",
)


def _fetch_unit_from_residents(unit_id: str):
    client = current_app.extensions["billing.residents"]
    response = client.get(f"/api/v1/units/{quote(unit_id, safe='')}")
    if response.status == 404:
        return None
    if response.status != 200:
        raise UpstreamUnavailable(f"residents answered {response.status} when checking the unit")
    return response.json()


@blp.route("", methods=["GET"])
@blp.arguments(BillingUnitListArgs, location="query")
@blp.response(200, BillingUnitPage)
def list_units(args):
    """Units the caller may see: finance and managers their communities, residents their own units."""
    query = domain.list_units(web.principal(), args)
    with web.database().transaction() as session:
        return web.paginate(session, query, args["page"], args["page_size"])


@blp.route("/<unit_id>", methods=["GET"])
@blp.response(200, BillingUnitOut)
def get_unit(unit_id):
    """One unit; a unit not projected yet is checked with residents before the answer is 404."""
    with web.database().transaction() as session:
        return domain.get_unit(session, web.principal(), unit_id, _fetch_unit_from_residents)
