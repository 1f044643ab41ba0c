"""Events → deliveries → the real provider APIs (fake servers checking signatures and parameters): each provider's
request, errors, throttling, back-off, failover; exactly one message per (event, recipient, channel)."""

import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from notifications.domain.receipts import batch_message_id
from notifications.models import Delivery, outbox


def rows(pipeline, event_id):
    with pipeline.database.transaction() as s:
        return list(
            s.execute(select(Delivery).where(Delivery.event_id == event_id).order_by(Delivery.created_at)).scalars()
        )


def published(pipeline, event_type, delivery_id):
    with pipeline.database.transaction() as s:
        payloads = s.execute(select(outbox.c.payload).where(outbox.c.event_type == event_type)).scalars()
        return [json.loads(p) for p in payloads if delivery_id in p]


def fee_overdue(make_event, unit_id, community_id, stage="first", payer_id=None):
    return make_event(
        "fee.overdue",
        {
            "bill_id": str(uuid.uuid4()),
            "unit_id": unit_id,
            "community_id": community_id,
            "period": "2026-11",
            "amount_due": "1234.50",
            "due_date": "2026-11-15",
            "stage": stage,
            "days_overdue": 12,
            "payer_id": payer_id,
        },
    )


@pytest.fixture
def household(directory):
    unit, community = str(uuid.uuid4()), str(uuid.uuid4())
    owners = [directory.resident(unit_id=unit, community_id=community) for _ in range(2)]
    tenant = directory.resident(unit_id=unit, community_id=community, role="tenant")
    return {"unit_id": unit, "community_id": community, "owners": owners, "tenant": tenant}


def test_fee_overdue_reaches_the_owners_through_aliyun_with_a_signed_request(pipeline, household, fake_sms, make_event):
    p = pipeline("aliyun")
    event = fee_overdue(make_event, household["unit_id"], household["community_id"])
    assert p.handle(event) == "applied"
    assert {r.status for r in rows(p, event["id"])} == {"pending"}  # written before anything is sent
    assert fake_sms.of("aliyun") == []

    assert p.dispatch() == 2
    sent = fake_sms.of("aliyun")
    assert sorted(m["phone"] for m in sent) == sorted(o["phone"] for o in household["owners"])
    assert household["tenant"]["phone"] not in [m["phone"] for m in sent]
    code = p.sms.aliyun.templates["fee.overdue.first"]
    assert all(m["template"] == code and m["sign"] == "幸福物业" for m in sent)
    assert sent[0]["params"] == {"period": "2026-11", "amount": "1234.50", "due_date": "2026-11-15"}

    # The owners' messages (one template) went in one SendBatchSms call: each delivery has its own id, the call's
    # BizId and a key of its number (never the number itself), which the delivery report names.
    assert fake_sms.requests["aliyun"] == 1 and all(m["batch"] for m in sent)
    deliveries = rows(p, event["id"])
    assert {d.status for d in deliveries} == {"sent"}
    [biz_id] = {m["id"] for m in sent}
    pii_key = p.context.settings.pii_key
    assert {d.provider_message_id for d in deliveries} == {batch_message_id(pii_key, biz_id, m["phone"]) for m in sent}
    assert len({d.provider_message_id for d in deliveries}) == 2
    assert not any(m["phone"][3:] in d.provider_message_id for m in sent for d in deliveries)
    text = deliveries[0].text
    assert text.startswith("【幸福物业】缴费提醒") and "催" not in text and deliveries[0].segments == 1
    [notice] = published(p, "notification.sent", deliveries[0].id)
    assert notice["data"]["event_id"] == event["id"] and notice["data"]["recipient_id"] == deliveries[0].recipient_id
    assert household["owners"][0]["phone"][3:] not in json.dumps(notice)


def test_a_redelivered_event_sends_nothing_new(pipeline, household, fake_sms, make_event):
    p = pipeline("aliyun")
    event = fee_overdue(
        make_event, household["unit_id"], household["community_id"], payer_id=household["owners"][0]["resident_id"]
    )
    assert p.handle(event) == "applied"
    p.dispatch()
    assert p.handle(event) == "duplicate"
    assert p.dispatch() == 0
    assert len(fake_sms.of("aliyun")) == 1 and len(rows(p, event["id"])) == 1
    # A lone message goes by SendSms: its own BizId, our delivery id as OutId.
    [message], [delivery] = fake_sms.of("aliyun"), rows(p, event["id"])
    assert (
        not message["batch"] and message["reference"] == delivery.id and delivery.provider_message_id == message["id"]
    )


