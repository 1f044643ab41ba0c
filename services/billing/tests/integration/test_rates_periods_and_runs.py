"""The collection rate by `as_of` and over half-years, groups by name, heating by area, and a billing run that
checks the community's units with residents before it bills (read-your-writes after a large import)."""

import io
import uuid
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete

from billing.domain.units import upsert_zone
from billing.models import BillingUnit
from guanjia.testing import auth_header


@pytest.fixture
def ledger(community, run, db, add_units):
    """Three units in zones 一区 (butler b-ann) and 二区 (b-bob), billed monthly for Aug and Nov 2026."""
    community["units"] += add_units(community["id"], zone_id="zone-2", building_id="b-2")
    with db.transaction() as session:
        now = datetime.now(UTC)
        for zone, name, butler in (("zone-1", "一区", "b-ann"), ("zone-2", "二区", "b-bob")):
            data = {"zone_id": zone, "community_id": community["id"], "name": name, "butler_ids": [butler]}
            upsert_zone(session, data, now)
    run(community, "2026-08")
    run(community, "2026-11")
    return community


def rate(client, community, **query):
    response = client.get(
        "/api/v1/billing/reports/collection-rate",
        headers=community["headers"],
        query_string={"community_id": community["id"], **query},
    )
    assert response.status_code == 200, response.json
    return response.json["items"]


def test_a_later_as_of_counts_what_was_paid_after_the_month_ended(client, ledger, at):
    a = ledger["units"][0]
    # Paid on 5 December: August's bill first, then November's.
    paid = at("2026-12-05").post(
        "/api/v1/payments", headers=ledger["headers"], json={"unit_id": a, "amount": "500.00", "method": "cash"}
    )
    assert paid.status_code == 201, paid.json
    [at_month_end] = rate(client, ledger, period="2026-11", as_of="2026-11-30")
    assert at_month_end["collected"] == "0.00"
    [later] = rate(client, ledger, period="2026-11", as_of="2026-12-10")
    assert (later["receivable"], later["collected"], later["collection_rate"]) == ("750.00", "250.00", "0.3333")
    # 清欠率 still counts only what came in during November.
    assert later["recovered"] == "0.00"


def test_a_half_year_covers_its_monthly_bills(client, ledger, at):
    at("2026-12-05").post(
        "/api/v1/payments",
        headers=ledger["headers"],
        json={"unit_id": ledger["units"][0], "amount": "500.00", "method": "cash"},
    )
    [half] = rate(client, ledger, period="2026-H2", as_of="2026-12-31")
    assert (half["receivable"], half["collected"], half["collection_rate"]) == ("1500.00", "500.00", "0.3333")
    by_zone = {i["name"]: i["receivable"] for i in rate(client, ledger, period="2026-H2", group_by="zone")}
    assert by_zone == {"一区": "1000.00", "二区": "500.00"}
    [year] = rate(client, ledger, period="2026", as_of="2026-12-31")
    assert year["receivable"] == "1500.00"
    assert rate(client, ledger, period="2026-H1", as_of="2026-12-31") == []


def test_grouping_by_butler_shows_their_display_names(client, ledger, gateway_upstream, infra):
    admin = auth_header(infra.settings("gateway"), "admin")
    gateway = gateway_upstream.test_client()
    ids = {}
    for name, display in (("ann", "安管家"), ("bob", "鲍管家")):
        body = {
            "username": f"{name}-{uuid.uuid4().hex[:6]}",
            "password": "a-long-butler-password-7",
            "role": "butler",
            "display_name": display,
            "communities": [ledger["id"]],
        }
        created = gateway.post("/api/v1/users", headers=admin, json=body)
        assert created.status_code == 201, created.json
        ids[display] = created.json["id"]
    with client.application.extensions["guanjia.db"].transaction() as session:
        for zone, name, butler in (("zone-1", "一区", ids["安管家"]), ("zone-2", "二区", ids["鲍管家"])):
            data = {"zone_id": zone, "community_id": ledger["id"], "name": name, "butler_ids": [butler]}
            upsert_zone(session, data, datetime.now(UTC))
    names = {i["name"]: i["key"] for i in rate(client, ledger, period="2026-11", group_by="butler")}
    assert names == {"安管家": ids["安管家"], "鲍管家": ids["鲍管家"]}
    arrears = client.get(
        "/api/v1/billing/arrears",
        headers=ledger["headers"],
        query_string={"community_id": ledger["id"], "group_by": "butler", "as_of": "2026-12-01"},
    ).json["items"]
    assert {i["name"] for i in arrears} == {"安管家", "鲍管家"}


