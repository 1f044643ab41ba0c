"""Rotas and attendance against the real PostgreSQL, on an app with a controllable clock: shift templates, a week
drawn up and flagged below its minimum staffing (staff.rota_understaffed), a swap asked for and approved by the
superior, clock-in twice refused, late / absent / on leave on the monthly sheet (also as XLSX), and who sees what."""

import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import func, select

from guanjia.db import Database
from guanjia.testing import auth_header
from staff.domain import tasks
from staff.models import RotaEntry, outbox

WEEK = "2031-03-03"  # a Monday
MONDAY_8AM = datetime(2031, 3, 3, 0, 0, tzinfo=UTC)  # 08:00 Asia/Shanghai


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock(MONDAY_8AM - timedelta(days=7))


@pytest.fixture
def timed(staff_settings, clock):
    from staff.app import create_app

    return create_app(staff_settings, upstreams={}, clock=clock).test_client()


def _problem(response, status, field):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type.startswith("application/problem+json")
    assert field in response.get_json()["errors"], response.get_json()


def _events(staff_settings, event_type, needle):
    with Database(staff_settings.database_url).transaction() as session:
        rows = session.execute(select(outbox.c.event_type, outbox.c.payload)).all()
    return [json.loads(p)["data"] for t, p in rows if t == event_type and needle in p]


def test_a_week_is_drawn_up_flagged_swapped_and_kept(timed, team, staff_settings, clock):
    headers, people, department = team["headers"], team["positions"], team["department"]
    base = {"department_id": department["id"]}
    # Only the senior butler or the manager sets up shifts; a bad time names its field.
    assert (
        timed.post(
            "/api/v1/staff/shift-templates",
            json={**base, "name": "早班", "starts": "08:00", "ends": "16:00"},
            headers=headers["wang"],
        ).status_code
        == 403
    )
    _problem(
        timed.post(
            "/api/v1/staff/shift-templates",
            json={**base, "name": "早班", "starts": "8:00", "ends": "16:00"},
            headers=headers["lead"],
        ),
        422,
        "starts",
    )
    early = timed.post(
        "/api/v1/staff/shift-templates",
        json={**base, "name": "早班", "starts": "08:00", "ends": "16:00", "min_staff": 2},
        headers=headers["lead"],
    )
    assert early.status_code == 201, early.get_data(as_text=True)
    early = early.get_json()
    night = timed.post(
        "/api/v1/staff/shift-templates",
        json={**base, "name": "夜班", "starts": "22:00", "ends": "06:00", "min_staff": 1},
        headers=headers["manager"],
    ).get_json()
    assert night["crosses_midnight"] is True and early["crosses_midnight"] is False
    _problem(
        timed.post(
            "/api/v1/staff/shift-templates",
            json={**base, "name": "早班", "starts": "09:00", "ends": "17:00"},
            headers=headers["lead"],
        ),
        422,
        "name",
    )

    # A shift outside the department's templates, a day outside the week, a Tuesday as the week: refused, nothing kept.
    def save(entries, week=WEEK, who="lead"):
        return timed.post("/api/v1/staff/rotas", json={**base, "week": week, "entries": entries}, headers=headers[who])

    wang, li, lead = people["wang"]["id"], people["li"]["id"], people["lead"]["id"]
    _problem(save([{"position_id": wang, "day": WEEK, "shift_id": str(uuid.uuid4())}]), 422, "entries.0.shift_id")
    _problem(save([{"position_id": wang, "day": "2031-03-10", "shift_id": early["id"]}]), 422, "entries.0.day")
    _problem(save([], week="2031-03-04"), 422, "week")
    assert save([], who="wang").status_code == 403
    with Database(staff_settings.database_url).transaction() as session:
        count = session.execute(select(func.count()).where(RotaEntry.department_id == department["id"])).scalar_one()
    assert count == 0

    days = [f"2031-03-0{d}" for d in range(3, 10)]
    entries = [{"position_id": p, "day": d, "shift_id": early["id"]} for d in days for p in (wang, li)]
    entries += [{"position_id": lead, "day": d, "shift_id": night["id"]} for d in days[:5]]
    rota = save(entries)
    assert rota.status_code == 200, rota.get_data(as_text=True)
    rota = rota.get_json()
    assert rota["understaffed"] is True
    assert [(g["day"], g["shift_id"], g["staffed"]) for g in rota["gaps"]] == [
        ("2031-03-08", night["id"], 0),
        ("2031-03-09", night["id"], 0),
    ]
    [event] = _events(staff_settings, "staff.rota_understaffed", department["id"])
    assert (event["week"], event["gaps"]) == (WEEK, 2)

    # The members read the week; another community's manager does not find it.
    seen = timed.get(f"/api/v1/staff/rotas?department_id={department['id']}&week={WEEK}", headers=headers["li"])
    assert seen.status_code == 200 and seen.get_json()["editable"] is False and len(seen.get_json()["entries"]) == 19
    stranger = auth_header(staff_settings, "cs_manager", communities=[str(uuid.uuid4())])
    assert (
        timed.get(f"/api/v1/staff/rotas?department_id={department['id']}&week={WEEK}", headers=stranger).status_code
        == 404
    )

    # 换班: wang hands Tuesday's early shift to lead; li (a peer) cannot approve it, lead's... the superior (lead) does.
    tuesday = next(e for e in rota["entries"] if e["position_id"] == wang and e["day"] == "2031-03-04")
    _problem(
        timed.post(
            "/api/v1/staff/swaps", json={"entry_id": tuesday["id"], "with_position_id": li}, headers=headers["wang"]
        ),
        422,
        "with_position_id",
    )  # li is on that shift already
    _problem(
        timed.post(
            "/api/v1/staff/swaps", json={"entry_id": tuesday["id"], "with_position_id": lead}, headers=headers["li"]
        ),
        422,
        "entry_id",
    )  # not li's shift
    swap = timed.post(
        "/api/v1/staff/swaps", json={"entry_id": tuesday["id"], "with_position_id": lead}, headers=headers["wang"]
    )
    assert swap.status_code == 201, swap.get_data(as_text=True)
    swap = swap.get_json()
    assert (swap["display_name"], swap["with_name"], swap["shift_name"]) == ("wang", "lead", "早班")
    assert timed.post(f"/api/v1/staff/swaps/{swap['id']}/approve", headers=headers["wang"]).status_code == 403
    assert timed.post(f"/api/v1/staff/swaps/{swap['id']}/approve", headers=headers["li"]).status_code == 404
    approved = timed.post(f"/api/v1/staff/swaps/{swap['id']}/approve", headers=headers["lead"])
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    assert timed.post(f"/api/v1/staff/swaps/{swap['id']}/reject", headers=headers["lead"]).status_code == 409
    after = timed.get(f"/api/v1/staff/rotas?department_id={department['id']}&week={WEEK}", headers=headers["lead"])
    moved = next(e for e in after.get_json()["entries"] if e["id"] == tuesday["id"])
    assert moved["position_id"] == lead


