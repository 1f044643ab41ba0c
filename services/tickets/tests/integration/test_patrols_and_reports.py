"""Patrol plans, rounds and findings; zone coverage with a controllable clock; the monthly report in JSON and XLSX."""

import io
import uuid
import zipfile
from datetime import UTC, datetime, timedelta

from openpyxl import load_workbook

from guanjia.testing import auth_header
from tickets.domain import patrols, reports
from tickets.models import Ticket

START = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def _plan(client, world, staff_id, **extra):
    body = {
        "zone_id": world["zone_id"],
        "name": "一区夜间巡查",
        "frequency": "daily",
        "staff_ids": [staff_id],
        "checkpoints": [{"code": "CP-A", "name": "1号楼大堂"}, {"code": "CP-B", "name": "地下车库"}],
        **extra,
    }
    response = client.post("/api/v1/tickets/patrols/plans", headers=world["butler"], json=body)
    assert response.status_code == 201, response.json
    return response.json


def _patrol(client, headers, plan, findings=(), scan=("CP-A", "CP-B")):
    round_ = client.post("/api/v1/tickets/patrols/rounds", headers=headers, json={"plan_id": plan["id"]})
    assert round_.status_code == 201, round_.json
    round_id = round_.json["id"]
    for code in scan:
        assert (
            client.post(
                f"/api/v1/tickets/patrols/rounds/{round_id}/scans", headers=headers, json={"code": code}
            ).status_code
            == 200
        )
    for finding in findings:
        response = client.post(f"/api/v1/tickets/patrols/rounds/{round_id}/findings", headers=headers, json=finding)
        assert response.status_code == 201, response.json
    done = client.post(f"/api/v1/tickets/patrols/rounds/{round_id}/complete", headers=headers)
    assert done.status_code == 200, done.json
    return done.json


def test_a_round_scans_checkpoints_and_turns_findings_into_tickets(
    client, tickets_settings, world, outbox_events, staff_user
):
    guard_id = staff_user(world["community_id"])
    guard = auth_header(tickets_settings, "engineer", communities=[world["community_id"]], subject=guard_id)
    plan = _plan(client, world, guard_id)
    assert plan["every_days"] == 1 and [c["code"] for c in plan["checkpoints"]] == ["CP-A", "CP-B"]
    round_ = client.post("/api/v1/tickets/patrols/rounds", headers=guard, json={"plan_id": plan["id"]}).json
    bad = client.post(f"/api/v1/tickets/patrols/rounds/{round_['id']}/scans", headers=guard, json={"code": "CP-Z"})
    assert bad.status_code == 422 and "code" in bad.json["errors"]
    client.post(f"/api/v1/tickets/patrols/rounds/{round_['id']}/scans", headers=guard, json={"code": "CP-A"})
    leak = {"kind": "engineering", "severity": "major", "description": "车库消防管滴水", "needs_work": True}
    finding = client.post(f"/api/v1/tickets/patrols/rounds/{round_['id']}/findings", headers=guard, json=leak).json
    note = {"kind": "environment", "severity": "minor", "description": "落叶较多", "needs_work": False}
    client.post(f"/api/v1/tickets/patrols/rounds/{round_['id']}/findings", headers=guard, json=note)
    done = client.post(f"/api/v1/tickets/patrols/rounds/{round_['id']}/complete", headers=guard).json
    assert done["status"] == "completed" and done["missed_checkpoints"] == ["CP-B"]
    assert [f["needs_work"] for f in done["findings"]] == [True, False]

    ticket = client.get(f"/api/v1/tickets/{finding['ticket_id']}", headers=world["butler"]).json
    assert (ticket["channel"], ticket["location"], ticket["round_id"]) == ("patrol", "public_area", round_["id"])
    assert (ticket["department"], ticket["priority"]) == ("engineering", "high")
    assert ticket["assignee_id"] == world["butler_id"] and ticket["zone_id"] == world["zone_id"]
    (event,) = outbox_events(f"patrol_round/{round_['id']}", "patrol.completed")
    assert (event["data"]["findings"], event["data"]["tickets_opened"]) == (2, 1)
    late = client.post(f"/api/v1/tickets/patrols/rounds/{round_['id']}/findings", headers=guard, json=note)
    assert late.status_code == 409
    stranger = auth_header(tickets_settings, "engineer", communities=[world["community_id"]])
    assert client.get(f"/api/v1/tickets/patrols/rounds/{round_['id']}", headers=stranger).status_code == 404


