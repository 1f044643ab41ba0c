"""Request and response schemas of the gateway API (sign-in, tokens, users, API keys, audit, dead letters)."""

import marshmallow as ma

from guanjia import web
from guanjia.db import as_utc
from guanjia.fields import Phone
from guanjia.pii import mask_phone
from guanjia.web import PageArgs, UtcDateTime, enum_out, page_schema

from .domain import API_KEY_RESOURCES, DEAD_LETTER_SERVICES, DEPARTMENTS, USER_ROLES

USERNAME = ma.validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$", error="2-64 letters, digits or _ . @ -")
ID = ma.validate.Length(min=1, max=36)


class TokenRequest(ma.Schema):
    # No format rules here: a malformed username is simply a wrong one (401), never a hint.
    username = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=1024))


class PasswordChange(TokenRequest):
    new_password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=1024))


class RefreshRequest(ma.Schema):
    refresh_token = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))


class CodeRequest(ma.Schema):
    phone = Phone(required=True)


class CodeSignIn(ma.Schema):
    phone = Phone(required=True)
    code = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^\d{6}$", error="6 digits"))


class CodeSent(ma.Schema):
    expires_in = ma.fields.Integer(metadata={"description": "seconds the code stays valid (if the phone is known)"})


class TokenOut(ma.Schema):
    access_token = ma.fields.String()
    token_type = ma.fields.String()
    expires_in = ma.fields.Integer(metadata={"description": "seconds until the access token expires"})
    refresh_token = ma.fields.String(metadata={"description": "single use: each refresh returns a new one"})
    refresh_expires_in = ma.fields.Integer()


class UserCreate(ma.Schema):
    username = ma.fields.String(required=True, validate=USERNAME)
    # Omitted: a one-time password is generated, returned once, and must be changed at the first sign-in.
    password = ma.fields.String(load_only=True, validate=ma.validate.Length(min=1, max=256))
    must_change_password = ma.fields.Boolean(load_default=False)
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(USER_ROLES))
    display_name = ma.fields.String(allow_none=True, validate=ma.validate.Length(min=1, max=100))
    phone = Phone(allow_none=True)
    department = ma.fields.String(allow_none=True, validate=ma.validate.OneOf(DEPARTMENTS))
    communities = ma.fields.List(ma.fields.String(validate=ID), load_default=list)
    zones = ma.fields.List(ma.fields.String(validate=ID), load_default=list)
    units = ma.fields.List(ma.fields.String(validate=ID), load_default=list)
    resident_id = ma.fields.String(allow_none=True, load_default=None, validate=ID)


class UserUpdate(ma.Schema):
    role = ma.fields.String(validate=ma.validate.OneOf(USER_ROLES))
    display_name = ma.fields.String(allow_none=True, validate=ma.validate.Length(min=1, max=100))
    phone = Phone(allow_none=True)
    department = ma.fields.String(allow_none=True, validate=ma.validate.OneOf(DEPARTMENTS))
    communities = ma.fields.List(ma.fields.String(validate=ID))
    zones = ma.fields.List(ma.fields.String(validate=ID))
    units = ma.fields.List(ma.fields.String(validate=ID))
    resident_id = ma.fields.String(allow_none=True, validate=ID)
    active = ma.fields.Boolean()


class UserOut(ma.Schema):
    id = ma.fields.String()
    username = ma.fields.String()
    role = enum_out(USER_ROLES)
    display_name = ma.fields.String(allow_none=True)
    phone = ma.fields.Method("_masked_phone", allow_none=True)
    department = enum_out(DEPARTMENTS, allow_none=True)
    communities = ma.fields.List(ma.fields.String())
    zones = ma.fields.List(ma.fields.String())
    units = ma.fields.List(ma.fields.String())
    resident_id = ma.fields.String(allow_none=True)
    active = ma.fields.Boolean()
    must_change_password = ma.fields.Boolean()
    locked = ma.fields.Method("_locked")
    created_at = UtcDateTime()
    updated_at = UtcDateTime(allow_none=True)

    def _masked_phone(self, user):
        return mask_phone(user.phone) if user.phone else None

    def _locked(self, user):
        return bool(user.locked_until and as_utc(user.locked_until) > web.now())


class UserCreated(UserOut):
    initial_password = ma.fields.String(
        allow_none=True, metadata={"description": "only when none was given: shown once, must be changed"}
    )


class PasswordIssued(ma.Schema):
    temporary_password = ma.fields.String(metadata={"description": "shown once; must be changed at sign-in"})


class UserListArgs(PageArgs):
    username = ma.fields.String()
    role = ma.fields.String(validate=ma.validate.OneOf(USER_ROLES))
    department = ma.fields.String(validate=ma.validate.OneOf(DEPARTMENTS))
    active = ma.fields.Boolean()


