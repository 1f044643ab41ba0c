"""The envelope, tokens and personal-data helpers, without infrastructure."""

import io
import json
import logging
import time

import jwt
import pytest

from guanjia import auth, events, pii
from guanjia import logging as glog
from guanjia.config import Settings
from guanjia.errors import Invalid, Unauthorized

SETTINGS = Settings(service="tickets", database_url="sqlite://", jwt_secret="k" * 40)


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
        lambda c: {**c, "exp": int(time.time()) - 10},
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
        auth.verify_token(SETTINGS, jwt.encode(mutate(claims), SETTINGS.jwt_secret, algorithm="HS256"))


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
