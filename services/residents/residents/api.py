"""HTTP API of the residents service: load → call domain → dump; no rules here."""

from __future__ import annotations

from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import current_app, request, send_file

from guanjia import web
from guanjia.db import utcnow
from guanjia.display import annotate
from guanjia.errors import Invalid, UpstreamUnavailable
from guanjia.pii import mask_phone
from guanjia.web import Blueprint

from . import examples
from .domain import affairs, corrections, display, occupancy, people, renovations, roster, structure
from .domain.common import iso
from .models import idempotency_keys
from .schemas import (
    Acceptance,
    BuildingCreate,
    BuildingListArgs,
    BuildingOut,
    BuildingPage,
    BuildingUpdate,
    ButlerZonesOut,
    CardCreate,
    CardOut,
    CommunityCreate,
    CommunityListArgs,
    CommunityOut,
    CommunityPage,
    CommunityUpdate,
    ContactCreate,
    ContactLogOut,
    ContactOut,
    CorrectionOut,
    DaysArgs,
    DisclosureOut,
    FamiliarityOut,
    Handover,
    ImportArgs,
    ImportOut,
    InspectionCreate,
    InspectionOut,
    InternalUnitsArgs,
    InternalUnitsOut,
    InternalZoneOut,
    KeyCreate,
    KeyLend,
    KeyOut,
    MergeIn,
    MoveIn,
    MoveInOut,
    MoveOut,
    MoveOutOut,
    MovingCreate,
    MovingOut,
    MovingScheduleArgs,
    MovingScheduled,
    NoteIn,
    OccupancyOut,
    OverdueArgs,
    OverdueKeyOut,
    PassCreate,
    PassOut,
    PermitIssue,
    PhoneArgs,
    PhoneMatches,
    RecipientsArgs,
    RecipientsOut,
    Reinspection,
    Reject,
    RemovalIn,
    RenovationCreate,
    RenovationListArgs,
    RenovationOut,
    RenovationPage,
    ResidentCreate,
    ResidentListArgs,
    ResidentOut,
    ResidentPage,
    ResidentUpdate,
    RevealedOut,
    Review,
    StatusHistory,
    UnitContactsArgs,
    UnitContactsOut,
    UnitCreate,
    UnitListArgs,
    UnitOut,
    UnitPage,
    UnitUpdate,
    UnreachedOut,
    VacancyCheckCreate,
    VacancyCheckOut,
    VacantArgs,
    VacantUnitOut,
    ViolationOut,
    ZoneCreate,
    ZoneListArgs,
    ZoneOut,
    ZonePage,
    ZoneUpdate,
)

communities = Blueprint("communities", __name__, url_prefix="/api/v1/communities", description="Communities (小区)")
zones = Blueprint("zones", __name__, url_prefix="/api/v1/zones", description="Zones (片区) and their butlers")
buildings = Blueprint("buildings", __name__, url_prefix="/api/v1/buildings", description="Buildings of a community")
units = Blueprint(
    "units", __name__, url_prefix="/api/v1/units", description="Units (房屋): occupancy, passes, keys, vacancy checks"
)
residents = Blueprint(
    "residents",
    __name__,
    url_prefix="/api/v1/residents",
    description="Residents: owners, tenants, family; personal data masked for staff; cards and contact log",
)
renovation = Blueprint(
    "renovations", __name__, url_prefix="/api/v1/renovations", description="Renovation control (装修管理)"
)
imports = Blueprint("imports", __name__, url_prefix="/api/v1/imports", description="Roster import (CSV, XLSX)")
internal = Blueprint(
    "internal",
    __name__,
    url_prefix="/api/v1/internal/residents",
    description="For other services only (role `service`): unmasked contact details",
)
internal_more = Blueprint(
    "internal_structure",
    __name__,
    url_prefix="/api/v1/internal",
    description="For other services only (role `service`): who to tell about a unit, a zone, a community",
)
BLUEPRINTS = (communities, zones, buildings, units, residents, renovation, imports, internal, internal_more)

IMPORT_MAX_BYTES = 32 * 1024 * 1024
IDEMPOTENCY_HEADER = {"in": "header", "name": "Idempotency-Key", "schema": {"type": "string"}, "required": False}


