"""Gateway use cases: accounts and sign-in, refresh tokens, SMS codes, integrator API keys, the audit log."""

from __future__ import annotations

import dataclasses
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from guanjia import auth
from guanjia.auth import Principal
from guanjia.db import as_utc, new_id, parse_time
from guanjia.errors import Conflict, Forbidden, Invalid, NotFound, ProblemError

from . import security
from .models import ApiKey, AuditEntry, LoginCode, LoginLockout, RefreshToken, User

# Every role a person or an integration may hold; `service` tokens are minted by the services themselves.
USER_ROLES = tuple(sorted(auth.ALL_ROLES - {"service"}))
DEPARTMENTS = ("engineering", "security", "cleaning", "landscaping", "customer_service")
ADMIN_USERNAME = "admin"
BAD_CREDENTIALS = "invalid username or password"
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
CODE_TTL = timedelta(minutes=5)
CODE_MAX_ATTEMPTS = 5
API_KEY_PREFIX = "gjk_"
API_KEY_MAX_DAYS = 366
# The services that consume events, each with its own dead-letter queue (`<service>.events.dead`).
DEAD_LETTER_SERVICES = ("residents", "tickets", "billing", "notifications", "community", "staff")
# What an integrator key may be scoped to: the read-only REST resources routed by the gateway.
API_KEY_RESOURCES = ("communities", "buildings", "units", "residents", "tickets", "billing", "notifications", "zones")


class PasswordChangeRequired(ProblemError):
    status = 403
    title = "Password change required"


def user_by_username(session: Session, username: str) -> User | None:
    return session.execute(select(User).where(User.username == username)).scalar_one_or_none()


def principal_of(user: User, occupancy: dict | None = None) -> Principal:
    """The token's claims. A resident's units and communities are those of their current stays (`occupancy`,
    asked of residents at each sign-in and refresh) in the units the account was given: after a move-out a new
    token carries no unit."""
    communities, units, resident_id = user.communities or (), user.units or (), user.resident_id
    if user.role == "resident":
        granted = set(user.units or ())
        stays = [s for s in (occupancy or {}).get("stays") or () if s.get("unit_id") in granted]
        stays.sort(key=lambda s: (s.get("resident_id") != user.resident_id, s.get("status") != "moved_in"))
        units = list(dict.fromkeys(s["unit_id"] for s in stays))
        communities = list(dict.fromkeys(s["community_id"] for s in stays if s.get("community_id")))
        resident_id = stays[0]["resident_id"] if stays else user.resident_id
    return Principal(
        subject=user.id,
        role=user.role,
        communities=tuple(communities),
        zones=tuple(user.zones or ()),
        units=tuple(units),
        resident_id=resident_id,
        username=user.username,
    )


# --- the audit log ------------------------------------------------------------------------------------------------


def audit(
    session: Session,
    actor: Principal | None,
    action: str,
    target_type: str,
    target_id: str | None,
    now: datetime,
    details: dict | None = None,
    request_id: str | None = None,
) -> None:
    session.add(
        AuditEntry(
            id=new_id(),
            at=now,
            actor_id=actor.subject if actor else "anonymous",
            actor_role=actor.role if actor else "anonymous",
            action=action,
            target_type=target_type,
            target_id=target_id,
            details=details or {},
            request_id=request_id,
        )
    )


def list_audit(session: Session, principal: Principal, filters: dict):
    auth.require_role(principal, "admin")
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id)
    if filters.get("community_id"):
        # The log keeps no community: a community's entries are those by or about its accounts (their communities
        # are a JSON list, read here as every other community filter of the gateway reads them).
        members = [
            user.id
            for user in session.execute(select(User).where(User.role != "resident")).scalars()
            if filters["community_id"] in (user.communities or [])
        ]
        query = query.where(AuditEntry.actor_id.in_(members) | AuditEntry.target_id.in_(members))
    for name in ("action", "actor_id", "target_id", "target_type"):
        if filters.get(name):
            query = query.where(getattr(AuditEntry, name) == filters[name])
    if filters.get("since"):
        query = query.where(AuditEntry.at >= filters["since"])
    if filters.get("until"):
        query = query.where(AuditEntry.at < filters["until"])
    return query


# --- sign-in ------------------------------------------------------------------------------------------------------


