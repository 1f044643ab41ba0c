"""Request and response schemas of the zones blueprint."""

import marshmallow as ma

from guanjia.web import PageArgs, UtcDateTime, page_schema

from .common import ID_LENGTH, required_text
from .units import UnitOut


class ZoneCreate(ma.Schema):
    community_id = ma.fields.String(required=True, validate=ID_LENGTH)
    name = required_text(100)
    butler_ids = ma.fields.List(ma.fields.String(validate=ma.validate.Length(min=1, max=100)), load_default=list)


class ZoneUpdate(ma.Schema):
    name = required_text(100, required=False)
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


class VacantArgs(ma.Schema):
    every_days = ma.fields.Integer(load_default=30, validate=ma.validate.Range(min=1, max=365))


class VacantUnitOut(ma.Schema):
    unit = ma.fields.Nested(UnitOut)
    last_checked_at = UtcDateTime(allow_none=True)
    check_due = ma.fields.Boolean()


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


ZonePage = page_schema(ZoneOut, "ZonePage")
