"""Request and response schemas of the billing API."""

import marshmallow as ma

from guanjia.web import PageArgs, UtcDateTime, page_schema


class BillingUnitOut(ma.Schema):
    unit_id = ma.fields.String()
    community_id = ma.fields.String()
    building_id = ma.fields.String(allow_none=True)
    number = ma.fields.String(allow_none=True)
    floor = ma.fields.Integer(allow_none=True)
    area_m2 = ma.fields.Decimal(as_string=True, places=2, allow_none=True, metadata={"example": "88.50"})
    status = ma.fields.String(allow_none=True)
    updated_at = UtcDateTime(attribute="source_time")


class BillingUnitListArgs(PageArgs):
    community_id = ma.fields.String(validate=ma.validate.Length(max=36))
    building_id = ma.fields.String(validate=ma.validate.Length(max=36))


BillingUnitPage = page_schema(BillingUnitOut, "BillingUnitPage")
