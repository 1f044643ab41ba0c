"""HTTP API of units (房屋): occupancy, passes, keys, vacancy checks — load → call domain → dump."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from guanjia import uploads, web
from guanjia.display import annotate
from guanjia.web import Blueprint

from .. import examples
from ..domain import affairs, display, occupancy, photos, structure
from ..schemas.common import PhotoOut
from ..schemas.units import (
    Handover,
    KeyCreate,
    KeyLend,
    KeyOut,
    MoveIn,
    MoveInOut,
    MoveOut,
    MoveOutOut,
    MovingCreate,
    MovingOut,
    MovingScheduleArgs,
    MovingScheduled,
    PassCreate,
    PassOut,
    StatusHistory,
    UnitCreate,
    UnitListArgs,
    UnitOut,
    UnitPage,
    UnitUpdate,
    VacancyCheckCreate,
    VacancyCheckOut,
)
from . import photos as photo_routes
from .common import IDEMPOTENCY_HEADER, create_idempotently, resident_view, with_household, with_unit_rows, with_units

units = Blueprint(
    "units", __name__, url_prefix="/api/v1/units", description="Units (房屋): occupancy, passes, keys, vacancy checks"
)


def _today(now):
    return now.astimezone(ZoneInfo(web.settings().timezone)).date()


@units.route("", methods=["POST"])
@units.arguments(UnitCreate, example=examples.UNIT_CREATE)
@units.response(201, UnitOut, example=examples.UNIT_OUT)
@units.doc(parameters=[IDEMPOTENCY_HEADER])
def create_unit(data):
    """Add a unit to a building; areas are decimal strings ("88.50"). Publishes unit.created."""
    settings, now = web.settings(), web.now()
    return create_idempotently(
        data,
        lambda session, principal: UnitOut().dump(
            with_unit_rows(session, structure.create_unit(session, settings, principal, data, now))
        ),
    )


@units.route("", methods=["GET"])
@units.arguments(UnitListArgs, location="query")
@units.response(200, UnitPage, example=examples.UNIT_PAGE)
def list_units(args):
    """Units the caller may see: butlers their zones, managers their communities, residents their own units."""
    query = structure.list_units(web.principal(), args)
    with web.database().transaction() as session:
        return with_unit_rows(session, web.paginate(session, query, args["page"], args["page_size"]))


@units.route("/<unit_id>", methods=["GET"])
@units.response(200, UnitOut)
def get_unit(unit_id):
    """The unit, with the number of its open new-building acceptance defects (they may hold its handover)."""
    with web.database().transaction() as session:
        unit = with_unit_rows(session, structure.get_unit(session, web.principal(), unit_id))
        unit.open_acceptance_defects = len(occupancy.open_defects(session, unit_id))
        return unit


@units.route("/<unit_id>", methods=["PATCH"])
@units.arguments(UnitUpdate)
@units.response(200, UnitOut)
def update_unit(data, unit_id):
    """Correct a unit's facts (areas, type, floor, zone); publishes unit.updated. Status changes via the flows."""
    with web.database().transaction() as session:
        return with_unit_rows(
            session, structure.update_unit(session, web.settings(), web.principal(), unit_id, data, web.now())
        )


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
        return with_unit_rows(
            session, occupancy.handover(session, web.settings(), web.principal(), unit_id, data, web.now())
        )


@units.route("/<unit_id>/move-in", methods=["POST"])
@units.arguments(MoveIn)
@units.response(200, MoveInOut)
def move_in(data, unit_id):
    """Move registered residents of this unit in; publishes resident.moved_in and unit.updated."""
    ids = [data["resident_id"], *data["with_resident_ids"]]
    with web.database().transaction() as session:
        unit, moved = occupancy.move_in(session, web.settings(), web.principal(), unit_id, ids, web.now())
        views = [resident_view(r) for r in moved]
        return {"unit": with_unit_rows(session, unit), "resident": views[0], "residents": with_units(session, views)}


@units.route("/<unit_id>/move-out", methods=["POST"])
@units.arguments(MoveOut)
@units.response(200, MoveOutOut)
def move_out(data, unit_id):
    """Move residents out (default: everyone who lives there); publishes resident.moved_out (and unit.updated)."""
    with web.database().transaction() as session:
        unit, left = occupancy.move_out(
            session, web.settings(), web.principal(), unit_id, data.get("resident_ids"), web.now()
        )
        return {
            "unit": with_unit_rows(session, unit),
            "residents": with_units(session, [resident_view(r) for r in left]),
        }


@units.route("/<unit_id>/moving-appointments", methods=["POST"])
@units.arguments(MovingCreate)
@units.response(201, MovingOut)
def book_moving(data, unit_id):
    with web.database().transaction() as session:
        return with_household(session, occupancy.book_moving(session, web.principal(), unit_id, data, web.now()))


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
        return with_household(session, occupancy.list_moving(session, web.principal(), unit_id))


