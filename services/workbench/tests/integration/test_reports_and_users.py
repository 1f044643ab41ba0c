"""The reports (工作周报, 客户投诉月报, 收费月报, 收费周报) on screen, printable and as XLSX, and an admin editing an
existing account's role, communities and zones in one form — on a whole embedded instance through the workbench's
test client."""

from __future__ import annotations

import io
import re
import time
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from openpyxl import load_workbook

from guanjia.testing import ApiClient as Api
from guanjia.testing import embedded_instance

ADMIN_PASSWORD = "reports-admin-password-1"
PASSWORD = "reports-staff-password-1"
MONEY = '"¥"#,##0.00'
ZONE = ZoneInfo("Asia/Shanghai")  # the instance's timezone: the reports' weeks, months and days are local


def _today() -> date:
    return datetime.now(ZONE).date()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with embedded_instance(tmp_path_factory.mktemp("reports-var"), ADMIN_PASSWORD) as stack:
        yield stack


def _wait(check, what: str):
    deadline = time.monotonic() + 20
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


@pytest.fixture(scope="module")
def place(stack) -> dict:
    """A community with two zones and their butler, a manager and finance; a unit with an owner, a bill partly paid
    today and a complaint logged today."""
    token = requests.post(
        stack.url + "/api/v1/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD}, timeout=10
    ).json()["access_token"]
    admin = Api(stack.url, token)
    label = uuid.uuid4().hex[:6]
    community = admin.post("/api/v1/communities", {"name": f"报表小区{label}"})
    other = admin.post("/api/v1/communities", {"name": f"另一小区{label}"})
    people = {}
    for role, name in (("butler", "周管家"), ("cs_manager", "吴经理"), ("finance", "郑会计")):
        people[role] = admin.post(
            "/api/v1/users",
            {"username": f"{role}-{label}", "display_name": name, "role": role, "password": PASSWORD,
             "communities": [community["id"]]},
        )  # fmt: skip
    zone = admin.post(
        "/api/v1/zones", {"community_id": community["id"], "name": "东区", "butler_ids": [people["butler"]["id"]]}
    )
    west = admin.post("/api/v1/zones", {"community_id": community["id"], "name": "西区"})
    far = admin.post("/api/v1/zones", {"community_id": other["id"], "name": "北区"})
    building = admin.post("/api/v1/buildings", {"community_id": community["id"], "name": "7栋", "zone_id": zone["id"]})
    unit = admin.post(
        "/api/v1/units", {"building_id": building["id"], "number": "7-301", "floor": 3, "area_m2": "90.00"}
    )
    resident = admin.post(
        "/api/v1/residents", {"unit_id": unit["id"], "name": "钱多多", "phone": "13800138777", "role": "owner"}
    )
    admin.post(f"/api/v1/units/{unit['id']}/move-in", {"resident_id": resident["id"]})
    _wait(lambda: admin.get(f"/api/v1/billing/units/{unit['id']}").status_code == 200, "billing never learnt the unit")
    due = _today() + timedelta(days=5)
    admin.post(
        "/api/v1/billing/bills",
        {"unit_id": unit["id"], "description": "物业费", "amount": "1234.50", "due_date": due.isoformat(),
         "payer_id": resident["id"]},
    )  # fmt: skip
    admin.post("/api/v1/payments", {"unit_id": unit["id"], "amount": "234.50", "method": "cash"})
    _wait(lambda: admin.get(f"/api/v1/units/{unit['id']}").status_code == 200, "no unit")
    ticket = admin.post(
        "/api/v1/tickets",
        {"unit_id": unit["id"], "category": "complaint", "subcategory": "noise", "channel": "phone",
         "description": "楼上装修噪音"},
    )  # fmt: skip
    return {"community": community, "other": other, "zone": zone, "west": west, "far": far, "unit": unit,
            "ticket": ticket, "due": due, **people}  # fmt: skip


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _signed_in(stack, username: str, password: str):
    browser = stack.upstreams["workbench"].wsgi_app.test_client()
    page = browser.get("/signin")
    answer = browser.post("/signin", data={"username": username, "password": password, "csrf_token": _csrf(page.text)})
    assert answer.status_code == 303, answer.text
    return browser


def _book(browser, url: str):
    response = browser.get(url)
    assert response.status_code == 200, response.text[:500]
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return load_workbook(io.BytesIO(response.data))


def _summary(book) -> dict:
    return {row[0]: row[1] for row in book["汇总"].iter_rows(min_row=2, values_only=True)}


def test_the_reports_index_is_in_the_header_for_managers_and_finance_each_with_their_reports(stack, place):
    manager = _signed_in(stack, place["cs_manager"]["username"], PASSWORD)
    page = manager.get("/reports")
    assert page.status_code == 200 and 'id="nav-reports"' in page.text
    for name in ("weekly", "complaints", "fees-monthly", "fees-weekly"):
        assert f'id="report-{name}"' in page.text
    finance = _signed_in(stack, place["finance"]["username"], PASSWORD)
    page = finance.get("/reports")
    assert 'id="report-fees-monthly"' in page.text and 'id="report-complaints"' not in page.text
    # The tickets' reports are the managers': finance asking for one gets the API's refusal as an empty report.
    refused = finance.get(f"/reports/complaints?community_id={place['community']['id']}")
    assert refused.status_code == 200 and 'id="report-refused"' in refused.text
    butler = _signed_in(stack, place["butler"]["username"], PASSWORD)
    assert 'id="nav-reports"' not in butler.get("/").text
    assert butler.get(f"/reports/weekly?community_id={place['other']['id']}").status_code == 404


