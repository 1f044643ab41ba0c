"""Fee rules and billing runs on real PostgreSQL: amounts, re-runs, rate changes, proration, scope, bad input."""

import uuid
from datetime import UTC, datetime

import pytest

from billing.domain.units import record_move
from guanjia.testing import auth_header


def _item(client, community, **body):
    response = client.post(
        "/api/v1/billing/fee-items",
        headers=community["headers"],
        json={"community_id": community["id"], "effective_from": "2026-01-01", **body},
    )
    assert response.status_code == 201, response.json
    return response.json


def test_a_monthly_run_bills_each_unit_with_a_line_per_fee_item(client, community, run, bills_of, add_units):
    _item(client, community, name="电梯费", kind="elevator", basis="per_unit", rate="30.00", exempt_floors_max=2)
    _item(client, community, name="车位管理费", kind="parking", basis="per_space", rate="150.00")
    low = add_units(community["id"], floor=1)[0]
    space = add_units(community["id"], unit_type="parking", area_m2="12.50", gross_area_m2="12.50")[0]

    result = run(community, "2026-11")

    assert result["bills_created"] == 4 and result["amount"] == "960.00"  # 2 × 280 + 250 + 150
    bills = {b["unit_id"]: b for b in bills_of(community, period="2026-11")}
    assert bills[community["units"][0]]["amount"] == "280.00"  # 100 m² × 2.50 + elevator 30.00
    assert bills[low]["amount"] == "250.00"  # floor 1: elevator exempt
    assert bills[space]["amount"] == "150.00"  # a parking space pays the space fee only
    bill = bills[community["units"][0]]
    assert (bill["due_date"], bill["status"], bill["outstanding"], bill["kind"]) == (
        "2026-11-16",
        "open",
        "280.00",
        "periodic",
    )
    detail = client.get(f"/api/v1/billing/bills/{bill['id']}", headers=community["headers"]).json
    assert sorted((line["description"], line["amount"]) for line in detail["lines"]) == [
        ("物业服务费", "250.00"),
        ("电梯费", "30.00"),
    ]


def test_re_running_the_same_period_creates_nothing_new(client, community, run, bills_of, outbox_events):
    first = run(community, "2026-11")
    again = run(community, "2026-11")
    assert (first["bills_created"], again["bills_created"], again["amount"]) == (2, 0, "0.00")
    assert len(bills_of(community, period="2026-11")) == 2
    issued = outbox_events("bill.issued", community["id"])
    assert len(issued) == 2
    assert {e["data"]["amount"] for e in issued} == {"250.00"} and issued[0]["data"]["period"] == "2026-11"
    assert issued[0]["subject"] == f"bill/{issued[0]['data']['bill_id']}" and issued[0]["community"] == community["id"]


def test_a_unit_added_later_is_billed_by_a_re_run_and_only_it(client, community, run, bills_of, add_units):
    run(community, "2026-11")
    late = add_units(community["id"])[0]
    assert run(community, "2026-11")["bills_created"] == 1
    assert late in {b["unit_id"] for b in bills_of(community, period="2026-11")}


def test_a_rate_change_applies_from_its_date_and_never_rewrites_issued_bills(client, community, run, bills_of):
    run(community, "2026-11")
    response = client.post(
        f"/api/v1/billing/fee-items/{community['fee_item']['id']}/rates",
        headers=community["headers"],
        json={"rate": "3.00", "effective_from": "2026-12-01"},
    )
    assert response.status_code == 201, response.json
    run(community, "2026-12")
    assert {b["amount"] for b in bills_of(community, period="2026-11")} == {"250.00"}
    assert {b["amount"] for b in bills_of(community, period="2026-12")} == {"300.00"}
    duplicate = client.post(
        f"/api/v1/billing/fee-items/{community['fee_item']['id']}/rates",
        headers=community["headers"],
        json={"rate": "3.10", "effective_from": "2026-12-01"},
    )
    assert duplicate.status_code == 409 and "effective_from" in duplicate.json["errors"]


