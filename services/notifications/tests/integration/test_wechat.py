"""WeChat template messages: a resident binds their WeChat with the butler's code (openid sealed, masked, never
logged), messages to them go by WeChat with the access token cached and renewed, WeChat's error codes are mapped
permanent (→ SMS fallback) or transient (→ retry), and an unbound resident still gets SMS."""

import json
import logging
import threading
import uuid

import pytest
from sqlalchemy import select

from guanjia.testing import auth_header
from notifications.models import Delivery, InboxMessage, WechatBinding, outbox


def rows(p, event_id):
    with p.database.transaction() as s:
        query = select(Delivery).where(Delivery.event_id == event_id).order_by(Delivery.created_at, Delivery.channel)
        return list(s.execute(query).scalars())


def test_binding_with_the_butlers_code_keeps_the_openid_sealed_and_masked(
    pipeline, directory, fake_wechat, wechat_config, clock
):
    p = pipeline("twilio", wechat=wechat_config())
    client = p.app().test_client()
    settings = p.context.settings
    resident = directory.resident(unit_id=str(uuid.uuid4()), community_id=str(uuid.uuid4()))
    neighbour = directory.resident(unit_id=str(uuid.uuid4()), community_id=resident["community_id"])
    path = "/api/v1/notifications/wechat"
    foreign = auth_header(settings, "butler", communities=[str(uuid.uuid4())])
    assert (
        client.post(f"{path}/binding-codes", json={"unit_id": resident["unit_id"]}, headers=foreign).status_code == 404
    )
    butler = auth_header(settings, "butler", communities=[resident["community_id"]])
    code = client.post(f"{path}/binding-codes", json={"unit_id": resident["unit_id"]}, headers=butler).json["code"]
    openid = fake_wechat.follower()

    def own(who):
        return auth_header(settings, "resident", resident_id=who["resident_id"], units=[who["unit_id"]])

    # The code is the household's: a resident of another unit cannot use it.
    other = client.post(
        f"{path}/bindings", json={"code": code, "oauth_code": fake_wechat.oauth_code(openid)}, headers=own(neighbour)
    )
    assert other.status_code == 422 and "code" in other.json["errors"]
    used_oauth = fake_wechat.oauth_code(openid)
    bound = client.post(f"{path}/bindings", json={"code": code, "oauth_code": used_oauth}, headers=own(resident))
    assert bound.status_code == 201, bound.json
    assert bound.json["openid"] == f"{openid[:4]}****{openid[-4:]}" and openid not in json.dumps(bound.json)
    again = client.post(
        f"{path}/bindings", json={"code": code, "oauth_code": fake_wechat.oauth_code(openid)}, headers=own(resident)
    )
    assert again.status_code == 409  # one code, one binding
    assert client.get(f"{path}/bindings/me", headers=own(resident)).json["openid"] == bound.json["openid"]
    assert client.get(f"{path}/bindings/me", headers=own(neighbour)).status_code == 404

    from guanjia.pii import decrypt_pii, pii_lookup_hash

    with p.database.transaction() as s:
        row = s.get(WechatBinding, resident["resident_id"])
        assert openid not in row.openid and decrypt_pii(settings.pii_key, row.openid) == openid
        assert row.openid_hash == pii_lookup_hash(settings.pii_key, openid) and row.unit_id == resident["unit_id"]

    # An expired code, and WeChat refusing an OAuth code, bind nothing.
    late = client.post(f"{path}/binding-codes", json={"unit_id": neighbour["unit_id"]}, headers=butler).json["code"]
    clock.advance(hours=73)
    expired = client.post(
        f"{path}/bindings", json={"code": late, "oauth_code": fake_wechat.oauth_code(openid)}, headers=own(neighbour)
    )
    assert expired.status_code == 422 and "code" in expired.json["errors"]
    fresh = client.post(f"{path}/binding-codes", json={"unit_id": neighbour["unit_id"]}, headers=butler).json["code"]
    refused = client.post(f"{path}/bindings", json={"code": fresh, "oauth_code": used_oauth}, headers=own(neighbour))
    assert refused.status_code == 422 and "oauth_code" in refused.json["errors"]

    assert client.delete(f"{path}/bindings/me", headers=own(resident)).status_code == 204
    assert client.get(f"{path}/bindings/me", headers=own(resident)).status_code == 404