def authenticate(
    session: Session, username: str, password: str, now: datetime, source: str = "unknown", pii_key: str = ""
) -> tuple[User | None, str | None]:
    """(user, None) on success, else (None, why). Failures are counted here and must be committed by the caller
    before it answers 401: raising would roll the count back and make the lockout useless.

    Lockout is per account and source (the client's address): MAX_FAILED_LOGINS wrong passwords from one address
    lock that address out of that account for LOCKOUT. Nobody can lock the bootstrap admin (or anyone) out by
    guessing from elsewhere; the per-address sign-in rate limit bounds guessing across accounts.
    """
    user = user_by_username(session, username)
    if user is None:
        security.burn_time(password)
        return None, "unknown"
    source_hash = security.keyed_hash(pii_key, f"login-source:{source}")
    lockout = session.execute(
        select(LoginLockout)
        .where(LoginLockout.user_id == user.id, LoginLockout.source_hash == source_hash)
        .with_for_update()
    ).scalar_one_or_none()
    if lockout is not None and lockout.locked_until is not None and as_utc(lockout.locked_until) > now:
        security.burn_time(password)
        return None, "locked"
    ok, rehash = security.verify_password(user.password_hash, password)
    if not ok:
        _count_failure(session, user, lockout, source_hash, now)
        return None, "password"
    if not user.active:
        return None, "inactive"
    if lockout is not None:
        session.delete(lockout)
    user.failed_logins = 0
    if rehash:
        user.password_hash = security.hash_password(password)
    return user, None