def test_bad_plans_name_the_field(client, world):
    body = {
        "zone_id": world["zone_id"],
        "name": "x",
        "frequency": "every_n_days",
        "checkpoints": [{"code": "A", "name": "a"}],
    }
    response = client.post("/api/v1/tickets/patrols/plans", headers=world["butler"], json=body)
    assert response.status_code == 422 and "every_days" in response.json["errors"]
    dup = {**body, "every_days": 3, "checkpoints": [{"code": "A", "name": "a"}, {"code": "A", "name": "b"}]}
    response = client.post("/api/v1/tickets/patrols/plans", headers=world["butler"], json=dup)
    assert response.status_code == 422 and "checkpoints" in response.json["errors"]
    response = client.post("/api/v1/tickets/patrols/plans", headers=world["resident"], json={**body, "every_days": 3})
    assert response.status_code == 403


def test_an_unpatrolled_zone_is_reported_overdue_once_per_gap(
    client, tickets_settings, world, db, clock, outbox_events, staff_user
):
    guard_id = staff_user(world["community_id"])
    plan = _plan(client, world, guard_id)

    def check(now):
        with db.transaction() as session:
            patrols.check_coverage(session, tickets_settings, now)

    seen = datetime.now(UTC)
    check(seen + timedelta(days=4))
    assert outbox_events(f"zone/{world['zone_id']}", "patrol.zone_overdue") == []
    check(seen + timedelta(days=6))
    check(seen + timedelta(days=7))  # still the same gap: nothing new
    (never,) = outbox_events(f"zone/{world['zone_id']}", "patrol.zone_overdue")
    assert never["data"]["last_round_at"] is None and never["data"]["required_every_days"] == 5
    assert never["data"]["overdue_days"] == 1

    clock.set(seen + timedelta(days=8))
    _patrol(client, world["butler"], plan)
    check(seen + timedelta(days=12))
    assert len(outbox_events(f"zone/{world['zone_id']}", "patrol.zone_overdue")) == 1
    check(seen + timedelta(days=16))
    gaps = outbox_events(f"zone/{world['zone_id']}", "patrol.zone_overdue")
    assert len(gaps) == 2 and gaps[1]["data"]["overdue_days"] == 3
    assert datetime.fromisoformat(gaps[1]["data"]["last_round_at"]) == seen + timedelta(days=8)

    clock.set(seen + timedelta(days=16))
    report = client.get(
        f"/api/v1/tickets/patrols/coverage?community_id={world['community_id']}&days=30", headers=world["manager"]
    )
    assert report.status_code == 200, report.json
    (zone,) = [z for z in report.json["zones"] if z["zone_id"] == world["zone_id"]]
    assert zone["overdue"] is True and zone["rounds_in_window"] == 1 and zone["days_since_last_round"] == 8.0
    assert [g["days"] for g in zone["gaps"]] == [8.0, 8.0]
    assert (
        client.get(
            f"/api/v1/tickets/patrols/coverage?community_id={world['community_id']}", headers=world["resident"]
        ).status_code
        == 403  # residents have no part in patrols (the need-to-know table)
    )


def _seed_month(client, world, clock):
    """Six tickets in October 2026 with known clocks, visits and kinds."""
    tickets = []
    for i, (category, subcategory, reporter_minutes) in enumerate(
        [
            ("repair", "plumbing", (30, 600)),
            ("repair", "plumbing", (60, 1200)),
            ("complaint", "noise", (90, 300)),
            ("complaint", "noise", (200, 5000)),  # responded late: a response breach
            ("inquiry", None, (10, 20)),
            ("praise", None, None),  # never handled
        ]
    ):
        created = START + timedelta(days=i)
        clock.set(created)
        body = {"unit_id": world["unit_id"], "category": category, "description": f"第{i}件"}
        if subcategory:
            body["subcategory"] = subcategory
        ticket = client.post("/api/v1/tickets", headers=world["resident"], json=body).json
        tickets.append(ticket)
        if reporter_minutes is None:
            continue
        clock.set(created + timedelta(minutes=reporter_minutes[0]))
        client.post(f"/api/v1/tickets/{ticket['id']}/start", headers=world["butler"], json={})
        clock.set(created + timedelta(minutes=reporter_minutes[1]))
        client.post(f"/api/v1/tickets/{ticket['id']}/resolve", headers=world["butler"], json={})
        visit = {"outcome": "reached", "satisfaction": [5, 4, 3, 1, 5][i]}
        client.post(f"/api/v1/tickets/{ticket['id']}/visits", headers=world["butler"], json=visit)
    return tickets


