"""Gateway-owned settings: the first admin's password, the demo start-up, the web origins allowed by CORS."""

from __future__ import annotations

import dataclasses
import os

from guanjia import config


@dataclasses.dataclass(frozen=True)
class GatewaySettings:
    # The first admin's password (GUANJIA_ADMIN_PASSWORD[_FILE]); None: a one-time password is generated.
    admin_password: str | None = None
    # `guanjia run --demo` (GUANJIA_DEMO): /readyz answers 200 only once the demo logins exist.
    demo: bool = False
    # Web origins answered with CORS headers (GUANJIA_CORS_ORIGINS, comma-separated).
    cors_origins: tuple = ()


def from_env(env=None) -> GatewaySettings:
    """GatewaySettings from the environment (documented in docs/operators.md); ConfigError names a bad variable."""
    env = os.environ if env is None else env
    read = config.Reader(env)
    settings = GatewaySettings(
        admin_password=read.secret("GUANJIA_ADMIN_PASSWORD") or None,
        demo=env.get("GUANJIA_DEMO", "").strip().lower() in ("1", "true", "yes"),
        cors_origins=tuple(o.strip() for o in env.get("GUANJIA_CORS_ORIGINS", "").split(",") if o.strip()),
    )
    read.done()
    return settings
