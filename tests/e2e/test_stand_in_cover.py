"""代岗 end to end: a butler's leave, approved by their senior butler, puts the stand-in in the butler's place while it
runs — the zone's new repairs reach the stand-in, whose token scope opens the zone's units (audited) — and it all
reverts by itself when the leave ends. Bad leave requests are refused naming the field, in both run modes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from guanjia.testing import wait_until

from .conftest import ADMIN_PASSWORD, Client, make_household
from .test_zone_membership import _sign_in

LEAVE_SECONDS = 30


def _staff_user(admin: Client, stack, role: str, community: str) -> tuple[dict, Client, dict]:
    username = f"{role}-{uuid.uuid4().hex[:6]}"
    user = admin.created(
        "/api/v1/users",
        {"username": username, "password": "staff-password-1", "role": role, "communities": [community]},
    )
    tokens, password = _sign_in(stack, username, "staff-password-1")
    return user, Client(stack.url, tokens["access_token"]), {"username": username, "password": password}


def _repair(resident: Client, unit: str) -> dict:
    return resident.created("/api/v1/tickets", {"unit_id": unit, "category": "repair", "description": "水管漏水"})


def _problem_field(response, status: int, field: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert field in response.json()["errors"], response.json()


def test_leave_with_a_stand_in_covers_the_zone_and_reverts(stack, admin):
    household = make_household(admin)
    community, unit = household["community"]["id"], household["unit"]["id"]
    zone = admin.get("/api/v1/zones", params={"community_id": community}).json()["items"][0]
    senior, senior_client, _ = _staff_user(admin, stack, "senior_butler", community)
    butler, butler_client, butler_login = _staff_user(admin, stack, "butler", community)
    stand_in, _, stand_in_login = _staff_user(admin, stack, "butler", community)
    assert admin.request("PATCH", f"/api/v1/zones/{zone['id']}", json={"butler_ids": [butler["id"]]}).status_code == 200
    # The butler takes a call for the unit (首问: they are its first responder until it is closed).
    butler_client = Client(stack.url).login(butler_login["username"], butler_login["password"])
    taken = butler_client.created(
        "/api/v1/tickets", {"unit_id": unit, "category": "complaint", "description": "楼道噪音"}
    )

    # The organisation: 客服部, the senior butler and the two butlers reporting to them.
    department = admin.created("/api/v1/staff/departments", {"community_id": community, "kind": "customer_service"})
    assert department["name"] == "客服部"

    def post(user, title, reports_to=None):
        body = {"department_id": department["id"], "title": title, "user_id": user["id"], "display_name": title}
        return admin.created("/api/v1/staff/positions", {**body, "reports_to_id": reports_to})

    lead = post(senior, "senior_butler")
    own = post(butler, "assistant_butler", lead["id"])
    other = post(stand_in, "butler_aide", lead["id"])

    # The organisation chart is the community's: a butler sees it (whom to name as stand-in), not another's.
    chart = butler_client.get("/api/v1/staff/positions", params={"community_id": community}).json()["items"]
    assert {p["id"]: p["reports_to_id"] for p in chart} == {
        lead["id"]: None,
        own["id"]: lead["id"],
        other["id"]: lead["id"],
    }

    # Repairs reach the zone's butler before the leave.
    resident = Client(stack.url).login(*household["login"])
    assert wait_until(
        message="routing follows the zone",
        timeout=30,
        interval=0.3,
        predicate=lambda: _repair(resident, unit)["assignee_id"] == butler["id"],
    )

    now = datetime.now(UTC)
    period = {"starts_at": now.isoformat(), "ends_at": (now + timedelta(seconds=LEAVE_SECONDS)).isoformat()}
    # The stand-in has asked for leave over the same days: refused, naming the field, nothing written.
    stand_in_client = Client(stack.url).login(stand_in_login["username"], stand_in_login["password"])
    theirs = stand_in_client.created(
        "/api/v1/staff/leaves", {"position_id": other["id"], "stand_in_id": own["id"], "kind": "personal", **period}
    )
    request = {"position_id": own["id"], "stand_in_id": other["id"], "kind": "annual", "reason": "回老家", **period}
    _problem_field(butler_client.post("/api/v1/staff/leaves", json=request), 422, "stand_in_id")
    assert stand_in_client.post(f"/api/v1/staff/leaves/{theirs['id']}/cancel").status_code == 200

    leave = butler_client.created("/api/v1/staff/leaves", request)
    assert (leave["status"], leave["stand_in_name"], leave["display_name"]) == (
        "pending",
        "butler_aide",
        "assistant_butler",
    )
    # A second request over the same period: refused, naming the field.
    _problem_field(butler_client.post("/api/v1/staff/leaves", json=request), 422, "starts_at")
    listed = butler_client.get("/api/v1/staff/leaves", params={"status": "pending"}).json()
    assert [item["id"] for item in listed["items"]] == [leave["id"]]
    # One's own leave is the superior's decision.
    assert butler_client.post(f"/api/v1/staff/leaves/{leave['id']}/approve", json={}).status_code == 403
    approved = senior_client.post(f"/api/v1/staff/leaves/{leave['id']}/approve", json={"note": "同意"})
    assert approved.status_code == 200 and approved.json()["status"] == "approved", approved.text

    # The leave runs: the zone's new repairs reach the stand-in...
    ticket = wait_until(
        message="tickets route to the stand-in",
        timeout=30,
        interval=0.3,
        predicate=lambda: (t := _repair(resident, unit))["assignee_id"] == stand_in["id"] and t,
    )
    # ...who can open the unit with a token whose scope includes the absent butler's zone, cut to the leave's end.
    tokens = wait_until(
        message="the stand-in's token covers the zone",
        timeout=30,
        interval=0.3,
        predicate=lambda: (
            (t := _sign_in(stack, stand_in_login["username"], stand_in_login["password"])[0])
            and Client(stack.url, t["access_token"]).get(f"/api/v1/units/{unit}").status_code == 200
            and t
        ),
    )
    assert tokens["expires_in"] <= LEAVE_SECONDS
    covering = Client(stack.url, tokens["access_token"])
    assert covering.get(f"/api/v1/tickets/{ticket['id']}").status_code == 200
    # The absent butler's first-responder follow-ups show on the stand-in's list meanwhile.
    follow_ups = covering.get("/api/v1/tickets/follow-ups").json()["items"]
    assert taken["id"] in [t["id"] for t in follow_ups]
    # The cover lives in the token only: the account keeps its own zones (none), so it cannot outlast the leave.
    assert zone["id"] not in covering.get("/api/v1/users/me").json()["zones"]
    audit = admin.get("/api/v1/audit", params={"action": "scope.stand_in_cover", "target_id": stand_in["id"]}).json()
    assert audit["items"] and audit["items"][0]["details"]["absence_id"] == leave["id"]
    assert audit["items"][0]["details"]["zones"] == [zone["id"]]
    assert butler_client.get(f"/api/v1/staff/leaves/{leave['id']}").json()["in_progress"] is True

    # After the leave: staff announces its end, routing and the stand-in's scope are back to normal.
    wait_until(
        message="the leave ends",
        predicate=lambda: butler_client.get(f"/api/v1/staff/leaves/{leave['id']}").json()["in_progress"] is False,
        timeout=LEAVE_SECONDS + 30,
        interval=1.0,
    )
    assert wait_until(
        message="routing is back",
        timeout=30,
        interval=0.3,
        predicate=lambda: _repair(resident, unit)["assignee_id"] == butler["id"],
    )
    again, _ = _sign_in(stack, stand_in_login["username"], stand_in_login["password"])
    after = Client(stack.url, again["access_token"])
    assert after.get(f"/api/v1/units/{unit}").status_code == 404
    assert taken["id"] not in [t["id"] for t in after.get("/api/v1/tickets/follow-ups").json()["items"]]
    assert Client(stack.url).login("admin", ADMIN_PASSWORD).get(f"/api/v1/units/{unit}").status_code == 200


def test_staff_records_of_another_community_are_not_found(stack, admin):
    mine, elsewhere = make_household(admin), make_household(admin)
    department = admin.created(
        "/api/v1/staff/departments", {"community_id": elsewhere["community"]["id"], "kind": "engineering"}
    )
    manager, manager_client, _ = _staff_user(admin, stack, "cs_manager", mine["community"]["id"])
    assert (
        manager_client.get(
            "/api/v1/staff/departments", params={"community_id": elsewhere["community"]["id"]}
        ).status_code
        == 404
    )
    position = admin.created(
        "/api/v1/staff/positions",
        {"department_id": department["id"], "title": "engineer", "user_id": manager["id"], "display_name": "工程师"},
    )
    assert manager_client.get(f"/api/v1/staff/positions/{position['id']}").status_code == 404
    # A manager cannot fill a post in another community's department: the field is named.
    _problem_field(
        manager_client.post(
            "/api/v1/staff/positions",
            json={
                "department_id": department["id"],
                "title": "engineer",
                "user_id": manager["id"],
                "display_name": "x",
            },
        ),
        422,
        "department_id",
    )
    # The pay rule, with the grade change for a period's rate.
    rule = manager_client.get("/api/v1/staff/pay-rule", params={"collection_rate": "90.00"}).json()
    assert (rule["threshold"], rule["step"], rule["period"]) == ("85", "5", "half_year")
    assert rule["grade_change"]["grades"] == 2
    assert manager_client.get("/api/v1/staff/pay-rule", params={"collection_rate": "101"}).status_code == 422
