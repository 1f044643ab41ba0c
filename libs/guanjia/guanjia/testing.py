"""pytest plugin: real PostgreSQL/RabbitMQ (env → local port → testcontainers), per-session isolation, helpers.

Loaded by the repository's root conftest.py (`pytest_plugins = ["guanjia.testing"]`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from urllib.parse import urlparse

import pytest

from . import events
from .auth import Principal, issue_token
from .config import Settings

# Ed25519 seeds (base64url), fixed so that every process of a test session signs and verifies alike. Test-only.
TEST_JWT_PRIVATE_KEY = "JNBTdRhaTMsOk0J4rn21Ae6go1rldDYzE2a7FPyLmrg"
TEST_SERVICE_KEY = "BGbuwWpylEDi1vL3zC-TaMddydvdYydTIlBkW_Dbno0"
# Tests sign in many times a minute from 127.0.0.1: generous limits unless a test sets its own.
TEST_RATE_LIMITS = {
    "login": (100_000, 60),
    "code_ip": (100_000, 3600),
    "code_phone": (100_000, 3600),
    "code_verify": (100_000, 600),
    "api": (1_000_000, 60),
    "api_key": (1_000_000, 60),
}
# Whole-system tests send one resident many receipts a minute; the per-recipient caps have their own tests.
TEST_SMS_LIMITS_ENV = {"GUANJIA_SMS_RECIPIENT_PER_MINUTE": "1000", "GUANJIA_SMS_RECIPIENT_PER_DAY": "100000"}
# The same, as GUANJIA_RATE_LIMITS for whole stacks started by the tests (embedded and distributed).
TEST_RATE_LIMITS_ENV = ",".join(f"{name}={count}/{seconds}" for name, (count, seconds) in TEST_RATE_LIMITS.items())
TEST_PII_KEY = "test-pii-key-not-for-production-0123456789"


def free_port_block(count: int = 5) -> int:
    """The first of `count` consecutive free local ports for servers the tests start (a stack needs five).

    Taken below the kernel's ephemeral range: outgoing connections (hundreds while the suites run) take ports
    inside it at any moment, so a port found free there may be gone by the time a server binds it."""
    import random
    from pathlib import Path

    range_file = Path("/proc/sys/net/ipv4/ip_local_port_range")
    low = int(range_file.read_text().split()[0]) if range_file.exists() else 32768
    for _ in range(100):
        base = random.randrange(20000, max(20001, low - count))
        try:
            for port in range(base, base + count):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free block of ports")


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _docker_available() -> bool:
    return shutil.which("docker") is not None and os.path.exists("/var/run/docker.sock")


def _unavailable(what: str) -> None:
    reason = f"{what} not available: set GUANJIA_TEST_{what.upper()}_URL, run it locally, or install Docker"
    if os.environ.get("GUANJIA_REQUIRE_INFRA") == "1":
        pytest.fail(f"GUANJIA_REQUIRE_INFRA=1 and {reason}", pytrace=False)
    pytest.skip(f"!!! SKIPPED: {reason}")


@pytest.fixture(scope="session")
def postgres_server_url():
    """Base URL of a PostgreSQL server (no database name) the tests may create databases on."""
    url = os.environ.get("GUANJIA_TEST_DATABASE_URL")
    if url:
        yield url
        return
    if _port_open("127.0.0.1", 5432):
        user = os.environ.get("PGUSER", "postgres")
        yield f"postgresql+psycopg://{user}@127.0.0.1:5432/postgres"
        return
    if _docker_available():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver="psycopg") as pg:
            yield pg.get_connection_url()
        return
    _unavailable("database")


@pytest.fixture(scope="session")
def amqp_server_url():
    url = os.environ.get("GUANJIA_TEST_AMQP_URL")
    if url:
        yield url
        return
    if _port_open("127.0.0.1", 5672):
        yield "amqp://guest:guest@127.0.0.1:5672/%2F"
        return
    if _docker_available():
        from testcontainers.rabbitmq import RabbitMqContainer

        with RabbitMqContainer("rabbitmq:3.13-management-alpine") as rabbit:
            params = rabbit.get_connection_params()
            yield f"amqp://guest:guest@{params.host}:{params.port}//"
        return
    _unavailable("amqp")


class Infra:
    """One test session's slice of the real servers: its own databases and exchange/queue prefix."""

    def __init__(self, pg_url: str, amqp_url: str):
        self.pg_url = pg_url
        self.amqp_url = amqp_url
        self.prefix = f"t{uuid.uuid4().hex[:8]}"
        self._databases: dict[str, str] = {}
        self._lock = threading.Lock()

    def database_url(self, name: str) -> str:
        from sqlalchemy.engine import make_url

        return make_url(self.pg_url).set(database=f"guanjia_{self.prefix}_{name}").render_as_string(hide_password=False)

    def settings(self, service: str, *, database: str | None = None, **overrides) -> Settings:
        """Settings for `service` on this session's database and exchange; migrations run once."""
        from .db import ensure_postgres_database, upgrade
        from .service import load_specs

        db_name = database or service
        url = self.database_url(db_name)
        with self._lock:
            if db_name not in self._databases:
                ensure_postgres_database(url)
                spec = load_specs().get(service)
                if spec is not None:
                    upgrade(url, spec.migrations_dir)
                self._databases[db_name] = url
        values = dict(
            service=service,
            database_url=url,
            amqp_url=self.amqp_url,
            city="testcity",
            exchange=f"{self.prefix}.guanjia.events",
            queue_prefix=f"{self.prefix}.",
            jwt_private_key=TEST_JWT_PRIVATE_KEY,
            service_key=TEST_SERVICE_KEY,
            pii_key=TEST_PII_KEY,
            retry_delays_ms=(200, 400),
            relay_poll_seconds=1.0,
        )
        if service == "gateway":
            # The gateway reads its own settings (the rate limits among them) from the variables of Settings.env.
            values["env"] = {"GUANJIA_RATE_LIMITS": TEST_RATE_LIMITS_ENV}
        values.update(overrides)
        return Settings(**values)

    def stack_env(self, name: str, **extra) -> dict:
        """Environment for a whole distributed stack on this session's servers (databases dropped at the end)."""
        from .service import load_specs

        for service in load_specs():
            self._databases[f"{name}_{service}"] = self.database_url(f"{name}_{service}")
        template = self.database_url(f"{name}_SERVICE").replace("_SERVICE", "_{service}")
        env = {k: v for k, v in os.environ.items() if not k.startswith("GUANJIA_")}
        env.update(
            {
                "GUANJIA_DATABASE_URL": template,
                "GUANJIA_AMQP_URL": self.amqp_url,
                "GUANJIA_CITY": "testcity",
                "GUANJIA_EXCHANGE": f"{self.prefix}.{name}.guanjia.events",
                "GUANJIA_QUEUE_PREFIX": f"{self.prefix}.{name}.",
                "GUANJIA_JWT_PRIVATE_KEY": TEST_JWT_PRIVATE_KEY,
                "GUANJIA_SERVICE_KEY": TEST_SERVICE_KEY,
                # The e2e suites sign in many times a minute from one address; the limits get their own tests.
                "GUANJIA_RATE_LIMITS": TEST_RATE_LIMITS_ENV,
                "GUANJIA_REDIS_URL": "redis://127.0.0.1:6379/0",
                "GUANJIA_PII_KEY": TEST_PII_KEY,
                "GUANJIA_RETRY_DELAYS_MS": "200,400,800",
                "GUANJIA_RELAY_POLL_SECONDS": "1",
                **TEST_SMS_LIMITS_ENV,
            }
        )
        env.update(extra)
        return env

    def cleanup(self) -> None:
        from .db import drop_postgres_database

        for url in self._databases.values():
            try:
                drop_postgres_database(url)
            except Exception:
                pass
        _delete_broker_objects(self.amqp_url, self.prefix)