def test_a_quarter_bills_three_months_and_the_inner_area_when_the_policy_says_so(client, community, run, bills_of):
    response = client.patch(
        f"/api/v1/billing/policies/{community['id']}", headers=community["headers"], json={"area_basis": "inner"}
    )
    assert response.status_code == 200 and response.json["area_basis"] == "inner"
    run(community, "2026-Q4")
    bills = bills_of(community, period="2026-Q4")
    assert {b["amount"] for b in bills} == {"600.00"}  # 80 m² × 2.50 × 3
    assert (bills[0]["period_start"], bills[0]["period_end"]) == ("2026-10-01", "2026-12-31")


def test_rounding_is_half_even_to_the_fen_by_default_and_per_item_otherwise(client, add_units, finance, run, bills_of):
    community_id = str(uuid.uuid4())
    community = {"id": community_id, "headers": finance(community_id)}
    add_units(community_id, area_m2="10.05", gross_area_m2="10.05")
    _item(client, community, name="物业服务费", kind="property_service", basis="per_m2", rate="0.5000")
    _item(client, community, name="电梯费", kind="elevator", basis="per_m2", rate="0.0500", rounding="up")
    run(community, "2026-11")
    bill = bills_of(community)[0]
    lines = client.get(f"/api/v1/billing/bills/{bill['id']}", headers=community["headers"]).json["lines"]
    # 10.05 × 0.50 = 5.025 → 5.02 (half-even); 10.05 × 0.05 = 0.5025 → 0.51 (up)
    assert sorted(line["amount"] for line in lines) == ["0.51", "5.02"]


def test_a_mid_period_move_in_prorates_the_vacant_days_and_names_the_payer(
    client, community, run, bills_of, db, add_units
):
    client.patch(
        f"/api/v1/billing/policies/{community['id']}", headers=community["headers"], json={"vacant_discount": "0.5000"}
    )
    unit = add_units(community["id"], status="vacant")[0]
    resident = str(uuid.uuid4())
    with db.transaction() as session:
        data = {"resident_id": resident, "unit_id": unit, "community_id": community["id"]}
        record_move(session, data, moved_in_at=datetime(2026, 11, 10, 16, 0, tzinfo=UTC))  # 11 Nov in Shanghai
    run(community, "2026-11")
    bill = next(b for b in bills_of(community) if b["unit_id"] == unit)
    # 20 days occupied: 250 × 20/30 = 166.67; 10 days vacant at half: 250 × 10/30 × 0.5 = 41.67
    assert bill["amount"] == "208.34" and bill["payer_id"] == resident
    lines = client.get(f"/api/v1/billing/bills/{bill['id']}", headers=community["headers"]).json["lines"]
    assert sorted((line["days"], line["amount"]) for line in lines) == [(10, "41.67"), (20, "166.67")]
    # The occupied units in the same run pay in full (no occupancy record: their status says occupied).
    assert {b["amount"] for b in bills_of(community) if b["unit_id"] != unit} == {"250.00"}


