"""Choices per channel: a community lets WeChat go during quiet hours (SMS never does, the inbox never waits), a
resident opts out of SMS or WeChat (WeChat opted out → SMS, both → the inbox alone), and a long notice's images
reach the inbox."""

import uuid

from sqlalchemy import select

from guanjia.testing import auth_header
from notifications.models import Delivery, InboxMessage

QUIET = "/api/v1/notifications/communities/{}/quiet-hours"
PREFS = "/api/v1/notifications/preferences/me"


def own(settings, resident):
    return auth_header(
        settings,
        "resident",
        resident_id=resident["resident_id"],
        units=[resident["unit_id"]],
        communities=[resident["community_id"]],
    )


def rows(p, event_id):
    with p.database.transaction() as s:
        query = select(Delivery).where(Delivery.event_id == event_id).order_by(Delivery.created_at, Delivery.channel)
        return {d.channel: d for d in s.execute(query).scalars()}


def inbox_count(p, event_id):
    with p.database.transaction() as s:
        return len(list(s.execute(select(InboxMessage.id).where(InboxMessage.event_id == event_id))))


def test_a_community_lets_wechat_go_during_quiet_hours_and_sms_still_waits(
    bound, directory, overdue_event, fake_wechat, fake_sms, clock
):
    p, client, bind = bound
    settings = p.context.settings
    (allowing, openid), (keeping, other_openid) = bind(), bind()
    community = allowing["community_id"]
    manager = auth_header(settings, "cs_manager", communities=[community])
    answer = client.get(QUIET.format(community), headers=manager)
    assert answer.status_code == 200, answer.json
    assert answer.json == {
        "community_id": community,
        "quiet_hours": "21:00-08:00",
        "sms_at_night": False,
        "wechat_at_night": False,
        "wechat_at_night_default": False,
        "inbox_at_night": True,
        "updated_by": None,
        "updated_at": None,
    }
    # Only the community's manager (or the operator) decides.
    for who in (
        auth_header(settings, "cs_manager", communities=[str(uuid.uuid4())]),
        auth_header(settings, "senior_butler", communities=[community]),
        own(settings, allowing),
    ):
        assert client.put(QUIET.format(community), json={"wechat_at_night": True}, headers=who).status_code == 403
    assert client.put(QUIET.format(community), json={}, headers=manager).status_code == 422
    changed = client.put(QUIET.format(community), json={"wechat_at_night": True}, headers=manager)
    assert changed.status_code == 200 and changed.json["wechat_at_night"] is True
    assert changed.json["updated_by"] is not None

    clock.set_local(23, 10)
    sms_only = directory.resident(community_id=community)
    events = [overdue_event(allowing), overdue_event(keeping), overdue_event(sms_only)]
    for event in events:
        p.handle(event)
    p.dispatch()
    assert rows(p, events[0]["id"])["wechat"].status == "sent" and len(fake_wechat.of(openid)) == 1
    held = rows(p, events[1]["id"])["wechat"]
    assert held.status == "pending" and "quiet hours" in held.reason and fake_wechat.of(other_openid) == []
    night_sms = rows(p, events[2]["id"])["sms"]
    assert night_sms.status == "pending" and "quiet hours" in night_sms.reason
    assert all(inbox_count(p, e["id"]) == 1 for e in events)  # the inbox never waits

    admin = auth_header(settings, "admin")
    reset = client.put(QUIET.format(community), json={"wechat_at_night": None}, headers=admin)
    assert reset.status_code == 200 and reset.json["wechat_at_night"] is False and reset.json["updated_at"] is None
    later = overdue_event(allowing)
    p.handle(later)
    p.dispatch()
    assert rows(p, later["id"])["wechat"].status == "pending"


