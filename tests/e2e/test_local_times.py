"""Times sent with an offset (+08:00, as a Chinese client writes them) mean the same instant in both run modes.

Embedded mode keeps SQLite, which has no time zone: before guanjia.db.UtcDateTime, 09:00+08:00 was stored
as 09:00 and read back as 09:00 UTC, and filters compared wall-clock text (issue 13)."""

import time
from datetime import UTC, datetime, timedelta, timezone

from .conftest import Client, approved_renovation, make_household, wait_for_notifications

CST = timezone(timedelta(hours=8))


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_moving_appointment_keeps_the_instant_sent_in_local_time(stack, admin):
    household = make_household(admin)
    unit = household["unit"]["id"]
    at = (datetime.now(CST) + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    booked = admin.created(
        f"/api/v1/units/{unit}/moving-appointments",
        {"resident_id": household["resident"]["id"], "kind": "move_out", "scheduled_at": at.isoformat()},
    )
    assert instant(booked["scheduled_at"]) == at
    listed = admin.get(f"/api/v1/units/{unit}/moving-appointments").json()
    assert [instant(item["scheduled_at"]) for item in listed] == [at]


def test_a_key_lent_until_a_local_time_shows_as_overdue_once_that_time_passes(stack, admin):
    household = make_household(admin)
    unit, community = household["unit"]["id"], household["community"]["id"]
    key = admin.created(
        f"/api/v1/units/{unit}/keys", {"label": "入户门", "authorized": [{"resident_id": household["resident"]["id"]}]}
    )
    due = datetime.now(CST) + timedelta(seconds=2)
    lent = admin.post(
        f"/api/v1/units/{unit}/keys/{key['id']}/lend",
        json={
            "borrower": {"resident_id": household["resident"]["id"]},
            "reason": "保洁",
            "due_back_at": due.isoformat(),
        },
    )
    assert lent.status_code == 200, lent.text
    assert instant(lent.json()["loan"]["due_back_at"]) == due
    time.sleep(max(0.0, (due - datetime.now(CST)).total_seconds()) + 0.5)
    overdue = admin.get(f"/api/v1/communities/{community}/overdue-keys")
    assert overdue.status_code == 200, overdue.text
    assert [item["key_id"] for item in overdue.json()] == [key["id"]]


def _violation(admin: Client, household: dict, rectify_by: str) -> dict:
    base = approved_renovation(admin, household)
    inspection = admin.created(
        f"{base}/inspections",
        {
            "findings": "封闭阳台",
            "violation": {
                "category": "debris",
                "severity": "minor",
                "evidence": "阳台外立面改动",
                "rectify_by": rectify_by,
            },
        },
    )
    [violation] = inspection["violations"]
    # Read back from the database, not the object the request just built.
    listed = admin.get(f"{base}/inspections")
    assert listed.status_code == 200, listed.text
    return next(v for i in listed.json() for v in i["violations"] if v["id"] == violation["id"])


def test_violation_rectify_by_keeps_the_local_instant_and_a_date_means_the_end_of_that_local_day(stack, admin):
    household = make_household(admin)
    by = (datetime.now(CST) + timedelta(days=3)).replace(hour=18, minute=0, second=0, microsecond=0)
    assert instant(_violation(admin, household, by.isoformat())["rectify_by"]) == by

    day = (datetime.now(CST) + timedelta(days=5)).date()
    violation = _violation(admin, make_household(admin), day.isoformat())
    end_of_day = datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=CST)  # the instance is Asia/Shanghai
    assert instant(violation["rectify_by"]) == end_of_day


def test_tickets_created_between_local_times_are_found(stack, admin):
    household = make_household(admin)
    ticket = admin.created(
        "/api/v1/tickets", {"unit_id": household["unit"]["id"], "category": "repair", "description": "水龙头漏水"}
    )
    created = instant(ticket["created_at"]).astimezone(CST)
    window = {
        "created_from": (created - timedelta(minutes=5)).isoformat(),
        "created_to": (created + timedelta(minutes=5)).isoformat(),
        "unit_id": household["unit"]["id"],
    }
    local = admin.get("/api/v1/tickets", params=window)
    assert local.status_code == 200, local.text
    assert [item["id"] for item in local.json()["items"]] == [ticket["id"]]
    in_utc = {
        key: instant(value).astimezone(UTC).isoformat() if key != "unit_id" else value for key, value in window.items()
    }
    assert [item["id"] for item in admin.get("/api/v1/tickets", params=in_utc).json()["items"]] == [ticket["id"]]


def test_todays_messages_are_counted_under_today_in_the_instance_timezone(stack, admin):
    household = make_household(admin)
    resident = Client(stack.url).login(*household["login"])
    ticket = resident.created(
        "/api/v1/tickets", {"unit_id": household["unit"]["id"], "category": "repair", "description": "灯不亮"}
    )
    wait_for_notifications(resident, f"ticket/{ticket['id']}")
    today = datetime.now(CST).date().isoformat()
    params = {"date_from": today, "date_to": today, "community_id": household["community"]["id"]}
    stats = admin.get("/api/v1/notifications/stats", params=params)
    assert stats.status_code == 200, stats.text
    [day] = stats.json()["items"]
    assert day["date"] == today and day["sent"] + day["failed"] + day["skipped"] >= 1
