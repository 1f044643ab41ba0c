"""Issue 12, access: through the gateway, as the named caller — another community's ticket, a household before and
after a move, ids of another community in request bodies, and a resident's "emergency" at 04:40.

Runs on the embedded stack (the same code as distributed). Each finding failed before the fix.
"""

from __future__ import annotations

import base64
import json
import time
import uuid

import pytest

from guanjia.testing import auth_header

from .conftest import Client, make_household


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _eventually(check, timeout: float = 15.0, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} did not hold within {timeout}s")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def admin(embedded_stack) -> Client:
    settings = embedded_stack.settings["gateway"]
    return Client(embedded_stack.url, auth_header(settings, "admin")["Authorization"].split()[1])


@pytest.fixture(scope="module")
def two(admin):
    return make_household(admin, f"A{uuid.uuid4().hex[:4]}"), make_household(admin, f"B{uuid.uuid4().hex[:4]}")


def _login(stack, username: str, password: str) -> tuple[Client, dict]:
    response = Client(stack.url).http.post(
        f"{stack.url}/api/v1/auth/token", json={"username": username, "password": password}, timeout=10
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return Client(stack.url, body["access_token"]), body


def _staff(admin: Client, role: str, community_id: str, **extra) -> tuple[str, tuple[str, str]]:
    username, password = f"{role}-{uuid.uuid4().hex[:6]}", "staff-password-42"
    user = admin.created(
        "/api/v1/users",
        {"username": username, "password": password, "role": role, "communities": [community_id], **extra},
    )
    return user["id"], (username, password)


def _ticket(client: Client, unit_id: str, **body) -> dict:
    return client.created(
        "/api/v1/tickets", {"unit_id": unit_id, "category": "repair", "description": "卫生间漏水", **body}
    )


# --- object-level access (BOLA) -----------------------------------------------------------------------------------


def test_a_resident_of_a_neither_reads_nor_cancels_a_ticket_of_b(embedded_stack, admin, two):
    a, b = two
    owner_a = Client(embedded_stack.url).login(*a["login"])
    owner_b = Client(embedded_stack.url).login(*b["login"])
    ticket_b = _ticket(owner_b, b["unit"]["id"])
    assert owner_a.get(f"/api/v1/tickets/{ticket_b['id']}").status_code == 404
    cancel = owner_a.post(f"/api/v1/tickets/{ticket_b['id']}/cancel", json={"reason": "不修了"})
    assert cancel.status_code == 404
    assert admin.get(f"/api/v1/tickets/{ticket_b['id']}").json()["status"] != "cancelled"
    # The way it leaked: B's staff naming A's resident as the reporter of a B ticket. Refused now, nothing written.
    before = admin.get("/api/v1/tickets", params={"reporter_id": a["resident"]["id"]}).json()["total"]
    refused = admin.post(
        "/api/v1/tickets",
        json={"unit_id": b["unit"]["id"], "category": "repair", "description": "x", "reporter_id": a["resident"]["id"]},
    )
    assert refused.status_code == 422 and "reporter_id" in refused.json()["errors"], refused.text
    assert admin.get("/api/v1/tickets", params={"reporter_id": a["resident"]["id"]}).json()["total"] == before


def test_access_follows_occupancy_from_move_in_to_move_out(embedded_stack, admin):
    """Household 1 lives in the unit (keys, pass, appointment, bill, payment), moves out; household 2 moves in.
    The new household sees nothing of the old one; the old one, with fresh tokens, nothing of the unit."""
    home = make_household(admin, f"M{uuid.uuid4().hex[:4]}")
    unit_id, first = home["unit"]["id"], home["resident"]
    old, old_tokens = _login(embedded_stack, *home["login"])
    key = admin.created(
        f"/api/v1/units/{unit_id}/keys",
        {"label": "入户门", "authorized": [{"name": "李阿姨", "phone": "13900139111"}]},
    )
    release = old.created(
        f"/api/v1/units/{unit_id}/passes",
        {"resident_id": first["id"], "carrier_name": "搬家公司", "items": "沙发", "valid_on": "2027-01-15"},
    )
    booking = admin.created(
        f"/api/v1/units/{unit_id}/moving-appointments",
        {"resident_id": first["id"], "kind": "move_out", "scheduled_at": "2027-01-15T09:00:00+08:00"},
    )
    # Billing knows the household once resident.moved_in has arrived.
    _eventually(lambda: old.get(f"/api/v1/billing/units/{unit_id}").status_code == 200, message="old sees unit")
    bill = admin.created(
        "/api/v1/billing/bills",
        {"unit_id": unit_id, "description": "维修费", "amount": "50.00", "payer_id": first["id"]},
    )
    payment = admin.created(
        "/api/v1/payments", {"unit_id": unit_id, "amount": "50.00", "method": "cash", "payer_id": first["id"]}
    )
    assert old.get(f"/api/v1/payments/{payment['id']}/receipt").status_code == 200

    assert admin.post(f"/api/v1/units/{unit_id}/move-out", json={}).status_code == 200
    second = admin.created(
        "/api/v1/residents", {"unit_id": unit_id, "name": "赵六", "phone": "13600136000", "role": "tenant"}
    )
    assert admin.post(f"/api/v1/units/{unit_id}/move-in", json={"resident_id": second["id"]}).status_code == 200
    new_login = (f"new-{uuid.uuid4().hex[:6]}", "resident-password-2")
    admin.created(
        "/api/v1/users",
        {
            "username": new_login[0],
            "password": new_login[1],
            "role": "resident",
            "resident_id": second["id"],
            "units": [unit_id],
            "communities": [home["community"]["id"]],
        },
    )
    new, _ = _login(embedded_stack, *new_login)
    assert _claims(new.token)["units"] == [unit_id]

    # The new household: its own unit and records, nothing of the previous household.
    assert new.get(f"/api/v1/units/{unit_id}").status_code == 200
    people = new.get("/api/v1/residents", params={"unit_id": unit_id}).json()["items"]
    assert [p["id"] for p in people] == [second["id"]]
    assert new.get(f"/api/v1/residents/{first['id']}").status_code == 404
    assert key["id"] not in new.get(f"/api/v1/units/{unit_id}/keys").text
    assert release["id"] not in new.get(f"/api/v1/units/{unit_id}/passes").text
    assert booking["id"] not in new.get(f"/api/v1/units/{unit_id}/moving-appointments").text
    assert "李阿姨" not in new.get(f"/api/v1/units/{unit_id}/keys").text
    _eventually(lambda: new.get(f"/api/v1/billing/units/{unit_id}").status_code == 200, message="new sees unit")
    assert bill["id"] not in new.get("/api/v1/billing/bills").text
    assert new.get(f"/api/v1/billing/bills/{bill['id']}").status_code == 404
    assert payment["id"] not in new.get("/api/v1/payments").text
    assert new.get(f"/api/v1/payments/{payment['id']}/receipt").status_code == 404
    ledger = new.get(f"/api/v1/billing/units/{unit_id}/ledger").json()["items"]
    assert ledger == [], ledger

    # The moved-out household: the token they still hold, a refreshed one and a new sign-in open nothing.
    assert old.get(f"/api/v1/units/{unit_id}").status_code == 404
    refreshed = Client(embedded_stack.url).http.post(
        f"{embedded_stack.url}/api/v1/auth/refresh", json={"refresh_token": old_tokens["refresh_token"]}, timeout=10
    )
    assert refreshed.status_code == 200, refreshed.text
    assert _claims(refreshed.json()["access_token"])["units"] == []
    again, _ = _login(embedded_stack, *home["login"])
    assert _claims(again.token)["units"] == [] and _claims(again.token)["communities"] == []
    for client in (old, Client(embedded_stack.url, refreshed.json()["access_token"]), again):
        assert client.get(f"/api/v1/units/{unit_id}").status_code == 404
        assert second["id"] not in client.get("/api/v1/residents").text
        assert client.get(f"/api/v1/residents/{second['id']}").status_code == 404
        _eventually(
            lambda c=client: c.get(f"/api/v1/billing/units/{unit_id}/account").status_code == 404,
            message="moved-out resident loses the account",
        )
        assert client.get(f"/api/v1/units/{unit_id}/keys").status_code == 404


# --- ids of another community in request bodies ------------------------------------------------------------------


def test_a_b_ticket_is_not_dispatched_to_an_engineer_of_a(embedded_stack, admin, two):
    a, b = two
    engineer_a, _ = _staff(admin, "engineer", a["community"]["id"], department="engineering")
    engineer_b, _ = _staff(admin, "engineer", b["community"]["id"], department="engineering")
    ticket = _ticket(Client(embedded_stack.url).login(*b["login"]), b["unit"]["id"])
    before = admin.get(f"/api/v1/tickets/{ticket['id']}").json()
    refused = admin.post(
        f"/api/v1/tickets/{ticket['id']}/assign",
        json={"department": "engineering", "assignee_id": engineer_a, "reason": "派单"},
    )
    assert refused.status_code == 422 and "assignee_id" in refused.json()["errors"], refused.text
    after = admin.get(f"/api/v1/tickets/{ticket['id']}").json()
    assert (after["assignee_id"], after["status"], after["updated_at"]) == (
        before["assignee_id"],
        before["status"],
        before["updated_at"],
    )
    created = admin.post(
        "/api/v1/tickets",
        json={
            "unit_id": b["unit"]["id"],
            "category": "repair",
            "description": "x",
            "department": "engineering",
            "assignee_id": engineer_a,
        },
    )
    assert created.status_code == 422 and "assignee_id" in created.json()["errors"]
    assert admin.get("/api/v1/tickets", params={"assignee_id": engineer_a}).json()["total"] == 0
    # B's own engineer is fine.
    ok = admin.post(
        f"/api/v1/tickets/{ticket['id']}/assign",
        json={"department": "engineering", "assignee_id": engineer_b, "reason": "派单"},
    )
    assert ok.status_code == 200, ok.text


def test_a_butler_files_tickets_in_their_own_zones_only(embedded_stack, admin, two):
    a, _ = two
    other_zone = admin.created("/api/v1/zones", {"community_id": a["community"]["id"], "name": "二区"})
    _, login = _staff(admin, "butler", a["community"]["id"], zones=[other_zone["id"]])
    butler = Client(embedded_stack.url).login(*login)
    refused = butler.post(
        "/api/v1/tickets", json={"unit_id": a["unit"]["id"], "category": "repair", "description": "电梯异响"}
    )
    assert refused.status_code == 422 and "unit_id" in refused.json()["errors"], refused.text


def test_a_b_bill_or_payment_never_names_a_resident_of_a(admin, two):
    a, b = two
    for path, body in (
        ("/api/v1/billing/bills", {"unit_id": b["unit"]["id"], "description": "维修费", "amount": "10.00"}),
        ("/api/v1/payments", {"unit_id": b["unit"]["id"], "amount": "10.00", "method": "cash", "prepaid": True}),
    ):
        response = admin.post(path, json={**body, "payer_id": a["resident"]["id"]})
        assert response.status_code == 422 and "payer_id" in response.json()["errors"], (path, response.text)
    assert a["resident"]["id"] not in admin.get("/api/v1/billing/bills", params={"unit_id": b["unit"]["id"]}).text
    assert a["resident"]["id"] not in admin.get("/api/v1/payments", params={"unit_id": b["unit"]["id"]}).text


# --- abuse by a resident ------------------------------------------------------------------------------------------


def test_a_residents_emergency_is_a_request_the_service_desk_triages(embedded_stack, admin, two):
    a, _ = two
    owner = Client(embedded_stack.url).login(*a["login"])
    before = admin.get("/api/v1/tickets", params={"unit_id": a["unit"]["id"]}).json()["total"]
    for field, value in (("priority", "emergency"), ("priority", "high"), ("channel", "patrol")):
        refused = owner.post(
            "/api/v1/tickets",
            json={"unit_id": a["unit"]["id"], "category": "repair", "description": "凌晨四点漏水", field: value},
        )
        assert refused.status_code == 422 and field in refused.json()["errors"], refused.text
    assert admin.get("/api/v1/tickets", params={"unit_id": a["unit"]["id"]}).json()["total"] == before

    urgent = _ticket(owner, a["unit"]["id"], urgent=True)
    assert (urgent["priority"], urgent["urgent_requested"], urgent["escalation_level"]) == ("normal", True, 0)
    timeline = admin.get(f"/api/v1/tickets/{urgent['id']}/timeline").json()["items"]
    assert "escalated" not in [entry["action"] for entry in timeline]  # no page to the manager at 04:40
    # The service desk decides: the resident may not, a manager may (and only then the emergency escalates).
    assert owner.post(f"/api/v1/tickets/{urgent['id']}/triage", json={"priority": "emergency"}).status_code == 403
    triaged = admin.post(f"/api/v1/tickets/{urgent['id']}/triage", json={"priority": "emergency"})
    assert triaged.status_code == 200, triaged.text
    assert (triaged.json()["priority"], triaged.json()["urgent_requested"]) == ("emergency", False)
    assert triaged.json()["escalation_level"] == 2
