"""Typed settings read from the environment (GUANJIA_*), one Settings object per service."""

from __future__ import annotations

import dataclasses
import os
import secrets
from pathlib import Path

SERVICE_PORTS = {"gateway": 8000, "residents": 8001, "tickets": 8002, "billing": 8003, "notifications": 8004}
EMBEDDED_AMQP_URL = "memory://"


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything a service needs to start; build with from_env() or directly in tests."""

    service: str
    database_url: str
    amqp_url: str = EMBEDDED_AMQP_URL
    city: str = "demo"
    timezone: str = "Asia/Shanghai"
    exchange: str = "guanjia.events"
    queue_prefix: str = ""
    jwt_secret: str = ""
    jwt_issuer: str = "guanjia"
    jwt_audience: str = "guanjia"
    token_ttl_seconds: int = 3600
    service_urls: dict = dataclasses.field(default_factory=dict)
    max_body_bytes: int = 1024 * 1024
    sms_signature: str = "管家物业"
    sms_provider: str = "console"
    # Key for personal data encrypted at rest (ID-card numbers); generated into var/ when embedded.
    pii_key: str = ""
    admin_password: str | None = None
    relay_poll_seconds: float = 5.0
    retry_delays_ms: tuple = (1000, 5000, 30000)
    log_level: str = "INFO"
    # In embedded mode the gateway and the service clients call other services in-process.
    embedded: bool = False

    @property
    def source(self) -> str:
        """CloudEvents `source` of everything this service publishes."""
        return f"/{self.city}/{self.service}"

    def queue_name(self, suffix: str = "events") -> str:
        return f"{self.queue_prefix}{self.service}.{suffix}"

    def with_service(self, service: str, **changes) -> Settings:
        return dataclasses.replace(self, service=service, **changes)


def _database_url(service: str, env) -> str:
    specific = env.get(f"GUANJIA_{service.upper()}_DATABASE_URL")
    if specific:
        return specific
    # One template for every service: "postgresql+psycopg://u@h/guanjia_{service}".
    template = env.get("GUANJIA_DATABASE_URL", f"sqlite:///{var_dir(env)}/{{service}}.db")
    return template.format(service=service)


def _service_urls(env) -> dict:
    urls = {}
    for name, port in SERVICE_PORTS.items():
        urls[name] = env.get(f"GUANJIA_{name.upper()}_URL", f"http://127.0.0.1:{port}")
    return urls


def local_jwt_secret(var_dir: Path, name: str = "jwt.key") -> str:
    """The embedded default: a random key generated on first run and kept under var/."""
    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def from_env(service: str, env=None) -> Settings:
    """Settings of `service` from GUANJIA_* environment variables (documented in the README)."""
    env = os.environ if env is None else env
    amqp_url = env.get("GUANJIA_AMQP_URL", EMBEDDED_AMQP_URL)
    jwt_secret = env.get("GUANJIA_JWT_SECRET", "")
    if not jwt_secret:
        if amqp_url != EMBEDDED_AMQP_URL:
            raise RuntimeError("GUANJIA_JWT_SECRET must be set outside embedded mode")
        jwt_secret = local_jwt_secret(var_dir(env))
    pii_key = env.get("GUANJIA_PII_KEY", "")
    if not pii_key:
        if amqp_url != EMBEDDED_AMQP_URL:
            raise RuntimeError("GUANJIA_PII_KEY must be set outside embedded mode")
        pii_key = local_jwt_secret(var_dir(env), "pii.key")
    delays = env.get("GUANJIA_RETRY_DELAYS_MS")
    return Settings(
        service=service,
        database_url=_database_url(service, env),
        amqp_url=amqp_url,
        city=env.get("GUANJIA_CITY", "demo"),
        timezone=env.get("GUANJIA_TIMEZONE", "Asia/Shanghai"),
        exchange=env.get("GUANJIA_EXCHANGE", "guanjia.events"),
        queue_prefix=env.get("GUANJIA_QUEUE_PREFIX", ""),
        jwt_secret=jwt_secret,
        jwt_issuer=env.get("GUANJIA_JWT_ISSUER", "guanjia"),
        jwt_audience=env.get("GUANJIA_JWT_AUDIENCE", "guanjia"),
        token_ttl_seconds=int(env.get("GUANJIA_TOKEN_TTL_SECONDS", "3600")),
        service_urls=_service_urls(env),
        max_body_bytes=int(env.get("GUANJIA_MAX_BODY_BYTES", str(1024 * 1024))),
        sms_signature=env.get("GUANJIA_SMS_SIGNATURE", "管家物业"),
        sms_provider=env.get("GUANJIA_SMS_PROVIDER", "console"),
        pii_key=pii_key,
        admin_password=env.get("GUANJIA_ADMIN_PASSWORD") or None,
        relay_poll_seconds=float(env.get("GUANJIA_RELAY_POLL_SECONDS", "5")),
        retry_delays_ms=tuple(int(d) for d in delays.split(",")) if delays else (1000, 5000, 30000),
        log_level=env.get("GUANJIA_LOG_LEVEL", "INFO"),
        embedded=amqp_url == EMBEDDED_AMQP_URL,
    )


def var_dir(env=None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get("GUANJIA_VAR_DIR", "var"))
