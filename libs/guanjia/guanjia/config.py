"""Typed settings read from the environment (GUANJIA_*), one Settings object per service."""

from __future__ import annotations

import dataclasses
import os
import secrets
from pathlib import Path

SERVICE_PORTS = {
    "gateway": 8000,
    "residents": 8001,
    "tickets": 8002,
    "billing": 8003,
    "notifications": 8004,
    "workbench": 8005,
}
EMBEDDED_AMQP_URL = "memory://"
# Services that sign and verify no token and hold no personal data (the workbench only forwards people's
# tokens to the gateway): they need neither the signing keys nor the PII key.
KEYLESS_SERVICES = frozenset(["workbench"])


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
    # Ed25519 keys (PEM or base64url seed). The user key signs people's tokens (gateway only; other services verify
    # with its public half); extra public keys are accepted too (rotation); the service key signs service tokens.
    jwt_private_key: str = ""
    jwt_public_keys: tuple = ()
    service_key: str = ""
    jwt_issuer: str = "guanjia"
    jwt_audience: str = "guanjia"
    token_ttl_seconds: int = 600
    refresh_ttl_seconds: int = 30 * 24 * 3600
    # Shared rate-limit store of the gateway workers (distributed mode); embedded mode counts in-process.
    redis_url: str = "redis://127.0.0.1:6379/0"
    rate_limits: dict = dataclasses.field(default_factory=dict)
    cors_origins: tuple = ()
    service_urls: dict = dataclasses.field(default_factory=dict)
    max_body_bytes: int = 1024 * 1024
    sms_signature: str = "管家物业"
    sms_provider: str = "console"
    # Key for personal data encrypted at rest (ID-card numbers); generated into var/ when embedded.
    pii_key: str = ""
    # The GUANJIA_SMS_* variables this instance was configured with (read by the notifications service).
    sms_env: dict = dataclasses.field(default_factory=dict)
    admin_password: str | None = None
    relay_poll_seconds: float = 5.0
    retry_delays_ms: tuple = (1000, 5000, 30000)
    log_level: str = "INFO"
    # In embedded mode the gateway and the service clients call other services in-process.
    embedded: bool = False
    # The staff workbench: minutes without a request before a session ends, and the key that signs the
    # sign-in form's CSRF token (generated into var/ when embedded).
    session_idle_minutes: int = 30
    workbench_secret: str = ""

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


def local_jwt_secret(var_dir: Path, name: str = "jwt.key", nbytes: int = 48) -> str:
    """The embedded default: a random key generated on first run and kept under var/."""
    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(nbytes))
        path.chmod(0o600)
    return path.read_text().strip()


def local_signing_key(var_dir: Path, name: str) -> str:
    """An Ed25519 seed (base64url of 32 random bytes) generated on first run and kept under var/."""
    return local_jwt_secret(var_dir, name, nbytes=32)


def _secret(env, name: str) -> str:
    """GUANJIA_X, or the contents of the file named by GUANJIA_X_FILE (Kubernetes secrets mount as files)."""
    value = env.get(name, "")
    if not value and env.get(f"{name}_FILE"):
        value = Path(env[f"{name}_FILE"]).read_text()
    return value.strip()


def _rate_limits(env) -> dict:
    """GUANJIA_RATE_LIMITS="login=20/60,api=600/60": overrides of the gateway's limits (count/seconds)."""
    limits = {}
    for item in (env.get("GUANJIA_RATE_LIMITS") or "").split(","):
        if "=" in item:
            name, _, spec = item.partition("=")
            count, _, seconds = spec.partition("/")
            limits[name.strip()] = (int(count), int(seconds or 60))
    return limits


def from_env(service: str, env=None) -> Settings:
    """Settings of `service` from GUANJIA_* environment variables (documented in the README)."""
    env = os.environ if env is None else env
    # One broker user per service: GUANJIA_<SERVICE>_AMQP_URL, or "{service}" in the shared template.
    amqp_template = env.get("GUANJIA_AMQP_URL", EMBEDDED_AMQP_URL)
    amqp_url = env.get(f"GUANJIA_{service.upper()}_AMQP_URL") or amqp_template.replace("{service}", service)
    embedded = amqp_url == EMBEDDED_AMQP_URL
    jwt_private_key = _secret(env, "GUANJIA_JWT_PRIVATE_KEY")
    service_key = _secret(env, "GUANJIA_SERVICE_KEY")
    if service in KEYLESS_SERVICES:
        pass
    elif embedded:
        jwt_private_key = jwt_private_key or local_signing_key(var_dir(env), "jwt-signing.key")
        service_key = service_key or local_signing_key(var_dir(env), "service-signing.key")
    else:
        if not service_key:
            raise RuntimeError("GUANJIA_SERVICE_KEY must be set outside embedded mode")
        if service == "gateway" and not jwt_private_key:
            raise RuntimeError("GUANJIA_JWT_PRIVATE_KEY must be set for the gateway outside embedded mode")
    pii_key = env.get("GUANJIA_PII_KEY", "")
    if not pii_key and service not in KEYLESS_SERVICES:
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
        jwt_private_key=jwt_private_key,
        jwt_public_keys=_split_public_keys(_secret(env, "GUANJIA_JWT_PUBLIC_KEYS")),
        service_key=service_key,
        jwt_issuer=env.get("GUANJIA_JWT_ISSUER", "guanjia"),
        jwt_audience=env.get("GUANJIA_JWT_AUDIENCE", "guanjia"),
        token_ttl_seconds=int(env.get("GUANJIA_TOKEN_TTL_SECONDS", "600")),
        refresh_ttl_seconds=int(env.get("GUANJIA_REFRESH_TTL_SECONDS", str(30 * 24 * 3600))),
        redis_url=env.get("GUANJIA_REDIS_URL", "redis://127.0.0.1:6379/0"),
        rate_limits=_rate_limits(env),
        cors_origins=tuple(o.strip() for o in env.get("GUANJIA_CORS_ORIGINS", "").split(",") if o.strip()),
        service_urls=_service_urls(env),
        max_body_bytes=int(env.get("GUANJIA_MAX_BODY_BYTES", str(1024 * 1024))),
        sms_signature=env.get("GUANJIA_SMS_SIGNATURE", "管家物业"),
        sms_provider=env.get("GUANJIA_SMS_PROVIDER", "console"),
        pii_key=pii_key,
        sms_env={key: value for key, value in env.items() if key.startswith("GUANJIA_SMS_")},
        admin_password=env.get("GUANJIA_ADMIN_PASSWORD") or None,
        relay_poll_seconds=float(env.get("GUANJIA_RELAY_POLL_SECONDS", "5")),
        retry_delays_ms=tuple(int(d) for d in delays.split(",")) if delays else (1000, 5000, 30000),
        log_level=env.get("GUANJIA_LOG_LEVEL", "INFO"),
        embedded=embedded,
        session_idle_minutes=int(env.get("GUANJIA_SESSION_IDLE_MINUTES", "30")),
        workbench_secret=_secret(env, "GUANJIA_WORKBENCH_SECRET")
        or (local_jwt_secret(var_dir(env), "workbench.key") if embedded and service == "workbench" else ""),
    )


def _split_public_keys(text: str) -> tuple:
    from .auth import split_public_keys

    return split_public_keys(text)


def var_dir(env=None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get("GUANJIA_VAR_DIR", "var"))
