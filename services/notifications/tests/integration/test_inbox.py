"""The in-app inbox: every notification to a resident or a staff member lands there exactly once, with its full
text; each caller reads only their own inbox and marks messages read."""

import uuid

from sqlalchemy import func, select

from guanjia.testing import auth_header
from notifications.models import InboxMessage


def inbox_rows(p, event_id):
    with p.database.transaction() as s:
        return list(s.execute(select(InboxMessage).where(InboxMessage.event_id == event_id)).scalars())


def resident_headers(settings, resident):
    return auth_header(
        settings, "resident", resident_id=resident["resident_id"], communities=[resident["community_id"]]
    )


def test_an_event_lands_once_in_the_residents_own_inbox_with_its_full_text(
    overdue_event, pipeline, directory, fake_sms, make_event
):
    p = pipeline("twilio")
    client = p.app().test_client()
    settings = p.context.settings
    resident, neighbour = directory.resident(), directory.resident()
    event = overdue_event(resident)
    p.handle(event)
    p.handle(event)  # redelivered by the bus: still one message
    [message] = inbox_rows(p, event["id"])
    assert message.recipient_id == resident["resident_id"] and message.read_at is None
    assert message.title == "缴费提醒" and "88.00元" in message.body and not message.body.startswith("【")

    mine = client.get("/api/v1/inbox", headers=resident_headers(settings, resident)).json
    assert [m["id"] for m in mine["items"]] == [message.id] and mine["unread"] == 1
    assert mine["items"][0]["read"] is False and mine["items"][0]["links"] == []
    # A neighbour, or the same resident id seen from another community, reads nothing of it.
    assert client.get("/api/v1/inbox", headers=resident_headers(settings, neighbour)).json["total"] == 0
    elsewhere = auth_header(settings, "resident", resident_id=resident["resident_id"], communities=["other"])
    assert client.get("/api/v1/inbox", headers=elsewhere).json["total"] == 0
    stolen = client.post(f"/api/v1/inbox/{message.id}/read", headers=resident_headers(settings, neighbour))
    assert stolen.status_code == 404

    read = client.post(f"/api/v1/inbox/{message.id}/read", headers=resident_headers(settings, resident))
    assert read.status_code == 200 and read.json["read"] is True
    again = client.post(f"/api/v1/inbox/{message.id}/read", headers=resident_headers(settings, resident)).json
    assert again["read_at"] == read.json["read_at"]
    unread = client.get("/api/v1/inbox?unread=true", headers=resident_headers(settings, resident)).json
    assert unread["total"] == 0 and unread["unread"] == 0

    # The SMS goes on as before: one delivery on the sms channel, the log showing the channel.
    p.dispatch()
    staff = auth_header(settings, "admin")
    log = client.get(f"/api/v1/notifications?event_id={event['id']}", headers=staff).json
    assert [d["channel"] for d in log["items"]] == ["sms"]


def test_staff_read_their_own_inbox_and_opted_out_residents_still_find_their_welcome(
    pipeline, directory, fake_sms, make_event
):
    p = pipeline("twilio")
    client = p.app().test_client()
    settings = p.context.settings
    resident = directory.resident(opted_out=True)
    senior = directory.user("senior_butler", resident["community_id"])
    other = directory.user("senior_butler", resident["community_id"])
    breach = make_event(
        "ticket.sla_breached",
        {
            "ticket_id": str(uuid.uuid4()),
            "number": "T00000042",
            "community_id": resident["community_id"],
            "zone_id": None,
            "priority": "high",
            "clock": "resolution",
            "deadline": "2026-11-26T12:00:00+00:00",
            "breached_at": "2026-11-26T12:00:01+00:00",
            "escalation_level": 1,
            "escalate_to_role": "senior_butler",
            "emergency": False,
        },
    )
    welcome = make_event(
        "resident.moved_in",
        {
            "resident_id": resident["resident_id"],
            "unit_id": resident["unit_id"],
            "community_id": resident["community_id"],
            "moved_in_at": "2026-11-26T01:00:00+00:00",
        },
    )
    p.handle(breach)
    p.handle(welcome)
    assert {m.recipient_id for m in inbox_rows(p, breach["id"])} == {senior["user_id"], other["user_id"]}
    mine = auth_header(settings, "senior_butler", subject=senior["user_id"], communities=[resident["community_id"]])
    page = client.get("/api/v1/inbox", headers=mine).json
    assert page["total"] == 1 and "T00000042" in page["items"][0]["body"]
    # The welcome is not pushed by SMS to someone who opted out, but it is there when they look.
    [welcomed] = inbox_rows(p, welcome["id"])
    assert welcomed.recipient_id == resident["resident_id"]
    assert client.get("/api/v1/inbox", headers=auth_header(settings, "integrator")).status_code == 403


