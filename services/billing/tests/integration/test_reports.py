"""Arrears with ageing, the collection list, collection-rate KPIs and the monthly/weekly reports (JSON and XLSX)."""

import io
import uuid
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from billing.domain.units import upsert_zone
from guanjia.testing import auth_header


@pytest.fixture
def ledger(community, run, client, db, add_units):
    """Units in two zones billed for Aug and Nov 2026; zone-1 has butler b-ann, zone-2 butler b-bob."""
    community["units"] += add_units(community["id"], zone_id="zone-2", building_id="b-2")
    with db.transaction() as session:
        now = datetime.now(UTC)
        upsert_zone(session, {"zone_id": "zone-1", "community_id": community["id"], "butler_ids": ["b-ann"]}, now)
        upsert_zone(session, {"zone_id": "zone-2", "community_id": community["id"], "butler_ids": ["b-bob"]}, now)
    run(community, "2026-08")  # due 2026-08-16
    run(community, "2026-11")  # due 2026-11-16
    return community


def get(client, community, path, **query):
    response = client.get(
        f"/api/v1/billing/{path}", headers=community["headers"], query_string={"community_id": community["id"], **query}
    )
    assert response.status_code == 200, response.json
    return response


def test_arrears_by_unit_building_zone_and_butler_with_ageing(client, ledger):
    a, b, c = ledger["units"]
    client.post(
        "/api/v1/payments",
        headers=ledger["headers"],
        json={"unit_id": a, "amount": "250.00", "method": "cash"},  # pays August
    )
    body = get(client, ledger, "arrears", group_by="unit", as_of="2026-12-01").json
    assert body["total"] == "1250.00"
    by_unit = {item["key"]: item for item in body["items"]}
    assert by_unit[a]["buckets"] == {
        "0-30": "250.00",
        "31-90": "0.00",
        "91-180": "0.00",
        "181-365": "0.00",
        "over_365": "0.00",
    }
    assert by_unit[b]["buckets"]["91-180"] == "250.00" and by_unit[b]["total"] == "500.00"
    assert by_unit[b]["unit_number"] == "1-102"
    zones = {
        i["key"]: i["total"] for i in get(client, ledger, "arrears", group_by="zone", as_of="2026-12-01").json["items"]
    }
    assert zones == {"zone-1": "750.00", "zone-2": "500.00"}
    butlers = {
        i["key"]: i["total"]
        for i in get(client, ledger, "arrears", group_by="butler", as_of="2026-12-01").json["items"]
    }
    assert butlers == {"b-ann": "750.00", "b-bob": "500.00"}
    buildings = {
        i["key"]: i["units"]
        for i in get(client, ledger, "arrears", group_by="building", as_of="2026-12-01").json["items"]
    }
    assert buildings == {"b-1": 2, "b-2": 1}
    # Before the November due date only August is in arrears.
    assert get(client, ledger, "arrears", group_by="community", as_of="2026-11-16").json["total"] == "500.00"


@pytest.mark.parametrize(
    "as_of", ["2026-09-15", "2026-09-16", "2026-11-14", "2026-11-15", "2027-02-12", "2027-02-13", "2027-08-16",
              "2027-08-17", "2027-11-16", "2027-11-17"],
)  # fmt: skip
def test_the_summed_arrears_age_bills_as_the_unit_rows_do(client, ledger, as_of):
    """Zone, building and community figures are summed by PostgreSQL, units' rows in Python: the same buckets,
    bills and units on each side of every bucket's bound (30/31, 90/91, 180/181, 365/366 days past due)."""
    a, _b, _c = ledger["units"]
    client.post(
        "/api/v1/payments", headers=ledger["headers"], json={"unit_id": a, "amount": "100.00", "method": "cash"}
    )
    units = get(client, ledger, "arrears", group_by="unit", as_of=as_of).json
    expected = {
        name: f"{sum(float(i['buckets'][name]) for i in units['items']):.2f}" for name in units["items"][0]["buckets"]
    }
    for group_by in ("community", "zone", "building"):
        body = get(client, ledger, "arrears", group_by=group_by, as_of=as_of).json
        assert body["total"] == units["total"]
        summed = {name: f"{sum(float(i['buckets'][name]) for i in body['items']):.2f}" for name in expected}
        assert summed == expected, group_by
        assert sum(i["bills"] for i in body["items"]) == sum(i["bills"] for i in units["items"])
        assert sum(i["units"] for i in body["items"]) == len(units["items"])
    (community,) = get(client, ledger, "arrears", group_by="community", as_of=as_of).json["items"]
    assert community["buckets"] == expected and community["units"] == len(units["items"])


