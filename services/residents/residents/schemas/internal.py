"""Response schemas of the internal residents blueprint (role `service`)."""

import marshmallow as ma

from guanjia.fields import Phone
from guanjia.web import enum_out

from ..domain.common import RESIDENT_STATUSES


class ContactOut(ma.Schema):
    """Unmasked: served to the `service` role only."""

    resident_id = ma.fields.String()
    unit_id = ma.fields.String()
    community_id = ma.fields.String()
    name = ma.fields.String()
    phone = ma.fields.String()
    locale = ma.fields.String()


CONTACTS_AT_ONCE = 500  # a dispatcher's batch (200) fits


class ContactsArgs(ma.Schema):
    resident_ids = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(min=1, max=36)),
        required=True,
        validate=ma.validate.Length(min=1, max=CONTACTS_AT_ONCE),
    )


class ContactsOut(ma.Schema):
    """Unmasked: served to the `service` role only. Unknown ids are left out."""

    contacts = ma.fields.List(ma.fields.Nested(ContactOut))


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


class ButlerFamiliarityArgs(ma.Schema):
    community_id = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=36))
    month = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$"))
    group_by = ma.fields.String(
        load_default="butler",
        validate=ma.validate.OneOf(("butler", "zone", "community")),
        metadata={"description": "a row per butler (default), per zone, or one for the community"},
    )


class ButlerFamiliarityRow(ma.Schema):
    key = ma.fields.String(metadata={"description": "the butler's gateway user id (the zone's, the community's)"})
    households = ma.fields.Integer()
    contacted = ma.fields.Integer()
    effective = ma.fields.Integer()
    familiarity = ma.fields.Float(allow_none=True, metadata={"description": "share of households contacted"})
    communication = ma.fields.Float(allow_none=True, metadata={"description": "share reached effectively"})


class ButlerFamiliarityOut(ma.Schema):
    community_id = ma.fields.String()
    month = ma.fields.String()
    items = ma.fields.List(ma.fields.Nested(ButlerFamiliarityRow))
