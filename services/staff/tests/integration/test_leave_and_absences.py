"""Leave requests against the real PostgreSQL: the rules that refuse a request (naming the field, writing nothing),
the superior's decision, and the absence job that announces each approved leave's start and end exactly once."""

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from guanjia.db import Database
from staff.domain import leaves
from staff.models import Leave, outbox

START = datetime(2031, 3, 2, 1, 0, tzinfo=UTC)


def _leave(client, team, who, stand_in, start=START, days=2, **extra):
    positions = team["positions"]
    body = {
        "position_id": positions[who]["id"],
        "stand_in_id": positions[stand_in]["id"],
        "kind": "annual",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(days=days)).isoformat(),
        **extra,
    }
    return client.post("/api/v1/staff/leaves", json=body, headers=team["headers"][who])


def _count(staff_settings, community):
    with Database(staff_settings.database_url).transaction() as session:
        return session.execute(select(func.count()).where(Leave.community_id == community)).scalar_one()


def _field(response, status, field):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type.startswith("application/problem+json")
    assert field in response.get_json()["errors"], response.get_json()


def test_bad_requests_name_the_field_and_write_nothing(client, team, staff_settings):
    first = _leave(client, team, "wang", "li")
    assert first.status_code == 201, first.get_data(as_text=True)
    written = _count(staff_settings, team["community"])

    _field(_leave(client, team, "wang", "li", start=START + timedelta(days=1)), 422, "starts_at")  # overlaps
    _field(_leave(client, team, "li", "wang", start=START + timedelta(days=1)), 422, "stand_in_id")  # wang is away
    _field(_leave(client, team, "li", "li"), 422, "stand_in_id")  # oneself
    _field(_leave(client, team, "li", "wang", start=START + timedelta(days=5), days=0), 422, "ends_at")
    _field(_leave(client, team, "li", "wang", start=datetime(2020, 1, 1, tzinfo=UTC)), 422, "starts_at")
    assert _count(staff_settings, team["community"]) == written

    # Back to back is not an overlap: the next leave may start when the first ends.
    assert _leave(client, team, "wang", "li", start=START + timedelta(days=2)).status_code == 201


def test_the_superior_decides_and_the_team_sees(client, team):
    leave = _leave(client, team, "wang", "li").get_json()
    path = f"/api/v1/staff/leaves/{leave['id']}"
    assert client.post(f"{path}/approve", json={}, headers=team["headers"]["wang"]).status_code == 403  # own
    assert client.post(f"{path}/approve", json={}, headers=team["headers"]["li"]).status_code == 403  # a peer
    # The stand-in sees the leave they cover; the senior butler their team's; the manager the community's.
    for who in ("li", "lead", "manager"):
        assert client.get(path, headers=team["headers"][who]).status_code == 200, who
    approved = client.post(f"{path}/approve", json={"note": "同意"}, headers=team["headers"]["lead"])
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    assert client.post(f"{path}/reject", json={}, headers=team["headers"]["lead"]).status_code == 409


def test_the_absence_job_announces_start_and_end_once(client, team, staff_settings):
    leave = _leave(client, team, "wang", "li").get_json()
    client.post(f"/api/v1/staff/leaves/{leave['id']}/approve", json={}, headers=team["headers"]["lead"])
    database = Database(staff_settings.database_url)

    def announced():
        with database.transaction() as session:
            rows = session.execute(select(outbox.c.event_type, outbox.c.payload)).all()
        return sorted(t for t, payload in rows if json.loads(payload)["subject"] == f"absence/{leave['id']}")

    with database.transaction() as session:
        leaves.announce_absences(session, staff_settings, START - timedelta(minutes=1))
    assert announced() == []
    for _ in range(2):  # twice, as two worker replicas would: still one event
        with database.transaction() as session:
            leaves.announce_absences(session, staff_settings, START + timedelta(hours=1))
    assert announced() == ["staff.absence_started"]
    assert client.get(f"/api/v1/staff/leaves/{leave['id']}", headers=team["headers"]["wang"]).get_json()["in_progress"]
    for _ in range(2):
        with database.transaction() as session:
            leaves.announce_absences(session, staff_settings, START + timedelta(days=2))
    assert announced() == ["staff.absence_ended", "staff.absence_started"]
