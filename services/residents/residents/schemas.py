"""Request and response schemas of the residents API."""

import marshmallow as ma
from webargs.fields import DelimitedList

from guanjia.errors import Invalid
from guanjia.pii import normalize_id_card, normalize_phone
from guanjia.web import DayEndDateTime, PageArgs, UtcDateTime, enum_out, page_schema

from .domain.common import RESIDENT_ROLES, RESIDENT_STATUSES, RESIDENT_TAGS, UNIT_STATUSES, UNIT_TYPES
from .domain.renovations import VIOLATION_CATEGORIES
from .domain.structure import parse_hours
from .values import format_area, parse_area

# Output enums: the values the domain writes into these columns (models.py), so clients see the choices.
MOVING_KINDS = ("move_in", "move_out")
PASS_STATUSES = ("issued", "used")  # the model also names "cancelled", but nothing writes it
CARD_STATUSES = ("active", "lost", "revoked")
KEY_STATUSES = ("in_custody", "lent")
CONTACT_KINDS = ("visit", "call", "message")
VIOLATION_STATUSES = ("open", "rectified")
VIOLATION_SEVERITIES = ("minor", "serious")
RENOVATION_STATUSES = ("submitted", "reviewed", "approved", "rejected", "completed", "failed")
SCOPES = ("community", "building", "zone")


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


class Phone(ma.fields.String):
    """A phone number, loaded as its E.164 form (mainland numbers may omit +86)."""

    def _deserialize(self, value, attr, data, **kwargs):
        raw = super()._deserialize(value, attr, data, **kwargs)
        if len(raw) > 32:
            raise ma.ValidationError("not a phone number")
        try:
            return normalize_phone(raw)
        except Invalid as exc:
            raise ma.ValidationError(next(iter(exc.errors.values()))) from None


def _text(max_length: int, required: bool = True):
    return ma.fields.String(
        required=required,
        validate=[ma.validate.Length(min=1, max=max_length), ma.validate.Regexp(r"\S", error="must not be blank")],
    )


_ID = ma.validate.Length(min=1, max=36)


class IdNumber(ma.fields.String):
    """A Chinese resident ID number, validated with its check digit (python-stdnum cn.ric), loaded compact."""

    def _deserialize(self, value, attr, data, **kwargs):
        raw = super()._deserialize(value, attr, data, **kwargs)
        if len(raw) > 40:
            raise ma.ValidationError("not a valid Chinese resident ID number")
        try:
            return normalize_id_card(raw)
        except Invalid as exc:
            raise ma.ValidationError(next(iter(exc.errors.values()))) from None


