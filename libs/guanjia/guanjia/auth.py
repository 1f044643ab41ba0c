"""Tokens signed with Ed25519 (kid in the header, public keys as a JWKS), the Principal, and scope checks.

Two kinds of signing key:
- the *user* key (GUANJIA_JWT_PRIVATE_KEY) is held by the gateway only; it signs the access tokens of people and
  integrators. Every service verifies them with the public half: from its own configuration, or from the gateway's
  `/.well-known/jwks.json` when a token names a kid it does not know yet (that is how a rotation reaches the services
  without a restart).
- the *service* key (GUANJIA_SERVICE_KEY) is held by every service; it signs the short-lived service credentials
  that services use to call each other. A token signed with it is accepted for the `service` role only, so a
  service can never mint a user's or an admin's token.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import json
import logging
import re
import threading
import time
import uuid

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import false, or_

from .config import Settings
from .errors import Forbidden, Unauthorized

log = logging.getLogger("guanjia.auth")

ALGORITHM = "EdDSA"  # never taken from the token header
ALGORITHMS = [ALGORITHM]
STAFF_ROLES = {"butler", "senior_butler", "cs_manager", "engineer", "finance"}
ALL_ROLES = STAFF_ROLES | {"resident", "admin", "integrator", "service"}
INSTANCE_ROLES = {"admin", "service"}  # see every community of the instance
SERVICE_TOKEN_TTL = 300
JWKS_PATH = "/.well-known/jwks.json"
# A token naming an unknown kid makes a service fetch the gateway's JWKS, at most this often (no fetch storms).
JWKS_REFETCH_SECONDS = 10.0
JWKS_TIMEOUT = 2.0


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


# --- keys -------------------------------------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_private_key(text: str) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM (`openssl genpkey -algorithm ed25519`) or a base64url 32-byte seed."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("signing keys must be Ed25519")
        return key
    return Ed25519PrivateKey.from_private_bytes(_unb64url(text))


def load_public_key(text: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM or base64url of its 32 raw bytes."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("verification keys must be Ed25519")
        return key
    return Ed25519PublicKey.from_public_bytes(_unb64url(text))


def split_public_keys(text: str) -> tuple[str, ...]:
    """GUANJIA_JWT_PUBLIC_KEYS: PEM blocks one after the other, or base64url keys separated by commas."""
    text = (text or "").strip()
    if not text:
        return ()
    if "-----BEGIN" in text:
        blocks = text.split("-----BEGIN")[1:]
        return tuple("-----BEGIN" + block.rstrip() for block in blocks)
    return tuple(part.strip() for part in text.split(",") if part.strip())


def public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def kid_of(key: Ed25519PublicKey) -> str:
    """RFC 7638 JWK thumbprint of the public key: the same key always has the same kid, on every host."""
    jwk = {"crv": "Ed25519", "kty": "OKP", "x": _b64url(public_raw(key))}
    canonical = json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode()
    return _b64url(hashlib.sha256(canonical).digest())


def public_jwk(key: Ed25519PublicKey) -> dict:
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": _b64url(public_raw(key)),
        "kid": kid_of(key),
        "use": "sig",
        "alg": "EdDSA",
    }


@dataclasses.dataclass(frozen=True)
class _VerifyKey:
    key: Ed25519PublicKey
    service_only: bool


class KeyRing:
    """The signing keys this process holds and every public key it accepts, by kid."""

    def __init__(self, private: str, publics: tuple[str, ...], service: str):
        self.signer = load_private_key(private) if private else None
        self.signer_kid = kid_of(self.signer.public_key()) if self.signer else None
        self.service_signer = load_private_key(service) if service else None
        self.service_kid = kid_of(self.service_signer.public_key()) if self.service_signer else None
        self.user_keys: dict[str, Ed25519PublicKey] = {}
        if self.signer:
            self.user_keys[self.signer_kid] = self.signer.public_key()
        for text in publics:
            key = load_public_key(text)
            self.user_keys[kid_of(key)] = key
        self.fetched: dict[str, Ed25519PublicKey] = {}
        self.verified: dict[str, dict] = {}
        self.service_tokens: dict[tuple, tuple[str, float]] = {}  # (service, iss, aud) → (token, expiry)
        self._last_fetch = -1e9
        self._misses: dict[str, float] = {}
        self._lock = threading.Lock()

    def lookup(self, kid: str) -> _VerifyKey | None:
        if kid in self.user_keys:
            return _VerifyKey(self.user_keys[kid], False)
        if kid in self.fetched:
            return _VerifyKey(self.fetched[kid], False)
        if kid == self.service_kid and kid is not None:
            # The user key wins if an operator ever configured the same key for both.
            return _VerifyKey(self.service_signer.public_key(), True)
        return None

    def jwks(self) -> dict:
        """The public keys of user tokens (the current signer first); service keys are never published."""
        return {"keys": [public_jwk(key) for key in self.user_keys.values()]}

    def refresh_from(self, url: str, kid: str) -> None:
        """Fetch the gateway's JWKS: a rotated key reaches this service at its first token, without a restart.

        At most one fetch a second, and one per unknown kid every JWKS_REFETCH_SECONDS: tokens with made-up kids
        cannot turn this service into a flood against the gateway.
        """
        now = time.monotonic()
        with self._lock:
            if now - self._last_fetch < 1.0 or now - self._misses.get(kid, -1e9) < JWKS_REFETCH_SECONDS:
                return
            self._last_fetch = now
            if len(self._misses) > 1000:
                self._misses.clear()
            self._misses[kid] = now
        import requests

        try:
            response = requests.get(url, timeout=JWKS_TIMEOUT)
            response.raise_for_status()
            keys = response.json().get("keys") or []
        except Exception as exc:
            log.warning("could not fetch the gateway's public keys", extra={"error": exc.__class__.__name__})
            return
        fetched = {}
        for jwk in keys:
            if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519" and jwk.get("x"):
                key = Ed25519PublicKey.from_public_bytes(_unb64url(jwk["x"]))
                # The kid is recomputed, never trusted from the document.
                fetched[kid_of(key)] = key
        self.fetched = fetched


@functools.lru_cache(maxsize=64)
def _keyring(private: str, publics: tuple[str, ...], service: str, jwks_from: str | None) -> KeyRing:
    return KeyRing(private, publics, service)


def keyring(settings: Settings) -> KeyRing:
    return _keyring(settings.jwt_private_key, tuple(settings.jwt_public_keys), settings.service_key, jwks_url(settings))


def jwks(settings: Settings) -> dict:
    return keyring(settings).jwks()


def jwks_url(settings: Settings) -> str | None:
    """Where a service looks up a kid it does not know: the gateway's JWKS (distributed mode only)."""
    if settings.embedded or settings.service == "gateway":
        return None
    base = (settings.service_urls or {}).get("gateway")
    return base.rstrip("/") + JWKS_PATH if base else None


