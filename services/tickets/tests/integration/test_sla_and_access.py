"""SLA clocks driven by a controllable clock, object-level access, consumed events, attachments."""

import io
import json
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from guanjia import bus
from guanjia.db import parse_time
from guanjia.testing import EventRecorder, auth_header, wait_until
from tickets.domain import sla
from tickets.models import SlaBreach, Ticket

# A Friday, 17:30 in Shanghai.
FRIDAY_EVENING = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def _file(client, world, headers=None, **extra):
    body = {"unit_id": world["unit_id"], "category": "repair", "description": "门锁坏了", **extra}
    response = client.post("/api/v1/tickets", headers=headers or world["resident"], json=body)
    assert response.status_code == 201, response.json
    return response.json


def _check_sla(db, settings, now):
    with db.transaction() as session:
        return sla.check_sla(session, settings, now)


def test_a_missed_response_escalates_to_the_senior_butler_then_the_manager_once_each(
    client, tickets_settings, world, db, clock, outbox_events
):
    clock.set(FRIDAY_EVENING - timedelta(days=30))  # long ago: every clock of it has run out "now"
    ticket = _file(client, world)
    created = parse_time(ticket["created_at"])
    assert parse_time(ticket["response_due_at"]) == created + timedelta(minutes=120)
    subject = f"ticket/{ticket['id']}"

    _check_sla(db, tickets_settings, created + timedelta(minutes=119))
    assert outbox_events(subject, "ticket.sla_breached") == []

    _check_sla(db, tickets_settings, created + timedelta(minutes=121))
    _check_sla(db, tickets_settings, created + timedelta(minutes=125))  # the next run changes nothing
    (first,) = outbox_events(subject, "ticket.sla_breached")
    assert first["data"]["clock"] == "response" and first["data"]["escalation_level"] == 1
    assert first["data"]["escalate_to_role"] == "senior_butler" and first["data"]["emergency"] is False
    assert parse_time(first["data"]["deadline"]) == parse_time(ticket["response_due_at"])

    _check_sla(db, tickets_settings, created + timedelta(minutes=120 + 121))  # past the 120 min escalation delay
    response_events = [e for e in outbox_events(subject, "ticket.sla_breached") if e["data"]["clock"] == "response"]
    assert [(e["data"]["escalation_level"], e["data"]["escalate_to_role"]) for e in response_events] == [
        (1, "senior_butler"),
        (2, "cs_manager"),
    ]
    seen = client.get(f"/api/v1/tickets/{ticket['id']}", headers=world["manager"]).json
    assert seen["escalation_level"] == 2
    steps = client.get(f"/api/v1/tickets/{ticket['id']}/timeline", headers=world["manager"]).json["items"]
    assert [s["details"]["level"] for s in steps if s["action"] == "escalated"] == [1, 2]


def test_a_started_ticket_stops_the_response_clock(client, tickets_settings, world, db, clock, outbox_events):
    clock.set(FRIDAY_EVENING - timedelta(days=30))
    ticket = _file(client, world)
    clock.set(FRIDAY_EVENING - timedelta(days=30) + timedelta(minutes=30))
    client.post(f"/api/v1/tickets/{ticket['id']}/start", headers=world["butler"], json={})
    _check_sla(db, tickets_settings, parse_time(ticket["created_at"]) + timedelta(hours=5))
    assert outbox_events(f"ticket/{ticket['id']}", "ticket.sla_breached") == []


def test_several_workers_checking_at_once_escalate_exactly_once(client, tickets_settings, world, db, clock, at_once):
    clock.set(FRIDAY_EVENING - timedelta(days=60))
    tickets = [_file(client, world) for _ in range(5)]
    now = parse_time(tickets[0]["created_at"]) + timedelta(minutes=121)
    at_once(4, lambda: _check_sla(db, tickets_settings, now))
    with db.transaction() as s:
        rows = s.execute(select(SlaBreach.ticket_id).where(SlaBreach.ticket_id.in_([t["id"] for t in tickets]))).all()
    assert sorted(r[0] for r in rows) == sorted(t["id"] for t in tickets)  # one level-1 response breach each


def test_an_emergency_reaches_the_manager_at_once(client, tickets_settings, world, db):
    recorder = EventRecorder(tickets_settings, "ticket.sla_breached")
    try:
        ticket = _file(client, world, headers=world["butler"], priority="emergency", description="地下室进水")
        event = recorder.wait_for("ticket.sla_breached", lambda e: e["data"]["ticket_id"] == ticket["id"])
    finally:
        recorder.close()
    assert event["data"]["emergency"] is True and event["data"]["escalation_level"] == 2
    assert event["data"]["escalate_to_role"] == "cs_manager" and event["data"]["priority"] == "emergency"
    assert parse_time(ticket["response_due_at"]) - parse_time(ticket["created_at"]) == timedelta(minutes=15)


