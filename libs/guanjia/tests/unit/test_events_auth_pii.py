"""The envelope, tokens and personal-data helpers, without infrastructure."""

import io
import json
import logging
import time

import jwt
import pytest

from gateway import config as gateway_config
from guanjia import auth, events, pii
from guanjia import logging as glog
from guanjia.config import Settings
from guanjia.errors import Invalid, Unauthorized
from guanjia.testing import TEST_JWT_PRIVATE_KEY, TEST_SERVICE_KEY


def _sign(claims: dict, key: str = TEST_JWT_PRIVATE_KEY) -> str:
    private = auth.load_private_key(key)
    return jwt.encode(claims, private, algorithm="EdDSA", headers={"kid": auth.kid_of(private.public_key())})


SETTINGS = Settings(
    service="tickets",
    database_url="sqlite://",
    jwt_private_key=TEST_JWT_PRIVATE_KEY,
    service_key=TEST_SERVICE_KEY,
)


def test_built_event_is_a_structured_cloudevent_with_guanjia_extensions():
    event = events.build(
        type="ticket.created",
        source="/sh/tickets",
        subject="ticket/1",
        data={"a": 1},
        city="sh",
        community="c1",
        correlationid="r1",
    )
    body, props = events.to_message(event)
    assert props["content_type"] == "application/cloudevents+json"
    assert props["message_id"] == event["id"] and props["type"] == "ticket.created" and props["delivery_mode"] == 2
    parsed = events.from_message(body, props["content_type"])
    assert parsed == event
    assert parsed["dataschema"].endswith("/ticket.created/v1.json")


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"specversion": "1.0"}',
        json.dumps(
            {"specversion": "1.0", "id": "1", "source": "/x", "type": "Bad Type", "subject": "s", "data": {}}
        ).encode(),
    ],
)
def test_malformed_messages_are_invalid_events(body):
    with pytest.raises(events.InvalidEvent):
        events.from_message(body, "application/cloudevents+json")


def test_token_round_trip_and_scope():
    principal = auth.Principal(subject="u1", role="butler", communities=("c1",))
    parsed = auth.verify_token(SETTINGS, auth.issue_token(SETTINGS, principal))
    assert parsed == principal
    assert parsed.sees_community("c1") and not parsed.sees_community("c2")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda c: {**c, "aud": "someone-else"},
        lambda c: {**c, "iss": "someone-else"},
        lambda c: {**c, "exp": int(time.time()) - 10 - auth.LEEWAY_SECONDS},
        lambda c: {k: v for k, v in c.items() if k != "exp"},
        lambda c: {**c, "role": "superuser"},
    ],
)
def test_tokens_with_wrong_claims_are_refused(mutate):
    claims = {
        "sub": "u1",
        "role": "admin",
        "iss": "guanjia",
        "aud": "guanjia",
        "iat": int(time.time()),
        "exp": int(time.time()) + 60,
    }
    with pytest.raises(Unauthorized):
        auth.verify_token(SETTINGS, _sign(mutate(claims)))


def test_unsigned_and_foreign_key_tokens_are_refused():
    claims = {
        "sub": "u1",
        "role": "admin",
        "iss": "guanjia",
        "aud": "guanjia",
        "iat": int(time.time()),
        "exp": int(time.time()) + 60,
    }
    with pytest.raises(Unauthorized):
        auth.verify_token(SETTINGS, jwt.encode(claims, None, algorithm="none"))
    with pytest.raises(Unauthorized):
        auth.verify_token(SETTINGS, jwt.encode(claims, "another-key-" * 4, algorithm="HS256"))
    with pytest.raises(Unauthorized):
        # A symmetric token whose "secret" is the public key must never pass (the algorithm is fixed).
        raw = auth.public_raw(auth.load_private_key(TEST_JWT_PRIVATE_KEY).public_key())
        header = {"kid": auth.keyring(SETTINGS).signer_kid}
        auth.verify_token(SETTINGS, jwt.encode(claims, raw, algorithm="HS256", headers=header))
    with pytest.raises(Unauthorized):
        auth.verify_token(SETTINGS, _sign(claims, auth._b64url(b"\x01" * 32)))


def test_a_service_token_is_reused_until_a_minute_before_it_expires(monkeypatch):
    """So the receiver verifies it once (its cache of verified tokens) instead of a fresh signature per call."""
    monkeypatch.setattr(auth.keyring(SETTINGS), "service_tokens", {})  # this test's tokens stay its own
    first = auth.service_token(SETTINGS)
    assert auth.service_token(SETTINGS) == first
    expires = jwt.decode(first, options={"verify_signature": False})["exp"]
    monkeypatch.setattr(auth.time, "time", lambda: expires - auth.SERVICE_TOKEN_RENEW_SECONDS - 5)
    assert auth.service_token(SETTINGS) == first
    monkeypatch.setattr(auth.time, "time", lambda: expires - auth.SERVICE_TOKEN_RENEW_SECONDS + 1)
    renewed = auth.service_token(SETTINGS)
    assert renewed != first
    assert auth.verify_token(SETTINGS, first).role == "service"
    assert jwt.decode(renewed, options={"verify_signature": False})["exp"] > expires


