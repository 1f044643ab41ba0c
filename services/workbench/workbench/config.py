"""Workbench-owned settings: how long an idle session lasts, the key of the sign-in form's CSRF token, where residents
pay online, and the official account residents bind their WeChat to."""

from __future__ import annotations

import dataclasses
import os

from guanjia import config

WECHAT_AUTHORIZE_URL = "https://open.weixin.qq.com/connect/oauth2/authorize"


@dataclasses.dataclass(frozen=True)
class WorkbenchSettings:
    # Minutes without a request before a session ends (GUANJIA_SESSION_IDLE_MINUTES).
    session_idle_minutes: int = 30
    # Signs the sign-in form's CSRF token (GUANJIA_WORKBENCH_SECRET[_FILE]; generated into var/ when embedded).
    secret: str = ""
    # The payment provider's order API for residents' online payment (GUANJIA_PAYMENT_PROVIDER_URL); unset: none.
    payment_provider_url: str = ""
    # The official account's appid (GUANJIA_WECHAT_APP_ID, the one notifications sends with); unset: no binding.
    wechat_app_id: str = ""
    # WeChat's web OAuth page (GUANJIA_WECHAT_AUTHORIZE_URL): residents' browsers go there for snsapi_base.
    wechat_authorize_url: str = WECHAT_AUTHORIZE_URL


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
        wechat_app_id=(env.get("GUANJIA_WECHAT_APP_ID") or "").strip(),
        wechat_authorize_url=(env.get("GUANJIA_WECHAT_AUTHORIZE_URL") or "").strip() or WECHAT_AUTHORIZE_URL,
    )
    read.done()
    return settings
