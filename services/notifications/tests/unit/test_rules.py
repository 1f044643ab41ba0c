"""The pure rules of sending, without infrastructure: quiet hours, back-off, caps, template limits, sealed numbers."""

import json
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from guanjia.errors import Invalid
from guanjia.pii import pii_lookup_hash
from notifications.config import AliyunSettings, SmsSettings, TencentSettings
from notifications.domain.caps import COMMUNITY_DAY, RECIPIENT_DAY, RECIPIENT_MINUTE, cap_windows, minute_start
from notifications.domain.dispatch import backoff, held
from notifications.domain.messages import phone_key, seal, unseal
from notifications.domain.notices import URL_RE
from notifications.domain.quiet_hours import in_quiet_hours, local_day_start, quiet_hours_end, today
from notifications.sms import AliyunSms, Message, TencentSms
from notifications.templates import render, segments, validate_text

SHANGHAI = "Asia/Shanghai"


def shanghai(day: int, hour: int, minute: int = 0) -> datetime:
    """A local time in Shanghai (November 2026), as the UTC instant the code receives."""
    return datetime(2026, 11, day, hour, minute, tzinfo=ZoneInfo(SHANGHAI)).astimezone(UTC)


# -- quiet hours -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("hour", "minute", "quiet"),
    [(20, 59, False), (21, 0, True), (23, 30, True), (0, 0, True), (3, 0, True), (7, 59, True), (8, 0, False)],
)
def test_quiet_hours_across_midnight_in_local_time(hour, minute, quiet):
    sms = SmsSettings(quiet_start=time(21), quiet_end=time(8))
    assert in_quiet_hours(shanghai(26, hour, minute), sms, SHANGHAI) is quiet


def test_quiet_hours_within_one_day_and_switched_off():
    lunch = SmsSettings(quiet_start=time(12), quiet_end=time(14))
    assert not in_quiet_hours(shanghai(26, 11, 59), lunch, SHANGHAI)
    assert in_quiet_hours(shanghai(26, 12), lunch, SHANGHAI)
    assert not in_quiet_hours(shanghai(26, 14), lunch, SHANGHAI)
    assert not in_quiet_hours(shanghai(26, 22), lunch, SHANGHAI)
    for off in (SmsSettings(quiet_start=None, quiet_end=None), SmsSettings(quiet_start=time(9), quiet_end=time(9))):
        assert not any(in_quiet_hours(shanghai(26, h), off, SHANGHAI) for h in range(24))


def test_quiet_hours_are_read_in_the_instance_timezone():
    sms = SmsSettings(quiet_start=time(21), quiet_end=time(8))
    at = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai, 14:00 in London
    assert in_quiet_hours(at, sms, SHANGHAI)
    assert not in_quiet_hours(at, sms, "Europe/London")


def test_the_end_of_quiet_hours_is_the_next_local_end_in_utc():
    sms = SmsSettings(quiet_start=time(21), quiet_end=time(8, 30))
    # Before midnight: tomorrow morning; after midnight: this morning; an aware non-UTC `now` is read the same.
    assert quiet_hours_end(shanghai(26, 22), sms, SHANGHAI) == shanghai(27, 8, 30)
    assert quiet_hours_end(shanghai(27, 3), sms, SHANGHAI) == shanghai(27, 8, 30)
    local = shanghai(27, 3).astimezone(ZoneInfo(SHANGHAI))
    assert quiet_hours_end(local, sms, SHANGHAI) == shanghai(27, 8, 30)
    assert quiet_hours_end(shanghai(27, 3), sms, SHANGHAI).tzinfo is not None


def test_the_local_day_starts_at_local_midnight():
    just_after = shanghai(27, 0, 30)  # still the 26th in UTC
    assert just_after.day == 26
    assert local_day_start(just_after, SHANGHAI) == shanghai(27, 0)
    assert today(just_after, SHANGHAI).isoformat() == "2026-11-27"
    assert today(just_after, "UTC").isoformat() == "2026-11-26"


# -- back-off ----------------------------------------------------------------------------------------------------------
def test_backoff_doubles_from_the_base_per_attempt():
    sms = SmsSettings(retry_base_seconds=30, retry_max_seconds=3600)
    delays = [backoff(n, sms, rng=lambda: 0).total_seconds() for n in range(0, 6)]
    assert delays == [15, 15, 30, 60, 120, 240]  # half the delay at the lowest jitter; attempts 0 and 1 alike


