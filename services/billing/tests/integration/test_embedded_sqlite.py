"""The same billing code on SQLite, as the embedded mode runs it: run, pay, remind, report."""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing.domain import overdue
from billing.domain.units import upsert_unit
from billing.service import SPEC
from guanjia.db import Database, upgrade
from guanjia.http import WsgiUpstream
from guanjia.testing import auth_header


@pytest.fixture
def embedded(tmp_path, billing_settings, residents_app):
    url = f"sqlite:///{tmp_path}/billing.db"
    upgrade(url, SPEC.migrations_dir)
    # The session's keys and names; only the database is the embedded mode's SQLite file.
    settings = billing_settings.with_service("billing", database_url=url)
    # A run checks the community's units with residents first (this community is not one it knows: no check).
    app = SPEC.create_app(settings, {"residents": WsgiUpstream("residents", residents_app)})
    db = Database(url)
    yield settings, app.test_client(), db
    db.dispose()
    app.extensions["guanjia.db"].dispose()


def test_a_month_billed_paid_reminded_and_reported_on_sqlite(embedded):
    settings, client, db = embedded
    community = str(uuid.uuid4())
    headers = auth_header(settings, "finance", communities=[community])
    units = [str(uuid.uuid4()) for _ in range(2)]
    with db.transaction() as session:
        for number, unit in enumerate(units):
            data = {"unit_id": unit, "community_id": community, "number": f"1-10{number}", "area_m2": Decimal("80.00")}
            upsert_unit(session, data, datetime.now(UTC))
    item = client.post(
        "/api/v1/billing/fee-items",
        headers=headers,
        json={
            "community_id": community,
            "name": "物业服务费",
            "kind": "property_service",
            "basis": "per_m2",
            "rate": "2.00",
            "effective_from": "2026-01-01",
        },
    )
    assert item.status_code == 201, item.json
    run = client.post("/api/v1/billing-runs", headers=headers, json={"community_id": community, "period": "2026-11"})
    assert (run.status_code, run.json["bills_created"], run.json["amount"]) == (201, 2, "320.00")
    again = client.post("/api/v1/billing-runs", headers=headers, json={"community_id": community, "period": "2026-11"})
    assert again.json["bills_created"] == 0
    paid = client.post(
        "/api/v1/payments",
        headers={**headers, "Idempotency-Key": "k1"},
        json={"unit_id": units[0], "amount": "200.00", "method": "cash", "prepaid": True},
    )
    assert (paid.status_code, paid.json["receipt_number"]) == (201, "R00000001")
    assert client.get(f"/api/v1/billing/units/{units[0]}/account", headers=headers).json["prepaid"] == "40.00"
    with db.transaction() as session:
        assert overdue.scan(session, settings, date(2026, 12, 20), datetime.now(UTC)) == 1  # unit 2, "second" stage
    with db.transaction() as session:
        assert overdue.scan(session, settings, date(2026, 12, 21), datetime.now(UTC)) == 0
    rate = client.get(
        "/api/v1/billing/reports/collection-rate",
        headers=headers,
        query_string={"community_id": community, "period": "2026-11"},
    ).json["items"][0]
    assert (rate["receivable"], rate["collected"], rate["collection_rate"]) == ("320.00", "160.00", "0.5000")
    arrears = client.get(
        "/api/v1/billing/arrears", headers=headers, query_string={"community_id": community, "as_of": "2026-12-20"}
    ).json
    assert arrears["total"] == "160.00"
    monthly = client.get(
        "/api/v1/billing/reports/monthly",
        headers=headers,
        query_string={"community_id": community, "month": "2026-11", "format": "xlsx"},
    )
    assert monthly.status_code == 200 and monthly.data[:2] == b"PK"