def test_the_service_key_signs_service_tokens_only():
    service = auth.verify_token(SETTINGS, auth.service_token(SETTINGS))
    assert service.role == "service" and service.subject == "service:tickets"
    claims = {
        "sub": "u1",
        "role": "admin",
        "iss": "guanjia",
        "aud": "guanjia",
        "iat": int(time.time()),
        "exp": int(time.time()) + 60,
    }
    with pytest.raises(Unauthorized, match="service tokens only"):
        auth.verify_token(SETTINGS, _sign(claims, TEST_SERVICE_KEY))


def test_a_rotated_key_keeps_old_tokens_valid_and_publishes_both():
    old_token = auth.issue_token(SETTINGS, auth.Principal(subject="u1", role="finance"))
    new_key = auth._b64url(b"\x02" * 32)
    old_public = auth._b64url(auth.public_raw(auth.load_private_key(TEST_JWT_PRIVATE_KEY).public_key()))
    rotated = SETTINGS.with_service("tickets", jwt_private_key=new_key, jwt_public_keys=(old_public,))
    new_token = auth.issue_token(rotated, auth.Principal(subject="u1", role="finance"))
    assert jwt.get_unverified_header(new_token)["kid"] != jwt.get_unverified_header(old_token)["kid"]
    assert auth.verify_token(rotated, old_token).subject == "u1"
    assert auth.verify_token(rotated, new_token).subject == "u1"
    assert [k["kid"] for k in auth.jwks(rotated)["keys"]] == [
        jwt.get_unverified_header(new_token)["kid"],
        jwt.get_unverified_header(old_token)["kid"],
    ]
    with pytest.raises(Unauthorized, match="unknown key"):
        auth.verify_token(SETTINGS, new_token)


def test_phone_validation_and_masking():
    assert pii.normalize_phone("138 0013 8000") == "+8613800138000"
    assert pii.mask_phone("+8613800138000") == "138****8000"
    with pytest.raises(Invalid) as raised:
        pii.normalize_phone("12345", field="contact_phone")
    assert "contact_phone" in raised.value.errors


def test_log_lines_are_json_with_phone_and_id_numbers_masked():
    stream = io.StringIO()
    glog.configure("tickets", "sh", stream=stream)
    logging.getLogger("some.sdk").warning("sending to 13800138000 for 110101199003077777 +8613912345678")
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["service"] == "tickets" and line["city"] == "sh"
    assert "13800138000" not in stream.getvalue() and "199003077777" not in stream.getvalue()
    assert "138****8000" in line["message"]


def test_distributed_settings_need_the_service_key_and_the_gateway_needs_the_user_key():
    from guanjia.config import from_env

    base = {"GUANJIA_AMQP_URL": "amqp://x@h//", "GUANJIA_PII_KEY": "p" * 40}
    with pytest.raises(RuntimeError, match="GUANJIA_SERVICE_KEY"):
        from_env("tickets", base)
    tickets = from_env("tickets", {**base, "GUANJIA_SERVICE_KEY": TEST_SERVICE_KEY})
    assert tickets.jwt_private_key == "" and tickets.service_key == TEST_SERVICE_KEY
    with pytest.raises(RuntimeError, match="GUANJIA_JWT_PRIVATE_KEY"):
        from_env("gateway", {**base, "GUANJIA_SERVICE_KEY": TEST_SERVICE_KEY})
    old_public = auth._b64url(auth.public_raw(auth.load_private_key(TEST_SERVICE_KEY).public_key()))
    gateway = from_env(
        "gateway",
        {
            **base,
            "GUANJIA_SERVICE_KEY": TEST_SERVICE_KEY,
            "GUANJIA_JWT_PRIVATE_KEY": TEST_JWT_PRIVATE_KEY,
            "GUANJIA_JWT_PUBLIC_KEYS": f"{old_public}, ",
            "GUANJIA_RATE_LIMITS": "login=5/60,api=100/10",
        },
    )
    assert gateway.jwt_public_keys == (old_public,)
    # The rate limits are the gateway's own settings, read from the same variables (Settings.env).
    assert gateway_config.from_env(gateway.env).rate_limits == {"login": (5, 60), "api": (100, 10)}


def test_embedded_settings_generate_both_keys_once_under_var(tmp_path):
    from guanjia.config import from_env

    env = {"GUANJIA_VAR_DIR": str(tmp_path)}
    first, again = from_env("gateway", env), from_env("tickets", env)
    assert first.jwt_private_key == again.jwt_private_key and first.service_key == again.service_key
    assert (tmp_path / "jwt-signing.key").stat().st_mode & 0o777 == 0o600
    token = auth.issue_token(again, auth.Principal(subject="u", role="admin"))
    assert auth.verify_token(first, token).role == "admin"


def test_keys_load_from_pem_as_well():
    from cryptography.hazmat.primitives import serialization

    private = auth.load_private_key(TEST_JWT_PRIVATE_KEY)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    assert auth.kid_of(auth.load_private_key(pem).public_key()) == auth.kid_of(private.public_key())
    assert auth.split_public_keys(public_pem + public_pem) == (public_pem.strip(), public_pem.strip())
