"""生日祝福 and 事务提醒 from community: greeting.due and reminder.due carry ids only and notifications writes the
Chinese text; held in quiet hours, sent once per event and recipient (a redelivery sends nothing more)."""

import uuid

from sqlalchemy import select

from notifications.models import Delivery


def rows(pipeline, event_id):
    with pipeline.database.transaction() as s:
        return list(s.execute(select(Delivery).where(Delivery.event_id == event_id)).scalars())


def test_a_birthday_greeting_waits_for_the_morning_and_is_sent_once(pipeline, directory, fake_sms, make_event, clock):
    p = pipeline("twilio")
    resident = directory.resident()
    greeting = make_event(
        "greeting.due",
        {
            "greeting_id": str(uuid.uuid4()),
            "community_id": resident["community_id"],
            "resident_id": resident["resident_id"],
        },
    )
    clock.set_local(0, 1)  # the job runs just after midnight: quiet hours hold the greeting
    assert p.handle(greeting) == "applied"
    assert p.handle(greeting) == "duplicate"
    assert p.dispatch() == 0
    [held] = rows(p, greeting["id"])
    assert held.status == "pending" and held.reason == "waiting for the end of quiet hours"
    clock.set_local(8, 0)
    p.dispatch()
    [sms] = fake_sms.of("twilio")
    assert sms["phone"] == resident["phone"]
    assert sms["body"].startswith("【幸福物业】生日快乐！") and "李四" not in sms["body"]
    assert p.dispatch() == 0 and len(fake_sms.of("twilio")) == 1


def test_a_reminder_reaches_the_households_owner_and_tenant_each_once(pipeline, directory, fake_sms, make_event, clock):
    p = pipeline("twilio")
    unit_id = str(uuid.uuid4())
    owner = directory.resident(unit_id=unit_id)
    tenant = directory.resident(unit_id=unit_id, community_id=owner["community_id"], role="tenant")
    directory.resident(unit_id=unit_id, community_id=owner["community_id"], role="family")  # not told
    clock.set_local(10, 0)
    reminder = make_event(
        "reminder.due",
        {
            "reminder_id": str(uuid.uuid4()),
            "community_id": owner["community_id"],
            "unit_id": unit_id,
            "kind": "gas_safety_check",
            "due_on": "2026-12-05",
        },
    )
    assert p.handle(reminder) == "applied"
    assert p.handle(reminder) == "duplicate"
    p.dispatch()
    sent = fake_sms.of("twilio")
    assert sorted(m["phone"] for m in sent) == sorted([owner["phone"], tenant["phone"]])
    assert all(
        m["body"] == "【幸福物业】事务提醒：您家的燃气安全检查安排在2026-12-05，如需改期请联系您的管家。" for m in sent
    )
    assert len(rows(p, reminder["id"])) == 2


def test_a_survey_reminder_asks_the_owners_and_spares_the_opted_out(pipeline, directory, fake_sms, make_event, clock):
    p = pipeline("twilio")
    unit_id = str(uuid.uuid4())
    owner = directory.resident(unit_id=unit_id)
    directory.resident(unit_id=unit_id, community_id=owner["community_id"], role="tenant")  # the owners are asked
    clock.set_local(10, 0)
    event = make_event(
        "survey.reminder_due",
        {"survey_id": str(uuid.uuid4()), "community_id": owner["community_id"], "unit_id": unit_id},
    )
    assert p.handle(event) == "applied"
    assert p.handle(event) == "duplicate"
    p.dispatch()
    [sms] = fake_sms.of("twilio")
    assert sms["phone"] == owner["phone"] and sms["body"].startswith("【幸福物业】满意度调查：您家尚未填写")


def test_an_activity_is_announced_to_the_community_and_recalled_the_day_before(
    pipeline, directory, fake_sms, make_event, clock
):
    p = pipeline("twilio")
    community_id, unit_id = str(uuid.uuid4()), str(uuid.uuid4())
    one = directory.resident(unit_id=unit_id, community_id=community_id)
    two = directory.resident(community_id=community_id)
    quiet = directory.resident(community_id=community_id)
    directory.areas[(community_id, "community", None)] = [one["resident_id"], two["resident_id"]]
    directory.areas[(community_id, "community", None)].append(quiet["resident_id"])
    app = p.app()
    from guanjia.testing import auth_header

    headers = auth_header(app.extensions["guanjia.settings"], "resident", resident_id=quiet["resident_id"])
    app.test_client().put("/api/v1/notifications/preferences/me", json={"opted_out": True}, headers=headers)
    clock.set_local(10, 0)
    activity_id = str(uuid.uuid4())
    published = make_event(
        "activity.published",
        {
            "activity_id": activity_id,
            "community_id": community_id,
            "kind": "owner_meeting",
            "starts_at": "2026-12-20T06:00:00+00:00",
            "signup_closes_at": "2026-12-19T06:00:00+00:00",
            "capacity": 80,
        },
    )
    assert p.handle(published) == "applied"
    assert p.handle(published) == "duplicate"
    p.dispatch()
    sent = fake_sms.of("twilio")
    assert sorted(m["phone"] for m in sent) == sorted([one["phone"], two["phone"]])  # not the opted-out resident
    assert (
        sent[0]["body"]
        == "【幸福物业】社区活动：业主见面会将于2026-12-20 14:00举行，2026-12-19 14:00前可报名，详见住户页面。"
    )
    reminder = make_event(
        "activity.reminder_due",
        {
            "activity_id": activity_id,
            "signup_id": str(uuid.uuid4()),
            "community_id": community_id,
            "unit_id": unit_id,
            "kind": "owner_meeting",
            "starts_at": "2026-12-20T06:00:00+00:00",
        },
    )
    assert p.handle(reminder) == "applied"
    p.dispatch()
    [recalled] = fake_sms.of("twilio")[2:]
    assert recalled["phone"] == one["phone"]
    assert recalled["body"] == "【幸福物业】活动提醒：您报名的业主见面会将于2026-12-20 14:00开始，欢迎准时参加。"


def test_an_activity_for_zones_and_buildings_is_announced_to_their_residents_only(
    pipeline, directory, fake_sms, make_event, clock
):
    p = pipeline("twilio")
    community_id, zone_id, building_id = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    inside = directory.resident(community_id=community_id)
    other_building = directory.resident(community_id=community_id)
    elsewhere = directory.resident(community_id=community_id)
    people = [inside["resident_id"], other_building["resident_id"], elsewhere["resident_id"]]
    directory.areas[(community_id, "community", None)] = people
    directory.areas[(community_id, "zone", zone_id)] = people[:2]
    directory.areas[(community_id, "building", building_id)] = people[:1]
    clock.set_local(10, 0)

    def announce(zone_ids, building_ids):
        data = {
            "activity_id": str(uuid.uuid4()),
            "community_id": community_id,
            "kind": "sport",
            "starts_at": "2026-12-20T06:00:00+00:00",
            "signup_closes_at": "2026-12-19T06:00:00+00:00",
            "capacity": 30,
            "zone_ids": zone_ids,
            "building_ids": building_ids,
        }
        before = len(fake_sms.of("twilio"))
        assert p.handle(make_event("activity.published", data)) == "applied"
        p.dispatch()
        return sorted(m["phone"] for m in fake_sms.of("twilio")[before:])

    assert announce([zone_id], []) == sorted([inside["phone"], other_building["phone"]])
    assert announce([], [building_id]) == [inside["phone"]]
    assert announce([zone_id], [building_id]) == [inside["phone"]]  # both given: the residents in both
