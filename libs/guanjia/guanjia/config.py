"""The infrastructure settings every service shares, read from the environment (GUANJIA_*); a service's own
settings are its `config.py`, read from the same variables (`Settings.env`)."""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

SERVICE_PORTS = {
    "gateway": 8000,
    "residents": 8001,
    "tickets": 8002,
    "billing": 8003,
    "notifications": 8004,
    "workbench": 8005,
    "staff": 8007,
    "community": 8006,
}
EMBEDDED_AMQP_URL = "memory://"
# Services that sign and verify no token and hold no personal data (the workbench only forwards people's
# tokens to the gateway): they need neither the signing keys nor the PII key.
KEYLESS_SERVICES = frozenset(["workbench"])


@dataclasses.dataclass(frozen=True)
class Settings:
    """The infrastructure a service needs to start; build with from_env() or directly in tests.

    What serves one service alone is that service's own typed settings (`<service>/config.py`, `from_env(env)`),
    read from `env`: the variables this instance was configured from (None: os.environ), so that an embedded stack
    configured from a mapping never touches os.environ."""

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
    service_urls: dict = dataclasses.field(default_factory=dict)
    max_body_bytes: int = 1024 * 1024
    # Uploaded files (ticket photos) have their own limit: a phone photo is larger than any JSON body (tickets
    # refuses larger files, the gateway lets a multipart body that large through).
    max_upload_bytes: int = 10 * 1024 * 1024
    # Bearer token that /metrics asks for (GUANJIA_METRICS_TOKEN); the gateway never serves /metrics without one.
    metrics_token: str = ""
    # Key for personal data encrypted at rest (ID-card numbers); generated into var/ when embedded.
    pii_key: str = ""
    relay_poll_seconds: float = 5.0
    # Events the consumer applies in one transaction (each in its own savepoint), acked after the one commit.
    consumer_batch: int = 50
    retry_delays_ms: tuple = (1000, 5000, 30000)
    # Failed publishes (broker nacks) after which the relay sets an outbox row aside (`guanjia outbox dead`).
    outbox_max_attempts: int = 5
    log_level: str = "INFO"
    # In embedded mode the gateway and the service clients call other services in-process.
    embedded: bool = False
    # Not compared nor printed: it holds every secret variable too.
    env: Mapping | None = dataclasses.field(default=None, repr=False, compare=False)

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


# Every variable that may hold a secret; each also has a GUANJIA_X_FILE variant naming a file that holds the value
# (Kubernetes secrets and Compose secrets are mounted as files). GUANJIA_SMS_* provider keys are read the same way.
SECRET_VARIABLES = (
    "GUANJIA_JWT_PRIVATE_KEY",
    "GUANJIA_JWT_PUBLIC_KEYS",
    "GUANJIA_SERVICE_KEY",
    "GUANJIA_PII_KEY",
    "GUANJIA_ADMIN_PASSWORD",
    "GUANJIA_BILLING_CALLBACK_SECRET",
    "GUANJIA_DATABASE_URL",
    "GUANJIA_AMQP_URL",
    "GUANJIA_REDIS_URL",
)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(RuntimeError):
    """One or more settings are missing or bad; each problem names its variable and what it accepts."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = list(problems)


def secret(name: str, env=None, default: str = "") -> str:
    """GUANJIA_X, or the contents of the file named by GUANJIA_X_FILE (secrets mounted as files); else `default`."""
    env = os.environ if env is None else env
    value = env.get(name, "")
    path = env.get(f"{name}_FILE")
    if not value and path:
        try:
            value = Path(path).read_text()
        except OSError as exc:
            raise ConfigError([f"{name}_FILE: cannot read {path} ({exc.strerror or exc.__class__.__name__})"]) from None
    return value.strip() or default


class Reader:
    """Reads typed values, collecting every problem instead of stopping at the first (guanjia config check);
    the services' own settings read theirs with it too (`done()` raises the ConfigError)."""

    def __init__(self, env):
        self.env = env
        self.problems: list[str] = []

    def text(self, name: str, default: str = "") -> str:
        return self.env.get(name, default)

    def integer(self, name: str, default: int, what: str = "a whole number", minimum: int | None = 0) -> int:
        raw = self.env.get(name)
        if raw is None or raw.strip() == "":
            return default
        try:
            value = int(raw.strip())
        except ValueError:
            self.problems.append(f"{name}: {what} (got {raw!r})")
            return default
        if minimum is not None and value < minimum:
            self.problems.append(f"{name}: {what}, at least {minimum} (got {raw!r})")
            return default
        return value

    def number(self, name: str, default: float, what: str) -> float:
        raw = self.env.get(name)
        if raw is None or raw.strip() == "":
            return default
        try:
            value = float(raw)
        except ValueError:
            self.problems.append(f"{name}: {what} (got {raw!r})")
            return default
        if value <= 0:
            self.problems.append(f"{name}: {what}, more than 0 (got {raw!r})")
            return default
        return value

    def choice(self, name: str, default: str, allowed, transform=str) -> str:
        raw = self.env.get(name)
        if raw is None or raw.strip() == "":
            return default
        value = transform(raw.strip())
        if value not in allowed:
            self.problems.append(f"{name}: one of {', '.join(allowed)} (got {raw!r})")
            return default
        return value

    def timezone(self, name: str, default: str) -> str:
        from zoneinfo import ZoneInfo

        value = self.env.get(name) or default
        try:
            ZoneInfo(value)
        except (ValueError, KeyError, OSError):
            self.problems.append(f"{name}: an IANA time zone such as Asia/Shanghai (got {value!r})")
            return default
        return value

    def secret(self, name: str) -> str:
        try:
            return secret(name, self.env)
        except ConfigError as exc:
            self.problems.extend(exc.problems)
            return ""

    def done(self) -> None:
        """Raise ConfigError naming every problem met, if any."""
        if self.problems:
            raise ConfigError(self.problems)