def _now():
    """The current time; tests put a fixed clock in app.config["RESIDENTS_CLOCK"] for time-driven rules."""
    return current_app.config.get("RESIDENTS_CLOCK", utcnow)()


def _today(now):
    return now.astimezone(ZoneInfo(web.settings().timezone)).date()


def _create_idempotently(data: dict, create) -> object:
    """Run `create(session, principal) -> body` once per Idempotency-Key; a retry gets the first response."""
    return web.idempotent(idempotency_keys, data, 201, lambda session: create(session, web.principal()))


def _view(resident):
    return people.resident_view(web.settings(), web.principal(), resident)


def _units(session, result):
    """Unit label, building and zone names on each row (one query per response, not per row)."""
    return annotate(result, [display.units(session)])


def _unit_rows(session, result):
    """The same display fields on units themselves (their id is `id`)."""
    return annotate(result, [display.units(session, "id")])


def _household(session, result, staff_field: str | None = None):
    """Unit label and the masked resident name (and the staff member's name) on each row."""
    fields = [display.units(session), display.residents(session, web.principal(), "resident_id", "resident_name")]
    if staff_field:
        fields.append(display.staff(staff_field, staff_field.removesuffix("_id").removesuffix("_by") + "_name"))
    return annotate(result, fields)


# --- communities -----------------------------------------------------------------------------------------------


@communities.route("", methods=["POST"])
@communities.arguments(CommunityCreate)
@communities.response(201, CommunityOut)
def create_community(data):
    """Create a community (admin only); renovation_hours defaults to 08:00-12:00,14:00-18:00."""
    with web.database().transaction() as session:
        return structure.create_community(session, web.principal(), data)


@communities.route("", methods=["GET"])
@communities.arguments(CommunityListArgs, location="query")
@communities.response(200, CommunityPage)
def list_communities(args):
    """Communities the caller works in (all of them for admin and services)."""
    with web.database().transaction() as session:
        return web.paginate(session, structure.visible_communities(web.principal()), args["page"], args["page_size"])


@communities.route("/<community_id>", methods=["GET"])
@communities.response(200, CommunityOut)
def get_community(community_id):
    with web.database().transaction() as session:
        return structure.get_community(session, web.principal(), community_id)


@communities.route("/<community_id>", methods=["PATCH"])
@communities.arguments(CommunityUpdate)
@communities.response(200, CommunityOut)
def update_community(data, community_id):
    """Rename a community or change its permitted renovation hours (managers)."""
    with web.database().transaction() as session:
        return structure.update_community(session, web.principal(), community_id, data)


@communities.route("/<community_id>/roster.xlsx", methods=["GET"])
@communities.response(200, {"type": "string", "format": "binary"}, content_type=roster.XLSX_TYPE)
def export_roster(community_id):
    """The roster in the import's shape: sheets 楼栋, 房屋, 住户 with Chinese headers (managers; ID numbers masked)."""
    with web.database().transaction() as session:
        content = roster.export_xlsx(session, web.settings(), web.principal(), community_id)
    return send_file(
        roster.as_file(content), mimetype=roster.XLSX_TYPE, as_attachment=True, download_name="roster.xlsx"
    )


@communities.route("/<community_id>/overdue-keys", methods=["GET"])
@communities.arguments(OverdueArgs, location="query")
@communities.response(200, OverdueKeyOut(many=True))
def overdue_keys(args, community_id):
    """Keys lent out and not returned by their due time (a butler sees their zones)."""
    with web.database().transaction() as session:
        rows = affairs.overdue_keys(session, web.principal(), community_id, args.get("zone_id"), _now())
        keys = [
            {
                "key_id": k.id,
                "unit_id": u.id,
                "unit_number": u.number,
                "zone_id": u.zone_id,
                "label": k.label,
                "loan": affairs.loan_view(web.principal(), loan),
            }
            for k, loan, u in rows
        ]
        return annotate(keys, [display.units(session), display.zones(session)])


# --- zones -----------------------------------------------------------------------------------------------------


