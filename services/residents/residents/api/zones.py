"""HTTP API of zones (片区) and their butlers: load → call domain → dump."""

from __future__ import annotations

from guanjia import web
from guanjia.display import annotate
from guanjia.web import Blueprint

from ..domain import affairs, display, structure
from ..schemas.zones import (
    DaysArgs,
    FamiliarityOut,
    UnreachedOut,
    VacantArgs,
    VacantUnitOut,
    ZoneCreate,
    ZoneListArgs,
    ZoneOut,
    ZonePage,
    ZoneUpdate,
)
from .common import with_unit_rows

zones = Blueprint("zones", __name__, url_prefix="/api/v1/zones", description="Zones (片区) and their butlers")


@zones.route("", methods=["POST"])
@zones.arguments(ZoneCreate)
@zones.response(201, ZoneOut)
def create_zone(data):
    """Create a zone with its butlers (gateway user ids); publishes zone.updated."""
    with web.database().transaction() as session:
        return annotate(
            structure.create_zone(session, web.settings(), web.principal(), data, web.now()),
            [display.staff("butler_ids", "butler_names")],
        )


@zones.route("", methods=["GET"])
@zones.arguments(ZoneListArgs, location="query")
@zones.response(200, ZonePage)
def list_zones(args):
    query = structure.list_zones(web.principal(), args)
    with web.database().transaction() as session:
        page = web.paginate(session, query, args["page"], args["page_size"])
        return annotate(page, [display.staff("butler_ids", "butler_names")])


@zones.route("/<zone_id>", methods=["GET"])
@zones.response(200, ZoneOut)
def get_zone(zone_id):
    with web.database().transaction() as session:
        return annotate(
            structure.get_zone(session, web.principal(), zone_id), [display.staff("butler_ids", "butler_names")]
        )


@zones.route("/<zone_id>", methods=["PATCH"])
@zones.arguments(ZoneUpdate)
@zones.response(200, ZoneOut)
def update_zone(data, zone_id):
    """Rename a zone or assign its butlers; publishes zone.updated."""
    with web.database().transaction() as session:
        return annotate(
            structure.update_zone(session, web.settings(), web.principal(), zone_id, data, web.now()),
            [display.staff("butler_ids", "butler_names")],
        )


@zones.route("/<zone_id>/vacant-units", methods=["GET"])
@zones.arguments(VacantArgs, location="query")
@zones.response(200, VacantUnitOut(many=True))
def vacant_units(args, zone_id):
    """The zone's vacant units (vacant or delivered), their last check and whether one is due."""
    with web.database().transaction() as session:
        rows = affairs.vacant_units(session, web.principal(), zone_id, args["every_days"], web.now())
        with_unit_rows(session, [row["unit"] for row in rows])
        return rows


@zones.route("/<zone_id>/familiarity", methods=["GET"])
@zones.arguments(DaysArgs, location="query")
@zones.response(200, FamiliarityOut)
def familiarity(args, zone_id):
    """Share of the zone's households contacted (and reached effectively) in the last `days` days."""
    with web.database().transaction() as session:
        return affairs.familiarity(session, web.principal(), zone_id, args["days"], web.now())


@zones.route("/<zone_id>/unreached", methods=["GET"])
@zones.arguments(DaysArgs, location="query")
@zones.response(200, UnreachedOut(many=True))
def unreached(args, zone_id):
    """Households of the zone nobody has contacted in the last `days` days."""
    with web.database().transaction() as session:
        return affairs.unreached(session, web.principal(), zone_id, args["days"], web.now())
