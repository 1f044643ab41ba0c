"""Payments on real PostgreSQL: allocation, prepaid, receipts without gaps, reversals, idempotency, the provider
callback, and bad input that writes nothing."""

import base64
import hashlib
import io
import json
import threading
import uuid

import pypdf
import pytest
from sqlalchemy import func, select

from billing import config as billing_config
from billing.callbacks import sign
from billing.models import Payment
from guanjia.testing import auth_header


@pytest.fixture
def billed(community, run):
    """A community whose two units each owe 250.00 for Oct and 250.00 for Nov 2026."""
    run(community, "2026-10")
    run(community, "2026-11")
    return community


def pay(client, community, headers=None, key=None, **body):
    headers = dict(headers or community["headers"])
    if key:
        headers["Idempotency-Key"] = key
    return client.post(
        "/api/v1/payments",
        headers=headers,
        json={"unit_id": community["units"][0], "method": "cash", **body},
    )


def pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def unit_bills(client, community, unit_id):
    response = client.get(
        "/api/v1/billing/bills", headers=community["headers"], query_string={"unit_id": unit_id, "page_size": 100}
    )
    return {b["period"]: b for b in response.json["items"]}


def account(client, community, unit_id):
    return client.get(f"/api/v1/billing/units/{unit_id}/account", headers=community["headers"]).json


def test_a_partial_payment_goes_to_the_oldest_bill_first(client, billed, outbox_events):
    response = pay(client, billed, amount="300.00", method="wechat")
    assert response.status_code == 201, response.json
    payment = response.json
    assert (payment["amount"], payment["receipt_number"], payment["status"]) == ("300.00", "R00000001", "received")
    bills = unit_bills(client, billed, billed["units"][0])
    assert (bills["2026-10"]["outstanding"], bills["2026-10"]["status"]) == ("0.00", "settled")
    assert (bills["2026-11"]["paid"], bills["2026-11"]["outstanding"]) == ("50.00", "200.00")
    assert account(client, billed, billed["units"][0]) == {
        "unit_id": billed["units"][0],
        "balance": "200.00",
        "outstanding": "200.00",
        "prepaid": "0.00",
    }
    [event] = [e for e in outbox_events("payment.received", billed["id"]) if e["data"]["payment_id"] == payment["id"]]
    assert event["data"]["amount"] == "300.00" and event["data"]["receipt_number"] == "R00000001"
    assert event["data"]["method"] == "wechat" and event["subject"] == f"payment/{payment['id']}"


def test_named_bills_are_paid_in_the_order_named(client, billed):
    bills = unit_bills(client, billed, billed["units"][0])
    response = pay(client, billed, amount="250.00", bill_ids=[bills["2026-11"]["id"]])
    assert response.status_code == 201, response.json
    after = unit_bills(client, billed, billed["units"][0])
    assert (after["2026-10"]["outstanding"], after["2026-11"]["outstanding"]) == ("250.00", "0.00")


def test_an_over_payment_needs_prepaid_intent_and_the_prepaid_pays_later_bills(client, billed, run):
    refused = pay(client, billed, amount="600.00")
    assert refused.status_code == 422 and "amount" in refused.json["errors"]
    assert account(client, billed, billed["units"][0])["outstanding"] == "500.00"  # nothing written

    response = pay(client, billed, amount="600.00", prepaid=True)
    assert response.status_code == 201, response.json
    assert response.json["receipt_number"] == "R00000001"  # the refused request used no number
    assert account(client, billed, billed["units"][0])["prepaid"] == "100.00"
    run(billed, "2026-12")  # the December bill takes the prepaid 100.00
    december = unit_bills(client, billed, billed["units"][0])["2026-12"]
    assert (december["paid"], december["outstanding"]) == ("100.00", "150.00")
    assert account(client, billed, billed["units"][0]) == {
        "unit_id": billed["units"][0],
        "balance": "150.00",
        "outstanding": "150.00",
        "prepaid": "0.00",
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": 100.505}, "amount"),  # a JSON number with three places
        ({"amount": float("inf")}, "amount"),
        ({"amount": 1e300}, "amount"),
        ({"amount": "100.505"}, "amount"),
        ({"amount": "-10.00"}, "amount"),
        ({"amount": "0.00"}, "amount"),
        ({"amount": "1e3"}, "amount"),
        ({"method": "bitcoin"}, "method"),
        ({"bill_ids": []}, "bill_ids"),
    ],
)
def test_bad_payment_input_is_problem_json_and_writes_nothing(client, billed, db, body, field):
    response = pay(client, billed, **{"amount": "10.00", **body})
    if body.get("amount") == float("inf"):
        # `Infinity` is not JSON at all: the strict JSON reader refuses the body (400) before any field is read.
        assert response.status_code == 400 and response.mimetype == "application/problem+json"
    else:
        assert response.status_code == 422 and response.mimetype == "application/problem+json"
        assert field in response.json["errors"]
    with db.transaction() as session:
        count = session.execute(select(func.count()).where(Payment.community_id == billed["id"])).scalar_one()
    assert count == 0


