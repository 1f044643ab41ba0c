"""HTTP API for other services (role `service`): a resident's contact, occupancy, phone lookup."""

from __future__ import annotations

from guanjia import web
from guanjia.web import Blueprint

from ..domain import affairs, people
from ..schemas.internal import (
    ButlerFamiliarityArgs,
    ButlerFamiliarityOut,
    ContactOut,
    ContactsArgs,
    ContactsOut,
    OccupancyOut,
    PhoneArgs,
    PhoneMatches,
)

internal = Blueprint(
    "internal",
    __name__,
    url_prefix="/api/v1/internal/residents",
    description="For other services only (role `service`): unmasked contact details",
)


@internal.route("/<resident_id>/contact", methods=["GET"])
@internal.response(200, ContactOut)
def resident_contact(resident_id):
    """Name and phone in clear for a service about to contact the person (role `service` only)."""
    with web.database().transaction() as session:
        return people.resident_contact(session, web.principal(), resident_id)


@internal.route("/contacts", methods=["POST"])
@internal.arguments(ContactsArgs)
@internal.response(200, ContactsOut)
def resident_contacts(args):
    """The contacts of several residents at once (notifications: one call per batch it sends, not one per message);
    unknown ids are left out. Role `service` only."""
    with web.database().transaction() as session:
        return people.resident_contacts(session, web.principal(), args["resident_ids"])


@internal.route("/<resident_id>/occupancy", methods=["GET"])
@internal.response(200, OccupancyOut)
def resident_occupancy(resident_id):
    """The units a resident's token may carry now (gateway: at every sign-in and refresh). Role `service` only."""
    with web.database().transaction() as session:
        return people.occupancy(session, web.principal(), resident_id)


@internal.route("", methods=["GET"])
@internal.arguments(PhoneArgs, location="query")
@internal.response(200, PhoneMatches)
def residents_by_phone(args):
    """Current residents with this phone number (gateway: resident SMS sign-in)."""
    with web.database().transaction() as session:
        return people.residents_by_phone(session, web.principal(), args["phone"])


@internal.route("/butler-familiarity", methods=["GET"])
@internal.arguments(ButlerFamiliarityArgs, location="query")
@internal.response(200, ButlerFamiliarityOut)
def butler_familiarity(args):
    """Per butler, for a month: households of their zones contacted (熟悉率) and reached effectively (沟通) — staff's
    scorecards ask it (role `service` only)."""
    with web.database().transaction() as session:
        return affairs.butler_familiarity(
            session, args["community_id"], args["month"], web.settings().timezone, args["group_by"]
        )