def test_a_butler_sees_the_arrears_and_collection_list_of_their_zone_only(client, ledger, billing_settings):
    butler = auth_header(billing_settings, "butler", communities=[ledger["id"]], zones=["zone-2"])
    body = client.get(
        "/api/v1/billing/arrears",
        headers=butler,
        query_string={"community_id": ledger["id"], "group_by": "unit", "as_of": "2026-12-01"},
    ).json
    assert [i["key"] for i in body["items"]] == [ledger["units"][2]]
    note = client.post(
        "/api/v1/billing/collection-notes",
        headers=butler,
        json={
            "unit_id": ledger["units"][2],
            "outcome": "promised",
            "promised_on": "2026-12-10",
            "note": "业主说月底交",
        },
    )
    assert note.status_code == 201, note.json
    outside = client.post(
        "/api/v1/billing/collection-notes",
        headers=butler,
        json={"unit_id": ledger["units"][0], "outcome": "reached", "note": "x"},
    )
    assert outside.status_code == 422 and "unit_id" in outside.json["errors"]
    listed = client.get(
        "/api/v1/billing/collection-list",
        headers=butler,
        query_string={"community_id": ledger["id"], "as_of": "2026-12-01"},
    ).json
    [item] = listed["items"]
    assert (item["unit_id"], item["amount_due"], item["bills"], item["oldest_due_date"]) == (
        ledger["units"][2],
        "500.00",
        2,
        "2026-08-16",
    )
    assert [(n["outcome"], n["note"]) for n in item["notes"]] == [("promised", "业主说月底交")]
    stranger = auth_header(billing_settings, "finance", communities=[str(uuid.uuid4())])
    assert (
        client.get("/api/v1/billing/arrears", headers=stranger, query_string={"community_id": ledger["id"]}).status_code
        == 404
    )


def test_collection_rate_recovery_rate_target_gap_and_projection(client, ledger, at):
    a, b, c = ledger["units"]
    cashier = at("2026-11-10")
    for unit, amount in ((a, "500.00"), (b, "250.00")):
        # a pays August and November; b pays August only (oldest first) — both on 10 November.
        cashier.post(
            "/api/v1/payments",
            headers=ledger["headers"],
            json={"unit_id": unit, "amount": amount, "method": "cash"},
        )
    body = get(client, ledger, "reports/collection-rate", period="2026-11", as_of="2026-11-30").json
    [total] = body["items"]
    assert (total["receivable"], total["collected"], total["collection_rate"]) == ("750.00", "250.00", "0.3333")
    assert (total["target"], total["gap"]) == ("0.8500", "0.5167")
    # August's 750.00 was owed at the start of November; 500.00 of it came in: 清欠率 66.67 %.
    assert (total["arrears_at_start"], total["recovered"], total["arrears_recovery_rate"]) == (
        "750.00",
        "500.00",
        "0.6667",
    )
    by_butler = {
        i["key"]: i["collection_rate"]
        for i in get(client, ledger, "reports/collection-rate", period="2026-11", group_by="butler").json["items"]
    }
    assert by_butler == {"b-ann": "0.5000", "b-bob": "0.0000"}
    # Half-way through the month a 33 % rate projects to the month end linearly.
    mid = get(client, ledger, "reports/collection-rate", period="2026-11", as_of="2026-11-15").json["items"][0]
    assert mid["projected_rate"] == "0.6667" and mid["collection_rate"] == "0.3333"


def test_several_groupings_in_one_call_answer_each_grouping_s_report(client, ledger, at):
    a, b, _c = ledger["units"]
    cashier = at("2026-11-10")
    for unit, amount in ((a, "500.00"), (b, "250.00")):
        cashier.post(
            "/api/v1/payments", headers=ledger["headers"], json={"unit_id": unit, "amount": amount, "method": "cash"}
        )
    query = {"period": "2026-11", "as_of": "2026-11-30"}
    both = get(client, ledger, "reports/collection-rate", group_by="zone,butler,community", **query).json
    assert both["group_by"] == "zone,butler,community" and set(both["by"]) == {"zone", "butler", "community"}
    for group_by in ("zone", "butler", "community"):
        assert both["by"][group_by] == get(client, ledger, "reports/collection-rate", group_by=group_by, **query).json
    for bad in ("zone,unit", "zone,zone", ""):
        response = client.get(
            "/api/v1/billing/reports/collection-rate",
            headers=ledger["headers"],
            query_string={"community_id": ledger["id"], "group_by": bad, **query},
        )
        assert response.status_code == 422 and "group_by" in str(response.json), bad


