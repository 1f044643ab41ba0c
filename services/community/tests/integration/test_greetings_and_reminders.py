"""生日祝福 and 事务提醒: a resident opts in with a birth month and day that only they see again; a butler schedules
reminders for their zones' households; the daily job writes greeting.due / reminder.due with ids only, once each,
also when two replicas run it at the same moment or it runs again."""

import threading
from datetime import UTC, datetime, timedelta

from community.context import make_context
from community.jobs import due_job
from community.models import Reminder
from guanjia.testing import auth_header


def _at_local_ten(day):
    return datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai


def _run(settings, db, now, replicas=1):
    context = make_context(settings, {})
    results, barrier = [], threading.Barrier(replicas)

    def one():
        barrier.wait()
        results.append(due_job(context, db, now))

    threads = [threading.Thread(target=one) for _ in range(replicas)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(results)


def test_opt_in_masked_for_staff_and_opt_out_deletes(client, world, community_settings):
    unit = world["units"]["1栋1-101"]
    bad = client.post(
        "/api/v1/greetings", headers=world["resident"], json={"unit_id": unit, "birth_month": 2, "birth_day": 30}
    )
    assert bad.status_code == 422 and "birth_day" in bad.json["errors"]
    other = client.post(
        "/api/v1/greetings",
        headers=world["resident"],
        json={"unit_id": world["units"]["2栋2-201"], "birth_month": 3, "birth_day": 15},
    )
    assert other.status_code == 404  # not the resident's home
    staff = client.post(
        "/api/v1/greetings", headers=world["butler"], json={"unit_id": unit, "birth_month": 3, "birth_day": 15}
    )
    assert staff.status_code == 403  # consent is the resident's own
    mine = client.post(
        "/api/v1/greetings", headers=world["resident"], json={"unit_id": unit, "birth_month": 2, "birth_day": 29}
    )
    assert mine.status_code == 201 and mine.json["birthday"] == "02-29"
    args = {"community_id": world["community_id"]}
    own = client.get("/api/v1/greetings", headers=world["resident"], query_string=args).json["items"]
    assert [g["birthday"] for g in own] == ["02-29"]
    for role in ("butler", "manager"):
        listed = client.get("/api/v1/greetings", headers=world[role], query_string=args).json["items"]
        assert [(g["resident_id"], g["birthday"]) for g in listed] == [("r1", "**-**")]
    other_zone = auth_header(
        community_settings,
        "butler",
        communities=[world["community_id"]],
        zones=[world["zones"]["二区"]],
    )
    assert client.get("/api/v1/greetings", headers=other_zone, query_string=args).json["items"] == []
    outsider = client.get(
        "/api/v1/greetings", headers=world["outsider"], query_string={"community_id": world["community_id"]}
    )
    assert outsider.status_code == 404
    assert client.delete("/api/v1/greetings/me", headers=world["resident"]).status_code == 204
    assert client.delete("/api/v1/greetings/me", headers=world["resident"]).status_code == 404
    assert client.get("/api/v1/greetings", headers=world["resident"], query_string=args).json["items"] == []


def test_the_birthday_greeting_is_announced_once_with_ids_only(client, world, community_settings, db, outbox_events):
    unit = world["units"]["1栋1-101"]
    created = client.post(
        "/api/v1/greetings", headers=world["resident"], json={"unit_id": unit, "birth_month": 3, "birth_day": 15}
    )
    gid = created.json["id"]
    _run(community_settings, db, _at_local_ten(datetime(2031, 3, 14)))
    assert outbox_events(f"greeting/{gid}") == []
    _run(community_settings, db, datetime(2031, 3, 14, 16, 1, tzinfo=UTC), replicas=2)  # 00:01 on the 15th
    _run(community_settings, db, _at_local_ten(datetime(2031, 3, 15)))  # a re-run later that day
    (event,) = outbox_events(f"greeting/{gid}", "greeting.due")
    # Ids only: never the birthday.
    assert event["data"] == {"greeting_id": gid, "community_id": world["community_id"], "resident_id": "r1"}
    _run(community_settings, db, _at_local_ten(datetime(2032, 3, 15)))  # and again the next year
    assert len(outbox_events(f"greeting/{gid}", "greeting.due")) == 2
    client.delete("/api/v1/greetings/me", headers=world["resident"])


def test_reminders_one_off_and_monthly_each_occurrence_once(client, world, community_settings, db, outbox_events):
    today = (world["now"] + timedelta(hours=8)).date()  # Asia/Shanghai
    unit = world["units"]["1栋1-102"]
    body = {"unit_id": unit, "kind": "gas_safety_check", "due_on": (today + timedelta(days=3)).isoformat()}
    assert client.post("/api/v1/reminders", headers=world["butler"], json={**body, "kind": "x"}).status_code == 422
    past = client.post(
        "/api/v1/reminders", headers=world["butler"], json={**body, "due_on": (today - timedelta(days=1)).isoformat()}
    )
    assert past.status_code == 422 and "due_on" in past.json["errors"]
    other_zone = client.post(
        "/api/v1/reminders", headers=world["butler"], json={**body, "unit_id": world["units"]["2栋2-201"]}
    )
    assert other_zone.status_code == 404
    assert client.post("/api/v1/reminders", headers=world["resident"], json=body).status_code == 403
    once = client.post("/api/v1/reminders", headers=world["butler"], json={**body, "note": "请提前开门"})
    monthly = client.post(
        "/api/v1/reminders",
        headers=world["butler"],
        json={**body, "kind": "water_meter_reading", "repeat": "monthly"},
    )
    assert once.status_code == 201 and monthly.status_code == 201, (once.json, monthly.json)
    once_id, monthly_id = once.json["id"], monthly.json["id"]
    args = {"community_id": world["community_id"]}
    assert client.get("/api/v1/reminders", headers=world["resident"], query_string=args).json["items"] == []
    listed = client.get("/api/v1/reminders", headers=world["butler"], query_string=args).json["items"]
    assert {r["id"] for r in listed} == {once_id, monthly_id}

    due_day = today + timedelta(days=3)
    assert _run(community_settings, db, _at_local_ten(due_day - timedelta(days=1))) >= 0
    assert outbox_events(f"reminder/{once_id}") == []
    _run(community_settings, db, _at_local_ten(due_day), replicas=2)
    _run(community_settings, db, _at_local_ten(due_day))
    (event,) = outbox_events(f"reminder/{once_id}", "reminder.due")
    assert event["data"] == {
        "reminder_id": once_id,
        "community_id": world["community_id"],
        "unit_id": unit,
        "kind": "gas_safety_check",
        "due_on": due_day.isoformat(),
    }
    assert len(outbox_events(f"reminder/{monthly_id}", "reminder.due")) == 1
    done = client.get(f"/api/v1/reminders/{once_id}", headers=world["butler"]).json
    assert done["status"] == "done" and done["next_due"] is None
    repeating = client.get(f"/api/v1/reminders/{monthly_id}", headers=world["manager"]).json
    assert repeating["status"] == "active" and repeating["next_due"] > due_day.isoformat()

    # The next month's occurrence, once; then cancelled, nothing more.
    next_due = datetime.fromisoformat(repeating["next_due"])
    _run(community_settings, db, _at_local_ten(next_due))
    _run(community_settings, db, _at_local_ten(next_due))
    assert [e["data"]["due_on"] for e in outbox_events(f"reminder/{monthly_id}", "reminder.due")] == [
        due_day.isoformat(),
        repeating["next_due"],
    ]
    cancelled = client.post(f"/api/v1/reminders/{monthly_id}/cancel", headers=world["butler"])
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert client.post(f"/api/v1/reminders/{monthly_id}/cancel", headers=world["butler"]).status_code == 409
    _run(community_settings, db, _at_local_ten(next_due + timedelta(days=62)))
    assert len(outbox_events(f"reminder/{monthly_id}", "reminder.due")) == 2
    with db.transaction() as session:
        assert session.get(Reminder, once_id).note == "请提前开门"  # kept in community, never in the event
