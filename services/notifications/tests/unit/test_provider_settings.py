"""The provider settings an admin reads: the chain and the template ids as they are, every secret only as set or
not, an access key id by its ends; nobody else reads them."""

import pytest

from guanjia.auth import Principal
from guanjia.errors import Forbidden
from notifications.config import AliyunSettings, SmsSettings, TwilioSettings
from notifications.domain.provider import provider_settings

SMS = SmsSettings(
    provider="aliyun",
    failover=("twilio",),
    aliyun=AliyunSettings(
        access_key_id="LTAI5tAbCdEfGhIjKl",
        access_key_secret="very-secret-value",
        templates={"ticket.created": "SMS_123456789"},
    ),
    twilio=TwilioSettings(account_sid="AC0123456789", auth_token="twilio-token-xyz"),
)


def test_secrets_are_never_shown_and_ids_only_by_their_ends():
    found = provider_settings(Principal(subject="u1", role="admin"), SMS)
    assert found["chain"] == ["aliyun", "twilio"] and found["quiet_hours"] == "21:00-08:00"
    text = repr(found)
    for secret in ("very-secret-value", "twilio-token-xyz", "LTAI5tAbCdEfGhIjKl", "AC0123456789"):
        assert secret not in text
    aliyun = next(p for p in found["providers"] if p["name"] == "aliyun")
    fields = {f["name"]: f for f in aliyun["fields"]}
    assert fields["access_key_secret"] == {"name": "access_key_secret", "set": True, "value": None}
    assert fields["access_key_id"]["value"] == "LTAI****Kl"
    assert fields["callback_token"] == {"name": "callback_token", "set": False, "value": None}
    assert aliyun["in_chain"] and aliyun["templates"] == {"ticket.created": "SMS_123456789"}
    tencent = next(p for p in found["providers"] if p["name"] == "tencent")
    assert not tencent["in_chain"]


@pytest.mark.parametrize("role", ["cs_manager", "senior_butler", "integrator", "service"])
def test_only_an_admin_reads_them(role):
    with pytest.raises(Forbidden):
        provider_settings(Principal(subject="u1", role=role), SMS)