def test_recovery_counts_older_bills_owed_at_the_start_whether_settled_since_or_not(client, ledger, at):
    """清欠率 reads only the older bills open today or paid into since the period's start (the report's query
    never sums the whole instance's allocations): a bill settled before the start owed nothing at it, one settled
    during the period still counts as owed, one paid after the cut-off counts as owed and not recovered."""
    a, b, c = ledger["units"]

    def pay(day, unit, amount):
        answer = at(day).post(
            "/api/v1/payments", headers=ledger["headers"], json={"unit_id": unit, "amount": amount, "method": "cash"}
        )
        assert answer.status_code == 201, answer.json

    pay("2026-10-20", a, "250.00")  # August settled before November: not owed at its start
    pay("2026-10-20", b, "100.00")  # August part-paid before November …
    pay("2026-11-10", b, "150.00")  # … and settled during it: 150.00 owed at the start, all recovered
    pay("2026-12-05", c, "250.00")  # August settled after the cut-off: owed, not recovered by 30 November
    [total] = get(client, ledger, "reports/collection-rate", period="2026-11", as_of="2026-11-30").json["items"]
    assert (total["arrears_at_start"], total["recovered"], total["arrears_recovery_rate"]) == (
        "400.00",
        "150.00",
        "0.3750",
    )
    assert (total["receivable"], total["collected"]) == ("750.00", "0.00")


def test_recovery_takes_a_reversal_since_the_start_as_money_the_bill_did_not_keep(client, ledger, at):
    """A payment reversed during the period is an allocation back out of the bill since the start (it keeps the bill's
    period end, as every allocation does): the bill owed at the start what it owes today less that, and what the
    reversal took back was not recovered."""
    a, b, _c = ledger["units"]

    def pay(day, unit):
        answer = at(day).post(
            "/api/v1/payments", headers=ledger["headers"], json={"unit_id": unit, "amount": "250.00", "method": "cash"}
        )
        assert answer.status_code == 201, answer.json
        return answer.json["id"]

    def reverse(day, payment_id):
        answer = at(day).post(
            f"/api/v1/payments/{payment_id}/reversal", headers=ledger["headers"], json={"reason_code": "bounced"}
        )
        assert answer.status_code == 201, answer.json

    reverse("2026-11-10", pay("2026-10-20", a))  # August settled before November, open again since: owed 0 at start
    reverse("2026-11-20", pay("2026-11-10", b))  # August settled during November, then reversed: owed, not recovered
    [total] = get(client, ledger, "reports/collection-rate", period="2026-11", as_of="2026-11-30").json["items"]
    # b's and c's August (250.00 each) were owed at the start; a's was not; nothing stayed recovered.
    assert (total["arrears_at_start"], total["recovered"], total["arrears_recovery_rate"]) == (
        "500.00",
        "0.00",
        "0.0000",
    )
    # The reversals reopened the bills: the arrears on 30 November are all three Augusts and Novembers.
    assert get(client, ledger, "arrears", group_by="community", as_of="2026-11-30").json["total"] == "1500.00"


def test_an_allocation_without_its_bill_s_period_end_still_counts(client, ledger, at, db):
    """Allocations the previous release wrote during a rolling upgrade have no period end: the reports still find
    their bills (by the bills' own conditions), so the figures are the same."""
    from sqlalchemy import text

    a, b, _c = ledger["units"]
    for day, unit in (("2026-11-10", a), ("2026-12-05", b)):  # August and November: in November, and after it
        answer = at(day).post(
            "/api/v1/payments", headers=ledger["headers"], json={"unit_id": unit, "amount": "500.00", "method": "cash"}
        )
        assert answer.status_code == 201, answer.json
    query = {"period": "2026-11", "as_of": "2026-11-30"}
    before = get(client, ledger, "reports/collection-rate", **query).json
    with db.transaction() as session:
        assert session.execute(text("UPDATE allocations SET bill_period_end = NULL")).rowcount >= 4
    assert get(client, ledger, "reports/collection-rate", **query).json == before
    [total] = before["items"]
    assert (total["recovered"], total["collected"]) == ("250.00", "250.00")


