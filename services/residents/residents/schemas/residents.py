"""Request and response schemas of the residents blueprint: records, personal data, cards, contacts."""

import marshmallow as ma

from guanjia.errors import Invalid
from guanjia.fields import Phone
from guanjia.pii import normalize_id_card
from guanjia.web import PageArgs, UtcDateTime, enum_out, page_schema

from ..domain.common import RESIDENT_ROLES, RESIDENT_STATUSES, RESIDENT_TAGS
from .common import ID_LENGTH, optional_text, required_text

# Output enums: the values the domain writes into these columns (models.py), so clients see the choices.
CARD_STATUSES = ("active", "lost", "revoked")
CONTACT_KINDS = ("visit", "call", "message")


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


class EmergencyContact(ma.Schema):
    name = required_text(100)
    phone = Phone(required=True)


class ResidentCreate(ma.Schema):
    unit_id = ma.fields.String(required=True, validate=ID_LENGTH)
    name = required_text(100)
    phone = Phone(required=True)
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(RESIDENT_ROLES))
    id_number = IdNumber(allow_none=True)
    emergency_contact = ma.fields.Nested(EmergencyContact, allow_none=True)
    tags = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(RESIDENT_TAGS)))
    notes = optional_text(2000, allow_none=True)
    sms_opt_out = ma.fields.Boolean()


class ResidentUpdate(ma.Schema):
    name = required_text(100, required=False)
    phone = Phone()
    role = ma.fields.String(validate=ma.validate.OneOf(RESIDENT_ROLES))
    id_number = IdNumber(allow_none=True)
    emergency_contact = ma.fields.Nested(EmergencyContact, allow_none=True)
    tags = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(RESIDENT_TAGS)))
    notes = optional_text(2000, allow_none=True)
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


class CardCreate(ma.Schema):
    card_number = required_text(40)


class CardOut(ma.Schema):
    id = ma.fields.String()
    resident_id = ma.fields.String()
    card_number = ma.fields.String()
    status = enum_out(CARD_STATUSES)
    issued_at = UtcDateTime()
    status_changed_at = UtcDateTime(allow_none=True)


class ContactCreate(ma.Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(CONTACT_KINDS))
    effective = ma.fields.Boolean(required=True, metadata={"description": "a real conversation took place"})
    contacted_at = ma.fields.AwareDateTime()
    notes = optional_text(2000)


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


ResidentPage = page_schema(ResidentOut, "ResidentPage")


class RemovalIn(ma.Schema):
    reason = required_text(500)


class MergeIn(ma.Schema):
    into = ma.fields.String(required=True, validate=ID_LENGTH, metadata={"description": "the record to keep"})
    reason = required_text(500)


class NoteIn(ma.Schema):
    note = required_text(2000)


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
