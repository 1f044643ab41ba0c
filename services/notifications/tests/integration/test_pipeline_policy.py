"""Who hears what (rules → residents and staff looked up at send time), quiet hours in the instance timezone,
per-recipient caps, the community budget, opt-outs, and a send whose worker was lost."""

import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from notifications.models import Delivery


def rows(pipeline, event_id):
    with pipeline.database.transaction() as s:
        return list(s.execute(select(Delivery).where(Delivery.event_id == event_id)).scalars())


def overdue(make_event, resident, stage="first"):
    return make_event(
        "fee.overdue",
        {
            "bill_id": str(uuid.uuid4()),
            "unit_id": resident["unit_id"],
            "community_id": resident["community_id"],
            "period": "2026-Q4",
            "amount_due": "88.00",
            "due_date": "2026-11-15",
            "stage": stage,
            "days_overdue": 30,
            "payer_id": resident["resident_id"],
        },
    )


def sla_breach(make_event, community_id, role="senior_butler"):
    return make_event(
        "ticket.sla_breached",
        {
            "ticket_id": str(uuid.uuid4()),
            "number": "T00000042",
            "community_id": community_id,
            "zone_id": None,
            "priority": "high",
            "clock": "resolution",
            "deadline": "2026-11-26T12:00:00+00:00",
            "breached_at": "2026-11-26T12:00:01+00:00",
            "escalation_level": 1,
            "escalate_to_role": role,
            "emergency": False,
        },
    )


def test_quiet_hours_hold_reminders_until_eight_but_let_escalations_through(
    pipeline, directory, fake_sms, make_event, clock
):
    p = pipeline("twilio")
    clock.set_local(22, 30)
    resident = directory.resident()
    senior = directory.user("senior_butler", resident["community_id"])
    directory.user("engineer", resident["community_id"])  # another role: not told
    reminder, breach = overdue(make_event, resident), sla_breach(make_event, resident["community_id"])
    p.handle(reminder)
    p.handle(breach)
    p.dispatch()

    assert [m["phone"] for m in fake_sms.of("twilio")] == [senior["phone"]]
    assert "T00000042" in fake_sms.of("twilio")[0]["body"] and "处理时限" in fake_sms.of("twilio")[0]["body"]
    [held] = rows(p, reminder["id"])
    assert held.status == "pending" and held.reason == "waiting for the end of quiet hours"
    clock.set_local(8, 0, day=27)
    assert held.next_attempt_at == clock()  # 08:00 Asia/Shanghai the next morning
    clock.set_local(7, 59, day=27)
    assert p.dispatch() == 0
    clock.set_local(8, 0, day=27)
    assert p.dispatch() == 1
    assert [d.status for d in rows(p, reminder["id"])] == ["sent"]


def test_per_minute_and_per_day_caps_per_recipient(pipeline, directory, fake_sms, make_event, clock):
    p = pipeline("aliyun", recipient_per_minute=2, recipient_per_day=3)
    resident = directory.resident()
    events = [overdue(make_event, resident) for _ in range(4)]
    for event in events:
        p.handle(event)
    p.dispatch()
    assert len(fake_sms.of("aliyun")) == 2  # two this minute
    waiting = [d for e in events for d in rows(p, e["id"]) if d.status == "pending"]
    assert len(waiting) == 2 and all(d.next_attempt_at == clock() + timedelta(minutes=1) for d in waiting)

    clock.advance(minutes=1)
    p.dispatch()
    statuses = sorted(d.status for e in events for d in rows(p, e["id"]))
    assert statuses == ["failed", "sent", "sent", "sent"]  # the fourth today is over the daily cap
    [capped] = [d for e in events for d in rows(p, e["id"]) if d.status == "failed"]
    assert capped.error_code == "recipient_daily_cap"
    assert len(fake_sms.of("aliyun")) == 3


def test_the_community_budget_defers_the_rest_to_the_next_day(pipeline, directory, fake_sms, make_event, clock):
    p = pipeline("aliyun", community_daily_budget=2)
    community = str(uuid.uuid4())
    residents = [directory.resident(community_id=community) for _ in range(3)]
    events = [overdue(make_event, r) for r in residents]
    for event in events:
        p.handle(event)
    p.dispatch()
    assert len(fake_sms.of("aliyun")) == 2
    [deferred] = [d for e in events for d in rows(p, e["id"]) if d.status == "pending"]
    clock.set_local(0, 0, day=27)
    assert deferred.next_attempt_at == clock()
    clock.set_local(9, 0, day=27)
    p.dispatch()
    assert len(fake_sms.of("aliyun")) == 3


