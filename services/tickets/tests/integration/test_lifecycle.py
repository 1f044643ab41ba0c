"""The closed loop on real PostgreSQL and RabbitMQ: routing, dispatch, life cycle, paid repairs, return visits."""

import pytest
from sqlalchemy import func, select

from guanjia.testing import EventRecorder, auth_header
from tickets.models import Ticket, TimelineEntry, outbox


def _file(client, headers, world, **extra):
    body = {"unit_id": world["unit_id"], "category": "repair", "description": "卫生间漏水", **extra}
    body = {k: v for k, v in body.items() if v is not None}
    response = client.post("/api/v1/tickets", headers=headers, json=body)
    assert response.status_code == 201, response.json
    return response.json


def _act(client, headers, ticket, action, body=None, status=200):
    response = client.post(f"/api/v1/tickets/{ticket['id']}/{action}", headers=headers, json=body or {})
    assert response.status_code == status, response.json
    return response.json


def _timeline(client, headers, ticket):
    return client.get(f"/api/v1/tickets/{ticket['id']}/timeline", headers=headers).json["items"]


def test_a_residents_repair_goes_to_the_zones_butler(client, tickets_settings, world):
    recorder = EventRecorder(tickets_settings, "ticket.*")
    try:
        ticket = _file(client, world["resident"], world)
        created = recorder.wait_for("ticket.created", lambda e: e["data"]["ticket_id"] == ticket["id"])
        assigned = recorder.wait_for("ticket.assigned", lambda e: e["data"]["ticket_id"] == ticket["id"])
    finally:
        recorder.close()
    assert ticket["status"] == "assigned" and ticket["number"].startswith("T")
    assert ticket["assignee_id"] == world["butler_id"] and ticket["department"] == "customer_service"
    assert ticket["zone_id"] == world["zone_id"] and ticket["channel"] == "app" and ticket["priority"] == "normal"
    # ticket.created keeps v1 (status "new" at creation) and adds the new facts.
    assert created["data"]["status"] == "new" and created["data"]["zone_id"] == world["zone_id"]
    assert created["data"]["reporter_id"] == world["resident_id"] and created["data"]["location"] == "in_unit"
    assert assigned["data"]["assigned_by"] == "system:routing" and assigned["data"]["reason"] is None
    steps = _timeline(client, world["resident"], ticket)
    assert [(s["action"], s["to_status"]) for s in steps] == [("created", "new"), ("assigned", "assigned")]


def test_the_most_specific_routing_rule_wins(client, world, staff_user):
    manager = world["manager"]
    general, zone, lift = (staff_user(world["community_id"]) for _ in range(3))
    for rule in (
        {"category": "repair", "department": "engineering", "assignee_id": general},
        {"category": "repair", "zone_id": world["zone_id"], "department": "engineering", "assignee_id": zone},
        {"subcategory": "lift", "department": "engineering", "assignee_id": lift},
    ):
        response = client.post(
            "/api/v1/tickets/routing-rules", headers=manager, json={"community_id": world["community_id"], **rule}
        )
        assert response.status_code == 201, response.json
    assert _file(client, world["resident"], world)["assignee_id"] == zone
    assert _file(client, world["resident"], world, subcategory="lift")["assignee_id"] == zone
    complaint = _file(client, world["resident"], world, category="complaint")
    assert (complaint["assignee_id"], complaint["department"]) == (world["butler_id"], "customer_service")
    rules = client.get(f"/api/v1/tickets/routing-rules?community_id={world['community_id']}", headers=manager)
    assert len(rules.json["items"]) == 3
    denied = client.post(
        "/api/v1/tickets/routing-rules",
        headers=world["butler"],
        json={"community_id": world["community_id"], "department": "security"},
    )
    assert denied.status_code == 403