def test_the_monthly_report_in_json_and_xlsx(client, world, clock, db, tickets_settings, staff_user):
    tickets = _seed_month(client, world, clock)
    clock.set(START + timedelta(days=7))
    guard_id = staff_user(world["community_id"])
    guard = auth_header(tickets_settings, "engineer", communities=[world["community_id"]], subject=guard_id)
    loose = {"kind": "engineering", "severity": "minor", "description": "井盖松动", "needs_work": False}
    _patrol(client, guard, _plan(client, world, guard_id), findings=[loose])
    clock.set(datetime(2026, 11, 15, tzinfo=UTC))
    url = f"/api/v1/tickets/reports/monthly?community_id={world['community_id']}&month=2026-10"
    report = client.get(url, headers=world["manager"])
    assert report.status_code == 200, report.json
    r = report.json
    assert r["period"] == "2026-10" and r["totals"]["tickets"] == 6
    assert {row["key"]: row["count"] for row in r["by_category"]} == {
        "repair": 2,
        "complaint": 2,
        "inquiry": 1,
        "praise": 1,
    }
    assert r["by_zone"] == [{"key": world["zone_id"], "count": 6, "name": "一区"}]
    assert r["response_time"] == {"count": 5, "p50_minutes": 60.0, "p90_minutes": 156.0}
    # The reopened complaint is not resolved any more: four resolution times.
    assert r["resolution_time"] == {"count": 4, "p50_minutes": 450.0, "p90_minutes": 1020.0}
    # Response: 5 handled (1 late) + the praise never started, its 2 h clock long gone → 4 met, 2 breached.
    assert r["sla"]["response"] == {"met": 4, "breached": 2, "compliance": 0.6667}
    assert r["satisfaction"]["distribution"] == {"1": 1, "2": 0, "3": 1, "4": 1, "5": 2}
    assert r["satisfaction"]["average"] == 3.6 and r["satisfaction"]["satisfied_rate"] == 0.6
    complaints = r["complaints"]
    assert complaints["count"] == 2
    assert complaints["repeat_complainants"] == [
        {"reporter_id": world["resident_id"], "complaints": 2, "unit_numbers": ["1-101"]}
    ]
    assert complaints["by_subcategory"] == [{"key": "noise", "count": 2}]
    assert complaints["by_zone"] == [{"key": world["zone_id"], "count": 2, "name": "一区"}]
    # The first complaint resolved after 300 minutes; the second one was reopened by its score of 1.
    assert complaints["resolution_time"] == {"count": 1, "p50_minutes": 300.0, "p90_minutes": 300.0}
    assert complaints["satisfaction"]["visits_reached"] == 2 and complaints["satisfaction"]["average"] == 2.0
    first, second = complaints["items"]
    assert (first["number"], second["number"]) == (tickets[2]["number"], tickets[3]["number"])
    assert first["unit_label"] and first["zone_name"] == "一区" and first["resolution_minutes"] == 300.0
    assert first["status"] == "closed" and first["satisfaction"] == 3 and first["overdue"] is False
    assert second["status"] == "reopened" and second["resolved_at"] is None
    assert complaints["overdue"] == complaints["sla"]["breached"] == sum(i["overdue"] for i in complaints["items"])
    assert r["patrols"]["rounds"] == r["patrols"]["completed"] == 1 and r["patrols"]["findings"] == 1
    assert r["patrols"]["by_zone"] == [
        {"key": world["zone_id"], "name": "一区", "rounds": 1, "completed": 1, "findings": 1}
    ]
    top = {(i["category"], i["subcategory"]): i["count"] for i in r["top_recurring_issues"]}
    assert top[("repair", "plumbing")] == 2 and top[("complaint", "noise")] == 2
    # The dissatisfied visit reopened one complaint: it shows as reopened in the totals.
    assert r["totals"]["by_status"]["reopened"] == 1

    # The embedded (SQLite) path computes the same clock figures in Python.
    with db.transaction() as session:
        start, end, _ = reports.period_bounds("monthly", "2026-10", "Asia/Shanghai")
        in_period = (Ticket.community_id == world["community_id"], Ticket.created_at >= start, Ticket.created_at < end)
        now = datetime(2026, 11, 15, tzinfo=UTC)
        assert reports.clock_figures_python(session, in_period, now) == reports.clock_figures_sql(
            session, in_period, now
        )

    xlsx = client.get(url + "&format=xlsx", headers=world["manager"])
    assert xlsx.status_code == 200
    assert xlsx.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = load_workbook(io.BytesIO(xlsx.data))
    assert {"汇总", "按类别", "按片区", "重复投诉", "高频问题"} <= set(book.sheetnames)
    summary = {row[0]: row[1] for row in book["汇总"].iter_rows(values_only=True)}
    assert summary["工单总数"] == 6 and summary["投诉数"] == 2 and summary["响应及时率"] == 0.6667
    assert book["汇总"].freeze_panes == "A2"
    assert {row[0]: row[1] for row in book["按类别"].iter_rows(min_row=2, values_only=True)}["报修"] == 2
    assert list(book["按片区"].iter_rows(min_row=2, values_only=True)) == [("一区", 6)]
    assert list(book["重复投诉"].iter_rows(min_row=2, values_only=True)) == [("1-101", 2, world["resident_id"])]
    listed = list(book["投诉清单"].iter_rows(min_row=2, values_only=True))
    assert [row[0] for row in listed] == [tickets[2]["number"], tickets[3]["number"]]
    assert listed[0][3] == "一区" and listed[0][5] == "已关闭" and listed[0][8] == 300 and listed[0][10] == 3
    assert list(book["巡查"].iter_rows(min_row=2, values_only=True)) == [("一区", 1, 1, 1)]

    weekly = client.get(
        f"/api/v1/tickets/reports/weekly?community_id={world['community_id']}&week=2026-10-01", headers=world["senior"]
    )
    # The week of Thursday 1 October runs Monday 28 September – Sunday 4 October: four of the tickets.
    assert weekly.status_code == 200 and weekly.json["totals"]["tickets"] == 4
    assert weekly.json["period"] == "2026-09-28/2026-10-04"

    # The weekly series answers the same headline figures for several weeks at once (the dashboard's one call).
    series = client.get(
        f"/api/v1/tickets/reports/weekly-series?community_id={world['community_id']}&week=2026-10-25&weeks=6",
        headers=world["senior"],
    )
    assert series.status_code == 200
    weeks = series.json["weeks"]
    assert [w["week"] for w in weeks] == ["2026-09-14", "2026-09-21", "2026-09-28", "2026-10-05", "2026-10-12",
                                          "2026-10-19"]  # fmt: skip
    assert sum(w["tickets"] for w in weeks) == 6
    for entry in weeks:
        one = client.get(
            f"/api/v1/tickets/reports/weekly?community_id={world['community_id']}&week={entry['week']}",
            headers=world["senior"],
        ).json
        assert entry["period"] == one["period"] and entry["tickets"] == one["totals"]["tickets"]
        assert entry["sla"] == one["sla"]
        assert entry["satisfaction"] == {
            k: one["satisfaction"][k] for k in ("visits_reached", "average", "satisfied_rate")
        }
    assert any(w["satisfaction"]["visits_reached"] for w in weeks)
    refused = client.get(
        f"/api/v1/tickets/reports/weekly-series?community_id={world['community_id']}&week=2026-10-25&weeks=60",
        headers=world["senior"],
    )
    assert refused.status_code == 422 and "weeks" in refused.json["errors"]
    denied = client.get(
        f"/api/v1/tickets/reports/weekly-series?community_id={world['community_id']}&week=2026-10-25",
        headers=world["butler"],
    )
    assert denied.status_code == 403


