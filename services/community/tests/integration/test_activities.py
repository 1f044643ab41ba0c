"""Activities and owner meetings: drafts unseen by residents, publishing announces them (activity.published), the
capacity fills then the waiting list takes over (or a full activity refuses), a withdrawal moves the first waiting
household up, check-in, and the minutes of an owner meeting."""

import uuid
from datetime import timedelta

from guanjia.db import utcnow
from guanjia.testing import announce, wait_until


def _activity(client, world, **fields):
    body = {**_body(world), "title": "中秋游园会", "kind": "festival", "place": "小区中心广场", "capacity": 2, **fields}
    response = client.post("/api/v1/activities", headers=world["butler"], json=body)
    assert response.status_code == 201, response.json
    return response.json


def test_capacity_waiting_list_withdrawal_and_check_in(client, world, outbox_events):
    activity = _activity(client, world)
    aid, units = activity["id"], world["units"]
    assert client.get(f"/api/v1/activities/{aid}", headers=world["resident"]).status_code == 404  # a draft
    early = client.post(
        f"/api/v1/activities/{aid}/signups", headers=world["resident"], json={"unit_id": units["1栋1-101"]}
    )
    assert early.status_code == 404
    published = client.patch(f"/api/v1/activities/{aid}", headers=world["butler"], json={"status": "published"})
    assert published.status_code == 200, published.json
    (event,) = outbox_events(f"activity/{aid}", "activity.published")
    assert event["data"]["capacity"] == 2 and "title" not in event["data"]

    mine = client.post(
        f"/api/v1/activities/{aid}/signups", headers=world["resident"], json={"unit_id": units["1栋1-101"], "people": 2}
    )
    assert mine.status_code == 201 and mine.json["status"] == "confirmed"
    again = client.post(
        f"/api/v1/activities/{aid}/signups", headers=world["resident"], json={"unit_id": units["1栋1-101"]}
    )
    assert again.status_code == 409
    waiting = client.post(
        f"/api/v1/activities/{aid}/signups", headers=world["butler"], json={"unit_id": units["1栋1-102"], "people": 1}
    )
    assert waiting.status_code == 201 and waiting.json["status"] == "waiting"
    other_zone = client.post(
        f"/api/v1/activities/{aid}/signups", headers=world["butler"], json={"unit_id": units["2栋2-201"]}
    )
    assert other_zone.status_code == 404
    shown = client.get(f"/api/v1/activities/{aid}", headers=world["resident"]).json
    assert (shown["places_left"], shown["waiting"]) == (0, 1)
    # The resident sees their own sign-up only.
    own = client.get(f"/api/v1/activities/{aid}/signups", headers=world["resident"]).json["items"]
    assert [s["unit_id"] for s in own] == [units["1栋1-101"]]

    withdrawn = client.post(f"/api/v1/activities/{aid}/signups/{mine.json['id']}/cancel", headers=world["resident"])
    assert withdrawn.status_code == 200 and withdrawn.json["status"] == "cancelled"
    listed = {
        s["id"]: s["status"]
        for s in client.get(f"/api/v1/activities/{aid}/signups", headers=world["manager"]).json["items"]
    }
    assert listed[waiting.json["id"]] == "confirmed"
    checked = client.post(f"/api/v1/activities/{aid}/signups/{waiting.json['id']}/check-in", headers=world["butler"])
    assert checked.status_code == 200 and checked.json["checked_in_at"]
    refused = client.post(f"/api/v1/activities/{aid}/signups/{mine.json['id']}/check-in", headers=world["butler"])
    assert refused.status_code == 409