def _delete_broker_objects(amqp_url: str, prefix: str) -> None:
    """Delete this session's exchanges and queues (names start with the prefix)."""
    import subprocess

    try:
        out = subprocess.run(
            ["rabbitmqctl", "-q", "list_queues", "name"], capture_output=True, text=True, timeout=30
        ).stdout
        queues = [q.strip() for q in out.splitlines() if q.strip().startswith(prefix)]
        out = subprocess.run(
            ["rabbitmqctl", "-q", "list_exchanges", "name"], capture_output=True, text=True, timeout=30
        ).stdout
        exchanges = [e.strip() for e in out.splitlines() if e.strip().startswith(prefix)]
    except Exception:
        return
    import pika

    try:
        conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
        channel = conn.channel()
        for q in queues:
            channel.queue_delete(q)
        for e in exchanges:
            channel.exchange_delete(e)
        conn.close()
    except Exception:
        pass


def _published_schemas() -> dict:
    """Every service's published event schemas by type (`<service>.events.PUBLISHED`)."""
    from .service import load_specs

    found = {}
    for name in load_specs():
        found.update(events.published(name))
    return found


@pytest.fixture(scope="session", autouse=True)
def every_written_payload_is_checked():
    """Each event written to an outbox, through any path, is a valid CloudEvent whose data its producer's
    published schema accepts (issue 20: billing's payloads were never checked when written)."""
    from . import outbox

    schemas = _published_schemas()

    def check(event_dict: dict) -> None:
        events.validate(event_dict)
        schema = schemas.get(event_dict["type"])
        if schema is None:
            return  # a library test's own event type
        errors = schema().validate(event_dict["data"])
        if errors:
            raise AssertionError(f"{event_dict['type']} payload does not match its published schema: {errors}")

    outbox.payload_check = check
    yield
    outbox.payload_check = None