def test_metered_water_is_billed_from_the_periods_reading(client, community, run, bills_of):
    water = _item(client, community, name="水费", kind="water", basis="metered", rate="3.4500")
    unit = community["units"][0]
    reading = {
        "unit_id": unit,
        "fee_item_id": water["id"],
        "period": "2026-11",
        "previous": "100.0",
        "current": "112.5",
    }
    response = client.post("/api/v1/billing/meter-readings", headers=community["headers"], json=reading)
    assert response.status_code == 201, response.json
    again = client.post("/api/v1/billing/meter-readings", headers=community["headers"], json=reading)
    assert again.status_code == 409
    run(community, "2026-11")
    bills = {b["unit_id"]: b["amount"] for b in bills_of(community)}
    assert bills[unit] == "293.12"  # 250.00 + 12.5 × 3.45 = 43.125 → 43.12 (half-even)
    assert bills[community["units"][1]] == "250.00"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"period": "2026-13"}, "period"),
        ({"period": "Nov 2026"}, "period"),
        ({"period": None}, "period"),
        ({"community_id": ""}, "community_id"),
    ],
)
def test_a_bad_run_request_is_problem_json_naming_the_field(client, community, body, field):
    response = client.post(
        "/api/v1/billing-runs", headers=community["headers"], json={"community_id": community["id"], **body}
    )
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert field in response.json["errors"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rate": 2.50001}, "rate"),  # a JSON number with more than four places
        ({"rate": "NaN"}, "rate"),
        ({"rate": True}, "rate"),
        ({"rate": "2.50001"}, "rate"),
        ({"rate": "-1"}, "rate"),
        ({"kind": "water", "basis": "per_m2"}, "basis"),
        ({"unit_types": ["castle"]}, "unit_types.0"),
        ({"rounding": "banker"}, "rounding"),
    ],
)
def test_a_bad_fee_item_is_refused_and_nothing_is_written(client, community, body, field):
    request = {
        "community_id": community["id"],
        "name": "x",
        "kind": "elevator",
        "basis": "per_unit",
        "rate": "1.00",
        "effective_from": "2026-01-01",
        **body,
    }
    response = client.post("/api/v1/billing/fee-items", headers=community["headers"], json=request)
    assert response.status_code == 422 and response.mimetype == "application/problem+json", response.json
    assert field in response.json["errors"]
    listed = client.get(
        "/api/v1/billing/fee-items", headers=community["headers"], query_string={"community_id": community["id"]}
    ).json
    assert listed["total"] == 1


def test_who_may_run_and_read_bills(client, community, run, billing_settings, bills_of, resident_of):
    run(community, "2026-11")
    bill = bills_of(community)[0]
    cid = community["id"]
    body = {"community_id": cid, "period": "2026-12"}
    for role in ("senior_butler", "butler", "resident", "engineer", "integrator"):
        headers = auth_header(billing_settings, role, communities=[cid], zones=["zone-1"])
        assert client.post("/api/v1/billing-runs", headers=headers, json=body).status_code == 403, role
    other = auth_header(billing_settings, "finance", communities=[str(uuid.uuid4())])
    assert client.post("/api/v1/billing-runs", headers=other, json=body).status_code == 404
    assert client.get(f"/api/v1/billing/bills/{bill['id']}", headers=other).status_code == 404
    for role, scopes, status in [
        ("cs_manager", {"communities": [cid]}, 200),
        ("butler", {"communities": [cid], "zones": ["zone-1"]}, 200),
        ("butler", {"communities": [cid], "zones": ["zone-2"]}, 404),
        ("resident", {"units": [str(uuid.uuid4())]}, 404),
        # A token naming the unit, without a move-in of its holder there, opens nothing.
        ("resident", {"units": [bill["unit_id"]], "resident_id": str(uuid.uuid4())}, 404),
        ("engineer", {"communities": [cid]}, 403),  # engineers have no need to read bills
    ]:
        headers = auth_header(billing_settings, role, **scopes)
        assert client.get(f"/api/v1/billing/bills/{bill['id']}", headers=headers).status_code == status, role
    resident = resident_of(bill["unit_id"], cid)
    assert client.get(f"/api/v1/billing/bills/{bill['id']}", headers=resident).status_code == 200
    assert [b["id"] for b in client.get("/api/v1/billing/bills", headers=resident).json["items"]] == [bill["id"]]


