"""Through the gateway, in both run modes: a renovation permit waits for the deposit billing bills on approval."""

import time

from .conftest import make_household


def _deposit_bill(admin, community_id: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        found = admin.get("/api/v1/billing/bills", params={"community_id": community_id, "kind": "deposit"})
        assert found.status_code == 200, found.text
        if found.json()["items"]:
            return found.json()["items"][0]
        assert time.monotonic() < deadline, "no deposit bill from renovation.approved"
        time.sleep(0.1)


def test_the_permit_is_issued_once_the_deposit_is_paid(stack, admin):
    household = make_household(admin)
    cid, unit = household["community"]["id"], household["unit"]["id"]
    policy = admin.request("PATCH", f"/api/v1/billing/policies/{cid}", json={"renovation_deposit": "3000.00"})
    assert policy.status_code == 200, policy.text
    renovation = admin.created(
        "/api/v1/renovations",
        {
            "unit_id": unit,
            "applicant_id": household["resident"]["id"],
            "contractor": {"name": "好家装饰", "phone": "13900139900"},
            "items": [{"description": "卫生间翻新", "structural": False}],
            "planned_start": "2031-05-01",
            "planned_end": "2031-06-01",
        },
    )
    base = f"/api/v1/renovations/{renovation['id']}"
    admin.created(f"{base}/review", {"passed": True, "notes": "可行"})
    assert admin.post(f"{base}/approve").json()["permit"] is None
    bill = _deposit_bill(admin, cid)

    refused = admin.post(f"{base}/permit", json={})
    assert refused.status_code == 409, refused.text
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert "¥3,000.00" in refused.json()["errors"]["deposit"][0]

    paid = admin.post(
        "/api/v1/payments",
        json={"unit_id": unit, "amount": "3000.00", "method": "bank_transfer", "bill_ids": [bill["id"]]},
        headers={"Idempotency-Key": f"deposit-{renovation['id']}"},
    )
    assert paid.status_code == 201, paid.text
    issued = admin.post(f"{base}/permit", json={})
    assert issued.status_code == 200, issued.text
    assert issued.json()["permit"]["number"].startswith("ZX")
