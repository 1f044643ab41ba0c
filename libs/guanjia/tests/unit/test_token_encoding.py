"""Token verification: one canonical spelling per token, PyJWT's claim checks with a small clock-skew leeway."""

import base64
import time

import jwt
import pytest

from guanjia import auth
from guanjia.config import Settings
from guanjia.errors import Unauthorized
from guanjia.testing import TEST_JWT_PRIVATE_KEY, TEST_SERVICE_KEY

SETTINGS = Settings(
    service="billing", database_url="sqlite://", jwt_private_key=TEST_JWT_PRIVATE_KEY, service_key=TEST_SERVICE_KEY
)


def _claims(**changes) -> dict:
    now = int(time.time())
    return {"sub": "u1", "role": "admin", "iss": "guanjia", "aud": "guanjia", "iat": now, "exp": now + 60, **changes}


def _sign(claims: dict) -> str:
    private = auth.load_private_key(TEST_JWT_PRIVATE_KEY)
    return jwt.encode(claims, private, algorithm="EdDSA", headers={"kid": auth.kid_of(private.public_key())})


def _fresh_token() -> str:
    # A new jti each time, so no earlier verification is cached under this exact string.
    return auth.issue_token(SETTINGS, auth.Principal(subject="u1", role="admin"))


def test_a_signature_with_base64_padding_is_refused():
    token = _fresh_token()
    head, payload, signature = token.split(".")
    assert len(signature) == 86  # 64 bytes: two padding characters would make it 88
    with pytest.raises(Unauthorized, match="not a signed JWT"):
        auth.verify_token(SETTINGS, f"{head}.{payload}.{signature}==")
    with pytest.raises(Unauthorized):
        auth.verify_token(SETTINGS, f"{head}.{payload}.{signature}=")
    assert auth.verify_token(SETTINGS, token).subject == "u1"


def test_a_signature_with_other_unused_low_bits_is_refused():
    """86 characters carry 516 bits for 512: the last character has 4 unused bits, which must be zero."""
    token = _fresh_token()
    head, payload, signature = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(signature[-1])
    twin = signature[:-1] + alphabet[last | 0b0001]
    assert twin != signature
    assert base64.urlsafe_b64decode(twin + "==") == base64.urlsafe_b64decode(signature + "==")  # same bytes
    with pytest.raises(Unauthorized, match="not a signed JWT"):
        auth.verify_token(SETTINGS, f"{head}.{payload}.{twin}")


@pytest.mark.parametrize("bad", ["a.b", "a.b.c.d", "ey J.e30.AA", "eyJhbGciOiJFZERTQSJ9.e30+.AA", ""])
def test_malformed_tokens_are_refused(bad):
    with pytest.raises(Unauthorized):
        auth.verify_token(SETTINGS, bad)


def test_clock_skew_within_the_leeway_is_tolerated_beyond_it_refused():
    now = int(time.time())
    assert auth.verify_token(SETTINGS, _sign(_claims(exp=now - 10))).subject == "u1"
    with pytest.raises(Unauthorized, match="expired"):
        auth.verify_token(SETTINGS, _sign(_claims(exp=now - auth.LEEWAY_SECONDS - 5)))
    # A token from a gateway whose clock runs a little ahead is fine; one from far in the future is not.
    assert auth.verify_token(SETTINGS, _sign(_claims(iat=now + 10, nbf=now + 10))).subject == "u1"
    with pytest.raises(Unauthorized, match="not valid yet"):
        auth.verify_token(SETTINGS, _sign(_claims(nbf=now + 300)))


@pytest.mark.parametrize("missing", auth.REQUIRED_CLAIMS)
def test_every_required_claim_must_be_present(missing):
    claims = _claims()
    del claims[missing]
    with pytest.raises(Unauthorized):
        auth.verify_token(SETTINGS, _sign(claims))


def test_audience_issuer_and_subject_type_are_checked():
    for claims in (_claims(aud="other"), _claims(iss="other"), _claims(sub=42), _claims(aud=["x", "y"])):
        with pytest.raises(Unauthorized):
            auth.verify_token(SETTINGS, _sign(claims))
    assert auth.verify_token(SETTINGS, _sign(_claims(aud=["x", "guanjia"]))).subject == "u1"
