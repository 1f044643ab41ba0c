"""Request and response schemas of the residents API."""

import marshmallow as ma

from guanjia.errors import Invalid
from guanjia.pii import normalize_phone
from guanjia.web import PageArgs, UtcDateTime, page_schema

from .domain import RESIDENT_ROLES, UNIT_STATUSES
from .values import format_area, parse_area


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


def _text(max_length: int):
    return ma.fields.String(
        required=True,
        validate=[ma.validate.Length(min=1, max=max_length), ma.validate.Regexp(r"\S", error="must not be blank")],
    )


_ID = ma.validate.Length(min=1, max=36)


class CommunityCreate(ma.Schema):
    name = _text(200)


class CommunityOut(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    created_at = UtcDateTime()


class CommunityListArgs(PageArgs):
    pass


class BuildingCreate(ma.Schema):
    community_id = ma.fields.String(required=True, validate=_ID)
    name = _text(100)


class BuildingOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    name = ma.fields.String()
    created_at = UtcDateTime()


class BuildingListArgs(PageArgs):
    community_id = ma.fields.String()


class UnitCreate(ma.Schema):
    building_id = ma.fields.String(required=True, validate=_ID)
    number = _text(20)
    # Basements are negative floors.
    floor = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=-20, max=300))
    area_m2 = Area(required=True)


class UnitOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    building_id = ma.fields.String()
    number = ma.fields.String()
    floor = ma.fields.Integer()
    area_m2 = Area()
    status = ma.fields.String()
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class UnitListArgs(PageArgs):
    building_id = ma.fields.String()
    community_id = ma.fields.String()
    status = ma.fields.String(validate=ma.validate.OneOf(UNIT_STATUSES))


class ResidentCreate(ma.Schema):
    unit_id = ma.fields.String(required=True, validate=_ID)
    name = _text(100)
    phone = Phone(required=True)
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(RESIDENT_ROLES))


class ResidentOut(ma.Schema):
    """name and phone are masked (`张**`, `138****8000`) unless the caller is the resident themself."""

    id = ma.fields.String()
    community_id = ma.fields.String()
    unit_id = ma.fields.String()
    name = ma.fields.String()
    phone = ma.fields.String()
    role = ma.fields.String()
    status = ma.fields.String()
    moved_in_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()


class ResidentListArgs(PageArgs):
    unit_id = ma.fields.String()
    community_id = ma.fields.String()


class MoveIn(ma.Schema):
    resident_id = ma.fields.String(required=True, validate=_ID)


class MoveInOut(ma.Schema):
    unit = ma.fields.Nested(UnitOut)
    resident = ma.fields.Nested(ResidentOut)


class ContactOut(ma.Schema):
    """Unmasked: served to the `service` role only."""

    resident_id = ma.fields.String()
    unit_id = ma.fields.String()
    community_id = ma.fields.String()
    name = ma.fields.String()
    phone = ma.fields.String()
    locale = ma.fields.String()


CommunityPage = page_schema(CommunityOut, "CommunityPage")
BuildingPage = page_schema(BuildingOut, "BuildingPage")
UnitPage = page_schema(UnitOut, "UnitPage")
ResidentPage = page_schema(ResidentOut, "ResidentPage")
