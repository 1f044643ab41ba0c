"""Meetings (例会) whose action items become tasks, training records with completion, and tools issued and returned
(配发工具物品) against the real PostgreSQL: who may write and see them, bad input naming the field, nothing written."""

import uuid

from sqlalchemy import func, select

from guanjia.db import Database
from guanjia.testing import auth_header
from staff.models import Meeting, Task

DUE = "2031-06-01T02:00:00+00:00"


def _count(staff_settings, model, community):
    with Database(staff_settings.database_url).transaction() as session:
        return session.execute(
            select(func.count()).select_from(model).where(model.community_id == community)
        ).scalar_one()


def test_a_meetings_action_items_become_tasks_for_the_assignees(client, team, staff_settings):
    headers, positions, community = team["headers"], team["positions"], team["community"]
    body = {
        "community_id": community,
        "title": "十一月第一周例会",
        "held_on": "2031-05-04",
        "attendee_ids": [positions[p]["id"] for p in ("lead", "wang", "li")],
        "minutes": "收缴进度；3 栋漏水",
        "action_items": [
            {"position_id": positions["wang"]["id"], "title": "跟进 3 栋漏水", "due_at": DUE},
            {"position_id": positions["li"]["id"], "title": "催缴 5 户", "due_at": DUE},
        ],
    }
    assert client.post("/api/v1/staff/meetings", json=body, headers=headers["wang"]).status_code == 403
    # An action item for the chair's own post, one in the past, a stranger attendee: refused naming it, nothing written.
    for change, field in (
        (
            {"action_items": [{**body["action_items"][0], "position_id": positions["lead"]["id"]}]},
            "action_items.0.position_id",
        ),
        (
            {
                "action_items": [
                    body["action_items"][0],
                    {**body["action_items"][1], "due_at": "2020-01-01T00:00:00+00:00"},
                ]
            },
            "action_items.1.due_at",
        ),
        ({"attendee_ids": [str(uuid.uuid4())]}, "attendee_ids.0"),
        ({"held_on": "soon"}, "held_on"),
    ):
        refused = client.post("/api/v1/staff/meetings", json={**body, **change}, headers=headers["lead"])
        assert refused.status_code == 422 and field in refused.get_json()["errors"], refused.get_json()
    assert _count(staff_settings, Meeting, community) == _count(staff_settings, Task, community) == 0

    held = client.post("/api/v1/staff/meetings", json=body, headers=headers["lead"])
    assert held.status_code == 201, held.get_data(as_text=True)
    meeting = held.get_json()
    assert [a["name"] for a in meeting["attendees"]] == ["lead", "li", "wang"]
    assert [(i["title"], i["assignee_name"], i["status"]) for i in meeting["action_items"]] == [
        ("跟进 3 栋漏水", "wang", "open"),
        ("催缴 5 户", "li", "open"),
    ]
    # The tasks are the tasks domain's: wang sees theirs on the task list.
    mine = client.get(f"/api/v1/staff/tasks?community_id={community}", headers=headers["wang"]).get_json()["items"]
    assert [t["title"] for t in mine] == ["跟进 3 栋漏水"]
    listed = client.get(f"/api/v1/staff/meetings?community_id={community}", headers=headers["li"]).get_json()
    assert [m["id"] for m in listed["items"]] == [meeting["id"]]
    stranger = auth_header(staff_settings, "cs_manager", communities=[str(uuid.uuid4())])
    assert client.get(f"/api/v1/staff/meetings/{meeting['id']}", headers=stranger).status_code == 404


def test_training_completion_and_items_issued_and_returned(client, team, staff_settings):
    headers, positions, community = team["headers"], team["positions"], team["community"]
    body = {"community_id": community, "topic": "百问百答", "held_on": "2031-05-06", "attendee_ids": []}
    bad = client.post("/api/v1/staff/trainings", json=body, headers=headers["lead"])
    assert bad.status_code == 422 and "attendee_ids" in bad.get_json()["errors"]
    body["attendee_ids"] = [positions["wang"]["id"], positions["li"]["id"]]
    assert client.post("/api/v1/staff/trainings", json=body, headers=headers["wang"]).status_code == 403
    session = client.post("/api/v1/staff/trainings", json=body, headers=headers["lead"])
    assert session.status_code == 201, session.get_data(as_text=True)
    session = session.get_json()
    url = f"/api/v1/staff/trainings/{session['id']}/completion"
    done = client.post(url, json={"position_id": positions["wang"]["id"]}, headers=headers["lead"])
    assert done.status_code == 200
    assert {a["name"]: a["completed"] for a in done.get_json()["attendees"]} == {"wang": True, "li": False}
    outsider = client.post(url, json={"position_id": positions["lead"]["id"]}, headers=headers["lead"])
    assert outsider.status_code == 422 and "position_id" in outsider.get_json()["errors"]
    # Wang sees the session with their own line only; the manager sees both.
    [seen] = client.get(f"/api/v1/staff/trainings?community_id={community}", headers=headers["wang"]).get_json()[
        "items"
    ]
    assert [(a["name"], a["completed"]) for a in seen["attendees"]] == [("wang", True)]
    [whole] = client.get(
        f"/api/v1/staff/trainings?community_id={community}&topic=百问百答", headers=headers["manager"]
    ).get_json()["items"]
    assert len(whole["attendees"]) == 2

    issue = {"position_id": positions["wang"]["id"], "name": "对讲机", "issued_on": "2031-05-01"}
    assert client.post("/api/v1/staff/issued-items", json=issue, headers=headers["wang"]).status_code == 403
    bad = client.post("/api/v1/staff/issued-items", json={**issue, "quantity": 0}, headers=headers["lead"])
    assert bad.status_code == 422 and "quantity" in bad.get_json()["errors"]
    item = client.post("/api/v1/staff/issued-items", json=issue, headers=headers["lead"])
    assert item.status_code == 201 and item.get_json()["holder_name"] == "wang"
    item = item.get_json()
    listing = f"/api/v1/staff/issued-items?community_id={community}"
    assert [i["name"] for i in client.get(listing, headers=headers["wang"]).get_json()["items"]] == ["对讲机"]
    assert client.get(listing, headers=headers["li"]).get_json()["items"] == []
    back = f"/api/v1/staff/issued-items/{item['id']}/return"
    early = client.post(back, json={"returned_on": "2031-04-30"}, headers=headers["lead"])
    assert early.status_code == 422 and "returned_on" in early.get_json()["errors"]
    assert (
        client.post(back, json={"returned_on": "2031-05-20"}, headers=headers["lead"]).get_json()["returned_on"]
        == "2031-05-20"
    )
    assert client.post(back, json={"returned_on": "2031-05-21"}, headers=headers["lead"]).status_code == 409
    assert client.get(listing + "&outstanding=true", headers=headers["manager"]).get_json()["items"] == []