@pytest.fixture(scope="session")
def infra(postgres_server_url, amqp_server_url):
    session_infra = Infra(postgres_server_url, amqp_server_url)
    yield session_infra
    session_infra.cleanup()


def token_for(settings: Settings, role: str, **scopes) -> str:
    """A signed access token, as the gateway would issue it (signed with the session's test keys)."""
    subject = scopes.pop("subject", f"test-{role}-{uuid.uuid4().hex[:6]}")
    for key in ("communities", "zones", "units"):
        if key in scopes:
            scopes[key] = tuple(scopes[key])
    return issue_token(settings, Principal(subject=subject, role=role, **scopes))


def auth_header(settings: Settings, role: str, **scopes) -> dict:
    return {"Authorization": f"Bearer {token_for(settings, role, **scopes)}"}


class EventRecorder:
    """A real queue bound to the session's exchange that records every event published (`#`)."""

    def __init__(self, settings: Settings, pattern: str = "#"):
        import pika

        self.settings = settings
        params = pika.URLParameters(settings.amqp_url)
        self.conn = pika.BlockingConnection(params)
        self.channel = self.conn.channel()
        from . import bus as busmod

        with busmod.connect(settings) as kconn:
            busmod.declare_topology(kconn.channel(), settings)
        self.queue = f"{settings.queue_prefix}recorder.{uuid.uuid4().hex[:6]}"
        self.channel.queue_declare(self.queue, auto_delete=True, exclusive=True)
        self.channel.queue_bind(self.queue, settings.exchange, routing_key=pattern)
        self.events: list[dict] = []

    def _drain(self) -> None:
        while True:
            method, props, body = self.channel.basic_get(self.queue, auto_ack=True)
            if method is None:
                return
            self.events.append(json.loads(body))

    def wait_for(self, event_type: str, predicate=lambda e: True, timeout: float = 10.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            self._drain()
            for event in self.events:
                if event["type"] == event_type and predicate(event):
                    return event
            if time.monotonic() > deadline:
                raise AssertionError(f"no {event_type} within {timeout}s; saw {[e['type'] for e in self.events]}")
            self.conn.sleep(0.05)

    def of_type(self, event_type: str) -> list[dict]:
        self._drain()
        return [e for e in self.events if e["type"] == event_type]

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:
            pass


class ApiClient:
    """A caller of an instance's public API with one bearer token: `post`/`patch` insist on success and answer the
    JSON, `get` answers the response (tests assert on refusals too)."""

    def __init__(self, base: str, token: str):
        import requests

        self.base, self.http = base, requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def post(self, path: str, body: dict) -> dict:
        response = self.http.post(self.base + path, json=body, timeout=15)
        assert response.status_code in (200, 201), f"{path}: {response.status_code} {response.text}"
        return response.json()

    def patch(self, path: str, body: dict) -> dict:
        response = self.http.patch(self.base + path, json=body, timeout=15)
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
        return response.json()

    def get(self, path: str, **params):
        return self.http.get(self.base + path, params=params, timeout=15)


@contextmanager
def embedded_instance(var_dir, admin_password: str, **env: str):
    """A whole instance in this process (`EmbeddedStack`: every service, the gateway and the workbench) in `var_dir`,
    on queues of its own and with the tests' rate limits; `env` adds or overrides settings."""
    from .stack import EmbeddedStack

    settings = {
        "GUANJIA_VAR_DIR": str(var_dir),
        "GUANJIA_ADMIN_PASSWORD": admin_password,
        "GUANJIA_QUEUE_PREFIX": f"w{uuid.uuid4().hex[:6]}.",
        "GUANJIA_RATE_LIMITS": TEST_RATE_LIMITS_ENV,
        **env,
    }
    stack = EmbeddedStack(env=settings, port=0).start()
    try:
        yield stack
    finally:
        stack.stop()


@contextmanager
def running_worker(service: str, settings: Settings, upstreams: dict | None = None, *, relays: int = 1):
    """Run a service's relay and consumer threads for the duration of the block."""
    from .runtime import Worker, declare_queues
    from .service import load_specs

    spec = load_specs()[service]
    if spec.handlers:
        declare_queues(spec, settings)
    worker = Worker(spec, settings, upstreams, relays=relays).start()
    try:
        yield worker
    finally:
        worker.stop()


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05, message: str = "condition"):
    """Poll `predicate` until it returns a truthy value (for asynchronous effects, never for timing)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} not reached within {timeout}s")
        time.sleep(interval)


def amqp_host_port(amqp_url: str) -> tuple[str, int]:
    parsed = urlparse(amqp_url)
    return parsed.hostname or "127.0.0.1", parsed.port or 5672


# --- what the services' conftest.py files share -------------------------------------------------------------------


def service_database(settings: Settings):
    """A service's `db` fixture: `yield from service_database(<service>_settings)` (disposed after the session)."""
    from .db import Database

    database = Database(settings.database_url)
    yield database
    database.dispose()