def test_a_full_activity_without_waiting_list_refuses_and_minutes_are_for_owner_meetings(client, world):
    activity = _activity(client, world, capacity=1, waiting_list=False)
    aid = activity["id"]
    client.patch(f"/api/v1/activities/{aid}", headers=world["butler"], json={"status": "published"})
    first = client.post(
        f"/api/v1/activities/{aid}/signups", headers=world["manager"], json={"unit_id": world["units"]["1栋1-101"]}
    )
    assert first.status_code == 201
    full = client.post(
        f"/api/v1/activities/{aid}/signups", headers=world["manager"], json={"unit_id": world["units"]["2栋2-201"]}
    )
    assert full.status_code == 409 and full.json["detail"] == "the activity is full"
    assert client.get(f"/api/v1/activities/{aid}/signups", headers=world["manager"]).json["total"] == 1
    minutes = client.patch(f"/api/v1/activities/{aid}", headers=world["butler"], json={"minutes": "……"})
    assert minutes.status_code == 422 and "minutes" in minutes.json["errors"]
    meeting = _activity(client, world, title="业主见面会", kind="owner_meeting")
    recorded = client.patch(
        f"/api/v1/activities/{meeting['id']}",
        headers=world["butler"],
        json={"minutes": "议题：地下车库照明不足，工程部两周内整改。"},
    )
    assert recorded.status_code == 200 and recorded.json["minutes"].startswith("议题")
    wrong = client.post(
        "/api/v1/activities",
        headers=world["butler"],
        json={
            **{k: meeting[k] for k in ("community_id", "title", "kind", "place", "capacity")},
            "starts_at": meeting["starts_at"],
            "ends_at": meeting["starts_at"],
            "signup_closes_at": meeting["starts_at"],
        },
    )
    assert wrong.status_code == 422 and "ends_at" in wrong.json["errors"]


def test_the_day_before_each_confirmed_household_is_reminded_once(client, world, community_settings, db, outbox_events):
    import threading
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from community.context import make_context
    from community.jobs import activity_reminders_job

    activity = _activity(client, world, capacity=1)
    aid, units = activity["id"], world["units"]
    client.patch(f"/api/v1/activities/{aid}", headers=world["butler"], json={"status": "published"})
    first = client.post(
        f"/api/v1/activities/{aid}/signups", headers=world["butler"], json={"unit_id": units["1栋1-101"]}
    )
    waiting = client.post(
        f"/api/v1/activities/{aid}/signups", headers=world["butler"], json={"unit_id": units["1栋1-102"]}
    )
    assert (first.json["status"], waiting.json["status"]) == ("confirmed", "waiting")
    start_day = datetime.fromisoformat(activity["starts_at"]).astimezone(ZoneInfo("Asia/Shanghai")).date()
    context = make_context(community_settings, {})

    def at_ten(day_offset):
        day = start_day + timedelta(days=day_offset)
        return datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai

    activity_reminders_job(context, db, at_ten(-2))
    assert outbox_events(f"activity/{aid}", "activity.reminder_due") == []
    replicas = [threading.Thread(target=activity_reminders_job, args=(context, db, at_ten(-1))) for _ in range(2)]
    for t in replicas:
        t.start()
    for t in replicas:
        t.join()
    activity_reminders_job(context, db, at_ten(-1))
    (event,) = outbox_events(f"activity/{aid}", "activity.reminder_due")
    assert event["data"] == {
        "activity_id": aid,
        "signup_id": first.json["id"],
        "community_id": world["community_id"],
        "unit_id": units["1栋1-101"],
        "kind": "festival",
        "starts_at": datetime.fromisoformat(activity["starts_at"]).astimezone(UTC).isoformat(),
    }
    # A withdrawal later that day moves the waiting household up: the next run reminds it, once.
    client.post(f"/api/v1/activities/{aid}/signups/{first.json['id']}/cancel", headers=world["butler"])
    activity_reminders_job(context, db, at_ten(-1) + timedelta(hours=3))
    activity_reminders_job(context, db, at_ten(-1) + timedelta(hours=4))
    reminded = [e["data"]["signup_id"] for e in outbox_events(f"activity/{aid}", "activity.reminder_due")]
    assert reminded == [first.json["id"], waiting.json["id"]]
    activity_reminders_job(context, db, at_ten(0))  # the day itself: nothing more
    assert len(outbox_events(f"activity/{aid}", "activity.reminder_due")) == 2