def test_a_direct_message_never_lands_in_an_inbox(pipeline):
    p = pipeline("twilio")
    client = p.app().test_client()
    settings = p.context.settings
    with p.database.transaction() as s:
        before = s.execute(select(func.count()).select_from(InboxMessage)).scalar_one()
    body = {"phone": "+8613800138000", "template": "login_code", "variables": {"code": "123456"}}
    answer = client.post("/api/v1/internal/messages", json=body, headers=auth_header(settings, "service"))
    assert answer.status_code == 202
    with p.database.transaction() as s:
        assert s.execute(select(func.count()).select_from(InboxMessage)).scalar_one() == before


def test_a_long_notice_keeps_the_sms_form_short_and_gives_the_inbox_the_full_text_and_links(
    pipeline, directory, fake_sms, clock
):
    p = pipeline("twilio")
    client = p.app().test_client()
    settings = p.context.settings
    community, zone = str(uuid.uuid4()), str(uuid.uuid4())
    directory.zones[zone] = {"zone_id": zone, "community_id": community, "name": "南区", "butler_ids": []}
    people = [directory.resident(community_id=community) for _ in range(2)]
    directory.areas[(community, "zone", zone)] = [r["resident_id"] for r in people]
    manager = auth_header(settings, "cs_manager", communities=[community])
    full = "关于召开2026年度业主大会的通知。" + "会议议程如下：" * 400  # far beyond any SMS
    body = {
        "community_id": community,
        "scope": "zone",
        "target_id": zone,
        "title": "业主大会通知",
        "body": "12月20日召开业主大会，详情请看小程序通知",
        "long": {
            "title": "关于召开2026年度业主大会的通知",
            "body": full,
            "links": [{"title": "投票页面", "url": "https://m.example.org/votes/2026"}],
        },
    }
    bad_link = {**body, "long": {**body["long"], "links": [{"title": "x", "url": "http://plain.example.org"}]}}
    refused = client.post("/api/v1/notifications/notices", json=bad_link, headers=manager)
    assert refused.status_code == 422 and "long.links.0.url" in refused.json["errors"]
    link_in_sms = client.post(
        "/api/v1/notifications/notices", json={**body, "body": "见 https://x.cn/a"}, headers=manager
    )
    assert link_in_sms.status_code == 422 and "body" in link_in_sms.json["errors"]

    created = client.post("/api/v1/notifications/notices", json=body, headers=manager)
    assert created.status_code == 201, created.json
    assert created.json["long"]["body"] == full and created.json["long"]["links"][0]["title"] == "投票页面"
    p.dispatch()
    texts = [m["body"] for m in fake_sms.of("twilio")]
    assert len(texts) == 2 and all(
        t == "【幸福物业】业主大会通知：12月20日召开业主大会，详情请看小程序通知" for t in texts
    )

    page = client.get("/api/v1/inbox", headers=resident_headers(settings, people[0])).json
    [message] = page["items"]
    assert message["kind"] == "notice" and message["notice_id"] == created.json["id"]
    assert message["title"] == "关于召开2026年度业主大会的通知" and message["body"] == full
    assert message["links"] == [{"title": "投票页面", "url": "https://m.example.org/votes/2026"}]
    clock.advance(minutes=1)
    short = client.post("/api/v1/notifications/notices", json={**body, "long": None}, headers=manager)
    assert short.status_code == 201 and short.json["long"] is None
    page = client.get("/api/v1/inbox?kind=notice", headers=resident_headers(settings, people[1])).json
    assert [m["title"] for m in page["items"]] == ["业主大会通知", "关于召开2026年度业主大会的通知"]
