"""/metrics reports this month's collection rate and target per community (the 'rate under target' alert)."""

import re
from datetime import UTC, datetime


def test_collection_rate_and_target_are_on_metrics(make_app, community, run, bills_of):
    now = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
    app = make_app(clock=lambda: now)
    client = app.test_client()
    response = client.post(
        "/api/v1/billing-runs",
        headers=community["headers"],
        json={"community_id": community["id"], "period": "2026-11"},
    )
    assert response.status_code == 201, response.json
    text = client.get("/metrics").get_data(as_text=True)
    labels = f'community_id="{community["id"]}",period="2026-11"'
    target = re.search(rf"guanjia_billing_collection_target{{[^}}]*{labels}[^}}]*}} (\S+)", text)
    rate = re.search(rf"guanjia_billing_collection_rate{{[^}}]*{labels}[^}}]*}} (\S+)", text)
    assert target and float(target.group(1)) == 0.85
    assert rate and float(rate.group(1)) == 0.0  # billed, nothing collected yet