def test_a_one_off_charge_is_created_once_per_idempotency_key(client, community, bills_of, outbox_events):
    headers = {**community["headers"], "Idempotency-Key": str(uuid.uuid4())}
    body = {"unit_id": community["units"][0], "description": "门禁卡补办", "amount": "20", "due_date": "2099-01-31"}
    first = client.post("/api/v1/billing/bills", headers=headers, json=body)
    again = client.post("/api/v1/billing/bills", headers=headers, json=body)
    assert first.status_code == again.status_code == 201 and first.json == again.json
    assert (first.json["amount"], first.json["kind"], first.json["due_date"]) == ("20.00", "one_off", "2099-01-31")
    assert [b["id"] for b in bills_of(community, kind="one_off")] == [first.json["id"]]
    assert [e["data"]["amount"] for e in outbox_events("bill.issued", community["id"])] == ["20.00"]
    past = client.post("/api/v1/billing/bills", headers=community["headers"], json={**body, "due_date": "2020-01-01"})
    assert past.status_code == 422 and "due_date" in past.json["errors"]


def test_a_move_out_and_a_move_in_split_the_month_and_the_newcomer_pays(
    client, community, run, bills_of, db, add_units
):
    client.patch(
        f"/api/v1/billing/policies/{community['id']}", headers=community["headers"], json={"vacant_discount": "1.0000"}
    )
    unit = add_units(community["id"])[0]
    leaving, arriving = str(uuid.uuid4()), str(uuid.uuid4())
    with db.transaction() as session:
        base = {"unit_id": unit, "community_id": community["id"]}
        record_move(session, {**base, "resident_id": leaving}, moved_in_at=datetime(2025, 3, 1, tzinfo=UTC))
        record_move(session, {**base, "resident_id": leaving}, moved_out_at=datetime(2026, 11, 10, 4, tzinfo=UTC))
        record_move(session, {**base, "resident_id": arriving}, moved_in_at=datetime(2026, 11, 20, 4, tzinfo=UTC))
    run(community, "2026-11")
    bill = next(b for b in bills_of(community) if b["unit_id"] == unit)
    # Occupied 1–10 and 20–30 November (21 days); 9 days empty, free under a 100 % vacant discount.
    assert (bill["amount"], bill["payer_id"]) == ("175.00", arriving)