@zones.route("", methods=["POST"])
@zones.arguments(ZoneCreate)
@zones.response(201, ZoneOut)
def create_zone(data):
    """Create a zone with its butlers (gateway user ids); publishes zone.updated."""
    with web.database().transaction() as session:
        return annotate(
            structure.create_zone(session, web.settings(), web.principal(), data),
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
            structure.update_zone(session, web.settings(), web.principal(), zone_id, data),
            [display.staff("butler_ids", "butler_names")],
        )


@zones.route("/<zone_id>/vacant-units", methods=["GET"])
@zones.arguments(VacantArgs, location="query")
@zones.response(200, VacantUnitOut(many=True))
def vacant_units(args, zone_id):
    """The zone's vacant units (vacant or delivered), their last check and whether one is due."""
    with web.database().transaction() as session:
        rows = affairs.vacant_units(session, web.principal(), zone_id, args["every_days"], _now())
        _unit_rows(session, [row["unit"] for row in rows])
        return rows


@zones.route("/<zone_id>/familiarity", methods=["GET"])
@zones.arguments(DaysArgs, location="query")
@zones.response(200, FamiliarityOut)
def familiarity(args, zone_id):
    """Share of the zone's households contacted (and reached effectively) in the last `days` days."""
    with web.database().transaction() as session:
        return affairs.familiarity(session, web.principal(), zone_id, args["days"], _now())


@zones.route("/<zone_id>/unreached", methods=["GET"])
@zones.arguments(DaysArgs, location="query")
@zones.response(200, UnreachedOut(many=True))
def unreached(args, zone_id):
    """Households of the zone nobody has contacted in the last `days` days."""
    with web.database().transaction() as session:
        return affairs.unreached(session, web.principal(), zone_id, args["days"], _now())


# --- buildings -------------------------------------------------------------------------------------------------


@buildings.route("", methods=["POST"])
@buildings.arguments(BuildingCreate)
@buildings.response(201, BuildingOut)
def create_building(data):
    """Add a building to a community (admin, or a senior butler / CS manager of that community)."""
    with web.database().transaction() as session:
        return annotate(structure.create_building(session, web.principal(), data), [display.zones(session)])


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
            structure.update_building(session, web.settings(), web.principal(), building_id, data),
            [display.zones(session)],
        )


# --- units -----------------------------------------------------------------------------------------------------


@units.route("", methods=["POST"])
@units.arguments(UnitCreate, example=examples.UNIT_CREATE)
@units.response(201, UnitOut, example=examples.UNIT_OUT)
@units.doc(parameters=[IDEMPOTENCY_HEADER])
def create_unit(data):
    """Add a unit to a building; areas are decimal strings ("88.50"). Publishes unit.created."""
    settings = web.settings()
    return _create_idempotently(
        data,
        lambda session, principal: UnitOut().dump(
            _unit_rows(session, structure.create_unit(session, settings, principal, data))
        ),
    )


@units.route("", methods=["GET"])
@units.arguments(UnitListArgs, location="query")
@units.response(200, UnitPage, example=examples.UNIT_PAGE)
def list_units(args):
    """Units the caller may see: butlers their zones, managers their communities, residents their own units."""
    query = structure.list_units(web.principal(), args)
    with web.database().transaction() as session:
        return _unit_rows(session, web.paginate(session, query, args["page"], args["page_size"]))


@units.route("/<unit_id>", methods=["GET"])
@units.response(200, UnitOut)
def get_unit(unit_id):
    with web.database().transaction() as session:
        return _unit_rows(session, structure.get_unit(session, web.principal(), unit_id))


@units.route("/<unit_id>", methods=["PATCH"])
@units.arguments(UnitUpdate)
@units.response(200, UnitOut)
def update_unit(data, unit_id):
    """Correct a unit's facts (areas, type, floor, zone); publishes unit.updated. Status changes via the flows."""
    with web.database().transaction() as session:
        return _unit_rows(session, structure.update_unit(session, web.settings(), web.principal(), unit_id, data))


@units.route("/<unit_id>/status-history", methods=["GET"])
@units.response(200, StatusHistory)
def unit_history(unit_id):
    """Every status change of the unit with the flow that made it."""
    with web.database().transaction() as session:
        changes = structure.unit_history(session, web.principal(), unit_id)
        return {"items": annotate(changes, [display.staff("actor_id", "actor_name")])}


