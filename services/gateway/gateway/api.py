"""HTTP API of the gateway itself: sign-in and tokens, users, API keys, audit, dead letters, staff contacts for the
services.

Everything else is routed (routing.py).
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from flask import current_app, jsonify, request
from sqlalchemy.exc import IntegrityError

from guanjia import auth, http, web
from guanjia.errors import Conflict, Unauthorized, UpstreamUnavailable
from guanjia.web import Blueprint, PageArgs

from . import domain, examples
from .schemas import (
    ApiKeyCreate,
    ApiKeyIssued,
    ApiKeyOut,
    ApiKeyPage,
    AuditArgs,
    AuditPage,
    CodeRequest,
    CodeSent,
    CodeSignIn,
    ContactArgs,
    ContactList,
    ContactOut,
    DeadLetterAction,
    DeadLetterDone,
    DeadLetterList,
    PasswordChange,
    PasswordIssued,
    RefreshRequest,
    StaffArgs,
    StaffList,
    StaffNamesArgs,
    StaffNamesOut,
    TokenOut,
    TokenRequest,
    UserCreate,
    UserCreated,
    UserListArgs,
    UserOut,
    UserPage,
    UserUpdate,
)

log = logging.getLogger("gateway.api")

TOKEN_PATH = "/api/v1/auth/token"
PUBLIC_PATHS = {
    TOKEN_PATH,
    "/api/v1/auth/password",
    "/api/v1/auth/refresh",
    "/api/v1/auth/logout",
    "/api/v1/auth/sms-code",
    "/api/v1/auth/sms-token",
}
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 §5.1: token responses are never cached

auth_blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Sign-in and tokens")
users_blp = Blueprint("users", __name__, url_prefix="/api/v1/users", description="Accounts, their roles and scopes")
keys_blp = Blueprint("api-keys", __name__, url_prefix="/api/v1/api-keys", description="Integrator API keys")
audit_blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="Who did what (admins)")
dead_blp = Blueprint(
    "dead-letters", __name__, url_prefix="/api/v1/dead-letters", description="Events no consumer could apply (admins)"
)
internal_blp = Blueprint(
    "internal-users", __name__, url_prefix="/api/v1/internal/users", description="Staff contacts (services only)"
)


def _limit(name: str, key: str) -> None:
    current_app.extensions["gateway.limiter"].check(name, key, "too many attempts; try again later")


def _client_ip() -> str:
    return request.remote_addr or "unknown"


def _signed_in(user):
    """One answer for every failure (unknown, wrong password, locked, inactive): no probing for accounts."""
    if user is None:
        raise Unauthorized(domain.BAD_CREDENTIALS)
    return user


# --- sign-in -----------------------------------------------------------------------------------------------------


@auth_blp.route("/token", methods=["POST"])
@auth_blp.arguments(TokenRequest, example={"username": "butler.wang", "password": "a-long-passphrase-1"})
@auth_blp.response(200, TokenOut)
@auth_blp.alt_response(401, description="Unknown user, wrong password, locked or inactive user (one answer for all)")
@auth_blp.alt_response(403, description="Right password, but it must be changed first (POST /auth/password)")
@auth_blp.alt_response(429, description="Too many sign-ins from this address (Retry-After)")
@auth_blp.doc(security=[])
def issue_token(data):
    """Exchange a username and password for an access token and a refresh token."""
    _limit("login", _client_ip())
    settings = web.settings()
    with web.database().transaction() as session:
        user, _why = domain.authenticate(
            session, data["username"], data["password"], web.now(), _client_ip(), settings.pii_key
        )
        body = None
        if user is not None and not user.must_change_password:
            body = _tokens(session, settings, user)
    # The failure count is committed above; only now is the answer given.
    _signed_in(user)
    if body is None:
        raise domain.PasswordChangeRequired(
            "this password must be changed before the first sign-in", extra={"password_change_required": True}
        )
    return body, 200, NO_STORE


@auth_blp.route("/password", methods=["POST"])
@auth_blp.arguments(PasswordChange)
@auth_blp.response(200, TokenOut)
@auth_blp.alt_response(401, description="Wrong username or password")
@auth_blp.doc(security=[])
def change_password(data):
    """Change one's password (required after an admin created or reset it); answers with fresh tokens."""
    _limit("login", _client_ip())
    settings = web.settings()
    with web.database().transaction() as session:
        user, _why = domain.change_password(
            session, data["username"], data["password"], data["new_password"], web.now(), _client_ip(), settings.pii_key
        )
        body = _tokens(session, settings, user) if user is not None else None
    _signed_in(user)
    return body, 200, NO_STORE