def test_opted_out_residents_get_no_welcome_but_still_their_reminders(pipeline, directory, fake_sms, make_event):
    p = pipeline("aliyun")
    resident = directory.resident(opted_out=True)
    # The contact endpoint carries no opt-out flag; this resident opted out with us.
    app = p.app()
    from guanjia.testing import auth_header

    headers = auth_header(app.extensions["guanjia.settings"], "resident", resident_id=resident["resident_id"])
    response = app.test_client().put("/api/v1/notifications/preferences/me", json={"opted_out": True}, headers=headers)
    assert response.status_code == 200 and response.json["opted_out"] is True
    welcome = make_event(
        "resident.moved_in",
        {
            "resident_id": resident["resident_id"],
            "unit_id": resident["unit_id"],
            "community_id": resident["community_id"],
            "moved_in_at": "2026-11-26T01:00:00+00:00",
        },
    )
    reminder = overdue(make_event, resident)
    p.handle(welcome)
    p.handle(reminder)
    p.dispatch()
    [skipped] = rows(p, welcome["id"])
    assert skipped.status == "skipped" and skipped.reason == "opted out"
    assert [d.status for d in rows(p, reminder["id"])] == ["sent"]
    assert len(fake_sms.of("aliyun")) == 1


def test_staff_rules_reach_the_assignee_and_the_zone_butlers(pipeline, directory, fake_sms, make_event):
    p = pipeline("twilio")
    community, zone = str(uuid.uuid4()), str(uuid.uuid4())
    engineer = directory.user("engineer", community)
    butlers = [directory.user("butler", community) for _ in range(2)]
    directory.zones[zone] = {
        "zone_id": zone,
        "community_id": community,
        "name": "东区",
        "butler_ids": [b["user_id"] for b in butlers],
    }
    assigned = make_event(
        "ticket.assigned",
        {
            "ticket_id": str(uuid.uuid4()),
            "number": "T00000077",
            "community_id": community,
            "unit_id": None,
            "zone_id": zone,
            "department": "engineering",
            "assignee_id": engineer["user_id"],
            "assigned_by": "u",
            "assigned_at": "2026-11-26T02:00:00+00:00",
            "reason": None,
        },
    )
    overdue_zone = make_event(
        "patrol.zone_overdue",
        {
            "zone_id": zone,
            "community_id": community,
            "last_round_at": None,
            "overdue_days": 3,
            "required_every_days": 1,
            "detected_at": "2026-11-26T02:00:00+00:00",
        },
    )
    p.handle(assigned)
    p.handle(overdue_zone)
    p.dispatch()
    bodies = {m["phone"]: m["body"] for m in fake_sms.of("twilio")}
    assert "T00000077" in bodies[engineer["phone"]] and "工程部" in bodies[engineer["phone"]]
    assert all("片区东区已3天未巡查" in bodies[b["phone"]] for b in butlers)
    assert {d.recipient_kind for d in rows(p, assigned["id"])} == {"user"}


def test_a_task_reminds_its_assignee_and_escalates_to_its_assigner(pipeline, directory, fake_sms, make_event):
    p = pipeline("twilio")
    community = str(uuid.uuid4())
    butler, lead = directory.user("butler", community), directory.user("senior_butler", community)
    task = {
        "task_id": str(uuid.uuid4()),
        "community_id": community,
        "assignee_id": butler["user_id"],
        "assigner_id": lead["user_id"],
        "due_at": "2026-11-27T02:00:00+00:00",
    }
    soon, late = make_event("task.due_soon", task), make_event("task.overdue", task)
    p.handle(soon)
    p.dispatch()
    bodies = {m["phone"]: m["body"] for m in fake_sms.of("twilio")}
    assert set(bodies) == {butler["phone"]} and "2026-11-27 10:00到期" in bodies[butler["phone"]]
    p.handle(late)
    p.dispatch()
    bodies = {m["phone"]: m["body"] for m in fake_sms.of("twilio")}
    assert "逾期" in bodies[lead["phone"]] and "2026-11-27 10:00" in bodies[lead["phone"]]
    assert [d.recipient_id for d in rows(p, late["id"])] == [lead["user_id"]]


def test_someone_without_a_contact_is_skipped_and_a_directory_outage_retries(
    pipeline, directory, fake_sms, make_event, clock
):
    p = pipeline("aliyun")
    ghost = {"resident_id": str(uuid.uuid4()), "unit_id": str(uuid.uuid4()), "community_id": str(uuid.uuid4())}
    event = overdue(make_event, ghost)
    p.handle(event)
    p.dispatch()
    [delivery] = rows(p, event["id"])
    assert delivery.status == "skipped" and delivery.reason == "no contact"

    resident = directory.resident()
    real = p.upstreams["residents"]

    class Down:
        def request(self, *a, **k):
            from guanjia.errors import UpstreamUnavailable

            raise UpstreamUnavailable("residents is unreachable", status=502)

    p.upstreams["residents"] = Down()
    try:
        event = overdue(make_event, resident)
        p.handle(event)
        p.dispatch()
        [delivery] = rows(p, event["id"])
        assert delivery.status == "pending" and delivery.error_code == "directory_unavailable"
    finally:
        p.upstreams["residents"] = real
    clock.advance(minutes=1)
    p.dispatch()
    assert [d.status for d in rows(p, event["id"])] == ["sent"]


