"""Ticket collaboration: progress notes and a complaint's staged feedback, direct close of enquiries and praise,
Chinese free-text search, the hold clock, late return visits, tickets following their unit into a new zone."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from guanjia.db import parse_time
from guanjia.testing import auth_header, wait_until
from tickets.domain import sla, visits
from tickets.models import Ticket, TicketNote

LONG_AGO = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)


def _file(client, world, headers=None, **extra):
    body = {"unit_id": world["unit_id"], "category": "repair", "description": "卫生间漏水", **extra}
    response = client.post("/api/v1/tickets", headers=headers or world["manager"], json=body)
    assert response.status_code == 201, response.json
    return response.json


def _act(client, headers, ticket, action, body=None, status=200):
    response = client.post(f"/api/v1/tickets/{ticket['id']}/{action}", headers=headers, json=body or {})
    assert response.status_code == status, response.json
    return response.json


def _note(client, headers, ticket, status=201, **body):
    response = client.post(f"/api/v1/tickets/{ticket['id']}/notes", headers=headers, json=body)
    assert response.status_code == status, response.json
    return response.json


def _notes(client, headers, ticket):
    response = client.get(f"/api/v1/tickets/{ticket['id']}/notes", headers=headers)
    assert response.status_code == 200, response.json
    return [n["body"] for n in response.json["items"]]


# ---------------------------------------------------------------- notes and staged feedback


def test_internal_notes_stay_with_the_staff_and_resident_notes_reach_the_resident(client, world, outbox_events):
    ticket = _file(client, world, headers=world["resident"])
    _note(client, world["butler"], ticket, body="业主情绪激动，注意沟通方式")
    visible = _note(client, world["butler"], ticket, body="师傅明天上午十点上门", visibility="resident")
    assert visible["visibility"] == "resident" and visible["kind"] == "note"
    assert _notes(client, world["manager"], ticket) == ["业主情绪激动，注意沟通方式", "师傅明天上午十点上门"]
    assert _notes(client, world["resident"], ticket) == ["师傅明天上午十点上门"]
    # Residents read their notes; writing them is the staff's.
    _note(client, world["resident"], ticket, status=403, body="谢谢")
    added = outbox_events(f"ticket/{ticket['id']}", "ticket.note_added")
    assert [(e["data"]["visibility"], e["data"]["kind"]) for e in added] == [("internal", "note"), ("resident", "note")]
    assert all("body" not in e["data"] and "师傅" not in str(e["data"]) for e in added)  # facts, never the text


def test_an_integrator_reads_that_notes_exist_but_not_their_text(client, tickets_settings, world):
    ticket = _file(client, world)
    _note(client, world["manager"], ticket, body="内部：物业费欠缴，谨慎处理")
    integrator = auth_header(tickets_settings, "integrator", communities=[world["community_id"]])
    items = client.get(f"/api/v1/tickets/{ticket['id']}/notes", headers=integrator).json["items"]
    assert len(items) == 1 and items[0]["body"] is None


def test_a_complaints_staged_feedback_sets_the_next_date_and_lists_it_when_due(client, world, clock, outbox_events):
    clock.set(LONG_AGO)
    complaint = _file(client, world, headers=world["resident"], category="complaint", description="楼上装修噪音扰民")
    next_at = LONG_AGO + timedelta(days=2)
    feedback = _note(
        client,
        world["manager"],
        complaint,
        body="已联系楼上业主，约定晚八点后停工",
        kind="feedback",
        next_feedback_at=next_at.isoformat(),
    )
    assert feedback["visibility"] == "resident" and parse_time(feedback["next_feedback_at"]) == next_at
    ticket = client.get(f"/api/v1/tickets/{complaint['id']}", headers=world["manager"]).json
    assert parse_time(ticket["next_feedback_at"]) == next_at

    def due(before):
        response = client.get(
            "/api/v1/tickets/feedback-due", headers=world["manager"], query_string={"before": before.isoformat()}
        )
        assert response.status_code == 200, response.json
        return [t["id"] for t in response.json["items"]]

    assert complaint["id"] not in due(next_at - timedelta(minutes=1))
    assert complaint["id"] in due(next_at + timedelta(minutes=1))
    # The resident reads the feedback given to them; the last feedback (no next date) takes it off the list.
    assert _notes(client, world["resident"], complaint) == ["已联系楼上业主，约定晚八点后停工"]
    clock.set(next_at + timedelta(hours=1))
    _note(client, world["manager"], complaint, body="已协调完毕，噪音问题解决", kind="feedback")
    assert complaint["id"] not in due(next_at + timedelta(days=30))
    sent = outbox_events(f"ticket/{complaint['id']}", "ticket.note_added")
    assert [e["data"]["next_feedback_at"] is not None for e in sent] == [True, False]


def test_feedback_is_refused_naming_the_field_and_nothing_is_written(client, world, clock, db, outbox_events):
    clock.set(LONG_AGO)
    repair = _file(client, world)
    complaint = _file(client, world, category="complaint", description="保安态度恶劣")
    cases = [
        (repair, {"body": "x", "kind": "feedback"}, "kind"),
        (complaint, {"body": "x", "kind": "feedback", "visibility": "internal"}, "visibility"),
        (
            complaint,
            {"body": "x", "kind": "feedback", "next_feedback_at": (LONG_AGO - timedelta(hours=1)).isoformat()},
            "next_feedback_at",
        ),
        (complaint, {"body": "x", "next_feedback_at": (LONG_AGO + timedelta(days=1)).isoformat()}, "next_feedback_at"),
        (complaint, {"body": "", "kind": "note"}, "body"),
        (complaint, {"body": "x", "visibility": "everyone"}, "visibility"),
    ]
    for ticket, body, field in cases:
        response = client.post(f"/api/v1/tickets/{ticket['id']}/notes", headers=world["manager"], json=body)
        assert response.status_code in (400, 422), (body, response.json)
        assert response.content_type == "application/problem+json"
        assert field in str(response.json), (field, response.json)
    with db.transaction() as s:
        assert (
            s.execute(select(TicketNote).where(TicketNote.ticket_id.in_([repair["id"], complaint["id"]]))).all() == []
        )
    assert outbox_events(f"ticket/{complaint['id']}", "ticket.note_added") == []
    # Another community's manager does not find the ticket at all.
    stranger = auth_header(_settings(client), "cs_manager", communities=[str(uuid.uuid4())])
    response = client.post(f"/api/v1/tickets/{complaint['id']}/notes", headers=stranger, json={"body": "x"})
    assert response.status_code == 404


def _settings(client):
    return client.application.extensions["guanjia.settings"]


# ---------------------------------------------------------------- direct close and kind-aware actions


def test_an_answered_enquiry_closes_without_a_return_visit(client, world, outbox_events):
    enquiry = _file(client, world, category="inquiry", description="请问物业费怎么交")
    assert "close" in enquiry["allowed_actions"]
    closed = _act(client, world["manager"], enquiry, "close", {"note": "已告知可在小程序缴费"})
    assert (
        closed["status"] == "closed"
        and closed["visit_outcome"] == "not_needed"
        and closed["allowed_actions"] == ["reopen"]
    )
    (event,) = outbox_events(f"ticket/{enquiry['id']}", "ticket.closed")
    assert event["data"]["visit_outcome"] == "not_needed" and event["data"]["satisfaction"] is None


def test_a_repair_is_not_closed_directly_and_the_409_lists_what_its_kind_can_do(client, world):
    repair = _file(client, world)
    assert "close" not in repair["allowed_actions"]
    refused = _act(client, world["manager"], repair, "close", status=409)
    assert "close" not in refused["allowed_actions"] and "quote" in refused["allowed_actions"]
    complaint = _file(client, world, category="complaint", description="垃圾清运不及时")
    _act(client, world["manager"], complaint, "start")
    _act(client, world["manager"], complaint, "resolve")
    conflict = _act(client, world["manager"], complaint, "start", status=409)
    # A complaint is never quoted, not even in the list of a refused action.
    assert conflict["current_status"] == "resolved" and conflict["allowed_actions"] == ["visit", "reopen"]
    conflict = _act(
        client, world["manager"], _file(client, world, category="complaint", description="x"), "resolve", status=409
    )
    assert "quote" not in conflict["allowed_actions"] and "accept_quote" not in conflict["allowed_actions"]


def test_the_direct_close_kinds_are_a_community_setting(client, world):
    path = f"/api/v1/tickets/settings/{world['community_id']}"
    assert client.get(path, headers=world["manager"]).json["direct_close_categories"] == ["inquiry", "praise"]
    bad = client.put(path, headers=world["manager"], json={"direct_close_categories": ["repair", "gossip"]})
    assert bad.status_code == 422 and "direct_close_categories" in str(bad.json)
    put = client.put(path, headers=world["manager"], json={"direct_close_categories": ["suggestion"]})
    assert put.status_code == 200 and put.json["direct_close_categories"] == ["suggestion"]
    suggestion = _file(client, world, category="suggestion", description="建议增加快递柜")
    praise = _file(client, world, category="praise", description="表扬保洁阿姨")
    assert "close" in suggestion["allowed_actions"] and "close" not in praise["allowed_actions"]
    _act(client, world["manager"], praise, "close", status=409)
    # The resident who filed an enquiry is not the one to close it.
    enquiry_settings = client.put(path, headers=world["manager"], json={"direct_close_categories": ["inquiry"]})
    assert enquiry_settings.status_code == 200
    mine = _file(client, world, headers=world["resident"], category="inquiry", description="停车位怎么租")
    assert "close" not in mine["allowed_actions"]
    _act(client, world["resident"], mine, "close", status=403)


# ---------------------------------------------------------------- search


def test_chinese_free_text_search_over_descriptions_and_notes(client, world):
    leak = _file(client, world, description="厨房水管漏水，楼下天花板渗水")
    lift = _file(client, world, description="3号电梯异响")
    door = _file(client, world, description="单元门禁刷卡无反应")
    _note(client, world["manager"], door, body="已通知门禁厂家更换读卡器")
    _note(client, world["manager"], lift, body="维保单位内部评估：需更换曳引机", visibility="internal")

    def search(q, headers=None):
        response = client.get(
            "/api/v1/tickets",
            headers=headers or world["manager"],
            query_string={"q": q, "community_id": world["community_id"]},
        )
        assert response.status_code == 200, response.json
        return {t["id"] for t in response.json["items"]}

    assert search("漏水") == {leak["id"]}
    assert search("渗水 天花板") == {leak["id"]}  # every word, in any order
    assert search("电梯") == {lift["id"]}
    assert search("读卡器") == {door["id"]}  # found through its note
    assert search("曳引机") == {lift["id"]}
    assert search("燃气") == set()
    assert search("100%") == set()  # % is a character, not a wildcard
    assert search(leak["number"]) == {leak["id"]}
    # A resident never finds a ticket through an internal note.
    resident_lift = _file(client, world, headers=world["resident"], description="电梯按钮失灵")
    _note(client, world["manager"], resident_lift, body="内部：业主多次投诉，优先处理")
    assert search("优先处理") == {resident_lift["id"]}
    assert search("优先处理", world["resident"]) == set()
    assert search("按钮", world["resident"]) == {resident_lift["id"]}
    # Two characters (no trigram: their own index on PostgreSQL) in a note, with the same visibility rule.
    assert search("厂家") == {door["id"]}
    assert search("内部") == {lift["id"], resident_lift["id"]} and search("内部", world["resident"]) == set()
    assert search("Ab") == set()


def test_an_unknown_filter_is_refused_with_400(client, world):
    response = client.get("/api/v1/tickets", headers=world["manager"], query_string={"keyword": "漏水"})
    assert response.status_code in (400, 422) and "keyword" in str(response.json)
    response = client.get("/api/v1/tickets/feedback-due", headers=world["manager"], query_string={"when": "now"})
    assert response.status_code in (400, 422) and "when" in str(response.json)


# ---------------------------------------------------------------- the hold clock


def test_time_on_hold_does_not_count_against_the_sla(client, tickets_settings, world, db, clock, outbox_events):
    clock.set(LONG_AGO)
    ticket = _file(client, world)
    due = parse_time(ticket["resolution_due_at"])
    _act(client, world["manager"], ticket, "start")
    clock.set(LONG_AGO + timedelta(hours=1))
    _act(client, world["manager"], ticket, "hold", {"reason": "等待配件"})
    # Long past the original deadline while on hold: no escalation of the resolution clock.
    with db.transaction() as session:
        sla.check_sla(session, tickets_settings, due + timedelta(days=3))
    assert outbox_events(f"ticket/{ticket['id']}", "ticket.sla_breached") == []
    clock.set(LONG_AGO + timedelta(hours=1, days=2))
    resumed = _act(client, world["manager"], ticket, "resume")
    assert resumed["held_seconds"] == 2 * 24 * 3600 and resumed["hold_started_at"] is None
    assert parse_time(resumed["resolution_due_at"]) == due + timedelta(days=2)
    with db.transaction() as session:
        sla.check_sla(session, tickets_settings, due + timedelta(days=2) - timedelta(minutes=1))
    assert outbox_events(f"ticket/{ticket['id']}", "ticket.sla_breached") == []
    with db.transaction() as session:
        sla.check_sla(session, tickets_settings, due + timedelta(days=2, minutes=1))
    (breach,) = outbox_events(f"ticket/{ticket['id']}", "ticket.sla_breached")
    assert breach["data"]["clock"] == "resolution"


# ---------------------------------------------------------------- late return visits


def _resolved(client, world, clock, at):
    clock.set(at)
    ticket = _file(client, world)
    _act(client, world["manager"], ticket, "start")
    return _act(client, world["manager"], ticket, "resolve")


def test_a_late_return_visit_is_reported_once_even_with_several_workers(
    client, tickets_settings, world, db, clock, outbox_events, at_once
):
    tickets = [_resolved(client, world, clock, LONG_AGO) for _ in range(3)]
    due = parse_time(tickets[0]["visit_due_at"])
    with db.transaction() as session:
        visits.check_visit_overdue(session, tickets_settings, due - timedelta(minutes=1))
    assert outbox_events(f"ticket/{tickets[0]['id']}", "ticket.visit_overdue") == []

    def check():
        with db.transaction() as session:
            visits.check_visit_overdue(session, tickets_settings, due + timedelta(minutes=5))

    at_once(3, check)
    for ticket in tickets:
        (event,) = outbox_events(f"ticket/{ticket['id']}", "ticket.visit_overdue")
        assert event["data"]["first_responder"] == ticket["first_responder"]
        assert parse_time(event["data"]["visit_due_at"]) == due
    # Reopened and resolved again: the new resolution's visit is watched anew.
    clock.set(due + timedelta(hours=1))
    again = tickets[0]
    _act(client, world["manager"], again, "reopen", {"reason_code": "not_fixed"})
    _act(client, world["manager"], again, "start")
    resolved = _act(client, world["manager"], again, "resolve")
    assert resolved["visit_overdue_at"] is None
    with db.transaction() as session:
        visits.check_visit_overdue(session, tickets_settings, parse_time(resolved["visit_due_at"]) + timedelta(1))
    assert len(outbox_events(f"ticket/{again['id']}", "ticket.visit_overdue")) == 2


# ---------------------------------------------------------------- a unit moving zone


def test_open_tickets_follow_their_unit_into_its_new_zone(client, tickets_settings, world, db, publish):
    open_ticket = _file(client, world)
    done = _file(client, world, category="inquiry", description="咨询")
    _act(client, world["manager"], done, "close")
    new_zone = str(uuid.uuid4())
    publish(
        tickets_settings,
        "unit.updated",
        {"unit_id": world["unit_id"], "community_id": world["community_id"], "number": "1-101", "zone_id": new_zone},
        time=datetime.now(UTC) + timedelta(seconds=1),
    )

    def moved():
        with db.transaction() as s:
            return s.get(Ticket, open_ticket["id"]).zone_id == new_zone

    wait_until(moved, message="open ticket moved with its unit")
    with db.transaction() as s:
        assert s.get(Ticket, done["id"]).zone_id == world["zone_id"]  # history stays where it happened
    new_butler = auth_header(tickets_settings, "butler", communities=[world["community_id"]], zones=[new_zone])
    seen = client.get("/api/v1/tickets", headers=new_butler).json["items"]
    assert [t["id"] for t in seen] == [open_ticket["id"]]
