"""A butler's monthly scorecard through the gateway: billing's collection figures (asked over billing's API), the
grade change the pay rule gives for the half-year, the senior butler's score, history and the XLSX workbook."""

from __future__ import annotations

import io
from datetime import date, timedelta

from guanjia.testing import wait_until

from .conftest import Client, make_household
from .test_stand_in_cover import _staff_user


def test_a_scorecard_shows_billings_figures_the_grade_change_and_the_superiors_score(stack, admin):
    household = make_household(admin)
    community, unit = household["community"]["id"], household["unit"]["id"]
    zone = admin.get("/api/v1/zones", params={"community_id": community}).json()["items"][0]
    senior, senior_client, _ = _staff_user(admin, stack, "senior_butler", community)
    butler, butler_client, _ = _staff_user(admin, stack, "butler", community)
    assert admin.request("PATCH", f"/api/v1/zones/{zone['id']}", json={"butler_ids": [butler["id"]]}).status_code == 200
    department = admin.created("/api/v1/staff/departments", {"community_id": community, "kind": "customer_service"})
    base = {"department_id": department["id"]}
    lead = admin.created(
        "/api/v1/staff/positions", {**base, "title": "senior_butler", "user_id": senior["id"], "display_name": "王主管"}
    )
    post = admin.created(
        "/api/v1/staff/positions",
        {
            **base,
            "title": "assistant_butler",
            "user_id": butler["id"],
            "display_name": "李管家",
            "reports_to_id": lead["id"],
        },
    )

    # Last month's property fee, about 40 % of it paid: below the 85 % target.
    month = (date.today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    admin.created(
        "/api/v1/billing/fee-items",
        {
            "community_id": community,
            "name": "物业服务费",
            "kind": "property_service",
            "basis": "per_m2",
            "rate": "2.50",
            "effective_from": f"{month}-01",
        },
    )
    wait_until(lambda: admin.get(f"/api/v1/billing/units/{unit}").status_code == 200, timeout=30, interval=0.2)
    admin.created("/api/v1/billing-runs", {"community_id": community, "period": month})
    bill = admin.get("/api/v1/billing/bills", params={"unit_id": unit}).json()["items"][0]
    admin.created(
        "/api/v1/payments", {"unit_id": unit, "amount": "100.00", "method": "wechat", "bill_ids": [bill["id"]]}
    )
    report = wait_until(
        lambda: [
            row
            for row in admin.get(
                "/api/v1/billing/reports/collection-rate",
                params={"community_id": community, "period": month, "group_by": "butler"},
            ).json()["items"]
            if row["key"] == butler["id"]
        ],
        timeout=30,
        interval=0.3,
        message="billing groups the zone by its butler",
    )[0]

    # The butler may not draw up their own scorecard; the senior butler does.
    assert (
        butler_client.post("/api/v1/staff/scorecards", json={"position_id": post["id"], "month": month}).status_code
        == 403
    )
    response = senior_client.post("/api/v1/staff/scorecards", json={"position_id": post["id"], "month": month})
    assert response.status_code == 201, response.text
    card = response.json()
    assert (card["receivable"], card["collected"], card["collection_rate"]) == (
        report["receivable"],
        report["collected"],
        report["collection_rate"],
    )
    half = f"{month[:4]}-H{1 if int(month[5:]) <= 6 else 2}"
    assert card["pay_period"] == half
    assert (card["target_met"], card["grade_change"]) == (False, -1)
    assert card["display_name"] == "李管家"
    # Residents' figures for the butler's zone (asked over its API): the household nobody contacted last month.
    assert (card["familiarity"], card["communication"]) == ("0.0", "0.0")
    assert {"tickets", "sla_compliance", "satisfaction_average", "patrol_coverage"} <= set(card)

    bad = senior_client.post(f"/api/v1/staff/scorecards/{card['id']}/review", json={"score": 101})
    assert bad.status_code == 422 and "score" in bad.json()["errors"]
    assert butler_client.post(f"/api/v1/staff/scorecards/{card['id']}/review", json={"score": 100}).status_code == 403
    reviewed = senior_client.post(
        f"/api/v1/staff/scorecards/{card['id']}/review", json={"score": 78, "comment": "收缴需加强"}
    )
    assert reviewed.status_code == 200 and reviewed.json()["scored_by_name"] == "王主管", reviewed.text

    # The butler sees their own history; the workbook is in Chinese with names, ¥ and percentages.
    mine = butler_client.get("/api/v1/staff/scorecards", params={"community_id": community}).json()["items"]
    assert [(c["month"], c["score"]) for c in mine] == [(month, 78)]
    xlsx = senior_client.get("/api/v1/staff/scorecards", params={"community_id": community, "format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.headers["Content-Type"].startswith("application/vnd.openxml")
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    header, row = [c.value for c in sheet[1]], [c for c in sheet[2]]
    assert header[:5] == ["月份", "姓名", "应收", "实收", "收缴率"]
    assert row[1].value == "李管家" and row[2].number_format.startswith('"¥"') and row[4].number_format == "0.00%"
    assert row[header.index("达标")].value == "否（需经理关注）" and row[header.index("上级评分")].value == 78
    assert row[header.index("熟悉率")].value == 0 and row[header.index("熟悉率")].number_format == "0.00%"

    # Another community's manager does not find it.
    other = make_household(admin)
    _, stranger, _ = _staff_user(admin, stack, "cs_manager", other["community"]["id"])
    assert stranger.get(f"/api/v1/staff/scorecards/{card['id']}").status_code == 404
    assert Client(stack.url).get(f"/api/v1/staff/scorecards/{card['id']}").status_code == 401