@units.route("/<unit_id>/handover", methods=["POST"])
@units.arguments(Handover)
@units.response(200, UnitOut)
def handover(data, unit_id):
    """交付: hand a vacant unit to its registered owner; the unit turns `delivered` (unit.updated)."""
    with web.database().transaction() as session:
        return _unit_rows(session, occupancy.handover(session, web.settings(), web.principal(), unit_id, data, _now()))


@units.route("/<unit_id>/move-in", methods=["POST"])
@units.arguments(MoveIn)
@units.response(200, MoveInOut)
def move_in(data, unit_id):
    """Move registered residents of this unit in; publishes resident.moved_in and unit.updated."""
    ids = [data["resident_id"], *data["with_resident_ids"]]
    with web.database().transaction() as session:
        unit, moved = occupancy.move_in(session, web.settings(), web.principal(), unit_id, ids, _now())
        views = [_view(r) for r in moved]
        return {"unit": _unit_rows(session, unit), "resident": views[0], "residents": _units(session, views)}


@units.route("/<unit_id>/move-out", methods=["POST"])
@units.arguments(MoveOut)
@units.response(200, MoveOutOut)
def move_out(data, unit_id):
    """Move residents out (default: everyone who lives there); publishes resident.moved_out (and unit.updated)."""
    with web.database().transaction() as session:
        unit, left = occupancy.move_out(
            session, web.settings(), web.principal(), unit_id, data.get("resident_ids"), _now()
        )
        return {"unit": _unit_rows(session, unit), "residents": _units(session, [_view(r) for r in left])}


@units.route("/<unit_id>/moving-appointments", methods=["POST"])
@units.arguments(MovingCreate)
@units.response(201, MovingOut)
def book_moving(data, unit_id):
    with web.database().transaction() as session:
        return _household(session, occupancy.book_moving(session, web.principal(), unit_id, data, _now()))


@units.route("/moving-appointments", methods=["GET"])
@units.arguments(MovingScheduleArgs, location="query")
@units.response(200, MovingScheduled(many=True))
def moving_schedule(args):
    """Moving appointments between two times across the units the caller sees (a butler: their zones)."""
    with web.database().transaction() as session:
        found = []
        for appointment, unit in session.execute(occupancy.moving_between(web.principal(), args)).all():
            appointment.unit_number, appointment.zone_id = unit.number, unit.zone_id  # display fields, not columns
            found.append(appointment)
        return found


@units.route("/<unit_id>/moving-appointments", methods=["GET"])
@units.response(200, MovingOut(many=True))
def list_moving(unit_id):
    with web.database().transaction() as session:
        return _household(session, occupancy.list_moving(session, web.principal(), unit_id))


@units.route("/<unit_id>/passes", methods=["POST"])
@units.arguments(PassCreate)
@units.response(201, PassOut)
def issue_pass(data, unit_id):
    """放行条: goods leaving with a carrier on a given day, authorised by a member of the household."""
    with web.database().transaction() as session:
        return _household(
            session, occupancy.issue_pass(session, web.principal(), unit_id, data, _now(), _today(_now()))
        )


@units.route("/<unit_id>/passes", methods=["GET"])
@units.response(200, PassOut(many=True))
def list_passes(unit_id):
    with web.database().transaction() as session:
        return _household(session, occupancy.list_passes(session, web.principal(), unit_id))


@units.route("/<unit_id>/passes/<pass_id>/use", methods=["POST"])
@units.response(200, PassOut)
def use_pass(unit_id, pass_id):
    """The gate lets the goods out (once, on the pass's day)."""
    now = _now()
    with web.database().transaction() as session:
        return _household(session, occupancy.use_pass(session, web.principal(), unit_id, pass_id, _today(now), now))


@units.route("/<unit_id>/keys", methods=["POST"])
@units.arguments(KeyCreate)
@units.response(201, KeyOut)
def deposit_key(data, unit_id):
    """钥匙托管: a key left with the office and the people allowed to collect it."""
    with web.database().transaction() as session:
        key = affairs.deposit_key(session, web.principal(), unit_id, data, _now())
        return _units(session, _key_view(key, None))


