"""The overdue scan with a controlled clock: fee.overdue once per bill and stage, never for a paid bill, and once
even when several workers scan at the same moment."""

import threading
from datetime import UTC, date, datetime

import pytest

from billing.context import BillingContext
from billing.domain import overdue
from billing.events import FeeOverdue
from guanjia import events


@pytest.fixture
def billed(community, run):
    run(community, "2026-11")  # due 2026-11-16; reminders at +1, +15, +30 days by default
    return community


def scan(db, settings, today):
    with db.transaction() as session:
        return overdue.scan(session, settings, today, datetime.now(UTC))


def reminders(outbox_events, community):
    return sorted(
        (e["data"]["unit_id"], e["data"]["stage"], e["data"]["days_overdue"])
        for e in outbox_events("fee.overdue", community["id"])
    )


def test_each_stage_is_published_once_per_bill(db, billing_settings, billed, outbox_events):
    a, b = billed["units"]
    scan(db, billing_settings, date(2026, 11, 16))  # due today: not overdue
    assert reminders(outbox_events, billed) == []
    scan(db, billing_settings, date(2026, 11, 17))
    scan(db, billing_settings, date(2026, 11, 18))  # same stage again: nothing new
    assert reminders(outbox_events, billed) == sorted([(a, "first", 1), (b, "first", 1)])
    scan(db, billing_settings, date(2026, 12, 1))
    scan(db, billing_settings, date(2026, 12, 16))
    scan(db, billing_settings, date(2027, 1, 30))
    assert reminders(outbox_events, billed) == sorted(
        [(u, "first", 1) for u in (a, b)] + [(u, "second", 15) for u in (a, b)] + [(u, "final", 30) for u in (a, b)]
    )
    event = outbox_events("fee.overdue", billed["id"])[0]
    events.validate(event)  # a CloudEvent the relay can publish, its payload as documented
    assert (
        FeeOverdue().load(event["data"]) and event["community"] == billed["id"] and event["source"].endswith("/billing")
    )
    assert event["data"]["amount_due"] == "250.00" and event["data"]["due_date"] == "2026-11-16"
    assert event["data"]["period"] == "2026-11" and event["subject"] == f"bill/{event['data']['bill_id']}"


def test_a_paid_bill_gets_no_further_stage_and_a_late_scan_sends_only_the_stage_reached(
    client, db, billing_settings, billed, outbox_events
):
    a, b = billed["units"]
    scan(db, billing_settings, date(2026, 11, 17))
    paid = client.post(
        "/api/v1/payments",
        headers=billed["headers"],
        json={"unit_id": a, "amount": "250.00", "method": "cash"},
    )
    assert paid.status_code == 201
    scan(db, billing_settings, date(2027, 3, 1))  # the scan did not run for months: "final" only, no backlog
    assert reminders(outbox_events, billed) == sorted([(a, "first", 1), (b, "final", 105), (b, "first", 1)])


def test_the_policy_sets_the_days_and_partly_paid_bills_remind_what_is_left(
    client, db, billing_settings, billed, outbox_events
):
    response = client.patch(
        f"/api/v1/billing/policies/{billed['id']}",
        headers=billed["headers"],
        json={"reminder_first_days": 5, "reminder_second_days": 10, "reminder_final_days": 20},
    )
    assert response.status_code == 200
    client.post(
        "/api/v1/payments",
        headers=billed["headers"],
        json={"unit_id": billed["units"][0], "amount": "100.00", "method": "cash"},
    )
    scan(db, billing_settings, date(2026, 11, 20))
    assert reminders(outbox_events, billed) == []
    scan(db, billing_settings, date(2026, 11, 26))
    events = {e["data"]["unit_id"]: e["data"] for e in outbox_events("fee.overdue", billed["id"])}
    assert events[billed["units"][0]]["amount_due"] == "150.00" and events[billed["units"][0]]["stage"] == "second"
    bad = client.patch(
        f"/api/v1/billing/policies/{billed['id']}", headers=billed["headers"], json={"reminder_final_days": 3}
    )
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"


def test_concurrent_scans_publish_each_reminder_once(db, billing_settings, billed, outbox_events):
    barrier = threading.Barrier(4)
    counts, errors = [], []

    def worker():
        try:
            barrier.wait()
            counts.append(scan(db, billing_settings, date(2026, 11, 20)))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(outbox_events("fee.overdue", billed["id"])) == 2
    # Other sessions' bills may be scanned too; ours are exactly two reminders in total.


def test_the_scheduled_job_uses_the_contexts_clock_in_the_instance_timezone(
    db, billing_settings, billed, outbox_events
):
    # 16:30 UTC on 16 Nov is 00:30 on 17 Nov in Shanghai: one day overdue there.
    context = BillingContext(billing_settings, {}, clock=lambda: datetime(2026, 11, 16, 16, 30, tzinfo=UTC))
    overdue.scheduled_scan(context, db)
    assert {e["data"]["stage"] for e in outbox_events("fee.overdue", billed["id"])} == {"first"}


def test_the_scan_is_a_scheduled_job_of_the_worker():
    from billing.service import SPEC

    [(name, every, job)] = SPEC.periodic
    assert (name, job) == ("overdue-scan", overdue.scheduled_scan) and every > 0


def test_the_collection_list_names_each_units_last_reminder(client, db, billing_settings, billed):
    a, b = billed["units"]
    scan(db, billing_settings, date(2026, 11, 17))
    scan(db, billing_settings, date(2026, 12, 1))  # the newer, later stage is the one the list shows
    answer = client.get(
        "/api/v1/billing/collection-list",
        headers=billed["headers"],
        query_string={"community_id": billed["id"], "as_of": "2026-12-02"},
    )
    assert answer.status_code == 200
    found = {item["unit_id"]: item["last_reminder"] for item in answer.json["items"]}
    assert found[a] == found[b] == {"stage": "second", "noticed_on": "2026-12-01"}
