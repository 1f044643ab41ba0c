"""The two-statement create (domain/filing.py) writes what the ORM create writes: the same ticket row, timeline,
outbox payloads (byte for byte, but for the ids and the number) and response, for routed, ruled, stood-in, SLA'd
and business-hours tickets; what it does not take still goes through the ORM."""

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tickets.domain import filing
from tickets.domain.routing import STAND_IN_REASON
from tickets.models import Absence, Ticket, TimelineEntry, outbox

# A Tuesday 10:00 in Shanghai: inside business hours, so a business-hours SLA moves its deadlines differently.
NOW = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)


@pytest.fixture
def filed_by(client, clock, monkeypatch):
    """filed_by(path, headers, body) → the response of a create through "filing" or "orm" at the fixed clock."""
    clock.set(NOW)
    calls = []
    real = filing.create_in_unit

    def spy(*args, **kwargs):
        ticket = real(*args, **kwargs)
        calls.append(ticket is not None)
        return ticket

    monkeypatch.setattr(filing, "create_in_unit", spy)

    def create(path, headers, body):
        before = len(calls)
        with monkeypatch.context() as m:
            if path == "orm":
                m.setattr(filing, "fits", lambda session, data: False)
            response = client.post("/api/v1/tickets", headers={**headers, "X-Request-ID": "req-same"}, json=body)
        assert response.status_code == 201, response.json
        assert calls[before:] == ([True] if path == "filing" else [])
        return response.json

    return create


def _written(db, ticket: dict) -> tuple[dict, list[dict], list[str]]:
    """The ticket's row, timeline rows and stored outbox JSON, its own ids, number and trace id replaced."""
    with db.transaction() as s:
        row = s.execute(select(Ticket.__table__).where(Ticket.id == ticket["id"])).mappings().one()
        steps = s.execute(
            select(TimelineEntry.__table__)
            .where(TimelineEntry.ticket_id == ticket["id"])
            .order_by(TimelineEntry.position)
        ).mappings()
        steps = [{k: v for k, v in step.items() if k not in ("id", "ticket_id")} for step in steps]
        events = s.execute(
            select(outbox.c.id, outbox.c.event_type, outbox.c.payload, outbox.c.attempts, outbox.c.published_at)
            .where(outbox.c.payload.contains(ticket["id"]))
            .order_by(outbox.c.created_at)
        ).all()
    stored = []
    for event in events:
        assert event.attempts == 0
        payload = event.payload.replace(event.id, "EVENT").replace(ticket["id"], "TICKET")
        # Each request has its own trace: the same field, its own value.
        payload = re.sub(r'"traceparent":"00-[0-9a-f]{32}-[0-9a-f]{16}-01"', '"traceparent":"TRACE"', payload)
        stored.append(f"{event.event_type} {payload.replace(ticket['number'], 'NUMBER')}")
    return {k: v for k, v in row.items() if k not in ("id", "seq", "number")}, steps, stored


def _same(db, new: dict, old: dict) -> None:
    assert {k: v for k, v in new.items() if k not in ("id", "number")} == {
        k: v for k, v in old.items() if k not in ("id", "number")
    }
    new_row, new_steps, new_events = _written(db, new)
    old_row, old_steps, old_events = _written(db, old)
    assert new_row == old_row
    assert new_steps == old_steps
    assert new_events == old_events and len(new_events) >= 1


def test_a_resident_ticket_routed_to_the_zone_butler_is_written_as_the_orm_writes_it(filed_by, db, world):
    body = {"unit_id": world["unit_id"], "category": "repair", "description": "厨房水龙头漏水"}
    new, old = filed_by("filing", world["resident"], body), filed_by("orm", world["resident"], body)
    assert new["assignee_id"] == world["butler_id"] and new["status"] == "assigned"
    assert new["unit_label"] == old["unit_label"] and new["zone_name"] == "一区"
    _same(db, new, old)


