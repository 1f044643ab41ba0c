"""The skeleton's promise, in both run modes: a resident files a repair through the gateway and gets one SMS."""

import time

from .conftest import Client, make_household, wait_for_notifications


def test_resident_files_a_repair_and_gets_exactly_one_sms(stack, admin):
    household = make_household(admin)
    resident = Client(stack.url).login(*household["login"])

    response = resident.post(
        "/api/v1/tickets", json={"unit_id": household["unit"]["id"], "category": "repair", "description": "卫生间漏水"}
    )
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert ticket["status"] == "new"
    assert response.headers["X-Request-ID"]

    deliveries = wait_for_notifications(resident, f"ticket/{ticket['id']}")
    time.sleep(1.0)  # give a wrongly duplicated delivery the chance to show up
    deliveries = wait_for_notifications(resident, f"ticket/{ticket['id']}")
    assert len(deliveries) == 1
    sms = deliveries[0]
    assert sms["event_type"] == "ticket.created"
    assert sms["status"] == "sent"
    assert ticket["number"] in sms["text"]
    assert sms["recipient"] == "138****8000"
    assert "13800138000" not in str(sms)

    # The resident sees their own ticket; an anonymous caller sees nothing.
    assert resident.get(f"/api/v1/tickets/{ticket['id']}").status_code == 200
    assert Client(stack.url).get("/api/v1/tickets").status_code == 401


def test_another_household_cannot_see_the_ticket(stack, admin):
    first, second = make_household(admin), make_household(admin)
    alice = Client(stack.url).login(*first["login"])
    bob = Client(stack.url).login(*second["login"])
    ticket = alice.created(
        "/api/v1/tickets", {"unit_id": first["unit"]["id"], "category": "complaint", "description": "楼上噪音"}
    )
    assert bob.get(f"/api/v1/tickets/{ticket['id']}").status_code == 404
    refused = bob.post(
        "/api/v1/tickets", json={"unit_id": first["unit"]["id"], "category": "repair", "description": "x"}
    )
    assert refused.status_code == 422
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert "unit_id" in refused.json()["errors"]


def test_provider_callbacks_pass_the_gateway_without_a_token_and_meet_the_services_signature_check(stack):
    anonymous = Client(stack.url)
    # Billing checks the payment provider's HMAC itself: a forged callback is refused by billing, not the gateway.
    payment = anonymous.post(
        "/api/v1/payments/callback",
        json={"provider_reference": "x", "amount": "1.00"},
        headers={"X-Guanjia-Signature": "forged"},
    )
    assert payment.status_code == 401 and "bearer" not in payment.json()["detail"]
    receipt = anonymous.post("/api/v1/notifications/receipts/aliyun?token=forged", json=[])
    assert receipt.status_code == 403 and "receipt" in receipt.json()["detail"]
    # Everything else still needs a token.
    assert anonymous.post("/api/v1/payments", json={}).status_code == 401