@auth_blp.route("/refresh", methods=["POST"])
@auth_blp.arguments(RefreshRequest)
@auth_blp.response(200, TokenOut)
@auth_blp.alt_response(401, description="Unknown, expired, revoked or already used refresh token")
@auth_blp.doc(security=[])
def refresh_token(data):
    """A new access token and a new refresh token for a refresh token (which is used up).

    Presenting a used refresh token again revokes every token of its sign-in: sign in again.
    """
    _limit("login", _client_ip())
    with web.database().transaction() as session:
        body, why = domain.refresh(
            session,
            web.settings(),
            data["refresh_token"],
            web.now(),
            occupancy_of=_occupancy,
            zones_of=_butler_zones,
            refresh_ttl_seconds=_refresh_ttl_seconds(),
        )
    if body is None:
        raise Unauthorized(
            "refresh token reused: every token of this sign-in is revoked"
            if why == "reused"
            else "invalid refresh token"
        )
    return body, 200, NO_STORE


@auth_blp.route("/logout", methods=["POST"])
@auth_blp.arguments(RefreshRequest)
@auth_blp.response(204)
@auth_blp.doc(security=[])
def logout(data):
    """Revoke the refresh token and every token refreshed from the same sign-in."""
    with web.database().transaction() as session:
        domain.logout(session, data["refresh_token"], web.now())


@auth_blp.route("/sms-code", methods=["POST"])
@auth_blp.arguments(CodeRequest)
@auth_blp.response(202, CodeSent)
@auth_blp.alt_response(429, description="Too many codes for this phone or from this address (Retry-After)")
@auth_blp.doc(security=[])
def request_code(data):
    """Send a six-digit sign-in code by SMS to a resident's phone (手机号 + 验证码).

    The answer is the same whether or not the phone belongs to a resident (no probing for who lives here).
    """
    _limit("code_ip", _client_ip())
    settings = web.settings()
    phone = data["phone"]
    _limit("code_phone", domain.security.keyed_hash(settings.pii_key, phone))
    records = _resident_records(phone)
    if [r for r in records if r.get("status") != "moved_out"]:
        with web.database().transaction() as session:
            code = domain.new_login_code(session, settings, phone, web.now())
            # Sent inside the transaction: a code that could not be sent is never left valid.
            _send_code(phone, code)
    return {"expires_in": int(domain.CODE_TTL.total_seconds())}, 202


@auth_blp.route("/sms-token", methods=["POST"])
@auth_blp.arguments(CodeSignIn)
@auth_blp.response(200, TokenOut)
@auth_blp.alt_response(401, description="Wrong, expired or used code")
@auth_blp.doc(security=[])
def sign_in_with_code(data):
    """Exchange a phone number and its SMS code for a resident's tokens (scoped to their current units)."""
    _limit("code_verify", _client_ip())
    settings = web.settings()
    phone = data["phone"]
    with web.database().transaction() as session:
        why = domain.check_login_code(session, settings, phone, data["code"], web.now())
    if why is not None:
        raise Unauthorized("wrong, expired or used code")
    records = _resident_records(phone)

    def sign_in():
        with web.database().transaction() as session:
            user = domain.resident_account(session, settings, phone, records, web.now())
            return _tokens(session, settings, user) if user else None

    try:
        body = sign_in()
    except IntegrityError:
        # The same resident signed in twice at once; the other request created the account.
        body = sign_in()
    if body is None:
        raise Unauthorized("no current resident record for this phone")
    return body, 200, NO_STORE


def _tokens(session, settings, user) -> dict:
    """The access and refresh tokens of a sign-in: a resident's household and a butler's zones as residents says."""
    return domain.issue_tokens(
        session,
        settings,
        user,
        web.now(),
        occupancy_of=_occupancy,
        zones_of=_butler_zones,
        refresh_ttl_seconds=_refresh_ttl_seconds(),
    )


def _refresh_ttl_seconds() -> int:
    return current_app.extensions["gateway.settings"].refresh_ttl_seconds


def _service(name: str) -> http.ServiceClient:
    """Another service, called with the gateway's own service credential."""
    return http.ServiceClient(web.settings(), current_app.extensions["gateway.upstreams"], name)


def _occupancy(user) -> dict:
    """A resident account's current stays, asked of residents at every sign-in and refresh (503 if it cannot
    answer: a token is never issued on stale units). A record residents does not know gives nothing."""
    if not user.resident_id:
        return {}
    path = f"/api/v1/internal/residents/{quote(user.resident_id, safe='')}/occupancy"
    try:
        found = _service("residents").get_found(path)
    except UpstreamUnavailable:
        raise UpstreamUnavailable("the residents service could not confirm the household; try again") from None
    return found or {}