def test_a_bound_resident_hears_by_wechat_once_and_an_unbound_one_by_sms(
    overdue_event, bound, directory, fake_wechat, fake_sms, make_event, caplog
):
    p, client, bind = bound
    resident, openid = bind()
    unbound = directory.resident()
    caplog.set_level(logging.DEBUG)
    event, other = overdue_event(resident), overdue_event(unbound)
    p.handle(event)
    p.handle(event)  # redelivered: still one message per channel
    p.handle(other)
    p.dispatch()

    [message] = fake_wechat.of(openid)
    assert message["template_id"] == "tpl-fee.overdue.first"
    assert message["data"] == {
        "period": {"value": "2026-Q4"},
        "amount": {"value": "88.00"},
        "due_date": {"value": "2026-11-15"},
    }
    with p.database.transaction() as s:
        inbox_id = s.execute(select(InboxMessage.id).where(InboxMessage.event_id == event["id"])).scalar_one()
    assert message["url"] == f"https://m.example.org/inbox/{inbox_id}"
    [delivery] = rows(p, event["id"])
    assert delivery.channel == "wechat" and delivery.status == "sent" and delivery.provider == "wechat"
    assert delivery.provider_message_id == str(message["msgid"]) and delivery.segments is None
    assert delivery.recipient_masked == f"{openid[:4]}****{openid[-4:]}" and "88.00" in delivery.text
    assert fake_sms.of(phone=resident["phone"]) == []
    [sms] = rows(p, other["id"])
    assert sms.channel == "sms" and sms.status == "sent" and len(fake_sms.of(phone=unbound["phone"])) == 1

    admin = auth_header(p.context.settings, "admin")
    log = client.get("/api/v1/notifications?channel=wechat", headers=admin).json
    assert delivery.id in [d["id"] for d in log["items"]] and all(d["channel"] == "wechat" for d in log["items"])
    assert openid not in caplog.text and openid not in json.dumps(log)
    stats = {}
    for channel in ("sms", "wechat", "inbox"):
        query = {"channel": channel, "community_id": resident["community_id"], "date_from": "2026-11-26"}
        answer = client.get("/api/v1/notifications/stats", query_string=query, headers=admin)
        assert answer.status_code == 200 and answer.json["channel"] == channel
        [stats[channel]] = answer.json["items"]
    assert stats["wechat"]["sent"] == 1 and stats["wechat"]["estimated_cost"] == "0.00"
    assert stats["sms"]["sent"] == 0 and stats["inbox"]["delivered"] == 1 and stats["inbox"]["read"] == 0
    with p.database.transaction() as s:
        published = [r.payload for r in s.execute(select(outbox))]
    assert not any(openid in payload for payload in published)  # never on the bus