def _retry_delays(reader: Reader) -> tuple:
    raw = reader.env.get("GUANJIA_RETRY_DELAYS_MS")
    if not raw:
        return (1000, 5000, 30000)
    try:
        delays = tuple(int(d) for d in raw.split(","))
    except ValueError:
        reader.problems.append(
            f"GUANJIA_RETRY_DELAYS_MS: comma-separated whole milliseconds such as 1000,5000 (got {raw!r})"
        )
        return (1000, 5000, 30000)
    return delays


def _amqp_url(service: str, read: Reader) -> str:
    # One broker user per service: GUANJIA_<SERVICE>_AMQP_URL, or "{service}" in the shared template.
    amqp_template = read.secret("GUANJIA_AMQP_URL") or EMBEDDED_AMQP_URL
    return read.secret(f"GUANJIA_{service.upper()}_AMQP_URL") or amqp_template.replace("{service}", service)


def is_embedded(service: str, env=None) -> bool:
    """Whether `service` runs embedded (no broker configured): its keys are then generated into var/."""
    return _amqp_url(service, Reader(os.environ if env is None else env)) == EMBEDDED_AMQP_URL


def from_env(service: str, env=None) -> Settings:
    """Settings of `service` from GUANJIA_* environment variables (documented in the README).

    Raises ConfigError naming every missing or bad variable at once (what `guanjia config check` prints)."""
    given = env
    env = os.environ if env is None else env
    read = Reader(env)
    amqp_url = _amqp_url(service, read)
    embedded = amqp_url == EMBEDDED_AMQP_URL
    jwt_private_key = read.secret("GUANJIA_JWT_PRIVATE_KEY")
    service_key = read.secret("GUANJIA_SERVICE_KEY")
    pii_key = read.secret("GUANJIA_PII_KEY")
    if service in KEYLESS_SERVICES:
        pass
    elif embedded:
        jwt_private_key = jwt_private_key or local_signing_key(var_dir(env), "jwt-signing.key")
        service_key = service_key or local_signing_key(var_dir(env), "service-signing.key")
        pii_key = pii_key or local_jwt_secret(var_dir(env), "pii.key")
    else:
        if not service_key:
            read.problems.append("GUANJIA_SERVICE_KEY must be set outside embedded mode (or GUANJIA_SERVICE_KEY_FILE)")
        if service == "gateway" and not jwt_private_key:
            read.problems.append(
                "GUANJIA_JWT_PRIVATE_KEY must be set for the gateway outside embedded mode (or GUANJIA_JWT_PRIVATE_KEY_FILE)"
            )
        if not pii_key:
            read.problems.append("GUANJIA_PII_KEY must be set outside embedded mode (or GUANJIA_PII_KEY_FILE)")
    database_template = read.secret("GUANJIA_DATABASE_URL")
    database_env = {**env, "GUANJIA_DATABASE_URL": database_template} if database_template else env
    specific_db = read.secret(f"GUANJIA_{service.upper()}_DATABASE_URL")
    if specific_db:
        database_env = {**database_env, f"GUANJIA_{service.upper()}_DATABASE_URL": specific_db}
    seconds = "a whole number of seconds"
    settings = Settings(
        service=service,
        database_url=_database_url(service, database_env),
        amqp_url=amqp_url,
        city=env.get("GUANJIA_CITY", "demo"),
        timezone=read.timezone("GUANJIA_TIMEZONE", "Asia/Shanghai"),
        exchange=env.get("GUANJIA_EXCHANGE", "guanjia.events"),
        queue_prefix=env.get("GUANJIA_QUEUE_PREFIX", ""),
        jwt_private_key=jwt_private_key,
        jwt_public_keys=_split_public_keys(read.secret("GUANJIA_JWT_PUBLIC_KEYS")),
        service_key=service_key,
        jwt_issuer=env.get("GUANJIA_JWT_ISSUER", "guanjia"),
        jwt_audience=env.get("GUANJIA_JWT_AUDIENCE", "guanjia"),
        token_ttl_seconds=read.integer("GUANJIA_TOKEN_TTL_SECONDS", 600, seconds, minimum=1),
        service_urls=_service_urls(env),
        max_body_bytes=read.integer("GUANJIA_MAX_BODY_BYTES", 1024 * 1024, "a whole number of bytes", minimum=1),
        max_upload_bytes=read.integer(
            "GUANJIA_MAX_UPLOAD_BYTES", 10 * 1024 * 1024, "a whole number of bytes", minimum=1
        ),
        metrics_token=read.secret("GUANJIA_METRICS_TOKEN"),
        pii_key=pii_key,
        relay_poll_seconds=read.number("GUANJIA_RELAY_POLL_SECONDS", 5.0, "a number of seconds"),
        consumer_batch=read.integer("GUANJIA_CONSUMER_BATCH", 50, "a whole number of events", minimum=1),
        retry_delays_ms=_retry_delays(read),
        outbox_max_attempts=read.integer("GUANJIA_OUTBOX_MAX_ATTEMPTS", 5, "a whole number of attempts", minimum=1),
        log_level=read.choice("GUANJIA_LOG_LEVEL", "INFO", LOG_LEVELS, str.upper),
        embedded=embedded,
        env=None if given is None else dict(given),
    )
    if read.problems:
        raise ConfigError(read.problems)
    return settings


