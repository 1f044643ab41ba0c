"""HTTP API of the residents service: load → call domain → dump; no rules here."""

from __future__ import annotations

from flask import jsonify, request
from flask_smorest import Blueprint
from sqlalchemy.exc import IntegrityError

from guanjia import idempotency, web

from . import domain
from .models import idempotency_keys
from .schemas import (
    BuildingCreate,
    BuildingListArgs,
    BuildingOut,
    BuildingPage,
    CommunityCreate,
    CommunityListArgs,
    CommunityOut,
    CommunityPage,
    ContactOut,
    MoveIn,
    MoveInOut,
    ResidentCreate,
    ResidentListArgs,
    ResidentOut,
    ResidentPage,
    UnitCreate,
    UnitListArgs,
    UnitOut,
    UnitPage,
)

communities = Blueprint("communities", __name__, url_prefix="/api/v1/communities", description="Communities (小区)")
buildings = Blueprint("buildings", __name__, url_prefix="/api/v1/buildings", description="Buildings of a community")
units = Blueprint("units", __name__, url_prefix="/api/v1/units", description="Units (房屋) and move-in")
residents = Blueprint(
    "residents",
    __name__,
    url_prefix="/api/v1/residents",
    description="Residents: owners and tenants; names and phones masked for staff",
)
internal = Blueprint(
    "internal",
    __name__,
    url_prefix="/api/v1/internal/residents",
    description="For other services only (role `service`): unmasked contact details",
)
BLUEPRINTS = (communities, buildings, units, residents, internal)

IDEMPOTENCY_HEADER = {"in": "header", "name": "Idempotency-Key", "schema": {"type": "string"}, "required": False}


def _create_idempotently(data: dict, create) -> object:
    """Run `create(session, principal) -> body` once per Idempotency-Key; a retry gets the first response."""
    principal = web.principal()
    key = request.headers.get("Idempotency-Key")
    payload_hash = idempotency.request_hash(data)
    try:
        with web.database().transaction() as session:
            if key:
                prior = idempotency.lookup(session, idempotency_keys, principal.subject, key, payload_hash)
                if prior:
                    return _respond(*prior)
            body = create(session, principal)
            if key:
                idempotency.remember(session, idempotency_keys, principal.subject, key, payload_hash, 201, body)
    except IntegrityError:
        if not key:
            raise
        # The same key raced in from a concurrent retry: answer with what the winner stored.
        with web.database().transaction() as session:
            prior = idempotency.lookup(session, idempotency_keys, principal.subject, key, payload_hash)
        if prior is None:
            raise
        return _respond(*prior)
    return _respond(201, body)


def _respond(status: int, body: dict):
    response = jsonify(body)
    response.status_code = status
    return response


# --- communities -----------------------------------------------------------------------------------------------


@communities.route("", methods=["POST"])
@communities.arguments(CommunityCreate)
@communities.response(201, CommunityOut)
def create_community(data):
    """Create a community (admin only)."""
    with web.database().transaction() as session:
        return domain.create_community(session, web.principal(), data)


@communities.route("", methods=["GET"])
@communities.arguments(CommunityListArgs, location="query")
@communities.response(200, CommunityPage)
def list_communities(args):
    """Communities the caller works in (all of them for admin and services)."""
    with web.database().transaction() as session:
        return web.paginate(session, domain.visible_communities(web.principal()), args["page"], args["page_size"])


@communities.route("/<community_id>", methods=["GET"])
@communities.response(200, CommunityOut)
def get_community(community_id):
    with web.database().transaction() as session:
        return domain.get_community(session, web.principal(), community_id)


# --- buildings -------------------------------------------------------------------------------------------------


@buildings.route("", methods=["POST"])
@buildings.arguments(BuildingCreate)
@buildings.response(201, BuildingOut)
def create_building(data):
    """Add a building to a community (admin, or a senior butler / CS manager of that community)."""
    with web.database().transaction() as session:
        return domain.create_building(session, web.principal(), data)


