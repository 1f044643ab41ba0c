"""HTTP API for other services (role `service`): who to tell about a unit, a zone, a community."""

from __future__ import annotations

from guanjia import web
from guanjia.web import Blueprint

from ..domain import people, structure
from ..schemas.internal_structure import (
    ButlerZonesOut,
    InternalUnitsArgs,
    InternalUnitsOut,
    InternalZoneOut,
    RecipientsArgs,
    RecipientsOut,
    UnitContactsArgs,
    UnitContactsOut,
)

internal_more = Blueprint(
    "internal_structure",
    __name__,
    url_prefix="/api/v1/internal",
    description="For other services only (role `service`): who to tell about a unit, a zone, a community",
)


@internal_more.route("/units/<unit_id>/contacts", methods=["GET"])
@internal_more.arguments(UnitContactsArgs, location="query")
@internal_more.response(200, UnitContactsOut)
def unit_contacts(args, unit_id):
    """The current residents of a unit (optionally only some roles), phones in clear, with their SMS opt-out."""
    with web.database().transaction() as session:
        return people.unit_contacts(session, web.principal(), unit_id, args.get("roles"))


@internal_more.route("/communities/<community_id>/units", methods=["GET"])
@internal_more.arguments(InternalUnitsArgs, location="query")
@internal_more.response(200, InternalUnitsOut)
def internal_units(args, community_id):
    """Every unit of a community (ids, or with `detail=true` their data): billing checks its projection before a run."""
    with web.database().transaction() as session:
        return structure.internal_units(session, web.principal(), community_id, args["detail"])


@internal_more.route("/zones/<zone_id>", methods=["GET"])
@internal_more.response(200, InternalZoneOut)
def internal_zone(zone_id):
    with web.database().transaction() as session:
        return structure.internal_zone(session, web.principal(), zone_id)


@internal_more.route("/butlers/<user_id>/zones", methods=["GET"])
@internal_more.response(200, ButlerZonesOut)
def butler_zones(user_id):
    """The zones a butler (a gateway user id) is assigned to: what the gateway scopes their token to."""
    with web.database().transaction() as session:
        return structure.zones_of_butler(session, web.principal(), user_id, web.now())


@internal_more.route("/communities/<community_id>/recipients", methods=["GET"])
@internal_more.arguments(RecipientsArgs, location="query")
@internal_more.response(200, RecipientsOut)
def community_recipients(args, community_id):
    """The audience of a community notice: every current resident of the community, a building or a zone."""
    with web.database().transaction() as session:
        return people.community_recipients(session, web.principal(), community_id, args["scope"], args.get("target_id"))