def test_clock_in_late_absent_and_on_leave_on_the_monthly_sheet(timed, team, staff_settings, clock):
    headers, people, department = team["headers"], team["positions"], team["department"]
    night = timed.post(
        "/api/v1/staff/shift-templates",
        json={"department_id": department["id"], "name": "夜班", "starts": "22:00", "ends": "06:00"},
        headers=headers["lead"],
    ).get_json()
    wang, li = people["wang"]["id"], people["li"]["id"]
    entries = [{"position_id": p, "day": WEEK, "shift_id": night["id"]} for p in (wang, li)]
    entries.append({"position_id": wang, "day": "2031-03-04", "shift_id": night["id"]})
    assert (
        timed.post(
            "/api/v1/staff/rotas",
            json={"department_id": department["id"], "week": WEEK, "entries": entries},
            headers=headers["lead"],
        ).status_code
        == 200
    )
    # li is on approved leave over Tuesday night (filed a week ahead, approved by lead).
    leave = timed.post(
        "/api/v1/staff/leaves",
        json={
            "position_id": li,
            "stand_in_id": wang,
            "kind": "sick",
            "starts_at": "2031-03-03T20:00:00+08:00",
            "ends_at": "2031-03-05T08:00:00+08:00",
        },
        headers=headers["li"],
    )
    assert leave.status_code == 201, leave.get_data(as_text=True)
    assert (
        timed.post(f"/api/v1/staff/leaves/{leave.get_json()['id']}/approve", headers=headers["lead"]).status_code == 200
    )

    # Monday 22:00 local is 14:00 UTC; wang clocks in at 22:20 (late by 20), not twice, and out at 06:00.
    clock.now = datetime(2031, 3, 3, 14, 20, tzinfo=UTC)
    _problem(
        timed.post("/api/v1/staff/attendance/clock-in", json={"position_id": li}, headers=headers["wang"]),
        422,
        "position_id",
    )
    assert (
        timed.post(
            "/api/v1/staff/attendance/clock-out", json={"position_id": wang}, headers=headers["wang"]
        ).status_code
        == 409
    )
    first = timed.post("/api/v1/staff/attendance/clock-in", json={"position_id": wang}, headers=headers["wang"])
    assert first.status_code == 201, first.get_data(as_text=True)
    twice = timed.post("/api/v1/staff/attendance/clock-in", json={"position_id": wang}, headers=headers["wang"])
    _problem(twice, 422, "position_id")
    assert "22:20" in twice.get_json()["errors"]["position_id"][0]
    state = timed.get(f"/api/v1/staff/attendance/clock?community_id={team['community']}", headers=headers["wang"])
    assert state.get_json()["clocked_in"] is True
    clock.now = datetime(2031, 3, 3, 22, 0, tzinfo=UTC)
    assert (
        timed.post(
            "/api/v1/staff/attendance/clock-out", json={"position_id": wang}, headers=headers["wang"]
        ).status_code
        == 200
    )

    # Wednesday noon: wang missed Tuesday's night shift; li was on leave over both of hers — not absent.
    clock.now = datetime(2031, 3, 5, 4, 0, tzinfo=UTC)
    url = f"/api/v1/staff/attendance?community_id={team['community']}&month=2031-03"
    sheet = timed.get(url, headers=headers["lead"]).get_json()["items"]
    outcome = {(r["display_name"], r["day"]): (r["status"], r["late_minutes"]) for r in sheet}
    assert outcome == {
        ("wang", "2031-03-03"): ("late", 20),
        ("li", "2031-03-03"): ("on_leave", 0),
        ("wang", "2031-03-04"): ("absent", 0),
    }
    # A butler sees their own; another community is 404; a bad period names its field.
    own = timed.get(url, headers=headers["wang"]).get_json()["items"]
    assert {r["display_name"] for r in own} == {"wang"}
    stranger = auth_header(staff_settings, "cs_manager", communities=[str(uuid.uuid4())])
    assert timed.get(url, headers=stranger).status_code == 404
    _problem(
        timed.get(f"/api/v1/staff/attendance?community_id={team['community']}", headers=headers["lead"]), 422, "month"
    )
    _problem(timed.get(url.replace("2031-03", "2031-13"), headers=headers["lead"]), 422, "month")

    book = timed.get(url + "&format=xlsx", headers=headers["manager"])
    assert book.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(book.data))
    detail = list(workbook["考勤明细"].iter_rows(values_only=True))
    assert detail[0][:3] == ("日期", "部门", "姓名") and "状态" in detail[0]
    assert ("wang", "夜班", "迟到") == (detail[1][2], detail[1][3], detail[1][8]) or any(
        row[2] == "wang" and row[8] == "迟到" for row in detail[1:]
    )
    assert any(row[2] == "li" and row[8] == "请假" for row in detail[1:])
    summary = {row[0]: row for row in workbook["考勤汇总"].iter_rows(values_only=True)}
    assert summary["wang"][1:] == (2, 0, 1, 20, 1, 0)


def test_a_task_is_reminded_once_before_it_falls_due(client, team, staff_settings):
    due = datetime.now(UTC) + timedelta(hours=30)
    body = {"position_id": team["positions"]["wang"]["id"], "title": "月度巡检报告", "due_at": due.isoformat()}
    task = client.post("/api/v1/staff/tasks", json=body, headers=team["headers"]["lead"]).get_json()
    database = Database(staff_settings.database_url)
    with database.transaction() as session:
        assert tasks.announce_due_soon(session, staff_settings, due - timedelta(hours=25)) == 0
    for _ in range(2):
        with database.transaction() as session:
            tasks.announce_due_soon(session, staff_settings, due - timedelta(hours=23))
    [event] = _events(staff_settings, "task.due_soon", task["id"])
    assert event["assignee_id"] == team["positions"]["wang"]["user_id"]
