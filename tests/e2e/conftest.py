"""Whole-system fixtures: the embedded stack (threads, SQLite, memory://) and the distributed one (processes)."""

from __future__ import annotations

import time
import uuid
from contextlib import contextmanager

import pytest
import requests

from guanjia.stack import STACK_SERVICES
from guanjia.testing import TEST_RATE_LIMITS_ENV, TEST_SMS_LIMITS_ENV, free_port_block

ADMIN_PASSWORD = "e2e-admin-password-1"
# Billing verifies the payment provider's callbacks with it; each stack's fake provider signs with it.
CALLBACK_SECRET = "e2e-callback-secret-1"


class Client:
    """Talks to the gateway exactly as an outside client would."""

    def __init__(self, base_url: str, token: str | None = None):
        self.base_url = base_url
        self.http = requests.Session()
        self.token = token

    def login(self, username: str, password: str) -> Client:
        response = self.http.post(
            f"{self.base_url}/api/v1/auth/token", json={"username": username, "password": password}, timeout=10
        )
        assert response.status_code == 200, response.text
        return Client(self.base_url, response.json()["access_token"])

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return self.http.request(method, f"{self.base_url}{path}", headers=headers, timeout=15, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def created(self, path: str, body: dict) -> dict:
        response = self.post(path, json=body)
        assert response.status_code in (200, 201), f"{path}: {response.status_code} {response.text}"
        return response.json()


def make_household(admin: Client, label: str | None = None) -> dict:
    """Community → zone → building → unit → resident (moved in) → a gateway login for that resident."""
    label = label or uuid.uuid4().hex[:6]
    community = admin.created("/api/v1/communities", {"name": f"测试小区 {label}"})
    zone = admin.created("/api/v1/zones", {"community_id": community["id"], "name": "一区"})
    building = admin.created(
        "/api/v1/buildings", {"community_id": community["id"], "name": "1栋", "zone_id": zone["id"]}
    )
    unit = admin.created(
        "/api/v1/units", {"building_id": building["id"], "number": "1-101", "floor": 1, "area_m2": "89.50"}
    )
    resident = admin.created(
        "/api/v1/residents", {"unit_id": unit["id"], "name": "张三", "phone": "13800138000", "role": "owner"}
    )
    moved = admin.post(f"/api/v1/units/{unit['id']}/move-in", json={"resident_id": resident["id"]})
    assert moved.status_code in (200, 201), moved.text
    username, password = f"res-{label}", "resident-password-1"
    admin.created(
        "/api/v1/users",
        {
            "username": username,
            "password": password,
            "role": "resident",
            "resident_id": resident["id"],
            "units": [unit["id"]],
            "communities": [community["id"]],
        },
    )
    return {
        "community": community,
        "building": building,
        "unit": unit,
        "resident": resident,
        "login": (username, password),
    }


def wait_for_notifications(client: Client, subject: str, expected: int = 1, timeout: float = 30.0) -> list[dict]:
    """Poll the delivery log until `expected` deliveries for `subject` exist and are settled; return them.

    A delivery row is written first (pending) and the SMS goes out right after: wait for its final status."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get("/api/v1/notifications", params={"subject": subject, "page_size": 100})
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        if len(items) >= expected and all(item["status"] not in ("pending", "sending") for item in items):
            return items
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(items)} notifications for {subject} after {timeout}s, expected {expected}")
        time.sleep(0.1)


@contextmanager
def paying(env: dict):
    """A fake payment provider (guanjia.fakepay, a real local HTTP server that signs its callback) for one stack:
    the workbench opens residents' orders there and billing verifies its callbacks. Yields `attach(stack)`, which
    points the provider's callback at the stack's gateway and keeps the provider as `stack.fakepay`."""
    from guanjia.fakepay import FakePaymentProvider

    provider = FakePaymentProvider(notify_url="", secret=CALLBACK_SECRET).start()
    env.update(GUANJIA_PAYMENT_PROVIDER_URL=provider.url, GUANJIA_BILLING_CALLBACK_SECRET=CALLBACK_SECRET)

    def attach(stack):
        provider.notify_url = stack.url + "/api/v1/payments/callback"
        stack.fakepay = provider
        return stack

    try:
        yield attach
    finally:
        provider.stop()


@pytest.fixture(scope="session")
def embedded_stack(tmp_path_factory):
    from guanjia.stack import EmbeddedStack

    var = tmp_path_factory.mktemp("embedded-var")
    env = {
        "GUANJIA_VAR_DIR": str(var),
        "GUANJIA_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "GUANJIA_CITY": "testcity",
        "GUANJIA_QUEUE_PREFIX": f"e2e{uuid.uuid4().hex[:6]}.",
        "GUANJIA_RETRY_DELAYS_MS": "200,400,800",
        "GUANJIA_RATE_LIMITS": TEST_RATE_LIMITS_ENV,  # many sign-ins a minute from 127.0.0.1
        **TEST_SMS_LIMITS_ENV,  # many receipts a minute to one resident
    }
    with paying(env) as attach:
        stack = attach(EmbeddedStack(env=env, port=0).start())
        yield stack
        stack.stop()


@pytest.fixture(scope="session")
def distributed_stack(infra, tmp_path_factory):
    from guanjia.stack import DistributedStack

    env = infra.stack_env(
        "e2e", GUANJIA_ADMIN_PASSWORD=ADMIN_PASSWORD, GUANJIA_VAR_DIR=str(tmp_path_factory.mktemp("distributed-var"))
    )
    with paying(env) as attach:
        stack = DistributedStack(
            env=env,
            port=free_port_block(len(STACK_SERVICES)),
            web_workers=1,
            log_dir=tmp_path_factory.mktemp("distributed-logs"),
        )
        stack = attach(stack.start())
        yield stack
        stack.stop()


@pytest.fixture(scope="session")
def browser():
    """One headless chromium for the whole session (the workbench's tests; see tests/e2e/browser.py)."""
    from .browser import start_browser, stop_browser

    driver = start_browser()
    yield driver
    stop_browser(driver)


@pytest.fixture(params=["embedded", "distributed"])
def stack(request):
    return request.getfixturevalue(f"{request.param}_stack")


@pytest.fixture
def sms_codes(stack, request):
    """The sign-in codes the console SMS provider texted: its log read in-process (embedded) or from the
    notifications processes' log files (distributed)."""
    from guanjia.stack import DistributedStack
    from guanjia.testing import LoggedSmsCodes

    if isinstance(stack, DistributedStack):
        return LoggedSmsCodes(stack.log_dir)
    return request.getfixturevalue("console_sms_codes")


@pytest.fixture
def admin(stack) -> Client:
    return Client(stack.url).login("admin", ADMIN_PASSWORD)


# --- a city as deployed: its own broker vhost, one broker user per service, replicas ---------------------


class BrokerCity:
    """A RabbitMQ vhost with the users and permissions of deploy/rabbitmq/definitions.json (names prefixed)."""

    def __init__(self, amqp_server_url: str):
        import json
        import shutil
        from pathlib import Path
        from urllib.parse import urlparse

        self.rabbitmqctl = shutil.which("rabbitmqctl")
        if not self.rabbitmqctl:
            pytest.fail("rabbitmqctl is needed to create the city's broker users (it ships with rabbitmq-server)")
        definitions = json.loads((Path(__file__).resolve().parents[2] / "deploy/rabbitmq/definitions.json").read_text())
        tag = uuid.uuid4().hex[:8]
        self.vhost = f"guanjia-e2e-{tag}"
        self.users = {p["user"]: f"e2e{tag}-{p['user']}" for p in definitions["permissions"] if p["user"] != "guanjia"}
        self.passwords = {name: f"pw-{uuid.uuid4().hex[:12]}" for name in self.users}
        server = urlparse(amqp_server_url)
        self.host = f"{server.hostname}:{server.port or 5672}"
        self.admin_url = f"amqp://{server.username}:{server.password}@{self.host}/{self.vhost}"
        imported = {
            "vhosts": [{"name": self.vhost}],
            "users": [{"name": self.users[name], "password": self.passwords[name], "tags": ""} for name in self.users],
            "permissions": [
                {**p, "user": self.users[p["user"]], "vhost": self.vhost}
                for p in definitions["permissions"]
                if p["user"] in self.users
            ]
            # The tests' own observer (EventRecorder) uses the server's admin account on this vhost.
            + [{"user": server.username, "vhost": self.vhost, "configure": ".*", "write": ".*", "read": ".*"}],
        }
        path = Path(f"/tmp/guanjia-e2e-{tag}.json")
        path.write_text(json.dumps(imported))
        try:
            self._ctl("import_definitions", str(path))
        finally:
            path.unlink()

    def _ctl(self, *args: str) -> None:
        import subprocess

        result = subprocess.run([self.rabbitmqctl, "-q", *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"rabbitmqctl {' '.join(args)}: {result.stdout}{result.stderr}"

    def url(self, role: str) -> str:
        """AMQP URL of `role` ("tickets", "integrator", ...) on the city's vhost."""
        return f"amqp://{self.users[role]}:{self.passwords[role]}@{self.host}/{self.vhost}"

    def service_env(self) -> dict:
        return {f"GUANJIA_{name.upper()}_AMQP_URL": self.url(name) for name in self.users if name != "integrator"}

    def close(self) -> None:
        self._ctl("delete_vhost", self.vhost)
        for user in self.users.values():
            self._ctl("delete_user", user)


@pytest.fixture(scope="session")
def broker_city(amqp_server_url):
    city = BrokerCity(amqp_server_url)
    yield city
    city.close()


@pytest.fixture(scope="session")
def scaled_stack(infra, broker_city, tmp_path_factory):
    """Two gunicorn replicas and two worker processes per service, each service with its own broker user."""
    from guanjia.stack import DistributedStack

    env = infra.stack_env(
        "scaled",
        GUANJIA_ADMIN_PASSWORD=ADMIN_PASSWORD,
        GUANJIA_VAR_DIR=str(tmp_path_factory.mktemp("scaled-var")),
        GUANJIA_EXCHANGE="guanjia.events",
        GUANJIA_QUEUE_PREFIX="",
        **broker_city.service_env(),
    )
    for attempt in range(3):
        # Another test session may take a port between the check and the bind: a start that lost its port
        # fails fast; take another block.
        stack = DistributedStack(
            env=env,
            port=free_port_block(2 * len(STACK_SERVICES)),
            web_workers=1,
            web_replicas=2,
            worker_replicas=2,
            log_dir=tmp_path_factory.mktemp("scaled-logs"),
        )
        try:
            stack.start()
            break
        except RuntimeError:
            if attempt == 2:
                raise
    yield stack
    stack.stop()


def approved_renovation(admin: Client, household: dict) -> str:
    """A renovation of the household's unit, reviewed and approved (by the admin); its base path."""
    from datetime import datetime, timedelta, timezone

    today = datetime.now(timezone(timedelta(hours=8))).date()
    renovation = admin.created(
        "/api/v1/renovations",
        {
            "unit_id": household["unit"]["id"],
            "applicant_id": household["resident"]["id"],
            "contractor": {"name": "好家装饰", "phone": "13900139500", "licence": "沪装2026-001"},
            "items": [{"description": "厨房改造", "structural": False}],
            "planned_start": (today + timedelta(days=1)).isoformat(),
            "planned_end": (today + timedelta(days=30)).isoformat(),
        },
    )
    base = f"/api/v1/renovations/{renovation['id']}"
    assert admin.post(f"{base}/review", json={"passed": True, "notes": "方案可行"}).status_code == 200
    approved = admin.post(f"{base}/approve")
    assert approved.status_code == 200, approved.text
    return base
