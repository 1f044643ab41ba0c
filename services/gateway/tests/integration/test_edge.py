"""The edge: rate limits with Retry-After, security headers, CORS, audit of sensitive routed actions, routes
found in the services' own documents."""

import json
import random

import pytest

from gateway.app import create_app
from gateway.config import GatewaySettings
from guanjia.http import WsgiUpstream
from guanjia.testing import auth_header


class StubService:
    """A minimal service for what only the gateway decides (which answers get audited, which paths exist)."""

    def __init__(self, paths, extra_headers=()):
        self.paths = paths
        self.extra_headers = list(extra_headers)

    def __call__(self, environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/api/v1/openapi.json":
            body = json.dumps({"openapi": "3.1.0", "info": {"version": "v1"}, "paths": self.paths}).encode()
        else:
            body = json.dumps({"path": path, "method": environ["REQUEST_METHOD"]}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), *self.extra_headers])
        return [body]


def fresh(gateway_settings, **overrides):
    # Its own key prefix: counters never mix with other tests.
    return gateway_settings.with_service("gateway", queue_prefix=f"edge{random.randint(0, 10**9)}.", **overrides)


def test_sign_in_is_rate_limited_per_address_with_retry_after(gateway_settings, create_user):
    limits = GatewaySettings(rate_limits={"login": (3, 60)})
    client = create_app(fresh(gateway_settings), upstreams={}, gateway=limits).test_client()
    body, _ = create_user()
    credentials = {"username": body["username"], "password": body["password"]}
    assert [client.post("/api/v1/auth/token", json=credentials).status_code for _ in range(4)] == [200, 200, 200, 429]
    limited = client.post("/api/v1/auth/token", json=credentials)
    assert limited.status_code == 429 and limited.mimetype == "application/problem+json"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    other = client.post("/api/v1/auth/token", json=credentials, environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 200


def test_the_api_is_rate_limited_per_principal(gateway_settings, tickets_app):
    settings = fresh(gateway_settings)
    limits = GatewaySettings(rate_limits={"api": (3, 60)})
    client = create_app(settings, upstreams={"tickets": WsgiUpstream("tickets", tickets_app)}, gateway=limits)
    client = client.test_client()
    busy = auth_header(settings, "cs_manager", communities=["c-1"])
    calm = auth_header(settings, "cs_manager", communities=["c-1"])
    statuses = [client.get("/api/v1/tickets", headers=busy).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert client.get("/api/v1/tickets", headers=busy).headers["Retry-After"]
    assert client.get("/api/v1/tickets", headers=calm).status_code == 200


def test_the_shared_store_counts_across_gateway_workers(gateway_settings, tickets_app):
    """Two gateway apps (two workers) on the same Redis share one budget per principal."""
    settings, limits = fresh(gateway_settings), GatewaySettings(rate_limits={"api": (4, 60)})
    upstreams = {"tickets": WsgiUpstream("tickets", tickets_app)}
    first, second = (create_app(settings, upstreams=upstreams, gateway=limits).test_client() for _ in range(2))
    headers = auth_header(settings, "cs_manager", communities=["c-1"])
    statuses = [(first if i % 2 else second).get("/api/v1/tickets", headers=headers).status_code for i in range(5)]
    assert statuses == [200, 200, 200, 200, 429]


def test_every_answer_carries_security_headers(client, gateway_settings, tickets_app):
    gateway = create_app(gateway_settings, upstreams={"tickets": WsgiUpstream("tickets", tickets_app)}).test_client()
    for response in (
        gateway.get("/api/v1/tickets", headers=auth_header(gateway_settings, "admin")),
        gateway.get("/api/v1/users/me"),
        gateway.get("/healthz"),
    ):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "max-age" in response.headers["Strict-Transport-Security"]
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    # The docs page loads Swagger UI from its CDN: no CSP that would blank it.
    assert "Content-Security-Policy" not in gateway.get("/api/v1/docs").headers


def test_cors_answers_the_configured_web_origin_only(gateway_settings):
    client = create_app(
        gateway_settings, upstreams={}, gateway=GatewaySettings(cors_origins=("https://wy.example.cn",))
    ).test_client()
    preflight = {"Origin": "https://wy.example.cn", "Access-Control-Request-Method": "POST"}
    allowed = client.options("/api/v1/auth/token", headers=preflight)
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://wy.example.cn"
    assert "Authorization" in allowed.headers["Access-Control-Allow-Headers"]
    refused = client.options("/api/v1/auth/token", headers={**preflight, "Origin": "https://evil.example"})
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused.headers
    simple = client.get("/healthz", headers={"Origin": "https://wy.example.cn"})
    assert simple.headers["Access-Control-Allow-Origin"] == "https://wy.example.cn"
    assert (
        "Access-Control-Allow-Origin" not in client.get("/healthz", headers={"Origin": "https://evil.example"}).headers
    )


def test_sensitive_routed_actions_are_audited_when_they_succeed(client, gateway_settings, admin_headers):
    # The audited operations are the ones the services' documents mark, on the routes they really serve.
    audit = {"x-guanjia-audit": {"action": "payment.reversed", "target": "payment"}}
    billing = StubService({"/api/v1/payments/{payment_id}/reversal": {"post": audit}})
    residents = StubService({}, extra_headers=[("X-Guanjia-Audit", "personal_data.viewed")])
    gateway = create_app(
        gateway_settings,
        upstreams={"billing": WsgiUpstream("billing", billing), "residents": WsgiUpstream("residents", residents)},
    ).test_client()
    finance = auth_header(gateway_settings, "finance", communities=["c-1"], subject=f"fin-{random.random()}")
    reversed_ = gateway.post("/api/v1/payments/pay-42/reversal", headers={**finance, "X-Request-ID": "rev-1"})
    assert reversed_.status_code == 200
    assert gateway.post("/api/v1/payments/pay-43", headers=finance).status_code == 200  # not marked: not audited
    viewed = gateway.get("/api/v1/residents/res-7", headers=finance)
    assert "X-Guanjia-Audit" not in viewed.headers  # for the gateway, not for the client
    gateway.get("/api/v1/billing/bills", headers=finance)  # an ordinary read: not audited

    subject = finance["Authorization"]
    from guanjia import auth

    actor = auth.principal_from_header(gateway_settings, subject).subject
    entries = client.get("/api/v1/audit", headers=admin_headers, query_string={"actor_id": actor}).json["items"]
    assert {(e["action"], e["target_id"]) for e in entries} == {
        ("payment.reversed", "pay-42"),
        ("personal_data.viewed", "/api/v1/residents/res-7"),
    }
    reversal = next(e for e in entries if e["action"] == "payment.reversed")
    assert reversal["actor_role"] == "finance" and reversal["request_id"] == "rev-1"


def test_a_new_resource_of_a_service_is_routed_without_a_gateway_change(gateway_settings):
    residents = StubService({"/api/v1/zones/{zone_id}": {"get": {"responses": {"200": {"description": "ok"}}}}})
    gateway = create_app(gateway_settings, upstreams={"residents": WsgiUpstream("residents", residents)})
    client = gateway.test_client()
    response = client.get("/api/v1/zones/z-1", headers=auth_header(gateway_settings, "admin"))
    assert response.status_code == 200 and response.json == {"path": "/api/v1/zones/z-1", "method": "GET"}
    assert client.get("/api/v1/zones/z-1").status_code == 401  # and checked like every routed path
    assert "/api/v1/zones/{zone_id}" in client.get("/api/v1/openapi.json").json["paths"]
    assert client.get("/api/v1/nothing-here", headers=auth_header(gateway_settings, "admin")).status_code == 404


def test_a_rate_limit_store_that_is_down_lets_requests_through(gateway_settings, create_user):
    """Fail open: Redis down must not lock everyone out (the account lockout still holds)."""
    settings = fresh(gateway_settings)
    limits = GatewaySettings(redis_url="redis://127.0.0.1:1/0", rate_limits={"login": (1, 60)})
    client = create_app(settings, upstreams={}, gateway=limits).test_client()
    body, _ = create_user()
    credentials = {"username": body["username"], "password": body["password"]}
    assert [client.post("/api/v1/auth/token", json=credentials).status_code for _ in range(3)] == [200, 200, 200]
    from gateway.bootstrap import bootstrap

    bootstrap(settings)  # ready also means the first admin exists
    assert client.get("/readyz").status_code == 200


def test_large_limits_are_counted_in_batches_and_overshoot_by_at_most_a_batch_per_worker(gateway_settings):
    import time

    from gateway.ratelimit import RateLimiter

    settings, limits = fresh(gateway_settings), GatewaySettings(rate_limits={"api": (200, 60)})  # batches of 4
    workers = [RateLimiter(settings, limits), RateLimiter(settings, limits)]
    slot = int(time.time() // 60)
    admitted = sum(workers[i % 2].hit("api", "busy-user") is None for i in range(400))
    if int(time.time() // 60) != slot:
        pytest.skip("the minute turned during the test: two windows were counted")
    assert 200 <= admitted <= 200 + 2 * 4
    # Every request was counted in the shared store (apart from each worker's unsent remainder).
    shared = int(workers[0].store.client.get(f"{workers[0].prefix}api:busy-user:{slot}"))
    assert 400 - 2 * 4 <= shared <= 400