def test_an_unknown_unit_is_retried_not_dropped(pipeline, make_event):
    from guanjia.bus import RetryLater

    p = pipeline("aliyun")
    event = make_event(
        "renovation.violation",
        {
            "violation_id": str(uuid.uuid4()),
            "renovation_id": str(uuid.uuid4()),
            "unit_id": str(uuid.uuid4()),
            "community_id": str(uuid.uuid4()),
            "applicant_id": str(uuid.uuid4()),
            "category": "noise",
            "severity": "minor",
            "rectify_by": "2026-11-28T10:00:00+00:00",
            "referred_to_authorities": False,
            "occurred_at": "2026-11-26T01:00:00+00:00",
        },
    )
    with pytest.raises(RetryLater):
        p.handle(event)
    assert rows(p, event["id"]) == []


def test_a_send_lost_with_its_worker_is_resent_once_and_marked(pipeline, directory, fake_sms, make_event, clock):
    """The documented outcome of a worker killed between the provider's answer and our commit: after the lease
    the message is sent again (at most one duplicate), and the delivery says so."""
    p = pipeline("aliyun", send_lease_seconds=120)
    resident = directory.resident()
    event = overdue(make_event, resident)
    p.handle(event)
    # What a killed worker leaves behind: claimed ('sending'), the provider already has it, nothing recorded.
    with p.database.transaction() as s:
        s.execute(
            update(Delivery)
            .where(Delivery.event_id == event["id"])
            .values(status="sending", claimed_at=clock(), attempts=1)
        )
    fake_sms.accept("aliyun", resident["phone"], template="(first attempt)")

    assert p.dispatch() == 0  # within the lease nobody touches it
    clock.advance(seconds=121)
    assert p.dispatch() == 1
    [delivery] = rows(p, event["id"])
    assert delivery.status == "sent" and delivery.duplicate_risk and delivery.attempts == 2
    assert "may arrive twice" in delivery.reason
    assert len(fake_sms.of("aliyun", resident["phone"])) == 2  # one duplicate, recorded

    # Lost a second time: failed, never a third message.
    with p.database.transaction() as s:
        s.execute(update(Delivery).where(Delivery.id == delivery.id).values(status="sending", claimed_at=clock()))
    clock.advance(seconds=121)
    p.dispatch()
    [delivery] = rows(p, event["id"])
    assert delivery.status == "failed" and delivery.error_code == "outcome_unknown"
    assert len(fake_sms.of("aliyun", resident["phone"])) == 2


def test_the_caps_count_what_providers_accepted_and_a_claim_that_sent_nothing_stops_counting(
    pipeline, directory, fake_sms, make_event, clock
):
    """The caps are counters raised by the claim and lowered when it ends without an accepted message."""
    from notifications.domain import caps, quiet_hours
    from notifications.models import SmsCounter

    p = pipeline("aliyun", recipient_per_minute=1, recipient_per_day=2)
    resident = directory.resident()
    real = p.upstreams["residents"]

    class Down:
        def request(self, *a, **k):
            from guanjia.errors import UpstreamUnavailable

            raise UpstreamUnavailable("residents is unreachable", status=502)

    first, second, third = (overdue(make_event, resident) for _ in range(3))
    p.upstreams["residents"] = Down()
    try:
        p.handle(first)
        p.dispatch()
        assert [d.status for d in rows(p, first["id"])] == ["pending"]
    finally:
        p.upstreams["residents"] = real
    p.handle(second)
    p.dispatch()  # the same minute: the claim that sent nothing no longer counts against the per-minute cap
    assert [d.status for d in rows(p, second["id"])] == ["sent"]
    clock.advance(minutes=2)
    p.dispatch()
    assert [d.status for d in rows(p, first["id"])] == ["sent"]
    p.handle(third)
    p.dispatch()
    [capped] = rows(p, third["id"])
    assert capped.status == "failed" and capped.error_code == "recipient_daily_cap"
    day = quiet_hours.local_day_start(clock(), p.context.settings.timezone)
    with p.database.transaction() as s:
        counter = s.get(SmsCounter, (caps.RECIPIENT_DAY, resident["resident_id"], day))
        community = s.get(SmsCounter, (caps.COMMUNITY_DAY, resident["community_id"], day))
    assert counter.count == 2 and community.count == 2
    assert len(fake_sms.of("aliyun", resident["phone"])) == 2