def test_a_payment_to_another_communitys_bill_is_refused(client, billed, finance, add_units, run, billing_settings):
    other_id = str(uuid.uuid4())
    other = {"id": other_id, "headers": finance(other_id), "units": add_units(other_id)}
    client.post(
        "/api/v1/billing/fee-items",
        headers=other["headers"],
        json={
            "community_id": other_id,
            "name": "物业服务费",
            "kind": "property_service",
            "basis": "per_m2",
            "rate": "1.00",
            "effective_from": "2026-01-01",
        },
    )
    run(other, "2026-10")
    foreign_bill = unit_bills(client, other, other["units"][0])["2026-10"]["id"]
    # Paying our unit while naming their bill: refused like a missing bill, nothing about it revealed.
    response = pay(client, billed, amount="100.00", bill_ids=[foreign_bill])
    assert response.status_code == 422 and "bill_ids" in response.json["errors"]
    # Another unit's bill in the same community is refused the same way.
    neighbours = unit_bills(client, billed, billed["units"][1])["2026-10"]["id"]
    assert "bill_ids" in pay(client, billed, amount="250.00", bill_ids=[neighbours]).json["errors"]
    # A finance officer of the other community cannot pay into our unit.
    response = pay(client, billed, headers=other["headers"], amount="250.00")
    assert response.status_code == 422 and "unit_id" in response.json["errors"]
    assert account(client, billed, billed["units"][0])["outstanding"] == "500.00"
    assert account(client, other, other["units"][0])["outstanding"] == "100.00"


def test_idempotency_key_replays_the_first_response_and_refuses_another_body(client, billed):
    key = str(uuid.uuid4())
    first = pay(client, billed, key=key, amount="100.00")
    again = pay(client, billed, key=key, amount="100.00")
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    other = pay(client, billed, key=key, amount="120.00")
    assert other.status_code == 422 and "Idempotency-Key" in other.json["errors"]
    assert account(client, billed, billed["units"][0])["outstanding"] == "400.00"  # charged once


def test_receipts_are_numbered_without_gaps_per_community_under_concurrency(client, billed, community):
    results, errors = [], []

    def one():
        try:
            response = billed["app_client"].post(
                "/api/v1/payments",
                headers=billed["headers"],
                json={"unit_id": billed["units"][1], "method": "cash", "amount": "1.00"},
            )
            results.append(response.json["receipt_number"]) if response.status_code == 201 else errors.append(
                response.json
            )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(repr(exc))

    billed["app_client"] = client.application.test_client()
    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results) == [f"R{n:08d}" for n in range(1, 9)]


def test_a_reversal_reopens_the_bills_and_is_an_entry_not_a_deletion(client, billed, outbox_events):
    payment = pay(client, billed, amount="300.00").json
    response = client.post(
        f"/api/v1/payments/{payment['id']}/reversal",
        headers=billed["headers"],
        json={"reason_code": "bounced"},
    )
    assert response.status_code == 201, response.json
    assert (response.json["status"], response.json["reversal_reason"]) == ("reversed", "bounced")
    assert account(client, billed, billed["units"][0])["outstanding"] == "500.00"
    ledger = client.get(f"/api/v1/billing/units/{billed['units'][0]}/ledger", headers=billed["headers"]).json
    assert sorted((e["kind"], e["amount"]) for e in ledger["items"]) == [
        ("charge", "250.00"),
        ("charge", "250.00"),
        ("payment", "-300.00"),
        ("reversal", "300.00"),
    ]
    again = client.post(
        f"/api/v1/payments/{payment['id']}/reversal", headers=billed["headers"], json={"reason_code": "other"}
    )
    assert again.status_code == 409
    [event] = [e for e in outbox_events("payment.reversed", billed["id"]) if e["data"]["payment_id"] == payment["id"]]
    assert event["data"]["amount"] == "300.00" and event["data"]["reason_code"] == "bounced"
    receipt = client.get(f"/api/v1/payments/{payment['id']}/receipt", headers=billed["headers"]).json
    assert (receipt["status"], receipt["reversal_reason"], receipt["amount_in_words"]) == (
        "reversed",
        "bounced",
        "叁佰元整",
    )
    pdf = client.get(f"/api/v1/payments/{payment['id']}/receipt.pdf", headers=billed["headers"])
    assert "已冲正" in pdf_text(pdf.data) and "退票" in pdf_text(pdf.data)