def scratch_outbox_and_inbox(infra: Infra, service: str, **overrides):
    """A module fixture of the library's own tests: `yield from scratch_outbox_and_inbox(infra, "libtest")` gives
    (settings, database, tables) — a scratch 'service' with only an outbox and an inbox table on PostgreSQL."""
    from sqlalchemy import MetaData

    from . import inbox, outbox
    from .db import Database, ensure_postgres_database

    settings = infra.settings(service, **overrides)
    ensure_postgres_database(settings.database_url)
    metadata = MetaData()
    tables = {"outbox": outbox.define_outbox(metadata), "inbox": inbox.define_inbox(metadata)}
    database = Database(settings.database_url)
    metadata.create_all(database.engine)
    yield settings, database, tables
    database.dispose()


def installed_app(infra: Infra, service: str, upstreams: dict):
    """The real app of another service on this session's infrastructure; the test skips until it is installed."""
    from .service import load_specs

    spec = load_specs().get(service)
    if spec is None:
        pytest.skip(f"the {service} service is not installed yet: .venv/bin/pip install -e services/{service}")
    return spec.create_app(infra.settings(service), upstreams)


def publish_as(settings: Settings, service: str, *messages: dict) -> None:
    """Publish events on the session's exchange as `service`'s relay would (its own broker identity)."""
    from . import bus

    publisher = bus.Publisher(settings.with_service(service))
    try:
        for message in messages:
            publisher.publish(message)
    finally:
        publisher.close()


def announce(settings: Settings, event_type: str, data: dict, *, community=None, source="residents", time=None) -> dict:
    """Build an event as another service would (a fresh subject of the type's aggregate) and publish it."""
    event = events.build(
        type=event_type,
        source=f"/testcity/{source}",
        subject=f"{event_type.split('.')[0]}/{uuid.uuid4()}",
        city="testcity",
        community=community or data.get("community_id"),
        data=data,
    )
    if time is not None:
        event["time"] = time.isoformat()
    publish_as(settings, source, event)
    return event


def outbox_events(database, outbox, subject: str, event_type: str | None = None) -> list[dict]:
    """The events of `subject` in a service's outbox table, oldest first: what its relay publishes."""
    from sqlalchemy import select

    query = select(outbox.c.payload).order_by(outbox.c.created_at)
    if event_type:
        query = query.where(outbox.c.event_type == event_type)
    with database.transaction() as session:
        rows = [json.loads(payload) for payload in session.execute(query).scalars()]
    return [event for event in rows if event["subject"] == subject]


class SmsCodes:
    """The texts a console SMS provider logged (`lines`, oldest first): `code_for(phone)` waits for the newest
    sign-in code sent to that phone (the log masks it as 137****7001) since line `after`."""

    lines: list[str]

    def code_for(self, phone: str, after: int = 0, timeout: float = 15.0) -> str:
        masked = f"{phone[:3]}****{phone[-4:]}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in reversed(self.lines[after:]):
                found = re.search(r"验证码为(\d{4,10})|sign-in code is (\d{4,10})", line) if masked in line else None
                if found:
                    return found.group(1) or found.group(2)
            time.sleep(0.05)
        raise AssertionError(f"no sign-in code texted to {masked} within {timeout}s")


class ConsoleSmsCodes(logging.Handler, SmsCodes):
    """The texts the console SMS provider logs in this process (embedded stacks)."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


class LoggedSmsCodes(SmsCodes):
    """The texts the console SMS provider logged in a distributed stack's notifications processes, read from their
    JSON log files (`<log_dir>/notifications-*.log`, see guanjia.stack.DistributedStack)."""

    def __init__(self, log_dir):
        from pathlib import Path

        self.log_dir = Path(log_dir)

    @property
    def lines(self) -> list[str]:
        found = []
        for path in sorted(self.log_dir.glob("notifications-*.log")):
            for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    entry = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(entry, dict) and entry.get("logger") == "notifications.sms":
                    found.append((str(entry.get("time", "")), str(entry.get("message", ""))))
        return [message for _, message in sorted(found)]


@pytest.fixture(scope="module")
def console_sms_codes():
    """ConsoleSmsCodes listening to the notifications service's SMS logger for the module's tests."""
    handler = ConsoleSmsCodes()
    logger = logging.getLogger("notifications.sms")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)
