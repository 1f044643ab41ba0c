"""Request and response schemas of the roster import."""

import marshmallow as ma

from .common import ID_LENGTH


class ImportArgs(ma.Schema):
    community_id = ma.fields.String(required=True, validate=ID_LENGTH)
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