def _butler_zones(user_id: str) -> dict | None:
    """The zones residents assigns this butler to, and the zones they stand in for (`cover`); None while residents
    cannot answer (the last known zones are kept, no cover)."""
    try:
        response = _service("residents").get(f"/api/v1/internal/butlers/{quote(user_id)}/zones", timeout=3.0)
    except Exception:
        response = None
    if response is None or response.status != 200:
        log.warning("residents did not name the butler's zones; the last known are used")
        return None
    body = response.json()
    return {"zones": list(body.get("zones") or []), "cover": list(body.get("cover") or [])}


def _resident_records(phone: str) -> list[dict]:
    response = _service("residents").get(f"/api/v1/internal/residents?phone={quote(phone)}")
    if response.status != 200:
        raise UpstreamUnavailable("the residents service could not look the phone up", status=503)
    return response.json().get("items") or []


def _send_code(phone: str, code: str) -> None:
    response = _service("notifications").request(
        "POST",
        "/api/v1/internal/messages",
        json={"phone": phone, "template": "login_code", "variables": {"code": code}, "urgent": True},
    )
    if response.status not in (200, 201, 202):
        raise UpstreamUnavailable("the code could not be sent; try again", status=503)


# --- accounts ----------------------------------------------------------------------------------------------------


@users_blp.route("", methods=["POST"])
@users_blp.arguments(UserCreate, example=examples.USER_CREATE)
@users_blp.response(201, UserCreated, example=examples.USER_CREATED)
def create_user(data):
    """Create an account (admin only). Without a password, a one-time password is generated and returned once."""
    try:
        with web.database().transaction() as session:
            user, generated = domain.create_user(session, web.principal(), data, web.now())
            user.initial_password = generated  # not a column: the one answer that carries it
            return user
    except IntegrityError:
        # Two admins created the same username at once: the loser hears what a later attempt would.
        raise Conflict(f"username {data['username']} is taken", errors={"username": ["already taken"]}) from None


@users_blp.route("", methods=["GET"])
@users_blp.arguments(UserListArgs, location="query")
@users_blp.response(200, UserPage, example=examples.USER_PAGE)
def list_users(args):
    """Accounts of this instance (admin only), oldest first."""
    query = domain.list_users(web.principal(), args)
    with web.database().transaction() as session:
        return web.paginate(session, query, args["page"], args["page_size"])


@users_blp.route("/me", methods=["GET"])
@users_blp.response(200, UserOut)
def me():
    """The caller's own profile."""
    with web.database().transaction() as session:
        return domain.own_profile(session, web.principal())


@users_blp.route("/staff", methods=["GET"])
@users_blp.arguments(StaffArgs, location="query")
@users_blp.response(200, StaffList)
def staff(args):
    """Staff a ticket can be dispatched to (names and roles, no contacts), for staff of the same community."""
    with web.database().transaction() as session:
        return {"items": domain.staff_directory(session, web.principal(), args.get("community_id"))}


@users_blp.route("/<user_id>", methods=["GET"])
@users_blp.response(200, UserOut)
def get_user(user_id):
    """One account (admin only)."""
    with web.database().transaction() as session:
        return domain.get_user(session, web.principal(), user_id)


@users_blp.route("/<user_id>", methods=["PATCH"])
@users_blp.arguments(UserUpdate)
@users_blp.response(200, UserOut)
def update_user(data, user_id):
    """Change an account's profile, role, scope or active flag (admin only; audited).

    Role and scope changes apply from the next token. Disabling revokes the refresh tokens at once and stops the
    account's access tokens at the gateway within a minute.
    """
    revocations = current_app.extensions["gateway.revocations"]
    with web.database().transaction() as session:
        return domain.update_user(session, web.principal(), user_id, data, web.now(), revocations)


@users_blp.route("/<user_id>/reset-password", methods=["POST"])
@users_blp.response(200, PasswordIssued)
def reset_password(user_id):
    """Give the account a temporary password (returned once) that must be changed at the next sign-in."""
    with web.database().transaction() as session:
        _user, password = domain.reset_password(session, web.principal(), user_id, web.now())
    return {"temporary_password": password}, 200, NO_STORE


# --- integrator API keys -----------------------------------------------------------------------------------------


@keys_blp.route("", methods=["POST"])
@keys_blp.arguments(ApiKeyCreate)
@keys_blp.response(201, ApiKeyIssued)
def create_api_key(data):
    """Issue a read-only API key for an integrator (admin only). The key is in this answer and nowhere else."""
    with web.database().transaction() as session:
        key, raw = domain.create_api_key(session, web.principal(), data, web.now())
        key.key = raw  # not a column: the one answer that carries it
    return key, 201, NO_STORE


@keys_blp.route("", methods=["GET"])
@keys_blp.arguments(PageArgs, location="query")
@keys_blp.response(200, ApiKeyPage)
def list_api_keys(args):
    """Every API key of this instance (admin only), newest first; secrets are never shown again."""
    with web.database().transaction() as session:
        return web.paginate(session, domain.list_api_keys(web.principal()), args["page"], args["page_size"])


