"""Gateway use cases: authenticate a user, manage users, bootstrap the first admin."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from guanjia import auth
from guanjia.auth import Principal
from guanjia.db import new_id, utcnow
from guanjia.errors import Conflict, Invalid, NotFound, Unauthorized

from .models import User

# Every role a person or an integration may hold; `service` tokens are minted by the services themselves.
USER_ROLES = tuple(sorted(auth.ALL_ROLES - {"service"}))
ADMIN_USERNAME = "admin"
BAD_CREDENTIALS = "invalid username or password"


# Checked against when the username is unknown, so both failures cost the same hashing time. The hash of a
# random password nobody kept; it never admits anyone (an unknown username is refused whatever it says).
_UNKNOWN_USER_HASH = (
    "scrypt:32768:8:1$vz6WbqseDzJ6sEaC$14fe9daee6659a4914539049c80ac4578142d5b87f5904469e537302851c84c9"
    "c8d2adf5b4801affe126eca507137f4dcaee87d7baee797294bb9297d4ae5425"
)


def user_by_username(session: Session, username: str) -> User | None:
    return session.execute(select(User).where(User.username == username)).scalar_one_or_none()


def authenticate(session: Session, username: str, password: str) -> User:
    """The active user with these credentials; one message for every failure (no username probing)."""
    user = user_by_username(session, username)
    password_ok = check_password_hash(user.password_hash if user else _UNKNOWN_USER_HASH, password)
    if user is None or not password_ok or not user.active:
        raise Unauthorized(BAD_CREDENTIALS)
    return user


def principal_of(user: User) -> Principal:
    return Principal(
        subject=user.id,
        role=user.role,
        communities=tuple(user.communities or ()),
        zones=tuple(user.zones or ()),
        units=tuple(user.units or ()),
        resident_id=user.resident_id,
        username=user.username,
    )


def create_user(session: Session, principal: Principal, data: dict) -> User:
    auth.require_role(principal, "admin")
    if data["role"] == "resident" and not data.get("resident_id"):
        raise Invalid("resident_id", "required for the resident role")
    if user_by_username(session, data["username"]) is not None:
        raise Conflict(f"username {data['username']} is taken", errors={"username": ["already taken"]})
    return _add_user(
        session,
        username=data["username"],
        password=data["password"],
        role=data["role"],
        communities=data.get("communities") or [],
        zones=data.get("zones") or [],
        units=data.get("units") or [],
        resident_id=data.get("resident_id"),
    )


def _add_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    communities=(),
    zones=(),
    units=(),
    resident_id: str | None = None,
) -> User:
    user = User(
        id=new_id(),
        username=username,
        password_hash=generate_password_hash(password),
        role=role,
        communities=list(dict.fromkeys(communities)),
        zones=list(dict.fromkeys(zones)),
        units=list(dict.fromkeys(units)),
        resident_id=resident_id,
        active=True,
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    return user


def list_users(principal: Principal, filters: dict):
    auth.require_role(principal, "admin")
    query = select(User).order_by(User.created_at, User.id)
    if filters.get("username"):
        query = query.where(User.username == filters["username"])
    if filters.get("role"):
        query = query.where(User.role == filters["role"])
    return query


def own_profile(session: Session, principal: Principal) -> User:
    user = session.get(User, principal.subject)
    if user is None:
        # Service tokens and API keys have no user record behind them.
        raise NotFound("no user record behind this token")
    return user


def ensure_admin(session: Session, password: str | None) -> str | None:
    """Create the `admin` user if missing; returns the password it got (generated when none is given)."""
    if user_by_username(session, ADMIN_USERNAME) is not None:
        return None
    password = password or secrets.token_urlsafe(12)
    _add_user(session, username=ADMIN_USERNAME, password=password, role="admin")
    return password
