"""Finance's fee items and rates editor, and the arrears drill-down with the collection list (催缴清单), on a whole
embedded instance through the workbench's test client: the API's refusals under their fields, the list with its
masked payer, ¥ amounts, months overdue and last reminder, printable and as an XLSX with Chinese names."""

from __future__ import annotations

import io
import re
import time
import uuid
from datetime import date, timedelta

import pytest
import requests

from guanjia.testing import ApiClient as Api
from guanjia.testing import embedded_instance

ADMIN_PASSWORD = "fees-admin-password-1"
PASSWORD = "fees-staff-password-1"
AS_OF = (date.today() + timedelta(days=45)).isoformat()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with embedded_instance(tmp_path_factory.mktemp("fees-var"), ADMIN_PASSWORD) as stack:
        yield stack


@pytest.fixture(scope="module")
def place(stack) -> dict:
    """A community with a zone, its butler, a finance clerk, a unit with its owner and an overdue bill, reminded."""
    token = requests.post(
        stack.url + "/api/v1/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD}, timeout=10
    ).json()["access_token"]
    admin = Api(stack.url, token)
    label = uuid.uuid4().hex[:6]
    community = admin.post("/api/v1/communities", {"name": f"收费小区{label}"})
    finance = admin.post(
        "/api/v1/users",
        {"username": f"fin-{label}", "display_name": "钱会计", "role": "finance", "password": PASSWORD,
         "communities": [community["id"]]},
    )  # fmt: skip
    butler = admin.post(
        "/api/v1/users",
        {"username": f"but-{label}", "display_name": "孙管家", "role": "butler", "password": PASSWORD,
         "communities": [community["id"]]},
    )  # fmt: skip
    zone = admin.post("/api/v1/zones", {"community_id": community["id"], "name": "南区", "butler_ids": [butler["id"]]})
    building = admin.post("/api/v1/buildings", {"community_id": community["id"], "name": "3栋", "zone_id": zone["id"]})
    unit = admin.post(
        "/api/v1/units", {"building_id": building["id"], "number": "3-502", "floor": 5, "area_m2": "88.00"}
    )
    resident = admin.post(
        "/api/v1/residents", {"unit_id": unit["id"], "name": "赵大宝", "phone": "13800138123", "role": "owner"}
    )
    admin.post(f"/api/v1/units/{unit['id']}/move-in", {"resident_id": resident["id"]})
    deadline = time.monotonic() + 20
    while admin.get(f"/api/v1/billing/units/{unit['id']}").status_code != 200:  # billing learns the unit by event
        assert time.monotonic() < deadline, "billing never learnt the unit"
        time.sleep(0.1)
    # Billing refuses a due date in the past: the bill falls due in 5 days and the list is read 45 days from now.
    due = (date.today() + timedelta(days=5)).isoformat()
    admin.post(
        "/api/v1/billing/bills",
        {"unit_id": unit["id"], "description": "物业费 欠缴", "amount": "1234.50", "due_date": due,
         "payer_id": resident["id"]},
    )  # fmt: skip
    admin.post("/api/v1/billing/overdue-scans", {"as_of": AS_OF})
    return {"community": community, "zone": zone, "building": building, "unit": unit, "butler": butler,
            "finance": finance}  # fmt: skip


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _signed_in(stack, username: str, password: str):
    browser = stack.upstreams["workbench"].wsgi_app.test_client()
    page = browser.get("/signin")
    answer = browser.post("/signin", data={"username": username, "password": password, "csrf_token": _csrf(page.text)})
    assert answer.status_code == 303, answer.text
    return browser


