"""Request and response schemas of the buildings blueprint."""

import marshmallow as ma

from guanjia.web import PageArgs, UtcDateTime, page_schema

from .common import ID_LENGTH, required_text


class BuildingCreate(ma.Schema):
    community_id = ma.fields.String(required=True, validate=ID_LENGTH)
    name = required_text(100)
    zone_id = ma.fields.String(validate=ID_LENGTH, allow_none=True)


class BuildingUpdate(ma.Schema):
    name = required_text(100, required=False)
    zone_id = ma.fields.String(validate=ID_LENGTH, allow_none=True)


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


BuildingPage = page_schema(BuildingOut, "BuildingPage")