def test_opting_out_of_wechat_sends_by_sms_and_of_both_leaves_the_inbox(
    bound, directory, overdue_event, fake_wechat, fake_sms
):
    p, client, bind = bound
    settings = p.context.settings
    resident, openid = bind()
    headers = own(settings, resident)
    assert client.get(PREFS, headers=headers).json == {
        "resident_id": resident["resident_id"],
        "opted_out": False,
        "opted_out_channels": [],
    }
    bad = client.put(PREFS, json={"opted_out_channels": ["inbox"]}, headers=headers)
    assert bad.status_code == 422
    answer = client.put(PREFS, json={"opted_out_channels": ["wechat"]}, headers=headers)
    assert answer.status_code == 200 and answer.json["opted_out_channels"] == ["wechat"]
    assert answer.json["opted_out"] is False  # the other choice is left as it was

    first = overdue_event(resident)
    p.handle(first)
    p.dispatch()
    planned = rows(p, first["id"])
    assert set(planned) == {"sms"} and planned["sms"].status == "sent" and fake_wechat.of(openid) == []

    client.put(PREFS, json={"opted_out_channels": ["wechat", "sms"]}, headers=headers)
    second = overdue_event(resident)
    p.handle(second)
    p.dispatch()
    [skipped] = rows(p, second["id"]).values()
    assert skipped.status == "skipped" and "opted out of sms" in skipped.reason and "wechat" in skipped.reason
    assert inbox_count(p, second["id"]) == 1 and len(fake_sms.of(phone=resident["phone"])) == 1

    # Back into everything (the old form of the body, `opted_out` alone, leaves the channels as they are).
    assert client.put(PREFS, json={"opted_out": False}, headers=headers).json["opted_out_channels"] == ["sms", "wechat"]
    assert client.put(PREFS, json={"opted_out_channels": []}, headers=headers).json["opted_out_channels"] == []
    third = overdue_event(resident)
    p.handle(third)
    p.dispatch()
    assert rows(p, third["id"])["wechat"].status == "sent" and len(fake_wechat.of(openid)) == 1


def test_an_opt_out_after_planning_is_respected_when_sending_and_by_the_fallback(
    bound, overdue_event, fake_wechat, fake_sms
):
    p, client, bind = bound
    resident, openid = bind()
    headers = own(p.context.settings, resident)
    event = overdue_event(resident)
    p.handle(event)  # planned on WeChat
    client.put(PREFS, json={"opted_out_channels": ["wechat"]}, headers=headers)
    p.dispatch()
    p.dispatch()  # the SMS fallback was planned by the claim that skipped WeChat: the next claim takes it
    planned = rows(p, event["id"])
    assert planned["wechat"].status == "skipped" and planned["wechat"].reason == "opted out of wechat"
    assert planned["sms"].status == "sent" and fake_wechat.of(openid) == []

    # WeChat refuses for good and the resident opted out of SMS: no SMS fallback, the inbox has it.
    client.put(PREFS, json={"opted_out_channels": ["sms"]}, headers=headers)
    refused = overdue_event(resident)
    p.handle(refused)
    fake_wechat.unsubscribed.add(openid)  # 43004: the user left the account (permanent → SMS fallback)
    p.dispatch()
    after = rows(p, refused["id"])
    assert set(after) == {"wechat"} and after["wechat"].status == "failed"
    assert inbox_count(p, refused["id"]) == 1


def test_a_long_notice_carries_https_images_to_the_inbox(pipeline, directory, fake_sms):
    p = pipeline("twilio")
    client = p.app().test_client()
    settings = p.context.settings
    community = str(uuid.uuid4())
    people = [directory.resident(community_id=community)]
    directory.areas[(community, "community", None)] = [r["resident_id"] for r in people]
    manager = auth_header(settings, "cs_manager", communities=[community])
    image = {"url": "https://m.example.org/notices/plan.jpg", "alt": "会场平面图"}
    body = {
        "community_id": community,
        "scope": "community",
        "title": "业主大会通知",
        "body": "12月20日召开业主大会",
        "long": {"title": "关于召开业主大会的通知", "body": "详见图片。", "images": [image]},
    }
    for bad in ({"url": "http://m.example.org/a.jpg"}, {"url": "https://"}, {"url": "https://x/a b.jpg"}):
        refused = client.post(
            "/api/v1/notifications/notices", json={**body, "long": {**body["long"], "images": [bad]}}, headers=manager
        )
        assert refused.status_code == 422 and "long.images.0.url" in refused.json["errors"]
    many = {**body, "long": {**body["long"], "images": [image] * 10}}
    assert client.post("/api/v1/notifications/notices", json=many, headers=manager).status_code == 422
    created = client.post("/api/v1/notifications/notices", json=body, headers=manager)
    assert created.status_code == 201, created.json
    assert created.json["long"]["images"] == [image] and created.json["long"]["links"] == []
    page = client.get("/api/v1/inbox", headers=own(settings, people[0])).json
    assert [m["images"] for m in page["items"]] == [[image]], page
