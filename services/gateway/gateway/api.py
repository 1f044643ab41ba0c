"""HTTP API of the gateway itself: tokens and users (everything else is routed, see routing.py)."""

from __future__ import annotations

from flask_smorest import Blueprint
from sqlalchemy.exc import IntegrityError

from guanjia import auth, web
from guanjia.errors import Conflict

from . import domain
from .schemas import TokenOut, TokenRequest, UserCreate, UserListArgs, UserOut, UserPage

TOKEN_PATH = "/api/v1/auth/token"

auth_blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Access tokens")
users_blp = Blueprint("users", __name__, url_prefix="/api/v1/users", description="Users, their roles and scopes")


@auth_blp.route("/token", methods=["POST"])
@auth_blp.arguments(TokenRequest)
@auth_blp.response(200, TokenOut, headers={"Cache-Control": {"schema": {"type": "string"}}})
@auth_blp.alt_response(401, description="Unknown user, wrong password or inactive user (one answer for all)")
@auth_blp.doc(security=[])
def issue_token(data):
    """Exchange a username and password for a bearer token carrying the user's role and scopes."""
    settings = web.settings()
    with web.database().transaction() as session:
        user = domain.authenticate(session, data["username"], data["password"])
        principal = domain.principal_of(user)
    token = auth.issue_token(settings, principal)
    # RFC 6749 §5.1: a token response is never cached.
    body = {"access_token": token, "token_type": "Bearer", "expires_in": settings.token_ttl_seconds}
    return body, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"}


@users_blp.route("", methods=["POST"])
@users_blp.arguments(UserCreate)
@users_blp.response(201, UserOut)
def create_user(data):
    """Create a user (admin only). The password is stored as a salted hash and never returned."""
    try:
        with web.database().transaction() as session:
            return domain.create_user(session, web.principal(), data)
    except IntegrityError:
        # Two admins created the same username at once: the loser hears what a later attempt would.
        raise Conflict(f"username {data['username']} is taken", errors={"username": ["already taken"]}) from None


@users_blp.route("", methods=["GET"])
@users_blp.arguments(UserListArgs, location="query")
@users_blp.response(200, UserPage)
def list_users(args):
    """Users of this instance (admin only), oldest first."""
    query = domain.list_users(web.principal(), args)
    with web.database().transaction() as session:
        return web.paginate(session, query, args["page"], args["page_size"])


@users_blp.route("/me", methods=["GET"])
@users_blp.response(200, UserOut)
def me():
    """The caller's own profile."""
    with web.database().transaction() as session:
        return domain.own_profile(session, web.principal())