def _count_failure(session: Session, user: User, lockout, source_hash: str, now: datetime) -> None:
    if lockout is None or as_utc(lockout.first_failed_at) <= now - LOCKOUT:
        # A fresh window: failures older than LOCKOUT are forgotten.
        if lockout is None:
            lockout = LoginLockout(user_id=user.id, source_hash=source_hash)
            session.add(lockout)
        lockout.failures, lockout.first_failed_at, lockout.locked_until = 0, now, None
    lockout.failures += 1
    user.failed_logins = (user.failed_logins or 0) + 1  # across all sources: shown to admins, never enforced
    if lockout.failures >= MAX_FAILED_LOGINS:
        lockout.locked_until = now + LOCKOUT
        lockout.failures, lockout.first_failed_at = 0, now
        # users.locked_until only tells an admin that some address is locked out of this account.
        user.locked_until = lockout.locked_until
        audit(
            session,
            None,
            "user.locked",
            "user",
            user.id,
            now,
            {"minutes": int(LOCKOUT.total_seconds() // 60), "scope": "source", "source": source_hash[:12]},
        )


def change_password(
    session: Session,
    username: str,
    password: str,
    new_password: str,
    now: datetime,
    source: str = "unknown",
    pii_key: str = "",
):
    user, why = authenticate(session, username, password, now, source, pii_key)
    if user is None:
        return None, why
    security.check_policy(new_password, user.username, "new_password")
    if new_password == password:
        raise Invalid("new_password", "must differ from the current password")
    user.password_hash = security.hash_password(new_password)
    user.must_change_password = False
    user.updated_at = now
    audit(session, principal_of(user), "user.password_changed", "user", user.id, now)
    return user, None


# --- refresh tokens -----------------------------------------------------------------------------------------------


# Roles whose zones come from residents' zones (zone.butler_ids), looked up at each sign-in and refresh.
ZONE_SCOPED_ROLES = ("butler",)


def follow_zones(user: User, zones_of) -> list[dict]:
    """Residents' zones are the one source of a butler's zone membership: the token gets the zones residents names
    (and user.zones keeps them as the last known answer, used while residents cannot be reached).

    Returns the stand-in cover residents names (代岗: an absent butler's zones, each with its `until`): it goes
    into this token only and is never kept, so it ends with the leave — and without residents' answer, no cover."""
    if zones_of is None or user.role not in ZONE_SCOPED_ROLES:
        return []
    found = zones_of(user.id)
    if found is None:
        return []
    if sorted(found["zones"]) != sorted(user.zones or []):
        user.zones = list(found["zones"])
    return list(found.get("cover") or [])


def _with_cover(session: Session, settings, user: User, principal: Principal, cover: list[dict], now: datetime):
    """The token's principal with the covered zones added, its lifetime cut to the earliest cover's end (the scope
    reverts by itself), and each cover recorded in the audit log."""
    if not cover:
        return principal, None
    zones = list(dict.fromkeys([*principal.zones, *(z for c in cover for z in c["zones"])]))
    until = min(parse_time(c["until"]) for c in cover)
    for c in cover:
        audit(
            session,
            principal,
            "scope.stand_in_cover",
            "user",
            user.id,
            now,
            details={
                "absence_id": c["absence_id"],
                "butler_id": c["butler_id"],
                "zones": c["zones"],
                "until": c["until"],
            },
        )
    ttl = max(1, min(settings.token_ttl_seconds, int((until - as_utc(now)).total_seconds())))
    return dataclasses.replace(principal, zones=tuple(zones)), ttl


def issue_tokens(
    session: Session,
    settings,
    user: User,
    now: datetime,
    family_id: str | None = None,
    occupancy_of=None,
    zones_of=None,
    *,
    refresh_ttl_seconds: int,
) -> dict:
    """An access token plus a refresh token (a new family at sign-in, the same family on refresh).

    `occupancy_of(user)` gives a resident's current stays (the residents service); without it a resident's token
    carries no unit at all, never the units stored on the account. `zones_of(user_id)` → [zone ids] or None
    (unreachable): a butler's zones as residents assigns them."""
    cover = follow_zones(user, zones_of)
    raw = secrets.token_urlsafe(32)
    session.add(
        RefreshToken(
            id=new_id(),
            family_id=family_id or new_id(),
            user_id=user.id,
            token_hash=security.sha256(raw),
            created_at=now,
            expires_at=now + timedelta(seconds=refresh_ttl_seconds),
        )
    )
    principal = principal_of(user, occupancy_of(user) if occupancy_of and user.role == "resident" else None)
    principal, ttl = _with_cover(session, settings, user, principal, cover, now)
    return {
        "access_token": auth.issue_token(settings, principal, ttl_seconds=ttl),
        "token_type": "Bearer",
        "expires_in": ttl or settings.token_ttl_seconds,
        "refresh_token": raw,
        "refresh_expires_in": refresh_ttl_seconds,
    }


def refresh(
    session: Session,
    settings,
    raw: str,
    now: datetime,
    occupancy_of=None,
    zones_of=None,
    *,
    refresh_ttl_seconds: int,
) -> tuple[dict | None, str | None]:
    """(new token pair, None) or (None, why). A refresh token used twice burns its whole family (it was stolen,
    or the client is broken): the caller commits that before answering 401."""
    row = session.execute(
        select(RefreshToken).where(RefreshToken.token_hash == security.sha256(raw)).with_for_update()
    ).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return None, "unknown"
    if row.used_at is not None:
        _revoke_family(session, row.family_id, now)
        audit(session, None, "refresh_token.reused", "user", row.user_id, now, {"family_id": row.family_id})
        return None, "reused"
    if as_utc(row.expires_at) <= now:
        return None, "expired"
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None, "inactive"
    row.used_at = now
    return (
        issue_tokens(
            session,
            settings,
            user,
            now,
            family_id=row.family_id,
            occupancy_of=occupancy_of,
            zones_of=zones_of,
            refresh_ttl_seconds=refresh_ttl_seconds,
        ),
        None,
    )


def logout(session: Session, raw: str, now: datetime) -> None:
    row = session.execute(
        select(RefreshToken).where(RefreshToken.token_hash == security.sha256(raw))
    ).scalar_one_or_none()
    if row is not None:
        _revoke_family(session, row.family_id, now)


def _revoke_family(session: Session, family_id: str, now: datetime) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def _revoke_user(session: Session, user_id: str, now: datetime) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


# --- residents: phone number + SMS code ---------------------------------------------------------------------------


def new_login_code(session: Session, settings, phone: str, now: datetime) -> str:
    code = f"{secrets.randbelow(10**6):06d}"
    phone_hash = security.keyed_hash(settings.pii_key, phone)
    # A new code replaces the ones before it: only the latest SMS works.
    session.execute(
        update(LoginCode).where(LoginCode.phone_hash == phone_hash, LoginCode.used_at.is_(None)).values(used_at=now)
    )
    session.add(
        LoginCode(
            id=new_id(),
            phone_hash=phone_hash,
            code_hash=security.keyed_hash(settings.pii_key, f"{phone_hash}:{code}"),
            created_at=now,
            expires_at=now + CODE_TTL,
            attempts=0,
        )
    )
    return code


def check_login_code(session: Session, settings, phone: str, code: str, now: datetime) -> str | None:
    """None when `code` is the phone's latest, unexpired, unused code (it is used up now), else why not."""
    phone_hash = security.keyed_hash(settings.pii_key, phone)
    row = (
        session.execute(
            select(LoginCode)
            .where(LoginCode.phone_hash == phone_hash, LoginCode.used_at.is_(None))
            .order_by(LoginCode.created_at.desc())
            .limit(1)
            .with_for_update()
        )
        .scalars()
        .first()
    )
    if row is None:
        return "no code"
    if as_utc(row.expires_at) <= now:
        row.used_at = now
        return "expired"
    row.attempts += 1
    if not security.same(row.code_hash, security.keyed_hash(settings.pii_key, f"{phone_hash}:{code}")):
        if row.attempts >= CODE_MAX_ATTEMPTS:
            row.used_at = now  # guessing stops here: a new code must be requested
        return "wrong"
    row.used_at = now
    return None


def resident_account(session: Session, settings, phone: str, records: list[dict], now: datetime) -> User | None:
    """The resident account of this phone, scoped to the units the residents service lists for it now."""
    current = [r for r in records if r.get("status") != "moved_out"]
    if not current:
        return None
    # A moved-in record is the "own" one; the others still give access to their units.
    current.sort(key=lambda r: (r.get("status") != "moved_in", r.get("resident_id") or ""))
    phone_hash = security.keyed_hash(settings.pii_key, phone)
    user = session.execute(select(User).where(User.phone_hash == phone_hash)).scalar_one_or_none()
    if user is None:
        user = User(
            id=new_id(),
            username=f"phone-{phone_hash[:24]}",
            password_hash="",
            role="resident",
            phone_hash=phone_hash,
            active=True,
            created_at=now,
        )
        session.add(user)
    elif not user.active:
        return None
    user.resident_id = current[0]["resident_id"]
    user.units = list(dict.fromkeys(r["unit_id"] for r in current if r.get("unit_id")))
    user.communities = list(dict.fromkeys(r["community_id"] for r in current if r.get("community_id")))
    user.updated_at = now
    session.flush()
    return user


# --- accounts -----------------------------------------------------------------------------------------------------


def create_user(session: Session, principal: Principal, data: dict, now: datetime) -> tuple[User, str | None]:
    """The new user and, when the admin gave no password, the generated one-time password (shown once)."""
    auth.require_role(principal, "admin")
    _check_role_fields(data["role"], data)
    if user_by_username(session, data["username"]) is not None:
        raise Conflict(f"username {data['username']} is taken", errors={"username": ["already taken"]})
    generated = None
    password = data.get("password")
    if password:
        security.check_policy(password, data["username"])
        must_change = data.get("must_change_password", False)
    else:
        password = generated = security.generated_password()
        must_change = True
    user = _add_user(
        session,
        now,
        username=data["username"],
        password=password,
        role=data["role"],
        communities=data.get("communities") or [],
        zones=data.get("zones") or [],
        units=data.get("units") or [],
        resident_id=data.get("resident_id"),
        display_name=data.get("display_name"),
        phone=data.get("phone"),
        department=data.get("department"),
        must_change_password=must_change,
    )
    audit(
        session,
        principal,
        "user.created",
        "user",
        user.id,
        now,
        {"role": user.role, "communities": user.communities, "zones": user.zones, "units": user.units},
    )
    return user, generated


def _check_role_fields(role: str, data: dict) -> None:
    if role == "resident" and not data.get("resident_id"):
        raise Invalid("resident_id", "required for the resident role")
    if role == "engineer" and "department" in data and not data.get("department"):
        raise Invalid("department", "required for engineers")


SCOPE_FIELDS = ("communities", "zones", "units", "resident_id")


def update_user(session: Session, principal: Principal, user_id: str, data: dict, now: datetime, revocations=None):
    auth.require_role(principal, "admin")
    user = get_user(session, principal, user_id)
    before = {"role": user.role, **{f: getattr(user, f) for f in SCOPE_FIELDS}, "active": user.active}
    role = data.get("role", user.role)
    if role == "resident" and not data.get("resident_id", user.resident_id):
        raise Invalid("resident_id", "required for the resident role")
    if user.username == ADMIN_USERNAME and (role != "admin" or data.get("active") is False):
        raise Conflict("the bootstrap admin keeps its role and stays active", errors={"role": ["fixed"]})
    for name in ("display_name", "phone", "department", "role", "resident_id"):
        if name in data:
            setattr(user, name, data[name])
    for name in ("communities", "zones", "units"):
        if name in data:
            setattr(user, name, list(dict.fromkeys(data[name])))
    if "active" in data and data["active"] != user.active:
        user.active = data["active"]
        user.disabled_at = None if user.active else now
        if not user.active:
            _revoke_user(session, user.id, now)
            if revocations is not None:
                revocations.disable(user.id)
            audit(session, principal, "user.disabled", "user", user.id, now)
        else:
            if revocations is not None:
                revocations.enable(user.id)
            audit(session, principal, "user.enabled", "user", user.id, now)
    user.updated_at = now
    after = {"role": user.role, **{f: getattr(user, f) for f in SCOPE_FIELDS}}
    if after["role"] != before["role"]:
        audit(session, principal, "user.role_changed", "user", user.id, now, {"from": before["role"], "to": user.role})
    changed = {f: {"from": before[f], "to": after[f]} for f in SCOPE_FIELDS if before[f] != after[f]}
    if changed:
        audit(session, principal, "user.scope_changed", "user", user.id, now, changed)
    session.flush()
    return user


def reset_password(session: Session, principal: Principal, user_id: str, now: datetime) -> tuple[User, str]:
    auth.require_role(principal, "admin")
    user = get_user(session, principal, user_id)
    password = security.generated_password()
    user.password_hash = security.hash_password(password)
    user.must_change_password = True
    user.failed_logins = 0
    user.locked_until = None
    session.execute(delete(LoginLockout).where(LoginLockout.user_id == user.id))
    user.updated_at = now
    _revoke_user(session, user.id, now)
    audit(session, principal, "user.password_reset", "user", user.id, now)
    return user, password


def _add_user(session: Session, now: datetime, *, username: str, password: str, role: str, **fields) -> User:
    for name in ("communities", "zones", "units"):
        fields[name] = list(dict.fromkeys(fields.get(name) or ()))
    user = User(
        id=new_id(),
        username=username,
        password_hash=security.hash_password(password),
        role=role,
        active=True,
        created_at=now,
        failed_logins=0,
        **fields,
    )
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, principal: Principal, user_id: str) -> User:
    auth.require_role(principal, "admin")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


def list_users(principal: Principal, filters: dict):
    auth.require_role(principal, "admin")
    query = select(User).order_by(User.created_at, User.id)
    for name in ("username", "role", "active", "department"):
        if filters.get(name) is not None:
            query = query.where(getattr(User, name) == filters[name])
    return query


def own_profile(session: Session, principal: Principal) -> User:
    user = session.get(User, principal.subject)
    if user is None:
        # Service tokens and API keys have no user record behind them.
        raise NotFound("no user record behind this token")
    return user


def ensure_admin(session: Session, password: str | None, now: datetime) -> str | None:
    """Create the `admin` user if missing; returns the password it got (generated when none is given)."""
    if user_by_username(session, ADMIN_USERNAME) is not None:
        return None
    chosen = password
    password = password or security.generated_password()
    # A generated password was printed to a console: it must be replaced at the first sign-in.
    _add_user(session, now, username=ADMIN_USERNAME, password=password, role="admin", must_change_password=not chosen)
    return password


# --- for the services (role `service`) ----------------------------------------------------------------------------


def user_contact(session: Session, principal: Principal, user_id: str) -> dict:
    _require_service(principal)
    user = session.get(User, user_id)
    if user is None or user.role == "resident":
        raise NotFound(f"user {user_id} not found")
    return _contact(user) | {"communities": list(user.communities or [])}


def staff_names(session: Session, principal: Principal, ids: list[str]) -> dict:
    """Display names of staff accounts, for the services' display fields (a staff name is not resident data)."""
    _require_service(principal)
    users = session.execute(select(User).where(User.id.in_(set(ids)), User.role != "resident")).scalars()
    return {"names": {user.id: user.display_name or user.username for user in users}}


def users_for(session: Session, principal: Principal, community_id: str | None, role: str | None) -> dict:
    _require_service(principal)
    query = select(User).where(User.active.is_(True), User.role != "resident").order_by(User.created_at, User.id)
    if role:
        query = query.where(User.role == role)
    users = session.execute(query).scalars().all()
    if community_id:
        users = [u for u in users if community_id in (u.communities or [])]
    return {"items": [_contact(u) for u in users]}


def _contact(user: User) -> dict:
    return {"user_id": user.id, "role": user.role, "name": user.display_name or user.username, "phone": user.phone}


def _require_service(principal: Principal) -> None:
    if principal.role != "service":
        raise Forbidden("for services only")


# --- integrator API keys ------------------------------------------------------------------------------------------


def create_api_key(session: Session, principal: Principal, data: dict, now: datetime) -> tuple[ApiKey, str]:
    auth.require_role(principal, "admin")
    expires_at = data.get("expires_at") or now + timedelta(days=90)
    expires_at = as_utc(expires_at)
    if expires_at <= now:
        raise Invalid("expires_at", "must be in the future")
    if expires_at > now + timedelta(days=API_KEY_MAX_DAYS):
        raise Invalid("expires_at", f"at most {API_KEY_MAX_DAYS} days ahead")
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    key = ApiKey(
        id=new_id(),
        name=data["name"],
        prefix=prefix,
        secret_hash=security.sha256(secret),
        communities=list(dict.fromkeys(data["communities"])),
        resources=list(dict.fromkeys(data["resources"])),
        created_by=principal.subject,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(key)
    session.flush()
    audit(
        session,
        principal,
        "api_key.issued",
        "api_key",
        key.id,
        now,
        {"name": key.name, "communities": key.communities, "resources": key.resources},
    )
    return key, f"{API_KEY_PREFIX}{prefix}_{secret}"


def list_api_keys(principal: Principal):
    auth.require_role(principal, "admin")
    return select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.id)


def get_api_key(session: Session, principal: Principal, key_id: str) -> ApiKey:
    auth.require_role(principal, "admin")
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"API key {key_id} not found")
    return key


