"""Request and response schemas of the tickets API."""

import marshmallow as ma

from guanjia.web import PageArgs, UtcDateTime, page_schema

from .domain import CATEGORIES

STATUSES = ("new",)


class TicketCreate(ma.Schema):
    unit_id = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=36))
    category = ma.fields.String(required=True, validate=ma.validate.OneOf(CATEGORIES))
    description = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))
    reporter_id = ma.fields.String(validate=ma.validate.Length(min=1, max=36))


class TicketOut(ma.Schema):
    id = ma.fields.String()
    number = ma.fields.String()
    community_id = ma.fields.String()
    unit_id = ma.fields.String()
    category = ma.fields.String()
    description = ma.fields.String()
    reporter_id = ma.fields.String()
    first_responder = ma.fields.String()
    status = ma.fields.String()
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class TicketListArgs(PageArgs):
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))
    category = ma.fields.String(validate=ma.validate.OneOf(CATEGORIES))
    unit_id = ma.fields.String()
    community_id = ma.fields.String()
    reporter_id = ma.fields.String()


TicketPage = page_schema(TicketOut, "TicketPage")