def test_a_paid_repair_runs_the_whole_loop(client, tickets_settings, world, staff_user):
    engineer_id = staff_user(world["community_id"])
    engineer = auth_header(tickets_settings, "engineer", communities=[world["community_id"]], subject=engineer_id)
    ticket = _file(client, world["resident"], world)
    recorder = EventRecorder(tickets_settings, "ticket.*")
    try:
        transfer = {"department": "engineering", "assignee_id": engineer_id}
        problem = client.post(f"/api/v1/tickets/{ticket['id']}/assign", headers=world["butler"], json=transfer)
        assert problem.status_code == 422 and "reason" in problem.json["errors"]
        _act(client, world["butler"], ticket, "assign", {**transfer, "reason": "需要水电工"})
        assert client.get(f"/api/v1/tickets/{ticket['id']}", headers=engineer).status_code == 200
        started = _act(client, engineer, ticket, "start")
        assert started["status"] == "in_progress" and started["responded_at"]
        held = _act(client, engineer, ticket, "hold", {"reason": "等配件"})
        assert held["status"] == "on_hold" and held["hold_reason"] == "等配件"
        _act(client, engineer, ticket, "resume")
        assert _act(client, engineer, ticket, "quote", {"charge": "120.50"})["charge"] == "120.50"
        assert _act(client, world["resident"], ticket, "accept-quote", {"via": "app"})["charge_accepted"] is True
        resolved = _act(client, engineer, ticket, "resolve", {"note": "换了阀门"})
        assert resolved["status"] == "resolved" and resolved["visit_due_at"]
        resolved_event = recorder.wait_for("ticket.resolved", lambda e: e["data"]["ticket_id"] == ticket["id"])
        visit = client.post(
            f"/api/v1/tickets/{ticket['id']}/visits",
            headers=world["butler"],
            json={"outcome": "reached", "satisfaction": 5, "comment": "很满意"},
        )
        assert visit.status_code == 201, visit.json
        closed_event = recorder.wait_for("ticket.closed", lambda e: e["data"]["ticket_id"] == ticket["id"])
        transferred = recorder.wait_for(
            "ticket.assigned", lambda e: e["data"]["ticket_id"] == ticket["id"] and e["data"]["reason"] == "需要水电工"
        )
    finally:
        recorder.close()
    assert resolved_event["data"] | {"resolved_at": None} == {
        "ticket_id": ticket["id"],
        "number": ticket["number"],
        "community_id": world["community_id"],
        "unit_id": world["unit_id"],
        "reporter_id": world["resident_id"],
        "resolved_at": None,
        "paid": True,
        "charge": "120.50",
        "charge_accepted": True,
    }
    assert closed_event["data"]["satisfaction"] == 5 and closed_event["data"]["visit_outcome"] == "reached"
    assert (
        transferred["data"]["department"] == "engineering" and transferred["data"]["assigned_by"] == world["butler_id"]
    )
    final = client.get(f"/api/v1/tickets/{ticket['id']}", headers=world["resident"]).json
    assert final["status"] == "closed" and final["satisfaction"] == 5 and final["allowed_actions"] == ["reopen"]
    steps = _timeline(client, world["manager"], ticket)
    assert [s["action"] for s in steps] == [
        "created",
        "assigned",
        "transferred",
        "start",
        "hold",
        "resume",
        "quoted",
        "quote_accepted",
        "resolve",
        "visited",
        "closed",
    ]
    transfer_step = steps[2]
    assert transfer_step["reason"] == "需要水电工" and transfer_step["actor"] == world["butler_id"]
    assert transfer_step["details"]["previous_assignee_id"] == world["butler_id"]


def test_a_free_repair_resolves_without_a_charge(client, tickets_settings, world, outbox_events):
    ticket = _file(client, world["resident"], world)
    _act(client, world["butler"], ticket, "start")
    _act(client, world["butler"], ticket, "resolve")
    (event,) = outbox_events(f"ticket/{ticket['id']}", "ticket.resolved")
    assert (event["data"]["paid"], event["data"]["charge"], event["data"]["charge_accepted"]) == (False, None, False)


def test_an_illegal_transition_is_409_naming_what_is_allowed_and_changes_nothing(client, world, db):
    ticket = _file(client, world["resident"], world)
    with db.transaction() as s:
        before = s.execute(select(func.count()).select_from(TimelineEntry)).scalar_one()
        events_before = s.execute(select(func.count()).select_from(outbox)).scalar_one()
    response = client.post(f"/api/v1/tickets/{ticket['id']}/resolve", headers=world["butler"], json={})
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 409 and response.json["allowed_actions"] == [
        "assign",
        "start",
        "quote",
        "accept_quote",
        "cancel",
        "triage",
    ]
    assert "start" in response.json["detail"]
    with db.transaction() as s:
        assert s.execute(select(func.count()).select_from(TimelineEntry)).scalar_one() == before
        assert s.execute(select(func.count()).select_from(outbox)).scalar_one() == events_before
        assert s.get(Ticket, ticket["id"]).status == "assigned"


