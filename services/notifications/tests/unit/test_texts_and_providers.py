"""Templates, segments, quiet hours, back-off, provider signatures and settings, without infrastructure."""

import logging
from datetime import UTC, datetime, time

import marshmallow as ma
import pytest

from guanjia.errors import Invalid
from notifications import config
from notifications.domain.dispatch import backoff
from notifications.domain.quiet_hours import in_quiet_hours, quiet_hours_end
from notifications.payloads import SCHEMAS, TicketCreated
from notifications.sms import ConsoleSms, aliyun_signature, tc3_signature, twilio_signature
from notifications.templates import TEMPLATES, render, segments, validate_text


@pytest.mark.parametrize(
    ("category", "kind"),
    [("repair", "报修"), ("complaint", "投诉"), ("inquiry", "咨询"), ("suggestion", "建议"), ("new_kind", "工单")],
)
def test_ticket_created_text_names_the_kind_and_number(category, kind):
    text = render("ticket.created", {"category": category, "number": "T00000123"}, "zh-CN", "幸福物业")
    assert text == f"【幸福物业】您的{kind}已受理，工单号T00000123，我们将尽快处理。"


def test_an_unknown_locale_falls_back_to_chinese_and_english_exists_for_every_template():
    variables = {"category": "repair", "number": "N1"}
    assert render("ticket.created", variables, "xx-XX", "S") == render("ticket.created", variables, "zh-CN", "S")
    for template in TEMPLATES.values():
        assert set(template.texts) == {"zh-CN", "en"}
        for text in template.texts.values():
            validate_text(template.key, text)  # every default uses only its own variables


def test_fee_reminders_use_neutral_wording():
    for stage in ("first", "second", "final"):
        text = render(f"fee.overdue.{stage}", {"period": "2026-11", "amount": "1.00", "due_date": "x"}, "zh-CN", "S")
        assert "缴费提醒" in text and "催" not in text


def test_a_template_with_an_unknown_variable_is_refused_naming_the_text():
    with pytest.raises(Invalid) as error:
        validate_text("payment.received", "【{signature}】{amount}元 {name}")
    assert "text" in error.value.errors and "{name}" in error.value.errors["text"][0]


@pytest.mark.parametrize(("length", "parts"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3)])
def test_segments_are_70_for_one_part_else_67_per_part(length, parts):
    assert segments("字" * length) == parts


def test_quiet_hours_in_the_instance_timezone():
    sms = config.SmsSettings(quiet_start=time(21), quiet_end=time(8))
    at = lambda h, m=0: datetime(2026, 11, 26, h, m, tzinfo=UTC)  # noqa: E731 (UTC; Shanghai is +8)
    assert in_quiet_hours(at(13), sms, "Asia/Shanghai")  # 21:00 local
    assert not in_quiet_hours(at(12, 59), sms, "Asia/Shanghai")
    assert not in_quiet_hours(at(0), sms, "Asia/Shanghai")  # 08:00 local
    assert quiet_hours_end(at(14), sms, "Asia/Shanghai") == datetime(2026, 11, 27, 0, 0, tzinfo=UTC)
    assert not in_quiet_hours(at(13), config.SmsSettings(quiet_start=None, quiet_end=None), "Asia/Shanghai")


def test_backoff_doubles_with_jitter_and_is_capped():
    sms = config.SmsSettings(retry_base_seconds=30, retry_max_seconds=600)
    assert backoff(1, sms, rng=lambda: 0).total_seconds() == 15
    assert backoff(3, sms, rng=lambda: 0.999).total_seconds() == pytest.approx(119.94)
    assert backoff(10, sms, rng=lambda: 0.999).total_seconds() < 600