class Hours(ma.fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_hours(super()._deserialize(value, attr, data, **kwargs))
        except ValueError as exc:
            raise ma.ValidationError(str(exc)) from None


def _optional_text(max_length: int, **kwargs):
    return ma.fields.String(validate=ma.validate.Length(max=max_length), **kwargs)


# --- communities, zones, buildings, units ----------------------------------------------------------------------


class CommunityCreate(ma.Schema):
    name = _text(200)
    renovation_hours = Hours(metadata={"example": "08:00-12:00,14:00-18:00"})
    deposit_before_permit = ma.fields.Boolean(load_default=True)


class CommunityUpdate(ma.Schema):
    name = _text(200, required=False)
    renovation_hours = Hours()
    deposit_before_permit = ma.fields.Boolean()


class CommunityOut(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    renovation_hours = ma.fields.String()
    deposit_before_permit = ma.fields.Boolean()
    created_at = UtcDateTime()


class CommunityListArgs(PageArgs):
    pass


class ZoneCreate(ma.Schema):
    community_id = ma.fields.String(required=True, validate=_ID)
    name = _text(100)
    butler_ids = ma.fields.List(ma.fields.String(validate=ma.validate.Length(min=1, max=100)), load_default=list)


class ZoneUpdate(ma.Schema):
    name = _text(100, required=False)
    butler_ids = ma.fields.List(ma.fields.String(validate=ma.validate.Length(min=1, max=100)))


class ZoneOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    name = ma.fields.String()
    butler_ids = ma.fields.List(ma.fields.String())
    butler_names = ma.fields.List(
        ma.fields.String(allow_none=True), dump_only=True, metadata={"description": "display names, as butler_ids"}
    )
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class ZoneListArgs(PageArgs):
    community_id = ma.fields.String()


class CoverOut(ma.Schema):
    """代岗: the zones of an absent butler this person stands in for, until the leave ends (UTC)."""

    absence_id = ma.fields.String()
    butler_id = ma.fields.String()
    zones = ma.fields.List(ma.fields.String())
    until = UtcDateTime()


class ButlerZonesOut(ma.Schema):
    user_id = ma.fields.String()
    zones = ma.fields.List(ma.fields.String())
    communities = ma.fields.List(ma.fields.String())
    cover = ma.fields.List(ma.fields.Nested(CoverOut))


class InternalZoneOut(ma.Schema):
    zone_id = ma.fields.String()
    community_id = ma.fields.String()
    name = ma.fields.String()
    butler_ids = ma.fields.List(ma.fields.String())


class InternalUnitsArgs(ma.Schema):
    detail = ma.fields.Boolean(load_default=False, metadata={"description": "with each unit's data, not only ids"})


class InternalUnit(ma.Schema):
    unit_id = ma.fields.String()
    community_id = ma.fields.String()
    building_id = ma.fields.String(allow_none=True)
    zone_id = ma.fields.String(allow_none=True)
    number = ma.fields.String()
    floor = ma.fields.Integer(allow_none=True)
    unit_type = enum_out(UNIT_TYPES)
    area_m2 = ma.fields.String(allow_none=True)
    gross_area_m2 = ma.fields.String(allow_none=True)
    inner_area_m2 = ma.fields.String(allow_none=True)
    status = enum_out(UNIT_STATUSES)
    updated_at = UtcDateTime()


class InternalUnitsOut(ma.Schema):
    community_id = ma.fields.String()
    count = ma.fields.Integer()
    unit_ids = ma.fields.List(ma.fields.String())
    units = ma.fields.List(ma.fields.Nested(InternalUnit))


class BuildingCreate(ma.Schema):
    community_id = ma.fields.String(required=True, validate=_ID)
    name = _text(100)
    zone_id = ma.fields.String(validate=_ID, allow_none=True)


class BuildingUpdate(ma.Schema):
    name = _text(100, required=False)
    zone_id = ma.fields.String(validate=_ID, allow_none=True)


class BuildingOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    zone_id = ma.fields.String(allow_none=True)
    zone_name = ma.fields.String(dump_only=True, allow_none=True)
    name = ma.fields.String()
    created_at = UtcDateTime()


class BuildingListArgs(PageArgs):
    community_id = ma.fields.String()
    zone_id = ma.fields.String()


class UnitCreate(ma.Schema):
    """`area_m2` (v1) and `gross_area_m2` are the same figure, the gross area (建筑面积); give one of them."""

    building_id = ma.fields.String(required=True, validate=_ID)
    number = _text(20)
    # Basements are negative floors.
    floor = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=-20, max=300))
    area_m2 = Area()
    gross_area_m2 = Area()
    inner_area_m2 = Area(allow_none=True)
    unit_type = ma.fields.String(validate=ma.validate.OneOf(UNIT_TYPES))
    zone_id = ma.fields.String(validate=_ID, allow_none=True)

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
    zone_id = ma.fields.String(validate=_ID, allow_none=True)

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


# --- residents -------------------------------------------------------------------------------------------------


class EmergencyContact(ma.Schema):
    name = _text(100)
    phone = Phone(required=True)


class ResidentCreate(ma.Schema):
    unit_id = ma.fields.String(required=True, validate=_ID)
    name = _text(100)
    phone = Phone(required=True)
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(RESIDENT_ROLES))
    id_number = IdNumber(allow_none=True)
    emergency_contact = ma.fields.Nested(EmergencyContact, allow_none=True)
    tags = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(RESIDENT_TAGS)))
    notes = _optional_text(2000, allow_none=True)
    sms_opt_out = ma.fields.Boolean()


class ResidentUpdate(ma.Schema):
    name = _text(100, required=False)
    phone = Phone()
    role = ma.fields.String(validate=ma.validate.OneOf(RESIDENT_ROLES))
    id_number = IdNumber(allow_none=True)
    emergency_contact = ma.fields.Nested(EmergencyContact, allow_none=True)
    tags = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(RESIDENT_TAGS)))
    notes = _optional_text(2000, allow_none=True)
    sms_opt_out = ma.fields.Boolean()


