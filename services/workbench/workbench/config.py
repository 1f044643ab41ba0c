"""Workbench-owned settings: how long an idle session lasts, the key of the sign-in form's CSRF token, where residents
pay online."""

from __future__ import annotations

import dataclasses
import os

from guanjia import config


@dataclasses.dataclass(frozen=True)
class WorkbenchSettings:
    # Minutes without a request before a session ends (GUANJIA_SESSION_IDLE_MINUTES).
    session_idle_minutes: int = 30
    # Signs the sign-in form's CSRF token (GUANJIA_WORKBENCH_SECRET[_FILE]; generated into var/ when embedded).
    secret: str = ""
    # The payment provider's order API for residents' online payment (GUANJIA_PAYMENT_PROVIDER_URL); unset: none.
    payment_provider_url: str = ""


def from_env(env=None) -> WorkbenchSettings:
    """WorkbenchSettings from the environment (documented in docs/operators.md); ConfigError names a bad variable."""
    env = os.environ if env is None else env
    read = config.Reader(env)
    secret = read.secret("GUANJIA_WORKBENCH_SECRET")
    if not secret and config.is_embedded("workbench", env):
        secret = config.local_jwt_secret(config.var_dir(env), "workbench.key")
    settings = WorkbenchSettings(
        session_idle_minutes=read.integer("GUANJIA_SESSION_IDLE_MINUTES", 30, "a whole number of minutes", minimum=1),
        secret=secret,
        payment_provider_url=(env.get("GUANJIA_PAYMENT_PROVIDER_URL") or "").strip().rstrip("/"),
    )
    read.done()
    return settings
