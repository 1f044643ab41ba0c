"""The gateway's one 429 (RateLimiter.check), what every signed-in request meets at the edge (edge.hold_back), and the
library's phone field in sign-in by SMS — without infrastructure."""

import marshmallow as ma
import pytest

from gateway.config import GatewaySettings
from gateway.edge import hold_back
from gateway.ratelimit import MemoryStore, RateLimiter
from gateway.schemas import CodeRequest, CodeSignIn, UserCreate
from guanjia.auth import Principal
from guanjia.config import Settings
from guanjia.errors import TooManyRequests, Unauthorized


def _limiter(**limits) -> RateLimiter:
    settings = Settings(service="gateway", database_url="sqlite://", embedded=True)
    return RateLimiter(settings, GatewaySettings(rate_limits=limits), MemoryStore())


def test_check_passes_under_the_limit_and_raises_the_one_429_over_it():
    limiter = _limiter(login=(2, 60))
    limiter.check("login", "203.0.113.9")
    limiter.check("login", "203.0.113.9")
    with pytest.raises(TooManyRequests) as info:
        limiter.check("login", "203.0.113.9", "too many attempts; try again later")
    assert info.value.status == 429
    assert 1 <= info.value.retry_after <= 60
    assert info.value.extra == {"retry_after": info.value.retry_after}  # in the problem body too
    assert info.value.detail == "too many attempts; try again later"
    limiter.check("login", "198.51.100.1")  # another key has its own window


class _Revoked:
    def __init__(self, *subjects):
        self.subjects = set(subjects)

    def is_revoked(self, subject):
        return subject in self.subjects


def test_a_disabled_account_stops_at_the_edge_before_any_limit_is_counted():
    limiter = _limiter(api=(1, 60))
    with pytest.raises(Unauthorized):
        hold_back(Principal(subject="u-1", role="butler"), _Revoked("u-1"), limiter)
    hold_back(Principal(subject="u-1", role="butler"), _Revoked(), limiter)  # the first request of the window


def test_clients_are_limited_per_principal_and_the_services_not_at_all():
    limiter = _limiter(api=(1, 60))
    butler, service = Principal(subject="u-1", role="butler"), Principal(subject="billing", role="service")
    hold_back(butler, _Revoked(), limiter)
    with pytest.raises(TooManyRequests):
        hold_back(butler, _Revoked(), limiter)
    for _ in range(3):
        hold_back(service, _Revoked(), limiter)
    hold_back(butler, None, None)  # a router built without revocations or limits lets everyone pass


@pytest.mark.parametrize("schema", [CodeRequest, CodeSignIn])
def test_sms_sign_in_takes_any_spelling_of_the_phone(schema):
    body = {"phone": "+86 138-0013-8000", "code": "123456"} if schema is CodeSignIn else {"phone": "138 0013 8000"}
    assert schema().load(body)["phone"] == "+8613800138000"


@pytest.mark.parametrize(
    ("raw", "message"), [("not a phone", "not a phone number"), ("110", "not a valid phone number")]
)
def test_a_bad_phone_is_named_like_in_every_other_service(raw, message):
    with pytest.raises(ma.ValidationError) as info:
        CodeRequest().load({"phone": raw})
    assert info.value.messages == {"phone": [message]}


def test_a_staff_account_phone_is_optional_and_normalised():
    base = {"username": "butler.wang", "role": "butler"}
    assert UserCreate().load({**base, "phone": None})["phone"] is None
    assert UserCreate().load({**base, "phone": "13800138000"})["phone"] == "+8613800138000"