def test_the_butler_figures_for_staffs_scorecards(client, world, clock, tickets_settings, staff_user):
    """Per butler of the community for a month: their zones' tickets and resolved ones, the resolution SLA, the
    satisfaction of the reached visits, the share of their zones patrolled; for the service role only."""
    _seed_month(client, world, clock)
    clock.set(START + timedelta(days=7))
    guard_id = staff_user(world["community_id"])
    guard = auth_header(tickets_settings, "engineer", communities=[world["community_id"]], subject=guard_id)
    _patrol(client, guard, _plan(client, world, guard_id))
    clock.set(datetime(2026, 11, 15, tzinfo=UTC))
    url = f"/api/v1/internal/tickets/butler-figures?community_id={world['community_id']}&month=2026-10"
    service = auth_header(tickets_settings, "service")
    assert client.get(url, headers=world["manager"]).status_code == 403
    monthly = client.get(
        url.replace("internal/tickets/butler-figures", "tickets/reports/monthly"), headers=world["manager"]
    )
    answer = client.get(url, headers=service)
    assert answer.status_code == 200, answer.json
    [row] = answer.json["items"]
    report = monthly.json
    assert row["key"] == world["butler_id"] and row["zones"] == 1
    assert row["tickets"] == report["totals"]["tickets"] == 6
    assert row["tickets_resolved"] == report["resolution_time"]["count"]
    assert row["sla_compliance"] == report["sla"]["resolution"]["compliance"]
    assert row["satisfaction_average"] == 3.6 and row["satisfied_rate"] == 0.6
    assert (row["zones_patrolled"], row["patrol_coverage"]) == (1, 1.0)
    assert (row["visits_reached"], row["visits_score"], row["visits_satisfied"]) == (5, 18, 3)
    assert row["sla_met"] + row["sla_breached"] > 0
    # The same figures for the zone and for the community (a zone or community plan's summary asks them).
    [zone_row] = client.get(f"{url}&group_by=zone", headers=service).json["items"]
    [community_row] = client.get(f"{url}&group_by=community", headers=service).json["items"]
    assert zone_row["key"] == world["zone_id"] and community_row["key"] == world["community_id"]
    assert {k: v for k, v in zone_row.items() if k != "key"} == {k: v for k, v in row.items() if k != "key"}
    assert community_row["tickets"] == 6
    wrong = client.get(f"{url}&group_by=unit", headers=service)
    assert wrong.status_code == 422 and "group_by" in wrong.json["errors"]
    # November: nothing yet, the zone unpatrolled.
    [empty] = client.get(url.replace("2026-10", "2026-11"), headers=service).json["items"]
    assert (empty["tickets"], empty["sla_compliance"], empty["patrol_coverage"]) == (0, None, 0.0)
    bad = client.get(url.replace("2026-10", "2026-13"), headers=service)
    assert bad.status_code == 422 and "month" in bad.json["errors"]