def test_business_hours_clocks_skip_nights_and_weekends(client, world, clock):
    policy = {
        "community_id": world["community_id"],
        "category": "repair",
        "priority": "normal",
        "response_minutes": 120,
        "resolution_minutes": 600,
        "business_hours": True,
    }
    assert client.put("/api/v1/tickets/sla-policies", headers=world["manager"], json=policy).status_code == 200
    clock.set(FRIDAY_EVENING)
    ticket = _file(client, world)
    # 30 minutes on Friday (17:30–18:00), 90 on Monday from 09:00 → Monday 10:30 Shanghai = 02:30 UTC.
    assert parse_time(ticket["response_due_at"]) == datetime(2026, 11, 30, 2, 30, tzinfo=UTC)
    # 600 min = 30 Friday + 540 Monday (a full day) + 30 Tuesday → Tuesday 09:30 Shanghai.
    assert parse_time(ticket["resolution_due_at"]) == datetime(2026, 12, 1, 1, 30, tzinfo=UTC)


# ---------------------------------------------------------------- who sees what


def test_engineers_see_only_what_is_dispatched_to_them(client, tickets_settings, world, staff_user):
    mine, other = staff_user(world["community_id"]), staff_user(world["community_id"])
    engineer = auth_header(tickets_settings, "engineer", communities=[world["community_id"]], subject=mine)
    stranger = auth_header(tickets_settings, "engineer", communities=[world["community_id"]], subject=other)
    ticket = _file(client, world)
    hidden = _file(client, world)
    response = client.post(
        f"/api/v1/tickets/{ticket['id']}/assign",
        headers=world["butler"],
        json={"department": "engineering", "assignee_id": mine, "reason": "工程部处理"},
    )
    assert response.status_code == 200
    assert client.get(f"/api/v1/tickets/{ticket['id']}", headers=engineer).status_code == 200
    assert client.get(f"/api/v1/tickets/{hidden['id']}", headers=engineer).status_code == 404
    assert client.get(f"/api/v1/tickets/{ticket['id']}", headers=stranger).status_code == 404
    assert [t["id"] for t in client.get("/api/v1/tickets", headers=engineer).json["items"]] == [ticket["id"]]
    # An engineer works the ticket but does not dispatch it.
    again = client.post(
        f"/api/v1/tickets/{ticket['id']}/assign",
        headers=engineer,
        json={"department": "engineering", "assignee_id": other, "reason": "换人"},
    )
    assert again.status_code == 403
    assert client.post(f"/api/v1/tickets/{ticket['id']}/start", headers=engineer, json={}).status_code == 200
    assert client.post(f"/api/v1/tickets/{ticket['id']}/start", headers=stranger, json={}).status_code == 404


def test_butlers_see_their_zones_and_follow_up_what_they_took(client, tickets_settings, world):
    other_zone = str(uuid.uuid4())
    other_butler_id = f"butler-{uuid.uuid4().hex[:6]}"
    other_butler = auth_header(
        tickets_settings, "butler", communities=[world["community_id"]], zones=[other_zone], subject=other_butler_id
    )
    ticket = _file(client, world)
    assert client.get(f"/api/v1/tickets/{ticket['id']}", headers=other_butler).status_code == 404
    assert ticket["id"] not in [t["id"] for t in client.get("/api/v1/tickets", headers=other_butler).json["items"]]
    # A butler files tickets in their own zones only (a unit elsewhere is 422, nothing written)...
    refused = client.post(
        "/api/v1/tickets",
        headers=other_butler,
        json={"unit_id": world["unit_id"], "category": "repair", "description": "x", "channel": "phone"},
    )
    assert refused.status_code == 422 and "unit_id" in refused.json["errors"]
    # ...首问责任制 at the service desk: a senior butler takes the call; it goes to the zone's butler and stays
    # on the taker's follow-up list until it is closed.
    desk_id = f"desk-{uuid.uuid4().hex[:6]}"
    desk = auth_header(tickets_settings, "senior_butler", communities=[world["community_id"]], subject=desk_id)
    taken = _file(client, world, headers=desk, channel="phone")
    assert taken["first_responder"] == desk_id and taken["assignee_id"] == world["butler_id"]
    follow = client.get("/api/v1/tickets/follow-ups", headers=desk).json
    assert [t["id"] for t in follow["items"]] == [taken["id"]]
    assert client.get("/api/v1/tickets/follow-ups", headers=world["butler"]).json["total"] == 0


