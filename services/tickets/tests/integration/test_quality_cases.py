"""重大投诉 / 疑似负面信息: a case with its source, linked tickets, owner and deadline, stage feedback to the customer
and to the quality department, the closure report; listed for the manager until closed."""

import uuid
from datetime import UTC, datetime, timedelta

from guanjia.testing import auth_header

QC = "/api/v1/tickets/quality-cases"
NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


def _ticket(client, world):
    body = {"unit_id": world["unit_id"], "category": "complaint", "description": "楼上漏水三次未修好"}
    response = client.post("/api/v1/tickets", headers=world["manager"], json=body)
    assert response.status_code == 201, response.json
    return response.json


def _case(client, world, owner_id, status=201, **changes):
    body = {
        "community_id": world["community_id"],
        "source": "hotline_12345",
        "title": "12345转办：漏水投诉",
        "description": "业主拨打12345反映漏水长期未解决",
        "owner_id": owner_id,
        "deadline_at": (NOW + timedelta(days=3)).isoformat(),
        **changes,
    }
    response = client.post(QC, headers=world["manager"], json=body)
    assert response.status_code == status, response.json
    return response.json


def test_a_quality_case_runs_to_its_closure_report(client, world, staff_user, clock):
    clock.set(NOW)
    ticket = _ticket(client, world)
    owner_id = staff_user(world["community_id"], "butler")
    settings = client.application.extensions["guanjia.settings"]
    owner = auth_header(settings, "butler", communities=[world["community_id"]], subject=owner_id)
    bad = _case(client, world, owner_id, status=422, ticket_ids=[str(uuid.uuid4())])
    assert "ticket_ids" in str(bad)
    _case(client, world, owner_id, status=422, deadline_at=(NOW - timedelta(hours=1)).isoformat())
    case = _case(client, world, owner_id, ticket_ids=[ticket["id"]])
    assert case["status"] == "open" and case["ticket_ids"] == [ticket["id"]]
    assert case["allowed_actions"] == ["feedback", "close"]

    path = f"{QC}/{case['id']}"
    to_customer = {"audience": "customer", "body": "已联系业主，约定明日上门"}
    assert client.post(f"{path}/feedback", headers=owner, json=to_customer).status_code == 200
    to_quality = {"audience": "quality_department", "body": "已维修，待业主确认"}
    fed = client.post(f"{path}/feedback", headers=world["manager"], json=to_quality).json
    assert [f["audience"] for f in fed["feedback"]] == ["customer", "quality_department"]
    # Listed for the manager until closed, overdue once past its deadline.
    clock.set(NOW + timedelta(days=4))
    listed = client.get(QC, headers=world["manager"], query_string={"community_id": world["community_id"]}).json
    assert [c["id"] for c in listed["items"]] == [case["id"]]
    assert client.get(path, headers=world["manager"]).json["overdue"] is True
    assert client.post(f"{path}/close", headers=owner, json={"report": "x"}).status_code == 403
    closed = client.post(f"{path}/close", headers=world["manager"], json={"report": "漏点已封堵，业主满意"})
    assert closed.status_code == 200 and closed.json["status"] == "closed" and closed.json["overdue"] is False
    again = client.post(f"{path}/feedback", headers=owner, json=to_customer)
    assert again.status_code == 409 and again.json["allowed_actions"] == []
    listed = client.get(QC, headers=world["manager"], query_string={"community_id": world["community_id"]}).json
    assert listed["total"] == 0
    everything = {"community_id": world["community_id"], "status": "closed"}
    assert client.get(QC, headers=world["manager"], query_string=everything).json["total"] == 1


def test_quality_cases_are_for_the_managers_and_the_owner(client, world, staff_user, staff):
    owner_id = staff_user(world["community_id"], "butler")
    case = _case(client, world, owner_id)
    settings = client.application.extensions["guanjia.settings"]
    assert client.get(f"{QC}/{case['id']}", headers=world["butler"]).status_code == 404  # not theirs
    assert client.get(f"{QC}/{case['id']}", headers=staff(settings, str(uuid.uuid4()))).status_code == 404
    assert client.get(f"{QC}/{case['id']}", headers=world["resident"]).status_code == 403
    assert client.post(QC, headers=world["butler"], json={}).status_code in (403, 422)