def test_concurrent_runs_of_the_same_period_bill_each_unit_once(client, community, bills_of):
    import threading

    app_client = client.application.test_client
    statuses = []

    def one():
        response = app_client().post(
            "/api/v1/billing-runs",
            headers=community["headers"],
            json={"community_id": community["id"], "period": "2026-11"},
        )
        statuses.append((response.status_code, response.json.get("bills_created")))

    threads = [threading.Thread(target=one) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [(201, 0), (201, 0), (201, 2)]
    assert len(bills_of(community, period="2026-11")) == 2


def test_a_deactivated_fee_item_is_not_charged_from_the_next_run_on(client, community, run, bills_of, billing_settings):
    url = f"/api/v1/billing/fee-items/{community['fee_item']['id']}"
    elevator = _item(client, community, name="电梯费", kind="elevator", basis="per_unit", rate="30.00")
    run(community, "2026-11")
    response = client.patch(
        f"/api/v1/billing/fee-items/{elevator['id']}", headers=community["headers"], json={"active": False}
    )
    assert response.status_code == 200 and response.json["active"] is False
    run(community, "2026-12")
    assert {b["amount"] for b in bills_of(community, period="2026-11")} == {"280.00"}
    assert {b["amount"] for b in bills_of(community, period="2026-12")} == {"250.00"}
    manager = auth_header(billing_settings, "senior_butler", communities=[community["id"]])
    assert client.patch(url, headers=manager, json={"active": False}).status_code == 403
    stranger = auth_header(billing_settings, "finance", communities=[str(uuid.uuid4())])
    assert client.patch(url, headers=stranger, json={"active": False}).status_code == 404


def test_a_dry_run_answers_what_the_run_will_bill_and_writes_nothing(
    client, community, run, bills_of, outbox_events, monkeypatch
):
    _item(client, community, name="电梯费", kind="elevator", basis="per_unit", rate="30.00")
    body = {"community_id": community["id"], "period": "2026-11", "dry_run": True}
    preview = client.post("/api/v1/billing-runs", headers=community["headers"], json=body)
    assert preview.status_code == 200, preview.json
    assert (preview.json["dry_run"], preview.json["bills_created"], preview.json["amount"]) == (True, 2, "560.00")
    assert sorted((i["name"], i["lines"], i["amount"]) for i in preview.json["by_fee_item"]) == [
        ("物业服务费", 2, "500.00"),
        ("电梯费", 2, "60.00"),
    ]
    assert bills_of(community, period="2026-11") == [] and outbox_events("bill.issued", community["id"]) == []
    runs = client.get(
        "/api/v1/billing-runs", headers=community["headers"], query_string={"community_id": community["id"]}
    )
    assert runs.json["items"] == []

    # The real run in chunks of one unit: each chunk commits, the run's progress counts them, the result matches.
    import billing.domain.bills as bills_module

    monkeypatch.setattr(bills_module, "CHUNK_UNITS", 1)
    run_id = str(uuid.uuid4())
    done = client.post(
        "/api/v1/billing-runs", headers=community["headers"], json={**body, "dry_run": False, "run_id": run_id}
    )
    assert done.status_code == 201, done.json
    assert (done.json["id"], done.json["status"], done.json["units_to_bill"], done.json["units_done"]) == (
        run_id,
        "done",
        2,
        2,
    )
    assert (done.json["bills_created"], done.json["amount"]) == (2, "560.00")
    assert done.json["by_fee_item"] == preview.json["by_fee_item"]
    # The same run id again answers the run made; another period with it is refused.
    again = client.post(
        "/api/v1/billing-runs", headers=community["headers"], json={**body, "dry_run": False, "run_id": run_id}
    )
    assert again.json["id"] == run_id and len(bills_of(community, period="2026-11")) == 2
    other = {**body, "dry_run": False, "run_id": run_id, "period": "2026-12"}
    refused = client.post("/api/v1/billing-runs", headers=community["headers"], json=other)
    assert refused.status_code == 422 and "run_id" in refused.json["errors"]
    shown = client.get(f"/api/v1/billing-runs/{run_id}", headers=community["headers"])
    assert shown.status_code == 200 and shown.json["units_done"] == 2 and shown.json["status"] == "done"
    stranger = auth_header(client.application.extensions["guanjia.settings"], "finance", communities=["elsewhere"])
    assert client.get(f"/api/v1/billing-runs/{run_id}", headers=stranger).status_code == 404
    # A re-run skips what is billed, and says why.
    rerun = run(community, "2026-11")
    assert rerun["bills_created"] == 0 and rerun["units_skipped"] == {"already_billed": 2}


def test_a_run_that_fails_midway_keeps_its_billed_chunks_and_a_re_run_bills_the_rest(
    client, community, bills_of, monkeypatch
):
    import billing.domain.bills as bills_module

    monkeypatch.setattr(bills_module, "CHUNK_UNITS", 1)
    original, calls = bills_module.bill_units, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return original(*args, **kwargs)

    monkeypatch.setattr(bills_module, "bill_units", failing)
    run_id = str(uuid.uuid4())
    body = {"community_id": community["id"], "period": "2026-11", "run_id": run_id}
    assert client.post("/api/v1/billing-runs", headers=community["headers"], json=body).status_code == 500
    shown = client.get(f"/api/v1/billing-runs/{run_id}", headers=community["headers"]).json
    assert (shown["status"], shown["units_done"], shown["units_to_bill"]) == ("failed", 1, 2)
    assert len(bills_of(community, period="2026-11")) == 1
    monkeypatch.setattr(bills_module, "bill_units", original)
    rerun = client.post(
        "/api/v1/billing-runs", headers=community["headers"], json={**body, "run_id": str(uuid.uuid4())}
    )
    assert rerun.status_code == 201 and rerun.json["bills_created"] == 1
    assert rerun.json["units_skipped"] == {"already_billed": 1}
    assert len(bills_of(community, period="2026-11")) == 2