@keys_blp.route("/<key_id>", methods=["GET"])
@keys_blp.response(200, ApiKeyOut)
def get_api_key(key_id):
    """One API key (admin only)."""
    with web.database().transaction() as session:
        return domain.get_api_key(session, web.principal(), key_id)


@keys_blp.route("/<key_id>/revoke", methods=["POST"])
@keys_blp.response(200, ApiKeyOut)
def revoke_api_key(key_id):
    """Revoke an API key (admin only; audited). Every gateway worker refuses it within seconds."""
    with web.database().transaction() as session:
        key = domain.revoke_api_key(session, web.principal(), key_id, web.now())
    current_app.extensions["gateway.api_keys"].forget()
    return key


# --- audit -------------------------------------------------------------------------------------------------------


@audit_blp.route("", methods=["GET"])
@audit_blp.arguments(AuditArgs, location="query")
@audit_blp.response(200, AuditPage)
def list_audit(args):
    """The audit log, newest first (admin only): role and scope changes, API keys, sensitive actions."""
    with web.database().transaction() as session:
        query = domain.list_audit(session, web.principal(), args)
        return web.paginate(session, query, args["page"], args["page_size"])


# --- dead letters ----------------------------------------------------------------------------------------------

DEAD_LETTERS_PATH = "/api/v1/internal/dead-letters"


@dead_blp.route("", methods=["GET"])
@dead_blp.response(200, DeadLetterList)
def list_dead_letters():
    """Every consumer's dead letters (admin only): ids, types, times and why — never an event's body.

    Each service lists its own queue with its own broker credential; one that cannot answer is named in
    `unavailable` and the others are still listed."""
    auth.require_role(web.principal(), "admin")
    found, unavailable = [], []
    for name in domain.DEAD_LETTER_SERVICES:
        try:
            response = _service(name).get(DEAD_LETTERS_PATH, timeout=10.0)
        except UpstreamUnavailable:
            response = None
        if response is None or response.status != 200:
            unavailable.append(name)
            continue
        found += response.json().get("items") or []
    return {"items": found, "unavailable": unavailable}


def _act_on_dead_letters(action: str, data: dict):
    auth.require_role(web.principal(), "admin")
    body = {"ids": data.get("ids") or [], "all": data.get("all", False)}
    response = _service(data["service"]).request("POST", f"{DEAD_LETTERS_PATH}/{action}", json=body, timeout=30.0)
    if response.status != 200:
        raise UpstreamUnavailable(f"{data['service']} could not {action} its dead letters now; try again", status=503)
    done = response.json()
    with web.database().transaction() as session:
        domain.dead_letters_acted(session, web.principal(), action, data, done, web.now())
    return done


@dead_blp.route("/replay", methods=["POST"])
@dead_blp.arguments(DeadLetterAction)
@dead_blp.response(200, DeadLetterDone)
def replay_dead_letters(data):
    """Put the chosen dead letters back on their service's queue for another full round of attempts (admin only;
    audited) — `guanjia dead-letters replay`."""
    return _act_on_dead_letters("replay", data)


@dead_blp.route("/discard", methods=["POST"])
@dead_blp.arguments(DeadLetterAction)
@dead_blp.response(200, DeadLetterDone)
def discard_dead_letters(data):
    """Remove the chosen dead letters for good (admin only; audited) — `guanjia dead-letters discard`."""
    return _act_on_dead_letters("discard", data)


# --- for the services --------------------------------------------------------------------------------------------


@internal_blp.route("/<user_id>/contact", methods=["GET"])
@internal_blp.response(200, ContactOut)
def user_contact(user_id):
    """A staff member's name and phone, for the notifications service (service role only)."""
    with web.database().transaction() as session:
        return domain.user_contact(session, web.principal(), user_id)


@internal_blp.route("/names", methods=["GET"])
@internal_blp.arguments(StaffNamesArgs, location="query")
@internal_blp.response(200, StaffNamesOut)
def staff_names(args):
    """Staff display names by user id, one batch per page of a service's list (service role only)."""
    with web.database().transaction() as session:
        return domain.staff_names(session, web.principal(), args["ids"])


@internal_blp.route("", methods=["GET"])
@internal_blp.arguments(ContactArgs, location="query")
@internal_blp.response(200, ContactList)
def users_for(args):
    """Active staff of a community and role, for the notifications service (service role only)."""
    with web.database().transaction() as session:
        return domain.users_for(session, web.principal(), args.get("community_id"), args.get("role"))


def jwks_view():
    """The public keys that verify access tokens (RFC 7517); services fetch it when they meet a new kid."""
    response = jsonify(auth.jwks(web.settings()))
    response.headers["Cache-Control"] = "public, max-age=60"
    return response
