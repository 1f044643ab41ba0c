"""Notifications-owned settings: SMS providers, templates ids, failover, caps, quiet hours (GUANJIA_SMS_* env vars);
the WeChat official account (GUANJIA_WECHAT_* env vars); the SMTP relay for staff reports (GUANJIA_SMTP_*)."""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import time
from decimal import Decimal

from guanjia import config

PROVIDER_NAMES = ("console", "aliyun", "tencent", "twilio")


@dataclasses.dataclass(frozen=True)
class AliyunSettings:
    access_key_id: str = ""
    access_key_secret: str = ""
    endpoint: str = "https://dysmsapi.aliyuncs.com/"
    region: str = "cn-hangzhou"
    templates: dict = dataclasses.field(default_factory=dict)  # template key → TemplateCode ("SMS_123456789")
    callback_token: str = ""  # receipts are accepted only at .../receipts/aliyun?token=<this>


@dataclasses.dataclass(frozen=True)
class TencentSettings:
    secret_id: str = ""
    secret_key: str = ""
    sdk_app_id: str = ""
    endpoint: str = "https://sms.tencentcloudapi.com/"
    region: str = "ap-guangzhou"
    templates: dict = dataclasses.field(default_factory=dict)  # template key → TemplateId ("1234567")
    callback_token: str = ""


@dataclasses.dataclass(frozen=True)
class TwilioSettings:
    account_sid: str = ""
    auth_token: str = ""
    from_number: str = ""
    messaging_service_sid: str = ""
    endpoint: str = "https://api.twilio.com"
    # The public URL Twilio posts status callbacks to; the signature is computed over exactly this URL.
    status_callback_url: str = ""


@dataclasses.dataclass(frozen=True)
class SmsSettings:
    """Everything about sending SMS for one instance; build with from_env() or directly in tests."""

    provider: str = "console"
    failover: tuple = ()  # further providers tried, in order, when one is down, throttled or misconfigured
    signature: str = "管家物业"
    aliyun: AliyunSettings = AliyunSettings()
    tencent: TencentSettings = TencentSettings()
    twilio: TwilioSettings = TwilioSettings()
    # Quiet hours in the instance timezone: non-urgent messages wait until they end. None = no quiet hours.
    quiet_start: time | None = time(21, 0)
    quiet_end: time | None = time(8, 0)
    recipient_per_minute: int = 3
    recipient_per_day: int = 20
    community_daily_budget: int = 5000
    max_attempts: int = 6
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 3600.0
    price_fen_per_segment: Decimal = Decimal("4.5")
    timeout_seconds: float = 5.0
    send_lease_seconds: float = 120.0  # a send without an outcome for this long is presumed lost with its worker
    dispatch_interval_seconds: float = 0.5
    dispatch_linger_seconds: float = 0.05  # only while a burst is forming, so that it is claimed in batches
    dispatch_batch: int = 200
    dispatch_concurrency: int = 8

    @property
    def chain(self) -> tuple:
        return (self.provider, *[p for p in self.failover if p != self.provider])


