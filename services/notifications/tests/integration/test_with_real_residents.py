"""The pipeline against the real residents service's internal endpoints (unit owners, community audience,
contact at send time), as the contract describes them."""

import uuid

from guanjia.testing import auth_header


def test_fee_overdue_and_a_notice_reach_the_owner_through_the_real_residents_service(
    pipeline, residents_upstream, resident, fake_sms, make_event
):
    p = pipeline("twilio")
    p.upstreams["residents"] = residents_upstream  # the real residents app instead of the stand-in
    event = make_event(
        "fee.overdue",
        {
            "bill_id": str(uuid.uuid4()),
            "unit_id": resident["unit_id"],
            "community_id": resident["community_id"],
            "period": "2026-11",
            "amount_due": "256.00",
            "due_date": "2026-11-15",
            "stage": "second",
            "days_overdue": 30,
            "payer_id": None,  # nobody named: the unit's owners
        },
    )
    assert p.handle(event) == "applied"
    p.dispatch()
    [message] = fake_sms.of("twilio")
    assert message["phone"] == resident["phone"] and "缴费提醒" in message["body"] and "256.00" in message["body"]

    app = p.app()
    manager = auth_header(app.extensions["guanjia.settings"], "cs_manager", communities=[resident["community_id"]])
    created = app.test_client().post(
        "/api/v1/notifications/notices",
        json={
            "community_id": resident["community_id"],
            "scope": "community",
            "title": "电梯维保",
            "body": "周六上午暂停使用",
        },
        headers=manager,
    )
    assert created.status_code == 201, created.json
    assert created.json["recipients"] == 1
    p.dispatch()
    assert [m["phone"] for m in fake_sms.of("twilio")] == [resident["phone"]] * 2
    assert fake_sms.of("twilio")[1]["body"] == "【幸福物业】电梯维保：周六上午暂停使用"


def test_a_resident_of_another_community_never_hears_on_its_behalf(
    pipeline, residents_upstream, resident, fake_sms, make_event
):
    """A fee.overdue of community B naming a resident of A as the payer: A's resident gets no SMS of B."""
    p = pipeline("twilio")
    p.upstreams["residents"] = residents_upstream
    other_community = str(uuid.uuid4())
    event = make_event(
        "fee.overdue",
        {
            "bill_id": str(uuid.uuid4()),
            "unit_id": str(uuid.uuid4()),
            "community_id": other_community,
            "period": "2026-11",
            "amount_due": "99.00",
            "due_date": "2026-11-15",
            "stage": "first",
            "days_overdue": 10,
            "payer_id": resident["resident_id"],
        },
    )
    assert p.handle(event) == "applied"
    p.dispatch()
    assert fake_sms.of("twilio") == []
    app = p.app()
    admin = auth_header(app.extensions["guanjia.settings"], "admin")
    # Filtered by the community: the shared pipeline database holds many other tests' rows of the same time.
    query = {"page_size": 100, "community_id": other_community}
    log = app.test_client().get("/api/v1/notifications", headers=admin, query_string=query).json
    mine = [d for d in log["items"] if d.get("community_id") == other_community]
    assert [(d["status"], d["reason"]) for d in mine] == [("skipped", "recipient outside the community")]