def test_monthly_and_weekly_reports_as_json_and_xlsx(client, ledger, at):
    at("2026-11-10").post(
        "/api/v1/payments",
        headers=ledger["headers"],
        json={"unit_id": ledger["units"][0], "amount": "250.00", "method": "wechat"},
    )
    body = get(client, ledger, "reports/monthly", month="2026-11").json
    assert body["by_fee_item"] == [{"fee_item": "物业服务费", "receivable": "750.00", "bills": 3}]
    assert body["summary"]["receivable"] == "750.00"
    workbook = load_workbook(io.BytesIO(get(client, ledger, "reports/monthly", month="2026-11", format="xlsx").data))
    assert {"汇总", "按收费项目", "按片区", "按支付方式", "欠费账龄"} <= set(workbook.sheetnames)
    rows = list(workbook["按收费项目"].values)
    assert rows[0] == ("收费项目", "应收", "账单数") and rows[1] == ("物业服务费", 750, 3)
    assert workbook["按收费项目"]["B2"].number_format == '"¥"#,##0.00' and workbook["按收费项目"].freeze_panes == "A2"
    rate = workbook["按片区"]
    assert [c.value for c in rate[1]][:4] == ["片区", "应收", "实收", "收缴率"]
    assert rate["D2"].number_format == "0.00%" and isinstance(rate["D2"].value, int | float)

    weekly = get(client, ledger, "reports/weekly", week_of="2026-11-12").json
    assert (weekly["week_start"], weekly["week_end"]) == ("2026-11-09", "2026-11-15")
    assert [d["amount"] for d in weekly["payments_by_day"]] == ["0.00", "250.00"] + ["0.00"] * 5
    assert weekly["payments_by_method"] == [{"method": "wechat", "payments": 1, "amount": "250.00"}]
    assert weekly["collected"] == "250.00"
    zones = {row["key"]: row for row in weekly["by_zone"]}
    assert zones["zone-1"]["collected_in_week"] == "250.00" and zones["zone-2"]["collected_in_week"] == "0.00"
    # The week's payment settled unit a's August bill (the oldest first): November's rate is still nought.
    assert (zones["zone-1"]["receivable"], zones["zone-1"]["collected"]) == ("500.00", "0.00")
    assert zones["zone-2"]["receivable"] == "250.00" and zones["zone-1"]["name"] is None
    # At the week's end August's bills of units b and c are past due (November's fall due on the 16th).
    assert weekly["arrears_total"] == "500.00"
    assert {r["key"]: r["total"] for r in weekly["arrears_by_zone"]} == {"zone-1": "250.00", "zone-2": "250.00"}
    assert {r["key"]: r["total"] for r in body["arrears_by_zone"]} == {"zone-1": "750.00", "zone-2": "500.00"}
    response = get(client, ledger, "reports/weekly", week_of="2026-11-12", format="xlsx")
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    week = load_workbook(io.BytesIO(response.data))
    assert "按日收款" in week.sheetnames
    assert [c.value for c in week["按支付方式"][2]] == ["微信支付", 1, 250]

    bad = client.get(
        "/api/v1/billing/reports/monthly",
        headers=ledger["headers"],
        query_string={"community_id": ledger["id"], "month": "2026-Q4"},
    )
    assert bad.status_code == 422 and "month" in bad.json["errors"]


def test_the_late_fee_is_off_by_default_and_never_compounds_when_on(client, ledger, at):
    bill = client.get(
        "/api/v1/billing/bills",
        headers=ledger["headers"],
        query_string={"unit_id": ledger["units"][0], "period": "2026-08"},
    ).json["items"][0]
    assert client.get(f"/api/v1/billing/bills/{bill['id']}", headers=ledger["headers"]).json["late_fee"] == "0.00"
    client.patch(
        f"/api/v1/billing/policies/{ledger['id']}",
        headers=ledger["headers"],
        json={
            "late_fee_enabled": True,
            "late_fee_daily_rate": "0.001000",
            "late_fee_grace_days": 0,
            "late_fee_cap": "0.2000",
        },
    )
    url = f"/api/v1/billing/bills/{bill['id']}"
    # 30 days past the 16 Aug due date: simple interest on the unpaid principal, 250.00 × 0.001 × 30.
    assert at("2026-09-15").get(url, headers=ledger["headers"]).json["late_fee"] == "7.50"
    # 500 days past due the interest would be 125.00: capped at 20 % of the principal; never charged on itself.
    detail = at("2027-12-29").get(url, headers=ledger["headers"]).json
    assert detail["late_fee"] == "50.00" and detail["outstanding"] == "250.00"