def test_the_access_token_is_cached_renewed_before_expiry_and_after_42001_by_one_thread(
    overdue_event, bound, make_event, fake_wechat, clock
):
    p, _, bind = bound
    (a, openid_a), (b, openid_b) = bind(), bind()
    p.handle(overdue_event(a))
    p.handle(overdue_event(b))
    p.dispatch()
    assert len(fake_wechat.of()) == 2 and fake_wechat.token_requests == 1  # one token for both

    clock.advance(seconds=7200 - 299)  # inside the renewal margin (300 s) of the 7200 s token
    fake_wechat.expire_tokens()  # WeChat issues a new one when asked after expiry
    p.handle(overdue_event(a))
    p.dispatch()
    assert fake_wechat.token_requests == 2 and len(fake_wechat.of(openid_a)) == 2

    fake_wechat.expire_tokens()  # expired early (WeChat's side): 42001, renewed, sent once
    p.handle(overdue_event(b))
    p.dispatch()
    assert fake_wechat.token_requests == 3 and len(fake_wechat.of(openid_b)) == 2

    client = p.context.wechat_client
    client.forget_token(client.token())
    fake_wechat.slow_token = 0.2
    got = []
    threads = [threading.Thread(target=lambda: got.append(client.token())) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fake_wechat.token_requests == 4 and len(set(got)) == 1  # one renewal at a time, shared


@pytest.mark.parametrize("code", [43004, 40003])
def test_a_permanent_refusal_falls_back_to_sms_once(overdue_event, bound, make_event, fake_wechat, fake_sms, code):
    p, _, bind = bound
    resident, openid = bind()
    if code == 43004:
        fake_wechat.unsubscribed.add(openid)
    else:
        fake_wechat.script.append(40003)
    event = overdue_event(resident)
    p.handle(event)
    p.dispatch()
    failed, sms = sorted(rows(p, event["id"]), key=lambda d: d.channel != "wechat")
    assert failed.channel == "wechat" and failed.status == "failed" and failed.error_code == f"wechat:{code}"
    assert sms.channel == "sms" and sms.status == "sent" and sms.template == failed.template
    assert len(fake_sms.of(phone=resident["phone"])) == 1
    p.handle(event)
    p.dispatch()
    assert len(rows(p, event["id"])) == 2 and len(fake_sms.of(phone=resident["phone"])) == 1


def test_transient_errors_retry_and_rate_limits_wait_without_falling_back(
    overdue_event, bound, make_event, fake_wechat, fake_sms, clock
):
    p, _, bind = bound
    resident, openid = bind()
    fake_wechat.script.extend([-1, 45009])
    event = overdue_event(resident)
    p.handle(event)
    p.dispatch()
    [row] = rows(p, event["id"])
    assert row.status == "pending" and row.error_code == "wechat:-1" and row.attempts == 1
    clock.advance(minutes=10)
    p.dispatch()
    [row] = rows(p, event["id"])
    assert row.status == "pending" and row.error_code == "wechat:45009" and row.attempts == 1  # not an attempt
    clock.advance(minutes=2)
    p.dispatch()
    [row] = rows(p, event["id"])
    assert row.status == "sent" and len(fake_wechat.of(openid)) == 1 and fake_sms.of(phone=resident["phone"]) == []


def test_unbound_before_sending_goes_by_sms_and_quiet_hours_hold_wechat_unless_allowed(
    overdue_event, pipeline, bound, directory, make_event, fake_wechat, fake_sms, wechat_config, clock
):
    p, client, bind = bound
    resident, openid = bind()
    event = overdue_event(resident)
    p.handle(event)
    own = auth_header(p.context.settings, "resident", resident_id=resident["resident_id"], units=[resident["unit_id"]])
    assert client.delete("/api/v1/notifications/wechat/bindings/me", headers=own).status_code == 204
    p.dispatch()
    skipped, sms = sorted(rows(p, event["id"]), key=lambda d: d.channel != "wechat")
    assert skipped.status == "skipped" and skipped.reason == "not bound to WeChat (any more)"
    assert sms.status == "sent" and fake_wechat.of(openid) == []

    clock.set_local(22, 30)
    night = pipeline("twilio", wechat=wechat_config(quiet_hours=False))
    held = bind()
    first = overdue_event(held[0])
    p.handle(first)
    p.dispatch()
    [row] = rows(p, first["id"])
    assert row.status == "pending" and "quiet hours" in row.reason
    allowed = overdue_event(held[0])
    night.handle(allowed)
    night.dispatch()
    assert {r.status for r in rows(p, allowed["id"])} == {"sent"}
    assert len(fake_wechat.of(held[1])) == 1


def test_a_wechat_send_lost_with_its_worker_is_resent_once_marked_and_never_doubled_by_sms(
    overdue_event, bound, make_event, fake_wechat, fake_sms, clock
):
    """As for SMS: a worker killed between WeChat's answer and our commit leaves 'sending'; after the lease the
    message goes once more with duplicate_risk, a second loss fails it — and no SMS is added on top."""
    from sqlalchemy import update

    p, _, bind = bound
    resident, openid = bind()
    event = overdue_event(resident)
    p.handle(event)
    with p.database.transaction() as s:
        s.execute(update(Delivery).where(Delivery.event_id == event["id"]).values(status="sending", claimed_at=clock()))
    assert p.dispatch() == 0  # within the lease nobody touches it
    clock.advance(seconds=p.sms.send_lease_seconds + 1)
    assert p.dispatch() == 1
    [delivery] = rows(p, event["id"])
    assert delivery.channel == "wechat" and delivery.status == "sent" and delivery.duplicate_risk
    assert len(fake_wechat.of(openid)) == 1
    with p.database.transaction() as s:
        s.execute(update(Delivery).where(Delivery.id == delivery.id).values(status="sending", claimed_at=clock()))
    clock.advance(seconds=p.sms.send_lease_seconds + 1)
    p.dispatch()
    [delivery] = rows(p, event["id"])
    assert delivery.status == "failed" and delivery.error_code == "outcome_unknown"
    assert len(fake_wechat.of(openid)) == 1 and fake_sms.of(phone=resident["phone"]) == []


def _signed(token, **extra):
    import hashlib

    timestamp, nonce = "1764640000", "123456789"
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return {"timestamp": timestamp, "nonce": nonce, "signature": signature, **extra}


def _push(fields: dict) -> str:
    inner = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items())
    return f"<xml>{inner}</xml>"


