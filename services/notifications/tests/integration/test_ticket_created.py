"""ticket.created → one SMS to the reporter, on real PostgreSQL and RabbitMQ with the real residents service."""

import json
import logging
import time
import uuid

import pika
import pytest
from sqlalchemy import func, select

from guanjia import bus
from guanjia.db import Database
from guanjia.errors import UpstreamUnavailable
from guanjia.testing import EventRecorder, auth_header, wait_until
from notifications import config
from notifications.models import outbox


@pytest.fixture(scope="module")
def notifications_settings(infra):
    """This module runs the worker: a database and queues of its own, so that the deliveries and events the session's
    other modules leave behind (nobody consumes them there) are not a backlog in front of this module's events."""
    return infra.settings("notifications", database="notifications_worker", queue_prefix=f"{infra.prefix}.worker.")


@pytest.fixture(scope="module")
def notifications_app(notifications_settings):
    from notifications.app import create_app

    return create_app(notifications_settings, upstreams={})


@pytest.fixture(scope="module")
def upstreams(residents_upstream):
    # One dict shared with the worker's residents client: a test may put a flaky upstream in front of it.
    return {"residents": residents_upstream}


@pytest.fixture(scope="module")
def worker(notifications_settings, upstreams):
    import dataclasses
    from functools import partial

    from guanjia.runtime import Worker, declare_queues
    from notifications.config import SmsSettings
    from notifications.context import make_context
    from notifications.service import SPEC

    # The console provider, with a short back-off so a retry after an outage happens within the test.
    spec = dataclasses.replace(SPEC, make_context=partial(make_context, sms=SmsSettings(retry_base_seconds=0.2)))
    declare_queues(spec, notifications_settings)
    w = Worker(spec, notifications_settings, upstreams).start()
    yield w
    w.stop()


@pytest.fixture(scope="module")
def db(notifications_settings):
    database = Database(notifications_settings.database_url)
    yield database
    database.dispose()


@pytest.fixture
def admin(notifications_settings):
    return auth_header(notifications_settings, "admin")


@pytest.fixture(autouse=True)
def _info_logs(caplog):
    caplog.set_level(logging.INFO)


def deliveries(client, admin, **filters):
    response = client.get("/api/v1/notifications", headers=admin, query_string=filters)
    assert response.status_code == 200, response.json
    return response.json["items"]


def delivered(client, admin, event_id, status="sent"):
    return wait_until(
        lambda: [d for d in deliveries(client, admin, event_id=event_id) if d["status"] == status],
        message=f"a {status} delivery for {event_id}",
    )


def sms_lines(caplog, number):
    return [r for r in caplog.records if r.name == "notifications.sms" and number in r.getMessage()]


def handled(caplog, event_id):
    return [r.outcome for r in caplog.records if r.getMessage() == "event handled" and r.event_id == event_id]


def notification_sent_rows(db, event_id):
    with db.transaction() as s:
        return s.execute(
            select(func.count())
            .select_from(outbox)
            .where(outbox.c.event_type == "notification.sent", outbox.c.payload.contains(event_id))
        ).scalar_one()


def test_ticket_created_sends_one_sms_and_publishes_notification_sent(
    ticket_created, publish, worker, client, admin, resident, caplog, notifications_settings
):
    event = ticket_created(resident["resident_id"], resident["community_id"], category="repair")
    recorder = EventRecorder(notifications_settings, "notification.*")
    try:
        publish(event)
        sent = recorder.wait_for("notification.sent", lambda e: e["data"]["event_id"] == event["id"])
    finally:
        recorder.close()

    [delivery] = delivered(client, admin, event["id"])
    number = event["data"]["number"]
    assert (
        delivery["text"]
        == f"【{config.from_env(notifications_settings).signature}】您的报修已受理，工单号{number}，我们将尽快处理。"
    )
    masked = f"{resident['phone'][3:6]}****{resident['phone'][-4:]}"
    assert delivery["recipient"] == masked
    assert delivery["recipient_id"] == resident["resident_id"]
    assert delivery["channel"] == "sms" and delivery["sent_at"] and delivery["subject"] == event["subject"]

    assert sent["data"] == {
        "delivery_id": delivery["id"],
        "event_id": event["id"],
        "event_type": "ticket.created",
        "subject": event["subject"],
        "channel": "sms",
        "status": "sent",
        "recipient_id": resident["resident_id"],
    }
    assert sent["subject"] == f"notification/{delivery['id']}"
    assert sent["community"] == resident["community_id"]
    assert len(sms_lines(caplog, number)) == 1
    # The number reached the provider, and nothing else: not the bus, not the API, not the logs.
    raw = resident["phone"][3:]
    assert raw not in json.dumps(sent) and raw not in json.dumps(delivery) and raw not in caplog.text