def test_residents_see_their_own_and_may_not_dispatch(client, tickets_settings, world):
    ticket = _file(client, world)
    neighbour = auth_header(tickets_settings, "resident", units=[world["unit_id"]], resident_id=str(uuid.uuid4()))
    assert client.get(f"/api/v1/tickets/{ticket['id']}", headers=neighbour).status_code == 404
    assert client.get(f"/api/v1/tickets/{ticket['id']}/timeline", headers=neighbour).status_code == 404
    response = client.post(
        f"/api/v1/tickets/{ticket['id']}/assign",
        headers=world["resident"],
        json={"department": "engineering", "assignee_id": "x", "reason": "我自己来"},
    )
    assert response.status_code == 403
    assert client.post(f"/api/v1/tickets/{ticket['id']}/start", headers=world["resident"], json={}).status_code == 403
    staff_field = client.post(
        "/api/v1/tickets",
        headers=world["resident"],
        json={"unit_id": world["unit_id"], "category": "repair", "description": "x", "assignee_id": "eng-1"},
    )
    assert staff_field.status_code == 422 and "assignee_id" in staff_field.json["errors"]


def test_another_communitys_manager_gets_404(client, tickets_settings, world):
    ticket = _file(client, world)
    foreign = auth_header(tickets_settings, "cs_manager", communities=[str(uuid.uuid4())])
    assert client.get(f"/api/v1/tickets/{ticket['id']}", headers=foreign).status_code == 404
    assert (
        client.post(f"/api/v1/tickets/{ticket['id']}/cancel", headers=foreign, json={"reason": "x"}).status_code == 404
    )
    report = client.get(
        f"/api/v1/tickets/reports/monthly?community_id={world['community_id']}&month=2026-11", headers=foreign
    )
    assert report.status_code == 404


# ---------------------------------------------------------------- consumed events


def test_a_renovation_violation_opens_one_rectification_ticket_for_the_zones_butler(
    tickets_settings, world, db, publish
):
    violation_id = str(uuid.uuid4())
    data = {
        "violation_id": violation_id,
        "renovation_id": str(uuid.uuid4()),
        "unit_id": world["unit_id"],
        "community_id": world["community_id"],
        "applicant_id": world["resident_id"],
        "category": "debris",
        "severity": "serious",
        "rectify_by": "2026-12-01T10:00:00+00:00",
        "referred_to_authorities": False,
        "occurred_at": "2026-11-27T08:00:00+00:00",
    }
    first = publish(tickets_settings, "renovation.violation", data)
    second = publish(tickets_settings, "renovation.violation", data)  # another event id, same violation

    def opened():
        with db.transaction() as s:
            return s.execute(select(Ticket).where(Ticket.violation_id == violation_id)).scalars().all()

    (ticket,) = wait_until(opened, message="rectification ticket")
    assert ticket.assignee_id == world["butler_id"] and ticket.zone_id == world["zone_id"]
    assert (ticket.category, ticket.subcategory, ticket.priority) == (
        "service_request",
        "renovation_rectification",
        "high",
    )
    assert ticket.reporter_id is None and ticket.resolution_due_at == parse_time(data["rectify_by"])
    _wait_processed(db, first["id"], second["id"])
    assert len(opened()) == 1


def test_an_older_zone_event_does_not_undo_a_newer_butler_assignment(tickets_settings, world, db, publish):
    from tickets.models import Zone

    new_butler = f"butler-{uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC)
    zone = {"zone_id": world["zone_id"], "community_id": world["community_id"], "name": "一区"}
    newer = publish(
        tickets_settings, "zone.updated", {**zone, "butler_ids": [new_butler]}, time=now + timedelta(seconds=5)
    )
    older = publish(
        tickets_settings, "zone.updated", {**zone, "butler_ids": ["stale"]}, time=now + timedelta(seconds=1)
    )
    _wait_processed(db, newer["id"], older["id"])
    with db.transaction() as s:
        assert json.loads(s.get(Zone, world["zone_id"]).butler_ids) == [new_butler]


def test_a_low_survey_score_opens_one_follow_up_complaint_for_the_household(tickets_settings, world, db, publish):
    answer_id = str(uuid.uuid4())
    data = {
        "survey_id": str(uuid.uuid4()),
        "answer_id": answer_id,
        "community_id": world["community_id"],
        "zone_id": world["zone_id"],
        "unit_id": world["unit_id"],
        "service_line": "maintenance",
        "question_id": str(uuid.uuid4()),
        "score": 1,
        "scale_max": 5,
    }
    event = publish(tickets_settings, "survey.low_score", data, source="community")
    publisher = bus.Publisher(tickets_settings.with_service("community"))
    try:
        publisher.publish(event)  # redelivered: the same event id changes nothing
    finally:
        publisher.close()

    def opened():
        with db.transaction() as s:
            query = select(Ticket).where(Ticket.community_id == world["community_id"], Ticket.channel == "survey")
            return s.execute(query).scalars().all()

    (ticket,) = wait_until(opened, message="follow-up complaint")
    assert (ticket.category, ticket.subcategory, ticket.unit_id) == ("complaint", "survey_follow_up", world["unit_id"])
    assert ticket.assignee_id == world["butler_id"] and ticket.reporter_id is None
    assert ticket.description == f"满意度调查低分回访：工程维修 1/5 分（答卷 {answer_id}）"
    _wait_processed(db, event["id"])
    assert len(opened()) == 1


