"""Staff accounts: argon2id, password policy, lockout, forced change, admin changes (audited), disabling."""

import pytest
from sqlalchemy import select, text

from gateway.app import create_app
from gateway.bootstrap import bootstrap
from gateway.models import User
from guanjia import auth
from guanjia.db import Database
from guanjia.testing import auth_header


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def audit_of(client, admin_headers, target_id):
    response = client.get("/api/v1/audit", headers=admin_headers, query_string={"target_id": target_id})
    assert response.status_code == 200, response.json
    return [entry["action"] for entry in response.json["items"]]


def test_passwords_are_stored_as_argon2id(gateway_settings, create_user):
    _, user = create_user()
    database = Database(gateway_settings.database_url)
    try:
        with database.transaction() as session:
            stored = session.execute(select(User.password_hash).where(User.id == user["id"])).scalar_one()
    finally:
        database.dispose()
    assert stored.startswith("$argon2id$")


@pytest.mark.parametrize(
    ("password", "message"),
    [("short-1", "at least 10"), ("aaaaaaaaaaaa", "too easy"), ("1234567890", "too easy")],
)
def test_the_password_policy_names_the_field(client, admin_headers, unique, password, message):
    body = {"username": unique("weak"), "password": password, "role": "finance"}
    response = client.post("/api/v1/users", headers=admin_headers, json=body)
    assert response.status_code == 422
    assert message in response.json["errors"]["password"][0]


def test_a_password_containing_the_username_is_refused(client, admin_headers, unique):
    username = unique("zhang")
    body = {"username": username, "password": f"{username}-pass", "role": "finance"}
    response = client.post("/api/v1/users", headers=admin_headers, json=body)
    assert response.status_code == 422 and "password" in response.json["errors"]


def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes(gateway_settings, create_user, clock):
    client = create_app(gateway_settings, upstreams={}, clock=clock).test_client()
    body, user = create_user()

    def attempt(password):
        return client.post("/api/v1/auth/token", json={"username": body["username"], "password": password})

    for _ in range(5):
        assert attempt("not-the-password").status_code == 401
    locked = attempt(body["password"])
    assert locked.status_code == 401  # even the right password, and with the answer a wrong one gets
    assert locked.json["detail"] == attempt("not-the-password").json["detail"]

    clock.advance(minutes=14)
    assert attempt(body["password"]).status_code == 401
    clock.advance(minutes=2)
    assert attempt(body["password"]).status_code == 200
    admin = auth_header(gateway_settings, "admin")
    assert "user.locked" in audit_of(client, admin, user["id"])


def test_a_successful_sign_in_resets_the_failure_count(gateway_settings, create_user, clock):
    client = create_app(gateway_settings, upstreams={}, clock=clock).test_client()
    body, _ = create_user()
    for _ in range(4):
        client.post("/api/v1/auth/token", json={"username": body["username"], "password": "nope-nope-nope"})
    credentials = {"username": body["username"], "password": body["password"]}
    assert client.post("/api/v1/auth/token", json=credentials).status_code == 200
    for _ in range(4):
        client.post("/api/v1/auth/token", json={"username": body["username"], "password": "nope-nope-nope"})
    assert client.post("/api/v1/auth/token", json=credentials).status_code == 200


def test_an_account_without_a_password_gets_a_one_time_password_that_must_be_changed(client, admin_headers, unique):
    body = {"username": unique("eng"), "role": "engineer", "department": "engineering", "display_name": "李工"}
    created = client.post("/api/v1/users", headers=admin_headers, json=body)
    assert created.status_code == 201
    one_time = created.json["initial_password"]
    assert one_time and created.json["must_change_password"] is True
    listed = client.get("/api/v1/users", headers=admin_headers, query_string={"username": body["username"]})
    assert "initial_password" not in listed.json["items"][0]  # shown once

    refused = client.post("/api/v1/auth/token", json={"username": body["username"], "password": one_time})
    assert refused.status_code == 403 and refused.json["password_change_required"] is True
    assert "access_token" not in refused.json

    weak = client.post(
        "/api/v1/auth/password",
        json={"username": body["username"], "password": one_time, "new_password": "short"},
    )
    assert weak.status_code == 422 and "new_password" in weak.json["errors"]
    changed = client.post(
        "/api/v1/auth/password",
        json={"username": body["username"], "password": one_time, "new_password": "my own long password"},
    )
    assert changed.status_code == 200 and changed.json["access_token"]
    signed_in = client.post(
        "/api/v1/auth/token", json={"username": body["username"], "password": "my own long password"}
    )
    assert signed_in.status_code == 200