def test_reports_refuse_bad_periods_and_butlers(client, world):
    bad = client.get(
        f"/api/v1/tickets/reports/monthly?community_id={world['community_id']}&month=2026-13", headers=world["manager"]
    )
    assert bad.status_code == 422 and "month" in bad.json["errors"]
    fmt = client.get(
        f"/api/v1/tickets/reports/monthly?community_id={world['community_id']}&month=2026-10&format=pdf",
        headers=world["manager"],
    )
    assert fmt.status_code == 422 and "format" in fmt.json["errors"]
    denied = client.get(
        f"/api/v1/tickets/reports/monthly?community_id={world['community_id']}&month=2026-10", headers=world["butler"]
    )
    assert denied.status_code == 403


def test_a_residents_hostile_subcategory_is_text_in_the_monthly_workbook(client, world, clock):
    """A subcategory with a control character, or that starts like a formula, neither breaks the report nor runs."""
    clock.set(START)
    for subcategory in ("噪音\x07\x1b", '=HYPERLINK("http://evil.example","点我")', "@cmd", "+1-1"):
        body = {"unit_id": world["unit_id"], "category": "complaint", "subcategory": subcategory, "description": "吵"}
        created = client.post("/api/v1/tickets", headers=world["resident"], json=body)
        assert created.status_code == 201, created.json
    url = f"/api/v1/tickets/reports/monthly?community_id={world['community_id']}&month=2026-10&format=xlsx"
    xlsx = client.get(url, headers=world["manager"])
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.data))
    cells = {c.value: c for row in book["按子类"].iter_rows(min_row=2) for c in row[:1]}
    assert "噪音" in cells
    for text in ('=HYPERLINK("http://evil.example","点我")', "@cmd", "+1-1"):
        assert cells[text].data_type == "s"
    with zipfile.ZipFile(io.BytesIO(xlsx.data)) as archive:
        assert all(b"<f>" not in archive.read(n) for n in archive.namelist() if n.startswith("xl/worksheets/"))