def test_wechat_pushes_are_signed_and_report_outcomes_and_unsubscribes(
    pipeline, directory, wechat_config, fake_wechat, fake_sms, overdue_event
):
    p = pipeline("twilio", wechat=wechat_config(callback_token="wx-callback-token"))
    client = p.app().test_client()
    settings = p.context.settings
    path = "/api/v1/notifications/receipts/wechat"
    echo = client.get(path, query_string=_signed("wx-callback-token", echostr="hello-wechat"))
    assert echo.status_code == 200 and echo.text == "hello-wechat"
    forged = client.get(path, query_string=_signed("guess", echostr="x"))
    assert forged.status_code == 403 and forged.mimetype == "application/problem+json"

    # Two bound residents, one message each by WeChat.
    people = []
    for _ in range(2):
        resident = directory.resident(unit_id=str(uuid.uuid4()), community_id=str(uuid.uuid4()))
        butler = auth_header(settings, "butler", communities=[resident["community_id"]])
        code = client.post(
            "/api/v1/notifications/wechat/binding-codes", json={"unit_id": resident["unit_id"]}, headers=butler
        ).json["code"]
        openid = fake_wechat.follower()
        own = auth_header(settings, "resident", resident_id=resident["resident_id"], units=[resident["unit_id"]])
        body = {"code": code, "oauth_code": fake_wechat.oauth_code(openid)}
        assert client.post("/api/v1/notifications/wechat/bindings", json=body, headers=own).status_code == 201
        event = overdue_event(resident)
        p.handle(event)
        people.append((resident, openid, event))
    p.dispatch()
    (ok_resident, ok_openid, ok_event), (blocked, blocked_openid, blocked_event) = people
    [ok_row], [blocked_row] = rows(p, ok_event["id"]), rows(p, blocked_event["id"])

    def finished(row, openid, status):
        fields = {
            "ToUserName": "gh_0123456789ab",
            "FromUserName": openid,
            "CreateTime": "1764640000",
            "MsgType": "event",
            "Event": "TEMPLATESENDJOBFINISH",
            "MsgID": row.provider_message_id,
            "Status": status,
        }
        return client.post(path, query_string=_signed("wx-callback-token"), data=_push(fields))

    unsigned = client.post(path, query_string=_signed("guess"), data=_push({"MsgType": "event"}))
    assert unsigned.status_code == 403
    assert finished(ok_row, ok_openid, "success").text == "success"
    assert finished(ok_row, ok_openid, "success").text == "success"  # WeChat repeats pushes
    [ok_row] = rows(p, ok_event["id"])
    assert ok_row.status == "delivered" and fake_sms.of(phone=ok_resident["phone"]) == []
    assert finished(blocked_row, blocked_openid, "failed:user block").status_code == 200
    p.dispatch()
    failed, sms = sorted(rows(p, blocked_event["id"]), key=lambda d: d.channel != "wechat")
    assert failed.status == "failed" and failed.error_code == "wechat:failed:user block"
    assert sms.channel == "sms" and sms.status == "sent" and len(fake_sms.of(phone=blocked["phone"])) == 1

    bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><MsgType>&a;</MsgType></xml>'
    refused = client.post(path, query_string=_signed("wx-callback-token"), data=bomb)
    assert refused.status_code == 422 and "body" in refused.json["errors"]
    leave = {"FromUserName": ok_openid, "MsgType": "event", "Event": "unsubscribe", "CreateTime": "1764640001"}
    assert client.post(path, query_string=_signed("wx-callback-token"), data=_push(leave)).text == "success"
    with p.database.transaction() as s:
        assert s.get(WechatBinding, ok_resident["resident_id"]) is None  # found by the openid's lookup hash
        assert s.get(WechatBinding, blocked["resident_id"]) is not None


def test_the_fake_official_accounts_authorize_page_sends_the_browser_back_with_a_code(
    wechat_server, fake_wechat, wechat_config, fakes
):
    """The workbench's /m/wechat round trip relies on it: WeChat's authorize page (snsapi_base, no consent screen)
    redirects to redirect_uri with a one-time code for the person in the browser, and our state."""
    import requests

    from notifications.wechat import WechatClient

    page = f"{wechat_server.url}/connect/oauth2/authorize"
    back = "https://m.example.org/m/wechat/callback"
    wrong = requests.get(page, params={"appid": "wx-other", "redirect_uri": back, "response_type": "code"}, timeout=5)
    assert wrong.json()["errcode"] == 40013
    fake_wechat.browser_user = openid = fake_wechat.follower()
    query = {"appid": fakes.WECHAT_APP_ID, "redirect_uri": back, "response_type": "code", "scope": "snsapi_base"}
    answer = requests.get(page, params={**query, "state": "s1"}, allow_redirects=False, timeout=5)
    assert answer.status_code == 302 and answer.headers["Location"].startswith(back + "?code=")
    code = answer.headers["Location"].split("code=", 1)[1].split("&", 1)[0]
    assert answer.headers["Location"].endswith("&state=s1")
    assert WechatClient(wechat_config()).openid_for_code(code) == openid
    fake_wechat.browser_user = None