@units.route("/<unit_id>/passes", methods=["POST"])
@units.arguments(PassCreate)
@units.response(201, PassOut)
def issue_pass(data, unit_id):
    """放行条: goods leaving with a carrier on a given day, authorised by a member of the household."""
    now = web.now()
    with web.database().transaction() as session:
        return with_household(session, occupancy.issue_pass(session, web.principal(), unit_id, data, now, _today(now)))


@units.route("/<unit_id>/passes", methods=["GET"])
@units.response(200, PassOut(many=True))
def list_passes(unit_id):
    with web.database().transaction() as session:
        return with_household(session, occupancy.list_passes(session, web.principal(), unit_id))


@units.route("/<unit_id>/passes/<pass_id>/use", methods=["POST"])
@units.response(200, PassOut)
def use_pass(unit_id, pass_id):
    """The gate lets the goods out (once, on the pass's day)."""
    now = web.now()
    with web.database().transaction() as session:
        return with_household(session, occupancy.use_pass(session, web.principal(), unit_id, pass_id, _today(now), now))


@units.route("/<unit_id>/keys", methods=["POST"])
@units.arguments(KeyCreate)
@units.response(201, KeyOut)
def deposit_key(data, unit_id):
    """钥匙托管: a key left with the office and the people allowed to collect it."""
    with web.database().transaction() as session:
        key = affairs.deposit_key(session, web.principal(), unit_id, data, web.now())
        return with_units(session, _key_view(key, None))


@units.route("/<unit_id>/keys", methods=["GET"])
@units.response(200, KeyOut(many=True))
def list_keys(unit_id):
    with web.database().transaction() as session:
        return with_units(
            session, [_key_view(k, loan) for k, loan in affairs.list_keys(session, web.principal(), unit_id)]
        )


@units.route("/<unit_id>/keys/<key_id>/lend", methods=["POST"])
@units.arguments(KeyLend)
@units.response(200, KeyOut)
def lend_key(data, unit_id, key_id):
    """Lend the key to someone on its list, with the reason and when it is due back."""
    with web.database().transaction() as session:
        return with_units(
            session, _key_view(*affairs.lend_key(session, web.principal(), unit_id, key_id, data, web.now()))
        )


@units.route("/<unit_id>/keys/<key_id>/return", methods=["POST"])
@units.response(200, KeyOut)
def return_key(unit_id, key_id):
    with web.database().transaction() as session:
        key, _loan = affairs.return_key(session, web.principal(), unit_id, key_id, web.now())
        return with_units(session, _key_view(key, None))


def _key_view(key, loan) -> dict:
    return affairs.key_view(web.principal(), key, loan)


@units.route("/<unit_id>/vacancy-checks", methods=["POST"])
@units.arguments(VacancyCheckCreate)
@units.response(201, VacancyCheckOut)
def record_vacancy_check(data, unit_id):
    """A check of an empty unit; its photos are added after it (`…/vacancy-checks/{check_id}/photos`)."""
    with web.database().transaction() as session:
        check = affairs.record_vacancy_check(session, web.principal(), unit_id, data, web.now())
        return _vacancy_checks(session, [check])[0]


@units.route("/<unit_id>/vacancy-checks", methods=["GET"])
@units.response(200, VacancyCheckOut(many=True))
def list_vacancy_checks(unit_id):
    with web.database().transaction() as session:
        return _vacancy_checks(session, affairs.list_vacancy_checks(session, web.principal(), unit_id))


def _vacancy_checks(session, checks) -> list[dict]:
    rows = [{c: getattr(check, c) for c in VacancyCheckOut().fields if hasattr(check, c)} for check in checks]
    rows = photo_routes.with_photos(session, photos.VACANCY_CHECK, rows)
    return annotate(rows, [display.staff("checked_by", "checked_by_name")], {"photos": [photo_routes.uploader()]})


def _vacancy_check(unit_id, check_id):
    return lambda session: photos.vacancy_check_of(session, web.principal(), unit_id, check_id)


@units.route("/<unit_id>/vacancy-checks/<check_id>/photos", methods=["POST"])
@units.response(201, PhotoOut)
@units.doc(**uploads.multipart_doc())
def add_vacancy_check_photo(unit_id, check_id):
    """A photo taken in the empty unit (JPEG, PNG, WebP; multipart field `file`, up to GUANJIA_MAX_UPLOAD_BYTES);
    the type is proven by the file's content. The front desk only."""
    return photo_routes.add(photos.VACANCY_CHECK, check_id, _vacancy_check(unit_id, check_id))


@units.route("/<unit_id>/vacancy-checks/<check_id>/photos/<photo_id>/content", methods=["GET"])
@units.response(200, description="the photo, as a download")
def vacancy_check_photo_content(unit_id, check_id, photo_id):
    return photo_routes.content(photos.VACANCY_CHECK, check_id, photo_id, _vacancy_check(unit_id, check_id))