def test_finance_adds_a_fee_item_and_dated_rates_with_the_apis_refusals_under_the_fields(stack, place):
    browser = _signed_in(stack, place["finance"]["username"], PASSWORD)
    community_id = place["community"]["id"]
    page = browser.get(f"/finance/fees?community_id={community_id}")
    assert page.status_code == 200 and "收费项目与单价" in page.text and place["community"]["name"] in page.text
    base = {"name": "住宅物业费", "kind": "property_service", "rate": "2.50", "effective_from": "2027-01-01",
            "csrf_token": _csrf(page.text)}  # fmt: skip
    refused = browser.post(f"/finance/fees?community_id={community_id}", data={**base, "basis": "per_unit"})
    assert refused.status_code == 422 and 'id="basis-error"' in refused.text
    made = browser.post(f"/finance/fees?community_id={community_id}", data={**base, "basis": "per_m2"})
    assert made.status_code == 303
    page = browser.get(made.headers["Location"])
    assert (
        "住宅物业费" in page.text and "物业服务费" in page.text and "2027-01-01" in page.text and "¥2.50" in page.text
    )
    item_id = re.search(r'id="fee-item-([0-9a-f-]+)"', page.text).group(1)

    twice = browser.post(
        f"/finance/fees/{item_id}/rates",
        data={"rate": "2.80", "effective_from": "2027-01-01", "community_id": community_id,
              "csrf_token": _csrf(page.text)},
    )  # fmt: skip
    assert twice.status_code == 422 and 'id="effective_from-error"' in twice.text
    rated = browser.post(
        f"/finance/fees/{item_id}/rates",
        data={"rate": "2.80", "effective_from": "2027-07-01", "community_id": community_id,
              "csrf_token": _csrf(page.text)},
    )  # fmt: skip
    assert rated.status_code == 303
    stopped = browser.post(
        f"/finance/fees/{item_id}",
        data={
            "name": "物业服务费",
            "unit_types": ["residential"],
            "community_id": community_id,
            "csrf_token": _csrf(page.text),
        },
    )  # fmt: skip  (no "active" ticked: stopped)
    assert stopped.status_code == 303
    page = browser.get(stopped.headers["Location"])
    row = page.text[page.text.index(f'id="fee-item-{item_id}"') :]
    row = row[: row.index("</tr>")]
    assert "¥2.80" in row and "2027-07-01" in row and "已停收" in row


def test_a_butler_reads_fee_items_but_gets_no_forms(stack, place):
    browser = _signed_in(stack, place["butler"]["username"], PASSWORD)
    page = browser.get(f"/finance/fees?community_id={place['community']['id']}")
    assert page.status_code == 200 and 'id="fee-item-form"' not in page.text


def test_arrears_by_zone_drill_down_to_the_butlers_collection_list(stack, place):
    browser = _signed_in(stack, place["butler"]["username"], PASSWORD)
    assert 'id="nav-arrears"' in browser.get("/").text
    community_id = place["community"]["id"]
    page = browser.get(f"/arrears?community_id={community_id}&group_by=zone&as_of={AS_OF}")
    assert page.status_code == 200 and "南区" in page.text and "¥1,234.50" in page.text
    link = re.search(r'href="(/arrears/list\?[^"]*zone_id=[^"]+)"', page.text).group(1).replace("&amp;", "&")
    listed = browser.get(link)
    assert listed.status_code == 200 and "催缴清单" in listed.text
    row = listed.text[listed.text.index(f'id="owed-{place["unit"]["id"]}"') :]
    row = row[: row.index("</tr>")]
    assert "3栋" in row and "3-502" in row and "¥1,234.50" in row
    assert "赵大宝" not in row and "赵*" in row and "13800138123" not in row  # the payer as the API masks them
    assert re.search(r'class="months">2<', row)  # 40 days: a second month begun
    assert "最后催缴" in row and 'id="print"' in listed.text

    by_building = browser.get(f"/arrears?community_id={community_id}&group_by=building&as_of={AS_OF}")
    assert "3栋" in by_building.text and place["building"]["id"] + "</a>" not in by_building.text

    noted = browser.post(
        "/arrears/list/notes",
        data={"community_id": community_id, "zone_id": place["zone"]["id"], "unit_id": place["unit"]["id"],
              "as_of": AS_OF, "outcome": "promised", "promised_on": "2030-01-15", "note": "月底前交", "csrf_token": _csrf(listed.text)},
    )  # fmt: skip
    assert noted.status_code == 303
    listed = browser.get(noted.headers["Location"])
    assert "月底前交" in listed.text and "2030-01-15" in listed.text


def test_the_collection_list_as_xlsx_with_chinese_names(stack, place):
    from openpyxl import load_workbook

    browser = _signed_in(stack, place["butler"]["username"], PASSWORD)
    answer = browser.get(
        f"/arrears/list.xlsx?community_id={place['community']['id']}&butler_id={place['butler']['id']}&as_of={AS_OF}"
    )
    assert answer.status_code == 200 and answer.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(answer.data))
    sheet = book["催缴清单"]
    header = [c.value for c in sheet[1]]
    assert header[:5] == ["房屋", "缴费人", "联系电话", "欠费金额", "欠费月数"]
    first = [c.value for c in sheet[2]]
    assert "3-502" in first[0] and float(first[3]) == 1234.5 and first[4] == 2 and first[7] == "最后催缴"


