"""A renovation permit waits for the deposit: the real residents app asks the real billing app over its internal
route (service credential), with renovation.approved carried by the real bus from residents' relay to billing."""

import uuid

import pytest

from billing.models import Bill
from guanjia.testing import auth_header, running_worker, wait_until


@pytest.fixture(scope="module")
def workers(infra, billing_settings, residents_app, billing_app):
    # residents' relay publishes renovation.approved and unit.created; billing's consumer bills the deposit.
    with running_worker("residents", infra.settings("residents"), {}), running_worker("billing", billing_settings):
        yield


@pytest.fixture
def approved(workers, residents_app, billing_settings, client, finance, db):
    """An approved renovation in a community whose billing policy asks a ¥2,000.00 deposit, billed by the worker."""
    residents = residents_app.test_client()
    admin = auth_header(billing_settings, "admin")
    community = residents.post("/api/v1/communities", headers=admin, json={"name": f"押金苑{uuid.uuid4().hex[:6]}"})
    cid = community.json["id"]
    manager = auth_header(billing_settings, "senior_butler", communities=[cid])
    building = residents.post("/api/v1/buildings", headers=manager, json={"community_id": cid, "name": "1栋"}).json
    unit = residents.post(
        "/api/v1/units",
        headers=manager,
        json={"building_id": building["id"], "number": "1-101", "floor": 1, "area_m2": "88.50"},
    ).json
    owner = residents.post(
        "/api/v1/residents",
        headers=manager,
        json={"unit_id": unit["id"], "name": "业主钱", "phone": "13800138900", "role": "owner"},
    ).json
    policy = client.patch(
        f"/api/v1/billing/policies/{cid}", headers=finance(cid), json={"renovation_deposit": "2000.00"}
    )
    assert policy.status_code == 200, policy.json
    renovation = residents.post(
        "/api/v1/renovations",
        headers=manager,
        json={
            "unit_id": unit["id"],
            "applicant_id": owner["id"],
            "contractor": {"name": "好家装饰", "phone": "13900139900"},
            "items": [{"description": "厨房改造", "structural": False}],
            "planned_start": "2031-03-01",
            "planned_end": "2031-04-01",
        },
    )
    assert renovation.status_code == 201, renovation.json
    base = f"/api/v1/renovations/{renovation.json['id']}"
    engineer = auth_header(billing_settings, "engineer", communities=[cid])
    assert residents.post(f"{base}/review", headers=engineer, json={"passed": True, "notes": "可行"}).status_code == 200
    assert residents.post(f"{base}/approve", headers=manager).status_code == 200

    def deposit_bill():
        with db.transaction() as session:
            return session.query(Bill).filter_by(renovation_id=renovation.json["id"], kind="deposit").one_or_none()

    bill = wait_until(deposit_bill, message="the deposit billed from renovation.approved")
    return {"residents": residents, "base": base, "manager": manager, "cid": cid, "unit": unit, "bill": bill}


def test_no_permit_while_the_deposit_is_unpaid_then_issued_once_paid(approved, client, finance):
    residents, base, manager, bill = approved["residents"], approved["base"], approved["manager"], approved["bill"]
    refused = residents.post(f"{base}/permit", headers=manager, json={})
    assert refused.status_code == 409 and refused.mimetype == "application/problem+json", refused.json
    assert "¥2,000.00" in refused.json["errors"]["deposit"][0] and bill.id in refused.json["errors"]["deposit"][0]
    assert residents.get(base, headers=manager).json["permit"] is None

    pay = {"unit_id": approved["unit"]["id"], "method": "bank_transfer", "bill_ids": [bill.id]}
    part = client.post("/api/v1/payments", headers=finance(approved["cid"]), json={**pay, "amount": "1500.00"})
    assert part.status_code == 201, part.json
    still = residents.post(f"{base}/permit", headers=manager, json={})
    assert still.status_code == 409 and "¥500.00" in still.json["errors"]["deposit"][0]

    rest = client.post("/api/v1/payments", headers=finance(approved["cid"]), json={**pay, "amount": "500.00"})
    assert rest.status_code == 201, rest.json
    issued = residents.post(f"{base}/permit", headers=manager, json={})
    assert issued.status_code == 200, issued.json
    assert issued.json["permit"]["number"].startswith("ZX") and issued.json["deposit_waiver"] is None


def test_a_waived_deposit_is_recorded_and_the_bill_stays_due(approved, client, finance):
    residents, base, manager = approved["residents"], approved["base"], approved["manager"]
    waived = residents.post(f"{base}/permit", headers=manager, json={"waive_deposit_reason": "区政府重点改造项目"})
    assert waived.status_code == 200, waived.json
    history = waived.json["history"]
    assert [h["action"] for h in history][-2:] == ["deposit_waived", "permit_issued"]
    assert history[-2]["reason"] == "区政府重点改造项目" and history[-2]["by"]
    # A waiver lets the work start; the deposit is still owed in billing.
    bill = client.get(f"/api/v1/billing/bills/{approved['bill'].id}", headers=finance(approved["cid"]))
    assert bill.status_code == 200 and bill.json["outstanding"] == "2000.00"


def test_the_deposit_route_is_for_services_only(client, finance, billing_settings):
    path = f"/api/v1/internal/renovations/{uuid.uuid4()}/deposit?community_id=c-1"
    assert client.get(path, headers=finance("c-1")).status_code == 403
    answer = client.get(path, headers=auth_header(billing_settings, "service"))
    assert answer.status_code == 200 and answer.json["status"] == "not_required", answer.json
    missing = client.get(path.split("?")[0], headers=auth_header(billing_settings, "service"))
    assert missing.status_code == 422 and "community_id" in missing.json["errors"]
