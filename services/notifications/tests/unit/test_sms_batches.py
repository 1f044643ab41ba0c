"""Aliyun's SendBatchSms without infrastructure: which messages share a call, the call's signed parameters, and
the per-number ids that the delivery reports find again."""

import json

import pytest

from notifications import config
from notifications.domain.dispatch import batch_calls
from notifications.domain.receipts import aliyun_message_ids, batch_message_id
from notifications.sms import AliyunSms, Message, ProviderChain, SmsError, aliyun_signature

PII_KEY = "unit-test-pii-key"


def aliyun(**templates):
    settings = config.SmsSettings(
        provider="aliyun",
        signature="幸福物业",
        aliyun=config.AliyunSettings(access_key_id="id", access_key_secret="secret", templates=templates),
    )
    return AliyunSms(settings, clock=lambda: 1_764_000_000.0)


def message(phone, template="fee.overdue.first", **params):
    return Message(phone=phone, text="…", template=template, params=params, reference=f"d-{phone}")


def test_messages_of_one_key_share_calls_of_at_most_the_size_and_one_message_per_number():
    keys = ["A", "A", "B", None, "A", "A", "B"]
    phones = ["1", "2", "3", "4", "1", "5", "6"]
    # The second message to number 1 goes in another call; None (no batch API, no template) goes alone.
    assert batch_calls(keys, phones, 3) == [[0, 1, 5], [2, 6], [3], [4]]
    assert batch_calls(keys, phones, 1) == [[i] for i in range(7)]  # a provider without a batch call
    assert [len(c) for c in batch_calls(["A"] * 250, [str(i) for i in range(250)], 100)] == [100, 100, 50]


def test_send_batch_sms_parameters_are_json_arrays_in_one_order_and_signed_like_send_sms():
    provider = aliyun(**{"fee.overdue.first": "SMS_1", "ticket.created": "SMS_2"})
    batch = [message("+8613800000001", amount="1.00"), message("+85291234567", amount="2.00")]
    params = provider.batch_params(batch)
    assert params["Action"] == "SendBatchSms" and params["Version"] == "2017-05-25" and "OutId" not in params
    assert json.loads(params["PhoneNumberJson"]) == ["13800000001", "85291234567"]
    assert json.loads(params["SignNameJson"]) == ["幸福物业", "幸福物业"]
    assert json.loads(params["TemplateParamJson"]) == [{"amount": "1.00"}, {"amount": "2.00"}]
    assert params["TemplateCode"] == "SMS_1"
    unsigned = {k: v for k, v in params.items() if k != "Signature"}
    assert params["Signature"] == aliyun_signature(unsigned, "secret")
    single = provider.request_params(batch[0])
    assert single["Action"] == "SendSms" and single["OutId"] == "d-+8613800000001"
    with pytest.raises(ValueError):  # one template per call
        provider.batch_params([batch[0], message("+8613800000002", template="ticket.created")])


def test_the_batch_key_is_the_first_providers_template_code():
    chain = ProviderChain([aliyun(**{"fee.overdue.first": "SMS_1"})])
    assert chain.batch_key(message("+8613800000001")) == "SMS_1"
    assert chain.batch_key(message("+8613800000001", template="ticket.created")) is None  # goes alone, fails there
    with pytest.raises(SmsError):
        chain.providers[0].template_code(message("+8613800000001", template="ticket.created"))


def test_a_numbers_id_in_a_batch_hides_the_number_and_its_report_finds_it():
    sent = batch_message_id(PII_KEY, "9001^0", "+8613800138000")
    assert sent.startswith("9001^0:") and "13800138000" not in sent and len(sent) <= 100
    assert sent != batch_message_id(PII_KEY, "9001^0", "+8613800138001")
    assert sent != batch_message_id("another-instance", "9001^0", "+8613800138000")
    for reported in ("13800138000", "8613800138000", "+86 138 0013 8000"):
        assert aliyun_message_ids(PII_KEY, "9001^0", reported) == ["9001^0", sent]
    abroad = batch_message_id(PII_KEY, "9002^0", "+85291234567")
    assert aliyun_message_ids(PII_KEY, "9002^0", "85291234567")[1] == abroad
    assert aliyun_message_ids(PII_KEY, "9003^0", None) == ["9003^0"]  # a SendSms report: the BizId alone
