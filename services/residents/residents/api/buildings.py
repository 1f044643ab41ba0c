"""HTTP API of buildings: load → call domain → dump."""

from __future__ import annotations

from guanjia import web
from guanjia.display import annotate
from guanjia.web import Blueprint

from ..domain import display, structure
from ..schemas.buildings import BuildingCreate, BuildingListArgs, BuildingOut, BuildingPage, BuildingUpdate

buildings = Blueprint("buildings", __name__, url_prefix="/api/v1/buildings", description="Buildings of a community")


@buildings.route("", methods=["POST"])
@buildings.arguments(BuildingCreate)
@buildings.response(201, BuildingOut)
def create_building(data):
    """Add a building to a community (admin, or a senior butler / CS manager of that community)."""
    with web.database().transaction() as session:
        return annotate(structure.create_building(session, web.principal(), data, web.now()), [display.zones(session)])


@buildings.route("", methods=["GET"])
@buildings.arguments(BuildingListArgs, location="query")
@buildings.response(200, BuildingPage)
def list_buildings(args):
    query = structure.list_buildings(web.principal(), args)
    with web.database().transaction() as session:
        return annotate(web.paginate(session, query, args["page"], args["page_size"]), [display.zones(session)])


@buildings.route("/<building_id>", methods=["GET"])
@buildings.response(200, BuildingOut)
def get_building(building_id):
    with web.database().transaction() as session:
        return annotate(structure.get_building(session, web.principal(), building_id), [display.zones(session)])


@buildings.route("/<building_id>", methods=["PATCH"])
@buildings.arguments(BuildingUpdate)
@buildings.response(200, BuildingOut)
def update_building(data, building_id):
    """Rename a building or put it in a zone (its units follow; unit.updated for each)."""
    with web.database().transaction() as session:
        return annotate(
            structure.update_building(session, web.settings(), web.principal(), building_id, data, web.now()),
            [display.zones(session)],
        )
