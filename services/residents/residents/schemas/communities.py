"""Request and response schemas of the communities blueprint."""

import marshmallow as ma

from guanjia.web import PageArgs, UtcDateTime, page_schema

from ..domain.structure import parse_hours
from .common import required_text
from .units import LoanOut
from .zones import FamiliarityOut


class Hours(ma.fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_hours(super()._deserialize(value, attr, data, **kwargs))
        except ValueError as exc:
            raise ma.ValidationError(str(exc)) from None


class CommunityCreate(ma.Schema):
    name = required_text(200)
    renovation_hours = Hours(metadata={"example": "08:00-12:00,14:00-18:00"})
    deposit_before_permit = ma.fields.Boolean(load_default=True)
    hold_handover_on_defects = ma.fields.Boolean(
        load_default=False, metadata={"description": "a unit's handover waits while it has open acceptance defects"}
    )


class CommunityUpdate(ma.Schema):
    name = required_text(200, required=False)
    renovation_hours = Hours()
    deposit_before_permit = ma.fields.Boolean()
    hold_handover_on_defects = ma.fields.Boolean()


class CommunityOut(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    renovation_hours = ma.fields.String()
    deposit_before_permit = ma.fields.Boolean()
    hold_handover_on_defects = ma.fields.Boolean()
    created_at = UtcDateTime()


class CommunityListArgs(PageArgs):
    pass


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


CommunityPage = page_schema(CommunityOut, "CommunityPage")


class FamiliarityArgs(ma.Schema):
    days = ma.fields.Integer(load_default=90, validate=ma.validate.Range(min=1, max=730))


class ZoneFamiliarity(FamiliarityOut):
    name = ma.fields.String()


class ZoneFamiliarityList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ZoneFamiliarity))


class ViolationCountArgs(ma.Schema):
    months = ma.fields.Integer(load_default=6, validate=ma.validate.Range(min=1, max=24))


class ZoneViolations(ma.Schema):
    zone_id = ma.fields.String(allow_none=True)
    name = ma.fields.String(allow_none=True)
    violations = ma.fields.Integer()
    serious = ma.fields.Integer()
    open = ma.fields.Integer()
    by_month = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())


class ViolationCounts(ma.Schema):
    community_id = ma.fields.String()
    months = ma.fields.List(ma.fields.String())
    items = ma.fields.List(ma.fields.Nested(ZoneViolations))
