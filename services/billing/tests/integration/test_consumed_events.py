"""Events from residents and tickets, through the real RabbitMQ and the billing worker: payer, deposits, fines,
refunds, paid repairs; and billing's own events reaching the bus."""

import uuid
from datetime import UTC, datetime

import pytest

from billing.models import Bill, Deposit
from guanjia import events
from guanjia.testing import EventRecorder, running_worker, wait_until


@pytest.fixture(scope="module")
def worker(billing_settings):
    with running_worker("billing", billing_settings) as w:
        yield w


@pytest.fixture
def recorder(billing_settings):
    rec = EventRecorder(billing_settings, "#")
    yield rec
    rec.close()


def event(type_, source, community_id, subject, **data):
    return events.build(
        type=type_,
        source=f"/testcity/{source}",
        subject=subject,
        city="testcity",
        community=community_id,
        data={"community_id": community_id, **data},
    )


@pytest.fixture
def applied(db):
    """Wait until the billing consumer has handled these events (recorded in its inbox)."""
    from billing.models import inbox
    from guanjia import inbox as inboxmod

    def wait(*events_):
        def check():
            with db.transaction() as session:
                return all(inboxmod.seen(session, inbox, "billing", e["id"]) for e in events_)

        wait_until(check, message="events handled")

    return wait


def bill_for(db, unit_id, source_key):
    def check():
        with db.transaction() as session:
            return session.query(Bill).filter_by(unit_id=unit_id, source_key=source_key).one_or_none()

    return wait_until(check, message=f"bill {source_key}")


def test_bill_issued_and_payment_received_reach_the_bus(worker, recorder, client, community, run):
    run(community, "2026-11")
    issued = recorder.wait_for("bill.issued", lambda e: e["data"]["unit_id"] == community["units"][0])
    assert issued["data"]["amount"] == "250.00" and issued["community"] == community["id"]
    assert issued["source"].endswith("/billing") and issued["data"]["due_date"] == "2026-11-16"
    client.post(
        "/api/v1/payments",
        headers=community["headers"],
        json={"unit_id": community["units"][0], "amount": "250.00", "method": "alipay"},
    )
    received = recorder.wait_for("payment.received", lambda e: e["data"]["unit_id"] == community["units"][0])
    assert received["data"]["amount"] == "250.00" and received["data"]["method"] == "alipay"
    assert not any(key in received["data"] for key in ("name", "phone"))


def test_a_move_in_makes_the_resident_the_payer_of_the_next_run(worker, publish, applied, community, run, bills_of):
    resident = str(uuid.uuid4())
    unit = community["units"][0]
    moved = event(
        "resident.moved_in",
        "residents",
        community["id"],
        f"resident/{resident}",
        resident_id=resident,
        unit_id=unit,
        moved_in_at="2026-10-01T02:00:00Z",
    )
    publish(moved)
    applied(moved)
    run(community, "2026-11")
    payers = {b["unit_id"]: b["payer_id"] for b in bills_of(community)}
    assert payers == {unit: resident, community["units"][1]: None}


def test_a_renovation_deposit_is_refunded_less_unpaid_fines(worker, publish, recorder, db, client, community):
    cid, unit = community["id"], community["units"][0]
    response = client.patch(
        f"/api/v1/billing/policies/{cid}",
        headers=community["headers"],
        json={"renovation_deposit": "2000.00", "fine_serious": "500.00"},
    )
    assert response.status_code == 200, response.json
    renovation, applicant = str(uuid.uuid4()), str(uuid.uuid4())
    common = {"renovation_id": renovation, "unit_id": unit, "applicant_id": applicant}
    publish(
        event(
            "renovation.approved",
            "residents",
            cid,
            f"renovation/{renovation}",
            structural=False,
            planned_start="2026-11-01",
            planned_end="2026-12-01",
            approved_at="2026-10-28T02:00:00Z",
            **common,
        )
    )
    deposit_bill = bill_for(db, unit, f"renovation:{renovation}:deposit")
    assert (deposit_bill.kind, deposit_bill.amount_fen, deposit_bill.payer_id) == ("deposit", 200000, applicant)
    paid = client.post(
        "/api/v1/payments",
        headers=community["headers"],
        json={"unit_id": unit, "amount": "2000.00", "method": "bank_transfer", "bill_ids": [deposit_bill.id]},
    )
    assert paid.status_code == 201, paid.json
    violation = str(uuid.uuid4())
    publish(
        event(
            "renovation.violation",
            "residents",
            cid,
            f"violation/{violation}",
            violation_id=violation,
            category="debris",
            severity="serious",
            rectify_by="2026-11-20T02:00:00Z",
            referred_to_authorities=False,
            occurred_at="2026-11-15T02:00:00Z",
            **common,
        )
    )
    fine = bill_for(db, unit, f"violation:{violation}")
    assert (fine.kind, fine.amount_fen) == ("fine", 50000)
    publish(
        event(
            "renovation.completed",
            "residents",
            cid,
            f"renovation/{renovation}",
            completed_at="2026-12-01T02:00:00Z",
            passed=True,
            **common,
        )
    )
    refunded = recorder.wait_for("deposit.refunded", lambda e: e["data"]["renovation_id"] == renovation)
    assert (refunded["data"]["amount"], refunded["data"]["fines_deducted"]) == ("1500.00", "500.00")
    bills = client.get(
        "/api/v1/billing/bills", headers=community["headers"], query_string={"unit_id": unit, "kind": "fine"}
    ).json["items"]
    assert [(b["status"], b["paid"]) for b in bills] == [("settled", "500.00")]
    # Deposit charged and paid, released, fine paid from it, the rest refunded: the unit owes nothing.
    account = client.get(f"/api/v1/billing/units/{unit}/account", headers=community["headers"]).json
    assert (account["balance"], account["outstanding"], account["prepaid"]) == ("0.00", "0.00", "0.00")
    with db.transaction() as session:
        deposit = session.query(Deposit).filter_by(renovation_id=renovation).one()
        assert (deposit.status, deposit.refunded_fen, deposit.fines_deducted_fen) == ("refunded", 150000, 50000)


