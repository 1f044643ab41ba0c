"""Access and refresh tokens: Ed25519 with kid, JWKS, rotation without downtime, refresh rotation and reuse."""

import dataclasses

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway import config as gateway_config
from gateway.app import create_app
from guanjia import auth
from guanjia.http import WsgiUpstream
from guanjia.service import load_specs
from guanjia.testing import TEST_JWT_PRIVATE_KEY, auth_header


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def new_key() -> str:
    return auth._b64url(Ed25519PrivateKey.generate().private_bytes_raw())


def public_of(private: str) -> str:
    return auth._b64url(auth.public_raw(auth.load_private_key(private).public_key()))


def test_access_tokens_are_short_lived_ed25519_with_a_kid_published_in_the_jwks(
    client, gateway_settings, create_user, login
):
    body, _ = create_user()
    tokens = login(body["username"], body["password"]).json
    header = jwt.get_unverified_header(tokens["access_token"])
    assert header["alg"] == "EdDSA"
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == gateway_settings.token_ttl_seconds <= 900

    jwks = client.get("/.well-known/jwks.json")
    assert jwks.status_code == 200
    [key] = jwks.json["keys"]
    assert key["kid"] == header["kid"] and key["kty"] == "OKP" and key["crv"] == "Ed25519"
    assert "d" not in key  # never the private half
    # Anyone can verify with the published key alone.
    public = jwt.PyJWK(key).key
    assert jwt.decode(tokens["access_token"], public, algorithms=["EdDSA"], audience="guanjia")["sub"]


def test_a_service_without_the_signing_key_verifies_with_the_gateways_published_keys(
    gateway_app, gateway_settings, serve, tickets_settings
):
    with serve(gateway_app) as gateway_url:
        # A tickets service as deployed: the service key, but not the key that signs people's tokens.
        settings = dataclasses.replace(
            tickets_settings, jwt_private_key="", service_urls={"gateway": gateway_url}, embedded=False
        )
        tickets = load_specs()["tickets"].create_app(settings, {}).test_client()
        staff = auth_header(gateway_settings, "cs_manager", communities=["c-jwks"])
        assert tickets.get("/api/v1/tickets", headers=staff).status_code == 200
        service = {"Authorization": f"Bearer {auth.service_token(settings)}"}
        assert tickets.get("/api/v1/tickets", headers=service).status_code == 200


def test_keys_rotate_without_downtime(gateway_settings, tickets_app, serve, tickets_settings):
    """Publish the new key, sign with it, and keep the old one published until its tokens have expired."""
    old_token = auth_header(gateway_settings, "admin")
    new_private = new_key()
    rotated = dataclasses.replace(
        gateway_settings, jwt_private_key=new_private, jwt_public_keys=(public_of(TEST_JWT_PRIVATE_KEY),)
    )
    gateway = create_app(rotated, upstreams={"tickets": WsgiUpstream("tickets", tickets_app)})
    client = gateway.test_client()
    kids = [k["kid"] for k in client.get("/.well-known/jwks.json").json["keys"]]
    assert kids[0] == auth.kid_of(auth.load_private_key(new_private).public_key())
    assert len(kids) == 2

    new_token = auth_header(rotated, "admin")
    assert client.get("/api/v1/users/me", headers=new_token).status_code == 404  # accepted (admin has no record)
    assert client.get("/api/v1/users/me", headers=old_token).status_code == 404  # the old key still verifies

    with serve(gateway) as gateway_url:
        # The key rings are cached per process by settings and JWKS URL; an earlier test may have served on the
        # same port a moment ago, so start from a clean cache as a freshly started service would.
        auth._keyring.cache_clear()
        # A running service learns the new kid from the JWKS the first time it meets it: no restart.
        settings = dataclasses.replace(
            tickets_settings, jwt_private_key="", service_urls={"gateway": gateway_url}, embedded=False
        )
        tickets = load_specs()["tickets"].create_app(settings, {}).test_client()
        assert tickets.get("/api/v1/tickets", headers=new_token).status_code == 200
        assert tickets.get("/api/v1/tickets", headers=old_token).status_code == 200
        forged = auth_header(dataclasses.replace(rotated, jwt_private_key=new_key()), "admin")
        assert tickets.get("/api/v1/tickets", headers=forged).status_code == 401


def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_whole_sign_in(client, create_user, login):
    body, _ = create_user()
    first = login(body["username"], body["password"]).json
    second = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200 and second.headers["Cache-Control"] == "no-store"
    second = second.json
    assert second["refresh_token"] != first["refresh_token"]
    third = client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}).json

    # The first one again: stolen, or a broken client. Everything of this sign-in is revoked.
    reused = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401 and "reused" in reused.json["detail"]
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": third["refresh_token"]}).status_code == 401

    # Another sign-in of the same user is a family of its own and keeps working.
    other = login(body["username"], body["password"]).json
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": other["refresh_token"]}).status_code == 200


def test_logout_revokes_the_refresh_token(client, create_user, login):
    body, _ = create_user()
    tokens = login(body["username"], body["password"]).json
    assert client.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}).status_code == 204
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401
    # Unknown tokens log out silently (nothing to tell an attacker).
    assert client.post("/api/v1/auth/logout", json={"refresh_token": "nothing-like-it"}).status_code == 204


def test_an_expired_refresh_token_is_refused(gateway_settings, create_user, clock):
    client = create_app(gateway_settings, upstreams={}, clock=clock).test_client()
    body, _ = create_user()
    tokens = client.post("/api/v1/auth/token", json={"username": body["username"], "password": body["password"]})
    clock.advance(seconds=gateway_config.from_env(gateway_settings.env).refresh_ttl_seconds + 1)
    refused = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens.json["refresh_token"]})
    assert refused.status_code == 401


def test_bad_refresh_input_names_the_field(client):
    response = client.post("/api/v1/auth/refresh", json={})
    assert response.status_code == 422 and "refresh_token" in response.json["errors"]
