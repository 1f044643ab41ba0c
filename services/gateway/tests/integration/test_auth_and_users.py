"""Tokens and users on real PostgreSQL: log in, wrong credentials, admin-only user management, own profile."""

import pytest
from sqlalchemy import update

from gateway.models import User
from guanjia import auth
from guanjia.db import Database
from guanjia.testing import auth_header


def login(client, username, password):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


def test_a_user_logs_in_and_the_token_carries_role_and_scopes(client, gateway_settings, create_user):
    body, user = create_user(role="butler", communities=["c-1", "c-2"], zones=["z-1"])
    response = login(client, body["username"], body["password"])
    assert response.status_code == 200, response.json
    assert response.json["token_type"] == "Bearer"
    assert response.json["expires_in"] == gateway_settings.token_ttl_seconds
    assert response.headers["Cache-Control"] == "no-store"
    principal = auth.verify_token(gateway_settings, response.json["access_token"])
    assert (principal.subject, principal.role, principal.username) == (user["id"], "butler", body["username"])
    assert principal.communities == ("c-1", "c-2") and principal.zones == ("z-1",)

    me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {response.json['access_token']}"})
    assert me.status_code == 200
    assert me.json["username"] == body["username"] and me.json["communities"] == ["c-1", "c-2"]


def test_a_resident_account_gets_no_token_while_residents_cannot_confirm_the_household(
    client, gateway_settings, create_user
):
    """This gateway has no residents service: a resident's units cannot be confirmed, so no token (503)."""
    body, _ = create_user(role="resident", resident_id="res-1", units=["u-1"])
    response = login(client, body["username"], body["password"])
    assert response.status_code == 503 and response.mimetype == "application/problem+json"


def test_wrong_password_unknown_user_and_inactive_user_get_the_same_401(client, gateway_settings, create_user, unique):
    body, user = create_user()
    inactive, inactive_user = create_user()
    database = Database(gateway_settings.database_url)
    try:
        with database.transaction() as session:
            session.execute(update(User).where(User.id == inactive_user["id"]).values(active=False))
    finally:
        database.dispose()

    answers = [
        login(client, body["username"], "wrong-password"),
        login(client, unique("nobody"), body["password"]),
        login(client, inactive["username"], inactive["password"]),
    ]
    for response in answers:
        assert response.status_code == 401
        assert response.mimetype == "application/problem+json"
        assert "access_token" not in response.json
    assert len({r.json["detail"] for r in answers}) == 1  # nothing tells which part was wrong


def test_a_token_request_without_a_password_names_the_field(client):
    response = client.post("/api/v1/auth/token", json={"username": "admin"})
    assert response.status_code == 422
    assert "password" in response.json["errors"]


def test_only_an_admin_creates_and_lists_users(client, gateway_settings, admin_headers, unique):
    butler = auth_header(gateway_settings, "butler", communities=["c-1"])
    body = {"username": unique("new"), "password": "long-enough-1", "role": "engineer"}
    refused = client.post("/api/v1/users", headers=butler, json=body)
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert client.get("/api/v1/users", headers=butler).status_code == 403
    assert client.post("/api/v1/users", json=body).status_code == 401

    created = client.post("/api/v1/users", headers=admin_headers, json=body)
    assert created.status_code == 201
    assert created.json["role"] == "engineer" and created.json["active"] is True
    assert not {"password", "password_hash"} & set(created.json)
    assert login(client, body["username"], body["password"]).status_code == 200

    listed = client.get("/api/v1/users", headers=admin_headers, query_string={"username": body["username"]})
    assert listed.json["total"] == 1
    assert listed.json["items"][0]["id"] == created.json["id"]
    assert not {"password", "password_hash"} & set(listed.json["items"][0])


def test_a_taken_username_is_409(client, create_user, admin_headers):
    body, _ = create_user()
    again = client.post("/api/v1/users", headers=admin_headers, json={**body, "password": "another-pw-1"})
    assert again.status_code == 409
    assert "username" in again.json["errors"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"password": "short"}, "password"),
        ({"role": "service"}, "role"),
        ({"role": "janitor"}, "role"),
        ({"username": "has space"}, "username"),
        ({"role": "resident"}, "resident_id"),
        ({"communities": "c-1"}, "communities"),
        ({"superuser": True}, "superuser"),
    ],
)
def test_bad_user_input_is_422_naming_the_field(client, changes, field, admin_headers, unique):
    body = {"username": unique("bad"), "password": "long-enough-1", "role": "butler", **changes}
    response = client.post("/api/v1/users", headers=admin_headers, json=body)
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    assert field in response.json["errors"]
    assert login(client, body["username"], "long-enough-1").status_code == 401  # nothing was created


def test_me_without_a_user_record_is_404(client, gateway_settings):
    assert client.get("/api/v1/users/me", headers=auth_header(gateway_settings, "service")).status_code == 404
    assert client.get("/api/v1/users/me").status_code == 401