def test_rules_policies_business_hours_and_a_stand_in_decide_alike(filed_by, client, db, world, staff_user):
    ruled = staff_user(world["community_id"])
    rule = {"community_id": world["community_id"], "subcategory": "lift", "department": "engineering"}
    assert (
        client.post("/api/v1/tickets/routing-rules", headers=world["manager"], json={**rule, "assignee_id": ruled})
    ).status_code == 201
    for category, business in (("complaint", True), ("inquiry", False)):
        policy = {
            "community_id": world["community_id"],
            "category": category,
            "priority": "normal",
            "response_minutes": 45,
            "resolution_minutes": 600,
            "business_hours": business,
        }
        assert client.put("/api/v1/tickets/sla-policies", headers=world["manager"], json=policy).status_code == 200
    stand_in = f"stand-in-{uuid.uuid4().hex[:6]}"
    with db.transaction() as s:
        s.add(
            Absence(
                absence_id=str(uuid.uuid4()),
                community_id=world["community_id"],
                butler_id=world["butler_id"],
                stand_in_id=stand_in,
                starts_at=NOW - timedelta(days=1),
                ends_at=NOW + timedelta(days=1),
            )
        )
    base = {"unit_id": world["unit_id"], "description": "电梯异响"}
    cases = [
        ({**base, "category": "repair", "subcategory": "lift"}, ruled, None),
        ({**base, "category": "complaint", "urgent": True}, stand_in, STAND_IN_REASON),
        ({**base, "category": "inquiry", "channel": "wechat"}, stand_in, STAND_IN_REASON),
    ]
    for body, assignee, reason in cases:
        new, old = filed_by("filing", world["resident"], body), filed_by("orm", world["resident"], body)
        assert new["assignee_id"] == assignee
        _same(db, new, old)
        assert _written(db, new)[1][-1]["reason"] == reason
    # The complaint's business-hours policy: 45 minutes from 10:00 on a working day.
    complaint = filed_by("filing", world["resident"], {**base, "category": "complaint"})
    assert complaint["response_due_at"].startswith("2026-03-03T02:45:00")


def test_staff_without_an_assignee_take_the_two_statements_and_are_checked_alike(filed_by, db, world, client):
    body = {"unit_id": world["unit_id"], "category": "repair", "description": "楼道灯不亮", "department": "engineering"}
    new, old = filed_by("filing", world["butler"], body), filed_by("orm", world["butler"], body)
    assert new["first_responder"] == new["assignee_id"] == world["butler_id"]
    _same(db, new, old)
    other_zone = {**body, "zone_id": str(uuid.uuid4())}
    for headers in (world["butler"], world["manager"]):
        response = client.post("/api/v1/tickets", headers=headers, json=other_zone)
        assert response.status_code == 422 and "zone_id" in response.json["errors"], response.json
        assert response.mimetype == "application/problem+json"


def test_an_emergency_and_a_named_assignee_still_go_through_the_orm(filed_by, world, staff_user):
    engineer = staff_user(world["community_id"])
    base = {"unit_id": world["unit_id"], "category": "repair", "description": "水管爆裂"}
    emergency = filed_by("neither", world["manager"], {**base, "priority": "emergency"})
    named = filed_by("neither", world["manager"], {**base, "assignee_id": engineer, "department": "engineering"})
    assert emergency["escalation_level"] == 2 and named["assignee_id"] == engineer


def test_a_unit_tickets_does_not_know_takes_no_number_and_goes_to_the_orm(client, db, tickets_settings, monkeypatch):
    from sqlalchemy import text

    from guanjia.testing import auth_header

    seen = []
    real = filing.create_in_unit

    def spy(*args, **kwargs):
        seen.append(real(*args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(filing, "create_in_unit", spy)
    unknown = str(uuid.uuid4())
    headers = auth_header(tickets_settings, "resident", units=[unknown], resident_id=str(uuid.uuid4()))
    with db.transaction() as s:
        before = s.execute(text("SELECT last_value FROM ticket_number_seq")).scalar_one()
    response = client.post(
        "/api/v1/tickets", headers=headers, json={"unit_id": unknown, "category": "repair", "description": "漏水"}
    )
    # The ORM create asks residents (not in this test's upstreams): a problem, never a ticket.
    assert response.status_code >= 400 and response.mimetype == "application/problem+json", response.json
    assert seen == [None]
    with db.transaction() as s:
        assert s.execute(text("SELECT last_value FROM ticket_number_seq")).scalar_one() == before
        assert s.execute(select(Ticket.id).where(Ticket.unit_id == unknown)).first() is None