def test_an_activity_for_a_zone_is_offered_announced_and_open_to_its_households_only(
    client, world, outbox_events, community_settings, db
):
    from community.models import Activity

    units, zones = world["units"], world["zones"]
    foreign_zone = str(uuid.uuid4())
    announce(
        community_settings,
        "zone.updated",
        {"zone_id": foreign_zone, "community_id": world["outsider_community_id"], "name": "外区", "butler_ids": []},
    )
    wait_until(lambda: _zone_known(db, foreign_zone), message="zone projected")
    for field, value in (("zone_ids", [foreign_zone]), ("building_ids", [str(uuid.uuid4())])):
        body = {**_body(world), "title": "羽毛球赛", field: value}
        refused = client.post("/api/v1/activities", headers=world["manager"], json=body)
        assert refused.status_code == 422 and field in str(refused.json), refused.json
    with db.transaction() as session:
        assert session.query(Activity).filter(Activity.community_id == world["community_id"]).count() == 0

    second = client.post(
        "/api/v1/activities",
        headers=world["manager"],
        json={**_body(world), "title": "二区健步走", "zone_ids": [zones["二区"]]},
    )
    assert second.status_code == 201 and second.json["zone_names"] == ["二区"], second.json
    everyone = client.post("/api/v1/activities", headers=world["manager"], json={**_body(world), "title": "全体"})
    aid = second.json["id"]
    for activity_id in (aid, everyone.json["id"]):
        client.patch(f"/api/v1/activities/{activity_id}", headers=world["manager"], json={"status": "published"})
    (event,) = outbox_events(f"activity/{aid}", "activity.published")
    assert event["data"]["zone_ids"] == [zones["二区"]] and event["data"]["building_ids"] == []
    (whole,) = outbox_events(f"activity/{everyone.json['id']}", "activity.published")
    assert whole["data"]["zone_ids"] == [] and whole["data"]["building_ids"] == []
    fixed = client.patch(f"/api/v1/activities/{aid}", headers=world["manager"], json={"zone_ids": []})
    assert fixed.status_code == 409

    # The resident of 一区 sees the community-wide activity, not 二区's, and cannot sign up for it.
    listed = client.get(
        "/api/v1/activities", headers=world["resident"], query_string={"community_id": world["community_id"]}
    ).json["items"]
    assert [a["title"] for a in listed] == ["全体"]
    assert client.get(f"/api/v1/activities/{aid}", headers=world["resident"]).status_code == 404
    mine = client.post(
        f"/api/v1/activities/{aid}/signups", headers=world["resident"], json={"unit_id": units["1栋1-101"]}
    )
    assert mine.status_code == 404
    outside = client.post(
        f"/api/v1/activities/{aid}/signups", headers=world["manager"], json={"unit_id": units["1栋1-101"]}
    )
    assert outside.status_code == 422 and "unit_id" in str(outside.json)
    inside = client.post(
        f"/api/v1/activities/{aid}/signups", headers=world["manager"], json={"unit_id": units["2栋2-201"]}
    )
    assert inside.status_code == 201, inside.json
    assert client.get(f"/api/v1/activities/{aid}/signups", headers=world["manager"]).json["total"] == 1


def _zone_known(db, zone_id):
    from community.models import Zone

    with db.transaction() as session:
        return session.get(Zone, zone_id) is not None


def _body(world):
    start = utcnow() + timedelta(days=7)
    return {
        "community_id": world["community_id"],
        "kind": "sport",
        "place": "会所",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
        "signup_closes_at": (start - timedelta(days=1)).isoformat(),
        "capacity": 10,
    }


def test_an_activity_for_a_building_is_listed_to_its_residents(client, world, community_settings, db):
    from community.models import Unit

    units, building = world["units"], str(uuid.uuid4())
    home = {"unit_id": units["1栋1-101"], "community_id": world["community_id"], "zone_id": world["zones"]["一区"]}
    announce(community_settings, "unit.updated", {**home, "building_id": building, "label": "1栋1-101"})

    def moved():
        with db.transaction() as session:
            return session.get(Unit, units["1栋1-101"]).building_id == building

    wait_until(moved, message="building projected")
    made = client.post(
        "/api/v1/activities",
        headers=world["manager"],
        json={**_body(world), "title": "1栋聚会", "building_ids": [building]},
    )
    assert made.status_code == 201, made.json
    client.patch(f"/api/v1/activities/{made.json['id']}", headers=world["manager"], json={"status": "published"})
    listed = client.get(
        "/api/v1/activities", headers=world["resident"], query_string={"community_id": world["community_id"]}
    )
    assert listed.status_code == 200, listed.json
    assert [a["title"] for a in listed.json["items"]] == ["1栋聚会"]