UserPage = page_schema(UserOut, "UserPage")


class ApiKeyCreate(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    communities = ma.fields.List(ma.fields.String(validate=ID), required=True, validate=ma.validate.Length(min=1))
    resources = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(API_KEY_RESOURCES)),
        required=True,
        validate=ma.validate.Length(min=1),
    )
    expires_at = ma.fields.AwareDateTime(metadata={"description": "default 90 days, at most 366 days ahead"})


class ApiKeyOut(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    prefix = ma.fields.String(metadata={"description": "the public part of the key, to recognise it"})
    communities = ma.fields.List(ma.fields.String())
    resources = ma.fields.List(ma.fields.String())
    created_by = ma.fields.String()
    created_at = UtcDateTime()
    expires_at = UtcDateTime()
    revoked_at = UtcDateTime(allow_none=True)


class ApiKeyIssued(ApiKeyOut):
    key = ma.fields.String(metadata={"description": "shown once; send as `X-API-Key` or `Authorization: Bearer`"})


ApiKeyPage = page_schema(ApiKeyOut, "ApiKeyPage")


class AuditOut(ma.Schema):
    id = ma.fields.String()
    at = UtcDateTime()
    actor_id = ma.fields.String()
    actor_role = ma.fields.String()
    action = ma.fields.String()
    target_type = ma.fields.String()
    target_id = ma.fields.String(allow_none=True)
    details = ma.fields.Dict()
    request_id = ma.fields.String(allow_none=True)


class AuditArgs(PageArgs):
    action = ma.fields.String()
    actor_id = ma.fields.String()
    community_id = ma.fields.String(
        validate=ID, metadata={"description": "entries by or about the staff accounts of this community"}
    )
    target_id = ma.fields.String()
    target_type = ma.fields.String()
    since = ma.fields.AwareDateTime()
    until = ma.fields.AwareDateTime()


AuditPage = page_schema(AuditOut, "AuditPage")


class DeadLetterOut(ma.Schema):
    service = ma.fields.String(metadata={"description": "the consumer that set it aside"})
    event_id = ma.fields.String(allow_none=True)
    event_type = ma.fields.String(allow_none=True)
    subject = ma.fields.String(allow_none=True, metadata={"description": "the event's subject: a type and an id"})
    time = ma.fields.String(allow_none=True, metadata={"description": "when the event happened (its own time)"})
    error = ma.fields.String(allow_none=True, metadata={"description": "why the consumer gave up (masked)"})
    attempts = ma.fields.Integer()


class DeadLetterList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DeadLetterOut))
    unavailable = ma.fields.List(
        ma.fields.String(), metadata={"description": "services that could not answer now (their letters are missing)"}
    )


class DeadLetterAction(ma.Schema):
    service = ma.fields.String(required=True, validate=ma.validate.OneOf(DEAD_LETTER_SERVICES))
    ids = ma.fields.List(ma.fields.String(validate=ma.validate.Length(min=1, max=100)), load_default=list)
    all = ma.fields.Boolean(load_default=False, metadata={"description": "every dead letter of the service"})

    @ma.validates_schema
    def _some(self, data, **_kwargs):
        if not data.get("ids") and not data.get("all"):
            raise ma.ValidationError("name the events, or all", "ids")


class DeadLetterDone(ma.Schema):
    service = ma.fields.String()
    done = ma.fields.List(ma.fields.String(), metadata={"description": "the event ids replayed or discarded"})
    missing = ma.fields.List(ma.fields.String(), metadata={"description": "ids not (or no longer) dead-lettered"})


class ContactItem(ma.Schema):
    user_id = ma.fields.String()
    role = enum_out(USER_ROLES)
    name = ma.fields.String()
    phone = ma.fields.String(allow_none=True, metadata={"description": "E.164, unmasked (for sending SMS)"})


class ContactOut(ContactItem):
    communities = ma.fields.List(ma.fields.String())


class ContactArgs(ma.Schema):
    community_id = ma.fields.String(validate=ID)
    role = ma.fields.String(validate=ma.validate.OneOf(USER_ROLES))


class ContactList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ContactItem))


class StaffNamesArgs(ma.Schema):
    ids = ma.fields.List(ma.fields.String(validate=ID), required=True, validate=ma.validate.Length(min=1, max=500))


class StaffNamesOut(ma.Schema):
    names = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        metadata={"description": "user id → display name (else username); residents and unknown ids are left out"},
    )


class StaffArgs(ma.Schema):
    community_id = ma.fields.String(validate=ID)


class StaffEntry(ma.Schema):
    id = ma.fields.String()
    username = ma.fields.String()
    display_name = ma.fields.String(allow_none=True)
    role = enum_out(USER_ROLES)
    department = enum_out(DEPARTMENTS, allow_none=True)


class StaffList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(StaffEntry))
