"""Each audited action is recorded when done through its real route (the table comes from the services' OpenAPI)."""

import time

from .conftest import Client, approved_renovation, make_household


def _audit(admin: Client, action: str, target_id: str) -> list[dict]:
    response = admin.get("/api/v1/audit", params={"action": action, "target_id": target_id})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _paid(admin: Client, unit_id: str) -> dict:
    body = {"unit_id": unit_id, "amount": "100.00", "method": "cash", "prepaid": True}
    deadline = time.monotonic() + 20
    while True:  # billing learns of the new unit from unit.created
        response = admin.post("/api/v1/payments", json=body)
        if response.status_code == 201 or time.monotonic() > deadline:
            assert response.status_code == 201, response.text
            return response.json()
        time.sleep(0.2)


def test_a_payment_reversal_is_audited(stack, admin):
    household = make_household(admin)
    payment = _paid(admin, household["unit"]["id"])
    reversed_ = admin.post(f"/api/v1/payments/{payment['id']}/reversal", json={"reason_code": "entry_error"})
    assert reversed_.status_code == 201, reversed_.text
    [entry] = _audit(admin, "payment.reversed", payment["id"])
    assert entry["target_type"] == "payment" and entry["actor_role"] == "admin"
    # A refused reversal (already reversed) is not an action that happened.
    assert admin.post(f"/api/v1/payments/{payment['id']}/reversal", json={"reason_code": "other"}).status_code == 409
    assert len(_audit(admin, "payment.reversed", payment["id"])) == 1


def test_a_renovation_approval_and_a_personal_data_view_are_audited(stack, admin):
    household = make_household(admin)
    base = approved_renovation(admin, household)
    [entry] = _audit(admin, "renovation.approved", base.rsplit("/", 1)[1])
    assert entry["target_type"] == "renovation"

    resident_id = household["resident"]["id"]
    viewed = admin.get(f"/api/v1/residents/{resident_id}/personal-data")
    assert viewed.status_code == 200, viewed.text
    assert [e["target_type"] for e in _audit(admin, "personal_data.viewed", resident_id)] == ["resident"]


def test_an_integrator_key_for_billing_reads_bills_and_payments_and_is_told_no_for_billing_runs(stack, admin):
    household = make_household(admin)
    community, unit = household["community"]["id"], household["unit"]["id"]
    payment = _paid(admin, unit)
    key = admin.created(
        "/api/v1/api-keys", {"name": "财务数据仓库", "communities": [community], "resources": ["billing"]}
    )["key"]
    integrator = Client(stack.url)
    headers = {"X-API-Key": key}
    payments = integrator.get("/api/v1/payments", headers=headers)
    assert payments.status_code == 200, payments.text
    assert [p["id"] for p in payments.json()["items"]] == [payment["id"]]
    assert integrator.get(f"/api/v1/payments/{payment['id']}", headers=headers).status_code == 200
    ledger = integrator.get(f"/api/v1/billing/units/{unit}/ledger", headers=headers)
    assert ledger.status_code == 200 and ledger.json()["total"] >= 1
    bill = admin.created("/api/v1/billing/bills", {"unit_id": unit, "description": "维修费", "amount": "50.00"})
    bills = integrator.get("/api/v1/billing/bills", headers=headers, params={"community_id": community})
    assert bills.status_code == 200 and [b["id"] for b in bills.json()["items"]] == [bill["id"]]
    runs = integrator.get("/api/v1/billing-runs", headers=headers)
    assert runs.status_code == 403 and "billing runs" in runs.json()["detail"]
    assert integrator.get("/api/v1/tickets", headers=headers).status_code == 403
    assert integrator.post("/api/v1/payments", headers=headers, json={}).status_code == 403