def test_a_dissatisfied_resident_reopens_the_ticket(client, world, outbox_events):
    ticket = _file(client, world["resident"], world)
    _act(client, world["butler"], ticket, "start")
    resolved = _act(client, world["butler"], ticket, "resolve")
    response = client.post(
        f"/api/v1/tickets/{ticket['id']}/visits",
        headers=world["butler"],
        json={"outcome": "reached", "satisfaction": 2, "comment": "还在漏"},
    )
    assert response.status_code == 201
    again = client.get(f"/api/v1/tickets/{ticket['id']}", headers=world["butler"]).json
    assert again["status"] == "reopened" and again["reopen_count"] == 1 and again["resolved_at"] is None
    assert again["resolution_due_at"] > resolved["resolution_due_at"]  # the resolution clock runs anew
    (event,) = outbox_events(f"ticket/{ticket['id']}", "ticket.reopened")
    assert event["data"]["reason_code"] == "dissatisfied"
    assert outbox_events(f"ticket/{ticket['id']}", "ticket.closed") == []
    # The same person can pick it up again and finish it.
    _act(client, world["butler"], ticket, "start")
    assert _act(client, world["butler"], ticket, "resolve")["status"] == "resolved"


def test_unreachable_residents_close_the_ticket_after_the_allowed_attempts(client, world, outbox_events):
    config = client.put(
        f"/api/v1/tickets/settings/{world['community_id']}",
        headers=world["manager"],
        json={"max_unreachable_attempts": 2},
    )
    assert config.status_code == 200 and config.json["max_unreachable_attempts"] == 2
    ticket = _file(client, world["resident"], world)
    _act(client, world["butler"], ticket, "start")
    _act(client, world["butler"], ticket, "resolve")
    visit = {"outcome": "unreachable", "comment": "电话无人接听"}
    assert client.post(f"/api/v1/tickets/{ticket['id']}/visits", headers=world["butler"], json=visit).status_code == 201
    assert client.get(f"/api/v1/tickets/{ticket['id']}", headers=world["butler"]).json["status"] == "resolved"
    assert client.post(f"/api/v1/tickets/{ticket['id']}/visits", headers=world["butler"], json=visit).status_code == 201
    final = client.get(f"/api/v1/tickets/{ticket['id']}", headers=world["butler"]).json
    assert final["status"] == "closed" and final["visit_outcome"] == "unreachable" and final["visit_attempts"] == 2
    (event,) = outbox_events(f"ticket/{ticket['id']}", "ticket.closed")
    assert event["data"]["visit_outcome"] == "unreachable" and event["data"]["satisfaction"] is None
    visits = client.get(f"/api/v1/tickets/{ticket['id']}/visits", headers=world["butler"]).json
    assert [v["outcome"] for v in visits] == ["unreachable", "unreachable"]


def test_the_reporting_resident_answers_the_return_visit_themselves(client, world, tickets_settings):
    ticket = _file(client, world["resident"], world)
    _act(client, world["butler"], ticket, "start")
    _act(client, world["butler"], ticket, "resolve")
    path = f"/api/v1/tickets/{ticket['id']}/visits"
    neighbour = auth_header(
        tickets_settings,
        "resident",
        units=[world["unit_id"]],
        resident_id="someone-else",
        communities=[world["community_id"]],
    )
    assert client.post(path, headers=neighbour, json={"outcome": "reached", "satisfaction": 5}).status_code in (
        403,
        404,
    )
    unreachable = client.post(path, headers=world["resident"], json={"outcome": "unreachable"})
    assert unreachable.status_code == 422 and "outcome" in unreachable.json["errors"]
    answer = client.post(
        path, headers=world["resident"], json={"outcome": "reached", "satisfaction": 4, "comment": "好"}
    )
    assert answer.status_code == 201 and answer.json["satisfaction"] == 4
    final = client.get(f"/api/v1/tickets/{ticket['id']}", headers=world["resident"]).json
    assert (final["status"], final["satisfaction"]) == ("closed", 4)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"outcome": "reached"}, "satisfaction"),
        ({"outcome": "reached", "satisfaction": 7}, "satisfaction"),
        ({"outcome": "maybe"}, "outcome"),
        ({"outcome": "unreachable", "satisfaction": 3}, "satisfaction"),
    ],
)
def test_bad_visits_are_problem_json_naming_the_field(client, world, body, field):
    ticket = _file(client, world["resident"], world)
    _act(client, world["butler"], ticket, "start")
    _act(client, world["butler"], ticket, "resolve")
    response = client.post(f"/api/v1/tickets/{ticket['id']}/visits", headers=world["butler"], json=body)
    assert response.status_code == 422 and field in response.json["errors"]
    assert client.get(f"/api/v1/tickets/{ticket['id']}", headers=world["butler"]).json["status"] == "resolved"