def _json(env, name: str) -> dict:
    raw = env.get(name, "").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise RuntimeError(f"{name} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise RuntimeError(f"{name} must be a JSON object of template key → provider template id")
    return {str(k): str(v) for k, v in value.items()}


def parse_quiet_hours(raw: str) -> tuple[time | None, time | None]:
    """'21:00-08:00' → (21:00, 08:00); '' or 'off' → no quiet hours."""
    raw = raw.strip()
    if raw in ("", "off", "none"):
        return None, None
    try:
        start, end = (time.fromisoformat(part.strip()) for part in raw.split("-"))
    except ValueError:
        raise RuntimeError(f"GUANJIA_SMS_QUIET_HOURS must look like 21:00-08:00, not {raw!r}") from None
    return start, end


def _instance_env(settings, env):
    """`env`, else the variables the shared settings were read from, else the process environment."""
    if env is None:
        env = getattr(settings, "env", None)
    return os.environ if env is None else env


def from_env(settings=None, env=None) -> SmsSettings:
    """SmsSettings from GUANJIA_SMS_* (documented in docs/notifications.md) of `env`, by default the variables the
    shared `settings` were read from (an embedded stack is configured without touching os.environ); provider keys
    may come from files (GUANJIA_SMS_*_FILE)."""
    env = config.with_secret_files(_instance_env(settings, env), "GUANJIA_SMS_")
    provider = env.get("GUANJIA_SMS_PROVIDER") or "console"
    failover = tuple(p.strip() for p in env.get("GUANJIA_SMS_FAILOVER", "").split(",") if p.strip())
    for name in (provider, *failover):
        if name not in PROVIDER_NAMES:
            raise RuntimeError(f"unknown SMS provider {name!r}; known: {', '.join(PROVIDER_NAMES)}")
    quiet_start, quiet_end = parse_quiet_hours(env.get("GUANJIA_SMS_QUIET_HOURS", "21:00-08:00"))

    def num(name, default, kind=int):
        raw = env.get(name, default)
        try:
            return kind(raw)
        except (ValueError, ArithmeticError):
            what = "a whole number" if kind is int else "a number"
            raise RuntimeError(f"{name}: {what} (got {raw!r})") from None

    return SmsSettings(
        provider=provider,
        failover=failover,
        signature=env.get("GUANJIA_SMS_SIGNATURE") or "管家物业",
        aliyun=AliyunSettings(
            access_key_id=env.get("GUANJIA_SMS_ALIYUN_ACCESS_KEY_ID", ""),
            access_key_secret=env.get("GUANJIA_SMS_ALIYUN_ACCESS_KEY_SECRET", ""),
            endpoint=env.get("GUANJIA_SMS_ALIYUN_ENDPOINT", AliyunSettings.endpoint),
            region=env.get("GUANJIA_SMS_ALIYUN_REGION", AliyunSettings.region),
            templates=_json(env, "GUANJIA_SMS_ALIYUN_TEMPLATES"),
            callback_token=env.get("GUANJIA_SMS_ALIYUN_CALLBACK_TOKEN", ""),
        ),
        tencent=TencentSettings(
            secret_id=env.get("GUANJIA_SMS_TENCENT_SECRET_ID", ""),
            secret_key=env.get("GUANJIA_SMS_TENCENT_SECRET_KEY", ""),
            sdk_app_id=env.get("GUANJIA_SMS_TENCENT_SDK_APP_ID", ""),
            endpoint=env.get("GUANJIA_SMS_TENCENT_ENDPOINT", TencentSettings.endpoint),
            region=env.get("GUANJIA_SMS_TENCENT_REGION", TencentSettings.region),
            templates=_json(env, "GUANJIA_SMS_TENCENT_TEMPLATES"),
            callback_token=env.get("GUANJIA_SMS_TENCENT_CALLBACK_TOKEN", ""),
        ),
        twilio=TwilioSettings(
            account_sid=env.get("GUANJIA_SMS_TWILIO_ACCOUNT_SID", ""),
            auth_token=env.get("GUANJIA_SMS_TWILIO_AUTH_TOKEN", ""),
            from_number=env.get("GUANJIA_SMS_TWILIO_FROM", ""),
            messaging_service_sid=env.get("GUANJIA_SMS_TWILIO_MESSAGING_SERVICE_SID", ""),
            endpoint=env.get("GUANJIA_SMS_TWILIO_ENDPOINT", TwilioSettings.endpoint),
            status_callback_url=env.get("GUANJIA_SMS_TWILIO_STATUS_CALLBACK_URL", ""),
        ),
        quiet_start=quiet_start,
        quiet_end=quiet_end,
        recipient_per_minute=num("GUANJIA_SMS_RECIPIENT_PER_MINUTE", "3"),
        recipient_per_day=num("GUANJIA_SMS_RECIPIENT_PER_DAY", "20"),
        community_daily_budget=num("GUANJIA_SMS_COMMUNITY_DAILY_BUDGET", "5000"),
        max_attempts=num("GUANJIA_SMS_MAX_ATTEMPTS", "6"),
        retry_base_seconds=num("GUANJIA_SMS_RETRY_BASE_SECONDS", "30", float),
        retry_max_seconds=num("GUANJIA_SMS_RETRY_MAX_SECONDS", "3600", float),
        price_fen_per_segment=num("GUANJIA_SMS_PRICE_FEN_PER_SEGMENT", "4.5", Decimal),
        timeout_seconds=num("GUANJIA_SMS_TIMEOUT_SECONDS", "5", float),
        send_lease_seconds=num("GUANJIA_SMS_SEND_LEASE_SECONDS", "120", float),
        dispatch_interval_seconds=num("GUANJIA_SMS_DISPATCH_INTERVAL_SECONDS", "0.5", float),
        dispatch_linger_seconds=num("GUANJIA_SMS_DISPATCH_LINGER_SECONDS", "0.05", float),
        dispatch_batch=num("GUANJIA_SMS_DISPATCH_BATCH", "200"),
        dispatch_concurrency=num("GUANJIA_SMS_DISPATCH_CONCURRENCY", "8"),
    )


def check(settings) -> list[str]:
    """Problems with the GUANJIA_SMS_*, GUANJIA_WECHAT_* and GUANJIA_SMTP_* settings, for `guanjia config check` (ServiceSpec.check_config)."""
    problems = []
    for parse in (from_env, wechat_from_env, smtp_from_env):
        try:
            parse(settings)
        except RuntimeError as exc:
            problems.append(str(exc))
    return problems


# -- WeChat official-account template messages (GUANJIA_WECHAT_* env vars) -----------------------------------------
WECHAT, SMS = "wechat", "sms"


@dataclasses.dataclass(frozen=True)
class WechatSettings:
    """The official account (公众号) that sends template messages; off while app_id/app_secret are empty."""

    app_id: str = ""
    app_secret: str = ""
    endpoint: str = "https://api.weixin.qq.com"
    templates: dict = dataclasses.field(default_factory=dict)  # template key → WeChat template_id
    # Per-rule channel preference, template key → channels in order ("wechat", "sms"); unnamed rules: DEFAULT_ORDER.
    channels: dict = dataclasses.field(default_factory=dict)
    # The residents' page of one inbox message, opened from the template message: "{message_id}" is replaced.
    page_url: str = ""
    token_margin_seconds: float = 300.0  # the access token (valid 7200 s) is renewed this long before it expires
    timeout_seconds: float = 5.0
    binding_code_hours: float = 72.0
    quiet_hours: bool = True  # False: non-urgent template messages go at night too (the community allows it)
    callback_token: str = ""  # the server-configuration Token: WeChat signs its event pushes (receipts) with it

    DEFAULT_ORDER = (WECHAT, SMS)

    @property
    def enabled(self) -> bool:
        return bool(self.app_id and self.app_secret)

    def order(self, template: str) -> tuple:
        """The channels tried for `template`, in order; WeChat only where it is on and the template has an id."""
        order = tuple(self.channels.get(template) or self.DEFAULT_ORDER)
        if not (self.enabled and self.templates.get(template)):
            order = tuple(c for c in order if c != WECHAT)
        return order or (SMS,)


def wechat_from_env(settings=None, env=None) -> WechatSettings:
    """WechatSettings from GUANJIA_WECHAT_* (documented in docs/notifications.md), of `env` or the variables the shared
    `settings` were read from, as from_env(); the app secret may come from a file (GUANJIA_WECHAT_APP_SECRET_FILE)."""
    env = config.with_secret_files(_instance_env(settings, env), "GUANJIA_WECHAT_")
    channels = {}
    for key, value in _json(env, "GUANJIA_WECHAT_CHANNELS").items():
        order = tuple(c.strip() for c in value.split(",") if c.strip())
        if not order or any(c not in (WECHAT, SMS) for c in order):
            raise RuntimeError(f"GUANJIA_WECHAT_CHANNELS[{key}]: channels among wechat, sms (got {value!r})")
        channels[key] = order

    def num(name, default):
        raw = env.get(name, default)
        try:
            return float(raw)
        except ValueError:
            raise RuntimeError(f"{name}: a number (got {raw!r})") from None

    quiet = env.get("GUANJIA_WECHAT_QUIET_HOURS", "on").strip().lower()
    if quiet not in ("on", "off"):
        raise RuntimeError(f"GUANJIA_WECHAT_QUIET_HOURS: on or off (got {quiet!r})")
    return WechatSettings(
        app_id=env.get("GUANJIA_WECHAT_APP_ID", ""),
        app_secret=env.get("GUANJIA_WECHAT_APP_SECRET", ""),
        endpoint=env.get("GUANJIA_WECHAT_ENDPOINT", WechatSettings.endpoint).rstrip("/"),
        templates=_json(env, "GUANJIA_WECHAT_TEMPLATES"),
        channels=channels,
        page_url=env.get("GUANJIA_WECHAT_PAGE_URL", ""),
        token_margin_seconds=num("GUANJIA_WECHAT_TOKEN_MARGIN_SECONDS", "300"),
        timeout_seconds=num("GUANJIA_WECHAT_TIMEOUT_SECONDS", "5"),
        binding_code_hours=num("GUANJIA_WECHAT_BINDING_CODE_HOURS", "72"),
        quiet_hours=quiet == "on",
        callback_token=env.get("GUANJIA_WECHAT_CALLBACK_TOKEN", ""),
    )


# -- E-mail: scheduled delivery reports to managers (GUANJIA_SMTP_* env vars) ----------------------------------------
REPORT_PERIODS = ("weekly", "monthly")


@dataclasses.dataclass(frozen=True)
class SmtpSettings:
    """The SMTP relay staff reports go through; off while host is empty."""

    host: str = ""
    port: int = 25
    username: str = ""
    password: str = ""
    sender: str = "guanjia@localhost"
    starttls: bool = False
    timeout_seconds: float = 10.0
    # community id → the managers' addresses that get its report (addresses are personal data: kept here only).
    report_recipients: dict = dataclasses.field(default_factory=dict)
    report_period: str = "weekly"
    max_attempts: int = 5
    send_lease_seconds: float = 120.0  # a mail in 'sending' without an outcome for this long lost its worker

    @property
    def enabled(self) -> bool:
        return bool(self.host and self.report_recipients)


def smtp_from_env(settings=None, env=None) -> SmtpSettings:
    """SmtpSettings from GUANJIA_SMTP_* (documented in docs/notifications.md), as from_env(); the password may come
    from a file (GUANJIA_SMTP_PASSWORD_FILE)."""
    env = config.with_secret_files(_instance_env(settings, env), "GUANJIA_SMTP_")
    raw = env.get("GUANJIA_SMTP_REPORT_RECIPIENTS", "").strip()
    try:
        recipients = json.loads(raw) if raw else {}
    except json.JSONDecodeError as exc:
        raise RuntimeError(f"GUANJIA_SMTP_REPORT_RECIPIENTS is not valid JSON: {exc}") from None
    if not isinstance(recipients, dict) or not all(
        isinstance(v, list) and all(isinstance(a, str) and "@" in a for a in v) for v in recipients.values()
    ):
        raise RuntimeError("GUANJIA_SMTP_REPORT_RECIPIENTS: a JSON object of community id → list of e-mail addresses")
    period = env.get("GUANJIA_SMTP_REPORT_PERIOD", "weekly")
    if period not in REPORT_PERIODS:
        raise RuntimeError(f"GUANJIA_SMTP_REPORT_PERIOD: weekly or monthly (got {period!r})")
    try:
        port = int(env.get("GUANJIA_SMTP_PORT", "25"))
        timeout = float(env.get("GUANJIA_SMTP_TIMEOUT_SECONDS", "10"))
        lease = float(env.get("GUANJIA_SMTP_SEND_LEASE_SECONDS", "120"))
    except ValueError:
        raise RuntimeError("GUANJIA_SMTP_PORT / _TIMEOUT_SECONDS / _SEND_LEASE_SECONDS: numbers") from None
    return SmtpSettings(
        host=env.get("GUANJIA_SMTP_HOST", ""),
        port=port,
        username=env.get("GUANJIA_SMTP_USERNAME", ""),
        password=env.get("GUANJIA_SMTP_PASSWORD", ""),
        sender=env.get("GUANJIA_SMTP_FROM", SmtpSettings.sender),
        starttls=env.get("GUANJIA_SMTP_STARTTLS", "off").lower() in ("on", "true", "1"),
        timeout_seconds=timeout,
        report_recipients={str(k): list(v) for k, v in recipients.items()},
        report_period=period,
        send_lease_seconds=lease,
    )
