"""The API around the pipeline: receipts (signed/tokened, idempotent), notices, direct messages, templates,
resend and daily statistics — bad input gets problem+json naming the field and sends nothing."""

import json
import uuid

import pytest
from sqlalchemy import select

from guanjia.testing import auth_header
from notifications.models import Delivery, outbox


@pytest.fixture
def world(pipeline, directory):
    p = pipeline("twilio")
    app = p.app()
    settings = app.extensions["guanjia.settings"]
    return p, app.test_client(), settings


def row(p, delivery_id):
    with p.database.transaction() as s:
        return s.get(Delivery, delivery_id)


def published(p, event_type, delivery_id):
    with p.database.transaction() as s:
        payloads = s.execute(select(outbox.c.payload).where(outbox.c.event_type == event_type)).scalars()
        return [json.loads(x) for x in payloads if delivery_id in x]


def sent_moved_in(p, directory, make_event, provider_message=None):
    resident = directory.resident()
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
    with p.database.transaction() as s:
        return s.execute(select(Delivery).where(Delivery.event_id == event["id"])).scalar_one()


# -- receipts --------------------------------------------------------------------------------------------------------
def test_twilio_status_callback_is_verified_applied_once_and_published(world, directory, make_event, fakes):
    from notifications.sms import twilio_signature

    p, client, _ = world
    delivery = sent_moved_in(p, directory, make_event)
    url = p.sms.twilio.status_callback_url
    form = {"MessageSid": delivery.provider_message_id, "MessageStatus": "delivered", "AccountSid": fakes.TWILIO_SID}
    signed = {"X-Twilio-Signature": twilio_signature(fakes.TWILIO_TOKEN, url, form)}
    path = "/api/v1/notifications/receipts/twilio"

    forged = client.post(path, data={**form, "MessageStatus": "undelivered"}, headers=signed)
    assert forged.status_code == 403 and forged.mimetype == "application/problem+json"
    assert row(p, delivery.id).status == "sent"

    assert client.post(path, data=form, headers=signed).status_code == 204
    assert client.post(path, data=form, headers=signed).status_code == 204  # providers repeat receipts
    current = row(p, delivery.id)
    assert current.status == "delivered" and current.delivered_at is not None
    [event] = published(p, "notification.delivered", delivery.id)
    assert event["data"]["status"] == "delivered" and event["data"]["delivery_id"] == delivery.id


def test_aliyun_receipts_need_the_token_and_report_failures(pipeline, directory, make_event):
    p = pipeline("aliyun")
    client = p.app().test_client()
    delivery = sent_moved_in(p, directory, make_event)
    report = [
        {
            "phone_number": "138****0000",
            "send_time": "2026-11-26 10:00:00",
            "report_time": "2026-11-26 10:00:05",
            "success": False,
            "err_code": "MK:0001",
            "err_msg": "用户关机",
            "sms_size": "1",
            "biz_id": delivery.provider_message_id,
            "out_id": delivery.id,
        }
    ]
    path = "/api/v1/notifications/receipts/aliyun"
    assert client.post(f"{path}?token=guess", json=report).status_code == 403
    assert row(p, delivery.id).status == "sent"
    answer = client.post(f"{path}?token=aliyun-receipts-token", json=report)
    assert answer.status_code == 200 and answer.json == {"code": 0, "msg": "成功"}
    failed = row(p, delivery.id)
    assert failed.status == "failed" and failed.error_code == "MK:0001"
    [event] = published(p, "notification.failed", delivery.id)
    assert event["data"]["error_code"] == "MK:0001"
    unknown = client.post(f"{path}?token=aliyun-receipts-token", json=[{**report[0], "biz_id": "nope"}])
    assert unknown.json["code"] == 1  # Aliyun pushes it again later
    bad = client.post(f"{path}?token=aliyun-receipts-token", json={"success": True})
    assert bad.status_code == 422 and "body" in bad.json["errors"]


