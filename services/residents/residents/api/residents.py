"""HTTP API of residents: records, personal data, cards and contact log — load → call domain → dump."""

from __future__ import annotations

from guanjia import web
from guanjia.web import Blueprint

from .. import examples
from ..domain import affairs, corrections, people
from ..schemas.residents import (
    CardCreate,
    CardOut,
    ContactCreate,
    ContactLogOut,
    CorrectionOut,
    DisclosureOut,
    MergeIn,
    NoteIn,
    RemovalIn,
    ResidentCreate,
    ResidentListArgs,
    ResidentOut,
    ResidentPage,
    ResidentUpdate,
    RevealedOut,
)
from .common import IDEMPOTENCY_HEADER, create_idempotently, resident_view, with_household, with_units

residents = Blueprint(
    "residents",
    __name__,
    url_prefix="/api/v1/residents",
    description="Residents: owners, tenants, family; personal data masked for staff; cards and contact log",
)


@residents.route("", methods=["POST"])
@residents.arguments(ResidentCreate, example=examples.RESIDENT_CREATE)
@residents.response(201, ResidentOut, example=examples.RESIDENT_OUT)
@residents.doc(parameters=[IDEMPOTENCY_HEADER])
def register_resident(data):
    """Register an owner, tenant or family member of a unit. Publishes resident.registered (ids only)."""
    settings, now = web.settings(), web.now()

    def create(session, principal):
        resident = people.register_resident(session, settings, principal, data, now)
        return ResidentOut().dump(with_units(session, people.resident_view(settings, principal, resident)))

    return create_idempotently(data, create)


@residents.route("", methods=["GET"])
@residents.arguments(ResidentListArgs, location="query")
@residents.response(200, ResidentPage, example=examples.RESIDENT_PAGE)
def list_residents(args):
    """Residents the caller may see. `q` searches by an exact phone or ID number (recorded as a disclosure of whom
    it found, for roles that see personal data masked), a unit number, or — only for roles that see names in
    clear — a name fragment (422 naming `q` otherwise)."""
    settings, principal = web.settings(), web.principal()
    query = people.list_residents(settings, principal, args)
    kind = people.search_kind(settings, args["q"])[0] if args.get("q") else None
    with web.database().transaction() as session:
        page = web.paginate(session, query, args["page"], args["page_size"])
        disclosed = people.record_lookup(session, principal, page["items"], kind, web.now())
        page["items"] = with_units(session, [resident_view(r) for r in page["items"]])
    if disclosed:
        return page, 200, people.audit_header(people.AUDIT_SEARCH, disclosed)
    return page


@residents.route("/<resident_id>", methods=["GET"])
@residents.response(200, ResidentOut)
def get_resident(resident_id):
    with web.database().transaction() as session:
        return with_units(session, resident_view(people.get_resident(session, web.principal(), resident_id)))


@residents.route("/<resident_id>", methods=["PATCH"])
@residents.arguments(ResidentUpdate)
@residents.response(200, ResidentOut)
def update_resident(data, resident_id):
    """Change a resident's record (front desk); residents may change their emergency contact and SMS opt-out."""
    with web.database().transaction() as session:
        return with_units(
            session,
            resident_view(
                people.update_resident(session, web.settings(), web.principal(), resident_id, data, web.now())
            ),
        )


@residents.route("/<resident_id>/removal", methods=["POST"])
@residents.arguments(RemovalIn)
@residents.response(200, CorrectionOut)
def remove_resident(data, resident_id):
    """Remove a record registered by mistake (managers): only one that never moved in and that nothing refers to
    (409 otherwise: merge it). The removal is kept as a correction; resident.updated says status `removed`."""
    with web.database().transaction() as session:
        return corrections.remove(session, web.settings(), web.principal(), resident_id, data["reason"], web.now())


