"""Sign-in that cannot be turned against its owner: lockout per account and source, a real common-password list,
only canonical tokens, the sign-in limit a moving window (issue 12 "Authentication", issue 15 "Security hygiene")."""

import uuid

import pytest

from gateway.app import create_app
from gateway.config import GatewaySettings
from gateway.domain import ADMIN_USERNAME, ensure_admin
from guanjia.db import Database, utcnow
from guanjia.testing import TEST_RATE_LIMITS, auth_header

ATTACKER = {"REMOTE_ADDR": "203.0.113.66"}
OWNER = {"REMOTE_ADDR": "198.51.100.7"}


def _sign_in(client, username, password, source):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password}, environ_base=source)


def test_five_anonymous_wrong_passwords_do_not_lock_the_owner_out(gateway_settings, create_user, clock):
    client = create_app(gateway_settings, upstreams={}, clock=clock).test_client()
    body, _ = create_user()
    for _ in range(5):
        assert _sign_in(client, body["username"], "not-the-password", ATTACKER).status_code == 401
    # The address that guessed is stopped, even with the right password ...
    assert _sign_in(client, body["username"], body["password"], ATTACKER).status_code == 401
    # ... the owner, from their own address, is not.
    assert _sign_in(client, body["username"], body["password"], OWNER).status_code == 200
    clock.advance(minutes=16)
    assert _sign_in(client, body["username"], body["password"], ATTACKER).status_code == 200


@pytest.fixture
def own_database(gateway_settings):
    """A gateway database of this test's own (the bootstrap admin is one per database), dropped afterwards."""
    import sqlalchemy as sa

    from guanjia.db import upgrade
    from guanjia.service import load_specs

    base, _ = gateway_settings.database_url.rsplit("/", 1)
    name = f"guanjia_admin_lockout_{uuid.uuid4().hex[:8]}"
    server = sa.create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = f"{base}/{name}"
    upgrade(url, load_specs()["gateway"].migrations_dir)
    yield url
    with server.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


def test_the_bootstrap_admin_cannot_be_locked_out_by_anonymous_requests(gateway_settings, own_database, clock):
    """The admin of a fresh instance (the account every scanner tries) signs in after guesses from elsewhere."""
    import dataclasses

    settings = dataclasses.replace(gateway_settings, database_url=own_database)
    database = Database(own_database)
    try:
        with database.transaction() as session:
            ensure_admin(session, "bootstrap-admin-Pw-9", utcnow())
    finally:
        database.dispose()
    client = create_app(settings, upstreams={}, clock=clock).test_client()
    for _ in range(6):
        assert _sign_in(client, ADMIN_USERNAME, "admin", ATTACKER).status_code == 401
    assert _sign_in(client, ADMIN_USERNAME, "bootstrap-admin-Pw-9", OWNER).status_code == 200
    entries = client.get(
        "/api/v1/audit", headers=auth_header(settings, "admin"), query_string={"action": "user.locked"}
    )
    [locked] = entries.json["items"]
    assert locked["details"]["scope"] == "source" and "203.0.113.66" not in str(locked)  # no address stored


@pytest.mark.parametrize(
    "weak", ["password1234", "qwerty123456", "admin123456", "woaini1314520", "p@ssw0rd123", "Zhangwei19900101"]
)
def test_common_passwords_and_their_variants_are_refused(client, admin_headers, unique, weak):
    body = {"username": unique("weak"), "password": weak, "role": "finance"}
    response = client.post("/api/v1/users", headers=admin_headers, json=body)
    assert response.status_code == 422, weak
    assert "too easy to guess" in response.json["errors"]["password"][0]


def test_a_weak_new_password_is_refused_at_the_password_change(client, create_user):
    body, _ = create_user()
    response = client.post(
        "/api/v1/auth/password",
        json={"username": body["username"], "password": body["password"], "new_password": "woaini1314520"},
    )
    assert response.status_code == 422 and "new_password" in response.json["errors"]


@pytest.mark.parametrize("padding", ["=", "=="])
def test_a_token_with_base64_padding_is_refused_at_the_gateway_and_the_service(
    routed_client, gateway_settings, padding
):
    good = auth_header(gateway_settings, "cs_manager", communities=["c-pad"])["Authorization"]
    assert routed_client.get("/api/v1/tickets", headers={"Authorization": good}).status_code == 200
    padded = routed_client.get("/api/v1/tickets", headers={"Authorization": good + padding})
    assert padded.status_code == 401
    assert routed_client.get("/api/v1/users/me", headers={"Authorization": good + padding}).status_code == 401


def test_sign_ins_are_limited_in_a_moving_window(gateway_settings, create_user):
    import dataclasses

    settings = dataclasses.replace(gateway_settings, queue_prefix="mw" + uuid.uuid4().hex[:6])
    limits = GatewaySettings(rate_limits={**TEST_RATE_LIMITS, "login": (3, 60)})
    client = create_app(settings, upstreams={}, gateway=limits).test_client()
    body, _ = create_user()
    codes = [_sign_in(client, body["username"], body["password"], OWNER).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