@units.route("/<unit_id>/keys", methods=["GET"])
@units.response(200, KeyOut(many=True))
def list_keys(unit_id):
    with web.database().transaction() as session:
        return _units(session, [_key_view(k, loan) for k, loan in affairs.list_keys(session, web.principal(), unit_id)])


@units.route("/<unit_id>/keys/<key_id>/lend", methods=["POST"])
@units.arguments(KeyLend)
@units.response(200, KeyOut)
def lend_key(data, unit_id, key_id):
    """Lend the key to someone on its list, with the reason and when it is due back."""
    with web.database().transaction() as session:
        return _units(session, _key_view(*affairs.lend_key(session, web.principal(), unit_id, key_id, data, _now())))


@units.route("/<unit_id>/keys/<key_id>/return", methods=["POST"])
@units.response(200, KeyOut)
def return_key(unit_id, key_id):
    with web.database().transaction() as session:
        key, _loan = affairs.return_key(session, web.principal(), unit_id, key_id, _now())
        return _units(session, _key_view(key, None))


def _key_view(key, loan) -> dict:
    return affairs.key_view(web.principal(), key, loan)


@units.route("/<unit_id>/vacancy-checks", methods=["POST"])
@units.arguments(VacancyCheckCreate)
@units.response(201, VacancyCheckOut)
def record_vacancy_check(data, unit_id):
    with web.database().transaction() as session:
        return annotate(
            affairs.record_vacancy_check(session, web.principal(), unit_id, data, _now()),
            [display.staff("checked_by", "checked_by_name")],
        )


@units.route("/<unit_id>/vacancy-checks", methods=["GET"])
@units.response(200, VacancyCheckOut(many=True))
def list_vacancy_checks(unit_id):
    with web.database().transaction() as session:
        return annotate(
            affairs.list_vacancy_checks(session, web.principal(), unit_id),
            [display.staff("checked_by", "checked_by_name")],
        )


# --- residents -------------------------------------------------------------------------------------------------


@residents.route("", methods=["POST"])
@residents.arguments(ResidentCreate, example=examples.RESIDENT_CREATE)
@residents.response(201, ResidentOut, example=examples.RESIDENT_OUT)
@residents.doc(parameters=[IDEMPOTENCY_HEADER])
def register_resident(data):
    """Register an owner, tenant or family member of a unit. Publishes resident.registered (ids only)."""
    settings = web.settings()

    def create(session, principal):
        resident = people.register_resident(session, settings, principal, data)
        return ResidentOut().dump(_units(session, people.resident_view(settings, principal, resident)))

    return _create_idempotently(data, create)


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
        disclosed = people.record_lookup(session, principal, page["items"], kind, _now())
        page["items"] = _units(session, [_view(r) for r in page["items"]])
    if disclosed:
        return page, 200, people.audit_header(people.AUDIT_SEARCH, disclosed)
    return page


@residents.route("/<resident_id>", methods=["GET"])
@residents.response(200, ResidentOut)
def get_resident(resident_id):
    with web.database().transaction() as session:
        return _units(session, _view(people.get_resident(session, web.principal(), resident_id)))


@residents.route("/<resident_id>", methods=["PATCH"])
@residents.arguments(ResidentUpdate)
@residents.response(200, ResidentOut)
def update_resident(data, resident_id):
    """Change a resident's record (front desk); residents may change their emergency contact and SMS opt-out."""
    with web.database().transaction() as session:
        return _units(
            session, _view(people.update_resident(session, web.settings(), web.principal(), resident_id, data))
        )


@residents.route("/<resident_id>/removal", methods=["POST"])
@residents.arguments(RemovalIn)
@residents.response(200, CorrectionOut)
def remove_resident(data, resident_id):
    """Remove a record registered by mistake (managers): only one that never moved in and that nothing refers to
    (409 otherwise: merge it). The removal is kept as a correction; resident.updated says status `removed`."""
    with web.database().transaction() as session:
        return corrections.remove(session, web.settings(), web.principal(), resident_id, data["reason"], _now())


