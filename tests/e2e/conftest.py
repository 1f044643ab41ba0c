"""Whole-system fixtures: the embedded stack (threads, SQLite, memory://) and the distributed one (processes)."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from guanjia.testing import free_port_block

ADMIN_PASSWORD = "e2e-admin-password-1"


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
    """Community → building → unit → resident (moved in) → a gateway login for that resident."""
    label = label or uuid.uuid4().hex[:6]
    community = admin.created("/api/v1/communities", {"name": f"测试小区 {label}"})
    building = admin.created("/api/v1/buildings", {"community_id": community["id"], "name": "1栋"})
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
    """Poll the delivery log until `expected` deliveries for `subject` exist; return them."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get("/api/v1/notifications", params={"subject": subject, "page_size": 100})
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        if len(items) >= expected:
            return items
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(items)} notifications for {subject} after {timeout}s, expected {expected}")
        time.sleep(0.1)


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
    }
    stack = EmbeddedStack(env=env, port=0).start()
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def distributed_stack(infra, tmp_path_factory):
    from guanjia.stack import DistributedStack

    env = infra.stack_env(
        "e2e", GUANJIA_ADMIN_PASSWORD=ADMIN_PASSWORD, GUANJIA_VAR_DIR=str(tmp_path_factory.mktemp("distributed-var"))
    )
    stack = DistributedStack(
        env=env, port=free_port_block(5), web_workers=1, log_dir=tmp_path_factory.mktemp("distributed-logs")
    ).start()
    yield stack
    stack.stop()


@pytest.fixture(params=["embedded", "distributed"])
def stack(request):
    return request.getfixturevalue(f"{request.param}_stack")


@pytest.fixture
def admin(stack) -> Client:
    return Client(stack.url).login("admin", ADMIN_PASSWORD)