def test_a_credit_note_corrects_a_bill_with_a_reason(client, billed):
    bill = unit_bills(client, billed, billed["units"][0])["2026-10"]
    too_much = client.post(
        f"/api/v1/billing/bills/{bill['id']}/credits",
        headers=billed["headers"],
        json={"amount": "250.01", "reason": "x"},
    )
    assert too_much.status_code == 422 and "amount" in too_much.json["errors"]
    response = client.post(
        f"/api/v1/billing/bills/{bill['id']}/credits",
        headers=billed["headers"],
        json={"amount": "50.00", "reason": "area measured wrong"},
    )
    assert response.status_code == 201
    assert (response.json["amount"], response.json["credited"], response.json["outstanding"]) == (
        "250.00",
        "50.00",
        "200.00",
    )


def test_the_receipt_as_json_and_printable_html(client, billed, billing_settings, resident_of):
    payment = pay(client, billed, amount="260.00", prepaid=True).json
    receipt = client.get(f"/api/v1/payments/{payment['id']}/receipt", headers=billed["headers"]).json
    assert receipt["receipt_number"] == payment["receipt_number"] and receipt["unit_number"] == "1-101"
    assert [(i["period"], i["amount"]) for i in receipt["items"]] == [("2026-10", "250.00"), ("2026-11", "10.00")]
    assert receipt["amount_in_words"] == "贰佰陆拾元整" and receipt["method"] == "cash"
    assert (
        receipt["company_name"] == billing_config.from_env(billing_settings.env).company_name and receipt["recorded_by"]
    )
    assert all(line["description"] for item in receipt["items"] for line in item["lines"])
    page = client.get(f"/api/v1/payments/{payment['id']}/receipt.html", headers=billed["headers"])
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert payment["receipt_number"] in page.text and "¥260.00" in page.text and "贰佰陆拾元整" in page.text
    # The page's own policy admits its style block and its print script by hash, and nothing inline besides.
    policy = page.headers["Content-Security-Policy"]
    style = page.text.split("<style>")[1].split("</style>")[0]
    script = page.text.split("<script>")[1].split("</script>")[0]
    for text in (style, script):
        digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert "unsafe-inline" not in policy and "onclick" not in page.text
    pdf = client.get(f"/api/v1/payments/{payment['id']}/receipt.pdf", headers=billed["headers"])
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = pdf_text(pdf.data)
    assert "贰佰陆拾元整" in text and payment["receipt_number"] in text and "现金" in text and "已冲正" not in text
    resident = resident_of(billed["units"][0], billed["id"])
    assert client.get(f"/api/v1/payments/{payment['id']}/receipt", headers=resident).status_code == 200
    neighbour = resident_of(billed["units"][1], billed["id"])
    assert client.get(f"/api/v1/payments/{payment['id']}/receipt", headers=neighbour).status_code == 404


def test_only_finance_records_payments(client, billed, billing_settings):
    for role in ("butler", "senior_butler", "resident", "integrator"):
        headers = auth_header(
            billing_settings, role, communities=[billed["id"]], zones=["zone-1"], units=[billed["units"][0]]
        )
        assert pay(client, billed, headers=headers, amount="1.00").status_code == 403, role


# --- the payment-provider callback --------------------------------------------------------------------------------

SECRET = "test-callback-secret"


@pytest.fixture
def callback_client(make_app):
    from billing.callbacks import hmac_verifier

    return make_app(callback_verifier=hmac_verifier(SECRET)).test_client()


def post_callback(callback_client, body: dict, secret=SECRET):
    raw = json.dumps(body).encode()
    return callback_client.post(
        "/api/v1/payments/callback",
        data=raw,
        headers={"Content-Type": "application/json", "X-Guanjia-Signature": sign(secret, raw)},
    )