@residents.route("/<resident_id>/merge", methods=["POST"])
@residents.arguments(MergeIn)
@residents.response(200, CorrectionOut)
def merge_resident(data, resident_id):
    """Merge this duplicate into `into` (same unit; managers): its cards, contacts, passes, appointments,
    renovations, key loans and disclosures move over, missing details are taken over, the duplicate is removed."""
    with web.database().transaction() as session:
        return corrections.merge(
            session, web.settings(), web.principal(), resident_id, data["into"], data["reason"], _now()
        )


@residents.route("/<resident_id>/notes", methods=["POST"])
@residents.arguments(NoteIn)
@residents.response(200, ResidentOut)
def add_resident_note(data, resident_id):
    """Add a dated note to a record — a moved-out one too, whose other fields stay as they were (front desk)."""
    with web.database().transaction() as session:
        return _view(corrections.note(session, web.settings(), web.principal(), resident_id, data["note"], _now()))


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
        revealed = people.reveal(session, web.settings(), web.principal(), resident_id, _now())
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
        return affairs.issue_card(session, web.principal(), resident_id, data, _now())


@residents.route("/<resident_id>/cards", methods=["GET"])
@residents.response(200, CardOut(many=True))
def list_cards(resident_id):
    with web.database().transaction() as session:
        return affairs.list_cards(session, web.principal(), resident_id)


@residents.route("/<resident_id>/cards/<card_id>/report-lost", methods=["POST"])
@residents.response(200, CardOut)
def report_card_lost(resident_id, card_id):
    with web.database().transaction() as session:
        return affairs.change_card(session, web.principal(), resident_id, card_id, "lost", _now())


@residents.route("/<resident_id>/cards/<card_id>/revoke", methods=["POST"])
@residents.response(200, CardOut)
def revoke_card(resident_id, card_id):
    with web.database().transaction() as session:
        return affairs.change_card(session, web.principal(), resident_id, card_id, "revoked", _now())


@residents.route("/<resident_id>/contacts", methods=["POST"])
@residents.arguments(ContactCreate)
@residents.response(201, ContactLogOut)
def log_contact(data, resident_id):
    """Log a home visit, call or message with this resident (counts for the zone's familiarity)."""
    with web.database().transaction() as session:
        return _household(session, affairs.log_contact(session, web.principal(), resident_id, data, _now()), "staff_id")


@residents.route("/<resident_id>/contacts", methods=["GET"])
@residents.response(200, ContactLogOut(many=True))
def list_contacts(resident_id):
    with web.database().transaction() as session:
        return _household(session, affairs.list_contacts(session, web.principal(), resident_id), "staff_id")


# --- renovations -----------------------------------------------------------------------------------------------


def _renovations(session, result):
    applicant = display.residents(session, web.principal(), "applicant_id", "applicant_name")
    return annotate(result, [display.units(session), applicant])


def _renovation_view(r) -> dict:
    permit = None
    if r.permit_number:
        permit = {
            "number": r.permit_number,
            "working_hours": r.permit_hours,
            "valid_from": r.planned_start.isoformat(),
            "valid_to": r.planned_end.isoformat(),
        }
    contractor = {**r.contractor, "phone": mask_phone(r.contractor.get("phone"))}
    workers = [{**w, "phone": mask_phone(w.get("phone"))} for w in r.workers]
    waiver = None
    if r.deposit_waived_at:
        waiver = {"by": r.deposit_waived_by, "at": iso(r.deposit_waived_at), "reason": r.deposit_waiver_reason}
    return {
        **{c: getattr(r, c) for c in RenovationOut().fields if hasattr(r, c)},
        "contractor": contractor,
        "workers": workers,
        "permit": permit,
        "deposit_waiver": waiver,
        "history": renovations.history(r),
    }


@renovation.route("", methods=["POST"])
@renovation.arguments(RenovationCreate)
@renovation.response(201, RenovationOut)
def apply_renovation(data):
    """An owner's application: contractor, workers, scope items (structural flagged), planned dates."""
    with web.database().transaction() as session:
        return _renovations(
            session, _renovation_view(renovations.apply(session, web.settings(), web.principal(), data, _now()))
        )