def test_the_weekly_statistics_and_the_monthly_complaint_report(stack, place):
    manager = _signed_in(stack, place["cs_manager"]["username"], PASSWORD)
    community_id, today = place["community"]["id"], _today()
    weekly = manager.get(f"/reports/weekly?community_id={community_id}&week={today.isoformat()}")
    assert weekly.status_code == 200 and "工作周报" in weekly.text and place["community"]["name"] in weekly.text
    summary = weekly.text[weekly.text.index('id="section-summary"') : weekly.text.index('id="section-by-kind"')]
    assert re.search(r"<dt>投诉数</dt><dd>1</dd>", summary) and re.search(r"<dt>工单总数</dt><dd>1</dd>", summary)
    assert "东区" in weekly.text and "投诉" in weekly.text
    # Printable: the period form and the buttons are left off the paper, as is the header (the stylesheet's rule).
    assert 'id="report-form"' in weekly.text and re.search(r'<form[^>]*class="no-print', weekly.text)
    css = manager.get("/static/workbench.css").text
    assert re.search(r"@media print \{\s*header\.top, \.no-print", css)
    book = _book(manager, f"/reports/weekly.xlsx?community_id={community_id}&week={today.isoformat()}")
    assert {"汇总", "按类别", "按状态", "按片区", "巡查（按片区）"} <= set(book.sheetnames)
    assert _summary(book)["投诉数"] == 1 and _summary(book)["工单总数"] == 1
    assert list(book["按类别"].iter_rows(values_only=True)) == [("类别", "工单数"), ("投诉", 1)]

    month = today.strftime("%Y-%m")
    page = manager.get(f"/reports/complaints?community_id={community_id}&month={month}")
    assert page.status_code == 200 and "客户投诉月报" in page.text
    listed = page.text[page.text.index('id="section-complaints"') :]
    ticket, unit = place["ticket"], place["unit"]
    assert ticket["number"] in listed and "东区" in listed and "噪音" in listed and "周管家" in listed
    assert "7-301" in listed and unit["id"] not in page.text and ticket["id"] not in page.text
    book = _book(manager, f"/reports/complaints.xlsx?community_id={community_id}&month={month}")
    assert {"汇总", "按投诉类别", "按片区", "投诉清单", "重复投诉"} <= set(book.sheetnames)
    rows = list(book["投诉清单"].iter_rows(values_only=True))
    assert rows[0][:6] == ("工单号", "登记时间", "房屋", "片区", "投诉类别", "状态")
    assert rows[1][0] == ticket["number"] and "7-301" in rows[1][2] and rows[1][3] == "东区" and rows[1][4] == "噪音"
    logged = datetime.fromisoformat(ticket["created_at"]).astimezone(ZONE).replace(tzinfo=None, second=0, microsecond=0)
    assert rows[1][1].replace(second=0, microsecond=0) == logged  # a local time, as a date-time cell
    assert book["投诉清单"]["B2"].number_format == "yyyy-mm-dd hh:mm"
    assert _summary(book)["投诉数"] == 1 and str(_summary(book)["报表"]).startswith("客户投诉月报")
    # English on screen, Chinese in the workbook.
    manager.post("/language", data={"locale": "en", "csrf_token": _csrf(page.text)})
    english = manager.get(f"/reports/complaints?community_id={community_id}&month={month}")
    assert "Monthly complaint report" in english.text
    assert (
        "投诉清单" in _book(manager, f"/reports/complaints.xlsx?community_id={community_id}&month={month}").sheetnames
    )


def test_the_fee_monthly_and_weekly_reports(stack, place):
    finance = _signed_in(stack, place["finance"]["username"], PASSWORD)
    community_id, month = place["community"]["id"], place["due"].strftime("%Y-%m")
    page = finance.get(f"/reports/fees-monthly?community_id={community_id}&month={month}")
    assert page.status_code == 200 and "收费月报" in page.text
    # At the month's end the bill is past due: ¥1,234.50 less the ¥234.50 paid, in 东区.
    ageing = page.text[page.text.index('id="section-ageing"') :]
    assert "东区" in ageing and "¥1,000.00" in ageing
    book = _book(finance, f"/reports/fees-monthly.xlsx?community_id={community_id}&month={month}")
    assert {"汇总", "按片区", "按收费项目", "按支付方式", "欠费账龄（按片区）"} <= set(book.sheetnames)
    sheet = book["欠费账龄（按片区）"]
    header = [c.value for c in sheet[1]]
    assert header[0] == "片区" and header[-1] == "合计"
    (row,) = [r for r in sheet.iter_rows(min_row=2) if r[0].value == "东区"]
    assert row[-1].value == 1000 and row[-1].number_format == MONEY
    assert _summary(book)["月末欠费"] == 1000

    week = _today().isoformat()
    page = finance.get(f"/reports/fees-weekly?community_id={community_id}&week={week}")
    assert page.status_code == 200 and "收费周报" in page.text and "¥234.50" in page.text
    book = _book(finance, f"/reports/fees-weekly.xlsx?community_id={community_id}&week={week}")
    assert {"汇总", "按日收款", "按片区", "按支付方式"} <= set(book.sheetnames)
    assert _summary(book)["本周实收"] == 234.5
    days = {r[0].date(): r[1] for r in book["按日收款"].iter_rows(min_row=2, values_only=True)}
    assert days[_today()] == 234.5 and book["按日收款"]["B2"].number_format == MONEY
    assert [c.value for c in book["按支付方式"][2]] == ["现金", 1, 234.5]