def test_backoff_jitter_stays_between_half_and_the_whole_delay_and_the_cap_holds():
    sms = SmsSettings(retry_base_seconds=30, retry_max_seconds=600)
    for draw in (0.0, 0.25, 0.5, 0.999999):
        seconds = backoff(3, sms, rng=lambda d=draw: d).total_seconds()
        assert 60 <= seconds < 120
        assert seconds == pytest.approx(120 * (0.5 + draw / 2))
    assert backoff(30, sms, rng=lambda: 0).total_seconds() == 300
    assert backoff(30, sms, rng=lambda: 0.999999).total_seconds() < 600


# -- caps ----------------------------------------------------------------------------------------------------------
def test_a_claim_counts_in_the_recipients_day_and_minute_and_the_communitys_day():
    at = shanghai(27, 0, 30) + timedelta(seconds=42)
    windows = cap_windows("r1", "c1", at, SHANGHAI)
    assert windows == [
        (RECIPIENT_DAY, "r1", shanghai(27, 0)),
        (RECIPIENT_MINUTE, "r1", shanghai(27, 0, 30)),
        (COMMUNITY_DAY, "c1", shanghai(27, 0)),
    ]
    assert cap_windows("r1", None, at, SHANGHAI) == windows[:2]  # a direct message belongs to no community
    assert minute_start(at.astimezone(ZoneInfo(SHANGHAI))) == shanghai(27, 0, 30)
    assert minute_start(at).tzinfo == UTC


CAPS = SmsSettings(
    quiet_start=time(21), quiet_end=time(8), recipient_per_day=3, recipient_per_minute=2, community_daily_budget=10
)


def counts(day=0, minute=0, community=0) -> dict:
    return {(RECIPIENT_DAY, "r1"): day, (RECIPIENT_MINUTE, "r1"): minute, (COMMUNITY_DAY, "c1"): community}


def hold(urgent=False, community="c1", values=None, now=None, quiet=False, channel="sms", at_night=False):
    now = now or shanghai(26, 10)
    return held(
        urgent,
        "r1",
        community,
        values or counts(),
        CAPS,
        now,
        SHANGHAI,
        quiet=quiet,
        channel=channel,
        at_night=at_night,
    )


def test_under_every_cap_and_outside_quiet_hours_a_message_is_claimed():
    assert hold(values=counts(day=2, minute=1, community=9)) is None
    assert hold(values={}) is None  # no counter yet counts as 0


def test_quiet_hours_hold_a_non_urgent_message_until_they_end_but_not_an_urgent_one():
    night = shanghai(26, 23)
    wait = hold(now=night, quiet=True)
    assert wait.code is None and wait.until == shanghai(27, 8) and "quiet hours" in wait.reason
    assert hold(urgent=True, now=night, quiet=True) is None
    # Quiet hours come first: a message over its daily cap waits for the morning instead of failing at night.
    assert hold(now=night, quiet=True, values=counts(day=3)).code is None


def test_quiet_hours_per_channel_wechat_goes_at_night_only_where_the_community_allows():
    night = shanghai(26, 23)
    # The community does not allow it: WeChat waits for the morning like SMS.
    wait = hold(now=night, quiet=True, channel="wechat")
    assert wait.code is None and wait.until == shanghai(27, 8)
    # It allows it: a non-urgent WeChat message goes at night; SMS keeps quiet hours whatever the community says.
    assert hold(now=night, quiet=True, channel="wechat", at_night=True) is None
    assert hold(now=night, quiet=True, channel="sms", at_night=True).until == shanghai(27, 8)
    assert hold(urgent=True, now=night, quiet=True, channel="wechat") is None


def test_the_sms_caps_do_not_hold_a_wechat_message():
    spent = counts(day=3, minute=2, community=10)
    assert hold(values=spent).code == "recipient_daily_cap"
    assert hold(values=spent, channel="wechat") is None
    assert hold(values=spent, channel="wechat", quiet=True, at_night=True, now=shanghai(26, 23)) is None


def test_the_recipients_daily_cap_fails_the_message_even_an_urgent_one():
    for urgent in (False, True):
        wait = hold(urgent=urgent, values=counts(day=3))
        assert wait.code == "recipient_daily_cap" and wait.until is None and "3" in wait.reason


def test_the_per_minute_cap_waits_a_minute():
    now = shanghai(26, 10, 5)
    wait = hold(values=counts(day=1, minute=2), now=now)
    assert wait.code is None and wait.until == now + timedelta(minutes=1)
    assert hold(urgent=True, values=counts(day=1, minute=2), now=now).until == now + timedelta(minutes=1)