def _section(html: str, chart: str) -> str:
    start = html.index(f'id="chart-{chart}"')
    return html[start : html.index("</section>", start)]


def test_the_dashboard_leaves_empty_the_panels_the_role_may_not_read(stack, place):
    """Finance reads the collection figures but not the tickets', residents' or patrols' ones: those panels stay
    empty (no error page); a manager gets every panel, and each new table as a workbook with Chinese headers."""
    from openpyxl import load_workbook

    community_id = place["community"]["id"]
    finance = _signed_in(stack, place["finance"]["username"], PASSWORD)
    page = finance.get(f"/dashboard?community_id={community_id}")
    assert page.status_code == 200
    assert "南区" in _section(page.text, "collection-zone")
    for chart in ("tickets", "familiarity", "patrols", "violations"):
        assert 'class="empty"' in _section(page.text, chart), chart
        assert "<rect" not in _section(page.text, chart), chart

    token = requests.post(
        stack.url + "/api/v1/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD}, timeout=10
    ).json()["access_token"]
    label = uuid.uuid4().hex[:6]
    Api(stack.url, token).post(
        "/api/v1/users",
        {"username": f"mgr-{label}", "display_name": "周经理", "role": "cs_manager", "password": PASSWORD,
         "communities": [community_id]},
    )  # fmt: skip
    manager = _signed_in(stack, f"mgr-{label}", PASSWORD)
    page = manager.get(f"/dashboard?community_id={community_id}")
    known = _section(page.text, "familiarity")
    assert "南区" in known and "0.0% (0)" in known and "熟悉率" in known  # one household, nobody contacted yet
    assert "每 " in _section(page.text, "patrols") and "装修违规 · 0" in _section(page.text, "violations")
    assert "回访成功" in _section(page.text, "tickets")
    for chart, headers in (
        ("familiarity", ["片区", "住户数", "已联系", "熟悉率", "有效沟通", "有效沟通率", "达标"]),
        ("violations", ["片区"]),
        ("patrols", ["片区", "最近巡逻", "距今天数", "巡逻次数", "超期空档天数", "已超期"]),
    ):
        answer = manager.get(f"/dashboard/{chart}.xlsx?community_id={community_id}")
        assert answer.status_code == 200, chart
        sheet = load_workbook(io.BytesIO(answer.data)).worksheets[0]
        assert [c.value for c in sheet[1]][: len(headers)] == headers, chart
    rows = list(load_workbook(io.BytesIO(manager.get(f"/dashboard/familiarity.xlsx?community_id={community_id}").data))
                .worksheets[0].iter_rows(min_row=2, values_only=True))  # fmt: skip
    assert rows == [("南区", 1, 0, 0, 0, 0, "否")]
    violations = load_workbook(io.BytesIO(manager.get(f"/dashboard/violations.xlsx?community_id={community_id}").data))
    assert [c.value for c in violations.worksheets[0][1]][-3:] == ["合计", "严重", "未整改"]
    assert manager.get(f"/dashboard/nothing.xlsx?community_id={community_id}").status_code == 404


def test_the_dashboard_refreshes_an_expired_token_once_before_its_calls_fan_out(stack, place):
    """The page's API calls are made at once on their own threads; an access token that has run out is refreshed
    first, on the request's thread, then the calls fan out with the new token: the session lives on (one refresh,
    kept for the next page), and the butler chart comes from the same collection-rate call as the zone chart."""
    from sqlalchemy import select

    from guanjia.db import utcnow
    from workbench.models import WebSession

    community_id = place["community"]["id"]
    finance = _signed_in(stack, place["finance"]["username"], PASSWORD)
    database = stack.upstreams["workbench"].wsgi_app.extensions["workbench.db"]
    query = select(WebSession).where(WebSession.username == place["finance"]["username"])
    with database.transaction() as session:
        row = session.execute(query).scalars().all()[-1]
        row_id, first_refresh = row.id, row.refresh_token
        row.access_expires_at = utcnow() - timedelta(minutes=1)
    page = finance.get(f"/dashboard?community_id={community_id}")
    assert page.status_code == 200
    assert "南区" in _section(page.text, "collection-zone") and "<rect" in _section(page.text, "collection-butler")
    with database.transaction() as session:
        row = session.get(WebSession, row_id)
        assert row is not None and row.refresh_token != first_refresh
        second_refresh = row.refresh_token
    assert finance.get(f"/dashboard?community_id={community_id}").status_code == 200
    with database.transaction() as session:
        assert session.get(WebSession, row_id).refresh_token == second_refresh  # still valid: no refresh needed