@buildings.route("", methods=["GET"])
@buildings.arguments(BuildingListArgs, location="query")
@buildings.response(200, BuildingPage)
def list_buildings(args):
    query = domain.list_buildings(web.principal(), args)
    with web.database().transaction() as session:
        return web.paginate(session, query, args["page"], args["page_size"])


@buildings.route("/<building_id>", methods=["GET"])
@buildings.response(200, BuildingOut)
def get_building(building_id):
    with web.database().transaction() as session:
        return domain.get_building(session, web.principal(), building_id)


# --- units -----------------------------------------------------------------------------------------------------


@units.route("", methods=["POST"])
@units.arguments(UnitCreate)
@units.response(201, UnitOut)
@units.doc(parameters=[IDEMPOTENCY_HEADER])
def create_unit(data):
    """Add a unit to a building; area_m2 is a decimal string ("88.50"). Publishes unit.created."""
    settings = web.settings()
    return _create_idempotently(
        data, lambda session, principal: UnitOut().dump(domain.create_unit(session, settings, principal, data))
    )


@units.route("", methods=["GET"])
@units.arguments(UnitListArgs, location="query")
@units.response(200, UnitPage)
def list_units(args):
    """Units the caller may see: staff their communities, residents their own units."""
    query = domain.list_units(web.principal(), args)
    with web.database().transaction() as session:
        return web.paginate(session, query, args["page"], args["page_size"])


@units.route("/<unit_id>", methods=["GET"])
@units.response(200, UnitOut)
def get_unit(unit_id):
    with web.database().transaction() as session:
        return domain.get_unit(session, web.principal(), unit_id)


@units.route("/<unit_id>/move-in", methods=["POST"])
@units.arguments(MoveIn)
@units.response(200, MoveInOut)
def move_in(data, unit_id):
    """Move a registered resident of this unit in; publishes resident.moved_in and unit.updated."""
    principal = web.principal()
    with web.database().transaction() as session:
        unit, resident = domain.move_in(session, web.settings(), principal, unit_id, data["resident_id"])
        return {"unit": unit, "resident": domain.resident_view(principal, resident)}


# --- residents -------------------------------------------------------------------------------------------------


@residents.route("", methods=["POST"])
@residents.arguments(ResidentCreate)
@residents.response(201, ResidentOut)
@residents.doc(parameters=[IDEMPOTENCY_HEADER])
def register_resident(data):
    """Register an owner or tenant of a unit. Publishes resident.registered (ids only)."""
    settings = web.settings()

    def create(session, principal):
        resident = domain.register_resident(session, settings, principal, data)
        return ResidentOut().dump(domain.resident_view(principal, resident))

    return _create_idempotently(data, create)


@residents.route("", methods=["GET"])
@residents.arguments(ResidentListArgs, location="query")
@residents.response(200, ResidentPage)
def list_residents(args):
    """Residents the caller may see; a resident sees their household. Names and phones masked for staff."""
    principal = web.principal()
    query = domain.list_residents(principal, args)
    with web.database().transaction() as session:
        page = web.paginate(session, query, args["page"], args["page_size"])
    page["items"] = [domain.resident_view(principal, r) for r in page["items"]]
    return page


@residents.route("/<resident_id>", methods=["GET"])
@residents.response(200, ResidentOut)
def get_resident(resident_id):
    principal = web.principal()
    with web.database().transaction() as session:
        return domain.resident_view(principal, domain.get_resident(session, principal, resident_id))


# --- internal --------------------------------------------------------------------------------------------------


@internal.route("/<resident_id>/contact", methods=["GET"])
@internal.response(200, ContactOut)
def resident_contact(resident_id):
    """Name and phone in clear for a service about to contact the person (role `service` only)."""
    with web.database().transaction() as session:
        return domain.resident_contact(session, web.principal(), resident_id)