def test_an_admin_reset_forces_a_change_and_revokes_the_refresh_tokens(client, admin_headers, create_user, login):
    body, user = create_user()
    tokens = login(body["username"], body["password"]).json
    reset = client.post(f"/api/v1/users/{user['id']}/reset-password", headers=admin_headers)
    assert reset.status_code == 200 and reset.headers["Cache-Control"] == "no-store"
    temporary = reset.json["temporary_password"]
    assert login(body["username"], body["password"]).status_code == 401
    assert login(body["username"], temporary).status_code == 403
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401
    assert "user.password_reset" in audit_of(client, admin_headers, user["id"])


def test_role_and_scope_changes_apply_at_the_next_token_and_are_audited(
    client, gateway_settings, admin_headers, create_user, login
):
    body, user = create_user(role="butler", communities=["c-1"], zones=["z-1"])
    before = login(body["username"], body["password"]).json
    changed = client.patch(
        f"/api/v1/users/{user['id']}",
        headers=admin_headers,
        json={"role": "senior_butler", "zones": [], "communities": ["c-1", "c-2"], "phone": "13900139000"},
    )
    assert changed.status_code == 200, changed.json
    assert changed.json["role"] == "senior_butler" and changed.json["phone"] == "139****9000"

    old = auth.verify_token(gateway_settings, before["access_token"])
    assert old.role == "butler"  # an issued token keeps what it says until it expires
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": before["refresh_token"]}).json
    new = auth.verify_token(gateway_settings, refreshed["access_token"])
    assert (new.role, new.communities, new.zones) == ("senior_butler", ("c-1", "c-2"), ())

    actions = audit_of(client, admin_headers, user["id"])
    assert {"user.created", "user.role_changed", "user.scope_changed"} <= set(actions)
    entry = next(
        e
        for e in client.get("/api/v1/audit", headers=admin_headers, query_string={"target_id": user["id"]}).json[
            "items"
        ]
        if e["action"] == "user.scope_changed"
    )
    assert entry["details"]["communities"] == {"from": ["c-1"], "to": ["c-1", "c-2"]}
    assert entry["actor_role"] == "admin"


def test_bad_changes_are_422_naming_the_field_and_change_nothing(client, admin_headers, create_user):
    _, user = create_user()
    for change, field in (({"role": "root"}, "role"), ({"phone": "12345"}, "phone"), ({"active": "maybe"}, "active")):
        response = client.patch(f"/api/v1/users/{user['id']}", headers=admin_headers, json=change)
        assert response.status_code == 422 and field in response.json["errors"]
    assert client.get(f"/api/v1/users/{user['id']}", headers=admin_headers).json["role"] == "butler"
    assert client.patch("/api/v1/users/no-such-user", headers=admin_headers, json={}).status_code == 404


def test_only_admins_manage_accounts(client, gateway_settings, create_user):
    _, user = create_user()
    for role in ("butler", "senior_butler", "cs_manager", "finance", "integrator", "resident", "service"):
        headers = auth_header(gateway_settings, role, communities=["c-1"])
        assert client.patch(f"/api/v1/users/{user['id']}", headers=headers, json={"role": "admin"}).status_code == 403
        assert client.post(f"/api/v1/users/{user['id']}/reset-password", headers=headers).status_code == 403
        assert client.get("/api/v1/audit", headers=headers).status_code == 403


