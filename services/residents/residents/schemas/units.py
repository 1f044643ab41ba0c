"""Request and response schemas of the units blueprint: occupancy, passes, keys, vacancy checks."""

import marshmallow as ma

from guanjia.fields import Phone
from guanjia.web import PageArgs, UtcDateTime, enum_out, page_schema

from ..domain.common import UNIT_STATUSES, UNIT_TYPES
from ..values import format_area, parse_area
from .common import ID_LENGTH, PhotoOut, optional_text, required_text
from .residents import ResidentOut

# Output enums: the values the domain writes into these columns (models.py), so clients see the choices.
MOVING_KINDS = ("move_in", "move_out")
PASS_STATUSES = ("issued", "used")  # the model also names "cancelled", but nothing writes it
KEY_STATUSES = ("in_custody", "lent")


class Area(ma.fields.String):
    """m² as a decimal string ("88.50") both ways; a JSON number is refused so no float ever carries an area."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {"example": "88.50", "pattern": r"^\d{1,8}(\.\d{1,2})?$"})
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_area(value)
        except ValueError as exc:
            raise ma.ValidationError(str(exc)) from None

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else format_area(value)


class UnitCreate(ma.Schema):
    """`area_m2` (v1) and `gross_area_m2` are the same figure, the gross area (建筑面积); give one of them."""

    building_id = ma.fields.String(required=True, validate=ID_LENGTH)
    number = required_text(20)
    # Basements are negative floors.
    floor = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=-20, max=300))
    area_m2 = Area()
    gross_area_m2 = Area()
    inner_area_m2 = Area(allow_none=True)
    unit_type = ma.fields.String(validate=ma.validate.OneOf(UNIT_TYPES))
    zone_id = ma.fields.String(validate=ID_LENGTH, allow_none=True)

    @ma.validates_schema
    def _areas(self, data, **kwargs):
        gross = data.get("gross_area_m2", data.get("area_m2"))
        if gross is None:
            raise ma.ValidationError("required", "area_m2")
        if "area_m2" in data and "gross_area_m2" in data and data["area_m2"] != data["gross_area_m2"]:
            raise ma.ValidationError("differs from area_m2 (both are the gross area)", "gross_area_m2")
        inner = data.get("inner_area_m2")
        if inner is not None and inner > gross:
            raise ma.ValidationError("must not exceed the gross area", "inner_area_m2")

    @ma.post_load
    def _gross(self, data, **kwargs):
        data["area_m2"] = data.pop("gross_area_m2", None) or data["area_m2"]
        return data


class UnitUpdate(ma.Schema):
    floor = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=-20, max=300))
    area_m2 = Area()
    gross_area_m2 = Area()
    inner_area_m2 = Area(allow_none=True)
    unit_type = ma.fields.String(validate=ma.validate.OneOf(UNIT_TYPES))
    zone_id = ma.fields.String(validate=ID_LENGTH, allow_none=True)

    @ma.post_load
    def _gross(self, data, **kwargs):
        if "gross_area_m2" in data:
            data["area_m2"] = data.pop("gross_area_m2")
        return data


class UnitOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    building_id = ma.fields.String()
    zone_id = ma.fields.String(allow_none=True)
    number = ma.fields.String()
    unit_label = ma.fields.String(
        dump_only=True, allow_none=True, metadata={"description": "building + number, e.g. 1栋1-101"}
    )
    building_name = ma.fields.String(dump_only=True, allow_none=True)
    zone_name = ma.fields.String(dump_only=True, allow_none=True)
    floor = ma.fields.Integer()
    unit_type = enum_out(UNIT_TYPES)
    area_m2 = Area()
    gross_area_m2 = Area(attribute="area_m2", dump_only=True)
    inner_area_m2 = Area(allow_none=True)
    status = enum_out(UNIT_STATUSES)
    handed_over_at = UtcDateTime(allow_none=True)
    open_acceptance_defects = ma.fields.Integer(
        dump_only=True, metadata={"description": "open new-building acceptance defects (on a single unit's answer)"}
    )
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class UnitListArgs(PageArgs):
    building_id = ma.fields.String()
    community_id = ma.fields.String()
    zone_id = ma.fields.String()
    status = ma.fields.String(validate=ma.validate.OneOf(UNIT_STATUSES))
    unit_type = ma.fields.String(validate=ma.validate.OneOf(UNIT_TYPES))


class StatusChangeOut(ma.Schema):
    from_status = enum_out(UNIT_STATUSES)
    to_status = enum_out(UNIT_STATUSES)
    reason = ma.fields.String()
    actor_id = ma.fields.String()
    actor_name = ma.fields.String(dump_only=True, allow_none=True)
    at = UtcDateTime()


class StatusHistory(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(StatusChangeOut))


class Handover(ma.Schema):
    owner_id = ma.fields.String(required=True, validate=ID_LENGTH)
    handed_over_at = ma.fields.AwareDateTime()
    notes = optional_text(2000)


class MoveIn(ma.Schema):
    resident_id = ma.fields.String(required=True, validate=ID_LENGTH)
    # Others of the household moving in together with resident_id.
    with_resident_ids = ma.fields.List(ma.fields.String(validate=ID_LENGTH), load_default=list)


class MoveOut(ma.Schema):
    resident_ids = ma.fields.List(ma.fields.String(validate=ID_LENGTH))


class MoveInOut(ma.Schema):
    unit = ma.fields.Nested(UnitOut)
    resident = ma.fields.Nested(ResidentOut)
    residents = ma.fields.List(ma.fields.Nested(ResidentOut))


class MoveOutOut(ma.Schema):
    unit = ma.fields.Nested(UnitOut)
    residents = ma.fields.List(ma.fields.Nested(ResidentOut))


class MovingCreate(ma.Schema):
    resident_id = ma.fields.String(required=True, validate=ID_LENGTH)
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(MOVING_KINDS))
    scheduled_at = ma.fields.AwareDateTime(required=True)
    notes = optional_text(2000)


class MovingOut(ma.Schema):
    id = ma.fields.String()
    unit_id = ma.fields.String()
    unit_label = ma.fields.String(dump_only=True, allow_none=True, metadata={"description": "e.g. 1栋1-101"})
    resident_name = ma.fields.String(dump_only=True, allow_none=True, metadata={"description": "masked: 张*"})
    resident_id = ma.fields.String()
    kind = enum_out(MOVING_KINDS)
    scheduled_at = UtcDateTime()
    notes = ma.fields.String(allow_none=True)
    created_at = UtcDateTime()


class MovingScheduleArgs(ma.Schema):
    start = ma.fields.AwareDateTime(required=True, metadata={"description": "from this time (inclusive)"})
    end = ma.fields.AwareDateTime(required=True, metadata={"description": "until this time (exclusive)"})
    zone_id = ma.fields.String(validate=ID_LENGTH)
    community_id = ma.fields.String(validate=ID_LENGTH)


class MovingScheduled(MovingOut):
    unit_number = ma.fields.String()
    zone_id = ma.fields.String(allow_none=True)


class PassCreate(ma.Schema):
    resident_id = ma.fields.String(required=True, validate=ID_LENGTH)
    carrier_name = required_text(100)
    items = required_text(2000)
    valid_on = ma.fields.Date(required=True)


class PassOut(ma.Schema):
    id = ma.fields.String()
    unit_id = ma.fields.String()
    unit_label = ma.fields.String(dump_only=True, allow_none=True, metadata={"description": "e.g. 1栋1-101"})
    resident_name = ma.fields.String(dump_only=True, allow_none=True, metadata={"description": "masked: 张*"})
    resident_id = ma.fields.String()
    carrier_name = ma.fields.String()
    items = ma.fields.String()
    valid_on = ma.fields.Date()
    status = enum_out(PASS_STATUSES)
    created_at = UtcDateTime()
    used_at = UtcDateTime(allow_none=True)


class AuthorizedPerson(ma.Schema):
    resident_id = ma.fields.String(validate=ID_LENGTH)
    name = optional_text(100)
    phone = Phone()


class KeyCreate(ma.Schema):
    label = required_text(100)
    authorized = ma.fields.List(ma.fields.Nested(AuthorizedPerson), required=True, validate=ma.validate.Length(min=1))


class Borrower(ma.Schema):
    resident_id = ma.fields.String(validate=ID_LENGTH)
    phone = Phone()


class KeyLend(ma.Schema):
    borrower = ma.fields.Nested(Borrower, required=True)
    reason = required_text(500)
    due_back_at = ma.fields.AwareDateTime(required=True)


class LoanOut(ma.Schema):
    id = ma.fields.String()
    borrower_name = ma.fields.String()
    borrower_resident_id = ma.fields.String(allow_none=True)
    reason = ma.fields.String()
    lent_at = UtcDateTime()
    due_back_at = UtcDateTime()
    returned_at = UtcDateTime(allow_none=True)


class AuthorizedOut(ma.Schema):
    resident_id = ma.fields.String(allow_none=True)
    name = ma.fields.String()
    phone = ma.fields.String()


class KeyOut(ma.Schema):
    id = ma.fields.String()
    unit_id = ma.fields.String()
    unit_label = ma.fields.String(dump_only=True, allow_none=True, metadata={"description": "e.g. 1栋1-101"})
    label = ma.fields.String()
    status = enum_out(KEY_STATUSES)
    authorized = ma.fields.List(ma.fields.Nested(AuthorizedOut))
    deposited_at = UtcDateTime()
    loan = ma.fields.Nested(LoanOut, allow_none=True)


class VacancyCheckCreate(ma.Schema):
    issues_found = ma.fields.Boolean(required=True)
    findings = required_text(2000)
    checked_at = ma.fields.AwareDateTime()


class VacancyCheckOut(ma.Schema):
    id = ma.fields.String()
    unit_id = ma.fields.String()
    checked_at = UtcDateTime()
    checked_by = ma.fields.String()
    checked_by_name = ma.fields.String(dump_only=True, allow_none=True)
    issues_found = ma.fields.Boolean()
    findings = ma.fields.String()
    photos = ma.fields.List(ma.fields.Nested(PhotoOut), metadata={"description": "photos taken in the unit"})


UnitPage = page_schema(UnitOut, "UnitPage")