class EmergencyOut(ma.Schema):
    name = ma.fields.String()
    phone = ma.fields.String()


class ResidentOut(ma.Schema):
    """name, phone, ID number and emergency contact are masked (`张**`, `138****8000`, `1101**********002X`)
    unless the caller is the resident themself."""

    id = ma.fields.String()
    community_id = ma.fields.String()
    unit_id = ma.fields.String()
    unit_label = ma.fields.String(dump_only=True, allow_none=True, metadata={"description": "e.g. 1栋1-101"})
    name = ma.fields.String()
    phone = ma.fields.String()
    id_number = ma.fields.String(allow_none=True)
    role = enum_out(RESIDENT_ROLES)
    status = enum_out(RESIDENT_STATUSES)
    emergency_contact = ma.fields.Nested(EmergencyOut, allow_none=True)
    tags = ma.fields.List(ma.fields.String())
    notes = ma.fields.String(allow_none=True)
    sms_opt_out = ma.fields.Boolean()
    moved_in_at = UtcDateTime(allow_none=True)
    moved_out_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class ResidentListArgs(PageArgs):
    unit_id = ma.fields.String()
    community_id = ma.fields.String()
    zone_id = ma.fields.String()
    status = ma.fields.String(validate=ma.validate.OneOf(RESIDENT_STATUSES))
    role = ma.fields.String(validate=ma.validate.OneOf(RESIDENT_ROLES))
    tag = ma.fields.String(validate=ma.validate.OneOf(RESIDENT_TAGS))
    q = ma.fields.String(validate=ma.validate.Length(min=1, max=50), metadata={"description": "phone, name or unit"})


class RevealedOut(ma.Schema):
    """In clear: name, phone, emergency contact; the ID number only for managers (masked for butlers)."""

    resident_id = ma.fields.String()
    name = ma.fields.String()
    phone = ma.fields.String()
    emergency_contact = ma.fields.Nested(EmergencyOut, allow_none=True)
    id_number = ma.fields.String(allow_none=True)


class DisclosureOut(ma.Schema):
    actor_id = ma.fields.String()
    actor_role = ma.fields.String()
    fields = ma.fields.Function(lambda d: d.fields.split(","))
    request_id = ma.fields.String(allow_none=True)
    at = UtcDateTime()


# --- occupancy -------------------------------------------------------------------------------------------------


class Handover(ma.Schema):
    owner_id = ma.fields.String(required=True, validate=_ID)
    handed_over_at = ma.fields.AwareDateTime()
    notes = _optional_text(2000)


class MoveIn(ma.Schema):
    resident_id = ma.fields.String(required=True, validate=_ID)
    # Others of the household moving in together with resident_id.
    with_resident_ids = ma.fields.List(ma.fields.String(validate=_ID), load_default=list)


class MoveOut(ma.Schema):
    resident_ids = ma.fields.List(ma.fields.String(validate=_ID))


class MoveInOut(ma.Schema):
    unit = ma.fields.Nested(UnitOut)
    resident = ma.fields.Nested(ResidentOut)
    residents = ma.fields.List(ma.fields.Nested(ResidentOut))


class MoveOutOut(ma.Schema):
    unit = ma.fields.Nested(UnitOut)
    residents = ma.fields.List(ma.fields.Nested(ResidentOut))


class MovingCreate(ma.Schema):
    resident_id = ma.fields.String(required=True, validate=_ID)
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(MOVING_KINDS))
    scheduled_at = ma.fields.AwareDateTime(required=True)
    notes = _optional_text(2000)


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
    zone_id = ma.fields.String(validate=_ID)
    community_id = ma.fields.String(validate=_ID)


class MovingScheduled(MovingOut):
    unit_number = ma.fields.String()
    zone_id = ma.fields.String(allow_none=True)


class PassCreate(ma.Schema):
    resident_id = ma.fields.String(required=True, validate=_ID)
    carrier_name = _text(100)
    items = _text(2000)
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


# --- affairs ---------------------------------------------------------------------------------------------------


class CardCreate(ma.Schema):
    card_number = _text(40)


class CardOut(ma.Schema):
    id = ma.fields.String()
    resident_id = ma.fields.String()
    card_number = ma.fields.String()
    status = enum_out(CARD_STATUSES)
    issued_at = UtcDateTime()
    status_changed_at = UtcDateTime(allow_none=True)