def test_a_signed_provider_callback_records_the_payment_once(client, billed, callback_client):
    body = {
        "provider": "wechatpay",
        "reference": str(uuid.uuid4()),
        "community_id": billed["id"],
        "unit_id": billed["units"][0],
        "amount": "520.00",
        "method": "wechat",
        "paid_at": "2026-11-20T09:30:00+08:00",
    }
    first = post_callback(callback_client, body)
    assert first.status_code == 200, first.json
    assert (first.json["provider"], first.json["amount"], first.json["method"]) == ("wechatpay", "520.00", "wechat")
    again = post_callback(callback_client, body)
    assert again.status_code == 200 and again.json["id"] == first.json["id"]
    # More than owed was paid online: the rest is kept as prepaid, not refused.
    assert account(client, billed, billed["units"][0]) == {
        "unit_id": billed["units"][0],
        "balance": "-20.00",
        "outstanding": "0.00",
        "prepaid": "20.00",
    }


def test_a_callback_with_a_bad_or_missing_signature_is_401_and_writes_nothing(
    client, billed, callback_client, app_no_secret
):
    body = {
        "provider": "alipay",
        "reference": str(uuid.uuid4()),
        "community_id": billed["id"],
        "unit_id": billed["units"][0],
        "amount": "10.00",
        "method": "alipay",
        "paid_at": "2026-11-20T09:30:00+08:00",
    }
    assert post_callback(callback_client, body, secret="wrong").status_code == 401
    raw = json.dumps(body).encode()
    unsigned = callback_client.post("/api/v1/payments/callback", data=raw, content_type="application/json")
    assert unsigned.status_code == 401 and unsigned.mimetype == "application/problem+json"
    tampered = callback_client.post(
        "/api/v1/payments/callback",
        data=raw.replace(b"10.00", b"99.00"),
        headers={"Content-Type": "application/json", "X-Guanjia-Signature": sign(SECRET, raw)},
    )
    assert tampered.status_code == 401
    # Without a configured secret the endpoint refuses everything.
    assert post_callback(app_no_secret, body).status_code == 401
    assert account(client, billed, billed["units"][0])["outstanding"] == "500.00"


def test_a_signed_callback_with_bad_fields_is_422(callback_client, billed):
    body = {"provider": "wechatpay", "reference": "r", "community_id": billed["id"], "unit_id": billed["units"][0]}
    response = post_callback(callback_client, {**body, "amount": 1.555, "method": "wechat", "paid_at": "x"})
    assert response.status_code == 422
    assert {"amount", "paid_at"} <= set(response.json["errors"])


@pytest.fixture
def app_no_secret(make_app, monkeypatch):
    monkeypatch.delenv("GUANJIA_BILLING_CALLBACK_SECRET", raising=False)
    return make_app().test_client()


def test_prepaid_money_is_refunded_as_an_entry_and_never_beyond_the_balance(client, billed):
    unit = billed["units"][0]
    payment = pay(client, billed, amount="600.00", prepaid=True).json
    url = f"/api/v1/billing/units/{unit}/prepaid-refunds"
    too_much = client.post(url, headers=billed["headers"], json={"amount": "100.01", "reason": "moved out"})
    assert too_much.status_code == 422 and "amount" in too_much.json["errors"]
    response = client.post(url, headers=billed["headers"], json={"amount": "60.00", "reason": "moved out"})
    assert response.status_code == 201, response.json
    assert response.json == {"unit_id": unit, "refunded": "60.00", "prepaid": "40.00"}
    assert account(client, billed, unit) == {
        "unit_id": unit,
        "balance": "-40.00",
        "outstanding": "0.00",
        "prepaid": "40.00",
    }
    # Reversing the payment afterwards takes back only what it still holds (600.00 − 60.00 refunded).
    reversal = client.post(
        f"/api/v1/payments/{payment['id']}/reversal", headers=billed["headers"], json={"reason_code": "bounced"}
    )
    assert reversal.status_code == 201
    assert account(client, billed, unit) == {
        "unit_id": unit,
        "balance": "500.00",
        "outstanding": "500.00",
        "prepaid": "0.00",
    }


def test_the_callback_secret_may_come_from_a_mounted_file(make_app, monkeypatch, tmp_path, billed):
    """GUANJIA_BILLING_CALLBACK_SECRET_FILE (a Kubernetes or Compose secret mounted as a file)."""
    (tmp_path / "callback-secret").write_text(SECRET + "\n")
    monkeypatch.delenv("GUANJIA_BILLING_CALLBACK_SECRET", raising=False)
    monkeypatch.setenv("GUANJIA_BILLING_CALLBACK_SECRET_FILE", str(tmp_path / "callback-secret"))
    client = make_app().test_client()
    body = {"provider": "wechatpay", "reference": "r", "community_id": billed["id"], "unit_id": billed["units"][0]}
    # Signed with the file's secret: the signature is accepted and the fields are checked (422, not 401).
    assert post_callback(client, {**body, "amount": 1.5, "method": "wechat", "paid_at": "x"}).status_code == 422
    assert post_callback(client, body, secret="wrong").status_code == 401


