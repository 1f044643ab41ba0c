"""JWT verification (fixed algorithms; iss, aud, exp checked), the Principal, and scope checks."""

from __future__ import annotations

import dataclasses
import time
import uuid

import jwt
from sqlalchemy import false, or_

from .config import Settings
from .errors import Forbidden, Unauthorized

ALGORITHMS = ["HS256"]  # never taken from the token header
STAFF_ROLES = {"butler", "senior_butler", "cs_manager", "engineer", "finance"}
ALL_ROLES = STAFF_ROLES | {"resident", "admin", "integrator", "service"}
INSTANCE_ROLES = {"admin", "service"}  # see every community of the instance


@dataclasses.dataclass(frozen=True)
class Principal:
    """Who is calling: role plus scopes (communities, zones, own units, own resident record)."""

    subject: str
    role: str
    communities: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    resident_id: str | None = None
    username: str | None = None

    @property
    def instance_wide(self) -> bool:
        return self.role in INSTANCE_ROLES

    def sees_community(self, community_id: str | None) -> bool:
        return self.instance_wide or (community_id is not None and community_id in self.communities)

    def sees_zone(self, community_id: str | None, zone_id: str | None) -> bool:
        """Butlers work in their zones; community-scoped roles see every zone of their communities."""
        if self.role == "resident":
            return False
        if self.role == "butler":
            return self.sees_community(community_id) and zone_id is not None and zone_id in self.zones
        return self.sees_community(community_id)

    def sees_unit(self, community_id: str | None, unit_id: str | None) -> bool:
        if self.role == "resident":
            return unit_id is not None and unit_id in self.units
        return self.sees_community(community_id)

    def claims(self) -> dict:
        return {
            "sub": self.subject,
            "role": self.role,
            "communities": list(self.communities),
            "zones": list(self.zones),
            "units": list(self.units),
            "resident_id": self.resident_id,
            "username": self.username,
        }


def issue_token(settings: Settings, principal: Principal, ttl_seconds: int | None = None) -> str:
    now = int(time.time())
    payload = {
        **principal.claims(),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + (ttl_seconds or settings.token_ttl_seconds),
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(payload, settings.jwt_secret, algorithm=ALGORITHMS[0])


def service_token(settings: Settings) -> str:
    """This service's own short-lived credential for calling another service."""
    return issue_token(settings, Principal(subject=f"service:{settings.service}", role="service"), ttl_seconds=300)


def verify_token(settings: Settings, token: str) -> Principal:
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=ALGORITHMS,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token expired") from None
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid token: {exc}") from None
    role = claims.get("role")
    if role not in ALL_ROLES:
        raise Unauthorized("token carries no known role")
    return Principal(
        subject=str(claims["sub"]),
        role=role,
        communities=tuple(claims.get("communities") or ()),
        zones=tuple(claims.get("zones") or ()),
        units=tuple(claims.get("units") or ()),
        resident_id=claims.get("resident_id"),
        username=claims.get("username"),
    )


def principal_from_header(settings: Settings, authorization: str | None) -> Principal:
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthorized("a bearer token is required")
    return verify_token(settings, authorization[len("Bearer ") :].strip())


def require_role(principal: Principal, *roles: str) -> None:
    if principal.role not in roles:
        raise Forbidden(f"role {principal.role} may not do this")


def scoped(query, principal: Principal, *, community_column, zone_column=None, unit_column=None, resident_column=None):
    """Apply the caller's object-level scope to a select(): residents see their own units or records,
    butlers their zones (when the object has a zone column), other staff their communities."""
    if principal.instance_wide:
        return query
    if principal.role == "resident":
        conditions = []
        if unit_column is not None and principal.units:
            conditions.append(unit_column.in_(principal.units))
        if resident_column is not None and principal.resident_id:
            conditions.append(resident_column == principal.resident_id)
        return query.where(or_(*conditions) if conditions else false())
    if not principal.communities:
        return query.where(false())
    query = query.where(community_column.in_(principal.communities))
    if principal.role == "butler" and zone_column is not None:
        query = query.where(zone_column.in_(principal.zones) if principal.zones else false())
    return query