class AuthorizedPerson(ma.Schema):
    resident_id = ma.fields.String(validate=_ID)
    name = _optional_text(100)
    phone = Phone()


class KeyCreate(ma.Schema):
    label = _text(100)
    authorized = ma.fields.List(ma.fields.Nested(AuthorizedPerson), required=True, validate=ma.validate.Length(min=1))


class Borrower(ma.Schema):
    resident_id = ma.fields.String(validate=_ID)
    phone = Phone()


class KeyLend(ma.Schema):
    borrower = ma.fields.Nested(Borrower, required=True)
    reason = _text(500)
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


class OverdueKeyOut(ma.Schema):
    key_id = ma.fields.String()
    unit_id = ma.fields.String()
    unit_number = ma.fields.String()
    unit_label = ma.fields.String(dump_only=True, allow_none=True, metadata={"description": "e.g. 1栋1-101"})
    zone_name = ma.fields.String(dump_only=True, allow_none=True)
    zone_id = ma.fields.String(allow_none=True)
    label = ma.fields.String()
    loan = ma.fields.Nested(LoanOut)


class OverdueArgs(ma.Schema):
    zone_id = ma.fields.String()


class VacancyCheckCreate(ma.Schema):
    issues_found = ma.fields.Boolean(required=True)
    findings = _text(2000)
    checked_at = ma.fields.AwareDateTime()


class VacancyCheckOut(ma.Schema):
    id = ma.fields.String()
    unit_id = ma.fields.String()
    checked_at = UtcDateTime()
    checked_by = ma.fields.String()
    checked_by_name = ma.fields.String(dump_only=True, allow_none=True)
    issues_found = ma.fields.Boolean()
    findings = ma.fields.String()


class VacantArgs(ma.Schema):
    every_days = ma.fields.Integer(load_default=30, validate=ma.validate.Range(min=1, max=365))


class VacantUnitOut(ma.Schema):
    unit = ma.fields.Nested(UnitOut)
    last_checked_at = UtcDateTime(allow_none=True)
    check_due = ma.fields.Boolean()


class ContactCreate(ma.Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(CONTACT_KINDS))
    effective = ma.fields.Boolean(required=True, metadata={"description": "a real conversation took place"})
    contacted_at = ma.fields.AwareDateTime()
    notes = _optional_text(2000)


class ContactLogOut(ma.Schema):
    id = ma.fields.String()
    resident_id = ma.fields.String()
    unit_id = ma.fields.String()
    unit_label = ma.fields.String(dump_only=True, allow_none=True, metadata={"description": "e.g. 1栋1-101"})
    resident_name = ma.fields.String(dump_only=True, allow_none=True, metadata={"description": "masked: 张*"})
    kind = enum_out(CONTACT_KINDS)
    effective = ma.fields.Boolean()
    contacted_at = UtcDateTime()
    staff_id = ma.fields.String()
    staff_name = ma.fields.String(dump_only=True, allow_none=True)
    notes = ma.fields.String(allow_none=True)


class DaysArgs(ma.Schema):
    days = ma.fields.Integer(load_default=90, validate=ma.validate.Range(min=1, max=730))


class FamiliarityOut(ma.Schema):
    zone_id = ma.fields.String()
    community_id = ma.fields.String()
    days = ma.fields.Integer()
    households = ma.fields.Integer()
    contacted = ma.fields.Integer()
    effective = ma.fields.Integer()
    contacted_share = ma.fields.Float()
    effective_share = ma.fields.Float()
    familiarity_target = ma.fields.Float()
    effective_target = ma.fields.Float()
    meets_targets = ma.fields.Boolean()


class UnreachedOut(ma.Schema):
    unit_id = ma.fields.String()
    building = ma.fields.String()
    number = ma.fields.String()


# --- renovations -----------------------------------------------------------------------------------------------


class Contractor(ma.Schema):
    name = _text(200)
    phone = Phone(required=True)
    licence = _optional_text(100)


class Worker(ma.Schema):
    name = _text(100)
    phone = Phone()


class ScopeItem(ma.Schema):
    description = _text(500)
    structural = ma.fields.Boolean(required=True)


