"""Gateway-owned settings: the first admin's password, the demo start-up, the web origins allowed by CORS, the
rate limits and the Redis that counts them, the refresh tokens' lifetime."""

from __future__ import annotations

import dataclasses
import os

from guanjia import config

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclasses.dataclass(frozen=True)
class GatewaySettings:
    # The first admin's password (GUANJIA_ADMIN_PASSWORD[_FILE]); None: a one-time password is generated.
    admin_password: str | None = None
    # `guanjia run --demo` (GUANJIA_DEMO): /readyz answers 200 only once the demo logins exist.
    demo: bool = False
    # Web origins answered with CORS headers (GUANJIA_CORS_ORIGINS, comma-separated).
    cors_origins: tuple = ()
    # Shared rate-limit store of the gateway workers (GUANJIA_REDIS_URL[_FILE], distributed mode); embedded mode
    # counts in-process.
    redis_url: str = DEFAULT_REDIS_URL
    # Overrides of ratelimit.DEFAULT_LIMITS: name → (count, seconds) (GUANJIA_RATE_LIMITS="login=20/60,api=600/60").
    rate_limits: dict = dataclasses.field(default_factory=dict)
    # Lifetime of a refresh token (GUANJIA_REFRESH_TTL_SECONDS); each use rotates it. Access tokens' lifetime is
    # shared (GUANJIA_TOKEN_TTL_SECONDS): the library signs them and the edge's revocation window follows it.
    refresh_ttl_seconds: int = 30 * 24 * 3600


def from_env(env=None) -> GatewaySettings:
    """GatewaySettings from the environment (documented in docs/operators.md); ConfigError names a bad variable."""
    env = os.environ if env is None else env
    read = config.Reader(env)
    settings = GatewaySettings(
        admin_password=read.secret("GUANJIA_ADMIN_PASSWORD") or None,
        demo=env.get("GUANJIA_DEMO", "").strip().lower() in ("1", "true", "yes"),
        cors_origins=tuple(o.strip() for o in env.get("GUANJIA_CORS_ORIGINS", "").split(",") if o.strip()),
        redis_url=read.secret("GUANJIA_REDIS_URL") or DEFAULT_REDIS_URL,
        rate_limits=_rate_limits(env, read.problems),
        refresh_ttl_seconds=read.integer(
            "GUANJIA_REFRESH_TTL_SECONDS", 30 * 24 * 3600, "a whole number of seconds", minimum=1
        ),
    )
    read.done()
    return settings


def _rate_limits(env, problems: list) -> dict:
    """GUANJIA_RATE_LIMITS="login=20/60,api=600/60": overrides of the gateway's limits (count/seconds)."""
    limits = {}
    for item in (env.get("GUANJIA_RATE_LIMITS") or "").split(","):
        if "=" in item:
            name, _, spec = item.partition("=")
            count, _, seconds = spec.partition("/")
            try:
                limits[name.strip()] = (int(count), int(seconds or 60))
            except ValueError:
                problems.append(f"GUANJIA_RATE_LIMITS: name=count/seconds items such as login=20/60 (got {item!r})")
    return limits
