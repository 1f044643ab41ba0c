"""Request and response schemas of the gateway API (tokens and users)."""

import marshmallow as ma

from guanjia.web import PageArgs, UtcDateTime, page_schema

from .domain import USER_ROLES

USERNAME = ma.validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$", error="2-64 letters, digits or _ . @ -")


class TokenRequest(ma.Schema):
    # No format rules here: a malformed username is simply a wrong one (401), never a hint.
    username = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=1024))


class TokenOut(ma.Schema):
    access_token = ma.fields.String()
    token_type = ma.fields.String()
    expires_in = ma.fields.Integer(metadata={"description": "seconds until the token expires"})


class UserCreate(ma.Schema):
    username = ma.fields.String(required=True, validate=USERNAME)
    # The upper bound keeps hashing cost bounded.
    password = ma.fields.String(required=True, load_only=True, validate=ma.validate.Length(min=8, max=256))
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(USER_ROLES))
    communities = ma.fields.List(ma.fields.String(validate=ma.validate.Length(min=1, max=36)), load_default=list)
    zones = ma.fields.List(ma.fields.String(validate=ma.validate.Length(min=1, max=36)), load_default=list)
    units = ma.fields.List(ma.fields.String(validate=ma.validate.Length(min=1, max=36)), load_default=list)
    resident_id = ma.fields.String(allow_none=True, load_default=None, validate=ma.validate.Length(min=1, max=36))


class UserOut(ma.Schema):
    id = ma.fields.String()
    username = ma.fields.String()
    role = ma.fields.String()
    communities = ma.fields.List(ma.fields.String())
    zones = ma.fields.List(ma.fields.String())
    units = ma.fields.List(ma.fields.String())
    resident_id = ma.fields.String(allow_none=True)
    active = ma.fields.Boolean()
    created_at = UtcDateTime()


class UserListArgs(PageArgs):
    username = ma.fields.String()
    role = ma.fields.String(validate=ma.validate.OneOf(USER_ROLES))


UserPage = page_schema(UserOut, "UserPage")