class RenovationCreate(ma.Schema):
    unit_id = ma.fields.String(required=True, validate=_ID)
    applicant_id = ma.fields.String(required=True, validate=_ID)
    contractor = ma.fields.Nested(Contractor, required=True)
    workers = ma.fields.List(ma.fields.Nested(Worker), load_default=list)
    items = ma.fields.List(ma.fields.Nested(ScopeItem), required=True, validate=ma.validate.Length(min=1))
    planned_start = ma.fields.Date(required=True)
    planned_end = ma.fields.Date(required=True)


class Review(ma.Schema):
    passed = ma.fields.Boolean(required=True)
    notes = _text(2000)


class Reject(ma.Schema):
    reason = _text(2000)


class ViolationCreate(ma.Schema):
    category = ma.fields.String(required=True, validate=ma.validate.OneOf(VIOLATION_CATEGORIES))
    severity = ma.fields.String(required=True, validate=ma.validate.OneOf(VIOLATION_SEVERITIES))
    evidence = _text(2000)
    rectify_by = DayEndDateTime(
        required=True, metadata={"description": "a time, or a date alone: the end of that local day"}
    )
    refer_to_authorities = ma.fields.Boolean(load_default=False)


class InspectionCreate(ma.Schema):
    findings = _text(2000)
    inspected_at = ma.fields.AwareDateTime()
    violation = ma.fields.Nested(ViolationCreate, allow_none=True)


class Reinspection(ma.Schema):
    rectified = ma.fields.Boolean(required=True)
    notes = _text(2000)


class Acceptance(ma.Schema):
    passed = ma.fields.Boolean(required=True)
    notes = _text(2000)
    close = ma.fields.Boolean(
        load_default=False, metadata={"description": "with passed=false: end the renovation as failed"}
    )


class ViolationOut(ma.Schema):
    id = ma.fields.String()
    renovation_id = ma.fields.String()
    inspection_id = ma.fields.String()
    category = enum_out(VIOLATION_CATEGORIES)
    severity = enum_out(VIOLATION_SEVERITIES)
    evidence = ma.fields.String()
    rectify_by = UtcDateTime()
    referred_to_authorities = ma.fields.Boolean()
    status = enum_out(VIOLATION_STATUSES)
    occurred_at = UtcDateTime()
    reinspected_at = UtcDateTime(allow_none=True)
    reinspection_notes = ma.fields.String(allow_none=True)


class InspectionOut(ma.Schema):
    id = ma.fields.String()
    renovation_id = ma.fields.String()
    inspected_at = UtcDateTime()
    inspector_id = ma.fields.String()
    inspector_name = ma.fields.String(dump_only=True, allow_none=True)
    findings = ma.fields.String()
    violations = ma.fields.List(ma.fields.Nested(ViolationOut))


class RenovationOut(ma.Schema):
    """Contractor and worker phones are masked; the permit appears once issued (after approval)."""

    id = ma.fields.String()
    unit_id = ma.fields.String()
    unit_label = ma.fields.String(dump_only=True, allow_none=True, metadata={"description": "e.g. 1栋1-101"})
    zone_name = ma.fields.String(dump_only=True, allow_none=True)
    community_id = ma.fields.String()
    applicant_id = ma.fields.String()
    applicant_name = ma.fields.String(dump_only=True, allow_none=True, metadata={"description": "masked: 张*"})
    contractor = ma.fields.Dict()
    workers = ma.fields.List(ma.fields.Dict())
    items = ma.fields.List(ma.fields.Dict())
    structural = ma.fields.Boolean()
    planned_start = ma.fields.Date()
    planned_end = ma.fields.Date()
    status = enum_out(RENOVATION_STATUSES)
    review_passed = ma.fields.Boolean(allow_none=True)
    review_notes = ma.fields.String(allow_none=True)
    rejection_reason = ma.fields.String(allow_none=True)
    approved_at = UtcDateTime(allow_none=True)
    permit = ma.fields.Dict(allow_none=True)
    deposit_waiver = ma.fields.Dict(allow_none=True)
    history = ma.fields.List(ma.fields.Dict())
    acceptance_notes = ma.fields.String(allow_none=True)
    completed_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class PermitIssue(ma.Schema):
    """`waive_deposit_reason`: a manager issues the permit although the deposit is not paid (recorded, audited)."""

    waive_deposit_reason = ma.fields.String(validate=ma.validate.Length(min=2, max=500))


class RenovationListArgs(PageArgs):
    community_id = ma.fields.String()
    unit_id = ma.fields.String()
    zone_id = ma.fields.String()
    status = ma.fields.String(validate=ma.validate.OneOf(RENOVATION_STATUSES))


