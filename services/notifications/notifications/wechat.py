"""WeChat official-account API (公众号): the access token (cached, renewed before it expires, one renewal at a
time), template messages, and the OAuth snsapi_base code exchange that yields a resident's openid. The openid is
personal data: it never reaches a log line, an error message or the bus."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import requests

from guanjia.db import utcnow

from .config import WechatSettings

log = logging.getLogger("notifications.wechat")

# What an errcode means for the message (https://developers.weixin.qq.com/doc/offiaccount/Getting_Started/Global_Return_Code.html).
PERMANENT = "permanent"  # this message to this person can never go: fall back to SMS
TRANSIENT = "transient"  # retry later with back-off
THROTTLED = "throttled"  # the account's rate limit: wait, does not use up an attempt
TOKEN = "token"  # the access token is expired or invalid: renew it and send again

PERMANENT_CODES = {
    40003: "invalid openid",
    43004: "require subscribe (the user unsubscribed)",
    43101: "user refused to accept the message",
    40037: "invalid template_id",
    47003: "template data invalid",
    40036: "invalid template_id size",
}
TOKEN_CODES = {40001: "invalid credential", 40014: "invalid access_token", 42001: "access_token expired"}
THROTTLED_CODES = {45009: "reach max api daily quota limit", 45047: "out of send limit"}
TRANSIENT_CODES = {-1: "system error"}
THROTTLE_SECONDS = 60.0


class WechatError(Exception):
    def __init__(self, code: int | str, message: str, kind: str):
        super().__init__(f"{code}: {message}")
        self.code, self.kind = str(code), kind


def classify(errcode: int) -> str:
    if errcode in PERMANENT_CODES:
        return PERMANENT
    if errcode in TOKEN_CODES:
        return TOKEN
    if errcode in THROTTLED_CODES:
        return THROTTLED
    return TRANSIENT  # -1 and unknown codes: retried, and after the last attempt the SMS takes over


def mask_openid(openid: str | None) -> str | None:
    """oAbc****wxyz: enough for a person to recognise, not to address a message."""
    if not openid:
        return None
    return f"{openid[:4]}****{openid[-4:]}" if len(openid) > 8 else "****"


class WechatClient:
    """One per process. The access token is shared by all sending threads; it is renewed `token_margin_seconds`
    before its expiry (or when WeChat says it is expired), by one thread while the others wait for it. The stable
    token API (`/cgi-bin/stable_token`, force_refresh false) hands every replica the same token, so one replica's
    renewal does not invalidate another's."""

    def __init__(self, settings: WechatSettings, clock: Callable[[], datetime] = utcnow):
        self.settings, self.clock = settings, clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at: datetime | None = None
        self.http = requests.Session()
        self.http.trust_env = False  # the endpoint is configured explicitly
        adapter = requests.adapters.HTTPAdapter(pool_connections=2, pool_maxsize=32, max_retries=0)
        self.http.mount("http://", adapter)
        self.http.mount("https://", adapter)

    # -- transport -------------------------------------------------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs) -> dict:
        url = f"{self.settings.endpoint}{path}"
        try:
            response = self.http.request(
                method, url, timeout=self.settings.timeout_seconds, allow_redirects=False, **kwargs
            )
        except requests.RequestException as exc:
            raise WechatError("network", exc.__class__.__name__, TRANSIENT) from None
        try:
            body = response.json()
        except ValueError:
            raise WechatError(f"http_{response.status_code}", "answer is not JSON", TRANSIENT) from None
        if response.status_code >= 500:
            raise WechatError(f"http_{response.status_code}", "server error", TRANSIENT)
        errcode = body.get("errcode") or 0
        if errcode:
            # errmsg names no person (WeChat echoes a request hint, never the openid).
            raise WechatError(errcode, str(body.get("errmsg") or "")[:100], classify(errcode))
        return body

    # -- the access token ------------------------------------------------------------------------------------------
    def token(self) -> str:
        """A token valid for at least the margin; renewed by one thread at a time (the others wait and reuse it)."""
        with self._lock:
            now = self.clock()
            margin = timedelta(seconds=self.settings.token_margin_seconds)
            if self._token and self._expires_at and now < self._expires_at - margin:
                return self._token
            body = self._call(
                "POST",
                "/cgi-bin/stable_token",
                json={
                    "grant_type": "client_credential",
                    "appid": self.settings.app_id,
                    "secret": self.settings.app_secret,
                    "force_refresh": False,
                },
            )
            self._token = body["access_token"]
            self._expires_at = now + timedelta(seconds=int(body.get("expires_in") or 7200))
            log.info("wechat access token renewed", extra={"expires_at": self._expires_at.isoformat()})
            return self._token

    def forget_token(self, token: str) -> None:
        """WeChat said `token` is expired or invalid: the next caller renews it (unless another already did)."""
        with self._lock:
            if self._token == token:
                self._token, self._expires_at = None, None

    # -- template messages -----------------------------------------------------------------------------------------
    def send_template(self, openid: str, template_id: str, data: dict, url: str | None = None) -> str:
        """Send one template message; the msgid. An expired token is renewed and the message sent once more."""
        body = {"touser": openid, "template_id": template_id, "data": {k: {"value": v} for k, v in data.items()}}
        if url:
            body["url"] = url
        for attempt in (1, 2):
            token = self.token()
            try:
                answer = self._call("POST", "/cgi-bin/message/template/send", params={"access_token": token}, json=body)
            except WechatError as exc:
                if exc.kind == TOKEN and attempt == 1:
                    self.forget_token(token)
                    continue
                if exc.kind == TOKEN:
                    raise WechatError(exc.code, str(exc), TRANSIENT) from None
                raise
            return str(answer.get("msgid"))
        raise AssertionError("unreachable")

    # -- OAuth (snsapi_base): the resident's openid from the code WeChat gave their page ---------------------------
    def openid_for_code(self, code: str) -> str:
        body = self._call(
            "GET",
            "/sns/oauth2/access_token",
            params={
                "appid": self.settings.app_id,
                "secret": self.settings.app_secret,
                "code": code,
                "grant_type": "authorization_code",
            },
        )
        return str(body["openid"])
