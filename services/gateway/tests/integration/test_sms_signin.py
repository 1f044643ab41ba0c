"""Residents sign in with their phone number and an SMS code (手机号 + 验证码), against the real residents and
notifications services (in-process); the test reads the code off the gateway's call to notifications."""

import json
import random

import pytest

from gateway.app import create_app
from gateway.config import GatewaySettings
from guanjia import auth
from guanjia.http import WsgiUpstream
from guanjia.service import load_specs
from guanjia.testing import auth_header


class Spy:
    """Passes every request to the real app and keeps the JSON bodies it saw."""

    def __init__(self, app):
        self.app = app
        self.bodies = []

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length:
            import io

            raw = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(raw)
            self.bodies.append(json.loads(raw))
        return self.app(environ, start_response)


@pytest.fixture(scope="session")
def notifications_spy(infra):
    return Spy(load_specs()["notifications"].create_app(infra.settings("notifications"), {}))


@pytest.fixture
def sms_gateway(gateway_settings, residents_app, notifications_spy, clock):
    upstreams = {
        "residents": WsgiUpstream("residents", residents_app),
        "notifications": WsgiUpstream("notifications", notifications_spy),
    }
    return create_app(gateway_settings, upstreams=upstreams, clock=clock).test_client()


def random_phone() -> str:
    return f"+86139{random.randint(10**7, 10**8 - 1)}"


@pytest.fixture
def household(residents_app, residents_settings):
    """A community with one unit and its owner, moved in, created through the residents API."""
    client = residents_app.test_client()
    admin = auth_header(residents_settings, "admin")

    def created(path, body):
        response = client.post(path, headers=admin, json=body)
        assert response.status_code in (200, 201), (path, response.json)
        return response.json

    community = created("/api/v1/communities", {"name": "短信小区"})
    building = created("/api/v1/buildings", {"community_id": community["id"], "name": "2栋"})
    unit = created("/api/v1/units", {"building_id": building["id"], "number": "2-301", "floor": 3, "area_m2": "96.00"})
    phone = random_phone()
    resident = created("/api/v1/residents", {"unit_id": unit["id"], "name": "刘女士", "phone": phone, "role": "owner"})
    moved = client.post(f"/api/v1/units/{unit['id']}/move-in", headers=admin, json={"resident_id": resident["id"]})
    assert moved.status_code in (200, 201), moved.json
    return {"community": community, "unit": unit, "resident": resident, "phone": phone}


def last_code(spy, phone):
    sent = [b for b in spy.bodies if b.get("phone") == phone and b.get("template") == "login_code"]
    return sent[-1]["variables"]["code"] if sent else None


def test_a_resident_signs_in_with_phone_and_code_and_gets_their_own_scope(
    sms_gateway, notifications_spy, household, gateway_settings
):
    phone = household["phone"]
    national = phone[3:]  # residents type their number the way it is printed: 139…
    sent = sms_gateway.post("/api/v1/auth/sms-code", json={"phone": national})
    assert sent.status_code == 202 and sent.json == {"expires_in": 300}
    code = last_code(notifications_spy, phone)
    assert code and len(code) == 6 and code.isdigit()
    assert notifications_spy.bodies[-1]["urgent"] is True

    signed_in = sms_gateway.post("/api/v1/auth/sms-token", json={"phone": national, "code": code})
    assert signed_in.status_code == 200, signed_in.json
    principal = auth.verify_token(gateway_settings, signed_in.json["access_token"])
    assert principal.role == "resident"
    assert principal.resident_id == household["resident"]["id"]
    assert principal.units == (household["unit"]["id"],)
    assert principal.communities == (household["community"]["id"],)
    assert signed_in.json["refresh_token"]

    # Single use.
    again = sms_gateway.post("/api/v1/auth/sms-token", json={"phone": national, "code": code})
    assert again.status_code == 401

    # The next sign-in finds the same account.
    sms_gateway.post("/api/v1/auth/sms-code", json={"phone": phone})
    second = sms_gateway.post(
        "/api/v1/auth/sms-token", json={"phone": phone, "code": last_code(notifications_spy, phone)}
    )
    assert auth.verify_token(gateway_settings, second.json["access_token"]).subject == principal.subject


def test_a_code_expires_after_five_minutes(sms_gateway, notifications_spy, household, clock):
    phone = household["phone"]
    sms_gateway.post("/api/v1/auth/sms-code", json={"phone": phone})
    code = last_code(notifications_spy, phone)
    clock.advance(minutes=5, seconds=1)
    assert sms_gateway.post("/api/v1/auth/sms-token", json={"phone": phone, "code": code}).status_code == 401


