"""Tickets on real PostgreSQL and RabbitMQ: create, list, scope, bad input, events."""

import uuid

import pytest
from sqlalchemy import func, select

from guanjia.testing import EventRecorder, auth_header, wait_until
from tickets.models import Ticket, Unit, outbox


@pytest.fixture(scope="module")
def worker(tickets_worker):
    return tickets_worker


@pytest.fixture
def unit(worker, tickets_settings, db, publish_unit_created):
    unit_id, community_id = str(uuid.uuid4()), str(uuid.uuid4())
    publish_unit_created(tickets_settings, unit_id, community_id)

    def projected():
        with db.transaction() as s:
            return s.get(Unit, unit_id)

    wait_until(projected, message="unit.created projected")
    return {"unit_id": unit_id, "community_id": community_id}


def _count(db, model):
    with db.transaction() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def test_staff_files_a_ticket_and_ticket_created_is_published(client, tickets_settings, unit, worker, staff):
    recorder = EventRecorder(tickets_settings, "ticket.*")
    try:
        response = client.post(
            "/api/v1/tickets",
            headers={**staff(tickets_settings, unit["community_id"]), "X-Request-ID": "req-abc"},
            json={
                "unit_id": unit["unit_id"],
                "category": "repair",
                "description": "厨房水管漏水 138 0013 8000",
            },
        )
        assert response.status_code == 201, response.json
        ticket = response.json
        assert ticket["status"] == "new" and ticket["id"]
        event = recorder.wait_for("ticket.created", lambda e: e["data"]["ticket_id"] == ticket["id"])
    finally:
        recorder.close()
    assert event["subject"] == f"ticket/{ticket['id']}"
    assert event["community"] == unit["community_id"]
    assert event["correlationid"] == "req-abc"
    assert event["data"]["number"] == ticket["number"]
    assert "description" not in event["data"]  # free text may hold personal data: never on the bus


def test_resident_sees_only_own_tickets(client, tickets_settings, unit):
    mine = auth_header(tickets_settings, "resident", units=[unit["unit_id"]], resident_id="res-mine")
    other = auth_header(tickets_settings, "resident", units=[unit["unit_id"]], resident_id="res-other")
    created = client.post(
        "/api/v1/tickets",
        headers=mine,
        json={"unit_id": unit["unit_id"], "category": "complaint", "description": "噪音"},
    )
    assert created.status_code == 201, created.json
    assert created.json["reporter_id"] == "res-mine"
    assert client.get(f"/api/v1/tickets/{created.json['id']}", headers=mine).status_code == 200
    assert client.get(f"/api/v1/tickets/{created.json['id']}", headers=other).status_code == 404
    listed = client.get("/api/v1/tickets", headers=other).json
    assert all(t["reporter_id"] == "res-other" for t in listed["items"])


def test_another_communitys_ticket_is_404(client, tickets_settings, unit, staff):
    created = client.post(
        "/api/v1/tickets",
        headers=staff(tickets_settings, unit["community_id"]),
        json={"unit_id": unit["unit_id"], "category": "inquiry", "description": "?"},
    )
    foreign = staff(tickets_settings, str(uuid.uuid4()))
    assert client.get(f"/api/v1/tickets/{created.json['id']}", headers=foreign).status_code == 404
    assert created.json["id"] not in [t["id"] for t in client.get("/api/v1/tickets", headers=foreign).json["items"]]


def test_without_a_token_is_401_problem_json(client):
    response = client.get("/api/v1/tickets")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["X-Request-ID"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"category": "repair", "description": "x", "reporter_id": "r"}, "unit_id"),
        ({"unit_id": "UNIT", "category": "plumbing", "description": "x", "reporter_id": "r"}, "category"),
        ({"unit_id": "UNIT", "category": "repair", "description": "x", "reporter_id": "r", "colour": "red"}, "colour"),
        ({"unit_id": "UNIT", "category": "repair", "description": 42, "reporter_id": "r"}, "description"),
    ],
)
def test_bad_input_is_problem_json_naming_the_field_and_writes_nothing(
    client, tickets_settings, unit, db, body, field, staff
):
    body = {k: (unit["unit_id"] if v == "UNIT" else v) for k, v in body.items()}
    before = (_count(db, Ticket), _count(db, outbox))
    response = client.post("/api/v1/tickets", headers=staff(tickets_settings, unit["community_id"]), json=body)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert field in response.json["errors"]
    assert (_count(db, Ticket), _count(db, outbox)) == before


def test_oversized_body_is_413_problem(client, tickets_settings, unit, staff):
    response = client.post(
        "/api/v1/tickets",
        headers=staff(tickets_settings, unit["community_id"]),
        data="x" * (tickets_settings.max_body_bytes + 1),
        content_type="application/json",
    )
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


def test_idempotency_key_replays_the_first_response(client, tickets_settings, unit, db, staff):
    headers = {**staff(tickets_settings, unit["community_id"]), "Idempotency-Key": str(uuid.uuid4())}
    body = {"unit_id": unit["unit_id"], "category": "repair", "description": "灯坏了"}
    first = client.post("/api/v1/tickets", headers=headers, json=body)
    before = _count(db, Ticket)
    again = client.post("/api/v1/tickets", headers=headers, json=body)
    assert again.status_code == 201 and again.json["id"] == first.json["id"]
    assert _count(db, Ticket) == before
    other = client.post("/api/v1/tickets", headers=headers, json={**body, "description": "别的"})
    assert other.status_code == 422 and "Idempotency-Key" in other.json["errors"]


def test_the_same_idempotency_key_sent_at_once_files_one_ticket(client, tickets_settings, unit, db, staff, at_once):
    """A double click: the requests race on one key; the first files the ticket, the others wait for it and replay
    its response (the key's lock and row, on the create's plain connection as on a Session)."""
    headers = {**staff(tickets_settings, unit["community_id"]), "Idempotency-Key": str(uuid.uuid4())}
    body = {"unit_id": unit["unit_id"], "category": "repair", "description": "门锁坏了"}
    before, answers = _count(db, Ticket), []

    def one():
        response = client.application.test_client().post("/api/v1/tickets", headers=headers, json=body)
        answers.append((response.status_code, response.json.get("id")))

    at_once(4, one)
    assert len(answers) == 4 and {status for status, _ in answers} == {201}, answers
    assert len({ticket_id for _, ticket_id in answers}) == 1
    assert _count(db, Ticket) == before + 1