# --- imports ---------------------------------------------------------------------------------------------------


class ImportArgs(ma.Schema):
    community_id = ma.fields.String(required=True, validate=_ID)
    dry_run = ma.fields.Boolean(load_default=False)
    kind = ma.fields.String(
        validate=ma.validate.OneOf(["buildings", "units", "residents"]),
        metadata={"description": "for a CSV file: which roster it is"},
    )


class Counts(ma.Schema):
    created = ma.fields.Integer()
    updated = ma.fields.Integer()
    unchanged = ma.fields.Integer()


class RowError(ma.Schema):
    sheet = ma.fields.String()
    row = ma.fields.Integer()
    field = ma.fields.String()
    message = ma.fields.String()


class ImportOut(ma.Schema):
    community_id = ma.fields.String()
    dry_run = ma.fields.Boolean()
    valid = ma.fields.Boolean()
    errors = ma.fields.List(ma.fields.Nested(RowError))
    zones = ma.fields.Dict()
    buildings = ma.fields.Nested(Counts)
    units = ma.fields.Nested(Counts)
    residents = ma.fields.Nested(Counts)


# --- internal --------------------------------------------------------------------------------------------------


class ContactOut(ma.Schema):
    """Unmasked: served to the `service` role only."""

    resident_id = ma.fields.String()
    unit_id = ma.fields.String()
    community_id = ma.fields.String()
    name = ma.fields.String()
    phone = ma.fields.String()
    locale = ma.fields.String()


class PersonContact(ma.Schema):
    resident_id = ma.fields.String()
    unit_id = ma.fields.String()
    name = ma.fields.String()
    phone = ma.fields.String()
    role = enum_out(RESIDENT_ROLES)
    locale = ma.fields.String()
    opted_out = ma.fields.Boolean()


class UnitContactsArgs(ma.Schema):
    roles = DelimitedList(ma.fields.String(validate=ma.validate.OneOf(RESIDENT_ROLES)))


class UnitContactsOut(ma.Schema):
    unit_id = ma.fields.String()
    community_id = ma.fields.String()
    contacts = ma.fields.List(ma.fields.Nested(PersonContact))


class PhoneArgs(ma.Schema):
    phone = Phone(required=True)


class PhoneMatch(ma.Schema):
    resident_id = ma.fields.String()
    unit_id = ma.fields.String()
    community_id = ma.fields.String()
    status = enum_out(RESIDENT_STATUSES)


class PhoneMatches(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(PhoneMatch))


class OccupancyOut(ma.Schema):
    """What a resident's token may carry now: the person's current stays (none after the move-out)."""

    resident_id = ma.fields.String()
    status = enum_out(RESIDENT_STATUSES)
    stays = ma.fields.List(ma.fields.Nested(PhoneMatch))


class RecipientsArgs(ma.Schema):
    scope = ma.fields.String(load_default="community", validate=ma.validate.OneOf(["community", "building", "zone"]))
    target_id = ma.fields.String(validate=_ID)


class RecipientsOut(ma.Schema):
    community_id = ma.fields.String()
    scope = enum_out(SCOPES)
    contacts = ma.fields.List(ma.fields.Nested(PersonContact))


CommunityPage = page_schema(CommunityOut, "CommunityPage")
ZonePage = page_schema(ZoneOut, "ZonePage")
BuildingPage = page_schema(BuildingOut, "BuildingPage")
UnitPage = page_schema(UnitOut, "UnitPage")
ResidentPage = page_schema(ResidentOut, "ResidentPage")
RenovationPage = page_schema(RenovationOut, "RenovationPage")


class RemovalIn(ma.Schema):
    reason = _text(500)


class MergeIn(ma.Schema):
    into = ma.fields.String(required=True, validate=_ID, metadata={"description": "the record to keep"})
    reason = _text(500)


class NoteIn(ma.Schema):
    note = _text(2000)


class CorrectionOut(ma.Schema):
    id = ma.fields.String()
    resident_id = ma.fields.String()
    unit_id = ma.fields.String()
    action = ma.fields.String(metadata={"enum": ["removed", "merged", "noted"]})
    into_resident_id = ma.fields.String(allow_none=True)
    reason = ma.fields.String()
    actor_id = ma.fields.String()
    actor_role = ma.fields.String()
    at = UtcDateTime()