def test_a_minor_violation_without_a_policy_fine_bills_nothing(worker, publish, applied, db, community):
    violation = str(uuid.uuid4())
    message = event(
        "renovation.violation",
        "residents",
        community["id"],
        f"violation/{violation}",
        violation_id=violation,
        renovation_id=str(uuid.uuid4()),
        unit_id=community["units"][0],
        applicant_id=None,
        category="noise",
        severity="minor",
        rectify_by="2026-11-20T02:00:00Z",
        referred_to_authorities=False,
        occurred_at="2026-11-15T02:00:00Z",
    )
    publish(message)
    applied(message)
    with db.transaction() as session:
        assert session.query(Bill).filter_by(source_key=f"violation:{violation}").count() == 0


def test_a_paid_repair_with_an_accepted_charge_becomes_a_bill_once(worker, publish, applied, db, community, recorder):
    ticket = str(uuid.uuid4())
    reporter = str(uuid.uuid4())
    resolved = event(
        "ticket.resolved",
        "tickets",
        community["id"],
        f"ticket/{ticket}",
        ticket_id=ticket,
        number="T00000042",
        unit_id=community["units"][0],
        reporter_id=reporter,
        resolved_at=datetime(2026, 11, 5, 3, tzinfo=UTC).isoformat(),
        paid=True,
        charge="80.00",
        charge_accepted=True,
    )
    # The same fact published twice under two event ids (a producer retry): one bill.
    publish(resolved, {**resolved, "id": str(uuid.uuid4())})
    bill = bill_for(db, community["units"][0], f"ticket:{ticket}")
    assert (bill.kind, bill.amount_fen, bill.payer_id, bill.period) == ("repair", 8000, reporter, "2026-11")
    issued = recorder.wait_for("bill.issued", lambda e: e["data"]["bill_id"] == bill.id)
    assert issued["data"]["amount"] == "80.00"
    free = {**resolved, "id": str(uuid.uuid4()), "data": {**resolved["data"], "ticket_id": str(uuid.uuid4())}}
    free["data"].update(paid=False, charge=None, charge_accepted=False)
    refused = {**resolved, "id": str(uuid.uuid4()), "data": {**resolved["data"], "ticket_id": str(uuid.uuid4())}}
    refused["data"].update(charge_accepted=False)
    publish(free, refused)
    applied(free, refused)
    with db.transaction() as session:
        keys = {f"ticket:{free['data']['ticket_id']}", f"ticket:{refused['data']['ticket_id']}"}
        assert session.query(Bill).filter(Bill.source_key.in_(keys)).count() == 0


def test_a_completed_service_order_is_billed_under_the_items_name_once(worker, publish, applied, db, community):
    order = str(uuid.uuid4())
    completed = event(
        "service_order.completed",
        "community",
        community["id"],
        f"service_order/{order}",
        order_id=order,
        unit_id=community["units"][0],
        item_id=str(uuid.uuid4()),
        item_name="家政保洁（2小时）",
        quantity=1,
        amount="120.00",
        completed_at=datetime(2026, 11, 6, 3, tzinfo=UTC).isoformat(),
    )
    publish(completed, {**completed, "id": str(uuid.uuid4())})  # a producer retry under another id: one bill
    bill = bill_for(db, community["units"][0], f"service_order:{order}")
    assert (bill.kind, bill.amount_fen, bill.description, bill.period) == (
        "one_off",
        12000,
        "家政保洁（2小时）",
        "2026-11",
    )
    free = {**completed, "id": str(uuid.uuid4()), "data": {**completed["data"], "order_id": str(uuid.uuid4())}}
    free["data"]["amount"] = "0.00"
    publish(free)
    applied(free)
    with db.transaction() as session:
        assert session.query(Bill).filter_by(source_key=f"service_order:{free['data']['order_id']}").count() == 0
        assert session.query(Bill).filter_by(source_key=f"service_order:{order}").count() == 1


def test_unit_updated_with_zone_type_and_areas_is_projected(worker, publish, db, unit_event, client, finance):
    from billing.models import BillingUnit

    unit_id, cid = str(uuid.uuid4()), str(uuid.uuid4())
    publish(unit_event(unit_id, cid, zone_id="zone-9", unit_type="shop", gross_area_m2="120.00", inner_area_m2=None))

    def projected():
        with db.transaction() as session:
            return session.get(BillingUnit, unit_id)

    wait_until(projected)
    body = client.get(f"/api/v1/billing/units/{unit_id}", headers=finance(cid)).json
    assert (body["zone_id"], body["unit_type"], body["gross_area_m2"], body["inner_area_m2"]) == (
        "zone-9",
        "shop",
        "120.00",
        None,
    )