def test_cancel_needs_a_reason_and_a_resident_may_cancel_their_own(client, world):
    ticket = _file(client, world["resident"], world)
    missing = client.post(f"/api/v1/tickets/{ticket['id']}/cancel", headers=world["resident"], json={})
    assert missing.status_code == 422 and "reason" in missing.json["errors"]
    cancelled = _act(client, world["resident"], ticket, "cancel", {"reason": "自己修好了"})
    assert cancelled["status"] == "cancelled" and cancelled["allowed_actions"] == []
    again = client.post(f"/api/v1/tickets/{ticket['id']}/start", headers=world["butler"], json={})
    assert again.status_code == 409 and again.json["allowed_actions"] == []


def test_staff_file_public_area_tickets_without_unit_or_reporter(client, tickets_settings, world, outbox_events):
    ticket = _file(
        client,
        world["butler"],
        world,
        unit_id=None,
        location="public_area",
        zone_id=world["zone_id"],
        category="repair",
        subcategory="lighting",
        channel="walk_in",
        priority="high",
        description="3号楼大堂灯不亮",
    )
    assert (ticket["unit_id"], ticket["reporter_id"], ticket["location"]) == (None, None, "public_area")
    assert ticket["first_responder"] == world["butler_id"]
    (event,) = outbox_events(f"ticket/{ticket['id']}", "ticket.created")
    assert event["data"]["unit_id"] is None and event["data"]["reporter_id"] is None
    assert event["data"]["priority"] == "high" and event["data"]["channel"] == "walk_in"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"category": "repair", "description": "x", "location": "public_area"}, "zone_id"),
        ({"category": "repair", "description": "x"}, "unit_id"),
        ({"category": "repair", "description": "x", "unit_id": "UNIT", "priority": "urgent"}, "priority"),
        ({"category": "repair", "description": "x", "unit_id": "UNIT", "channel": "fax"}, "channel"),
        ({"category": "repair", "description": "x", "unit_id": "UNIT", "department": "it"}, "department"),
        ({"category": "repair", "description": "x", "location": "public_area", "zone_id": "nope"}, "zone_id"),
    ],
)
def test_bad_tickets_name_the_field_and_write_nothing(client, world, db, body, field):
    body = {k: (world["unit_id"] if v == "UNIT" else v) for k, v in body.items()}
    with db.transaction() as s:
        before = s.execute(select(func.count()).select_from(Ticket)).scalar_one()
    response = client.post("/api/v1/tickets", headers=world["butler"], json=body)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]
    with db.transaction() as s:
        assert s.execute(select(func.count()).select_from(Ticket)).scalar_one() == before


def test_the_effective_sla_table_shows_defaults_and_overrides(client, world):
    policy = {
        "community_id": world["community_id"],
        "category": "complaint",
        "priority": "normal",
        "response_minutes": 30,
        "resolution_minutes": 600,
    }
    assert client.put("/api/v1/tickets/sla-policies", headers=world["manager"], json=policy).status_code == 200
    table = client.get(f"/api/v1/tickets/sla-policies?community_id={world['community_id']}", headers=world["senior"])
    rows = {(r["category"], r["priority"]): r for r in table.json["items"]}
    assert rows[("complaint", "normal")]["response_minutes"] == 30 and rows[("complaint", "normal")]["custom"]
    assert rows[("repair", "emergency")]["response_minutes"] == 15 and not rows[("repair", "emergency")]["custom"]
    ticket = _file(client, world["resident"], world, category="complaint")
    assert ticket["response_due_at"] is not None
    bad = client.put("/api/v1/tickets/sla-policies", headers=world["manager"], json={**policy, "response_minutes": 0})
    assert bad.status_code == 422 and "response_minutes" in bad.json["errors"]


def test_the_apps_clock_is_the_time_of_the_tickets_events(client, world, clock, outbox_events):
    """One clock: what create_app(clock=) says is now is the ticket's creation and its events' `time`."""
    from datetime import UTC, datetime

    from guanjia.db import parse_time

    clock.set(datetime(2026, 11, 27, 1, 30, tzinfo=UTC))
    ticket = _file(client, world["resident"], world)
    assert parse_time(ticket["created_at"]) == clock.fixed
    written = outbox_events(f"ticket/{ticket['id']}")
    assert {e["type"] for e in written} >= {"ticket.created", "ticket.assigned"}
    assert all(parse_time(e["time"]) == clock.fixed for e in written)