def test_an_aliyun_receipt_for_one_number_of_a_batch_applies_to_that_delivery_only(
    pipeline, directory, make_event, fake_sms
):
    p = pipeline("aliyun")
    client = p.app().test_client()
    unit, community = str(uuid.uuid4()), str(uuid.uuid4())
    first, second = (directory.resident(unit_id=unit, community_id=community) for _ in range(2))
    event = make_event(
        "fee.overdue",
        {
            "bill_id": str(uuid.uuid4()),
            "unit_id": unit,
            "community_id": community,
            "period": "2026-11",
            "amount_due": "10.00",
            "due_date": "2026-11-15",
            "stage": "first",
            "days_overdue": 3,
            "payer_id": None,
        },
    )
    p.handle(event)
    assert p.dispatch() == 2
    [biz_id] = {m["id"] for m in fake_sms.of("aliyun")}  # one SendBatchSms call for both owners
    with p.database.transaction() as s:
        deliveries = s.execute(select(Delivery).where(Delivery.event_id == event["id"])).scalars()
        delivery_of = {d.recipient_id: d.id for d in deliveries}

    def report(person, success, code):
        number = person["phone"][3:]
        return {"phone_number": number, "success": success, "err_code": code, "biz_id": biz_id, "out_id": ""}

    path = "/api/v1/notifications/receipts/aliyun?token=aliyun-receipts-token"
    answer = client.post(path, json=[report(first, True, "DELIVERED")])
    assert answer.json == {"code": 0, "msg": "成功"}
    assert row(p, delivery_of[first["resident_id"]]).status == "delivered"
    assert row(p, delivery_of[second["resident_id"]]).status == "sent"  # its own report has not come
    assert client.post(path, json=[report(second, False, "MK:0001")]).json["code"] == 0
    failed = row(p, delivery_of[second["resident_id"]])
    assert failed.status == "failed" and failed.error_code == "MK:0001"
    assert row(p, delivery_of[first["resident_id"]]).status == "delivered"
    stranger = {**report(first, True, "DELIVERED"), "phone_number": "13900000000"}
    assert client.post(path, json=[stranger]).json["code"] == 1  # no such number in that call


def test_tencent_receipts(pipeline, directory, make_event):
    p = pipeline("tencent")
    client = p.app().test_client()
    delivery = sent_moved_in(p, directory, make_event)
    report = [
        {
            "user_receive_time": "2026-11-26 10:00:04",
            "nationcode": "86",
            "mobile": "13800000000",
            "report_status": "SUCCESS",
            "errmsg": "DELIVRD",
            "description": "用户短信送达成功",
            "sid": delivery.provider_message_id,
        }
    ]
    path = "/api/v1/notifications/receipts/tencent?token=tencent-receipts-token"
    assert client.post(path, json=report).json == {"result": 0, "errmsg": "OK"}
    assert row(p, delivery.id).status == "delivered"


# -- notices ---------------------------------------------------------------------------------------------------------
def test_a_zone_notice_fans_out_to_its_residents_and_an_unknown_zone_is_refused(world, directory, fake_sms):
    p, client, settings = world
    community, zone = str(uuid.uuid4()), str(uuid.uuid4())
    directory.zones[zone] = {"zone_id": zone, "community_id": community, "name": "北区", "butler_ids": []}
    people = [directory.resident(community_id=community) for _ in range(3)]
    people.append(directory.resident(community_id=community, opted_out=True))
    directory.areas[(community, "zone", zone)] = [r["resident_id"] for r in people]
    manager = auth_header(settings, "cs_manager", communities=[community])
    body = {
        "community_id": community,
        "scope": "zone",
        "target_id": zone,
        "title": "停水通知",
        "body": "明日9点至12点停水",
    }

    unknown = client.post(
        "/api/v1/notifications/notices", json={**body, "target_id": str(uuid.uuid4())}, headers=manager
    )
    assert unknown.status_code == 422 and "target_id" in unknown.json["errors"]
    link = client.post("/api/v1/notifications/notices", json={**body, "body": "详见 https://x.cn/a"}, headers=manager)
    assert link.status_code == 422 and "body" in link.json["errors"]
    foreign = auth_header(settings, "cs_manager", communities=[str(uuid.uuid4())])
    assert client.post("/api/v1/notifications/notices", json=body, headers=foreign).status_code == 404
    resident = auth_header(settings, "resident", resident_id=people[0]["resident_id"])
    assert client.post("/api/v1/notifications/notices", json=body, headers=resident).status_code == 403
    p.dispatch()
    assert fake_sms.of("twilio") == []  # nothing sent for the refused ones

    created = client.post("/api/v1/notifications/notices", json=body, headers=manager)
    assert created.status_code == 201, created.json
    assert created.json["recipients"] == 4
    p.dispatch()
    phones = sorted(m["phone"] for m in fake_sms.of("twilio"))
    assert phones == sorted(r["phone"] for r in people)  # essential by default: the opted-out hear it too
    assert fake_sms.of("twilio")[0]["body"] == "【幸福物业】停水通知：明日9点至12点停水"
    notice = client.get(f"/api/v1/notifications/notices/{created.json['id']}", headers=manager).json
    assert notice["deliveries"] == {"sent": 4}
    deliveries = client.get(
        "/api/v1/notifications", headers=manager, query_string={"notice_id": created.json["id"]}
    ).json
    assert deliveries["total"] == 4 and all("****" in d["recipient"] for d in deliveries["items"])


