"""Request and response schemas of the internal structure blueprint (role `service`)."""

import marshmallow as ma
from webargs.fields import DelimitedList

from guanjia.web import UtcDateTime, enum_out

from ..domain.common import RESIDENT_ROLES, UNIT_STATUSES, UNIT_TYPES
from .common import ID_LENGTH

SCOPES = ("community", "building", "zone")


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


class RecipientsArgs(ma.Schema):
    scope = ma.fields.String(load_default="community", validate=ma.validate.OneOf(["community", "building", "zone"]))
    target_id = ma.fields.String(validate=ID_LENGTH)


class RecipientsOut(ma.Schema):
    community_id = ma.fields.String()
    scope = enum_out(SCOPES)
    contacts = ma.fields.List(ma.fields.Nested(PersonContact))