def test_tencent_gets_positional_parameters_under_a_tc3_signature(pipeline, household, fake_sms, make_event):
    p = pipeline("tencent")
    owner = household["owners"][0]
    event = make_event(
        "payment.received",
        {
            "payment_id": str(uuid.uuid4()),
            "community_id": household["community_id"],
            "unit_id": household["unit_id"],
            "amount": "300.00",
            "method": "wechat",
            "receipt_number": "R2026-000123",
            "received_at": "2026-11-26T01:00:00+00:00",
            "payer_id": owner["resident_id"],
        },
    )
    p.handle(event)
    p.dispatch()
    [message] = fake_sms.of("tencent")
    assert message["phone"] == owner["phone"] and message["sign"] == "幸福物业"
    assert message["template"] == p.sms.tencent.templates["payment.received"]
    assert message["params"] == ["300.00", "R2026-000123"]  # the template's variables in declared order
    [delivery] = rows(p, event["id"])
    assert (
        delivery.status == "sent" and delivery.provider == "tencent" and delivery.provider_message_id == message["id"]
    )


def test_twilio_sends_the_text_in_the_recipients_locale(pipeline, directory, fake_sms, make_event):
    p = pipeline("twilio")
    resident = directory.resident(locale="en")
    event = make_event(
        "resident.moved_in",
        {
            "resident_id": resident["resident_id"],
            "unit_id": resident["unit_id"],
            "community_id": resident["community_id"],
            "moved_in_at": "2026-11-26T01:00:00+00:00",
        },
    )
    p.handle(event)
    p.dispatch()
    [message] = fake_sms.of("twilio")
    assert message["body"] == "[幸福物业] Welcome home! Contact your butler for repairs or questions."
    assert message["callback"] == p.sms.twilio.status_callback_url
    [delivery] = rows(p, event["id"])
    assert delivery.locale == "en" and delivery.text == message["body"]


@pytest.mark.parametrize(
    ("provider", "script", "code"),
    [
        ("aliyun", "isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_NUMBER_ILLEGAL"),
        ("tencent", "InvalidParameterValue.IncorrectPhoneNumber", "InvalidParameterValue.IncorrectPhoneNumber"),
        ("twilio", 21211, "twilio_21211"),
    ],
)
def test_a_permanent_refusal_fails_at_once_and_publishes_notification_failed(
    pipeline, household, fake_sms, make_event, provider, script, code
):
    p = pipeline(provider)
    owner = household["owners"][0]
    fake_sms.script[provider] = [script]
    event = fee_overdue(make_event, household["unit_id"], household["community_id"], payer_id=owner["resident_id"])
    p.handle(event)
    p.dispatch()
    [delivery] = rows(p, event["id"])
    assert delivery.status == "failed" and delivery.error_code == code and delivery.attempts == 1
    assert owner["phone"][3:] not in (delivery.reason or "")
    [failed] = published(p, "notification.failed", delivery.id)
    assert failed["data"]["error_code"] == code and failed["data"]["status"] == "failed"
    assert p.dispatch() == 0 and fake_sms.of(provider) == []  # not retried


@pytest.mark.parametrize(
    ("provider", "script", "window"),
    [
        ("aliyun", "isv.BUSINESS_LIMIT_CONTROL", 60),
        ("tencent", "RequestLimitExceeded", 1),
        ("tencent", "LimitExceeded.PhoneNumberThirtySecondLimit", 30),
        ("twilio", 20429, 2),  # Retry-After
    ],
)
def test_throttling_defers_until_the_window_passes_without_using_an_attempt(
    pipeline, household, fake_sms, make_event, clock, provider, script, window
):
    p = pipeline(provider)
    fake_sms.script[provider] = [script]
    event = fee_overdue(
        make_event, household["unit_id"], household["community_id"], payer_id=household["owners"][0]["resident_id"]
    )
    p.handle(event)
    p.dispatch()
    [delivery] = rows(p, event["id"])
    expected_code = f"twilio_{script}" if provider == "twilio" else script
    assert delivery.status == "pending" and delivery.attempts == 0 and delivery.error_code == expected_code
    assert delivery.next_attempt_at == clock() + timedelta(seconds=window)
    clock.advance(seconds=window - 0.5)
    assert p.dispatch() == 0
    clock.advance(seconds=1)
    assert p.dispatch() == 1
    assert [d.status for d in rows(p, event["id"])] == ["sent"] and len(fake_sms.of(provider)) == 1


def test_transient_errors_back_off_exponentially_with_jitter_then_give_up(
    pipeline, household, fake_sms, make_event, clock
):
    p = pipeline("twilio", max_attempts=3)
    fake_sms.script["twilio"] = [500, 500, 500]
    event = fee_overdue(
        make_event, household["unit_id"], household["community_id"], payer_id=household["owners"][0]["resident_id"]
    )
    p.handle(event)
    waits = []
    for attempt in (1, 2):
        p.dispatch()
        [delivery] = rows(p, event["id"])
        assert delivery.status == "pending" and delivery.attempts == attempt
        wait = (delivery.next_attempt_at - clock()).total_seconds()
        base = 10 * 2 ** (attempt - 1)
        assert base / 2 <= wait < base  # base·2^(n-1) with jitter in [0.5, 1)
        waits.append(wait)
        clock.advance(seconds=wait)
    p.dispatch()
    [delivery] = rows(p, event["id"])
    assert delivery.status == "failed" and delivery.attempts == 3 and delivery.reason.startswith("gave up")
    assert fake_sms.requests["twilio"] == 3 and fake_sms.of("twilio") == []