def test_a_notice_preview_counts_the_recipients_and_the_sms_length_and_sends_nothing(world, directory, fake_sms):
    p, client, settings = world
    community, zone = str(uuid.uuid4()), str(uuid.uuid4())
    directory.zones[zone] = {"zone_id": zone, "community_id": community, "name": "南区", "butler_ids": []}
    people = [directory.resident(community_id=community) for _ in range(2)]
    people.append(directory.resident(community_id=community, opted_out=True))
    directory.areas[(community, "zone", zone)] = [r["resident_id"] for r in people]
    manager = auth_header(settings, "cs_manager", communities=[community])
    body = {"community_id": community, "scope": "zone", "target_id": zone, "title": "停电通知", "body": "今晚8点检修"}

    preview = client.post("/api/v1/notifications/notices/preview", json=body, headers=manager)
    assert preview.status_code == 200, preview.json
    text = "【幸福物业】停电通知：今晚8点检修"
    assert preview.json == {"recipients": 3, "opted_out": 1, "text": text, "length": len(text), "segments": 1}
    optional = client.post("/api/v1/notifications/notices/preview", json={**body, "essential": False}, headers=manager)
    assert optional.json["recipients"] == 2  # the opted-out resident would not hear a non-essential notice
    long = client.post("/api/v1/notifications/notices/preview", json={**body, "body": "停" * 100}, headers=manager)
    assert long.json["segments"] == 2 and long.json["length"] > 70
    bad = client.post("/api/v1/notifications/notices/preview", json={**body, "target_id": None}, headers=manager)
    assert bad.status_code == 422 and "target_id" in bad.json["errors"]
    p.dispatch()
    assert fake_sms.of("twilio") == []
    listed = client.get("/api/v1/notifications/notices", headers=manager, query_string={"community_id": community})
    assert listed.json["total"] == 0  # a preview writes nothing


# -- direct messages -------------------------------------------------------------------------------------------------
def test_a_sign_in_code_is_sent_at_once_and_never_written_down(world, fake_sms, clock):
    p, client, settings = world
    clock.set_local(23, 30)  # urgent: quiet hours do not hold it
    service = auth_header(settings, "service")
    body = {"phone": "+8613912345678", "template": "login_code", "variables": {"code": "482915"}, "urgent": True}
    assert client.post("/api/v1/internal/messages", json=body).status_code == 401
    assert (
        client.post("/api/v1/internal/messages", json=body, headers=auth_header(settings, "admin")).status_code == 403
    )
    for change, field in [
        ({"phone": "12345"}, "phone"),
        ({"template": "ticket.created"}, "template"),
        ({"variables": {"code": "482915", "url": "x"}}, "variables.url"),
        ({"variables": {}}, "variables.code"),
    ]:
        refused = client.post("/api/v1/internal/messages", json={**body, **change}, headers=service)
        assert refused.status_code == 422 and field in refused.json["errors"], (change, refused.json)

    accepted = client.post("/api/v1/internal/messages", json=body, headers=service)
    assert accepted.status_code == 202
    p.dispatch()
    [message] = fake_sms.of("twilio")
    assert message["phone"] == "+8613912345678" and "482915" in message["body"]
    delivery = row(p, accepted.json["delivery_id"])
    assert delivery.status == "sent" and delivery.recipient_masked == "139****5678"
    assert "482915" not in delivery.text and "******" in delivery.text
    assert delivery.secret is None  # erased once sent
    assert "13912345678" not in json.dumps({c.name: str(getattr(delivery, c.name)) for c in Delivery.__table__.columns})
    [event] = published(p, "notification.sent", delivery.id)
    assert event["data"]["recipient_id"] is None and event["data"]["event_id"] is None