def test_provider_signatures_match_the_documented_examples():
    # Aliyun's documented example (RPC signature v1): AccessKeyId "testId", AccessKeySecret "testSecret".
    params = {
        "AccessKeyId": "testId",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }
    assert aliyun_signature(params, "testSecret", "GET") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    # Tencent Cloud's documented TC3-HMAC-SHA256 example (API 3.0 signature v3, CVM DescribeInstances): the secret
    # key is printed masked in the guide and signed as written, asterisks included.
    payload = r'{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}'
    scope, signature = tc3_signature(
        "Gu5t9xGARNpq86cd98joQYCN3*******", "cvm.tencentcloudapi.com", 1551113065, payload, service="cvm"
    )
    assert scope == "2019-02-25/cvm/tc3_request"
    assert signature == "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"
    # The SMS API signs the same way with service "sms": only the scope (and so the key) differs.
    sms_scope, sms_signature = tc3_signature(
        "Gu5t9xGARNpq86cd98joQYCN3*******", "sms.tencentcloudapi.com", 1551113065, "{}"
    )
    assert sms_scope == "2019-02-25/sms/tc3_request" and sms_signature != signature
    # Twilio: the same URL and parameters always give the same signature; a changed parameter does not.
    url = "https://example.org/cb"
    assert twilio_signature("t", url, {"a": "1", "b": "2"}) == twilio_signature("t", url, {"b": "2", "a": "1"})
    assert twilio_signature("t", url, {"a": "1"}) != twilio_signature("t", url, {"a": "2"})


def test_console_provider_logs_the_masked_phone_never_the_raw_one(caplog):
    caplog.set_level(logging.INFO, logger="notifications.sms")
    message_id = ConsoleSms().send("+8613800138000", "【管家物业】您的报修已受理")
    assert message_id.startswith("console-")
    lines = [r.getMessage() for r in caplog.records if r.name == "notifications.sms"]
    assert len(lines) == 1 and "138****8000" in lines[0]
    assert "13800138000" not in caplog.text + repr([vars(r) for r in caplog.records])


def test_settings_from_the_environment():
    env = {
        "GUANJIA_SMS_PROVIDER": "aliyun",
        "GUANJIA_SMS_FAILOVER": "tencent,twilio",
        "GUANJIA_SMS_ALIYUN_TEMPLATES": '{"fee.overdue.first": "SMS_1"}',
        "GUANJIA_SMS_QUIET_HOURS": "22:00-07:30",
        "GUANJIA_SMS_RECIPIENT_PER_DAY": "5",
    }
    sms = config.from_env(None, {**env, "GUANJIA_SMS_SIGNATURE": "幸福物业"})
    assert sms.chain == ("aliyun", "tencent", "twilio") and sms.signature == "幸福物业"
    assert sms.aliyun.templates == {"fee.overdue.first": "SMS_1"}
    assert (sms.quiet_start, sms.quiet_end) == (time(22), time(7, 30)) and sms.recipient_per_day == 5
    assert config.from_env(None, {"GUANJIA_SMS_QUIET_HOURS": "off"}).quiet_start is None
    for bad in (
        {"GUANJIA_SMS_PROVIDER": "pigeon"},
        {"GUANJIA_SMS_ALIYUN_TEMPLATES": "{"},
        {"GUANJIA_SMS_QUIET_HOURS": "9"},
    ):
        with pytest.raises(RuntimeError):
            config.from_env(None, bad)


def test_consumer_payloads_tolerate_new_fields_and_null_reporters():
    loaded = TicketCreated().load(
        {"ticket_id": "t", "number": "n", "reporter_id": None, "category": "repair", "priority": "high", "x": 1}
    )
    assert loaded["reporter_id"] is None and "x" not in loaded
    with pytest.raises(ma.ValidationError) as error:
        TicketCreated().load({"ticket_id": "t", "number": "n", "category": "repair"})
    assert "reporter_id" in error.value.messages
    assert set(SCHEMAS) >= {"ticket.created", "fee.overdue", "patrol.zone_overdue"}


def test_a_provider_that_cannot_be_reached_is_a_transient_network_error():
    import socket

    from notifications.sms import TRANSIENT, AliyunSms, Message, SmsError

    with socket.socket() as probe:  # a local port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = config.SmsSettings(
        provider="aliyun",
        aliyun=config.AliyunSettings(
            access_key_id="id", access_key_secret="s", endpoint=f"http://127.0.0.1:{port}/", templates={"notice": "C"}
        ),
    )
    with pytest.raises(SmsError) as refused:
        AliyunSms(settings).send(Message(phone="+8613800138000", text="…", template="notice"))
    assert refused.value.code == "network" and refused.value.kind == TRANSIENT and "138" not in str(refused.value)
