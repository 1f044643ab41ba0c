"""Tasks handed down (领导交办) against the real PostgreSQL: who may hand down to whom, due dates, completion, and
task.overdue announced once per open task past its due date."""

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from guanjia.db import Database
from staff.domain import tasks
from staff.models import outbox

DUE = datetime(2031, 5, 1, 2, 0, tzinfo=UTC)


def _hand_down(client, team, who, to, due=DUE):
    body = {"position_id": team["positions"][to]["id"], "title": "检查 3 栋消防通道", "due_at": due.isoformat()}
    return client.post("/api/v1/staff/tasks", json=body, headers=team["headers"][who])


def test_tasks_go_down_the_line_and_overdue_is_announced_once(client, team, staff_settings):
    headers = team["headers"]
    # A butler hands nothing to their senior butler nor to a peer; the past is no due date.
    for who, to in (("wang", "lead"), ("wang", "li")):
        refused = _hand_down(client, team, who, to)
        assert refused.status_code == 422 and "position_id" in refused.get_json()["errors"], who
    past = _hand_down(client, team, "lead", "wang", due=datetime(2020, 1, 1, tzinfo=UTC))
    assert past.status_code == 422 and "due_at" in past.get_json()["errors"]

    task = _hand_down(client, team, "lead", "wang")
    assert task.status_code == 201, task.get_data(as_text=True)
    task = task.get_json()
    assert (task["status"], task["overdue"]) == ("open", False)
    mine = client.get(f"/api/v1/staff/tasks?community_id={team['community']}", headers=headers["wang"]).get_json()
    assert [t["id"] for t in mine["items"]] == [task["id"]]
    assert client.get(f"/api/v1/staff/tasks/{task['id']}", headers=headers["li"]).status_code == 404

    database = Database(staff_settings.database_url)

    def overdue_events():
        with database.transaction() as session:
            rows = session.execute(select(outbox.c.event_type, outbox.c.payload)).all()
        return [json.loads(p)["data"] for t, p in rows if t == "task.overdue" and task["id"] in p]

    with database.transaction() as session:
        tasks.announce_overdue(session, staff_settings, DUE - timedelta(minutes=1))
    assert overdue_events() == []
    for _ in range(2):
        with database.transaction() as session:
            tasks.announce_overdue(session, staff_settings, DUE + timedelta(minutes=1))
    [event] = overdue_events()
    assert event["assigner_id"] == team["positions"]["lead"]["user_id"]
    assert event["assignee_id"] == team["positions"]["wang"]["user_id"]

    assert client.post(f"/api/v1/staff/tasks/{task['id']}/complete", headers=headers["lead"]).status_code == 403
    done = client.post(f"/api/v1/staff/tasks/{task['id']}/complete", headers=headers["wang"])
    assert done.status_code == 200 and done.get_json()["status"] == "done" and done.get_json()["overdue"] is True
    assert client.post(f"/api/v1/staff/tasks/{task['id']}/complete", headers=headers["wang"]).status_code == 409