def problems_of(own_settings, env) -> list[str]:
    """What `own_settings(env)` (a service's config.from_env) finds wrong, for `guanjia config check`."""
    if own_settings is None:
        return []
    try:
        own_settings(env)
    except ConfigError as exc:
        return exc.problems
    except RuntimeError as exc:
        return [str(exc)]
    return []


def log_level(env=None) -> str:
    """GUANJIA_LOG_LEVEL alone (INFO by default), checked like from_env() checks it."""
    read = Reader(os.environ if env is None else env)
    level = read.choice("GUANJIA_LOG_LEVEL", "INFO", LOG_LEVELS, str.upper)
    if read.problems:
        raise ConfigError(read.problems)
    return level


def with_secret_files(env, prefix: str) -> dict:
    """The variables of `env` named `prefix`..., each GUANJIA_X_FILE read into GUANJIA_X when GUANJIA_X is unset:
    a service's own keys mounted as files (GUANJIA_SMS_ALIYUN_ACCESS_KEY_SECRET_FILE, ...). ConfigError names an
    unreadable file."""
    read = Reader(env)
    found = {key: value for key, value in env.items() if key.startswith(prefix) and not key.endswith("_FILE")}
    for key in env:
        if key.startswith(prefix) and key.endswith("_FILE"):
            name = key.removesuffix("_FILE")
            if not found.get(name):
                found[name] = read.secret(name)
    read.done()
    return found


def _split_public_keys(text: str) -> tuple:
    from .auth import split_public_keys

    return split_public_keys(text)


def var_dir(env=None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get("GUANJIA_VAR_DIR", "var"))