def test_only_the_latest_code_works_and_guessing_burns_it(sms_gateway, notifications_spy, household):
    phone = household["phone"]
    sms_gateway.post("/api/v1/auth/sms-code", json={"phone": phone})
    first = last_code(notifications_spy, phone)
    sms_gateway.post("/api/v1/auth/sms-code", json={"phone": phone})
    latest = last_code(notifications_spy, phone)
    if first != latest:
        assert sms_gateway.post("/api/v1/auth/sms-token", json={"phone": phone, "code": first}).status_code == 401
    wrong = f"{(int(latest) + 1) % 10**6:06d}"
    for _ in range(5):
        assert sms_gateway.post("/api/v1/auth/sms-token", json={"phone": phone, "code": wrong}).status_code == 401
    # Five wrong guesses used the code up: even the right one no longer works.
    assert sms_gateway.post("/api/v1/auth/sms-token", json={"phone": phone, "code": latest}).status_code == 401


def test_an_unknown_phone_gets_the_same_answer_and_no_sms(sms_gateway, notifications_spy):
    phone = random_phone()
    response = sms_gateway.post("/api/v1/auth/sms-code", json={"phone": phone})
    assert response.status_code == 202 and response.json == {"expires_in": 300}
    assert last_code(notifications_spy, phone) is None
    assert sms_gateway.post("/api/v1/auth/sms-token", json={"phone": phone, "code": "123456"}).status_code == 401


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/auth/sms-code", {"phone": "12345"}, "phone"),
        ("/api/v1/auth/sms-code", {}, "phone"),
        ("/api/v1/auth/sms-token", {"phone": "13900139000", "code": "12ab56"}, "code"),
        ("/api/v1/auth/sms-token", {"phone": "13900139000"}, "code"),
    ],
)
def test_bad_sign_in_input_names_the_field(sms_gateway, path, body, field):
    response = sms_gateway.post(path, json=body)
    assert response.status_code == 422 and field in response.json["errors"]


def test_codes_are_rate_limited_per_phone_and_per_address(
    gateway_settings, residents_app, notifications_spy, household, clock
):
    limits = {"code_phone": (3, 3600), "code_ip": (5, 3600), "code_verify": (100, 600)}
    settings = gateway_settings.with_service("gateway", queue_prefix=f"rl{random.random()}.")
    upstreams = {
        "residents": WsgiUpstream("residents", residents_app),
        "notifications": WsgiUpstream("notifications", notifications_spy),
    }
    client = create_app(settings, upstreams=upstreams, clock=clock, gateway=GatewaySettings(rate_limits=limits))
    client = client.test_client()
    phone = household["phone"]
    for _ in range(3):
        assert client.post("/api/v1/auth/sms-code", json={"phone": phone}).status_code == 202
    limited = client.post("/api/v1/auth/sms-code", json={"phone": phone})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert limited.mimetype == "application/problem+json"
    # Every request counts for the address (the refused one too): one more phone, then the address is limited.
    assert client.post("/api/v1/auth/sms-code", json={"phone": random_phone()}).status_code == 202
    assert client.post("/api/v1/auth/sms-code", json={"phone": random_phone()}).status_code == 429
    # Another address is not.
    other = client.post(
        "/api/v1/auth/sms-code", json={"phone": random_phone()}, environ_base={"REMOTE_ADDR": "10.1.2.3"}
    )
    assert other.status_code == 202


def test_a_resident_token_follows_occupancy_at_sign_in_and_refresh(
    sms_gateway, household, residents_app, gateway_settings
):
    """A password account of a resident: the token carries the unit while they live there; after the move-out a new
    sign-in and a refresh carry no unit and no community."""
    admin = auth_header(gateway_settings, "admin")
    username, password = f"res-{random.randint(10**6, 10**7)}", "resident-password-9"
    unit_id, community_id = household["unit"]["id"], household["community"]["id"]
    # A second, unrelated unit on the account: only stays in it would count, and there are none.
    created = sms_gateway.post(
        "/api/v1/users",
        headers=admin,
        json={
            "username": username,
            "password": password,
            "role": "resident",
            "resident_id": household["resident"]["id"],
            "units": [unit_id, "some-other-unit"],
            "communities": [community_id],
        },
    )
    assert created.status_code == 201, created.json
    signed_in = sms_gateway.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert signed_in.status_code == 200, signed_in.json
    principal = auth.verify_token(gateway_settings, signed_in.json["access_token"])
    assert (principal.units, principal.communities) == ((unit_id,), (community_id,))
    assert principal.resident_id == household["resident"]["id"]

    residents = residents_app.test_client()
    moved = residents.post(f"/api/v1/units/{unit_id}/move-out", headers=auth_header(gateway_settings, "admin"), json={})
    assert moved.status_code == 200, moved.json
    refreshed = sms_gateway.post("/api/v1/auth/refresh", json={"refresh_token": signed_in.json["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.json
    again = sms_gateway.post("/api/v1/auth/token", json={"username": username, "password": password})
    for body in (refreshed.json, again.json):
        principal = auth.verify_token(gateway_settings, body["access_token"])
        assert (principal.units, principal.communities) == ((), ())
