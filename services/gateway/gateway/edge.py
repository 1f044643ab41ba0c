"""What the edge checks on every request besides the signature: disabled users, API keys, security headers, CORS."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select

from guanjia import auth
from guanjia.db import utcnow
from guanjia.errors import Unauthorized

from . import domain
from .models import User

# How stale another gateway worker's view of disabled users may be (the issue allows a minute).
REVOCATION_REFRESH_SECONDS = 15.0
API_KEY_CACHE_SECONDS = 10.0
SECURITY_HEADERS = [
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
]
# The API answers JSON only; the docs page needs its script and style from the CDN.
API_CSP = ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
CORS_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Request-ID, X-API-Key"


def hold_back(principal, revocations, limiter) -> None:
    """What a signed-in request meets at the gateway, routed or its own: a disabled account stops here (401) and a
    client over its API limit waits (429); the services' own calls are no client to slow down."""
    if revocations is not None and revocations.is_revoked(principal.subject):
        raise Unauthorized("this account has been disabled")
    if limiter is not None and principal.role != "service":
        limiter.check("api", principal.subject)


class Revocations:
    """Subjects whose access tokens stop working before they expire (disabled users).

    Each gateway worker reloads the set from the database every REVOCATION_REFRESH_SECONDS, keeping only users
    disabled within the lifetime of an access token (older tokens have expired anyway).
    """

    def __init__(
        self,
        database,
        settings,
        refresh_seconds: float = REVOCATION_REFRESH_SECONDS,
        *,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.database = database
        self.settings = settings
        self.clock = clock
        self.refresh_seconds = refresh_seconds
        self._disabled: frozenset[str] = frozenset()
        self._local: set[str] = set()
        self._enabled: set[str] = set()
        self._loaded = 0.0
        self._lock = threading.Lock()

    def is_revoked(self, subject: str) -> bool:
        if time.monotonic() - self._loaded > self.refresh_seconds:
            self._reload()
        return (subject in self._disabled or subject in self._local) and subject not in self._enabled

    def _reload(self) -> None:
        if not self._lock.acquire(blocking=False):
            return  # another thread is reloading; the current view serves meanwhile
        try:
            since = self.clock() - timedelta(seconds=self.settings.token_ttl_seconds + 60)
            with self.database.transaction() as session:
                ids = session.execute(
                    select(User.id).where(User.active.is_(False), User.disabled_at >= since)
                ).scalars()
                self._disabled = frozenset(ids)
            self._local.clear()
            self._enabled.clear()
            self._loaded = time.monotonic()
        except Exception:
            self._loaded = time.monotonic() - self.refresh_seconds + 1.0  # retry soon; keep the last view
        finally:
            self._lock.release()

    def disable(self, subject: str) -> None:
        self._enabled.discard(subject)
        self._local.add(subject)

    def enable(self, subject: str) -> None:
        self._local.discard(subject)
        self._enabled.add(subject)

    def force_reload(self) -> None:
        self._loaded = 0.0


class ApiKeys:
    """API key → (integrator principal, resources, short-lived bearer token), cached briefly per worker."""

    def __init__(self, database, settings, *, clock: Callable[[], datetime] = utcnow):
        self.database = database
        self.settings = settings
        self.clock = clock
        self._cache: dict[str, tuple[float, object]] = {}
        self._lock = threading.Lock()

    def resolve(self, raw: str):
        """(key id, principal, resources, bearer) for a live key, else None."""
        now = time.monotonic()
        hit = self._cache.get(raw)
        if hit is not None and hit[0] > now:
            return hit[1]
        with self.database.transaction() as session:
            key = domain.resolve_api_key(session, raw, self.clock())
            value = None
            if key is not None:
                principal = domain.api_key_principal(key)
                ttl = int(API_KEY_CACHE_SECONDS) + 60
                value = (key.id, principal, tuple(key.resources), auth.issue_token(self.settings, principal, ttl))
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[raw] = (now + API_KEY_CACHE_SECONDS, value)
        return value

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()


def security_headers(path: str, cors_origins: tuple, origin: str | None) -> list[tuple[str, str]]:
    headers = list(SECURITY_HEADERS)
    if not path.endswith("/docs") and "/docs/" not in path:
        headers.append(API_CSP)
    if origin and origin in cors_origins:
        headers += [
            ("Access-Control-Allow-Origin", origin),
            ("Vary", "Origin"),
            ("Access-Control-Expose-Headers", "X-Request-ID, Retry-After"),
        ]
    return headers


def preflight_headers(origin: str) -> list[tuple[str, str]]:
    return [
        ("Access-Control-Allow-Origin", origin),
        ("Vary", "Origin"),
        ("Access-Control-Allow-Methods", CORS_METHODS),
        ("Access-Control-Allow-Headers", CORS_HEADERS),
        ("Access-Control-Max-Age", "600"),
    ]


class EdgeMiddleware:
    """Outermost WSGI layer: security headers on every answer, CORS for the configured web origins."""

    def __init__(self, app, cors_origins: tuple):
        self.app = app
        self.origins = tuple(cors_origins)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO") or "/"
        origin = environ.get("HTTP_ORIGIN")
        if environ.get("REQUEST_METHOD") == "OPTIONS" and origin and environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"):
            if origin in self.origins:
                start_response("204 No Content", preflight_headers(origin) + list(SECURITY_HEADERS))
            else:
                start_response("403 Forbidden", [("Content-Length", "0"), *SECURITY_HEADERS])
            return [b""]
        extra = security_headers(path, self.origins, origin)

        def _start(status, headers, exc_info=None):
            present = {name.lower() for name, _ in headers}
            return start_response(status, headers + [h for h in extra if h[0].lower() not in present], exc_info)

        return self.app(environ, _start)