def revoke_api_key(session: Session, principal: Principal, key_id: str, now: datetime) -> ApiKey:
    key = get_api_key(session, principal, key_id)
    if key.revoked_at is None:
        key.revoked_at = now
        audit(session, principal, "api_key.revoked", "api_key", key.id, now, {"name": key.name})
    return key


def resolve_api_key(session: Session, raw: str, now: datetime) -> ApiKey | None:
    """The live key behind `raw`, or None (unknown, wrong secret, revoked, expired)."""
    if not raw.startswith(API_KEY_PREFIX):
        return None
    prefix, _, secret = raw[len(API_KEY_PREFIX) :].partition("_")
    if not prefix or not secret:
        return None
    key = session.execute(select(ApiKey).where(ApiKey.prefix == prefix)).scalar_one_or_none()
    if key is None or not security.same(key.secret_hash, security.sha256(secret)):
        return None
    if key.revoked_at is not None or as_utc(key.expires_at) <= now:
        return None
    return key


def api_key_principal(key: ApiKey) -> Principal:
    return Principal(
        subject=f"apikey:{key.id}", role="integrator", communities=tuple(key.communities), username=key.name
    )


# Who can be handed a ticket, and who may look them up (the workbench's dispatch list: names, no contacts).
DISPATCHABLE_ROLES = ("butler", "senior_butler", "cs_manager", "engineer")
DIRECTORY_READERS = ("admin", "butler", "senior_butler", "cs_manager", "engineer")