@residents.route("/<resident_id>/merge", methods=["POST"])
@residents.arguments(MergeIn)
@residents.response(200, CorrectionOut)
def merge_resident(data, resident_id):
    """Merge this duplicate into `into` (same unit; managers): its cards, contacts, passes, appointments,
    renovations, key loans and disclosures move over, missing details are taken over, the duplicate is removed."""
    with web.database().transaction() as session:
        return corrections.merge(
            session, web.settings(), web.principal(), resident_id, data["into"], data["reason"], web.now()
        )


@residents.route("/<resident_id>/notes", methods=["POST"])
@residents.arguments(NoteIn)
@residents.response(200, ResidentOut)
def add_resident_note(data, resident_id):
    """Add a dated note to a record — a moved-out one too, whose other fields stay as they were (front desk)."""
    with web.database().transaction() as session:
        return resident_view(
            corrections.note(session, web.settings(), web.principal(), resident_id, data["note"], web.now())
        )


@residents.route("/<resident_id>/corrections", methods=["GET"])
@residents.response(200, CorrectionOut(many=True))
def list_corrections(resident_id):
    """Removals, merges and notes of this record and of the duplicates merged into it (managers)."""
    with web.database().transaction() as session:
        return corrections.corrections(session, web.principal(), resident_id)


@residents.route("/<resident_id>/personal-data", methods=["GET"])
@residents.doc(**web.audit_doc("personal_data.viewed", "resident"))
@residents.response(200, RevealedOut)
def reveal_personal_data(resident_id):
    """Name, phone and emergency contact in clear for the staff who must reach the person (ID number for
    managers only). Every call is recorded: see /disclosures."""
    with web.database().transaction() as session:
        revealed = people.reveal(session, web.settings(), web.principal(), resident_id, web.now())
    # Recorded here (/disclosures) and, through this header, in the gateway's audit log.
    return revealed, 200, people.audit_header("personal_data.viewed", [revealed["resident_id"]])


@residents.route("/<resident_id>/disclosures", methods=["GET"])
@residents.response(200, DisclosureOut(many=True))
def list_disclosures(resident_id):
    """Who saw this resident's personal data in clear, newest first (managers)."""
    with web.database().transaction() as session:
        return people.disclosures(session, web.principal(), resident_id)


@residents.route("/<resident_id>/cards", methods=["POST"])
@residents.arguments(CardCreate)
@residents.response(201, CardOut)
def issue_card(data, resident_id):
    with web.database().transaction() as session:
        return affairs.issue_card(session, web.principal(), resident_id, data, web.now())


@residents.route("/<resident_id>/cards", methods=["GET"])
@residents.response(200, CardOut(many=True))
def list_cards(resident_id):
    with web.database().transaction() as session:
        return affairs.list_cards(session, web.principal(), resident_id)


@residents.route("/<resident_id>/cards/<card_id>/report-lost", methods=["POST"])
@residents.response(200, CardOut)
def report_card_lost(resident_id, card_id):
    with web.database().transaction() as session:
        return affairs.change_card(session, web.principal(), resident_id, card_id, "lost", web.now())


@residents.route("/<resident_id>/cards/<card_id>/revoke", methods=["POST"])
@residents.response(200, CardOut)
def revoke_card(resident_id, card_id):
    with web.database().transaction() as session:
        return affairs.change_card(session, web.principal(), resident_id, card_id, "revoked", web.now())


@residents.route("/<resident_id>/contacts", methods=["POST"])
@residents.arguments(ContactCreate)
@residents.response(201, ContactLogOut)
def log_contact(data, resident_id):
    """Log a home visit, call or message with this resident (counts for the zone's familiarity)."""
    with web.database().transaction() as session:
        return with_household(
            session, affairs.log_contact(session, web.principal(), resident_id, data, web.now()), "staff_id"
        )


@residents.route("/<resident_id>/contacts", methods=["GET"])
@residents.response(200, ContactLogOut(many=True))
def list_contacts(resident_id):
    with web.database().transaction() as session:
        return with_household(session, affairs.list_contacts(session, web.principal(), resident_id), "staff_id")