def test_money_and_rates_are_read_from_json_numbers_as_well_as_strings(client, billed, community):
    """The OpenAPI says number or string: both are read exactly (1234.5 is 1234.50, 2.35 is 2.3500)."""
    paid = pay(client, billed, amount=10.5)
    assert paid.status_code == 201, paid.json
    assert paid.json["amount"] == "10.50"
    item = client.post(
        "/api/v1/billing/fee-items",
        headers=community["headers"],
        json={
            "community_id": community["id"],
            "name": "电梯费",
            "kind": "elevator",
            "basis": "per_unit",
            "rate": 2.35,
            "effective_from": "2026-01-01",
        },
    )
    assert item.status_code == 201, item.json
    assert item.json["rates"][0]["rate"] == "2.3500"
    policy = client.patch(
        f"/api/v1/billing/policies/{community['id']}",
        headers=community["headers"],
        json={"collection_target": 0.9, "renovation_deposit": 2000},
    )
    assert policy.status_code == 200, policy.json
    assert (policy.json["collection_target"], policy.json["renovation_deposit"]) == ("0.9000", "2000.00")


def test_a_double_submit_racing_the_first_replays_its_answer(client, billed):
    """Two requests with one key at the same moment (a double click): the second waits for the first and answers
    with its payment — it never runs again against the bills the first has just paid (422 on amount)."""
    app_client = client.application.test_client
    answers, key = [], str(uuid.uuid4())
    barrier = threading.Barrier(3)

    def one():
        barrier.wait()
        headers = {**billed["headers"], "Idempotency-Key": key}
        body = {"unit_id": billed["units"][0], "method": "cash", "amount": "500.00"}
        answer = app_client().post("/api/v1/payments", headers=headers, json=body)
        answers.append((answer.status_code, answer.json.get("id")))

    threads = [threading.Thread(target=one) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in answers] == [201, 201, 201], answers
    assert len({payment_id for _, payment_id in answers}) == 1
    assert account(client, billed, billed["units"][0])["outstanding"] == "0.00"


def test_a_receipt_keeps_its_cashiers_name_through_a_rename(client, billed, billing_settings, gateway_upstream, db):
    """The payment keeps the cashier's name as it was when the money was taken; one written before payments kept
    it (no name kept) shows today's name."""
    gateway, admin = gateway_upstream.test_client(), auth_header(billing_settings, "admin")
    body = {
        "username": f"cashier-{uuid.uuid4().hex[:6]}",
        "password": "a-long-cashier-password-7",
        "role": "finance",
        "display_name": "李会计",
        "communities": [billed["id"]],
    }
    created = gateway.post("/api/v1/users", headers=admin, json=body)
    assert created.status_code == 201, created.json
    cashier = auth_header(billing_settings, "finance", communities=[billed["id"]], subject=created.json["id"])
    client.application.extensions.pop("guanjia.staff_names", None)  # names as they are now, not an earlier test's

    kept = pay(client, billed, headers=cashier, amount="10.00").json
    earlier = pay(client, billed, headers=cashier, amount="10.00").json
    assert kept["recorded_by_name"] == earlier["recorded_by_name"] == "李会计"
    with db.transaction() as session:
        session.get(Payment, earlier["id"]).cashier_name = None  # as the previous release wrote it
    renamed = gateway.patch(f"/api/v1/users/{created.json['id']}", headers=admin, json={"display_name": "王会计"})
    assert renamed.status_code == 200, renamed.json
    client.application.extensions.pop("guanjia.staff_names", None)  # past the names' cache

    def receipt(payment):
        return client.get(f"/api/v1/payments/{payment['id']}/receipt", headers=billed["headers"]).json

    assert receipt(kept)["recorded_by_name"] == "李会计"
    assert client.get(f"/api/v1/payments/{kept['id']}", headers=billed["headers"]).json["recorded_by_name"] == "李会计"
    assert receipt(earlier)["recorded_by_name"] == "王会计"
    pdf = client.get(f"/api/v1/payments/{kept['id']}/receipt.pdf", headers=billed["headers"])
    assert "李会计" in pdf_text(pdf.data) and "王会计" not in pdf_text(pdf.data)