def test_the_same_event_delivered_twice_sends_one_sms(
    ticket_created, publish, worker, client, admin, resident, caplog, notifications_settings, db
):
    event = ticket_created(resident["resident_id"], resident["community_id"], category="complaint")
    publish(event, event)

    wait_until(lambda: len(handled(caplog, event["id"])) == 2, message="both copies handled")
    assert sorted(handled(caplog, event["id"])) == ["applied", "duplicate"]
    assert len(delivered(client, admin, event["id"])) == 1  # the dispatcher sends after the consumer commits
    assert len(deliveries(client, admin, event_id=event["id"])) == 1
    assert len(sms_lines(caplog, event["data"]["number"])) == 1
    assert notification_sent_rows(db, event["id"]) == 1


def test_a_reporter_without_contact_is_skipped_without_sms(
    ticket_created, publish, worker, client, admin, caplog, notifications_settings, db
):
    event = ticket_created(str(uuid.uuid4()), str(uuid.uuid4()))
    publish(event)

    [delivery] = delivered(client, admin, event["id"], status="skipped")
    assert delivery["reason"] == "no contact" and delivery["recipient"] is None and delivery["sent_at"] is None
    assert sms_lines(caplog, event["data"]["number"]) == []
    assert notification_sent_rows(db, event["id"]) == 0


def _dead_letters(settings, wanted_ids, timeout=10.0):
    """Read `<prefix>notifications.events.dead` until every wanted message id was seen."""
    found = {}
    conn = pika.BlockingConnection(pika.URLParameters(settings.amqp_url))
    try:
        channel = conn.channel()
        deadline = time.monotonic() + timeout
        while set(wanted_ids) - set(found) and time.monotonic() < deadline:
            method, properties, body = channel.basic_get(settings.queue_name("events.dead"), auto_ack=True)
            if method is None:
                conn.sleep(0.05)
                continue
            found[properties.message_id] = (properties, body)
    finally:
        conn.close()
    return found


def test_poison_messages_are_dead_lettered_and_later_events_still_handled(
    ticket_created, publish, worker, client, admin, resident, notifications_settings, caplog
):
    garbage_id = str(uuid.uuid4())
    publisher = bus.Publisher(notifications_settings.with_service("tickets"))
    try:
        publisher.publish_raw(
            b"{not a cloudevent",
            {"content_type": "application/cloudevents+json", "message_id": garbage_id, "type": "ticket.created"},
            routing_key="ticket.created",
        )
    finally:
        publisher.close()
    incomplete = ticket_created(resident["resident_id"], resident["community_id"], reporter_id=None)
    valid = ticket_created(resident["resident_id"], resident["community_id"], category="inquiry")
    publish(incomplete, valid)

    dead = _dead_letters(notifications_settings, [garbage_id, incomplete["id"]])
    assert set(dead) >= {garbage_id, incomplete["id"]}
    assert dead[garbage_id][1] == b"{not a cloudevent"
    assert "reporter_id" in dead[incomplete["id"]][0].headers[bus.ERROR_HEADER]
    [delivery] = delivered(client, admin, valid["id"])
    assert "您的咨询已受理" in delivery["text"]
    assert deliveries(client, admin, event_id=incomplete["id"]) == []


class FlakyResidents:
    """The network to residents failing `failures` times for one resident's contact, then the real app answering.

    Only that resident's lookups are counted and failed: a delivery left over from an earlier test in the
    module may still be asking residents for its own contact while this test runs.
    """

    def __init__(self, real, failures: int, resident_id: str):
        self.real = real
        self.failures = failures
        self.resident_id = resident_id
        self.calls = 0

    def request(self, method, path, **kwargs):
        if self.resident_id in path:
            self.calls += 1
            if self.calls <= self.failures:
                raise UpstreamUnavailable("residents is unreachable", status=502, title="Bad Gateway")
        return self.real.request(method, path, **kwargs)


def test_residents_unreachable_is_retried_then_delivered_once(
    ticket_created, publish, worker, upstreams, client, admin, resident, caplog, notifications_settings, db
):
    real = upstreams["residents"]
    # The contact is asked for at send time: the delivery waits (back-off) until residents answers again.
    flaky = FlakyResidents(real, failures=2, resident_id=resident["resident_id"])
    upstreams["residents"] = flaky
    try:
        event = ticket_created(resident["resident_id"], resident["community_id"], category="suggestion")
        publish(event)
        [delivery] = delivered(client, admin, event["id"])
    finally:
        upstreams["residents"] = real
    assert flaky.calls == flaky.failures + 1
    assert "您的建议已受理" in delivery["text"]
    assert len(sms_lines(caplog, event["data"]["number"])) == 1
    assert notification_sent_rows(db, event["id"]) == 1
    assert delivery["attempts"] == 3 and delivery["error_code"] is None