def test_a_spent_community_budget_waits_for_the_next_local_day_unless_urgent():
    now = shanghai(26, 23, 50)  # late evening, outside quiet hours for this check
    wait = hold(values=counts(community=10), now=now)
    assert wait.code is None and wait.until == shanghai(27, 0)
    assert hold(urgent=True, values=counts(community=10), now=now) is None
    assert hold(community=None, values=counts(community=10), now=now) is None


# -- template limits -----------------------------------------------------------------------------------------------
def test_the_longest_notice_is_billed_in_four_parts():
    # The API allows a 20-character title and a 200-character body; with the signature that is 227 characters.
    text = render("notice", {"title": "字" * 20, "body": "字" * 200}, "zh-CN", "管家物业")
    assert len(text) == 227 and segments(text) == 4
    assert segments("") == 1 and segments("字" * 70) == 1 and segments("字" * 201) == 3 and segments("字" * 202) == 4


@pytest.mark.parametrize(
    "text",
    ["{number.__class__}", "{number[0]}", "{0}", "{}", "【{signature}】{number", "{signature}}{"],
)
def test_a_template_text_can_use_only_plain_variable_names(text):
    with pytest.raises(Invalid) as error:
        validate_text("ticket.resolved", text)
    assert "text" in error.value.errors


def test_an_override_is_used_in_its_own_locale_only_and_missing_variables_render_empty():
    overrides = {("ticket.resolved", "zh-CN"): "【{signature}】工单{number}已完成。"}
    assert render("ticket.resolved", {"number": "T1"}, "zh-CN", "S", overrides) == "【S】工单T1已完成。"
    assert render("ticket.resolved", {"number": "T1"}, "en", "S", overrides).startswith("[S] Your ticket T1")
    text = render("payment.received", {}, "zh-CN", "S")
    assert "{" not in text and "None" not in text


@pytest.mark.parametrize(
    ("text", "link"),
    [
        ("停水通知：明日9点至12点", False),
        ("详见 https://example.cn/a", True),
        ("详见www.example.org", True),
        ("访问 guanjia.top 了解", True),
        ("电梯3.5号维修", False),
    ],
)
def test_links_are_recognised_in_notice_text(text, link):
    assert bool(URL_RE.search(text)) is link


# -- sealed numbers (the library's PII scheme) -----------------------------------------------------------------
class Keyed:
    def __init__(self, pii_key):
        self.pii_key = pii_key


def test_a_direct_messages_number_is_sealed_by_the_library_scheme():
    settings, value = Keyed("k1"), {"phone": "+8613800138000", "variables": {"code": "483920"}}
    token = seal(settings, value)
    assert token.startswith("v1:") and "13800138000" not in token and "483920" not in token
    assert seal(settings, value) != token  # a fresh nonce each time
    assert unseal(settings, token) == value
    with pytest.raises(ValueError):
        unseal(Keyed("k2"), token)


def test_a_numbers_key_is_the_librarys_lookup_hash_cut_to_the_column():
    key = phone_key(Keyed("k1"), "+8613800138000")
    assert key == pii_lookup_hash("k1", "+8613800138000")[:32] and len(key) == 32
    assert key == phone_key(Keyed("k1"), "+8613800138000")
    assert key != phone_key(Keyed("k2"), "+8613800138000")
    assert key != phone_key(Keyed("k1"), "+8613800138001")


# -- provider request timestamps -------------------------------------------------------------------------------
def test_providers_sign_with_their_injected_wall_clock():
    stamp = 1764641000  # 2025-12-02T02:03:20Z
    message = Message(phone="+8613800138000", text="t", template="login_code", params={"code": "1234"})
    aliyun = SmsSettings(
        aliyun=AliyunSettings(access_key_id="id", access_key_secret="s", templates={"login_code": "SMS_1"})
    )
    params = AliyunSms(aliyun, clock=lambda: stamp).request_params(message)
    assert params["Timestamp"] == "2025-12-02T02:03:20Z"
    assert json.loads(params["TemplateParam"]) == {"code": "1234"}
    tencent = SmsSettings(tencent=TencentSettings(secret_id="id", secret_key="s", templates={"login_code": "1"}))
    headers, _ = TencentSms(tencent, clock=lambda: stamp).request(message)
    assert headers["X-TC-Timestamp"] == str(stamp) and "2025-12-02/sms/tc3_request" in headers["Authorization"]