def test_an_owner_meeting_issue_opens_one_ticket_for_the_household(tickets_settings, world, db, publish):
    issue_id = str(uuid.uuid4())
    data = {
        "issue_id": issue_id,
        "activity_id": str(uuid.uuid4()),
        "community_id": world["community_id"],
        "zone_id": world["zone_id"],
        "unit_id": world["unit_id"],
        "topic": "lift",
        "category": "repair",
    }
    first = publish(tickets_settings, "meeting.issue_raised", data, source="community")
    replayed = publish(tickets_settings, "meeting.issue_raised", data, source="community")  # another id, same issue

    def opened():
        with db.transaction() as s:
            query = select(Ticket).where(
                Ticket.community_id == world["community_id"], Ticket.channel == "owner_meeting"
            )
            return s.execute(query).scalars().all()

    (ticket,) = wait_until(opened, message="meeting issue ticket")
    _wait_processed(db, first["id"], replayed["id"])
    assert len(opened()) == 1
    assert (ticket.category, ticket.subcategory, ticket.unit_id) == ("repair", "owner_meeting_lift", world["unit_id"])
    assert ticket.assignee_id == world["butler_id"] and ticket.reporter_id is None
    assert ticket.description == f"业主见面会议题：电梯（议题 {issue_id}，详见社区活动记录）"


def _wait_processed(db, *event_ids):
    """Until the consumer has applied (or skipped as a duplicate) every one of these events."""
    from tickets.models import inbox

    def done():
        with db.transaction() as s:
            found = s.execute(select(inbox.c.event_id).where(inbox.c.event_id.in_(event_ids))).all()
        return len(found) == len(event_ids)

    wait_until(done, message="events processed")


# ---------------------------------------------------------------- attachments


def test_photos_attach_to_tickets_and_only_their_readers_fetch_them(client, tickets_settings, world):
    from PIL import Image

    ticket = _file(client, world)
    photo = io.BytesIO()
    Image.new("RGB", (4, 3), "blue").save(photo, "PNG")
    png = photo.getvalue()
    upload = client.post(
        f"/api/v1/tickets/{ticket['id']}/attachments",
        headers=world["resident"],
        data={"file": (io.BytesIO(png), "leak.png", "image/png")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 201, upload.json
    attachment = upload.json
    assert attachment["filename"] == "leak.png" and attachment["size"] == len(png) and attachment["storage_key"]
    listed = client.get(f"/api/v1/tickets/{ticket['id']}/attachments", headers=world["butler"]).json["items"]
    assert [a["id"] for a in listed] == [attachment["id"]]
    content = client.get(
        f"/api/v1/tickets/{ticket['id']}/attachments/{attachment['id']}/content", headers=world["butler"]
    )
    assert content.status_code == 200 and content.data == png
    neighbour = auth_header(tickets_settings, "resident", units=[world["unit_id"]], resident_id=str(uuid.uuid4()))
    assert (
        client.get(
            f"/api/v1/tickets/{ticket['id']}/attachments/{attachment['id']}/content", headers=neighbour
        ).status_code
        == 404
    )
    missing = client.post(f"/api/v1/tickets/{ticket['id']}/attachments", headers=world["resident"], data={})
    assert missing.status_code == 422 and "file" in missing.json["errors"]


def test_the_worker_runs_both_scheduled_jobs_with_its_own_context(tickets_worker, client, world, clock, outbox_events):
    from tickets.service import SPEC

    assert {name for name, _, _ in SPEC.periodic} == {"sla", "patrol-coverage", "visit-overdue", "maintenance"}
    clock.set(FRIDAY_EVENING - timedelta(days=90))
    ticket = _file(client, world)
    for _name, every_seconds, job in SPEC.periodic:
        assert every_seconds > 0
        job(tickets_worker.context, tickets_worker.database)  # what the worker's loop calls, at the real time now
    levels = [e["data"]["escalation_level"] for e in outbox_events(f"ticket/{ticket['id']}", "ticket.sla_breached")]
    assert sorted(levels) == [1, 1, 2, 2]  # response and resolution clocks, both long past both levels