def test_disabling_revokes_refresh_tokens_and_stops_access_tokens_at_once_here_and_within_a_minute_elsewhere(
    client, gateway_settings, admin_headers, create_user, login
):
    other_worker = create_app(gateway_settings, upstreams={}).test_client()
    body, user = create_user()
    tokens = login(body["username"], body["password"]).json
    assert other_worker.get("/api/v1/users/me", headers=bearer(tokens["access_token"])).status_code == 200

    disabled = client.patch(f"/api/v1/users/{user['id']}", headers=admin_headers, json={"active": False})
    assert disabled.status_code == 200 and disabled.json["active"] is False
    # This worker knows at once.
    assert client.get("/api/v1/users/me", headers=bearer(tokens["access_token"])).status_code == 401
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401
    assert login(body["username"], body["password"]).status_code == 401
    # Another worker reloads the disabled accounts every 15 seconds; here the reload is due now.
    other_worker.application.extensions["gateway.revocations"].force_reload()
    assert other_worker.get("/api/v1/users/me", headers=bearer(tokens["access_token"])).status_code == 401
    assert "user.disabled" in audit_of(client, admin_headers, user["id"])

    client.patch(f"/api/v1/users/{user['id']}", headers=admin_headers, json={"active": True})
    assert login(body["username"], body["password"]).status_code == 200


def test_the_bootstrap_admin_cannot_be_demoted_or_disabled(client, gateway_settings, admin_headers):
    bootstrap(gateway_settings)
    listed = client.get("/api/v1/users", headers=admin_headers, query_string={"username": "admin"}).json
    admin_id = listed["items"][0]["id"]
    for change in ({"active": False}, {"role": "finance"}):
        assert client.patch(f"/api/v1/users/{admin_id}", headers=admin_headers, json=change).status_code == 409
    assert client.get(f"/api/v1/users/{admin_id}", headers=admin_headers).json["role"] == "admin"


def test_the_audit_log_is_append_only_in_the_database(gateway_settings, create_user):
    create_user()
    database = Database(gateway_settings.database_url)
    try:
        for statement in ("UPDATE audit_log SET action = 'nothing'", "DELETE FROM audit_log"):
            with pytest.raises(Exception, match="append-only"):
                with database.transaction() as session:
                    session.execute(text(statement))
    finally:
        database.dispose()


def test_services_read_staff_contacts_and_nobody_else_does(client, gateway_settings, admin_headers, unique):
    community = unique("c")
    created = client.post(
        "/api/v1/users",
        headers=admin_headers,
        json={
            "username": unique("sb"),
            "password": "correct-horse-1",
            "role": "senior_butler",
            "display_name": "王管家",
            "phone": "139 0013 9001",
            "communities": [community],
        },
    ).json
    service = auth_header(gateway_settings, "service")
    contact = client.get(f"/api/v1/internal/users/{created['id']}/contact", headers=service)
    assert contact.status_code == 200
    assert contact.json == {
        "user_id": created["id"],
        "role": "senior_butler",
        "name": "王管家",
        "phone": "+8613900139001",
        "communities": [community],
    }
    listed = client.get(
        "/api/v1/internal/users", headers=service, query_string={"community_id": community, "role": "senior_butler"}
    )
    assert listed.json == {
        "items": [{"user_id": created["id"], "role": "senior_butler", "name": "王管家", "phone": "+8613900139001"}]
    }
    assert client.get("/api/v1/internal/users", headers=service, query_string={"community_id": unique("x")}).json == {
        "items": []
    }
    assert client.get("/api/v1/internal/users/nobody/contact", headers=service).status_code == 404
    assert client.get(f"/api/v1/internal/users/{created['id']}/contact").status_code == 401
    for role in ("admin", "senior_butler", "resident", "integrator"):
        headers = auth_header(gateway_settings, role, communities=[community])
        assert client.get(f"/api/v1/internal/users/{created['id']}/contact", headers=headers).status_code == 403
        assert client.get("/api/v1/internal/users", headers=headers).status_code == 403