def test_todays_rounds_are_listed_with_names_for_those_who_see_them(client, tickets_settings, world, staff_user):
    guard_id = staff_user(world["community_id"])
    guard = auth_header(tickets_settings, "engineer", communities=[world["community_id"]], subject=guard_id)
    plan = _plan(client, world, guard_id)
    started = client.post("/api/v1/tickets/patrols/rounds", headers=guard, json={"plan_id": plan["id"]}).json

    listed = client.get("/api/v1/tickets/patrols/rounds", headers=guard, query_string={"status": "in_progress"})
    assert listed.status_code == 200, listed.json
    assert [r["id"] for r in listed.json["items"]] == [started["id"]]
    assert listed.json["items"][0]["zone_id"] == world["zone_id"] and "zone_name" in listed.json["items"][0]
    mine = client.get("/api/v1/tickets/patrols/rounds", headers=world["butler"], query_string={"plan_id": plan["id"]})
    assert [r["id"] for r in mine.json["items"]] == [started["id"]]  # the zone's butler sees the zone's rounds
    assert (
        client.get(
            "/api/v1/tickets/patrols/rounds",
            headers=world["butler"],
            query_string={"status": "completed", "plan_id": plan["id"]},
        ).json["items"]
        == []
    )

    stranger = auth_header(tickets_settings, "engineer", communities=[world["community_id"]])
    other_zone = auth_header(tickets_settings, "butler", communities=[world["community_id"]], zones=["zone-elsewhere"])
    for outsider in (stranger, other_zone):
        assert client.get("/api/v1/tickets/patrols/rounds", headers=outsider).json["items"] == []
    bad = client.get("/api/v1/tickets/patrols/rounds", headers=guard, query_string={"days": 0})
    assert bad.status_code == 422 and "days" in bad.json["errors"]


def test_a_plan_naming_staff_of_another_community_is_refused_and_not_stored(client, world, staff_user):
    """Every id in a body is checked: a guard of another community (or nobody) is 422 naming staff_ids."""
    other = staff_user(f"other-{uuid.uuid4().hex[:6]}")
    before = client.get("/api/v1/tickets/patrols/plans", headers=world["manager"]).json["items"]
    for staff_id in (other, "nobody-at-all"):
        body = {
            "zone_id": world["zone_id"],
            "name": "越界巡查",
            "frequency": "daily",
            "staff_ids": [staff_id],
            "checkpoints": [{"code": "CP-X", "name": "大门"}],
        }
        response = client.post("/api/v1/tickets/patrols/plans", headers=world["butler"], json=body)
        assert response.status_code == 422, response.json
        assert "staff_ids" in response.json["errors"]
    assert client.get("/api/v1/tickets/patrols/plans", headers=world["manager"]).json["items"] == before


def test_a_finding_keeps_its_photos_whether_or_not_it_opened_a_ticket(client, tickets_settings, world, staff_user):
    from PIL import Image

    guard_id = staff_user(world["community_id"])
    guard = auth_header(tickets_settings, "engineer", communities=[world["community_id"]], subject=guard_id)
    plan = _plan(client, world, guard_id)
    round_ = client.post("/api/v1/tickets/patrols/rounds", headers=guard, json={"plan_id": plan["id"]}).json
    note = {"kind": "environment", "severity": "minor", "description": "绿化带有烟头", "needs_work": False}
    finding = client.post(f"/api/v1/tickets/patrols/rounds/{round_['id']}/findings", headers=guard, json=note).json
    photo = io.BytesIO()
    Image.new("RGB", (4, 3), "green").save(photo, "JPEG")
    path = f"/api/v1/tickets/patrols/rounds/{round_['id']}/findings/{finding['id']}/photos"
    made = client.post(path, headers=guard, data={"file": (io.BytesIO(photo.getvalue()), "f.jpg", "image/jpeg")},
                       content_type="multipart/form-data")  # fmt: skip
    assert made.status_code == 201, made.json
    svg = client.post(path, headers=guard, data={"file": (io.BytesIO(b"<svg onload=x>"), "f.svg", "image/svg+xml")},
                      content_type="multipart/form-data")  # fmt: skip
    assert svg.status_code == 422 and "file" in svg.json["errors"]
    shown = client.get(f"/api/v1/tickets/patrols/rounds/{round_['id']}", headers=world["butler"]).json
    assert [p["id"] for p in shown["findings"][0]["photos"]] == [made.json["id"]]
    content = client.get(f"{path}/{made.json['id']}/content", headers=world["butler"])
    assert content.status_code == 200 and content.data == photo.getvalue()
    stranger = auth_header(tickets_settings, "engineer", communities=[world["community_id"]])
    assert client.get(f"{path}/{made.json['id']}/content", headers=stranger).status_code == 404
    other = client.post(f"/api/v1/tickets/patrols/rounds/{round_['id']}/findings/{uuid.uuid4()}/photos",
                        headers=guard, data={"file": (io.BytesIO(photo.getvalue()), "f.jpg", "image/jpeg")},
                        content_type="multipart/form-data")  # fmt: skip
    assert other.status_code == 404