@renovation.route("", methods=["GET"])
@renovation.arguments(RenovationListArgs, location="query")
@renovation.response(200, RenovationPage)
def list_renovations(args):
    query = renovations.list_renovations(web.principal(), args)
    with web.database().transaction() as session:
        page = web.paginate(session, query, args["page"], args["page_size"])
        page["items"] = _renovations(session, [_renovation_view(r) for r in page["items"]])
    return page


@renovation.route("/<renovation_id>", methods=["GET"])
@renovation.response(200, RenovationOut)
def get_renovation(renovation_id):
    with web.database().transaction() as session:
        return _renovations(session, _renovation_view(renovations.get(session, web.principal(), renovation_id)))


@renovation.route("/<renovation_id>/review", methods=["POST"])
@renovation.arguments(Review)
@renovation.response(200, RenovationOut)
def review_renovation(data, renovation_id):
    """Engineering's review of the plan (engineer, or a manager)."""
    with web.database().transaction() as session:
        return _renovations(
            session, _renovation_view(renovations.review(session, web.principal(), renovation_id, data, _now()))
        )


@renovation.route("/<renovation_id>/approve", methods=["POST"])
@renovation.doc(**web.audit_doc("renovation.approved", "renovation"))
@renovation.response(200, RenovationOut)
def approve_renovation(renovation_id):
    """The manager's approval. Publishes renovation.approved (billing bills the deposit); the permit follows."""
    with web.database().transaction() as session:
        return _renovations(
            session,
            _renovation_view(renovations.approve(session, web.settings(), web.principal(), renovation_id, _now())),
        )


def _deposit_of(community_id: str, renovation_id: str) -> dict | None:
    """Billing's answer on the deposit, with this service's credential; unreachable → UpstreamUnavailable (503)."""
    billing = current_app.extensions["residents.billing"]
    path = f"/api/v1/internal/renovations/{quote(renovation_id, safe='')}/deposit"
    try:
        return billing.get_found(f"{path}?community_id={quote(community_id, safe='')}")
    except UpstreamUnavailable:
        # Whatever the transport said (refused, timed out, an error answer): no permit on a guess; retry later.
        raise UpstreamUnavailable(
            "billing cannot say whether the renovation deposit is paid; try again shortly"
        ) from None


@renovation.route("/<renovation_id>/permit", methods=["POST"])
@renovation.arguments(PermitIssue)
@renovation.response(200, RenovationOut)
def issue_permit(data, renovation_id):
    """The permit (managers), once billing says the deposit is paid — unless the community does not require that,
    or the manager waives it with `waive_deposit_reason` (recorded in the renovation's history). Unpaid → 409
    naming the bill and the amount outstanding; billing unreachable → 503 and no permit."""
    with web.database().transaction() as session:
        return _renovation_view(
            renovations.issue_permit(session, web.principal(), renovation_id, data, _now(), _deposit_of)
        )


@renovation.route("/<renovation_id>/reject", methods=["POST"])
@renovation.arguments(Reject)
@renovation.response(200, RenovationOut)
def reject_renovation(data, renovation_id):
    with web.database().transaction() as session:
        return _renovations(
            session,
            _renovation_view(renovations.reject(session, web.principal(), renovation_id, data["reason"], _now())),
        )


@renovation.route("/<renovation_id>/inspections", methods=["POST"])
@renovation.arguments(InspectionCreate)
@renovation.response(201, InspectionOut)
def inspect_renovation(data, renovation_id):
    """A site inspection; a violation in it is published as renovation.violation."""
    with web.database().transaction() as session:
        inspection, violation = renovations.inspect(
            session, web.settings(), web.principal(), renovation_id, data, _now()
        )
        return annotate(_inspection_view(inspection, [violation] if violation else []), [_inspector()])


@renovation.route("/<renovation_id>/inspections", methods=["GET"])
@renovation.response(200, InspectionOut(many=True))
def list_inspections(renovation_id):
    with web.database().transaction() as session:
        found = renovations.inspections(session, web.principal(), renovation_id)
        return annotate([_inspection_view(i, v) for i, v in found], [_inspector()])


