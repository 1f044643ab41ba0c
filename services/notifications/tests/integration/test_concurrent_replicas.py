"""Two worker replicas on one database: the same event applied by both plans one delivery (the unique row
serialises them), and two dispatchers running at once send each message once (SKIP LOCKED)."""

import threading
import uuid

from sqlalchemy import func, select

from notifications.models import Delivery


def test_two_replicas_same_event_one_delivery_row(pipeline, directory, make_event):
    first, second = pipeline("aliyun"), pipeline("aliyun")
    resident = directory.resident()
    event = make_event(
        "resident.moved_in",
        {
            "resident_id": resident["resident_id"],
            "unit_id": resident["unit_id"],
            "community_id": resident["community_id"],
            "moved_in_at": "2026-11-26T01:00:00+00:00",
        },
    )
    outcomes, barrier = [], threading.Barrier(2)

    def run(replica):
        barrier.wait()
        outcomes.append(replica.handle(event))

    threads = [threading.Thread(target=run, args=(r,)) for r in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert sorted(outcomes) == ["applied", "duplicate"]
    with first.database.transaction() as s:
        count = s.execute(select(func.count()).where(Delivery.event_id == event["id"])).scalar_one()
    assert count == 1


def test_two_dispatchers_at_once_send_each_message_once(pipeline, directory, fake_sms, make_event):
    first, second = pipeline("aliyun"), pipeline("aliyun")
    residents = [directory.resident() for _ in range(40)]
    for resident in residents:
        first.handle(
            make_event(
                "fee.overdue",
                {
                    "bill_id": str(uuid.uuid4()),
                    "unit_id": resident["unit_id"],
                    "community_id": resident["community_id"],
                    "period": "2026-11",
                    "amount_due": "10.00",
                    "due_date": "2026-11-15",
                    "stage": "first",
                    "days_overdue": 5,
                    "payer_id": resident["resident_id"],
                },
            )
        )
    barrier = threading.Barrier(2)

    def run(replica):
        barrier.wait()
        replica.dispatch()

    threads = [threading.Thread(target=run, args=(r,)) for r in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    phones = [m["phone"] for m in fake_sms.of("aliyun")]
    assert sorted(phones) == sorted(r["phone"] for r in residents)  # all sent, none twice