def test_heating_may_be_billed_by_area(client, community, run, bills_of):
    item = client.post(
        "/api/v1/billing/fee-items",
        headers=community["headers"],
        json={
            "community_id": community["id"],
            "name": "采暖费",
            "kind": "heating",
            "basis": "per_m2",
            "rate": "5.00",
            "effective_from": "2026-01-01",
        },
    )
    assert item.status_code == 201, item.json
    done = run(community, "2026-12")
    assert done["bills_created"] == 2 and done["amount"] == "1500.00"  # (2.50 + 5.00) × 100 m² × 2 units
    refused = client.post(
        "/api/v1/billing/fee-items",
        headers=community["headers"],
        json={
            "community_id": community["id"],
            "name": "停车费",
            "kind": "parking",
            "basis": "per_m2",
            "rate": "5.00",
            "effective_from": "2026-01-01",
        },
    )
    assert refused.status_code == 422 and "basis" in refused.json["errors"]


def test_a_run_right_after_an_import_bills_units_billing_has_not_heard_of_yet(client, residents_app, db, infra):
    """Units created in residents whose unit.created events have not reached billing: the run fetches them."""
    manager = auth_header(infra.settings("residents"), "admin")
    residents = residents_app.test_client()
    community = residents.post(
        "/api/v1/communities", headers=manager, json={"name": f"读写小区 {uuid.uuid4().hex[:4]}"}
    )
    assert community.status_code == 201, community.json
    cid = community.json["id"]
    rows = "".join(f"9栋,9-{i:03d},1,100.00\n" for i in range(40))
    imported = residents.post(
        "/api/v1/imports",
        headers=manager,
        query_string={"community_id": cid, "kind": "units", "dry_run": "false"},
        data={"file": (io.BytesIO(("楼栋,房号,楼层,建筑面积\n" + rows).encode()), "units.csv")},
        content_type="multipart/form-data",
    )
    assert imported.status_code == 200, imported.json
    finance = auth_header(infra.settings("billing"), "finance", communities=[cid])
    fee = client.post(
        "/api/v1/billing/fee-items",
        headers=finance,
        json={
            "community_id": cid,
            "name": "物业服务费",
            "kind": "property_service",
            "basis": "per_m2",
            "rate": "2.00",
            "effective_from": "2026-01-01",
        },
    )
    assert fee.status_code == 201
    with db.transaction() as session:  # billing has seen none of them (no consumer runs in this test)
        session.execute(delete(BillingUnit).where(BillingUnit.community_id == cid))
    run = client.post("/api/v1/billing-runs", headers=finance, json={"community_id": cid, "period": "2026-11"})
    assert run.status_code == 201, run.json
    assert (run.json["units_total"], run.json["units_fetched"], run.json["bills_created"]) == (40, 40, 40)
    assert run.json["units_skipped"] == {}
    again = client.post("/api/v1/billing-runs", headers=finance, json={"community_id": cid, "period": "2026-11"})
    assert again.json["bills_created"] == 0 and again.json["units_skipped"] == {"already_billed": 40}
    assert again.json["units_fetched"] == 0


def test_a_monthly_workbook_names_zones_and_keeps_money_as_numbers(client, ledger):
    response = client.get(
        "/api/v1/billing/reports/monthly",
        headers=ledger["headers"],
        query_string={"community_id": ledger["id"], "month": "2026-11", "format": "xlsx"},
    )
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    zones = {row[0].value: row[1].value for row in book["按片区"].iter_rows(min_row=2)}
    assert zones == {"一区": 500, "二区": 250}
    assert book["按片区"]["B2"].number_format == '"¥"#,##0.00'