# --- tokens -----------------------------------------------------------------------------------------------------


def issue_token(settings: Settings, principal: Principal, ttl_seconds: int | None = None) -> str:
    """A signed access token. Service principals are signed with the service key, everyone else with the user key."""
    ring = keyring(settings)
    if principal.role == "service" and ring.service_signer is not None:
        key, kid = ring.service_signer, ring.service_kid
    elif ring.signer is not None:
        key, kid = ring.signer, ring.signer_kid
    else:
        raise RuntimeError(f"{settings.service} holds no key to sign a {principal.role} token")
    now = int(time.time())
    payload = {
        **principal.claims(),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + (ttl_seconds or settings.token_ttl_seconds),
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(payload, key, algorithm=ALGORITHM, headers={"kid": kid})


# A service token is used again until this close to its expiry: the receiver verifies it once (its cache of
# verified tokens) instead of a fresh Ed25519 signature per call, and it is still valid when it arrives.
SERVICE_TOKEN_RENEW_SECONDS = 60


def service_token(settings: Settings) -> str:
    """This service's own short-lived credential for calling another service (one token per process, renewed a
    minute before it expires)."""
    ring = keyring(settings)
    key = (settings.service, settings.jwt_issuer, settings.jwt_audience)
    held = ring.service_tokens.get(key)
    if held is not None and held[1] - SERVICE_TOKEN_RENEW_SECONDS > time.time():
        return held[0]
    token = issue_token(
        settings, Principal(subject=f"service:{settings.service}", role="service"), ttl_seconds=SERVICE_TOKEN_TTL
    )
    ring.service_tokens[key] = (token, time.time() + SERVICE_TOKEN_TTL)  # a race only signs one more: harmless
    return token


_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def _segment(text: str) -> bytes:
    """Strict, canonical base64url: no padding, nothing outside the alphabet, no stray bits in the last character.

    One token has exactly one spelling. PyJWT alone decodes leniently (it pads, and a signature with `=` or with
    different unused low bits decodes to the same bytes), so a token cached or revoked under one spelling could
    otherwise be replayed under another.
    """
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not canonical base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64url(data) != text:
        raise ValueError("not canonical base64url")
    return data


VERIFIED_CACHE_SIZE = 4096
# Clock skew tolerated between the gateway that signed a token and the pod that checks it (nodes drift).
LEEWAY_SECONDS = 30
REQUIRED_CLAIMS = ["exp", "iat", "sub", "iss", "aud"]


def verify_claims(settings: Settings, token: str) -> dict:
    """The verified claims of `token` (signature, kid, algorithm, iss, aud, exp with LEEWAY_SECONDS); Unauthorized
    otherwise. PyJWT's `jwt.decode` does the checks, after the canonical-encoding check and the kid lookup.

    Verified tokens are remembered until they expire (a client sends the same token many times), so the
    signature check is paid once per token and worker rather than once per request.
    """
    ring = keyring(settings)
    now = time.time()
    cached = ring.verified.get(token)
    if cached is not None and cached["exp"] + LEEWAY_SECONDS > now:
        return cached
    try:
        segments = token.split(".")
        if len(segments) != 3:
            raise ValueError("three segments expected")
        for segment in segments:
            _segment(segment)
        header = jwt.get_unverified_header(token)
    except (ValueError, TypeError, jwt.InvalidTokenError):
        raise Unauthorized("invalid token: not a signed JWT") from None
    kid = header.get("kid")
    if header.get("alg") != ALGORITHM or not isinstance(kid, str):
        raise Unauthorized("invalid token: unexpected algorithm or no key id")
    entry = ring.lookup(kid)
    if entry is None:
        url = jwks_url(settings)
        if url:
            ring.refresh_from(url, kid)
            entry = ring.lookup(kid)
    if entry is None:
        raise Unauthorized("invalid token: signed with an unknown key")
    try:
        claims = jwt.decode(
            token,
            entry.key,
            algorithms=ALGORITHMS,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token expired") from None
    except jwt.InvalidSignatureError:
        raise Unauthorized("invalid token: bad signature") from None
    except jwt.ImmatureSignatureError:
        raise Unauthorized("invalid token: not valid yet") from None
    except jwt.InvalidTokenError as exc:
        raise Unauthorized(f"invalid token: {exc}") from None
    _check_claims(claims)
    if entry.service_only and claims.get("role") != "service":
        raise Unauthorized("invalid token: a service key signs service tokens only")
    if len(ring.verified) >= VERIFIED_CACHE_SIZE:
        ring.verified.clear()  # crude but bounded; refilled by the tokens in use
    ring.verified[token] = claims
    return claims


def _check_claims(claims: dict) -> None:
    """What PyJWT leaves to the application: the types of the claims it does not interpret."""
    exp, iat = claims["exp"], claims["iat"]
    if not isinstance(exp, int | float) or not isinstance(iat, int | float) or isinstance(exp, bool):
        raise Unauthorized("invalid token: exp and iat must be numbers")
    if not isinstance(claims["sub"], str) or not claims["sub"]:
        raise Unauthorized("invalid token: sub must be a string")


def verify_token(settings: Settings, token: str) -> Principal:
    claims = verify_claims(settings, token)
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