def test_failover_to_the_next_provider_when_the_first_is_down(pipeline, household, fake_sms, make_event):
    p = pipeline("aliyun", failover=("tencent",))
    fake_sms.script["aliyun"] = ["isp.SYSTEM_ERROR"]
    event = fee_overdue(
        make_event, household["unit_id"], household["community_id"], payer_id=household["owners"][0]["resident_id"]
    )
    p.handle(event)
    p.dispatch()
    [delivery] = rows(p, event["id"])
    assert delivery.status == "sent" and delivery.provider == "tencent"
    assert fake_sms.requests["aliyun"] == 1 and len(fake_sms.of("tencent")) == 1


def test_wrong_credentials_are_a_provider_failure_not_a_silent_success(pipeline, household, fake_sms, make_event):
    import dataclasses

    p = pipeline("aliyun")
    p.sms = dataclasses.replace(p.sms, aliyun=dataclasses.replace(p.sms.aliyun, access_key_secret="wrong"))
    from notifications.sms import provider_chain

    p.context.chain = provider_chain(p.sms)
    event = fee_overdue(
        make_event, household["unit_id"], household["community_id"], payer_id=household["owners"][0]["resident_id"]
    )
    p.handle(event)
    p.dispatch()
    [delivery] = rows(p, event["id"])
    assert delivery.status == "failed" and delivery.error_code == "SignatureDoesNotMatch"
    assert fake_sms.of("aliyun") == []


def test_a_batch_refused_for_one_bad_number_is_sent_one_by_one_so_only_that_number_fails(
    pipeline, household, directory, fake_sms, make_event
):
    p = pipeline("aliyun")
    abroad = directory.resident(
        unit_id=household["unit_id"], community_id=household["community_id"], phone="+85291234567"
    )
    event = fee_overdue(make_event, household["unit_id"], household["community_id"])
    p.handle(event)
    assert p.dispatch() == 3
    # The call of three is refused (isv.MOBILE_NUMBER_ILLEGAL), then each goes by SendSms.
    assert fake_sms.requests["aliyun"] == 4
    sent = fake_sms.of("aliyun")
    assert sorted(m["phone"] for m in sent) == sorted(o["phone"] for o in household["owners"])
    assert not any(m["batch"] for m in sent)
    by_recipient = {d.recipient_id: d for d in rows(p, event["id"])}
    failed = by_recipient.pop(abroad["resident_id"])
    assert failed.status == "failed" and failed.error_code == "isv.MOBILE_NUMBER_ILLEGAL" and failed.attempts == 1
    assert {d.status for d in by_recipient.values()} == {"sent"}
    assert {d.provider_message_id for d in by_recipient.values()} == {m["id"] for m in sent}
    assert [f["data"]["delivery_id"] for f in published(p, "notification.failed", failed.id)] == [failed.id]


def test_a_throttled_batch_waits_out_the_window_without_using_an_attempt_then_goes_in_one_call(
    pipeline, household, fake_sms, make_event, clock
):
    p = pipeline("aliyun")
    fake_sms.script["aliyun"] = ["isv.BUSINESS_LIMIT_CONTROL"]
    event = fee_overdue(make_event, household["unit_id"], household["community_id"])
    p.handle(event)
    assert p.dispatch() == 2
    waiting = rows(p, event["id"])
    assert {(d.status, d.attempts, d.error_code) for d in waiting} == {("pending", 0, "isv.BUSINESS_LIMIT_CONTROL")}
    assert {d.next_attempt_at for d in waiting} == {clock() + timedelta(seconds=60)}
    clock.advance(seconds=61)
    assert p.dispatch() == 2
    assert fake_sms.requests["aliyun"] == 2 and len({m["id"] for m in fake_sms.of("aliyun")}) == 1
    assert {d.status for d in rows(p, event["id"])} == {"sent"}


def test_a_batch_fails_over_message_by_message_when_the_first_provider_is_down(
    pipeline, household, fake_sms, make_event
):
    p = pipeline("aliyun", failover=("tencent",))
    fake_sms.script["aliyun"] = ["isp.SYSTEM_ERROR"]
    event = fee_overdue(make_event, household["unit_id"], household["community_id"])
    p.handle(event)
    assert p.dispatch() == 2
    deliveries = rows(p, event["id"])
    assert {(d.status, d.provider) for d in deliveries} == {("sent", "tencent")}
    assert {d.provider_message_id for d in deliveries} == {m["id"] for m in fake_sms.of("tencent")}
    assert fake_sms.requests["aliyun"] == 1 and len(fake_sms.of("tencent")) == 2