# -- templates -------------------------------------------------------------------------------------------------------
def test_a_template_with_an_unknown_variable_is_refused_and_a_good_one_is_used(world, directory, make_event, fake_sms):
    p, client, settings = world
    admin = auth_header(settings, "admin")
    path = "/api/v1/notifications/templates/resident.moved_in/zh-CN"
    bad = client.put(path, json={"text": "【{signature}】欢迎{name}入住"}, headers=admin)
    assert bad.status_code == 422 and "text" in bad.json["errors"] and "{name}" in bad.json["errors"]["text"][0]
    broken = client.put(path, json={"text": "【{signature}】欢迎{入住"}, headers=admin)
    assert broken.status_code == 422 and "text" in broken.json["errors"]
    butler = auth_header(settings, "butler", communities=["c"])
    assert client.put(path, json={"text": "【{signature}】欢迎回家"}, headers=butler).status_code == 403
    try:
        good = client.put(path, json={"text": "【{signature}】欢迎回家，有事找管家。"}, headers=admin)
        assert good.status_code == 200 and good.json["overridden"] == ["zh-CN"]
        sent_moved_in(p, directory, make_event)
        assert fake_sms.of("twilio")[-1]["body"] == "【幸福物业】欢迎回家，有事找管家。"
    finally:
        from notifications.models import TemplateOverride

        with p.database.transaction() as s:
            s.query(TemplateOverride).delete()


# -- resend and statistics -------------------------------------------------------------------------------------------
def test_resend_a_failed_message_and_daily_statistics(world, directory, make_event, fake_sms):
    p, client, settings = world
    community = str(uuid.uuid4())
    resident = directory.resident(community_id=community)
    fake_sms.script["twilio"] = [21612]
    event = make_event(
        "fee.overdue",
        {
            "bill_id": str(uuid.uuid4()),
            "unit_id": resident["unit_id"],
            "community_id": community,
            "period": "2026-11",
            "amount_due": "1.00",
            "due_date": "2026-11-15",
            "stage": "second",
            "days_overdue": 40,
            "payer_id": resident["resident_id"],
        },
    )
    p.handle(event)
    p.dispatch()
    manager = auth_header(settings, "cs_manager", communities=[community])
    [failed] = client.get("/api/v1/notifications", headers=manager, query_string={"event_id": event["id"]}).json[
        "items"
    ]
    assert failed["status"] == "failed" and failed["error_code"] == "twilio_21612"

    other = auth_header(settings, "cs_manager", communities=[str(uuid.uuid4())])
    assert client.post(f"/api/v1/notifications/{failed['id']}/resend", headers=other).status_code == 404
    resent = client.post(f"/api/v1/notifications/{failed['id']}/resend", headers=manager)
    assert resent.status_code == 202 and resent.json["status"] == "pending" and resent.json["resent_count"] == 1
    assert client.post(f"/api/v1/notifications/{failed['id']}/resend", headers=manager).status_code == 409
    p.dispatch()
    assert client.get(f"/api/v1/notifications/{failed['id']}", headers=manager).json["status"] == "sent"

    # One long notice too (two billed parts) to see segments add up.
    directory.areas[(community, "community", None)] = [resident["resident_id"]]
    long_body = "电梯维保" * 20  # 91 characters with signature and title: two parts
    created = client.post(
        "/api/v1/notifications/notices",
        json={"community_id": community, "scope": "community", "title": "电梯维保", "body": long_body},
        headers=manager,
    )
    assert created.status_code == 201
    p.dispatch()
    stats = client.get("/api/v1/notifications/stats", headers=manager, query_string={"community_id": community})
    assert stats.status_code == 200
    [today] = stats.json["items"]
    assert today["date"] == "2026-11-26" and stats.json["timezone"] == "Asia/Shanghai"
    assert today["sent"] == 2 and today["failed"] == 0 and today["segments"] == 3
    assert today["estimated_cost"] == "0.14"  # 3 parts × 4.5 fen, rounded to the fen
    bad = client.get("/api/v1/notifications/stats", headers=manager, query_string={"date_from": "2026-13-01"})
    assert bad.status_code == 422 and "date_from" in bad.json["errors"]
    resident_token = auth_header(settings, "resident", resident_id=resident["resident_id"])
    assert client.get("/api/v1/notifications/stats", headers=resident_token).status_code == 403