def test_a_malformed_week_or_month_is_said_under_its_field_not_replaced_by_this_one(stack, place):
    finance = _signed_in(stack, place["finance"]["username"], PASSWORD)
    community_id = place["community"]["id"]
    for path, field, text in (
        ("fees-monthly?month=2026-13", "month", "请输入月份，如 2026-11。"),
        ("fees-monthly.xlsx?month=11-2026", "month", "请输入月份，如 2026-11。"),
        ("fees-weekly?week=2026-02-30", "week", "请输入日期，如 2026-11-30（该周任意一天）。"),
    ):
        page = finance.get(f"/reports/{path}&community_id={community_id}")
        assert page.status_code == 400 and page.mimetype == "text/html", path
        assert f'id="{field}-error"' in page.text and text in page.text, path
        assert 'aria-invalid="true"' in page.text and 'id="section-' not in page.text, path
    # No period at all is this one, as before.
    assert finance.get(f"/reports/fees-monthly?community_id={community_id}").status_code == 200


def test_an_admin_changes_a_users_role_communities_and_zones_in_one_form(stack, place):
    admin = _signed_in(stack, "admin", ADMIN_PASSWORD)
    butler = place["butler"]
    page = admin.get(f"/admin/users/{butler['id']}")
    assert page.status_code == 200 and 'id="user-edit-form"' in page.text
    assert re.search(rf'name="zones" value="{place["zone"]["id"]}" checked', page.text)
    form = {"csrf_token": _csrf(page.text), "display_name": "周管家", "role": "butler"}
    # Into the other community too, off 东区 and onto 西区 and 北区.
    both = [place["community"]["id"], place["other"]["id"]]
    saved = admin.post(
        f"/admin/users/{butler['id']}",
        data={**form, "communities": both, "zones": [place["west"]["id"], place["far"]["id"]]},
    )
    assert saved.status_code == 200 and 'id="user-saved"' in saved.text, saved.text[:800]
    zones = saved.text[saved.text.index('id="user-zones"') :].split("</dd>")[0]
    assert "西区" in zones and "北区" in zones and "东区" not in zones
    # Only butlers have zones: the form says so under the field and nothing is changed.
    refused = admin.post(
        f"/admin/users/{butler['id']}",
        data={**form, "role": "finance", "communities": both, "zones": [place["west"]["id"]]},
    )
    assert refused.status_code == 422 and 'id="zones-error"' in refused.text
    # The gateway's refusal shows under its field: an unknown department for an engineer.
    bad = admin.post(
        f"/admin/users/{butler['id']}", data={**form, "role": "engineer", "department": "kitchen", "communities": both}
    )
    assert bad.status_code == 422 and 'id="department-error"' in bad.text
    # A butler made a cs_manager leaves every zone.
    changed = admin.post(f"/admin/users/{butler['id']}", data={**form, "role": "cs_manager", "communities": both})
    assert changed.status_code == 200 and 'id="user-saved"' in changed.text
    assert "客服经理" in changed.text.split('id="user-role">')[1].split("</dd>")[0]
    token = requests.post(
        stack.url + "/api/v1/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD}, timeout=10
    ).json()["access_token"]
    api = Api(stack.url, token)
    for zone in (place["zone"], place["west"], place["far"]):
        assert butler["id"] not in (api.get(f"/api/v1/zones/{zone['id']}").json().get("butler_ids") or [])
    # A resident's or an integrator's account has no such form, and a posted one changes nothing.
    robot = api.post("/api/v1/users", {"username": f"robot-{uuid.uuid4().hex[:6]}", "role": "integrator"})
    page = admin.get(f"/admin/users/{robot['id']}")
    assert page.status_code == 200 and 'id="user-edit-form"' not in page.text
    posted = admin.post(f"/admin/users/{robot['id']}", data={**form, "communities": both})
    assert posted.status_code == 422 and 'id="role-error"' in posted.text
    assert api.get(f"/api/v1/users/{robot['id']}").json()["role"] == "integrator"
    audit = api.get("/api/v1/audit", target_id=butler["id"]).json()
    actions = {entry["action"] for entry in audit.get("items", [])}
    assert {"user.role_changed", "user.scope_changed"} <= actions
