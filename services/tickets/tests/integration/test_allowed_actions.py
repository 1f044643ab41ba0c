"""`allowed_actions` lists what THIS caller may do to THIS ticket: role, part in it, kind and quote — not status alone."""

from guanjia.testing import auth_header


def _file(client, headers, world, category="repair"):
    body = {"unit_id": world["unit_id"], "category": category, "description": "卫生间漏水"}
    response = client.post("/api/v1/tickets", headers=headers, json=body)
    assert response.status_code == 201, response.json
    return response.json


def _view(client, headers, ticket):
    response = client.get(f"/api/v1/tickets/{ticket['id']}", headers=headers)
    assert response.status_code == 200, response.json
    return response.json["allowed_actions"]


def test_the_reporting_resident_is_offered_only_what_a_resident_may_do(client, world):
    ticket = _file(client, world["resident"], world)
    assert ticket["status"] == "assigned"
    # The resident may cancel their own ticket; assigning, starting and quoting are the staff's.
    assert ticket["allowed_actions"] == ["cancel"]
    assert _view(client, world["resident"], ticket) == ["cancel"]
    assert _view(client, world["manager"], ticket) == ["assign", "start", "quote", "cancel", "triage"]
    # The zone's butler is the assignee and a dispatcher.
    assert "start" in _view(client, world["butler"], ticket)


def test_a_complaint_is_never_offered_a_quote(client, world):
    ticket = _file(client, world["manager"], world, category="complaint")
    assert "quote" not in _view(client, world["manager"], ticket)
    repair = _file(client, world["manager"], world)
    assert "quote" in _view(client, world["manager"], repair)


def test_an_engineer_sees_the_work_on_the_ticket_dispatched_to_them_and_accepting_a_quote_follows_it(
    client, tickets_settings, world
):
    ticket = _file(client, world["resident"], world)
    engineer_id = "eng-allowed-1"
    engineer = auth_header(tickets_settings, "engineer", communities=[world["community_id"]], subject=engineer_id)
    assigned = client.post(
        f"/api/v1/tickets/{ticket['id']}/assign",
        headers=world["manager"],
        json={"department": "engineering", "assignee_id": engineer_id, "reason": "需要工程部维修"},
    )
    assert assigned.status_code == 200, assigned.json
    assert _view(client, engineer, ticket) == ["start", "quote"]
    quoted = client.post(f"/api/v1/tickets/{ticket['id']}/quote", headers=engineer, json={"charge": "80.00"})
    assert quoted.status_code == 200, quoted.json
    assert _view(client, world["resident"], ticket) == ["accept_quote", "cancel"]
    accepted = client.post(f"/api/v1/tickets/{ticket['id']}/accept-quote", headers=world["resident"], json={})
    assert accepted.status_code == 200, accepted.json
    assert accepted.json["allowed_actions"] == ["cancel"]