def test_the_dispatcher_is_woken_by_the_commit_of_a_consumer_batch_not_by_a_released_savepoint(pipeline):
    """The consumer applies each event of a batch in its own savepoint: a dispatcher woken when one is released
    would find nothing committed and sleep past the batch's commit."""
    from notifications.domain import deliveries

    p = pipeline("aliyun")
    wakeup = deliveries.wakeup_for(p.database.engine.url.render_as_string(hide_password=False))
    wakeup.clear()
    with p.database.transaction() as session:
        with session.begin_nested():
            deliveries.wake_on_commit(session)
        assert not wakeup.is_set()
    assert wakeup.is_set()


@pytest.mark.parametrize("batch_call", [True, False], ids=["one-call", "older-residents"])
def test_a_batch_asks_residents_for_its_contacts_in_one_call(pipeline, directory, fake_sms, make_event, batch_call):
    """The dispatcher asks residents for the contacts of the batch it claimed in one call, still at send time; a
    residents without that call is asked one by one, with the same outcome. Someone it does not know is skipped."""
    p = pipeline("aliyun")
    directory.batch_contacts = batch_call
    people = [directory.resident() for _ in range(3)]
    ghost = {"resident_id": str(uuid.uuid4()), "unit_id": str(uuid.uuid4()), "community_id": str(uuid.uuid4())}
    reminders = [overdue(make_event, person) for person in [*people, ghost]]
    for event in reminders:
        p.handle(event)
    p.dispatch()
    assert [[d.status for d in rows(p, event["id"])] for event in reminders] == [["sent"]] * 3 + [["skipped"]]
    assert rows(p, reminders[-1]["id"])[0].reason == "no contact"
    assert len(fake_sms.of("aliyun")) == 3
    ids = {person["resident_id"] for person in [*people, ghost]}
    one_by_one = [path for path in directory.calls if path.endswith("/contact") and path.split("/")[-2] in ids]
    if batch_call:
        assert any(ids <= set(batch) for batch in directory.batched) and not one_by_one
    else:
        assert not directory.batched and len(one_by_one) == 4


def test_messages_to_one_resident_in_one_claim_ask_residents_once(pipeline, directory, fake_sms, make_event):
    """A claim of several messages to the same person (one resident filing tickets) is still a batch: one call for
    their contact, not one per message."""
    p = pipeline("aliyun")
    person = directory.resident()
    reminders = [overdue(make_event, person, stage) for stage in ("first", "second", "final")]
    for event in reminders:
        p.handle(event)
    p.dispatch()
    assert [[d.status for d in rows(p, event["id"])] for event in reminders] == [["sent"]] * 3
    assert len(fake_sms.of("aliyun", person["phone"])) == 3
    one_by_one = [path for path in directory.calls if path.endswith(f"/{person['resident_id']}/contact")]
    assert directory.batched == [[person["resident_id"]]] and not one_by_one


def test_an_outcome_whose_lease_was_taken_over_meanwhile_is_left_to_the_newer_attempt(
    pipeline, directory, fake_sms, make_event, clock, monkeypatch
):
    """A batch whose sends outlasted the lease: the row claimed again by another attempt keeps that attempt's
    state, and no notification.sent is written for the older one; the batch's other message is recorded sent."""
    from notifications.domain import dispatch as dispatching
    from notifications.models import outbox

    p = pipeline("aliyun")
    slow, quick = directory.resident(), directory.resident()
    late, prompt = overdue(make_event, slow), overdue(make_event, quick)
    p.handle(late)
    p.handle(prompt)
    prepare = dispatching._prepare
    later = clock() + timedelta(seconds=1)

    def prepare_and_lose_the_lease(context, item, overrides):
        ready = prepare(context, item, overrides)
        if item["event_id"] == late["id"]:  # another worker claimed it again while this one was sending
            with p.database.transaction() as s:
                s.execute(update(Delivery).where(Delivery.id == item["id"]).values(claimed_at=later))
        return ready

    monkeypatch.setattr(dispatching, "_prepare", prepare_and_lose_the_lease)
    assert p.dispatch() == 2
    [taken] = rows(p, late["id"])
    assert (taken.status, taken.sent_at, taken.provider_message_id) == ("sending", None, None)
    [recorded] = rows(p, prompt["id"])
    assert recorded.status == "sent" and recorded.provider_message_id and recorded.segments == 1
    assert recorded.recipient_masked and recorded.text and recorded.secret is None and recorded.reason is None
    with p.database.transaction() as s:
        payloads = s.execute(select(outbox.c.payload).where(outbox.c.event_type == "notification.sent")).scalars()
        delivery_ids = {json.loads(payload)["data"]["delivery_id"] for payload in payloads}
    assert recorded.id in delivery_ids and taken.id not in delivery_ids