def _inspector():
    return display.staff("inspector_id", "inspector_name")


def _inspection_view(inspection, violations) -> dict:
    return {
        **{c: getattr(inspection, c) for c in InspectionOut().fields if c != "violations" and hasattr(inspection, c)},
        "violations": violations,
    }


@renovation.route("/<renovation_id>/violations/<violation_id>/reinspection", methods=["POST"])
@renovation.arguments(Reinspection)
@renovation.response(200, ViolationOut)
def reinspect(data, renovation_id, violation_id):
    with web.database().transaction() as session:
        return renovations.reinspect(session, web.principal(), renovation_id, violation_id, data, _now())


@renovation.route("/<renovation_id>/acceptance", methods=["POST"])
@renovation.arguments(Acceptance)
@renovation.response(200, RenovationOut)
def accept_renovation(data, renovation_id):
    """验收: passed → renovation.completed; failed → stays open, or with close=true ends as failed."""
    with web.database().transaction() as session:
        renovation_ = renovations.accept(session, web.settings(), web.principal(), renovation_id, data, _now())
        return _renovations(session, _renovation_view(renovation_))


# --- imports ---------------------------------------------------------------------------------------------------
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IMPORT_BODY = {
    "required": True,
    "description": "the roster: a multipart upload (field `file`), or the file itself as the body",
    "content": {
        "multipart/form-data": {
            "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}},
        },
        XLSX: {"schema": {"type": "string", "format": "binary"}},
        "text/csv": {"schema": {"type": "string"}},
    },
}


@imports.route("/template.xlsx", methods=["GET"])
@imports.response(200, {"type": "string", "format": "binary"}, content_type=roster.XLSX_TYPE)
def import_template():
    """An empty roster to fill in: sheets 楼栋, 房屋, 住户 with the headers the import reads, and 说明 (managers)."""
    roster.require_importer(web.principal())
    return send_file(
        roster.as_file(roster.template_xlsx(web.settings())),
        mimetype=roster.XLSX_TYPE,
        as_attachment=True,
        download_name="roster-template.xlsx",
    )


@imports.route("", methods=["POST"])
@imports.arguments(ImportArgs, location="query")
@imports.doc(requestBody=IMPORT_BODY)
@imports.response(200, ImportOut)
def run_import(args):
    """Import a roster: multipart `file` (or the raw body), XLSX with sheets buildings/units/residents, or a CSV
    with `kind`. dry_run=true lists row errors without writing; a real import is all-or-nothing."""
    # A 20,000-unit roster is a few MB: this route alone may exceed the instance's ordinary body limit.
    request.max_content_length = IMPORT_MAX_BYTES
    upload = request.files.get("file")
    content = upload.read() if upload else request.get_data()
    if not content:
        raise Invalid("file", "required (multipart field `file`, or the body)")
    if content[:2] == b"PK":
        sheets = roster.read_xlsx(content)
    else:
        if not args.get("kind"):
            raise Invalid("kind", "required for a CSV file")
        sheets = roster.read_csv(content, args["kind"])
    with web.database().transaction() as session:
        result = roster.run_import(
            session, web.settings(), web.principal(), args["community_id"], sheets, args["dry_run"]
        )
    if not args["dry_run"]:
        with web.database().transaction() as session:
            roster.refresh_statistics(session, result)
    return result


# --- internal --------------------------------------------------------------------------------------------------


@internal.route("/<resident_id>/contact", methods=["GET"])
@internal.response(200, ContactOut)
def resident_contact(resident_id):
    """Name and phone in clear for a service about to contact the person (role `service` only)."""
    with web.database().transaction() as session:
        return people.resident_contact(session, web.principal(), resident_id)


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
        return structure.zones_of_butler(session, web.principal(), user_id)


@internal_more.route("/communities/<community_id>/recipients", methods=["GET"])
@internal_more.arguments(RecipientsArgs, location="query")
@internal_more.response(200, RecipientsOut)
def community_recipients(args, community_id):
    """The audience of a community notice: every current resident of the community, a building or a zone."""
    with web.database().transaction() as session:
        return people.community_recipients(session, web.principal(), community_id, args["scope"], args.get("target_id"))