def staff_directory(session: Session, principal: Principal, community_id: str | None) -> list[User]:
    """Active staff of a community the caller works in (engineers without a community serve every one)."""
    if principal.role not in DIRECTORY_READERS:
        raise Forbidden("only staff see the staff directory")
    if community_id and principal.role != "admin" and community_id not in (principal.communities or ()):
        return []
    query = (
        select(User).where(User.active.is_(True), User.role.in_(DISPATCHABLE_ROLES)).order_by(User.role, User.username)
    )
    wanted = community_id or None
    mine = set(principal.communities or ())
    found = []
    for user in session.execute(query).scalars():
        communities = set(user.communities or ())
        if user.role == "engineer" and not communities:
            found.append(user)
        elif wanted and wanted in communities:
            found.append(user)
        elif not wanted and (principal.role == "admin" or communities & mine):
            found.append(user)
    return found


def dead_letters_acted(session: Session, principal: Principal, action: str, data: dict, done: dict, now: datetime):
    """Record a replay or discard of dead letters (admin only): which service, which events, which were found."""
    auth.require_role(principal, "admin")
    audit(
        session,
        principal,
        f"dead_letters.{action}",
        "dead_letters",
        data["service"],
        now,
        {"all": data.get("all", False), "ids": list(data.get("ids") or [])[:100], "done": list(done["done"])[:100]},
    )
